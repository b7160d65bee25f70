"""Hostile input: schemathesis against the API's own OpenAPI document.

An in-process local stack (moto, the template's resources, the JWT gateway and
the real api handler, on loopback) serves ``GET /v1/openapi.json``; the
document is loaded with ``schemathesis.openapi.from_dict`` and every
operation is fuzzed over HTTP, with a valid bearer token, in two modes:
positive (inputs the schema allows) and negative (inputs it forbids).

Checks on every response:

- no 5xx (``not_a_server_error``);
- a documented status is answered with a body that matches its documented
  schema (``response_schema_conformance``), except 422, whose documented
  schema is wrong (see ``test_validation_errors_match_the_documented_422``);
- negative input is rejected with a 4xx (``negative_data_rejection``);
- every 4xx is RFC 9457 problem+json whose ``status`` is the HTTP status.

Path parameters are half the time random and half the time a real id of the
fuzzer's own (a task, a queued run, a run waiting for input), so the fuzzing
reaches the core and not only the 404 path.

CI: ``FUZZ_EXAMPLES`` (default 25) examples per operation and mode, with a
fixed seed so CI is repeatable. ``FUZZ_EXAMPLES=500`` (``make fuzz``) runs the
long variant with a random seed (``FUZZ_SEED`` pins one).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest
import requests
import schemathesis
from agentcron.models import RunStatus
from agentcron.store import Store
from agentcron_local import tokens
from agentcron_local.stack import LocalStack
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import CheckContext, not_a_server_error
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import negative_data_rejection, response_schema_conformance

from tests.security.strategies import VALID_BODIES

DEFAULT_EXAMPLES = 25
REFUSALS = (400, 401, 403, 404, 405, 406, 409, 410, 413, 415, 422, 428, 429)
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", DEFAULT_EXAMPLES))

# Every operation the document must describe (a new route fails test_every_route_is_fuzzed
# until it is added here, so nothing escapes the fuzzing unnoticed).
OPERATIONS: list[tuple[str, str]] = [
    ("POST", "/v1/tasks"),
    ("GET", "/v1/tasks"),
    ("GET", "/v1/tasks/due"),
    ("GET", "/v1/tasks/{task_id}"),
    ("PATCH", "/v1/tasks/{task_id}"),
    ("DELETE", "/v1/tasks/{task_id}"),
    ("POST", "/v1/tasks/{task_id}/enable"),
    ("POST", "/v1/tasks/{task_id}/disable"),
    ("POST", "/v1/tasks/{task_id}/runs"),
    ("GET", "/v1/tasks/{task_id}/runs"),
    ("GET", "/v1/tasks/{task_id}/stats"),
    ("GET", "/v1/tasks/{task_id}/history"),
    ("GET", "/v1/runs"),
    ("GET", "/v1/runs/{run_id}"),
    ("GET", "/v1/runs/{run_id}/transcript"),
    ("GET", "/v1/runs/{run_id}/report"),
    ("POST", "/v1/runs/{run_id}/reply"),
    ("POST", "/v1/runs/{run_id}/cancel"),
    ("POST", "/v1/conversations"),
    ("GET", "/v1/conversations"),
    ("GET", "/v1/conversations/{conversation_id}"),
    ("GET", "/v1/conversations/{conversation_id}/messages"),
    ("POST", "/v1/conversations/{conversation_id}/messages"),
    ("POST", "/v1/conversations/{conversation_id}/archive"),
    ("POST", "/v1/connectors"),
    ("GET", "/v1/connectors"),
    ("GET", "/v1/connectors/{connector_id}"),
    ("PATCH", "/v1/connectors/{connector_id}"),
    ("DELETE", "/v1/connectors/{connector_id}"),
    ("POST", "/v1/connectors/{connector_id}/test"),
    ("POST", "/v1/api-keys"),
    ("GET", "/v1/api-keys"),
    ("DELETE", "/v1/api-keys/{key_id}"),
    ("POST", "/v1/schedules/preview"),
    ("POST", "/v1/schedules/parse"),
    ("GET", "/v1/tools"),
    ("GET", "/v1/templates"),
    ("POST", "/v1/tasks/execute-due"),
    ("POST", "/v1/tasks/{task_id}/triggers"),
    ("GET", "/v1/tasks/{task_id}/triggers"),
    ("POST", "/v1/triggers/{trigger_id}/rotate"),
    ("DELETE", "/v1/triggers/{trigger_id}"),
    ("POST", "/v1/hooks/{trigger_id}"),
    ("GET", "/v1/health"),
]


@dataclass
class FuzzTarget:
    stack: LocalStack
    schema: Any
    store: Store
    document: dict[str, Any]
    user: str = "fuzzer"
    token: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def call(self, method: str, path: str, body: Any = None) -> requests.Response:
        return requests.request(method, self.stack.api_url + path, json=body, headers=self.headers, timeout=30)


@pytest.fixture(scope="module")
def target(api_stack: LocalStack) -> FuzzTarget:
    # The fuzzer talks to the API, and a run it starts stays QUEUED (runs are
    # exercised by the e2e and secrets tests).
    document = requests.get(f"{api_stack.api_url}/v1/openapi.json", timeout=30).json()
    # The fuzzer sends a valid token itself; schemathesis' own mutations of the
    # Authorization header would be overwritten by it and misread as accepted bad input.
    config = schemathesis.Config.from_dict(
        {
            "generation": {"with-security-parameters": False},
            # 413 (body over 256 KiB, checked before validation) is a correct refusal too.
            "checks": {"negative_data_rejection": {"expected-statuses": [*REFUSALS]}},
        }
    )
    schema = schemathesis.openapi.from_dict(document, config=config)
    store = Store(api_stack.env["TABLE_NAME"], due_shards=int(api_stack.env["DUE_SHARDS"]))
    return FuzzTarget(api_stack, schema, store, document)


@pytest.fixture
def fuzzer(target: FuzzTarget, request: pytest.FixtureRequest) -> FuzzTarget:
    """The stack, as a user of this test's own: listings stay small however many tests ran before."""
    user = "fuzz-" + hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:12]
    return replace(target, user=user, token=tokens.issue_token(user))


@dataclass
class RealIds:
    task_ids: list[str]
    run_ids: list[str]
    conversation_ids: list[str]
    key_ids: list[str]
    connector_ids: list[str]


def real_ids(target: FuzzTarget) -> RealIds:
    """A few resources of the fuzzer's own, in the states the routes care about."""
    task = target.call("POST", "/v1/tasks", {"name": "fuzz", "prompt": "hi {{x}}", "schedule": {"type": "manual"}})
    assert task.status_code == 201, task.text
    paused = target.call("POST", "/v1/tasks", {"name": "p", "prompt": "p", "schedule": {"type": "manual"}})
    target.call("POST", f"/v1/tasks/{paused.json()['id']}/disable", {"reason": "fuzz"})
    runs = [target.call("POST", f"/v1/tasks/{task.json()['id']}/runs", {}).json()["id"] for _ in range(2)]
    target.store.transition_run(
        target.user,
        runs[1],
        from_statuses={RunStatus.QUEUED},
        to_status=RunStatus.WAITING_INPUT,
        fields={"question": "?"},
    )
    conversation = target.call("POST", "/v1/conversations", {"message": "hello"})
    assert conversation.status_code == 201, conversation.text
    # (Names are unique per owner, and each test makes its resources anew.)
    name = f"fuzz{uuid.uuid4().hex[:8]}"
    connector = target.call("POST", "/v1/connectors", {"name": name, "url": "https://mcp.example.com/mcp"})
    assert connector.status_code == 201, connector.text
    key = target.call("POST", "/v1/api-keys", {"name": "fuzz"})
    assert key.status_code == 201, key.text
    return RealIds(
        task_ids=[task.json()["id"], paused.json()["id"]],
        run_ids=runs,
        conversation_ids=[conversation.json()["id"]],
        key_ids=[key.json()["id"]],
        connector_ids=[connector.json()["id"]],
    )


PROBLEM_FIELDS = {"type", "title", "status", "detail"}


def problem_json(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Every 4xx is problem+json naming its own status, with a readable detail."""
    if response.status_code < 400:
        return None
    if response.status_code in (401, 403):
        # Negative mode drops (401) or mangles (403: the Lambda authorizer's refusal) the bearer
        # token: API Gateway answers before the function, in its own shape (not the app's to choose).
        phrase = "Unauthorized" if response.status_code == 401 else "Forbidden"
        if json.loads(response.content) == {"message": phrase}:
            return None
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith("application/problem+json"), f"{response.status_code} as {content_type!r}"
    body = json.loads(response.content)
    assert isinstance(body, dict) and set(body) >= PROBLEM_FIELDS, body
    assert body["status"] == response.status_code, body
    assert isinstance(body["detail"], str) and body["detail"], body
    for error in body.get("errors", []):
        assert isinstance(error.get("field"), str) and isinstance(error.get("message"), str), error
    return None


CHECKS: list[Callable[..., bool | None]] = [
    not_a_server_error,
    response_schema_conformance,
    negative_data_rejection,
    problem_json,
]


def _fuzz_settings() -> Callable[[Any], Any]:
    randomise = EXAMPLES > DEFAULT_EXAMPLES or "FUZZ_SEED" in os.environ
    return settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=not randomise,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )


def _strategies(target: FuzzTarget, method: str, path: str, mode: GenerationMode) -> list[st.SearchStrategy[Case]]:
    operation = target.schema[path][method]
    ids = real_ids(target)
    fixed: list[dict[str, str]] = [{}]
    if "{task_id}" in path:
        fixed = [{"task_id": task_id} for task_id in ids.task_ids]
    elif "{run_id}" in path:
        fixed = [{"run_id": run_id} for run_id in ids.run_ids]
    elif "{conversation_id}" in path:
        fixed = [{"conversation_id": conversation_id} for conversation_id in ids.conversation_ids]
    elif "{key_id}" in path:
        fixed = [{"key_id": key_id} for key_id in ids.key_ids]
    elif "{connector_id}" in path:
        fixed = [{"connector_id": connector_id} for connector_id in ids.connector_ids]
    strategies = [operation.as_strategy(generation_mode=mode)]
    strategies += [operation.as_strategy(generation_mode=mode, path_parameters=p) for p in fixed if p]
    valid = VALID_BODIES.get((method, path))
    if valid is not None and mode == GenerationMode.POSITIVE:
        for parameters in fixed:

            def with_body(body: dict[str, Any], parameters: dict[str, str] = parameters) -> st.SearchStrategy[Case]:
                return operation.as_strategy(generation_mode=mode, body=body, path_parameters=parameters or None)

            strategies += [valid.flatmap(with_body)] * 2
    return strategies


# Operations that take no input at all: there is nothing to make invalid.
NO_INPUT = {("GET", "/v1/tools"), ("GET", "/v1/templates"), ("POST", "/v1/tasks/execute-due"), ("GET", "/v1/health")}
FUZZ_CASES = [
    pytest.param(method, path, mode, id=f"{method}-{path}-{mode.value}")
    for method, path in OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if not (mode == GenerationMode.NEGATIVE and (method, path) in NO_INPUT)
]


@pytest.mark.parametrize(("method", "path", "mode"), FUZZ_CASES)
def test_fuzz_operation(fuzzer: FuzzTarget, method: str, path: str, mode: GenerationMode) -> None:
    strategies = _strategies(fuzzer, method, path, mode)
    statuses: dict[int, int] = {}

    @_fuzz_settings()
    @given(case=st.one_of(strategies))
    def fuzz(case: Case) -> None:
        response = case.call(base_url=fuzzer.stack.api_url, headers=fuzzer.headers, timeout=30)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        case.validate_response(response, checks=CHECKS, headers=fuzzer.headers)

    if "FUZZ_SEED" in os.environ:
        fuzz = seed(int(os.environ["FUZZ_SEED"]))(fuzz)
    started = time.monotonic()
    fuzz()
    elapsed = time.monotonic() - started
    print(
        f"\n{mode.value} {method} {path}: {sum(statuses.values())} requests in {elapsed:.1f} s, "
        f"statuses {dict(sorted(statuses.items()))}"
    )


def test_every_route_is_fuzzed(fuzzer: FuzzTarget) -> None:
    documented = {(m.upper(), p) for p, ops in fuzzer.document["paths"].items() for m in ops}
    assert documented == set(OPERATIONS)


def _problem_schema_of_422(document: dict[str, Any], method: str, path: str) -> tuple[str, dict[str, Any]]:
    response = document["paths"][path][method.lower()]["responses"]["422"]
    [(media_type, content)] = response["content"].items()
    return media_type, content["schema"]


def test_validation_errors_match_the_documented_422(fuzzer: FuzzTarget) -> None:
    import jsonschema_rs

    response = fuzzer.call("POST", "/v1/tasks", {"name": "", "prompt": "x", "schedule": {"type": "nope"}})
    assert response.status_code == 422
    media_type, schema = _problem_schema_of_422(fuzzer.document, "POST", "/v1/tasks")
    assert response.headers["content-type"] == media_type, (response.headers["content-type"], media_type)
    resolved = {**schema, "components": fuzzer.document["components"]}
    jsonschema_rs.validate(resolved, response.json())


def test_health_is_documented_as_public(fuzzer: FuzzTarget) -> None:
    assert requests.get(f"{fuzzer.stack.api_url}/v1/health", timeout=10).status_code == 200
    assert fuzzer.document["paths"]["/v1/health"]["get"].get("security") == []


def test_204_is_documented_without_a_body(fuzzer: FuzzTarget) -> None:
    ids = real_ids(fuzzer)
    response = fuzzer.call("DELETE", f"/v1/tasks/{ids.task_ids[0]}")
    assert response.status_code == 204 and response.content == b""
    documented = fuzzer.document["paths"]["/v1/tasks/{task_id}"]["delete"]["responses"]["204"]
    assert "content" not in documented, documented


BODY_ROUTES: list[tuple[str, str]] = [
    ("POST", "/v1/tasks"),
    ("PATCH", "/v1/tasks/{task_id}"),
    ("POST", "/v1/tasks/{task_id}/disable"),
    ("POST", "/v1/tasks/{task_id}/runs"),
    ("POST", "/v1/runs/{run_id}/reply"),
    ("POST", "/v1/schedules/preview"),
    ("POST", "/v1/schedules/parse"),
]


def _concrete(path: str, ids: RealIds) -> str:
    return path.replace("{task_id}", ids.task_ids[0]).replace("{run_id}", ids.run_ids[1])


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES, ids=[f"{m}-{p}" for m, p in BODY_ROUTES])
def test_a_body_that_is_not_utf8_is_a_4xx(fuzzer: FuzzTarget, method: str, path: str) -> None:
    ids = real_ids(fuzzer)
    response = requests.request(
        method,
        fuzzer.stack.api_url + _concrete(path, ids),
        data=b"\xff\x6d\xfe\x1a",
        headers={**fuzzer.headers, "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code in (400, 422), (response.status_code, response.text)
    assert response.headers["content-type"] == "application/problem+json"


NOT_JSON = ["text/plain", "multipart/form-data", "application/x-www-form-urlencoded", "application/merge-patch+json"]


@pytest.mark.parametrize("content_type", NOT_JSON)
@pytest.mark.parametrize(("method", "path"), BODY_ROUTES, ids=[f"{m}-{p}" for m, p in BODY_ROUTES])
def test_a_body_sent_as_anything_but_json_is_a_415(
    fuzzer: FuzzTarget, method: str, path: str, content_type: str
) -> None:
    ids = real_ids(fuzzer)
    response = requests.request(
        method,
        fuzzer.stack.api_url + _concrete(path, ids),
        data=b'{"name": "x"}',
        headers={**fuzzer.headers, "Content-Type": content_type},
        timeout=30,
    )
    assert response.status_code == 415, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/problem+json"
    documented = fuzzer.document["paths"][path][method.lower()]["responses"]
    assert "415" in documented


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES, ids=[f"{m}-{p}" for m, p in BODY_ROUTES])
def test_a_json_array_body_is_a_422(fuzzer: FuzzTarget, method: str, path: str) -> None:
    ids = real_ids(fuzzer)
    valid: dict[str, Any] = {
        "/v1/tasks": {"name": "array", "prompt": "p", "schedule": {"type": "manual"}},
        "/v1/tasks/{task_id}": {"name": "renamed by an array"},
        "/v1/tasks/{task_id}/disable": {"reason": "array"},
        "/v1/tasks/{task_id}/runs": {"variables": {"x": "1"}},
        "/v1/runs/{run_id}/reply": {"reply": "array"},
        "/v1/schedules/preview": {"schedule": {"type": "manual"}},
        "/v1/schedules/parse": {"text": "every weekday at 9am"},
    }[path]
    response = fuzzer.call(method, _concrete(path, ids), [valid, {"ignored": True}, 12345])
    assert response.status_code == 422, (response.status_code, response.text)


@pytest.mark.parametrize("path", ["/v1/tasks/{task_id}/disable", "/v1/tasks/{task_id}/runs"])
def test_an_optional_body_sent_as_null_is_a_422(fuzzer: FuzzTarget, path: str) -> None:
    """The document offers a plain optional object: leave it out, or send an object."""
    response = fuzzer.call("POST", _concrete(path, real_ids(fuzzer)), None)
    assert response.status_code in (200, 202), response.text
    raw = requests.post(
        fuzzer.stack.api_url + _concrete(path, real_ids(fuzzer)),
        data="null",
        headers={**fuzzer.headers, "Content-Type": "application/json"},
        timeout=30,
    )
    assert raw.status_code == 422, (raw.status_code, raw.text)


def test_patch_fields_documented_as_nullable_accept_null(fuzzer: FuzzTarget) -> None:
    properties = fuzzer.document["components"]["schemas"]["TaskPatch"]["properties"]
    ids = real_ids(fuzzer)
    refused = []
    for name in ["name", "prompt", "schedule", "policies", "agent", "variables", "tags"]:
        nullable = any(option.get("type") == "null" for option in properties[name].get("anyOf", []))
        response = fuzzer.call("PATCH", f"/v1/tasks/{ids.task_ids[0]}", {name: None})
        if nullable and response.status_code == 422:
            refused.append(name)
    assert refused == []


@pytest.mark.parametrize("since", ["1795309860", "7.151082605634369e%2B16", "0"])
def test_since_is_only_an_iso_8601_instant(fuzzer: FuzzTarget, since: str) -> None:
    response = fuzzer.call("GET", f"/v1/runs?since={since}")
    assert response.status_code == 422, (response.status_code, response.text)
