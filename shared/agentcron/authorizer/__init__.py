"""Who is calling: the one check in front of every authorized route, deployed (the
authorizer function behind API Gateway, functions/authorizer) and locally (the local
gateway invokes that same function). jwts.py verifies a Cognito JWT against the issuer's
JWKS with PyJWT; decision.py takes a bearer token to an owner, a JWT or an API key
(agentcron.api_keys.service.ApiKeyService.authenticate, with its short cache).

Only the authorizer function imports this package: PyJWT ships in its package alone."""
