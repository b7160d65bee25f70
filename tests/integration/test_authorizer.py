"""The authorizer function (functions/authorizer/app.py) as API Gateway invokes it, against
the real table (moto server): a dev token verified against the local issuer's JWKS, API keys
valid, revoked, expired and unknown; and the local gateway's LambdaAuthorizer over it, whose
result cache plus the key's cache is the revocation delay, stepped over with injected clocks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from agentcron import bootstrap
from agentcron.api_keys.models import ApiKeyCreate
from agentcron.api_keys.service import ApiKeyService
from agentcron.authorizer.jwts import StaticKeys
from agentcron.bootstrap.authorizer import root
from agentcron.store import Store
from agentcron_local import tokens
from agentcron_local.gateway import LambdaContext, build_event, load_function_handler
from agentcron_local.gateway.authorizer import LambdaAuthorizer, result_ttl_of
from agentcron_local.gateway.responses import HttpResponse

KEY_CACHE_SECONDS = 30.0


class Clocks:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.mono = 1000.0

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.mono += seconds


@pytest.fixture
def clocks() -> Clocks:
    return Clocks()


@pytest.fixture
def keys(store: Store, clocks: Clocks) -> ApiKeyService:
    return ApiKeyService(
        store, clock=lambda: clocks.now, cache_seconds=KEY_CACHE_SECONDS, monotonic=lambda: clocks.mono
    )


Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@pytest.fixture
def handler(
    aws_env: dict[str, str], state_dir: Path, keys: ApiKeyService, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Handler]:
    monkeypatch.setenv("JWT_ISSUER", tokens.LOCAL_ISSUER)
    monkeypatch.setenv("JWT_AUDIENCES", f"another-client,{tokens.LOCAL_AUDIENCE}")
    bootstrap.reset()
    # The issuer's keys as its JWKS document says (the stack serves it over HTTP: test_gateway_authorizer).
    root.override(signing_keys=StaticKeys(tokens.jwks()), api_keys=keys)
    yield load_function_handler("authorizer")
    bootstrap.reset()


def authorize(handler: Handler, authorization: str | None) -> dict[str, Any]:
    headers = {} if authorization is None else {"authorization": authorization}
    return handler({"version": "2.0", "type": "REQUEST", "headers": headers}, LambdaContext("authorizer"))


def test_a_dev_token_lets_its_subject_in(handler: Handler) -> None:
    answer = authorize(handler, f"Bearer {tokens.issue_token('alice')}")
    assert answer == {"isAuthorized": True, "context": {"sub": "alice", "auth": "jwt"}}


def test_expired_and_foreign_tokens_are_refused(handler: Handler) -> None:
    expired = tokens.issue_token("alice", ttl_seconds=60, now=datetime.now(UTC).timestamp() - 120)
    assert authorize(handler, f"Bearer {expired}") == {"isAuthorized": False}
    header, body, signature = tokens.issue_token("alice").split(".")
    edited = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert authorize(handler, f"Bearer {header}.{body}.{edited}") == {"isAuthorized": False}
    assert authorize(handler, "Bearer not-a-token") == {"isAuthorized": False}
    assert authorize(handler, None) == {"isAuthorized": False}


def test_a_key_lets_its_owner_in_until_revoked_then_after_the_cache_time_not(
    handler: Handler, keys: ApiKeyService, clocks: Clocks
) -> None:
    stored, key = keys.create("alice", ApiKeyCreate(name="ci"))
    allowed = {"isAuthorized": True, "context": {"sub": "alice", "auth": "api_key", "key_id": stored.id}}
    assert authorize(handler, f"Bearer {key}") == allowed
    keys.revoke("alice", stored.id)
    clocks.advance(KEY_CACHE_SECONDS - 1)
    assert authorize(handler, f"Bearer {key}") == allowed, "the warm authorizer's cache: the delay"
    clocks.advance(2)
    assert authorize(handler, f"Bearer {key}") == {"isAuthorized": False}


def test_an_expired_or_unknown_key_is_refused(handler: Handler, keys: ApiKeyService, clocks: Clocks) -> None:
    _, key = keys.create("alice", ApiKeyCreate(name="short", expires_in_days=1))
    assert authorize(handler, f"Bearer {key}")["isAuthorized"] is True
    clocks.advance(24 * 3600 + KEY_CACHE_SECONDS)
    assert authorize(handler, f"Bearer {key}") == {"isAuthorized": False}
    assert authorize(handler, "Bearer ak_" + "x" * 43) == {"isAuthorized": False}


def test_the_gateway_caches_answers_per_header_and_the_delay_is_both_caches(
    handler: Handler, keys: ApiKeyService, clocks: Clocks
) -> None:
    ttl = result_ttl_of()
    assert ttl == 30, "the template's ReauthorizeEvery"
    gateway = LambdaAuthorizer(handler, result_ttl_seconds=ttl, monotonic=lambda: clocks.mono)
    stored, key = keys.create("bob", ApiKeyCreate(name="ci"))

    def verdict(scheme: str = "Bearer") -> dict[str, Any] | HttpResponse:
        return gateway.authorize(build_event("GET", "/v1/tasks", headers={"authorization": f"{scheme} {key}"}))

    # The worst case: the authorizer read the key (for one spelling of the header) just before
    # it was revoked, and API Gateway asks about another spelling just before that read expires.
    assert verdict("bearer") == {"sub": "bob", "auth": "api_key", "key_id": stored.id}
    keys.revoke("bob", stored.id)
    clocks.advance(KEY_CACHE_SECONDS - 1)
    assert isinstance(verdict(), dict) and gateway.invocations == 2, "the key's cache"
    clocks.advance(ttl - 1)
    assert isinstance(verdict(), dict) and gateway.invocations == 2, "API Gateway's cache of that answer"
    clocks.advance(2)
    refused = verdict()
    assert isinstance(refused, HttpResponse) and (refused.status, refused.body) == (403, b'{"message":"Forbidden"}')
    assert clocks.mono - 1000 == ttl + KEY_CACHE_SECONDS, "refused once the documented delay is over"
    # A refusal is cached too; no header at all is API Gateway's 401 without the function.
    assert isinstance(verdict(), HttpResponse) and gateway.invocations == 3
    missing = gateway.authorize(build_event("GET", "/v1/tasks"))
    assert isinstance(missing, HttpResponse) and missing.status == 401 and gateway.invocations == 3
