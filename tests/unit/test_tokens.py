"""Dev tokens: issued by the local issuer, checked the way API Gateway's JWT authorizer checks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import stat
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from agentcron_local import tokens
from agentcron_local.tokens import (
    LOCAL_AUDIENCE,
    LOCAL_ISSUER,
    TokenRejected,
    issue_token,
    token_from_authorization,
    verify_token,
)
from cryptography.hazmat.primitives import serialization


def sign(claims: dict[str, Any], **header: Any) -> str:
    """A token signed with the local key, with any claims: the way to forge the bad cases."""
    key = tokens.signing_key()
    return jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid, **header})


def good_claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "sub": "alice",
        "iss": LOCAL_ISSUER,
        "aud": LOCAL_AUDIENCE,
        "iat": now,
        "exp": now + 60,
        **overrides,
    }


def rejected(token: str) -> str:
    with pytest.raises(TokenRejected) as info:
        verify_token(token)
    return info.value.reason


@pytest.mark.usefixtures("state_dir")
def test_issued_token_verifies_with_the_expected_claims() -> None:
    before = int(time.time())
    claims = verify_token(issue_token("alice"))
    assert claims["sub"] == "alice"
    assert claims["iss"] == LOCAL_ISSUER
    assert claims["aud"] == LOCAL_AUDIENCE
    assert before <= claims["iat"] <= time.time()
    assert claims["exp"] - claims["iat"] == 12 * 3600


@pytest.mark.usefixtures("state_dir")
def test_ttl_and_scopes() -> None:
    claims = verify_token(issue_token("bob", ttl_seconds=90, scopes=["tasks.read", "tasks.write"]))
    assert claims["exp"] - claims["iat"] == 90
    assert claims["scope"] == "tasks.read tasks.write"


def test_key_is_created_once_with_mode_0600(state_dir: Path) -> None:
    assert not state_dir.exists()
    first = issue_token("alice")
    key_file = state_dir / tokens.KEY_FILE_NAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700
    pem = key_file.read_bytes()
    serialization.load_pem_private_key(pem, password=None)
    issue_token("bob")
    assert key_file.read_bytes() == pem, "the key is reused, not replaced"
    assert verify_token(first)["sub"] == "alice"
    assert [p.name for p in state_dir.iterdir()] == [tokens.KEY_FILE_NAME], "no temp files left behind"


def test_token_from_another_state_dir_is_rejected(
    state_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    foreign = issue_token("alice")
    monkeypatch.setenv(tokens.STATE_DIR_ENV, str(tmp_path / "other"))
    assert rejected(foreign) == "unknown_key"
    # The same token with the kid of this key: the signature gives it away.
    _, payload, signature = foreign.split(".")
    forged_header = base64.urlsafe_b64encode(
        json.dumps({"alg": "RS256", "typ": "JWT", "kid": tokens.signing_key().kid}).encode()
    ).rstrip(b"=")
    assert rejected(f"{forged_header.decode()}.{payload}.{signature}") == "bad_signature"


@pytest.mark.usefixtures("state_dir")
@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"aud": "someone-else"}, "wrong_audience"),
        ({"aud": ["a", "b"]}, "wrong_audience"),
        ({"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_x"}, "wrong_issuer"),
        # Times as seconds from the moment the test runs (a value fixed at collection goes
        # stale when the suite takes longer than its margin).
        ({"exp": -1}, "expired"),
        ({"nbf": 300}, "not_yet_valid"),
        ({"iat": 300}, "not_yet_valid"),
    ],
)
def test_bad_claims_are_rejected(overrides: dict[str, Any], reason: str) -> None:
    now = int(time.time())
    claims = {name: now + value if name in ("exp", "nbf", "iat") else value for name, value in overrides.items()}
    assert rejected(sign(good_claims(**claims))) == reason


@pytest.mark.usefixtures("state_dir")
def test_audience_list_and_client_id_are_accepted() -> None:
    # The authorizer accepts aud as a list, and client_id when there is no aud (Cognito access tokens).
    assert verify_token(sign(good_claims(aud=["x", LOCAL_AUDIENCE])))["sub"] == "alice"
    claims = good_claims(client_id=LOCAL_AUDIENCE)
    del claims["aud"]
    assert verify_token(sign(claims))["sub"] == "alice"


@pytest.mark.usefixtures("state_dir")
def test_missing_exp_is_rejected() -> None:
    claims = good_claims()
    del claims["exp"]
    assert rejected(sign(claims)) == "malformed"


@pytest.mark.usefixtures("state_dir")
def test_tampered_tokens_are_rejected() -> None:
    token = issue_token("alice")
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "mallory"
    evil_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert rejected(f"{header}.{evil_payload}.{signature}") == "bad_signature"
    # A character in the middle: the last one holds padding bits, and a change there can make
    # the base64 non-canonical (a malformed token, not a bad signature) for some signatures.
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    assert rejected(f"{header}.{payload}.{flipped}") == "bad_signature"
    assert rejected("not-a-jwt") == "malformed"
    assert rejected("") == "missing"


@pytest.mark.usefixtures("state_dir")
def test_algorithm_confusion_is_rejected() -> None:
    public_pem = (
        tokens.signing_key()
        .private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    unsigned = jwt.encode(good_claims(), key="", algorithm="none")
    assert rejected(unsigned) == "bad_algorithm"

    # HS256 keyed with the public key: the classic confusion attack. PyJWT refuses to
    # build it, so assemble it by hand.
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = (
        f"{b64(json.dumps({'alg': 'HS256', 'kid': tokens.signing_key().kid}).encode())}."
        f"{b64(json.dumps(good_claims()).encode())}"
    )
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    assert rejected(f"{signing_input}.{b64(mac)}") == "bad_algorithm"


def test_authorization_header_parsing() -> None:
    assert token_from_authorization("Bearer abc.def.ghi") == "abc.def.ghi"
    assert token_from_authorization("bearer   abc.def.ghi ") == "abc.def.ghi"
    # API Gateway also takes the bare token.
    assert token_from_authorization("abc.def.ghi") == "abc.def.ghi"
    for missing in (None, "", "   "):
        with pytest.raises(TokenRejected) as info:
            token_from_authorization(missing)
        assert info.value.reason == "missing"
    with pytest.raises(TokenRejected) as info:
        token_from_authorization("Basic dXNlcjpwYXNz")
    assert info.value.reason == "malformed"


@pytest.mark.usefixtures("state_dir")
def test_issue_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="user"):
        issue_token(" ")
    with pytest.raises(ValueError, match="ttl"):
        issue_token("alice", ttl_seconds=0)
