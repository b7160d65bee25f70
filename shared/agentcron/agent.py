"""The Claude agent: prompt rendering, the system prompt and the tool loop.

`anthropic` is imported lazily and only here (the runner's own dependency,
about a second of cold start): the API and dispatcher never load it.
The loop does not retry model errors itself (the SDK's retries are off);
it classifies them, and the runner lets the queue do the backoff.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from agentcron.budgets import RunBudget
from agentcron.models import QuestionKind, Run, RunStatus, Task, Usage
from agentcron.observability import tracer
from agentcron.structured_results import FINAL_RESULT, final_result_tool, result_errors, schema_errors, text_at
from agentcron.tools_catalog import TOOLS, ToolSpec

if TYPE_CHECKING:
    from anthropic import Anthropic

_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
# {{last_result}} (all of it) or {{last_result.field.inner}}
_LAST_RESULT = re.compile(r"\{\{\s*last_result((?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}")
# A webhook trigger's posted body: {{event}} (all of it, as JSON) or {{event.field.sub}}.
_EVENT = re.compile(r"\{\{\s*event((?:\.[A-Za-z0-9_-]+)*)\s*\}\}")
RECENT_RUNS_IN_PROMPT = 5
SUMMARY_CHARS = 300


class TemplateError(ValueError):
    """The prompt names a variable neither the task nor the run defines."""


class OutputSchemaInvalid(ValueError):
    """The task's output_schema is not a valid JSON Schema: no result could be checked."""


def render_prompt(
    template: str,
    defaults: dict[str, str],
    overrides: dict[str, str],
    last_result: dict[str, Any] | None = None,
    event: dict[str, Any] | None = None,
) -> str:
    """The prompt with its {{variables}}, {{last_result.field}} from the task's last
    structured result (empty before there is one, or where the result has no such field),
    and {{event}} / {{event.field}} from the webhook delivery that started the run (empty
    for other runs)."""
    values = {**defaults, **overrides}
    template = _LAST_RESULT.sub(lambda match: text_at(last_result, _path(match[1])), template)
    template = _EVENT.sub(lambda match: text_at(event, _path(match[1])), template)
    missing = sorted({name for name in _VARIABLE.findall(template) if name not in values})
    if missing:
        raise TemplateError(
            f"the prompt uses {', '.join('{{' + m + '}}' for m in missing)} but neither the task's "
            "variables nor the run's define it"
        )
    return _VARIABLE.sub(lambda match: values[match[1]], template)


def _path(dotted: str | None) -> list[str]:
    """ ".a.b" (what follows `last_result` or `event` in a placeholder) -> ["a", "b"]."""
    return (dotted or "").split(".")[1:]


def task_timezone(task: Task) -> str:
    return getattr(task.schedule, "timezone", None) or "UTC"


def system_blocks(task: Task, now: datetime, recent: Sequence[Run]) -> list[dict[str, Any]]:
    """Two blocks: a static one (cached across runs, so the prompt-cache prefix
    is stable) and a dynamic one with the time and the memory of past runs."""
    about = f"You are an agent run by agentcron, a scheduler, for the task {task.name!r}."
    work = "Work autonomously and finish with a concise final answer, using the tools you are given."
    if "ask_user" in task.agent.tools:
        # Only a task that may ask is told it may: a prompt must not invite a call the runner refuses.
        work += " If you truly need information only the task's owner has, ask with ask_user."
    static = "\n".join(part for part in (about, task.description.strip(), work) if part)
    zone = task_timezone(task)
    tz = ZoneInfo(zone)
    lines = [f"The current time is {now.astimezone(tz).isoformat()} ({zone})."]
    if recent:
        lines.append("Summaries of this task's most recent runs, newest first:")
        for run in recent:
            text = (run.output or (run.error.message if run.error else "") or "").replace("\n", " ")
            lines.append(f"- {run.scheduled_for.astimezone(tz).isoformat()} {run.status.value}: {text[:SUMMARY_CHARS]}")
    return [
        {"type": "text", "text": static, "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "\n".join(lines)},
    ]


def tool_definitions(allowed: Sequence[str], catalogue: Sequence[ToolSpec] = TOOLS) -> list[dict[str, Any]]:
    definitions: list[dict[str, Any]] = []
    for tool in catalogue:
        if tool.name not in allowed:
            continue
        if tool.server_definition is not None:
            definitions.append(dict(tool.server_definition))
        else:
            definitions.append({"name": tool.name, "description": tool.description, "input_schema": tool.input_schema})
    return definitions


@dataclass
class ToolCall:
    id: str
    name: str
    input: dict[str, Any]


@dataclass
class ToolResult:
    content: str
    is_error: bool = False


# Runs one client tool; the runner supplies it (memory, fetch, follow-ups).
ToolExecutor = Callable[[ToolCall], ToolResult]


@dataclass
class AgentOutcome:
    status: Literal[RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.WAITING_INPUT]
    messages: list[dict[str, Any]]
    usage: Usage
    output: str | None = None
    result: dict[str, Any] | None = None
    question: str | None = None
    question_kind: QuestionKind | None = None
    question_options: list[str] | None = None
    error_type: str | None = None
    error_message: str | None = None
    model: str | None = None
    turns: int = 0
    notes: list[str] = field(default_factory=list)

    @classmethod
    def failed(
        cls,
        messages: list[dict[str, Any]],
        usage: Usage,
        error_type: str,
        error_message: str,
        *,
        model: str,
        turns: int,
        output: str | None = None,
    ) -> AgentOutcome:
        """The loop ended without an answer the run can use: FAILED, with the conversation so far."""
        return cls(
            RunStatus.FAILED,
            messages,
            usage,
            output=output,
            error_type=error_type,
            error_message=error_message,
            model=model,
            turns=turns,
        )


class RunDeadlineExceeded(Exception):
    """The run's timeout passed before the agent finished."""


def _add_usage(total: Usage, usage: Any) -> None:
    total.input_tokens += getattr(usage, "input_tokens", 0) or 0
    total.output_tokens += getattr(usage, "output_tokens", 0) or 0
    total.cache_creation_input_tokens += getattr(usage, "cache_creation_input_tokens", 0) or 0
    total.cache_read_input_tokens += getattr(usage, "cache_read_input_tokens", 0) or 0


def _text_of(content: Sequence[dict[str, Any]]) -> str:
    return "\n".join(block["text"] for block in content if block.get("type") == "text").strip()


@dataclass
class Tally:
    """What one attempt exchanged with the model, counted as it goes (so an
    attempt that fails half-way still counts what it did)."""

    messages: int = 0
    tool_calls: int = 0

    def add_answer(self, content: Sequence[dict[str, Any]]) -> None:
        self.messages += 1
        self.tool_calls += sum(1 for block in content if block.get("type") in TOOL_CALL_BLOCKS)


# Client tools (the loop runs them) and server tools (web search, run by the API).
TOOL_CALL_BLOCKS = frozenset({"tool_use", "server_tool_use"})


@dataclass
class AgentRequest:
    model: str
    max_tokens: int
    max_turns: int
    system: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    tools: list[str]
    run_id: str
    deadline: float  # time.monotonic() by which the run must end
    usage: Usage = field(default_factory=Usage)
    tally: Tally = field(default_factory=Tally)
    # Where the allowed tools are described: a task's tools, or the chat assistant's.
    catalogue: Sequence[ToolSpec] = TOOLS
    # What the run may spend (policies.max_cost_usd); None: no limit.
    budget: RunBudget | None = None
    # The task's output_schema: the run ends by calling final_result with a result that fits it.
    output_schema: dict[str, Any] | None = None
    # The run's connected tools, as the Messages API takes them (already granted and deny-filtered).
    connected_tools: list[dict[str, Any]] = field(default_factory=list)


def with_cache_breakpoint(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages to send, with a prompt-cache breakpoint on the newest one
    once the conversation has a history (later turns of the tool loop, a
    resumed run): each turn then reads the previous turns from the cache
    instead of paying for them again. A first turn gets none: a one-shot run
    would pay the cache write and never read it back (the next run's prefix
    differs at the time in the system prompt). The stored conversation is
    left as it is, so breakpoints never pile up (the API allows four)."""
    if len(messages) < 2:
        return messages
    last = messages[-1]
    content = last["content"]
    blocks = [{"type": "text", "text": content}] if isinstance(content, str) else list(content)
    if not blocks:
        return messages
    blocks[-1] = {**blocks[-1], "cache_control": {"type": "ephemeral"}}
    return [*messages[:-1], {**last, "content": blocks}]


# Not the response in the trace: the outcome carries the conversation.
@tracer.capture_method(capture_response=False)
def run_agent(client: Anthropic, request: AgentRequest, execute_tool: ToolExecutor) -> AgentOutcome:
    """The Messages API tool loop until end_turn, a question for the user, or a limit.
    Model errors propagate (the runner classifies them); the deadline raises
    RunDeadlineExceeded."""
    messages = request.messages
    schema = request.output_schema
    if schema is not None and (problems := schema_errors(schema)):
        raise OutputSchemaInvalid("the task's output_schema is not a valid JSON Schema: " + "; ".join(problems))
    allowed = [*request.tools, *(tool["name"] for tool in request.connected_tools)]
    if schema is not None:
        allowed.append(FINAL_RESULT)
    tools = [*tool_definitions(request.tools, request.catalogue), *request.connected_tools]
    if schema is not None:
        tools.append(tool_definitions([FINAL_RESULT], [final_result_tool(schema)])[0])
    usage = request.usage
    model = request.model
    forced = False
    for turn in range(1, request.max_turns + 1):
        remaining = request.deadline - time.monotonic()
        if remaining <= 0:
            raise RunDeadlineExceeded(f"the run's timeout passed after {turn - 1} turn(s)")
        stop_for_budget = request.budget.stop(usage, model) if request.budget is not None else None
        if stop_for_budget is not None:
            last = messages[-1] if messages and messages[-1]["role"] == "assistant" else None
            return AgentOutcome.failed(
                messages,
                usage,
                stop_for_budget.type,
                stop_for_budget.message,
                model=model,
                turns=turn - 1,
                output=_text_of(last["content"]) or None if last else None,
            )
        kwargs: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_tokens,
            "system": request.system,
            "messages": with_cache_breakpoint(messages),
            # The fake model keys its per-run behaviour on this; Anthropic uses it for abuse tracking.
            "metadata": {"user_id": request.run_id},
            "timeout": remaining,
        }
        if tools:
            kwargs["tools"] = tools
        if forced:
            kwargs["tool_choice"] = {"type": "tool", "name": FINAL_RESULT}
        response = client.messages.create(**kwargs)
        _add_usage(usage, response.usage)
        model = response.model
        content = [block.model_dump(exclude_none=True) for block in response.content]
        messages.append({"role": "assistant", "content": content})
        if turn == 1:
            # The message that opened this attempt (the prompt, or the reply to a
            # question), counted once the model took it: an attempt that only met
            # errors exchanged nothing.
            request.tally.messages += 1
        request.tally.add_answer(content)
        stop = response.stop_reason
        if stop in ("end_turn", "stop_sequence") and schema is not None:
            if forced:
                return AgentOutcome.failed(
                    messages, usage, "no_result", "the agent did not give a result", model=model, turns=turn
                )
            # Claude answered in prose: ask once more, this time for the result itself.
            messages.append({"role": "user", "content": f"Now give the result by calling {FINAL_RESULT}."})
            request.tally.messages += 1
            forced = True
            continue
        if stop in ("end_turn", "stop_sequence"):
            return AgentOutcome(RunStatus.SUCCEEDED, messages, usage, output=_text_of(content), model=model, turns=turn)
        if stop == "max_tokens":
            return AgentOutcome(
                RunStatus.SUCCEEDED,
                messages,
                usage,
                output=_text_of(content),
                model=model,
                turns=turn,
                notes=[f"the answer was cut at max_tokens ({request.max_tokens})"],
            )
        if stop == "refusal":
            return AgentOutcome.failed(
                messages,
                usage,
                "refusal",
                "the model declined to answer this prompt",
                model=model,
                turns=turn,
                output=_text_of(content) or None,
            )
        if stop == "pause_turn":
            continue  # a long server-tool turn: send it back as is and the model goes on
        if stop != "tool_use":
            return AgentOutcome.failed(
                messages, usage, "unexpected_stop_reason", f"the model stopped with {stop!r}", model=model, turns=turn
            )
        calls = [ToolCall(b["id"], b["name"], b.get("input") or {}) for b in content if b.get("type") == "tool_use"]
        if not calls:
            # Answering an empty tool_result turn would be a 400 from the API on the next call.
            return AgentOutcome.failed(
                messages,
                usage,
                "unexpected_stop_reason",
                "the model stopped for tool_use without calling a tool",
                model=model,
                turns=turn,
                output=_text_of(content) or None,
            )
        final = next((c for c in calls if c.name == FINAL_RESULT), None) if schema is not None else None
        if final is not None:
            return _structured_outcome(final, schema or {}, messages, usage, model, turn, _text_of(content))
        question = next((c for c in calls if c.name == "ask_user" and "ask_user" in request.tools), None)
        if question is not None:
            kind, options = question_kind(question.input)
            return AgentOutcome(
                RunStatus.WAITING_INPUT,
                messages,
                usage,
                question=str(question.input.get("question", ""))[:2000],
                question_kind=kind,
                question_options=options,
                model=model,
                turns=turn,
            )
        results = []
        for call in calls:
            if call.name not in allowed:
                # The allow-list is enforced here, whatever the model asks for.
                result = ToolResult(f"tool {call.name!r} is not allowed for this task", is_error=True)
            else:
                result = execute_tool(call)
            results.append(
                {"type": "tool_result", "tool_use_id": call.id, "content": result.content, "is_error": result.is_error}
            )
        messages.append({"role": "user", "content": results})
        request.tally.messages += 1
    return AgentOutcome.failed(
        messages,
        usage,
        "max_turns_exceeded",
        f"the agent did not finish within max_turns ({request.max_turns})",
        model=model,
        turns=request.max_turns,
    )


def _structured_outcome(
    call: ToolCall,
    schema: dict[str, Any],
    messages: list[dict[str, Any]],
    usage: Usage,
    model: str,
    turn: int,
    text: str,
) -> AgentOutcome:
    """The run's result, as final_result gave it: SUCCEEDED when it fits the schema, else
    FAILED with the validation errors (the result is kept in the transcript)."""
    # The call is answered in the transcript, so a resumed or inspected conversation stays valid.
    messages.append(
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "Result received."}]}
    )
    errors = result_errors(schema, call.input)
    if errors:
        return AgentOutcome.failed(
            messages,
            usage,
            "result_invalid",
            "the result does not fit the task's output_schema: " + "; ".join(errors),
            model=model,
            turns=turn,
            output=text or None,
        )
    output = text or json.dumps(call.input, ensure_ascii=False)
    return AgentOutcome(RunStatus.SUCCEEDED, messages, usage, output=output, result=call.input, model=model, turns=turn)


def question_kind(call_input: dict[str, Any]) -> tuple[QuestionKind, list[str] | None]:
    """ask_user's kind and options, as the model gave them; a choice without
    usable options, or an unknown kind, is asked as free text (never a question
    no reply can answer)."""
    kind = call_input.get("kind")
    raw = call_input.get("options")
    options = [str(o)[:200] for o in raw[:10] if str(o).strip()] if isinstance(raw, list) else []
    if kind == "choice" and options:
        return "choice", options
    if kind == "confirm":
        return "confirm", None
    return "free_text", None


def answer_pending_question(messages: list[dict[str, Any]], reply: str) -> list[dict[str, Any]]:
    """Append the owner's reply as the result of the pending ask_user call
    (and an error result for any other call of that same turn, which did not run)."""
    last = messages[-1] if messages else None
    if not last or last.get("role") != "assistant":
        raise ValueError("the saved conversation does not end with the question")
    results = []
    for block in last["content"]:
        if block.get("type") != "tool_use":
            continue
        if block["name"] == "ask_user":
            results.append({"type": "tool_result", "tool_use_id": block["id"], "content": reply})
        else:
            results.append(
                {
                    "type": "tool_result",
                    "tool_use_id": block["id"],
                    "content": "not run: the turn paused for the owner's answer; call it again if still needed",
                    "is_error": True,
                }
            )
    return [*messages, {"role": "user", "content": results}]
