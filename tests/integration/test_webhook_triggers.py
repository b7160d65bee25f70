"""Webhook triggers (issue 17) through the real API and runner handlers, the SDK and the fake
model: a signed POST starts a run whose prompt reads the event; unsigned, wrongly signed,
stale and replayed deliveries start nothing; bodies are bounded; a trigger's minute is
rate-limited; triggers are listed, rotated and deleted by their owner alone. Deliveries
are signed with the Standard Webhooks reference library, as a sender would."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from standardwebhooks.webhooks import Webhook

from tests.integration.conftest import ApiClient
from tests.integration.test_runner_harness import FINAL, Runner

pytest_plugins = ["tests.integration.test_runner_harness"]


def signed(secret: str, payload: Any, *, message_id: str | None = None, at: int | None = None) -> dict[str, Any]:
    """What a sender posts: the body as text and its Standard Webhooks headers."""
    body = json.dumps(payload)
    message_id = message_id or f"msg_{uuid.uuid4().hex}"
    timestamp = at if at is not None else int(time.time())
    signature = Webhook(secret).sign(message_id, datetime.fromtimestamp(timestamp, UTC), body)
    headers = {"webhook-id": message_id, "webhook-timestamp": str(timestamp), "webhook-signature": signature}
    return {"raw_body": body, "headers": headers}


def deliver(api: ApiClient, trigger: dict[str, Any], **delivery: Any) -> Any:
    return api.request("POST", f"/v1/hooks/{trigger['id']}", user=None, **delivery)


def new_trigger(api: ApiClient, task_id: str, user: str = "alice") -> dict[str, Any]:
    response = api.post(f"/v1/tasks/{task_id}/triggers", user=user)
    assert response.status == 201, response.text
    trigger: dict[str, Any] = response.json
    return trigger


def test_a_signed_delivery_starts_a_run_whose_prompt_reads_the_event(runner: Runner) -> None:
    task = runner.create_task("New order {{event.order.id}} for {{event.customer}}: {{event}}")
    trigger = new_trigger(runner.api, task["id"])
    assert trigger["url"].endswith(f"/v1/hooks/{trigger['id']}") and trigger["secret"].startswith("whsec_")
    event = {"order": {"id": "A-17"}, "customer": "Ada"}
    accepted = deliver(runner.api, trigger, **signed(trigger["secret"], event))
    assert accepted.status == 202, accepted.text
    run = runner.pump(accepted.json["run_id"], until=FINAL)
    assert run["status"] == "SUCCEEDED" and run["trigger"] == "webhook" and run["trigger_id"] == trigger["id"]
    assert run["event"] == event
    assert run["prompt"] == f"New order A-17 for Ada: {json.dumps(event)}"


def test_unsigned_wrongly_signed_stale_and_unknown_deliveries_are_401_and_start_nothing(runner: Runner) -> None:
    task = runner.create_task("p")
    trigger = new_trigger(runner.api, task["id"])
    good = signed(trigger["secret"], {"a": 1})
    attempts = [
        {"raw_body": good["raw_body"]},  # no signature at all
        signed("whsec_" + "QUJD" * 11, {"a": 1}),  # another secret
        signed(trigger["secret"], {"a": 1}, at=int(time.time()) - 600),  # outside the 5-minute window
        {"raw_body": json.dumps({"a": 2}), "headers": good["headers"]},  # a body other than the one signed
    ]
    for attempt in attempts:
        refused = deliver(runner.api, trigger, **attempt)
        assert refused.status == 401, refused.text
    ghost = {**trigger, "id": trigger["id"][:-1] + ("a" if trigger["id"][-1] != "a" else "b")}
    assert deliver(runner.api, ghost, **good).status == 401
    assert runner.api.get(f"/v1/tasks/{task['id']}/runs").json["items"] == []


def test_a_replayed_delivery_starts_nothing_and_answers_the_first_run(runner: Runner) -> None:
    task = runner.create_task("p")
    trigger = new_trigger(runner.api, task["id"])
    delivery = signed(trigger["secret"], {"n": 1})
    first = deliver(runner.api, trigger, **delivery)
    again = deliver(runner.api, trigger, **delivery)
    assert (first.status, again.status) == (202, 200)
    assert again.json == {**first.json, "duplicate": True, "status": again.json["status"]}
    assert len(runner.api.get(f"/v1/tasks/{task['id']}/runs").json["items"]) == 1


def test_bodies_are_bounded_and_a_paused_task_starts_nothing(runner: Runner) -> None:
    task = runner.create_task("p")
    trigger = new_trigger(runner.api, task["id"])
    too_big = deliver(runner.api, trigger, **signed(trigger["secret"], {"blob": "x" * (70 * 1024)}))
    assert too_big.status == 413 and too_big.headers["content-type"] == "application/problem+json"
    not_an_object = deliver(runner.api, trigger, **signed(trigger["secret"], [1, 2]))
    assert not_an_object.status == 422
    runner.api.post(f"/v1/tasks/{task['id']}/disable", {"reason": "holiday"})
    paused = deliver(runner.api, trigger, **signed(trigger["secret"], {"a": 1}))
    assert paused.status == 409 and "paused" in paused.json["detail"]
    assert runner.api.get(f"/v1/tasks/{task['id']}/runs").json["items"] == []


def test_a_trigger_takes_sixty_deliveries_a_minute(runner: Runner) -> None:
    task = runner.create_task("p", policies={"overlap": "allow"})
    trigger = new_trigger(runner.api, task["id"])
    # Start at a minute's beginning, so all of them fall in one minute.
    time.sleep(max(0.0, 60 - time.time() % 60) if time.time() % 60 > 45 else 0)
    statuses = [deliver(runner.api, trigger, **signed(trigger["secret"], {"n": n})).status for n in range(61)]
    assert statuses[:60] == [202] * 60
    limited = deliver(runner.api, trigger, **signed(trigger["secret"], {"n": 61}))
    assert limited.status == 429 and 1 <= int(limited.headers["retry-after"]) <= 60
    assert statuses[60] == 429


def test_the_owner_lists_rotates_and_deletes_triggers_and_nobody_else_can(runner: Runner) -> None:
    api = runner.api
    task = runner.create_task("p")
    trigger = new_trigger(api, task["id"])
    listed = api.get(f"/v1/tasks/{task['id']}/triggers").json["items"]
    assert [t["id"] for t in listed] == [trigger["id"]] and "secret" not in listed[0]
    # Bob: 404 everywhere, nothing changed.
    assert api.get(f"/v1/tasks/{task['id']}/triggers", user="bob").status == 404
    assert api.post(f"/v1/tasks/{task['id']}/triggers", user="bob").status == 404
    assert api.post(f"/v1/triggers/{trigger['id']}/rotate", user="bob").status == 404
    assert api.delete(f"/v1/triggers/{trigger['id']}", user="bob").status == 404

    rotated = api.post(f"/v1/triggers/{trigger['id']}/rotate")
    assert rotated.status == 200 and rotated.json["secret"] != trigger["secret"]
    assert deliver(api, trigger, **signed(trigger["secret"], {"old": True})).status == 401
    assert deliver(api, trigger, **signed(rotated.json["secret"], {"new": True})).status == 202
    assert api.delete(f"/v1/triggers/{trigger['id']}").status == 204
    assert deliver(api, trigger, **signed(rotated.json["secret"], {"gone": True})).status == 401
    assert api.get(f"/v1/tasks/{task['id']}/triggers").json["items"] == []
    actions = [entry["action"] for entry in api.get(f"/v1/tasks/{task['id']}/history").json["items"]]
    assert actions[:3] == ["trigger_deleted", "trigger_rotated", "trigger_created"]


def test_a_task_takes_at_most_ten_triggers(runner: Runner) -> None:
    task = runner.create_task("p")
    for _ in range(10):
        new_trigger(runner.api, task["id"])
    assert runner.api.post(f"/v1/tasks/{task['id']}/triggers").status == 409
