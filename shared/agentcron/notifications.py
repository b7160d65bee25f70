"""Run events: on the application's EventBridge bus, so users route them with
their own rules (detail-type `Run Succeeded` / `Run Failed` / `Run Waiting For
Input`, `Task Auto-Paused` when failures pause a task, `Task Budget Paused` when its
monthly budget does, `Account Budget Reached` when an owner's runs reach the
operator's monthly cap, and `Run Notified` under a notify.when other than always),
and to a task's own
webhook when it names one.

The webhook gets the event as an EventBridge rule target would (the envelope
with `detail-type`, `source`, `time`, `detail`), signed with the task's secret
in the Standard Webhooks scheme (``webhook_signatures``). The URL is the
owner's input, and the runner lives inside AWS, so it goes out through the
guarded client (``agentcron.guarded_http``: no loopback, private, link-local
or metadata address, after DNS resolution too) and redirects are not
followed; only the local stack adds its own loopback inbox (``local_policy``).
A delivery is retried a bounded number of times; a lost notification never
fails or repeats the run.
"""

from __future__ import annotations

import json
import random
import socket
import ssl
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from agentcron.guarded_http import AddressPolicy, Failed, GuardedClient, Refused, Resolver, local_policy
from agentcron.lazy_client import LazyClient
from agentcron.models import Run, RunStatus, Task
from agentcron.observability import logger
from agentcron.webhook_signatures import signed_headers

SOURCE = "agentcron"
DETAIL_TYPES = {
    RunStatus.SUCCEEDED: "Run Succeeded",
    RunStatus.FAILED: "Run Failed",
    RunStatus.TIMED_OUT: "Run Failed",
    RunStatus.WAITING_INPUT: "Run Waiting For Input",
}
TASK_AUTO_PAUSED = "Task Auto-Paused"
TASK_BUDGET_PAUSED = "Task Budget Paused"
ACCOUNT_BUDGET_REACHED = "Account Budget Reached"
RUN_NOTIFIED = "Run Notified"
OUTPUT_CHARS_IN_EVENT = 2000
WEBHOOK_USER_AGENT = "agentcron-webhook/1"
# The receiver's answer is not used; read a little of it so the connection closes cleanly.
WEBHOOK_RESPONSE_BYTES = 4096
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


def event_detail(run: Run) -> dict[str, Any]:
    return {
        "run_id": run.id,
        "task_id": run.task_id,
        "owner": run.owner,
        "status": run.status.value,
        "trigger": run.trigger.value,
        "scheduled_for": run.scheduled_for.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "attempt": run.attempt,
        "output": (run.output or "")[:OUTPUT_CHARS_IN_EVENT] or None,
        "question": run.question,
        "error": run.error.model_dump() if run.error else None,
        "usage": run.usage.model_dump() if run.usage else None,
        "duration_ms": run.duration_ms,
    }


def post(client: GuardedClient, url: str, body: bytes, headers: dict[str, str], *, timeout_seconds: float) -> int:
    """POST `body` to `url` through the guarded client; returns the status.
    Raises Refused (nothing was sent) or Failed."""
    with (
        client.deadline(timeout_seconds) as deadline,
        client.request(
            "POST",
            url,
            headers={**headers, "Content-Type": "application/json", "User-Agent": WEBHOOK_USER_AGENT},
            body=body,
            deadline=deadline,
        ) as exchange,
    ):
        exchange.read(WEBHOOK_RESPONSE_BYTES)
        return exchange.status


def stored_secret(task: Task) -> str | None:
    """The task's webhook signing secret, once the store keeps one (`webhook_secret`)."""
    secret = getattr(task, "webhook_secret", None)
    return secret if isinstance(secret, str) and secret else None


@dataclass(frozen=True)
class Delivery:
    """What became of one webhook notification."""

    url: str
    delivered: bool
    attempts: int
    status: int | None = None
    error: str | None = None


@dataclass
class Webhooks:
    secret_for: Callable[[Task], str | None] = stored_secret
    attempts: int = 3
    timeout_seconds: float = 4.0
    # All attempts and the waits between them end within this: the run's outcome is already
    # stored, and the runner keeps LAMBDA_WRAP_UP_SECONDS (15) after a run for this and its writes.
    total_seconds: float = 10.0
    backoff_seconds: float = 1.0
    # The production policy; in the local stack, with its loopback inbox (see guarded_http.local).
    policy: AddressPolicy = field(default_factory=local_policy)
    resolver: Resolver = socket.getaddrinfo
    ssl_context: ssl.SSLContext | None = None
    sleep: Callable[[float], None] = field(default=time.sleep)
    clock: Callable[[], float] = field(default=time.time)

    def deliver(self, task: Task, event: dict[str, Any]) -> Delivery | None:
        if task.notify.webhook_url is None:
            return None
        url = str(task.notify.webhook_url)
        secret = self.secret_for(task)
        if secret is None:
            # Unsigned, a receiver could not tell our calls from anyone's: send nothing.
            logger.warning("task has a webhook but no signing secret; not sent", extra={"task_id": task.id})
            return Delivery(url, delivered=False, attempts=0, error="no signing secret")
        body = json.dumps(event, separators=(",", ":")).encode()
        client = GuardedClient(policy=self.policy, resolver=self.resolver, ssl_context=self.ssl_context)
        deadline = time.monotonic() + self.total_seconds
        delivery = Delivery(url, delivered=False, attempts=0)
        for attempt in range(1, self.attempts + 1):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            # Signed per attempt: each carries a fresh timestamp inside the receiver's replay window.
            headers = signed_headers(secret, str(event["id"]), int(self.clock()), body)
            try:
                status = post(client, url, body, headers, timeout_seconds=min(self.timeout_seconds, left))
            except Refused as refused:
                # Where it points will not change between attempts.
                return self._log(Delivery(url, delivered=False, attempts=attempt, error=str(refused)))
            except Failed as failed:
                delivery = Delivery(url, delivered=False, attempts=attempt, error=str(failed))
            else:
                if 200 <= status < 300:
                    return Delivery(url, delivered=True, attempts=attempt, status=status)
                delivery = Delivery(url, delivered=False, attempts=attempt, status=status, error=f"HTTP {status}")
                if status not in RETRYABLE_STATUSES:
                    # Redirects included: following one would send the event somewhere the owner did not name.
                    return self._log(delivery)
            if attempt < self.attempts:
                pause = random.uniform(0.5, 1.0) * self.backoff_seconds * 2 ** (attempt - 1)
                self.sleep(max(0.0, min(pause, deadline - time.monotonic())))
        return self._log(delivery)

    @staticmethod
    def _log(delivery: Delivery) -> Delivery:
        logger.warning(
            "webhook not delivered",
            extra={"attempts": delivery.attempts, "status": delivery.status, "error": delivery.error},
        )
        return delivery


class RunEvents:
    def __init__(
        self,
        bus_name: str,
        client: Callable[[], Any] = lambda: boto3.session.Session().client("events"),
        webhooks: Webhooks | None = None,
    ) -> None:
        self.bus_name = bus_name
        # Made at first use: the functions pass their container's (agentcron.bootstrap).
        self._client = LazyClient(client)
        self.webhooks = webhooks if webhooks is not None else Webhooks()

    @property
    def client(self) -> Any:
        return self._client.get()

    def publish(self, run: Run, task: Task | None = None) -> None:
        """The run's status event on the bus, always (it is the audit stream users route);
        to the webhook too under notify.when always, and for a question (it needs an
        answer). Under the other notify.when settings, a run that notified
        (agentcron.notify_policy) emits `Run Notified`, to the bus and the webhook: under
        always the status event is the notification already."""
        detail_type = DETAIL_TYPES.get(run.status)
        if detail_type is None:
            return
        always = task is None or task.notify.when == "always"
        self._emit(detail_type, event_detail(run), task if always or run.status == RunStatus.WAITING_INPUT else None)
        if run.notified and not always:
            detail = {**event_detail(run), "reason": run.notify_reason, "message": run.notify_message}
            self._emit(RUN_NOTIFIED, detail, task)

    def publish_auto_pause(self, task: Task, *, reason: str, consecutive_failures: int, last_run: Run) -> None:
        """The task stopped itself: its owner has to act (fix and resume), so say so where
        they listen, not only in the task's paused_reason."""
        detail = {
            "task_id": task.id,
            "owner": task.owner,
            "name": task.name,
            "reason": reason,
            "consecutive_failures": consecutive_failures,
            "last_run_id": last_run.id,
            "last_error": last_run.error.model_dump() if last_run.error else None,
        }
        self._emit(TASK_AUTO_PAUSED, detail, task)

    def publish_budget_event(self, detail_type: str, task: Task, detail: dict[str, Any]) -> None:
        """A monthly budget paused the task, or the owner's runs reached the account's cap
        (agentcron.spend_control says which, with the month's figures)."""
        self._emit(detail_type, {"task_id": task.id, "owner": task.owner, "name": task.name, **detail}, task)

    def _emit(self, detail_type: str, detail: dict[str, Any], task: Task | None) -> None:
        if self.bus_name:
            self._put(detail_type, detail)
        if task is not None and task.notify.webhook_url is not None:
            self.webhooks.deliver(task, self.envelope(detail_type, detail))

    @staticmethod
    def envelope(detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
        """The event as EventBridge hands it to a rule's target (without account and region)."""
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": detail_type,
            "source": SOURCE,
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "resources": [],
            "detail": detail,
        }

    def _put(self, detail_type: str, detail: dict[str, Any]) -> None:
        about = {"run_id": detail.get("run_id") or detail.get("last_run_id"), "detail_type": detail_type}
        try:
            response = self.client.put_events(
                Entries=[
                    {
                        "Source": SOURCE,
                        "DetailType": detail_type,
                        "Detail": json.dumps(detail),
                        "EventBusName": self.bus_name,
                        "Resources": [],
                    }
                ]
            )
        except (BotoCoreError, ClientError) as error:
            # The run's state is stored; a lost notification must not fail or repeat the run.
            logger.warning("event not published", extra={**about, "error": str(error)})
            return
        if response.get("FailedEntryCount"):
            logger.warning("event rejected", extra={**about, "entries": response.get("Entries")})
