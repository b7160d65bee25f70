"""Owner isolation (BOLA): user B against every one of user A's resources.

Through the real API handler (the ``api`` fixture builds the API Gateway v2
event the JWT authorizer would pass on, with B's ``sub``). Every request of B
must answer 404 exactly as for an id that does not exist, and A's task, runs,
listings and raw table items must be byte-for-byte what they were before.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from agentcron.artifacts import Reports, Transcripts
from agentcron.ids import (
    chat_task_id,
    manual_run_id,
    new_api_key_id,
    new_connector_id,
    new_conversation_id,
    new_task_id,
    new_trigger_id,
    scheduled_run_id,
)
from agentcron.models import RunStatus, Usage
from agentcron.store import Store
from boto3.dynamodb.conditions import Key

from tests.integration.conftest import ApiClient, ApiResponse, cron_task

ALICE, BOB = "alice", "bob"


@dataclass
class Victim:
    """Alice's resources: an enabled and a paused task, and runs in each interesting state."""

    task_id: str
    paused_task_id: str
    queued_run_id: str
    waiting_run_id: str
    finished_run_id: str  # SUCCEEDED, with a transcript and a report in S3
    conversation_id: str  # with a first message and its chat turn queued
    api_key_id: str
    connector_id: str  # with a bearer secret
    trigger_id: str  # a webhook trigger of the enabled task

    @property
    def conversation_ids(self) -> list[str]:
        return [self.conversation_id]

    @property
    def chat_task_id(self) -> str:
        return chat_task_id(self.conversation_id)

    @property
    def task_ids(self) -> list[str]:
        return [self.task_id, self.paused_task_id]

    @property
    def run_ids(self) -> list[str]:
        return [self.queued_run_id, self.waiting_run_id, self.finished_run_id]


def ok(response: ApiResponse, status: int = 200) -> Any:
    assert response.status == status, response.text
    return response.json


@pytest.fixture
def victim(api: ApiClient, store: Store, aws_env: dict[str, str]) -> Victim:
    task = ok(api.post("/v1/tasks", cron_task(name="alice's", tags=["secret"]), user=ALICE), 201)
    paused = ok(api.post("/v1/tasks", cron_task(name="alice's paused"), user=ALICE), 201)
    ok(api.post(f"/v1/tasks/{paused['id']}/disable", {"reason": "holiday"}, user=ALICE))
    runs = [ok(api.post(f"/v1/tasks/{task['id']}/runs", {}, user=ALICE), 202)["id"] for _ in range(3)]
    queued, waiting, finished = runs
    # Park one run as the runner does when the agent asks a question ...
    store.transition_run(
        ALICE,
        waiting,
        from_statuses={RunStatus.QUEUED},
        to_status=RunStatus.WAITING_INPUT,
        fields={"question": "Which region?"},
    )
    # ... and finish another, with its transcript in S3 (the runner's way of linking it).
    key = Transcripts(aws_env["ARTIFACTS_BUCKET"]).save(
        task["id"], finished, [{"role": "user", "content": "alice's private prompt"}], Usage(input_tokens=3)
    )
    report = Reports(aws_env["ARTIFACTS_BUCKET"]).save(
        task["id"], finished, "json", json.dumps({"output": "alice's private output"}).encode()
    )
    store.transition_run(
        ALICE,
        finished,
        from_statuses={RunStatus.QUEUED},
        to_status=RunStatus.SUCCEEDED,
        fields={
            "output": "alice's private output",
            "transcript_key": key,
            "report_key": report,
            "report_format": "json",
            "duration_ms": 1200,
        },
    )
    assert ok(api.get(f"/v1/runs/{finished}/transcript", user=ALICE))["messages"]
    assert ok(api.get(f"/v1/runs/{finished}/report", user=ALICE)) == {"output": "alice's private output"}
    conversation = ok(api.post("/v1/conversations", {"message": "alice's private chat"}, user=ALICE), 201)
    key = ok(api.post("/v1/api-keys", {"name": "alice's script"}, user=ALICE), 201)
    connector = ok(
        api.post(
            "/v1/connectors",
            {"name": "alicemail", "url": "https://mcp.example.com/mcp", "auth": {"type": "bearer", "token": "s3cret"}},
            user=ALICE,
        ),
        201,
    )
    trigger = ok(api.post(f"/v1/tasks/{task['id']}/triggers", user=ALICE), 201)
    return Victim(
        task["id"],
        paused["id"],
        queued,
        waiting,
        finished,
        conversation["id"],
        key["id"],
        connector["id"],
        trigger["id"],
    )


def snapshot(api: ApiClient, store: Store, victim: Victim) -> dict[str, Any]:
    """Everything Alice can see, plus the raw items of her task partitions."""
    seen: dict[str, Any] = {}
    for path in [
        "/v1/tasks",
        "/v1/runs",
        "/v1/tasks/due?within=86400",
        *[f"/v1/tasks/{t}" for t in victim.task_ids],
        *[f"/v1/tasks/{t}/runs" for t in victim.task_ids],
        *[f"/v1/tasks/{t}/stats" for t in victim.task_ids],
        *[f"/v1/tasks/{t}/history" for t in victim.task_ids],
        *[f"/v1/runs/{r}" for r in victim.run_ids],
        f"/v1/runs/{victim.finished_run_id}/transcript",
        f"/v1/runs/{victim.finished_run_id}/report",
        "/v1/conversations",
        "/v1/api-keys",
        "/v1/connectors",
        f"/v1/connectors/{victim.connector_id}",
        *[f"/v1/tasks/{t}/triggers" for t in victim.task_ids],
        *[f"/v1/conversations/{c}" for c in victim.conversation_ids],
        *[f"/v1/conversations/{c}/messages" for c in victim.conversation_ids],
    ]:
        response = api.get(path, user=ALICE)
        seen[path] = (response.status, response.headers.get("etag"), response.json)
    partitions = [f"TASK#{t}" for t in victim.task_ids] + [f"CONV#{c}" for c in victim.conversation_ids]
    for partition in partitions:
        items = store.table.query(KeyConditionExpression=Key("PK").eq(partition), ConsistentRead=True)
        seen[f"items:{partition}"] = sorted(items["Items"], key=lambda item: str(item["SK"]))
    return seen


# Routes that take none of an owner's ids (the listings are the next tests' business).
PUBLIC_ROUTES = {
    ("GET", "/v1/tasks"),
    ("POST", "/v1/tasks"),
    ("GET", "/v1/conversations"),
    ("POST", "/v1/conversations"),
    ("GET", "/v1/api-keys"),
    ("POST", "/v1/api-keys"),
    ("GET", "/v1/connectors"),
    ("POST", "/v1/connectors"),
    ("GET", "/v1/tasks/due"),
    ("POST", "/v1/tasks/execute-due"),
    ("GET", "/v1/runs"),
    ("POST", "/v1/schedules/preview"),
    ("POST", "/v1/schedules/parse"),
    ("GET", "/v1/tools"),
    ("GET", "/v1/templates"),
    # No token: the delivery's signature is its credential (tests/integration/test_webhook_triggers.py).
    ("POST", "/v1/hooks/<trigger_id>"),
    ("GET", "/v1/health"),
    ("GET", "/v1/openapi.json"),
    ("GET", "/v1/docs"),
}
# (query, body, headers) per owner-scoped route: the requests that reach further than a bare one
# (an edit, a guessed version, an idempotent retry). Any other route is attacked with a bare request.
BARE: list[tuple[str, Any, dict[str, str]]] = [("", None, {})]
VARIANTS: dict[tuple[str, str], list[tuple[str, Any, dict[str, str]]]] = {
    ("PATCH", "/v1/tasks/<task_id>"): [
        ("", {"name": "mine now", "prompt": "leak: {{team}}"}, {}),
        ("", {"name": "mine now"}, {"if-match": '"1"'}),
        ("", {"agent": {"tools": ["web_fetch"]}}, {"if-match": '"2"'}),
    ],
    ("DELETE", "/v1/tasks/<task_id>"): [("", None, {}), ("", None, {"if-match": '"1"'})],
    ("POST", "/v1/tasks/<task_id>/disable"): [("", {"reason": "bob was here"}, {}), ("", None, {})],
    ("POST", "/v1/tasks/<task_id>/runs"): [
        ("", {}, {}),
        ("", {"variables": {"team": "bob"}}, {"idempotency-key": "bob-1"}),
    ],
    ("GET", "/v1/tasks/<task_id>/runs"): [("", None, {}), ("?status=QUEUED&limit=100", None, {})],
    ("GET", "/v1/tasks/<task_id>/history"): [("", None, {}), ("?limit=100", None, {})],
    ("POST", "/v1/runs/<run_id>/reply"): [("", {"reply": "eu-west-1"}, {})],
    ("POST", "/v1/conversations/<conversation_id>/messages"): [
        ("", {"text": "pause all of alice's tasks"}, {}),
        ("", {"text": "hi"}, {"idempotency-key": "bob-1"}),
    ],
    ("GET", "/v1/conversations/<conversation_id>/messages"): [("", None, {}), ("?limit=200", None, {})],
    ("PATCH", "/v1/connectors/<connector_id>"): [("", {"name": "bobsmail"}, {})],
}


def app_routes(api_module: Any) -> list[tuple[str, str]]:
    """(method, path) of every route the API's resolver has registered (Powertools keeps no public list)."""
    resolver = api_module["app"]
    return [(route.method, route.path) for route in [*resolver._static_routes, *resolver._dynamic_routes]]


ID_PLACEHOLDERS = {
    "<task_id>": lambda victim: victim.task_ids,
    "<run_id>": lambda victim: victim.run_ids,
    "<conversation_id>": lambda victim: victim.conversation_ids,
    "<key_id>": lambda victim: [victim.api_key_id],
    "<connector_id>": lambda victim: [victim.connector_id],
    "<trigger_id>": lambda victim: [victim.trigger_id],
}


def attacks(victim: Victim, routes: list[tuple[str, str]]) -> list[tuple[str, str, Any, dict[str, str]]]:
    """(method, path, body, headers) of every route that takes one of Alice's ids."""
    out: list[tuple[str, str, Any, dict[str, str]]] = []
    for method, route in routes:
        if (method, route) in PUBLIC_ROUTES:
            continue
        placeholder = next((p for p in ID_PLACEHOLDERS if p in route), None)
        assert placeholder, f"{method} {route} takes no owner's id and is not listed in PUBLIC_ROUTES"
        for resource_id in ID_PLACEHOLDERS[placeholder](victim):
            path = route.replace(placeholder, resource_id)
            out += [
                (method, path + query, body, headers) for query, body, headers in VARIANTS.get((method, route), BARE)
            ]
    return out


def test_every_route_is_owner_scoped_or_listed_public(api_module: Any) -> None:
    routes = set(app_routes(api_module))
    assert routes >= PUBLIC_ROUTES and set(VARIANTS) <= routes
    assert all(any(p in path for p in ID_PLACEHOLDERS) for method, path in routes - PUBLIC_ROUTES)


def forged_run_ids(victim: Victim) -> list[str]:
    """Run ids that name Alice's task but no run of hers (well-formed, so they reach the table)."""
    now = int(datetime.now(UTC).timestamp())
    return [
        scheduled_run_id(victim.task_id, now),
        scheduled_run_id(victim.task_id, 1_800_000_000),
        manual_run_id(victim.task_id, now),
        victim.queued_run_id[:-1] + ("0" if victim.queued_run_id[-1] != "0" else "1"),
        scheduled_run_id(victim.paused_task_id, 0),
    ]


def _same_as_missing(response: ApiResponse, real_id: str, missing: ApiResponse, missing_id: str) -> None:
    """B learns nothing: the answer is the one for an id that does not exist."""
    assert response.status == 404, f"{response.status}: {response.text}"
    assert response.headers.get("content-type") == "application/problem+json"
    assert response.json["detail"].replace(real_id, "<id>") == missing.json["detail"].replace(missing_id, "<id>")
    assert set(response.headers) - {"content-length"} == set(missing.headers) - {"content-length"}


def test_bob_gets_404_on_every_route_for_alices_resources_and_nothing_changes(
    api: ApiClient, store: Store, victim: Victim, api_module: Any
) -> None:
    before = snapshot(api, store, victim)
    ghost_task, ghost_run = new_task_id(), scheduled_run_id(new_task_id(), 1_800_000_000)
    ghost_conversation, ghost_key = new_conversation_id(), new_api_key_id()
    tried = 0
    for method, path, body, headers in attacks(victim, app_routes(api_module)):
        response = api.request(method, path, user=BOB, json_body=body, headers=headers)
        real_ids = [
            *victim.task_ids,
            *victim.run_ids,
            *victim.conversation_ids,
            victim.api_key_id,
            victim.connector_id,
            victim.trigger_id,
        ]
        real_id = next(i for i in real_ids if i in path)
        ghosts = {"task": ghost_task, "run": ghost_run, "conv": ghost_conversation, "key": ghost_key}
        ghost = {**ghosts, "conn": new_connector_id(), "trg": new_trigger_id(new_task_id())}[real_id.split("_")[0]]
        missing = api.request(method, path.replace(real_id, ghost), user=BOB, json_body=body, headers=headers)
        assert missing.status == 404, (method, path, missing.text)
        _same_as_missing(response, real_id, missing, ghost)
        tried += 1
    # 18 task requests (routes and their variants) x 2 tasks, 5 run routes x 3 runs,
    # 4 conversation routes (6 requests) x 1 conversation,
    # 1 key route x 1 key, 4 connector routes x 1 connector, 2 trigger routes x 1 trigger
    assert tried == 18 * 2 + 5 * 3 + 6 + 1 + 4 + 2
    assert snapshot(api, store, victim) == before, "a request of bob changed alice's data"


def test_forged_run_ids_naming_alices_task_are_404(api: ApiClient, store: Store, victim: Victim) -> None:
    before = snapshot(api, store, victim)
    for run_id in forged_run_ids(victim):
        for method, suffix, body in [
            ("GET", "", None),
            ("GET", "/transcript", None),
            ("GET", "/report", None),
            ("POST", "/reply", {"reply": "x"}),
            ("POST", "/cancel", None),
        ]:
            for user in (BOB, ALICE):  # not even Alice has these runs
                response = api.request(method, f"/v1/runs/{run_id}{suffix}", user=user, json_body=body)
                assert response.status == 404, (user, method, run_id, suffix, response.text)
    assert snapshot(api, store, victim) == before
    # No item was created by an update on a missing key (an upsert would leave a run without owner).
    assert (
        store.table.get_item(Key={"PK": f"TASK#{victim.task_id}", "SK": f"RUN#{forged_run_ids(victim)[1]}"}).get("Item")
        is None
    )


def test_bobs_listings_hold_nothing_of_alices(api: ApiClient, store: Store, victim: Victim) -> None:
    # A task of Alice's due within seconds: it is claimed by the API and counts as due.
    soon = (datetime.now(UTC) + timedelta(seconds=30)).replace(microsecond=0).isoformat()
    ok(api.post("/v1/tasks", cron_task(schedule={"type": "once", "at": soon}), user=ALICE), 201)
    assert ok(api.get("/v1/tasks/due", user=ALICE))["items"]
    for path in [
        "/v1/tasks",
        "/v1/tasks?tag=secret",
        "/v1/tasks?enabled=false",
        "/v1/tasks?schedule_type=cron",
        "/v1/tasks/due",
        "/v1/tasks/due?within=86400",
        "/v1/runs",
        "/v1/runs?status=WAITING_INPUT",
        "/v1/runs?status=SUCCEEDED",
        "/v1/runs?since=2000-01-01T00:00:00Z",
        "/v1/conversations",
        "/v1/conversations?status=active",
    ]:
        assert ok(api.get(path, user=BOB)) == {"items": [], "next_cursor": None}, path
    # A user whose name is a prefix of Alice's (or Alice's plus a separator) sees nothing either.
    for user in ["alic", "alice#", "alice#TASKS", "ALICE", "alice "]:
        assert ok(api.get("/v1/tasks", user=user))["items"] == [], user
        assert ok(api.get("/v1/runs", user=user))["items"] == [], user


def _cursor_keys(cursor: str) -> dict[str, str]:
    decoded: dict[str, str] = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    return decoded


def _encode(keys: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(keys).encode()).decode().rstrip("=")


def test_alices_cursors_are_refused_in_bobs_listings(api: ApiClient, victim: Victim) -> None:
    bob_task = ok(api.post("/v1/tasks", cron_task(name="bob's"), user=BOB), 201)
    for _ in range(2):
        ok(api.post(f"/v1/tasks/{bob_task['id']}/runs", {}, user=BOB), 202)
    alice_cursors = {
        "/v1/tasks": ok(api.get("/v1/tasks?limit=1", user=ALICE))["next_cursor"],
        "/v1/runs": ok(api.get("/v1/runs?limit=1", user=ALICE))["next_cursor"],
        f"/v1/tasks/{bob_task['id']}/runs": ok(api.get(f"/v1/tasks/{victim.task_id}/runs?limit=1", user=ALICE))[
            "next_cursor"
        ],
    }
    for path, cursor in alice_cursors.items():
        assert cursor, path
        for listing in ["/v1/tasks", "/v1/runs", f"/v1/tasks/{bob_task['id']}/runs"]:
            response = api.get(f"{listing}?cursor={cursor}", user=BOB)
            assert response.status == 400, (path, listing, response.text)
            assert "cursor" in response.json["detail"]

    # A cursor Bob forges from his own by swapping in Alice's partition is refused too.
    own = _cursor_keys(ok(api.get("/v1/runs?limit=1", user=BOB))["next_cursor"])
    forged = {**own, "GSI1PK": f"OWNER#{ALICE}#RUNS"}
    assert api.get(f"/v1/runs?cursor={_encode(forged)}", user=BOB).status == 400
    own_task_runs = _cursor_keys(ok(api.get(f"/v1/tasks/{bob_task['id']}/runs?limit=1", user=BOB))["next_cursor"])
    forged = {**own_task_runs, "PK": f"TASK#{victim.task_id}"}
    assert api.get(f"/v1/tasks/{bob_task['id']}/runs?cursor={_encode(forged)}", user=BOB).status == 400


def test_idempotency_keys_are_per_owner(api: ApiClient, victim: Victim) -> None:
    """The same Idempotency-Key from two owners makes two tasks, each its owner's."""
    body = cron_task(name="same body")
    first = ok(api.post("/v1/tasks", body, user=ALICE, headers={"idempotency-key": "k-1"}), 201)
    second = api.post("/v1/tasks", body, user=BOB, headers={"idempotency-key": "k-1"})
    assert second.status == 201, second.text
    assert second.json["id"] != first["id"] and "idempotent-replayed" not in second.headers
    assert api.get(f"/v1/tasks/{second.json['id']}", user=ALICE).status == 404
    # Run-now keys too.
    bob_task = second.json["id"]
    a_run = ok(api.post(f"/v1/tasks/{victim.task_id}/runs", {}, user=ALICE, headers={"idempotency-key": "r"}), 202)
    b_run = ok(api.post(f"/v1/tasks/{bob_task}/runs", {}, user=BOB, headers={"idempotency-key": "r"}), 202)
    assert a_run["id"] != b_run["id"] and b_run["task_id"] == bob_task


def test_idempotency_records_of_owners_whose_names_share_a_prefix_do_not_collide(api: ApiClient) -> None:
    body = cron_task(name="collide")
    ok(api.post("/v1/tasks", body, user="eve#x", headers={"idempotency-key": "k"}), 201)
    response = api.post("/v1/tasks", body, user="eve", headers={"idempotency-key": "x#k"})
    assert response.status == 201, response.text
    assert re.fullmatch(r"task_[0-9A-Z]{26}", response.json["id"])


def test_queued_messages_name_the_runs_true_owner(api: ApiClient, aws_env: dict[str, str], victim: Victim) -> None:
    """Run messages carry the owner; the runner trusts the run item, not the message,
    but the message must still name the run's true owner."""
    sqs = boto3.client("sqs")
    seen: list[dict[str, Any]] = []
    for _ in range(5):
        batch = sqs.receive_message(QueueUrl=aws_env["RUN_QUEUE_URL"], MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = batch.get("Messages", [])
        if not messages:
            break
        seen += [json.loads(m["Body"]) for m in messages]
    assert seen, "alice's run-now requests queued messages"
    for message in seen:
        # (Her conversation's first message queued a chat turn, a run of its own chat task.)
        assert message["owner"] == ALICE and message["task_id"] in [*victim.task_ids, victim.chat_task_id]
