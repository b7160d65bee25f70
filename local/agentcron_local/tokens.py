"""Dev tokens for the local stack: a local RS256 issuer and the authorizer's checks.

Deployed, API Gateway's JWT authorizer checks Cognito's tokens. Locally there
is no Cognito, so the stack has its own signing key (created on first use in
the state dir) and checks tokens the way the authorizer does
(https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html):
the token may come with or without a ``Bearer`` prefix; RSA signatures only;
``kid`` must name a key of the issuer; ``iss`` must match; ``aud`` (or
``client_id`` when there is no ``aud``) must match; ``exp`` must be in the
future; ``nbf`` and ``iat``, when present, in the past.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

REPO_ROOT = Path(__file__).resolve().parents[2]
STATE_DIR_ENV = "AGENTCRON_STATE_DIR"
KEY_FILE_NAME = "signing-key.pem"

# Fixed, not derived from the gateway's port: a token printed for one run of
# the stack must still work after a restart on another port.
LOCAL_ISSUER = "http://127.0.0.1:3000/local-issuer"
LOCAL_AUDIENCE = "agentcron-local"
ALGORITHM = "RS256"
DEFAULT_TTL_SECONDS = 12 * 3600

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
]


class TokenRejected(Exception):
    """The authorizer would answer 401. ``reason`` is machine-readable,
    ``description`` is what goes into ``www-authenticate``'s error_description."""

    def __init__(self, reason: RejectReason, description: str) -> None:
        super().__init__(f"{reason}: {description}")
        self.reason: RejectReason = reason
        self.description = description


def state_dir() -> Path:
    """Where the local stack keeps its key, pid file and data: $AGENTCRON_STATE_DIR or <repo>/.local-state."""
    configured = os.environ.get(STATE_DIR_ENV)
    return Path(configured).expanduser() if configured else REPO_ROOT / ".local-state"


def ensure_state_dir() -> Path:
    path = state_dir()
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class SigningKey:
    private_key: rsa.RSAPrivateKey
    kid: str

    @property
    def public_jwk(self) -> dict[str, str]:
        jwk: dict[str, str] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key()))
        return {**jwk, "kid": self.kid, "alg": ALGORITHM, "use": "sig"}


_cache_lock = threading.Lock()
_cache: dict[tuple[str, int, int], SigningKey] = {}


def _kid(public_key: rsa.RSAPublicKey) -> str:
    # RFC 7638 thumbprint: stable for the key, so a kid mismatch means "another key".
    numbers = public_key.public_numbers()

    def b64(n: int) -> str:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    canonical = json.dumps({"e": b64(numbers.e), "kty": "RSA", "n": b64(numbers.n)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


def _create_key_file(path: Path) -> None:
    """Write a new key so that no reader ever sees a partial or world-readable file.

    Written to a 0600 temp file, then hard-linked into place: link() fails if
    another process won the race, and then both use the winner's key.
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".signing-key-", suffix=".tmp")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        # Another process won the race: keep its key.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        os.unlink(tmp)


def signing_key() -> SigningKey:
    """The local issuer's key, created on first use (mode 0600)."""
    path = ensure_state_dir() / KEY_FILE_NAME
    if not path.exists():
        _create_key_file(path)
    st = path.stat()
    cache_key = (str(path), st.st_ino, st.st_mtime_ns)
    with _cache_lock:
        cached = _cache.get(cache_key)
        if cached is not None:
            return cached
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, rsa.RSAPrivateKey):
            raise ValueError(f"{path} does not hold an RSA private key; delete it to get a new one")
        key = SigningKey(private_key=loaded, kid=_kid(loaded.public_key()))
        _cache[cache_key] = key
        return key


def jwks() -> dict[str, list[dict[str, str]]]:
    """The issuer's JWKS, as a real issuer would publish it at its jwks_uri."""
    return {"keys": [signing_key().public_jwk]}


def issue_token(
    user: str,
    *,
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
    scopes: Sequence[str] = (),
    extra_claims: Mapping[str, Any] | None = None,
    now: float | None = None,
) -> str:
    """A dev token for ``user`` (the API's owner is the ``sub`` claim)."""
    if not user or not user.strip():
        raise ValueError("user must be a non-empty name")
    if ttl_seconds <= 0:
        raise ValueError("ttl_seconds must be positive")
    issued_at = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        **(extra_claims or {}),
        "sub": user,
        "iss": LOCAL_ISSUER,
        "aud": LOCAL_AUDIENCE,
        "iat": issued_at,
        "exp": issued_at + ttl_seconds,
        # Cognito puts the user name here too; handy when a claim dump is read by people.
        "username": user,
    }
    if scopes:
        claims["scope"] = " ".join(scopes)
    key = signing_key()
    return jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})


def token_from_authorization(value: str | None) -> str:
    """The token in an Authorization header; the authorizer accepts it with or without ``Bearer``."""
    if value is None or not value.strip():
        raise TokenRejected("missing", "the token is missing")
    parts = value.strip().split(None, 1)
    if len(parts) == 2 and parts[0].lower() == "bearer":
        return parts[1].strip()
    if len(parts) == 1:
        return parts[0]
    raise TokenRejected("malformed", "the authorization header is not a bearer token")


def verify_token(
    token: str,
    *,
    issuer: str = LOCAL_ISSUER,
    audiences: Sequence[str] = (LOCAL_AUDIENCE,),
    now: float | None = None,
) -> dict[str, Any]:
    """Check ``token`` as API Gateway's JWT authorizer would; return its claims or raise TokenRejected."""
    if not token:
        raise TokenRejected("missing", "the token is missing")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as exc:
        raise TokenRejected("malformed", "the token is not a valid JWT") from exc
    if header.get("alg") != ALGORITHM:
        # Also what stops alg=none and HS256-with-the-public-key tricks.
        raise TokenRejected("bad_algorithm", f"the token's algorithm {header.get('alg')!r} is not supported")
    key = signing_key()
    if header.get("kid") != key.kid:
        raise TokenRejected("unknown_key", "the token's kid does not match a key of the issuer")
    try:
        # Claims are checked below, in the authorizer's order and with its
        # messages; pyjwt only checks the signature here.
        claims: dict[str, Any] = jwt.decode(
            token,
            key.private_key.public_key(),
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
        raise TokenRejected("bad_signature", "the token's signature is invalid") from exc
    except jwt.InvalidTokenError as exc:
        raise TokenRejected("malformed", "the token is not a valid JWT") from exc

    current = time.time() if now is None else now
    if claims.get("iss") != issuer:
        raise TokenRejected("wrong_issuer", "the token does not have a valid issuer")
    aud = claims.get("aud", claims.get("client_id"))
    token_audiences = [aud] if isinstance(aud, str) else list(aud) if isinstance(aud, list) else []
    if not set(token_audiences) & set(audiences):
        raise TokenRejected("wrong_audience", "the token does not have a valid audience")
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        raise TokenRejected("malformed", "the token has no valid exp claim")
    if exp <= current:
        raise TokenRejected("expired", "the token has expired")
    for name in ("nbf", "iat"):
        value = claims.get(name)
        if value is None:
            continue
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise TokenRejected("malformed", f"the token's {name} claim is not a number")
        if value > current:
            raise TokenRejected("not_yet_valid", f"the token is not valid yet ({name})")
    return claims
