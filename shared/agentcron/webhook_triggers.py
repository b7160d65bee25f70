"""Webhook triggers: a task's inbound webhooks. `POST /v1/tasks/{id}/triggers` makes one (a
URL and a secret shown once); a POST to that URL signed in the Standard Webhooks scheme
(agentcron.webhook_signatures: `webhook-id`, `webhook-timestamp`, `webhook-signature`)
starts a run with `trigger: webhook`, its JSON body the prompt's `{{event}}` /
`{{event.field}}`.

What a delivery gets, in the order it is checked:
- 401, nothing started: no such trigger, a missing or wrong signature, or a timestamp
  outside the five-minute replay window (one answer for all: the URL alone tells an
  outsider nothing);
- 410 / 409: the task was deleted / is paused;
- 429 with Retry-After: the trigger's deliveries this minute are used up (counted only
  once the signature holds, so strangers cannot spend a sender's allowance);
- 202 with the run; a delivery whose `webhook-id` this trigger started a run for already
  (the sender's retry, or a replay inside the window) is 200 with that same run and
  starts nothing: the run's id is derived from the trigger and the `webhook-id`, and
  its write is conditional. (Standard Webhooks asks receivers to dedupe on the id and
  answer success, so a sender stops retrying; a 401 would make it retry to the end.)

Bodies are JSON objects of at most MAX_EVENT_BYTES (413 beyond).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from agentcron import webhook_signatures
from agentcron.errors import Conflict, Gone, NotFound, RateLimited, TooLarge, Unauthorized
from agentcron.history import Actor, HistoryAction, new_entry
from agentcron.ids import new_trigger_id, task_id_of_trigger, webhook_run_id
from agentcron.models import Run, RunStatus, Trigger, WebhookTrigger
from agentcron.schedules import to_epoch
from agentcron.store import Store

MAX_TRIGGERS_PER_TASK: Final = 10
MAX_EVENT_BYTES: Final = 64 * 1024
DELIVERIES_PER_MINUTE: Final = 60
_REFUSED: Final = "the delivery is not signed for this trigger (or its timestamp is outside the replay window)"


@dataclass(frozen=True)
class Delivery:
    run: Run
    duplicate: bool


@dataclass
class WebhookTriggers:
    store: Store
    enqueue: Callable[[Run], None]
    clock: Callable[[], datetime]
    deliveries_per_minute: int = DELIVERIES_PER_MINUTE

    # ---- the owner's side -----------------------------------------------------

    def add_trigger(self, actor: Actor, task_id: str) -> WebhookTrigger:
        """A new trigger with its secret (the only time the secret is shown)."""
        self.store.get_task(actor.owner, task_id)  # the owner's, undeleted: else 404 / 410
        if len(self.store.list_triggers(task_id)) >= MAX_TRIGGERS_PER_TASK:
            raise Conflict(f"task {task_id} has {MAX_TRIGGERS_PER_TASK} triggers already; delete one first")
        now = self.clock()
        trigger = WebhookTrigger(
            id=new_trigger_id(task_id),
            task_id=task_id,
            owner=actor.owner,
            secret=webhook_signatures.new_secret(),
            created_at=now,
        )
        entry = new_entry(task_id, HistoryAction.TRIGGER_CREATED, at=now, actor=actor, reason=trigger.id)
        self.store.put_trigger(trigger, entry)
        return trigger

    def triggers_of(self, owner: str, task_id: str) -> list[WebhookTrigger]:
        self.store.get_task(owner, task_id)
        return self.store.list_triggers(task_id)

    def rotate_secret(self, actor: Actor, trigger_id: str) -> WebhookTrigger:
        """A new secret, at once: deliveries signed with the old one are refused from now on."""
        trigger = self._owned_trigger(actor.owner, trigger_id)
        now = self.clock()
        secret = webhook_signatures.new_secret()
        entry = new_entry(trigger.task_id, HistoryAction.TRIGGER_ROTATED, at=now, actor=actor, reason=trigger_id)
        self.store.rotate_trigger(actor.owner, trigger_id, secret, now, entry)
        return trigger.model_copy(update={"secret": secret, "rotated_at": now})

    def remove_trigger(self, actor: Actor, trigger_id: str) -> None:
        trigger = self._owned_trigger(actor.owner, trigger_id)
        entry = new_entry(
            trigger.task_id, HistoryAction.TRIGGER_DELETED, at=self.clock(), actor=actor, reason=trigger_id
        )
        self.store.delete_trigger(actor.owner, trigger_id, entry)

    def _owned_trigger(self, owner: str, trigger_id: str) -> WebhookTrigger:
        trigger = self.store.get_trigger(trigger_id)
        if trigger is None or trigger.owner != owner:
            raise NotFound(f"trigger {trigger_id} not found")
        self.store.get_task(owner, trigger.task_id)  # a deleted task's triggers answer 410
        return trigger

    # ---- the sender's side ------------------------------------------------------

    def take_delivery(self, trigger_id: str, headers: Mapping[str, str], body: bytes) -> Delivery:
        """Verify a delivery and start its run (module docstring: what each refusal is)."""
        trigger = self.store.get_trigger(trigger_id) if task_id_of_trigger(trigger_id) else None
        now = self.clock()
        if trigger is None:
            raise Unauthorized(_REFUSED)
        lowered = {name.lower(): value for name, value in headers.items()}
        if not webhook_signatures.verify(trigger.secret, lowered, body, to_epoch(now)).valid:
            raise Unauthorized(_REFUSED)
        if len(body) > MAX_EVENT_BYTES:
            raise TooLarge(f"a delivery's body is at most {MAX_EVENT_BYTES // 1024} KiB")
        event = _event_of(body)
        task = self.store.get_task_by_id(trigger.task_id)
        if task is None or task.deleted_at is not None:
            raise Gone(f"task {trigger.task_id} was deleted")
        if not task.enabled:
            raise Conflict(f"task {task.id} is paused ({task.paused_reason}); its triggers start nothing")
        message_id = lowered[webhook_signatures.ID_HEADER]
        timestamp = int(lowered[webhook_signatures.TIMESTAMP_HEADER])
        run_id = webhook_run_id(task.id, trigger.id, message_id, timestamp)
        existing = self.store.get_run_by_id(run_id)
        if existing is not None:
            return Delivery(existing, duplicate=True)
        if not self.store.take_delivery_slot(trigger, now, self.deliveries_per_minute):
            raise RateLimited(
                f"trigger {trigger.id} takes at most {self.deliveries_per_minute} deliveries a minute",
                retry_after=60 - to_epoch(now) % 60,
            )
        run = Run(
            id=run_id,
            task_id=task.id,
            owner=task.owner,
            status=RunStatus.QUEUED,
            trigger=Trigger.WEBHOOK,
            scheduled_for=now,
            created_at=now,
            trigger_id=trigger.id,
            event=event,
        )
        if not self.store.put_delivered_run(run):
            # The same delivery, at the same moment, from another request: that one started it.
            found = self.store.get_run_by_id(run_id)
            return Delivery(found or run, duplicate=True)
        self.enqueue(run)
        return Delivery(run, duplicate=False)


def _event_of(body: bytes) -> dict[str, Any]:
    """The delivery's JSON object (the API has parsed it already: the signature is over these bytes)."""
    value = json.loads(body) if body else {}
    if not isinstance(value, dict):
        raise Unauthorized("a delivery's body is a JSON object")  # (the API refuses it before: 422)
    return value
