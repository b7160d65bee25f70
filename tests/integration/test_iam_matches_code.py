"""Each function's role grants exactly the AWS actions its code performs.

The calls are recorded, not listed by hand: every botocore API call made
while a handler serves a representative workload is captured, mapped to the
IAM actions it needs, and compared with the role the SAM template gives the
function (translated offline to CloudFormation)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from agentcron import bootstrap, webhook_signatures
from agentcron.artifacts import Reports, Transcripts
from agentcron.models import RunStatus, Usage
from agentcron.store import Store
from agentcron_local.gateway import LambdaContext, load_function_handler
from botocore.client import BaseClient

from tests.infrastructure import iam
from tests.integration.conftest import ApiClient, cron_task

# API call → the IAM actions it needs, and the template resource it touches.
# TransactWriteItems has no action of its own: each item needs its own.
ACTIONS_OF_CALL: dict[tuple[str, str], tuple[set[str], str]] = {
    ("dynamodb", "GetItem"): ({"dynamodb:GetItem"}, "Table"),
    ("dynamodb", "PutItem"): ({"dynamodb:PutItem"}, "Table"),
    ("dynamodb", "UpdateItem"): ({"dynamodb:UpdateItem"}, "Table"),
    ("dynamodb", "Query"): ({"dynamodb:Query"}, "Table"),
    ("dynamodb", "TransactWriteItems"): ({"dynamodb:PutItem", "dynamodb:UpdateItem"}, "Table"),
    ("sqs", "SendMessage"): ({"sqs:SendMessage"}, "RunQueue"),
    ("sqs", "SendMessageBatch"): ({"sqs:SendMessage"}, "RunQueue"),
    ("events", "PutEvents"): ({"events:PutEvents"}, "EventBus"),
    ("s3", "GetObject"): ({"s3:GetObject"}, "ArtifactsBucket"),
    ("s3", "PutObject"): ({"s3:PutObject"}, "ArtifactsBucket"),
    ("dynamodb", "DeleteItem"): ({"dynamodb:DeleteItem"}, "Table"),
    ("kms", "Encrypt"): ({"kms:Encrypt"}, "ConnectorSecretsKey"),
    ("kms", "Decrypt"): ({"kms:Decrypt"}, "ConnectorSecretsKey"),
    ("lambda", "Invoke"): ({"lambda:InvokeFunction"}, "RunnerFunctionAliaslive"),
}
# Granted to every function for the platform, not called by its code.
PLATFORM_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords"}


class CallRecorder:
    """Observes (never alters) every botocore call while `recording` is on."""

    def __init__(self) -> None:
        self.calls: set[tuple[str, str]] = set()
        self.recording = True

    @contextmanager
    def paused(self) -> Iterator[None]:
        self.recording = False
        try:
            yield
        finally:
            self.recording = True


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> CallRecorder:
    recorder = CallRecorder()
    original = BaseClient._make_api_call

    def recording(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        if recorder.recording:
            recorder.calls.add((self.meta.service_model.service_name, operation_name))
        return original(self, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", recording)
    return recorder


def granted_actions(cfn: dict[str, Any], function_id: str) -> set[str]:
    return {action for action, _ in iam.function_permissions(cfn, function_id)}


def assert_role_matches(cfn: dict[str, Any], function_id: str, calls: set[tuple[str, str]]) -> None:
    unknown = calls - set(ACTIONS_OF_CALL)
    assert not unknown, f"map these calls to IAM actions in ACTIONS_OF_CALL: {unknown}"
    needed: set[str] = set()
    for call in calls:
        actions, resource = ACTIONS_OF_CALL[call]
        for action in actions:
            assert iam.role_allows(cfn, function_id, action, resource), f"{function_id} lacks {action} on {resource}"
        needed |= actions
    extra = granted_actions(cfn, function_id) - needed - PLATFORM_ACTIONS
    assert not extra, f"{function_id} is granted actions its code never performs: {sorted(extra)}"


def test_api_role_is_exactly_what_the_api_calls(
    api: ApiClient,
    store: Store,
    aws_env: dict[str, str],
    cfn: dict[str, Any],
    recorder: CallRecorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As the template names it (read when the API's root is first built, below).
    monkeypatch.setenv("RUNNER_FUNCTION_NAME", "agentcron-test-RunnerFunction")
    soon = (datetime.now(UTC) + timedelta(seconds=30)).isoformat()
    task = api.post("/v1/tasks", cron_task(), headers={"idempotency-key": "k1"}).json
    api.post("/v1/tasks", cron_task(), headers={"idempotency-key": "k1"})
    api.post("/v1/tasks", cron_task(schedule={"type": "once", "at": soon}))  # claimed at once
    api.get("/v1/tasks?tag=ops")
    api.get(f"/v1/tasks/{task['id']}")
    api.patch(f"/v1/tasks/{task['id']}", {"name": "renamed"}, headers={"if-match": '"1"'})
    run = api.post(f"/v1/tasks/{task['id']}/runs", headers={"idempotency-key": "r1"}).json
    api.get(f"/v1/tasks/{task['id']}/runs")
    api.get("/v1/runs?status=QUEUED")
    api.get(f"/v1/runs/{run['id']}")
    api.get(f"/v1/tasks/{task['id']}/stats")
    assert api.get(f"/v1/tasks/{task['id']}/history").json["items"], "edits are recorded"
    api.get("/v1/tasks/due")
    assert api.post("/v1/tasks/execute-due").status == 200
    trigger = api.post(f"/v1/tasks/{task['id']}/triggers").json
    api.get(f"/v1/tasks/{task['id']}/triggers")
    secret = api.post(f"/v1/triggers/{trigger['id']}/rotate").json["secret"]
    body, stamp = json.dumps({"a": 1}), int(time.time())
    signature = webhook_signatures.signed_headers(secret, "m1", stamp, body.encode())
    assert api.request("POST", f"/v1/hooks/{trigger['id']}", user=None, raw_body=body, headers=signature).status == 202
    assert api.delete(f"/v1/triggers/{trigger['id']}").status == 204
    assert api.get("/v1/templates").json["items"]
    with recorder.paused():  # the runner's doing, not the API's
        key = Transcripts(aws_env["ARTIFACTS_BUCKET"]).save(task["id"], run["id"], [], Usage())
        report = Reports(aws_env["ARTIFACTS_BUCKET"]).save(task["id"], run["id"], "markdown", b"# report")
        store.transition_run(
            "alice",
            run["id"],
            from_statuses={RunStatus.QUEUED},
            to_status=RunStatus.WAITING_INPUT,
            fields={"transcript_key": key, "question": "?", "report_key": report, "report_format": "markdown"},
        )
    assert api.get(f"/v1/runs/{run['id']}/transcript").json == {"run_id": run["id"], "messages": []}
    assert api.get(f"/v1/runs/{run['id']}/report").content == b"# report"
    api.post(f"/v1/runs/{run['id']}/reply", {"reply": "yes"})
    api.post(f"/v1/runs/{run['id']}/cancel")
    api.post(f"/v1/tasks/{task['id']}/disable", {"reason": "x"})
    api.post(f"/v1/tasks/{task['id']}/enable")
    api.delete(f"/v1/tasks/{task['id']}")
    api.post("/v1/schedules/preview", {"schedule": {"type": "manual"}})
    api.post("/v1/schedules/parse", {"text": "every weekday at 9am", "timezone": "Europe/Berlin"})
    conversation = api.post("/v1/conversations", {"message": "hello"}, headers={"idempotency-key": "c1"}).json
    base = f"/v1/conversations/{conversation['id']}"
    assert api.post(f"{base}/messages", {"text": "again"}, headers={"idempotency-key": "m1"}).status == 202
    api.post(f"{base}/messages", {"text": "again"}, headers={"idempotency-key": "m1"})
    api.get("/v1/conversations?status=active")
    api.get(f"{base}/messages")
    api.post(f"{base}/archive")
    key = api.post("/v1/api-keys", {"name": "script"}).json
    api.get("/v1/api-keys")
    assert api.delete(f"/v1/api-keys/{key['id']}").status == 204
    connector = api.post(
        "/v1/connectors",
        {"name": "mail", "url": "https://mcp.example.com/mcp", "auth": {"type": "bearer", "token": "t"}},
    ).json
    api.get("/v1/connectors")
    api.patch(f"/v1/connectors/{connector['id']}", {"name": "mail2"})
    # The runner is asked to test it (no runner function here: the test says it could not run).
    assert api.post(f"/v1/connectors/{connector['id']}/test").json["ok"] is False
    api.delete(f"/v1/connectors/{connector['id']}")
    assert {("dynamodb", "TransactWriteItems"), ("kms", "Encrypt"), ("lambda", "Invoke")} <= recorder.calls
    assert_role_matches(cfn, "ApiFunction", recorder.calls)


def test_dispatcher_role_is_exactly_what_the_dispatcher_calls(
    api: ApiClient, store: Store, cfn: dict[str, Any], recorder: CallRecorder
) -> None:
    with recorder.paused():
        task = api.post("/v1/tasks", cron_task()).json
        # Make it due now, as time passing would.
        store.table.update_item(
            Key={"PK": f"TASK#{task['id']}", "SK": "TASK"},
            UpdateExpression="SET next_run_at = :due",
            ExpressionAttributeValues={":due": int(datetime.now(UTC).timestamp()) - 5},
        )
    bootstrap.reset()
    handler = load_function_handler("dispatcher")
    tick = json.loads(Path("events/dispatcher-tick.json").read_text())
    assert handler(tick, LambdaContext(function_name="dispatcher"))["status"] == "ticked"
    run_task = json.loads(Path("events/dispatcher-run-task.json").read_text())
    run_task["detail"].update(task_id=task["id"], owner="alice")
    assert handler(run_task, LambdaContext(function_name="dispatcher"))["status"] == "queued"
    assert ("dynamodb", "TransactWriteItems") in recorder.calls
    assert_role_matches(cfn, "DispatcherFunction", recorder.calls)


def test_authorizer_role_is_exactly_what_the_authorizer_calls(
    api: ApiClient, cfn: dict[str, Any], recorder: CallRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An API key is read by its hash and its last use written: GetItem and UpdateItem, nothing else."""
    with recorder.paused():
        created = api.post("/v1/api-keys", {"name": "ci"}).json
    # Never fetched: the issuer's keys are read only for a JWT.
    monkeypatch.setenv("JWT_ISSUER", "https://issuer.invalid")
    monkeypatch.setenv("JWT_AUDIENCES", "client")
    bootstrap.reset()
    handler = load_function_handler("authorizer")
    event = {"version": "2.0", "type": "REQUEST", "headers": {"authorization": f"Bearer {created['key']}"}}
    answer = handler(event, LambdaContext(function_name="authorizer"))
    assert answer == {"isAuthorized": True, "context": {"sub": "alice", "auth": "api_key", "key_id": created["id"]}}
    assert recorder.calls == {("dynamodb", "GetItem"), ("dynamodb", "UpdateItem")}
    assert_role_matches(cfn, "AuthorizerFunction", recorder.calls)
