"""The local API gateway: requests in, API Gateway payload v2.0 events out, the
authorizer's and API Gateway's own answers (401, 404, 413) in front."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from agentcron import bootstrap
from agentcron_local.gateway import (
    MAX_PAYLOAD_BYTES,
    GatewayServer,
    HttpResponse,
    LambdaContext,
    LocalRequest,
    PortInUseError,
    build_event,
    load_function_module,
    make_gateway,
    serve_in_thread,
)
from agentcron_local.tokens import issue_token

EVENTS = Path(__file__).resolve().parents[2] / "events"


class Recorder:
    """A stand-in for the api function: records what it is given, answers what it is told."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.contexts: list[Any] = []
        self.respond: Callable[[dict[str, Any]], Any] = lambda event: {
            "statusCode": 200,
            "headers": {"content-type": "application/json"},
            "body": json.dumps({"ok": True}),
        }

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        self.events.append(event)
        self.contexts.append(context)
        return self.respond(event)

    @property
    def event(self) -> dict[str, Any]:
        assert len(self.events) == 1, f"expected one invocation, got {len(self.events)}"
        return self.events[0]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def gateway(recorder: Recorder, state_dir: Path) -> Iterator[GatewayServer]:
    server = make_gateway(recorder, "127.0.0.1", 0)
    thread = serve_in_thread(server)
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def token(state_dir: Path) -> str:
    return issue_token("alice")


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def shape(value: Any) -> Any:
    """Keys and value types, recursively: what must agree between two events."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    return type(value).__name__


def load_sample(name: str) -> dict[str, Any]:
    sample: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return sample


def assert_same_shape(event: dict[str, Any], sample: dict[str, Any]) -> None:
    # Header sets depend on the client; every header API Gateway always sends must be there.
    assert set(sample["headers"]) - {"accept", "user-agent", "authorization"} <= set(event["headers"])
    event_shape, sample_shape = shape(event), shape(sample)
    event_shape.pop("headers")
    sample_shape.pop("headers")
    assert event_shape == sample_shape


# ---------------------------------------------------------------- event shape


def test_public_route_event_has_the_shape_of_the_sample(gateway: GatewayServer, recorder: Recorder) -> None:
    response = requests.get(f"{gateway.url}/v1/health", timeout=5)
    assert response.status_code == 200
    event = recorder.event
    assert_same_shape(event, load_sample("api-health.json"))
    assert event["routeKey"] == "GET /v1/health"
    assert event["requestContext"]["http"]["method"] == "GET"
    assert event["requestContext"]["http"]["sourceIp"] == "127.0.0.1"
    assert event["requestContext"]["domainName"] == f"127.0.0.1:{gateway.port}"
    assert "authorizer" not in event["requestContext"]
    assert response.headers["apigw-requestid"] == event["requestContext"]["requestId"]


def test_authorized_route_event_has_the_shape_of_the_sample(
    gateway: GatewayServer, recorder: Recorder, token: str
) -> None:
    response = requests.get(f"{gateway.url}/v1/tasks", headers=auth(token), timeout=5)
    assert response.status_code == 200
    event = recorder.event
    assert_same_shape(event, load_sample("api-list-tasks.json"))
    assert event["routeKey"] == "ANY /v1/{proxy+}"
    assert event["pathParameters"] == {"proxy": "tasks"}
    jwt = event["requestContext"]["authorizer"]["jwt"]
    assert jwt["claims"]["sub"] == "alice"
    assert jwt["scopes"] is None
    assert all(isinstance(value, str) for value in jwt["claims"].values()), "API Gateway passes strings"
    assert event["headers"]["authorization"] == f"Bearer {token}"


def test_build_event_matches_the_samples_without_a_server() -> None:
    # What tests that call a handler directly use.
    assert_same_shape(build_event("GET", "/v1/health"), load_sample("api-health.json"))
    event = build_event("GET", "/v1/tasks", claims={"sub": "alice", "iat": 1, "exp": 2})
    assert event["routeKey"] == "ANY /v1/{proxy+}"
    assert event["requestContext"]["authorizer"]["jwt"]["claims"] == {"sub": "alice", "iat": "1", "exp": "2"}


def test_context_carries_the_templates_function_settings(gateway: GatewayServer, recorder: Recorder) -> None:
    requests.get(f"{gateway.url}/v1/health", timeout=5)
    context = recorder.contexts[0]
    assert isinstance(context, LambdaContext)
    assert context.function_name == "agentcron-local-ApiFunction"
    assert context.memory_limit_in_mb == 512  # ApiFunction's MemorySize
    assert 0 < context.get_remaining_time_in_millis() <= 29_000  # its Timeout
    assert context.invoked_function_arn.endswith(":function:agentcron-local-ApiFunction")
    assert context.aws_request_id


# ---------------------------------------------------------------- the authorizer


def test_missing_token_is_401_before_the_function(gateway: GatewayServer, recorder: Recorder) -> None:
    response = requests.get(f"{gateway.url}/v1/tasks", timeout=5)
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}
    assert response.headers["www-authenticate"] == "Bearer"
    assert recorder.events == []


@pytest.mark.parametrize(
    ("make_token", "description"),
    [
        (lambda: "garbage", "the token is not a valid JWT"),
        (lambda: issue_token("alice", now=time.time() - 13 * 3600), "the token has expired"),
    ],
)
def test_invalid_token_is_401_with_the_reason(
    gateway: GatewayServer, recorder: Recorder, make_token: Callable[[], str], description: str
) -> None:
    response = requests.get(f"{gateway.url}/v1/tasks", headers=auth(make_token()), timeout=5)
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}
    assert response.headers["www-authenticate"] == (
        f'Bearer scope="" error="invalid_token" error_description="{description}"'
    )
    assert recorder.events == []


def test_bare_token_without_bearer_is_accepted(gateway: GatewayServer, recorder: Recorder, token: str) -> None:
    response = requests.get(f"{gateway.url}/v1/tasks", headers={"Authorization": token}, timeout=5)
    assert response.status_code == 200


def test_public_routes_come_from_the_template(gateway: GatewayServer, recorder: Recorder) -> None:
    for path in ("/v1/health", "/v1/openapi.json", "/v1/docs"):
        assert requests.get(f"{gateway.url}{path}", timeout=5).status_code == 200, path
    # Only GET is public: POST /v1/health falls to ANY /v1/{proxy+}, which has the authorizer.
    assert requests.post(f"{gateway.url}/v1/health", timeout=5).status_code == 401


def test_paths_outside_the_routes_are_404(gateway: GatewayServer, recorder: Recorder, token: str) -> None:
    for path in ("/", "/v2/tasks", "/v1", "/healthz"):
        response = requests.get(f"{gateway.url}{path}", headers=auth(token), timeout=5)
        assert response.status_code == 404, path
        assert response.json() == {"message": "Not Found"}
    assert recorder.events == []


# ---------------------------------------------------------------- request mapping


def test_percent_encoded_paths_reach_the_function_decoded(
    gateway: GatewayServer, recorder: Recorder, token: str
) -> None:
    # API Gateway decodes rawPath (the function's router matches on it) and path parameters.
    response = requests.get(f"{gateway.url}/v1/tasks/a%20b%C3%A9", headers=auth(token), timeout=5)
    assert response.status_code == 200
    event = recorder.event
    assert event["rawPath"] == "/v1/tasks/a bé"
    assert event["requestContext"]["http"]["path"] == "/v1/tasks/a bé"
    assert event["pathParameters"] == {"proxy": "tasks/a bé"}


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "BREW"])
def test_methods_no_route_takes_are_a_problem_json_405(gateway: GatewayServer, recorder: Recorder, method: str) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=5)
    try:
        connection.request(method, "/v1/tasks")
        response = connection.getresponse()
        body = json.loads(response.read())
    finally:
        connection.close()
    assert response.status == 405
    assert response.getheader("content-type") == "application/problem+json"
    assert response.getheader("allow") == "GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE"
    assert body["status"] == 405
    assert body["title"] == "Method Not Allowed"
    assert body["detail"].startswith(f"{method} is not a method this API routes")
    assert recorder.events == []


def test_a_malformed_request_line_is_answered_in_json_not_html(gateway: GatewayServer, recorder: Recorder) -> None:
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as sock:
        sock.sendall(b"GET /v1/health HTTP/9.9\r\n\r\n")
        answer = sock.makefile("rb").read()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 505 ")
    assert b"content-type: application/json" in head.lower()
    assert json.loads(body) == {"message": "HTTP Version Not Supported"}
    assert recorder.events == []


class EchoRoute:
    """A local route: answers GET /echo/<anything> itself, leaves the rest to the function."""

    def __init__(self) -> None:
        self.seen: list[LocalRequest] = []

    def answer(self, request: LocalRequest) -> HttpResponse | None:
        if not request.path.startswith("/echo/"):
            return None
        self.seen.append(request)
        return HttpResponse(200, [("content-type", "text/plain")], request.path.encode())


def test_a_local_route_answers_before_api_gateways_routes(gateway: GatewayServer, recorder: Recorder) -> None:
    route = EchoRoute()
    gateway.add_local_route(route)
    echoed = requests.post(f"{gateway.url}/echo/a%20b?x=1", data=b"hi", headers={"X-Test": "yes"}, timeout=5)
    assert (echoed.status_code, echoed.text) == (200, "/echo/a b")
    assert route.seen[0].method == "POST"
    assert route.seen[0].query == "x=1"
    assert route.seen[0].body == b"hi"
    assert route.seen[0].headers["x-test"] == "yes"
    assert recorder.events == []
    # Everything else still goes through API Gateway's routing to the function.
    assert requests.get(f"{gateway.url}/v1/health", timeout=5).status_code == 200
    assert len(recorder.events) == 1


def test_query_string_raw_and_parsed(gateway: GatewayServer, recorder: Recorder, token: str) -> None:
    raw = "limit=2&tag=a&tag=b&empty=&q=hello%20world&plus=a+b"
    requests.get(f"{gateway.url}/v1/tasks?{raw}", headers=auth(token), timeout=5)
    event = recorder.event
    assert event["rawQueryString"] == raw
    assert event["queryStringParameters"] == {
        "limit": "2",
        "tag": "a,b",  # duplicates comma-joined, as API Gateway does
        "empty": "",
        "q": "hello world",
        "plus": "a b",
    }


def test_headers_are_lowercased_joined_and_cookies_split(
    gateway: GatewayServer, recorder: Recorder, token: str
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=5)
    conn.putrequest("GET", "/v1/tasks")
    conn.putheader("Authorization", f"Bearer {token}")
    conn.putheader("X-Custom-Thing", "one")
    conn.putheader("X-Custom-Thing", "two")
    conn.putheader("Cookie", "session=abc; theme=dark")
    conn.putheader("Connection", "keep-alive")
    conn.endheaders()
    assert conn.getresponse().status == 200
    conn.close()
    event = recorder.event
    assert event["headers"]["x-custom-thing"] == "one,two"
    assert all(name == name.lower() for name in event["headers"])
    assert event["cookies"] == ["session=abc", "theme=dark"]
    assert "cookie" not in event["headers"]
    assert event["headers"]["x-forwarded-for"] == "127.0.0.1"
    assert event["headers"]["x-forwarded-port"] == str(gateway.port)
    assert "connection" not in event["headers"], "hop-by-hop headers end at the gateway"


def test_text_bodies_pass_as_text_and_binary_as_base64(gateway: GatewayServer, recorder: Recorder, token: str) -> None:
    document = {"name": "café ☕", "n": 1}
    requests.post(f"{gateway.url}/v1/tasks", json=document, headers=auth(token), timeout=5)
    binary = bytes(range(256))
    requests.post(
        f"{gateway.url}/v1/blobs",
        data=binary,
        headers={**auth(token), "Content-Type": "application/octet-stream"},
        timeout=5,
    )
    text_event, binary_event = recorder.events
    assert text_event["isBase64Encoded"] is False
    assert json.loads(text_event["body"]) == document
    assert binary_event["isBase64Encoded"] is True
    assert base64.b64decode(binary_event["body"]) == binary
    assert binary_event["headers"]["content-length"] == "256"


def test_body_over_10_mb_is_413_without_reading_it(gateway: GatewayServer, recorder: Recorder, token: str) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=5)
    conn.putrequest("POST", "/v1/tasks")
    conn.putheader("Authorization", f"Bearer {token}")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(MAX_PAYLOAD_BYTES + 1))
    conn.endheaders()  # and no body: the gateway must answer without waiting for it
    response = conn.getresponse()
    assert response.status == 413
    assert json.loads(response.read()) == {"message": "Request Entity Too Large"}
    conn.close()
    assert recorder.events == []


def test_body_of_exactly_10_mb_is_passed_on(gateway: GatewayServer, recorder: Recorder, token: str) -> None:
    body = b"x" * MAX_PAYLOAD_BYTES
    response = requests.post(
        f"{gateway.url}/v1/tasks",
        data=body,
        headers={**auth(token), "Content-Type": "text/plain"},
        timeout=30,
    )
    assert response.status_code == 200
    assert len(recorder.event["body"]) == MAX_PAYLOAD_BYTES


# ---------------------------------------------------------------- response mapping


def test_response_base64_body_cookies_and_multi_value_headers(
    gateway: GatewayServer, recorder: Recorder, token: str
) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x01\x02"
    recorder.respond = lambda event: {
        "statusCode": 201,
        "headers": {"Content-Type": "image/png", "X-One": "1"},
        "multiValueHeaders": {"X-Many": ["a", "b"]},
        "cookies": ["a=1; Path=/", "b=2; HttpOnly"],
        "body": base64.b64encode(png).decode(),
        "isBase64Encoded": True,
    }
    conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=5)
    conn.request("GET", "/v1/image", headers=auth(token))
    response = conn.getresponse()
    assert response.status == 201
    assert response.read() == png
    headers = response.getheaders()
    conn.close()
    assert ("Content-Type", "image/png") in headers
    assert [v for k, v in headers if k.lower() == "set-cookie"] == ["a=1; Path=/", "b=2; HttpOnly"]
    assert [v for k, v in headers if k.lower() == "x-many"] == ["a", "b"]


def test_unstructured_result_becomes_200_json(gateway: GatewayServer, recorder: Recorder, token: str) -> None:
    recorder.respond = lambda event: {"hello": "world"}
    response = requests.get(f"{gateway.url}/v1/tasks", headers=auth(token), timeout=5)
    assert response.status_code == 200
    assert response.json() == {"hello": "world"}


def test_function_error_is_500_without_details(gateway: GatewayServer, recorder: Recorder, token: str) -> None:
    def boom(event: dict[str, Any]) -> Any:
        raise RuntimeError("secret internals")

    recorder.respond = boom
    response = requests.get(f"{gateway.url}/v1/tasks", headers=auth(token), timeout=5)
    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}


def test_one_invocation_at_a_time(gateway: GatewayServer, recorder: Recorder, token: str) -> None:
    # Like one warm Lambda environment: handlers may keep per-request state in globals.
    running = 0
    most = 0
    lock = threading.Lock()

    def slow(event: dict[str, Any]) -> Any:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.1)
        with lock:
            running -= 1
        return {"statusCode": 204}

    recorder.respond = slow
    threads = [
        threading.Thread(target=requests.get, args=(f"{gateway.url}/v1/tasks",), kwargs={"headers": auth(token)})
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(recorder.events) == 4
    assert most == 1


def test_busy_port_raises_a_clear_error(gateway: GatewayServer, recorder: Recorder) -> None:
    with pytest.raises(PortInUseError) as info:
        make_gateway(recorder, "127.0.0.1", gateway.port)
    assert str(info.value) == (
        f"port {gateway.port} is in use: is another agentcron local stack running? stop it or pass --port"
    )


# ---------------------------------------------------------------- the real api function


@pytest.fixture
def api_handler(aws_env: dict[str, str]) -> Iterator[Callable[[dict[str, Any], Any], Any]]:
    # A fresh "container" for this test's stack: the function caches its settings and clients.
    bootstrap.reset()
    module = load_function_module("api", fresh=True)
    yield module.lambda_handler
    bootstrap.reset()


def test_sample_events_run_through_the_api_function(
    api_handler: Callable[[dict[str, Any], Any], Any],
) -> None:
    health = api_handler(load_sample("api-health.json"), LambdaContext())
    assert health["statusCode"] == 200
    tasks = api_handler(load_sample("api-list-tasks.json"), LambdaContext())
    assert tasks["statusCode"] == 200, tasks
    assert json.loads(tasks["body"])["items"] == []


def test_the_api_function_behind_the_gateway(
    api_handler: Callable[[dict[str, Any], Any], Any], state_dir: Path
) -> None:
    server = make_gateway(api_handler, "127.0.0.1", 0)
    thread = serve_in_thread(server)
    try:
        assert requests.get(f"{server.url}/v1/health", timeout=10).status_code == 200
        token = issue_token("alice")
        listed = requests.get(f"{server.url}/v1/tasks", headers=auth(token), timeout=10)
        assert listed.status_code == 200, listed.text
        assert listed.json()["items"] == []
        created = requests.post(
            f"{server.url}/v1/tasks",
            headers=auth(token),
            json={"name": "encoded", "prompt": "p", "schedule": {"type": "manual"}},
            timeout=10,
        )
        assert created.status_code == 201, created.text
        task_id = created.json()["id"]
        # Every character percent-encoded: the function still finds the task, as behind API Gateway.
        encoded = "".join(f"%{byte:02X}" for byte in task_id.encode())
        found = requests.get(f"{server.url}/v1/tasks/{encoded}", headers=auth(token), timeout=10)
        assert found.status_code == 200, found.text
        assert found.json()["id"] == task_id
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
