"""A bearer token to the caller's identity: an API key (``ak_…``, ApiKeyService.authenticate,
whose cache is the revocation delay) or a JWT of the issuer (jwts.JwtVerifier)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from agentcron.api_keys.models import KEY_PREFIX
from agentcron.api_keys.service import ApiKeyService
from agentcron.authorizer.jwts import JwtVerifier, Rejected


@dataclass(frozen=True)
class Identity:
    owner: str
    method: Literal["jwt", "api_key"]
    key_id: str | None = None

    def context(self) -> dict[str, str]:
        """The authorizer's context, as the API reads it (``requestContext.authorizer.lambda``)."""
        context = {"sub": self.owner, "auth": self.method}
        if self.key_id is not None:
            context["key_id"] = self.key_id
        return context


def bearer_token(authorization: str | None) -> str:
    """The token of an Authorization header, with or without ``Bearer`` (as the JWT authorizer took it)."""
    if authorization is None or not authorization.strip():
        raise Rejected("missing", "the token is missing")
    parts = authorization.strip().split(None, 1)
    if len(parts) == 2 and parts[0].lower() == "bearer":
        return parts[1].strip()
    if len(parts) == 1:
        return parts[0]
    raise Rejected("malformed", "the authorization header is not a bearer token")


@dataclass
class Authorizer:
    jwts: JwtVerifier
    api_keys: ApiKeyService

    def authorize(self, authorization: str | None) -> Identity:
        token = bearer_token(authorization)
        if token.startswith(KEY_PREFIX):
            found = self.api_keys.authenticate(token)
            if found is None:
                raise Rejected("unknown_api_key", "the API key is unknown, revoked or expired")
            return Identity(owner=found.owner, method="api_key", key_id=found.key_id)
        claims = self.jwts.verify(token)
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise Rejected("no_subject", "the token carries no subject")
        return Identity(owner=subject, method="jwt")
