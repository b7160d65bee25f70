"""A JWT of the configured issuer, verified as API Gateway's JWT authorizer verified it
(https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html)
and as Cognito says to (https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-verifying-a-jwt.html):
RS256 only; ``kid`` names a key of the issuer's JWKS; ``iss`` is the issuer; ``token_use``,
when present, is ``id`` (audience in ``aud``) or ``access`` (audience in ``client_id``);
the audience is one of ours; ``exp`` is in the future; ``nbf`` and ``iat``, when present,
in the past. The clock is injected; PyJWT checks only the signature."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, Protocol

import jwt

from agentcron.clock import utcnow

ALGORITHM = "RS256"
# How long the issuer's keys are kept before they are read again (an unknown kid reads them at once).
JWKS_LIFESPAN_SECONDS = 3600
# Cognito's two kinds of token name their client in different claims.
AUDIENCE_CLAIM_OF_USE = {"id": "aud", "access": "client_id"}

RejectReason = Literal[
    "missing",
    "malformed",
    "bad_algorithm",
    "unknown_key",
    "bad_signature",
    "expired",
    "not_yet_valid",
    "wrong_issuer",
    "wrong_audience",
    "wrong_token_use",
    "no_subject",
    "unknown_api_key",
]


class Rejected(Exception):
    """The caller is not let in. ``reason`` is for the logs and tests; the caller hears
    only API Gateway's 403 ``{"message":"Forbidden"}``."""

    def __init__(self, reason: RejectReason, description: str) -> None:
        super().__init__(f"{reason}: {description}")
        self.reason: RejectReason = reason
        self.description = description


class KeysUnavailable(Exception):
    """The issuer's JWKS cannot be read: an outage (API Gateway answers 500), not a refusal."""


class SigningKeys(Protocol):
    def key_for(self, kid: str) -> Any:
        """The public key named ``kid``; Rejected(unknown_key) when the issuer has none."""
        ...


class JwksKeys:
    """The issuer's published keys (PyJWKClient: fetched once, again for an unknown kid)."""

    def __init__(self, jwks_url: str, *, timeout_seconds: int = 5) -> None:
        self._client = jwt.PyJWKClient(
            jwks_url, cache_keys=True, lifespan=JWKS_LIFESPAN_SECONDS, timeout=timeout_seconds
        )

    def key_for(self, kid: str) -> Any:
        try:
            return self._client.get_signing_key(kid).key
        except jwt.PyJWKClientConnectionError as exc:
            raise KeysUnavailable(str(exc)) from exc
        except jwt.PyJWKClientError as exc:
            raise Rejected("unknown_key", "the token's kid does not match a key of the issuer") from exc


class StaticKeys:
    """Keys given as a JWKS document (tests)."""

    def __init__(self, jwks: Mapping[str, Any]) -> None:
        self._keys = {key.key_id: key.key for key in jwt.PyJWKSet.from_dict(dict(jwks)).keys}

    def key_for(self, kid: str) -> Any:
        try:
            return self._keys[kid]
        except KeyError:
            raise Rejected("unknown_key", "the token's kid does not match a key of the issuer") from None


class JwtVerifier:
    def __init__(
        self,
        *,
        issuer: str,
        audiences: Sequence[str],
        keys: SigningKeys,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.issuer = issuer
        self.audiences = frozenset(audiences)
        self._keys = keys
        self._clock = clock

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, or Rejected saying why not."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise Rejected("malformed", "the token is not a valid JWT") from exc
        if header.get("alg") != ALGORITHM:
            # Also what stops alg=none and HS256-with-the-public-key tricks.
            raise Rejected("bad_algorithm", f"the token's algorithm {header.get('alg')!r} is not supported")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Rejected("unknown_key", "the token has no kid")
        key = self._keys.key_for(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                options={
                    "verify_signature": True,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,
                    "verify_iss": False,
                },
            )
        except jwt.InvalidSignatureError as exc:
            raise Rejected("bad_signature", "the token's signature is invalid") from exc
        except jwt.InvalidTokenError as exc:
            raise Rejected("malformed", "the token is not a valid JWT") from exc
        self._check_claims(claims, self._clock().timestamp())
        return claims

    def _check_claims(self, claims: Mapping[str, Any], now: float) -> None:
        if claims.get("iss") != self.issuer:
            raise Rejected("wrong_issuer", "the token does not have a valid issuer")
        use = claims.get("token_use")
        if use is None:
            # Not Cognito's (the local stack's dev tokens): aud, else client_id, as the JWT authorizer read them.
            aud = claims.get("aud", claims.get("client_id"))
        elif use in AUDIENCE_CLAIM_OF_USE:
            aud = claims.get(AUDIENCE_CLAIM_OF_USE[use])
        else:
            # A refresh token, or anything else that is not an id or access token.
            raise Rejected("wrong_token_use", f"the token's token_use {use!r} is not id or access")
        token_audiences = {aud} if isinstance(aud, str) else set(aud) if isinstance(aud, list) else set()
        if not token_audiences & self.audiences:
            raise Rejected("wrong_audience", "the token does not have a valid audience")
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            raise Rejected("malformed", "the token has no valid exp claim")
        if exp <= now:
            raise Rejected("expired", "the token has expired")
        for name in ("nbf", "iat"):
            value = claims.get(name)
            if value is None:
                continue
            if not _is_number(value):
                raise Rejected("malformed", f"the token's {name} claim is not a number")
            if value > now:
                raise Rejected("not_yet_valid", f"the token is not valid yet ({name})")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
