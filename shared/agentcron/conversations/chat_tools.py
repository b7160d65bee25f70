"""The chat assistant's tools: the task API, as the conversation's owner.

Each tool calls the same Service methods as the API's routes, with the owner taken
from the conversation (never from the model's input), so every validation, owner
check and idempotency rule holds: a task id of another owner's is "not found" here
as it is a 404 there. There is no delete tool. What changes something is posted to
the thread as an action message, with the request that undoes it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError

from agentcron.agent import ToolCall, ToolResult
from agentcron.conversations.models import Action, Conversation, Undo
from agentcron.conversations.service import ConversationService
from agentcron.errors import AgentcronError, IdempotencyKeyReused
from agentcron.history import Actor, Via
from agentcron.models import PreviewRequest, Run, RunNowRequest, RunStatus, Task, TaskCreate, TaskPatch
from agentcron.schedules import Schedule, describe
from agentcron.service import Service
from agentcron.tools_catalog import TOOL_NAMES, ToolSpec

OUTPUT_CHARS_SHOWN = 1_000
LIST_LIMIT = 20
NEXT_TIMES_SHOWN = 5

_SCHEDULE_HELP = (
    "A schedule as JSON, one of: "
    '{"type": "cron", "expression": "0 9 * * 1-5", "timezone": "Europe/Berlin"}; '
    '{"type": "interval", "every_seconds": 300}; '
    '{"type": "once", "at": "2026-12-07T15:00:00Z"}; '
    '{"type": "preset", "preset": "hourly|daily|weekly|monthly", "timezone": "UTC"}; '
    '{"type": "manual"} (runs only when asked: use it with run_task_now for "immediately"); '
    '{"type": "aws", "expression": "cron(0 9 ? * MON-FRI *)|rate(5 minutes)|at(2027-01-01T09:00:00)", '
    '"timezone": "UTC"} (when the user gives an EventBridge expression).'
)
_TASK_ID = {"type": "string", "description": "A task id, task_…"}
_TASK_FIELDS: dict[str, Any] = {
    "name": {"type": "string", "maxLength": 200},
    "prompt": {"type": "string", "description": "What the task's agent does on each run"},
    "description": {"type": "string", "maxLength": 2000},
    "schedule": {"type": "object", "description": _SCHEDULE_HELP},
    "tools": {
        "type": "array",
        "items": {"type": "string"},
        "description": "The tools the task's agent may use: " + ", ".join(sorted(TOOL_NAMES)),
    },
    "variables": {"type": "object", "additionalProperties": {"type": "string"}},
}

CHAT_TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        name="preview_schedule",
        kind="client",
        description="Describe a schedule in words and list its next run times, without saving anything. "
        "Call it before creating or rescheduling a task, and tell the user the times.",
        input_schema={
            "type": "object",
            "properties": {
                "schedule": {"type": "object", "description": _SCHEDULE_HELP},
                "count": {"type": "integer", "minimum": 1, "maximum": 20},
            },
            "required": ["schedule"],
        },
    ),
    ToolSpec(
        name="create_task",
        kind="client",
        description="Create a scheduled agent task for the user; its runs report in this conversation.",
        input_schema={
            "type": "object",
            "properties": {**_TASK_FIELDS, "enabled": {"type": "boolean"}},
            "required": ["name", "prompt", "schedule"],
        },
    ),
    ToolSpec(
        name="update_task",
        kind="client",
        description="Change some fields of one of the user's tasks (only the fields given change).",
        input_schema={
            "type": "object",
            "properties": {"task_id": _TASK_ID, "changes": {"type": "object", "properties": _TASK_FIELDS}},
            "required": ["task_id", "changes"],
        },
    ),
    ToolSpec(
        name="pause_task",
        kind="client",
        description="Pause one of the user's tasks: no runs start until it is resumed.",
        input_schema={
            "type": "object",
            "properties": {"task_id": _TASK_ID, "reason": {"type": "string", "maxLength": 500}},
            "required": ["task_id"],
        },
    ),
    ToolSpec(
        name="resume_task",
        kind="client",
        description="Resume a paused task from its next occurrence.",
        input_schema={"type": "object", "properties": {"task_id": _TASK_ID}, "required": ["task_id"]},
    ),
    ToolSpec(
        name="run_task_now",
        kind="client",
        description="Start a run of one of the user's tasks now; its result is posted in this conversation.",
        input_schema={
            "type": "object",
            "properties": {"task_id": _TASK_ID, "variables": {"type": "object"}},
            "required": ["task_id"],
        },
    ),
    ToolSpec(
        name="list_tasks",
        kind="client",
        description="The user's tasks, newest first.",
        input_schema={"type": "object", "properties": {"enabled": {"type": "boolean"}}},
    ),
    ToolSpec(
        name="get_task",
        kind="client",
        description="One of the user's tasks, with its schedule and next run times.",
        input_schema={"type": "object", "properties": {"task_id": _TASK_ID}, "required": ["task_id"]},
    ),
    ToolSpec(
        name="list_runs",
        kind="client",
        description="The user's recent runs, newest first: of one task, or of all.",
        input_schema={
            "type": "object",
            "properties": {"task_id": _TASK_ID, "status": {"type": "string", "enum": [s.value for s in RunStatus]}},
        },
    ),
    ToolSpec(
        name="get_run",
        kind="client",
        description="One run: its status, output or error, and its question if it waits for an answer.",
        input_schema={"type": "object", "properties": {"run_id": {"type": "string"}}, "required": ["run_id"]},
    ),
)
CHAT_TOOL_NAMES: tuple[str, ...] = tuple(tool.name for tool in CHAT_TOOLS)


def local_times(schedule: Schedule, times: list[datetime]) -> list[str]:
    """Times in the schedule's own zone, as the user said them ("9 in Berlin")."""
    zone = ZoneInfo(getattr(schedule, "timezone", None) or "UTC")
    return [at.astimezone(zone).isoformat() for at in times]


def task_summary(service: Service, task: Task) -> dict[str, Any]:
    upcoming = local_times(task.schedule, service.upcoming(task, NEXT_TIMES_SHOWN))
    summary: dict[str, Any] = {
        "id": task.id,
        "name": task.name,
        "enabled": task.enabled,
        "schedule": task.schedule.model_dump(mode="json", exclude_none=True),
        "next_runs": upcoming,
    }
    if task.paused_reason:
        summary["paused_reason"] = task.paused_reason
    if task.last_run is not None:
        summary["last_run"] = task.last_run.model_dump(mode="json", exclude_none=True)
    return summary


def run_summary(run: Run) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "id": run.id,
        "task_id": run.task_id,
        "status": run.status.value,
        "scheduled_for": run.scheduled_for.isoformat(),
    }
    if run.output:
        summary["output"] = run.output[:OUTPUT_CHARS_SHOWN]
    if run.error is not None:
        summary["error"] = run.error.message[:OUTPUT_CHARS_SHOWN]
    if run.question:
        summary["question"] = {"text": run.question, "kind": run.question_kind, "options": run.question_options}
    return summary


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


@dataclass
class ChatTools:
    """Runs the chat tools of one turn, as the conversation's owner."""

    service: Service
    conversations: ConversationService
    conversation: Conversation
    turn: Run
    now: Callable[[], datetime]

    @property
    def owner(self) -> str:
        return self.conversation.owner

    @property
    def actor(self) -> Actor:
        """Changes made here are the owner's, through the conversation."""
        return Actor(self.conversation.owner, Via.CONVERSATION)

    def __call__(self, call: ToolCall) -> ToolResult:
        handler = getattr(self, f"_{call.name}", None) if call.name in CHAT_TOOL_NAMES else None
        if handler is None:
            return ToolResult(f"tool {call.name!r} cannot be run here", is_error=True)
        try:
            result: ToolResult = handler(call)
        except ValidationError as error:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'input'}: {e['msg']}" for e in error.errors())
            return ToolResult(f"invalid input for {call.name}: {problems}", is_error=True)
        except AgentcronError as error:
            # The service's own refusal (not found, conflict, invalid...), as the API would say it.
            return ToolResult(f"{call.name} refused: {error.detail}", is_error=True)
        return result

    def _key(self, call: ToolCall) -> str:
        # A retried turn replays the same call: the service answers the first result.
        return f"chat:{self.turn.id}:{call.id}"

    def _act(self, action: Action, result: dict[str, Any]) -> ToolResult:
        self.conversations.post_action(self.conversation, action, self.turn.id)
        return ToolResult(_json(result))

    # ---- reads -----------------------------------------------------------

    def _preview_schedule(self, call: ToolCall) -> ToolResult:
        request = PreviewRequest.model_validate({"count": NEXT_TIMES_SHOWN, **call.input})
        preview = self.service.preview(request)
        return ToolResult(
            _json({"description": preview.description, "next": local_times(request.schedule, preview.occurrences)})
        )

    def _list_tasks(self, call: ToolCall) -> ToolResult:
        enabled = call.input.get("enabled")
        page = self.service.list_tasks(
            self.owner, limit=LIST_LIMIT, enabled=enabled if isinstance(enabled, bool) else None
        )
        return ToolResult(_json([task_summary(self.service, task) for task in page.items]))

    def _get_task(self, call: ToolCall) -> ToolResult:
        task = self.service.get_task(self.owner, str(call.input["task_id"]))
        return ToolResult(_json(task_summary(self.service, task)))

    def _list_runs(self, call: ToolCall) -> ToolResult:
        status = RunStatus(call.input["status"]) if call.input.get("status") else None
        task_id = call.input.get("task_id")
        if task_id:
            page = self.service.list_task_runs(self.owner, str(task_id), limit=LIST_LIMIT, cursor=None, status=status)
        else:
            page = self.service.list_runs(self.owner, limit=LIST_LIMIT, cursor=None, status=status, since=None)
        return ToolResult(_json([run_summary(run) for run in page.items]))

    def _get_run(self, call: ToolCall) -> ToolResult:
        return ToolResult(_json(run_summary(self.service.get_run(self.owner, str(call.input["run_id"])))))

    # ---- changes (each an action message) -------------------------------------

    def _create_task(self, call: ToolCall) -> ToolResult:
        body = TaskCreate.model_validate(_with_tool_names(call.input))
        try:
            task, _ = self.service.create_task(self.actor, body, self._key(call), conversation_id=self.conversation.id)
        except IdempotencyKeyReused:
            return ToolResult("this call already created a task in an earlier attempt", is_error=True)
        self.conversations.store.add_conversation_task(self.owner, self.conversation.id, task.id)
        summary = task_summary(self.service, task)
        when = f"; next run {summary['next_runs'][0]}" if summary["next_runs"] else ""
        action = Action(
            tool="create_task",
            summary=f"Created task {task.name!r} ({task.id}): {_describe(task)}{when}",
            task_id=task.id,
            undo=Undo(method="DELETE", href=f"/v1/tasks/{task.id}"),
        )
        result = self._act(action, summary)
        self.conversations.refresh_status(self.owner, self.conversation.id)
        return result

    def _update_task(self, call: ToolCall) -> ToolResult:
        task_id = str(call.input["task_id"])
        changes = call.input.get("changes")
        before = self.service.get_task(self.owner, task_id)
        patch = TaskPatch.model_validate(_with_tool_names(changes if isinstance(changes, dict) else {}, before))
        updated = self.service.update_task(self.actor, task_id, patch, None)
        previous = {
            name: _dumped(getattr(before, name)) for name in patch.model_fields_set if name in type(before).model_fields
        }
        action = Action(
            tool="update_task",
            summary=f"Changed {', '.join(sorted(patch.model_fields_set))} of task {updated.name!r} ({task_id})",
            task_id=task_id,
            undo=Undo(method="PATCH", href=f"/v1/tasks/{task_id}", body=previous),
        )
        return self._act(action, task_summary(self.service, updated))

    def _pause_task(self, call: ToolCall) -> ToolResult:
        task_id = str(call.input["task_id"])
        reason = call.input.get("reason")
        why = str(reason)[:500] if reason else "paused from a conversation"
        task = self.service.disable_task(self.actor, task_id, why)
        action = Action(
            tool="pause_task",
            summary=f"Paused task {task.name!r} ({task_id})",
            task_id=task_id,
            undo=Undo(method="POST", href=f"/v1/tasks/{task_id}/enable"),
        )
        return self._act(action, task_summary(self.service, task))

    def _resume_task(self, call: ToolCall) -> ToolResult:
        task_id = str(call.input["task_id"])
        task = self.service.enable_task(self.actor, task_id)
        action = Action(
            tool="resume_task",
            summary=f"Resumed task {task.name!r} ({task_id})",
            task_id=task_id,
            undo=Undo(method="POST", href=f"/v1/tasks/{task_id}/disable"),
        )
        return self._act(action, task_summary(self.service, task))

    def _run_task_now(self, call: ToolCall) -> ToolResult:
        task_id = str(call.input["task_id"])
        request = RunNowRequest.model_validate({"variables": call.input.get("variables") or {}})
        run, _ = self.service.run_now(self.actor, task_id, request.variables, self._key(call))
        action = Action(
            tool="run_task_now",
            summary=f"Started run {run.id} of task {task_id}",
            task_id=task_id,
            run_id=run.id,
            undo=Undo(method="POST", href=f"/v1/runs/{run.id}/cancel"),
        )
        return self._act(action, run_summary(run))


def _with_tool_names(fields: dict[str, Any], current: Task | None = None) -> dict[str, Any]:
    """The model says `tools`; the task keeps them under agent.tools (with the rest of
    the task's current agent settings, which a patch would otherwise reset)."""
    if "tools" not in fields:
        return fields
    rest = {name: value for name, value in fields.items() if name != "tools"}
    agent = current.agent.model_dump(mode="json") if current is not None else {}
    given = rest.get("agent")
    if isinstance(given, dict):
        agent.update(given)
    return {**rest, "agent": {**agent, "tools": fields["tools"]}}


def _dumped(value: Any) -> Any:
    return value.model_dump(mode="json", exclude_none=True) if isinstance(value, BaseModel) else value


def _describe(task: Task) -> str:
    return describe(task.schedule)
