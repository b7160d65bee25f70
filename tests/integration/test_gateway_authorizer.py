"""The local gateway in front of the template's Lambda authorizer (functions/authorizer, the
very handler deployed): it sends the authorizer the REQUEST event, answers 401 without it when
there is no Authorization header and 403 when it refuses, and hands the API the authorizer's
context where API Gateway puts it. The dev token's key is fetched from the JWKS the gateway
serves, as the deployed function fetches Cognito's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from agentcron import bootstrap
from agentcron.api_keys.models import ApiKeyCreate
from agentcron.api_keys.service import ApiKeyService
from agentcron.store import Store
from agentcron_local.gateway import GatewayServer, load_function_handler, make_gateway, serve_in_thread
from agentcron_local.gateway.authorizer import LambdaAuthorizer
from agentcron_local.issuer import IssuerKeys, authorizer_environment
from agentcron_local.tokens import issue_token

from tests.integration.test_gateway import Recorder


class AuthorizerSpy:
    """The real authorizer handler, with the events it was given kept for the test to read."""

    def __init__(self) -> None:
        self.handler = load_function_handler("authorizer")
        self.events: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        self.events.append(event)
        return self.handler(event, context)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def spy() -> AuthorizerSpy:
    return AuthorizerSpy()


@pytest.fixture
def gateway(
    recorder: Recorder, spy: AuthorizerSpy, aws_env: dict[str, str], state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[GatewayServer]:
    server = make_gateway(recorder, "127.0.0.1", 0)
    server.add_local_route(IssuerKeys())
    for name, value in authorizer_environment(server.url).items():
        monkeypatch.setenv(name, value)
    bootstrap.reset()
    server.authorizer = LambdaAuthorizer(spy)  # no result cache: each request reaches the spy
    thread = serve_in_thread(server)
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)
    bootstrap.reset()


def test_no_authorization_header_is_401_without_the_authorizer(
    gateway: GatewayServer, spy: AuthorizerSpy, recorder: Recorder
) -> None:
    response = requests.get(f"{gateway.url}/v1/tasks", timeout=5)
    assert response.status_code == 401 and response.json() == {"message": "Unauthorized"}
    assert spy.events == [] and recorder.events == []


def test_a_refused_token_is_403_and_never_reaches_the_api(
    gateway: GatewayServer, spy: AuthorizerSpy, recorder: Recorder
) -> None:
    for token in ("garbage", "ak_" + "x" * 43, issue_token("alice")[:-4] + "AAAA"):
        response = requests.get(f"{gateway.url}/v1/tasks", headers={"Authorization": f"Bearer {token}"}, timeout=5)
        assert response.status_code == 403 and response.json() == {"message": "Forbidden"}
    assert len(spy.events) == 3 and recorder.events == []


def test_a_dev_token_reaches_the_api_with_the_authorizer_s_context(
    gateway: GatewayServer, spy: AuthorizerSpy, recorder: Recorder
) -> None:
    headers = {"Authorization": f"Bearer {issue_token('alice')}", "Content-Type": "application/json"}
    response = requests.post(f"{gateway.url}/v1/tasks?x=1", data=b'{"a": 1}', headers=headers, timeout=5)
    assert response.status_code == 200
    [event] = spy.events
    assert event["version"] == "2.0" and event["type"] == "REQUEST"
    assert event["identitySource"] == [headers["Authorization"]]
    assert event["routeArn"].endswith("/$default/POST/v1/tasks")
    assert event["routeKey"] == "ANY /v1/{proxy+}" and event["queryStringParameters"] == {"x": "1"}
    assert "body" not in event  # an authorizer never sees the body
    assert recorder.event["requestContext"]["authorizer"] == {"lambda": {"sub": "alice", "auth": "jwt"}}
    assert recorder.event["body"] == '{"a": 1}'


def test_an_api_key_reaches_the_api_as_its_owner(
    gateway: GatewayServer, aws_env: dict[str, str], recorder: Recorder
) -> None:
    store = Store(aws_env["TABLE_NAME"], due_shards=int(aws_env["DUE_SHARDS"]))
    stored, key = ApiKeyService(store).create("bob", ApiKeyCreate(name="script"))
    response = requests.get(f"{gateway.url}/v1/runs", headers={"Authorization": f"Bearer {key}"}, timeout=5)
    assert response.status_code == 200
    context = recorder.event["requestContext"]["authorizer"]["lambda"]
    assert context == {"sub": "bob", "auth": "api_key", "key_id": stored.id}


def test_public_routes_skip_the_authorizer(gateway: GatewayServer, spy: AuthorizerSpy) -> None:
    assert requests.get(f"{gateway.url}/v1/health", timeout=5).status_code == 200
    assert spy.events == []
