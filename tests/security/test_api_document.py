"""The OpenAPI document tells the truth, and /v1/docs shows exactly that document.

The document is read from the local stack (``GET /v1/openapi.json``) as a
client would; statuses are checked against the errors each route's code can
raise (tests/security/raised_errors.py), headers and constraints against real
answers, and the whole document against Spectral (spectral:oas) and Redocly
(recommended-strict), installed from tools/openapi-lint's lock file.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import requests
from agentcron_local import tokens
from agentcron_local.stack import LocalStack

from tests.security.raised_errors import ROOT, route_errors

LINT_TOOLS = ROOT / "tools" / "openapi-lint"
OPERATION_ID = re.compile(r"^[a-z][A-Za-z]+$")


@pytest.fixture(scope="module")
def document(api_stack: LocalStack) -> dict[str, Any]:
    response = requests.get(f"{api_stack.api_url}/v1/openapi.json", timeout=30)
    assert response.status_code == 200
    return dict(response.json())


@pytest.fixture(scope="module")
def headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens.issue_token('document-reader')}"}


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, ops in document["paths"].items() for method, op in ops.items()]


def test_every_status_a_route_can_raise_is_documented_as_problem_json(document: dict[str, Any]) -> None:
    routes = list(route_errors())
    assert {(r.method, r.path) for r in routes} == {(m, p) for m, p, _ in operations(document)}
    missing = []
    for route in routes:
        responses = document["paths"][route.path][route.method]["responses"]
        for status in sorted(route.statuses):
            documented = responses.get(str(status), {}).get("content", {})
            if "application/problem+json" not in documented:
                missing.append(f"{route.method.upper()} {route.path}: {status}")
    assert missing == [], missing


def test_the_error_reading_follows_routes_into_the_core() -> None:
    """The analysis the test above relies on sees errors raised deep in the store."""
    statuses = {(r.method, r.path): r.statuses for r in route_errors()}
    assert statuses[("patch", "/v1/tasks/{task_id}")] >= {401, 404, 409, 412, 422}
    assert statuses[("get", "/v1/tasks")] >= {400, 401}
    assert statuses[("get", "/v1/health")] == set()


def test_refusals_before_the_function_are_documented_in_api_gateways_shape(
    document: dict[str, Any], api_stack: LocalStack
) -> None:
    response = requests.get(f"{api_stack.api_url}/v1/tasks", timeout=10)
    assert response.status_code == 401 and response.json() == {"message": "Unauthorized"}
    # A token the Lambda authorizer refuses: API Gateway's 403, as the document says.
    refused = requests.get(f"{api_stack.api_url}/v1/tasks", headers={"Authorization": "Bearer x.y.z"}, timeout=10)
    assert refused.status_code == 403 and refused.json() == {"message": "Forbidden"}
    for method, path, operation in operations(document):
        responses = operation["responses"]
        assert "application/json" in responses["429"]["content"], (method, path)
        if operation.get("security") != []:
            assert set(responses["401"]["content"]) == {"application/json", "application/problem+json"}
            assert set(responses["403"]["content"]) == {"application/json"}, (method, path)
        else:
            assert "403" not in responses, (method, path)
        if "requestBody" in operation:
            assert {"413", "415"} <= set(responses), (method, path)


def test_every_operation_has_a_readable_id_summary_description_and_declared_tag(document: dict[str, Any]) -> None:
    declared_tags = {tag["name"] for tag in document["tags"]}
    assert all(tag.get("description") for tag in document["tags"])
    ids = [operation["operationId"] for _, _, operation in operations(document)]
    assert len(set(ids)) == len(ids)
    for method, path, operation in operations(document):
        assert OPERATION_ID.match(operation["operationId"]), (method, path, operation["operationId"])
        assert operation["summary"] and operation["description"], (method, path)
        assert set(operation["tags"]) <= declared_tags, (method, path)
    assert {"createTask", "listTaskRuns", "runTaskNow", "getHealth", "replyToRun"} <= set(ids)
    assert document["info"]["contact"] and document["info"]["license"]["identifier"] == "MIT"


def test_optional_bodies_are_plain_optional_objects(document: dict[str, Any]) -> None:
    for path, model in [
        ("/v1/tasks/{task_id}/disable", "DisableRequest"),
        ("/v1/tasks/{task_id}/runs", "RunNowRequest"),
    ]:
        body = document["paths"][path]["post"]["requestBody"]
        assert body["required"] is False
        assert body["content"]["application/json"]["schema"] == {"$ref": f"#/components/schemas/{model}"}


def test_a_run_now_and_a_disable_without_a_body_are_accepted(api_stack: LocalStack, headers: dict[str, str]) -> None:
    task = requests.post(
        f"{api_stack.api_url}/v1/tasks",
        json={"name": "bodiless", "prompt": "p", "schedule": {"type": "manual"}},
        headers=headers,
        timeout=30,
    ).json()
    run = requests.post(f"{api_stack.api_url}/v1/tasks/{task['id']}/runs", headers=headers, timeout=30)
    paused = requests.post(f"{api_stack.api_url}/v1/tasks/{task['id']}/disable", headers=headers, timeout=30)
    assert (run.status_code, paused.status_code) == (202, 200), (run.text, paused.text)


def test_documented_headers_are_the_ones_sent(
    document: dict[str, Any], api_stack: LocalStack, headers: dict[str, str]
) -> None:
    created = requests.post(
        f"{api_stack.api_url}/v1/tasks",
        json={"name": "headers", "prompt": "p", "schedule": {"type": "manual"}},
        headers={**headers, "Idempotency-Key": "document-headers"},
        timeout=30,
    )
    replayed = requests.post(
        f"{api_stack.api_url}/v1/tasks",
        json={"name": "headers", "prompt": "p", "schedule": {"type": "manual"}},
        headers={**headers, "Idempotency-Key": "document-headers"},
        timeout=30,
    )
    documented = document["paths"]["/v1/tasks"]["post"]["responses"]["201"]["headers"]
    assert set(documented) == {"Location", "ETag", "Idempotent-Replayed"}
    assert created.headers["Location"] == f"/v1/tasks/{created.json()['id']}"
    etag = document["components"]["headers"]["ETag"]["schema"]["pattern"]
    assert re.match(etag, created.headers["ETag"]), created.headers["ETag"]
    assert "Idempotent-Replayed" not in created.headers and replayed.headers["Idempotent-Replayed"] == "true"
    got = requests.get(f"{api_stack.api_url}/v1/tasks/{created.json()['id']}", headers=headers, timeout=30)
    assert "ETag" in document["paths"]["/v1/tasks/{task_id}"]["get"]["responses"]["200"]["headers"]
    assert got.headers["ETag"] == created.headers["ETag"]


def _schema_of(document: dict[str, Any], name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}", "components": document["components"]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "n", "prompt": "p", "schedule": {"type": "cron", "expression": ""}}, "body.schedule.expression"),
        ({"name": "n", "prompt": "p", "schedule": {"type": "manual"}, "variables": {"9x": "v"}}, "body.variables"),
    ],
    ids=["empty-cron-expression", "variable-key-not-a-name"],
)
def test_the_schema_refuses_what_the_server_refuses(
    document: dict[str, Any], api_stack: LocalStack, headers: dict[str, str], body: dict[str, Any], field: str
) -> None:
    assert not jsonschema_rs.validator_for(_schema_of(document, "TaskCreate")).is_valid(body)
    response = requests.post(f"{api_stack.api_url}/v1/tasks", json=body, headers=headers, timeout=30)
    assert response.status_code == 422
    assert any(error["field"].startswith(field) for error in response.json()["errors"]), response.text


@pytest.mark.parametrize(
    ("path", "method", "name", "good", "bad"),
    [
        ("/v1/tasks/{task_id}", "patch", "if-match", '"3"', "three"),
        ("/v1/tasks", "get", "cursor", "eyJQSyI6IngifQ", "not a cursor!"),
        ("/v1/tasks/{task_id}", "get", "task_id", "task_01KBGRDS0N1M2S5V3YJ6ZK8Q7W", "../x"),
    ],
)
def test_parameter_formats_are_documented(
    document: dict[str, Any], path: str, method: str, name: str, good: str, bad: str
) -> None:
    [parameter] = [p for p in document["paths"][path][method]["parameters"] if p["name"] == name]
    validator = jsonschema_rs.validator_for(parameter["schema"])
    assert validator.is_valid(good) and not validator.is_valid(bad)


def _embedded_document(page: str) -> Any:
    start = page.index("spec: ") + len("spec: ")
    text = page[start:].replace("<\\/", "</")
    value, _ = json.JSONDecoder().raw_decode(text)
    return value


def test_the_swagger_page_shows_exactly_the_served_document(document: dict[str, Any], api_stack: LocalStack) -> None:
    page = requests.get(f"{api_stack.api_url}/v1/docs", timeout=30)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<script src=" not in page.text, "Swagger UI is inlined: the page works offline"
    assert _embedded_document(page.text) == document


def _lint(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    binary = LINT_TOOLS / "node_modules" / ".bin" / tool
    assert binary.exists(), f"{binary} is missing: `make openapi-lint-tools` installs it (npm ci)"
    return subprocess.run(
        [str(binary), *args], capture_output=True, text=True, cwd=LINT_TOOLS, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def document_file(document: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("openapi") / "openapi.json"
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return path


def test_spectral_finds_no_error_and_no_warning(document_file: Path) -> None:
    result = _lint("spectral", "lint", "--ruleset", ".spectral.yaml", "--format", "json", "--quiet", str(document_file))
    findings = json.loads(result.stdout or "[]")
    print(f"\nspectral: {len(findings)} findings")
    assert findings == [], result.stdout
    assert result.returncode == 0, result.stderr


def test_redocly_finds_no_error_and_no_warning(document_file: Path) -> None:
    result = _lint("redocly", "lint", "--config", "redocly.yaml", "--format", "json", str(document_file))
    report = json.loads(result.stdout)
    totals = report["totals"]
    print(f"\nredocly: {totals}")
    assert (totals["errors"], totals["warnings"]) == (0, 0), result.stdout
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/v1/tasks", "GET, POST"),
        ("PUT", "/v1/tasks/due", "GET"),
        ("PUT", "/v1/tasks/task_01KBGRDS0N1M2S5V3YJ6ZK8Q7W", "DELETE, GET, PATCH"),
        ("DELETE", "/v1/health", "GET"),
    ],
)
def test_a_method_a_path_does_not_take_is_a_405_naming_those_it_does(
    api_stack: LocalStack, headers: dict[str, str], method: str, path: str, allow: str
) -> None:
    response = requests.request(method, api_stack.api_url + path, headers=headers, timeout=30)
    assert response.status_code == 405, response.text
    assert response.headers["Allow"] == allow
    assert response.headers["content-type"] == "application/problem+json"
    assert requests.put(f"{api_stack.api_url}/v1/nothing", headers=headers, timeout=30).status_code == 404
