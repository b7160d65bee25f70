"""The local issuer's published keys, where an OIDC issuer publishes them: the authorizer
function reads ``<gateway>/local-issuer/.well-known/jwks.json`` as, deployed, it reads
Cognito's ``<user pool>/.well-known/jwks.json`` (agentcron.authorizer.jwts.JwksKeys), so a
dev token goes through the same verification as a Cognito token.

Also the authorizer's local settings: the issuer, audience and JWKS URL of the dev tokens
(agentcron_local.tokens), set where the template sets Cognito's."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from agentcron_local import tokens
from agentcron_local.gateway.local_routes import LocalRequest
from agentcron_local.gateway.responses import HttpResponse, json_response

JWKS_PATH = urlsplit(tokens.LOCAL_ISSUER).path + "/.well-known/jwks.json"


@dataclass(frozen=True)
class IssuerKeys:
    """A ``LocalRoute``: GET the local issuer's JWKS."""

    def answer(self, request: LocalRequest) -> HttpResponse | None:
        if request.path != JWKS_PATH:
            return None
        if request.method not in ("GET", "HEAD"):
            return json_response(405, {"message": "Method Not Allowed"}, [("allow", "GET, HEAD")])
        return json_response(200, tokens.jwks(), [("cache-control", "max-age=300")])


def authorizer_environment(gateway_url: str) -> dict[str, str]:
    """What the template sets for the authorizer from Cognito, set for the local issuer."""
    return {
        "JWT_ISSUER": tokens.LOCAL_ISSUER,
        "JWT_AUDIENCES": tokens.LOCAL_AUDIENCE,
        "JWKS_URL": gateway_url + JWKS_PATH,
    }
