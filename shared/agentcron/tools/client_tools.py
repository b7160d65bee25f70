"""The client tools the runner executes for the agent: memory, web fetch and
follow-ups. Each is scoped to the run's own task and owner; nothing here
takes an owner or task id from the model's input."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import ValidationError

from agentcron.agent import ToolCall, ToolResult
from agentcron.errors import IdempotencyKeyReused
from agentcron.models import AgentConfig, Task, TaskCreate
from agentcron.store import Store
from agentcron.tools.errors import ToolError
from agentcron.tools.web_fetch import fetch

MAX_MEMORY_KEYS = 100
MAX_KEY_CHARS = 128
MAX_VALUE_CHARS = 4000
MAX_FOLLOWUPS_PER_TASK = 10
FOLLOWUP_DELAY_RANGE = (60, 7 * 24 * 3600)
FETCH_TIMEOUT_SECONDS = 10.0
MAX_NOTIFY_CHARS = 2000

# (owner, body, idempotency key) -> the created task; the service's create_task.
CreateTask = Callable[[str, TaskCreate, str], Task]


@dataclass
class ClientTools:
    store: Store
    task: Task
    run_id: str
    now: Callable[[], datetime]
    create_task: CreateTask
    # time.monotonic() by which the run must end: a tool may not run past it.
    deadline: float | None = None
    # What the agent asked notify_user to tell the owner (notify.when agent_decides).
    notifications: list[str] = field(default_factory=list)

    def __call__(self, call: ToolCall) -> ToolResult:
        handler = {
            "remember": self.remember,
            "recall": self.recall,
            "web_fetch": self.web_fetch,
            "schedule_followup": self.schedule_followup,
            "notify_user": self.notify_user,
        }.get(call.name)
        if handler is None:
            return ToolResult(f"tool {call.name!r} cannot be run here", is_error=True)
        try:
            return handler(call)
        except ToolError as error:
            return ToolResult(str(error), is_error=True)
        except (KeyError, TypeError, ValueError) as error:
            return ToolResult(f"bad input for {call.name}: {error}", is_error=True)

    def remember(self, call: ToolCall) -> ToolResult:
        key, value = str(call.input["key"]), str(call.input["value"])
        if not 0 < len(key) <= MAX_KEY_CHARS or len(value) > MAX_VALUE_CHARS:
            return ToolResult(
                f"key must be 1-{MAX_KEY_CHARS} characters, value at most {MAX_VALUE_CHARS}", is_error=True
            )
        if not self.store.remember(self.task.id, key, value, now=self.now(), max_keys=MAX_MEMORY_KEYS):
            return ToolResult(f"memory is full ({MAX_MEMORY_KEYS} keys); reuse a key", is_error=True)
        return ToolResult(f"Stored {key}={value}")

    def recall(self, call: ToolCall) -> ToolResult:
        key = str(call.input["key"])[:MAX_KEY_CHARS]
        value = self.store.recall(self.task.id, key)
        return ToolResult(f"Nothing is stored under {key}" if value is None else f"{key}={value}")

    def web_fetch(self, call: ToolCall) -> ToolResult:
        timeout = FETCH_TIMEOUT_SECONDS
        if self.deadline is not None:
            timeout = min(timeout, self.deadline - time.monotonic())
            if timeout <= 0:
                return ToolResult("not fetched: the run's time is up", is_error=True)
        result = fetch(str(call.input["url"]), timeout_seconds=timeout)
        note = " (truncated)" if result.truncated else ""
        return ToolResult(f"HTTP {result.status} {result.content_type}{note}\n{result.text}")

    def notify_user(self, call: ToolCall) -> ToolResult:
        message = str(call.input["message"]).strip()[:MAX_NOTIFY_CHARS]
        if not message:
            return ToolResult("message must not be empty", is_error=True)
        importance = str(call.input.get("importance") or "normal")
        self.notifications.append(message if importance == "normal" else f"[{importance}] {message}")
        return ToolResult("The owner will be notified with this message when the run ends.")

    def schedule_followup(self, call: ToolCall) -> ToolResult:
        delay = int(call.input["delay_seconds"])
        low, high = FOLLOWUP_DELAY_RANGE
        if not low <= delay <= high:
            return ToolResult(f"delay_seconds must be between {low} and {high}", is_error=True)
        at = self.now() + timedelta(seconds=delay)
        # The follow-up may use what its parent may, and nothing more; and it
        # cannot schedule follow-ups itself, so one task's follow-ups are
        # bounded (MAX_FOLLOWUPS_PER_TASK) instead of growing as a tree.
        tools = [name for name in self.task.agent.tools if name != "schedule_followup"]
        try:
            body = TaskCreate(
                name=f"Follow-up of {self.task.name}"[:200],
                prompt=str(call.input["prompt"]),
                variables=self.task.variables,
                schedule={"type": "once", "at": at.isoformat()},
                policies=self.task.policies.model_copy(update={"max_runs": None}),
                agent=AgentConfig(**{**self.task.agent.model_dump(), "tools": tools}),
                tags=["followup"],
                description=f"Scheduled by run {self.run_id} of {self.task.id}",
            )
        except ValidationError as error:
            return ToolResult(f"the follow-up is not valid: {error.errors()[0]['msg']}", is_error=True)
        if not self.store.count_followups(self.task.id, MAX_FOLLOWUPS_PER_TASK):
            return ToolResult(f"this task has used all its {MAX_FOLLOWUPS_PER_TASK} follow-ups", is_error=True)
        try:
            # The idempotency key makes a retried run create the same follow-up, not a second one.
            created = self.create_task(self.task.owner, body, f"followup:{self.run_id}:{call.id}")
        except IdempotencyKeyReused:
            # The same call of an earlier attempt created it (its `at` was computed then).
            return ToolResult("This follow-up was already scheduled by an earlier attempt of this run")
        return ToolResult(f"Scheduled follow-up task {created.id} for {at.isoformat()}")
