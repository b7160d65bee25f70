"""The authorizer's JWT half (agentcron.authorizer.jwts): the local stack's dev tokens
(signed by agentcron_local.tokens, as Cognito signs deployed) and Cognito-shaped id and
access tokens pass; forged, expired, foreign and misused tokens are refused, each with
its reason. The clock is injected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from agentcron.authorizer.decision import bearer_token
from agentcron.authorizer.jwts import JwtVerifier, Rejected, StaticKeys
from agentcron_local import tokens
from cryptography.hazmat.primitives.asymmetric import rsa

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@pytest.fixture
def verifier(state_dir: Path) -> JwtVerifier:
    return JwtVerifier(
        issuer=tokens.LOCAL_ISSUER,
        audiences=[tokens.LOCAL_AUDIENCE],
        keys=StaticKeys(tokens.jwks()),
        clock=lambda: NOW,
    )


def claims(**overrides: Any) -> dict[str, Any]:
    issued = int(NOW.timestamp())
    body = {"sub": "alice", "iss": tokens.LOCAL_ISSUER, "aud": tokens.LOCAL_AUDIENCE, "iat": issued}
    return {**body, "exp": issued + 3600, **overrides}


def signed(body: dict[str, Any], key: rsa.RSAPrivateKey | None = None, **header: Any) -> str:
    local = tokens.signing_key()
    return jwt.encode(body, key or local.private_key, algorithm="RS256", headers={"kid": local.kid, **header})


def reason(verifier: JwtVerifier, token: str) -> str:
    with pytest.raises(Rejected) as refused:
        verifier.verify(token)
    return refused.value.reason


def test_a_dev_token_of_the_local_stack_is_accepted(verifier: JwtVerifier) -> None:
    token = tokens.issue_token("alice", now=NOW.timestamp())
    assert verifier.verify(token)["sub"] == "alice"


def test_cognito_id_and_access_tokens_name_the_client_in_aud_and_client_id(verifier: JwtVerifier) -> None:
    assert verifier.verify(signed(claims(token_use="id")))["sub"] == "alice"
    access = claims(token_use="access", client_id=tokens.LOCAL_AUDIENCE)
    del access["aud"]
    assert verifier.verify(signed(access))["sub"] == "alice"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        # An access token's audience is its client_id: an aud of ours does not make it one.
        ({"token_use": "access", "client_id": "another-client"}, "wrong_audience"),
        ({"token_use": "id", "aud": "another-client", "client_id": tokens.LOCAL_AUDIENCE}, "wrong_audience"),
        ({"token_use": "refresh"}, "wrong_token_use"),
    ],
)
def test_token_use_decides_which_claim_is_the_audience(
    verifier: JwtVerifier, overrides: dict[str, Any], expected: str
) -> None:
    assert reason(verifier, signed(claims(**overrides))) == expected


def test_a_token_signed_by_another_key_under_the_issuer_s_kid_is_refused(verifier: JwtVerifier) -> None:
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert reason(verifier, signed(claims(), key=forger)) == "bad_signature"


def test_alg_none_and_hs256_are_refused_before_any_key_is_used(verifier: JwtVerifier) -> None:
    assert reason(verifier, jwt.encode(claims(), None, algorithm="none")) == "bad_algorithm"
    assert reason(verifier, jwt.encode(claims(), "k" * 32, algorithm="HS256")) == "bad_algorithm"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"exp": int(NOW.timestamp())}, "expired"),
        ({"nbf": int(NOW.timestamp()) + 60}, "not_yet_valid"),
        ({"iat": int(NOW.timestamp()) + 60}, "not_yet_valid"),
        ({"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other"}, "wrong_issuer"),
        ({"aud": "another-client"}, "wrong_audience"),
        ({"exp": "tomorrow"}, "malformed"),
    ],
)
def test_claims_are_checked_against_the_injected_clock(
    verifier: JwtVerifier, overrides: dict[str, Any], expected: str
) -> None:
    assert reason(verifier, signed(claims(**overrides))) == expected


def test_a_token_expires_when_the_clock_says_so(state_dir: Path) -> None:
    now = [NOW]
    verifier = JwtVerifier(
        issuer=tokens.LOCAL_ISSUER,
        audiences=[tokens.LOCAL_AUDIENCE],
        keys=StaticKeys(tokens.jwks()),
        clock=lambda: now[0],
    )
    token = signed(claims())
    assert verifier.verify(token)["sub"] == "alice"
    now[0] = NOW + timedelta(hours=1)
    assert reason(verifier, token) == "expired"


def test_an_unknown_kid_and_garbage_are_refused(verifier: JwtVerifier) -> None:
    assert reason(verifier, signed(claims(), kid="another-key")) == "unknown_key"
    assert reason(verifier, "not.a.jwt") == "malformed"


@pytest.mark.parametrize(("header", "token"), [("Bearer abc", "abc"), ("bearer  abc ", "abc"), ("abc", "abc")])
def test_the_token_is_taken_with_or_without_bearer(header: str, token: str) -> None:
    assert bearer_token(header) == token


@pytest.mark.parametrize(("header", "expected"), [(None, "missing"), ("  ", "missing"), ("Basic a b", "malformed")])
def test_a_missing_or_other_scheme_header_is_refused(header: str | None, expected: str) -> None:
    with pytest.raises(Rejected) as refused:
        bearer_token(header)
    assert refused.value.reason == expected
