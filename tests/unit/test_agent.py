"""The agent without a network: prompt rendering, the system prompt, prompt
caching and the tool loop, with a scripted stand-in for the SDK client that
returns the SDK's own response models."""

from __future__ import annotations

import copy
import time
from datetime import UTC, datetime
from typing import Any

import anthropic
import pytest
from agentcron.agent import (
    AgentRequest,
    RunDeadlineExceeded,
    TemplateError,
    ToolCall,
    ToolResult,
    answer_pending_question,
    render_prompt,
    run_agent,
    system_blocks,
    tool_definitions,
    with_cache_breakpoint,
)
from agentcron.models import AgentConfig, Run, RunError, RunStatus, Task, Trigger, Usage
from agentcron.schedules import CronSchedule, ManualSchedule

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


def task(**overrides: Any) -> Task:
    fields: dict[str, Any] = {
        "id": "task_01KQ0000000000000000000000",
        "owner": "alice",
        "name": "Nightly report",
        "prompt": "p",
        "schedule": ManualSchedule(type="manual"),
        "created_at": NOW,
        "updated_at": NOW,
        **overrides,
    }
    return Task(**fields)


def message(*content: dict[str, Any], stop: str = "end_turn", **usage: int) -> anthropic.types.Message:
    return anthropic.types.Message.model_validate(
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-test",
            "content": list(content),
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 5, **usage},
        }
    )


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def tool_use(name: str, tool_id: str = "toolu_1", **tool_input: Any) -> dict[str, Any]:
    return {"type": "tool_use", "id": tool_id, "name": name, "input": tool_input}


class Scripted:
    """`client.messages.create` answering from a script, recording each request as sent."""

    def __init__(self, *responses: anthropic.types.Message | Exception) -> None:
        self.responses = list(responses)
        self.requests: list[dict[str, Any]] = []
        self.messages = self

    def create(self, **kwargs: Any) -> anthropic.types.Message:
        self.requests.append(copy.deepcopy(kwargs))
        response = self.responses.pop(0)
        if isinstance(response, Exception):
            raise response
        return response


class Tools:
    def __init__(self) -> None:
        self.calls: list[ToolCall] = []

    def __call__(self, call: ToolCall) -> ToolResult:
        self.calls.append(call)
        return ToolResult(f"ran {call.name}")


def request(tools: list[str], *, max_turns: int = 5, deadline: float | None = None) -> AgentRequest:
    return AgentRequest(
        model="claude-test",
        max_tokens=100,
        max_turns=max_turns,
        system=[text("system")],
        messages=[{"role": "user", "content": "do it"}],
        tools=tools,
        run_id="run_1",
        deadline=time.monotonic() + 60 if deadline is None else deadline,
    )


def run(client: Scripted, agent_request: AgentRequest, tools: Tools | None = None) -> Any:
    return run_agent(client, agent_request, tools or Tools())  # type: ignore[arg-type]


# ---- prompt rendering ------------------------------------------------------------------------


def test_run_variables_override_task_defaults() -> None:
    assert render_prompt("{{team}} / {{ region }}", {"team": "a", "region": "eu"}, {"team": "b"}) == "b / eu"


def test_a_missing_variable_names_every_missing_one() -> None:
    with pytest.raises(TemplateError) as caught:
        render_prompt("{{b}} {{a}} {{ok}} {{b}}", {"ok": "1"}, {})
    assert str(caught.value).startswith("the prompt uses {{a}}, {{b}} but neither")


def test_values_are_inserted_literally_not_rendered_again() -> None:
    assert render_prompt("say {{x}}", {}, {"x": "{{y}}"}) == "say {{y}}"


# ---- the system prompt --------------------------------------------------------------------


def test_the_system_prompt_has_a_static_cached_block_and_the_time_in_the_tasks_zone() -> None:
    berlin = task(
        schedule=CronSchedule(type="cron", expression="0 9 * * *", timezone="Europe/Berlin"),
        description="Summarise the incidents.",
    )

    static, dynamic = system_blocks(berlin, NOW, [])
    later_static, later_dynamic = system_blocks(berlin, datetime(2026, 12, 1, 12, 0, tzinfo=UTC), [])

    assert static["cache_control"] == {"type": "ephemeral"}
    assert static == later_static, "the cached prefix does not change from run to run"
    assert "Nightly report" in static["text"] and "Summarise the incidents." in static["text"]
    assert dynamic == {"type": "text", "text": "The current time is 2026-07-01T14:00:00+02:00 (Europe/Berlin)."}
    assert later_dynamic["text"] == "The current time is 2026-12-01T13:00:00+01:00 (Europe/Berlin)."


def test_the_system_prompt_summarises_the_last_runs() -> None:
    def past(hour: int, status: RunStatus, **fields: Any) -> Run:
        return Run(
            id=f"run_{hour}",
            task_id="t",
            owner="alice",
            status=status,
            trigger=Trigger.SCHEDULE,
            scheduled_for=datetime(2026, 6, 30, hour, tzinfo=UTC),
            created_at=NOW,
            **fields,
        )

    recent = [
        past(9, RunStatus.SUCCEEDED, output="line one\nline two " + "x" * 400),
        past(8, RunStatus.FAILED, error=RunError(type="api_error", message="HTTP 500: boom")),
    ]

    _, dynamic = system_blocks(task(), NOW, recent)

    lines = dynamic["text"].splitlines()
    assert lines[1] == "Summaries of this task's most recent runs, newest first:"
    assert lines[2].startswith("- 2026-06-30T09:00:00+00:00 SUCCEEDED: line one line two xxx")
    assert len(lines[2]) == len("- 2026-06-30T09:00:00+00:00 SUCCEEDED: ") + 300, "each summary is short"
    assert lines[3] == "- 2026-06-30T08:00:00+00:00 FAILED: HTTP 500: boom"


def test_only_a_task_that_may_ask_is_told_about_ask_user() -> None:
    assert "ask_user" not in system_blocks(task(), NOW, [])[0]["text"]
    asking = task(agent=AgentConfig(tools=["ask_user"]))
    assert "ask_user" in system_blocks(asking, NOW, [])[0]["text"]


def test_tool_definitions_are_the_allowed_ones_only() -> None:
    definitions = tool_definitions(["recall", "web_search"])

    assert [d["name"] for d in definitions] == ["recall", "web_search"]
    assert definitions[0]["input_schema"]["required"] == ["key"]
    assert definitions[1]["type"].startswith("web_search_"), "the server tool is named by its type"


# ---- prompt caching of the conversation -----------------------------------------------------


def test_a_first_turn_gets_no_conversation_breakpoint() -> None:
    messages = [{"role": "user", "content": "hello"}]
    assert with_cache_breakpoint(messages) is messages


def test_a_conversation_with_history_is_cached_up_to_its_newest_block_without_changing_it() -> None:
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": [tool_use("recall", key="k")]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "v"}]},
    ]
    before = copy.deepcopy(messages)

    sent = with_cache_breakpoint(messages)

    assert sent[-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    assert sent[:-1] == messages[:-1]
    assert messages == before, "the stored conversation keeps no breakpoints (the API allows four)"
    text_last = with_cache_breakpoint([*messages, {"role": "assistant", "content": "ok"}])
    assert text_last[-1]["content"] == [{"type": "text", "text": "ok", "cache_control": {"type": "ephemeral"}}]


# ---- the tool loop ---------------------------------------------------------------------------


def test_a_tool_not_on_the_allow_list_is_never_executed_even_when_the_model_calls_it() -> None:
    client = Scripted(
        message(text("storing"), tool_use("remember", key="colour", value="blue"), stop="tool_use"),
        message(text("could not store it")),
    )
    tools = Tools()

    outcome = run(client, request(["recall"]), tools)

    assert tools.calls == []
    assert outcome.status == RunStatus.SUCCEEDED and outcome.output == "could not store it"
    [result] = client.requests[1]["messages"][2]["content"]
    assert result["is_error"] is True
    assert result["content"] == "tool 'remember' is not allowed for this task"
    assert [tool["name"] for tool in client.requests[0]["tools"]] == ["recall"]


def test_allowed_tools_run_and_their_results_go_back_in_order() -> None:
    client = Scripted(
        message(tool_use("recall", "toolu_a", key="a"), tool_use("recall", "toolu_b", key="b"), stop="tool_use"),
        message(text("done"), cache_read_input_tokens=7, cache_creation_input_tokens=3),
    )
    tools = Tools()

    outcome = run(client, request(["recall"]), tools)

    assert [call.input for call in tools.calls] == [{"key": "a"}, {"key": "b"}]
    results = client.requests[1]["messages"][2]["content"]
    assert [(r["tool_use_id"], r["content"]) for r in results] == [("toolu_a", "ran recall"), ("toolu_b", "ran recall")]
    assert outcome.usage == Usage(
        input_tokens=20, output_tokens=10, cache_read_input_tokens=7, cache_creation_input_tokens=3
    )
    assert outcome.turns == 2 and outcome.model == "claude-test"
    assert client.requests[0]["metadata"] == {"user_id": "run_1"}


def test_ask_user_pauses_and_the_reply_answers_every_call_of_that_turn() -> None:
    client = Scripted(
        message(
            tool_use("ask_user", "toolu_q", question="Which region?"),
            tool_use("recall", "toolu_r", key="k"),
            stop="tool_use",
        )
    )
    tools = Tools()

    outcome = run(client, request(["ask_user", "recall"]), tools)

    assert outcome.status == RunStatus.WAITING_INPUT and outcome.question == "Which region?"
    assert tools.calls == [], "nothing else of the turn ran before the pause"
    resumed = answer_pending_question(outcome.messages, "eu-west-1")
    assert resumed[-1]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_q", "content": "eu-west-1"},
        {
            "type": "tool_result",
            "tool_use_id": "toolu_r",
            "content": "not run: the turn paused for the owner's answer; call it again if still needed",
            "is_error": True,
        },
    ]


def test_ask_user_that_is_not_allowed_does_not_pause() -> None:
    client = Scripted(message(tool_use("ask_user", question="?"), stop="tool_use"), message(text("fine")))

    outcome = run(client, request([]))

    assert outcome.status == RunStatus.SUCCEEDED
    assert client.requests[1]["messages"][2]["content"][0]["is_error"] is True


def test_max_turns_ends_the_loop() -> None:
    client = Scripted(*(message(tool_use("recall", f"toolu_{i}", key="k"), stop="tool_use") for i in range(3)))

    outcome = run(client, request(["recall"], max_turns=3))

    assert outcome.status == RunStatus.FAILED and outcome.error_type == "max_turns_exceeded"
    assert len(client.requests) == 3


@pytest.mark.parametrize(
    ("stop", "status", "error_type", "note"),
    [
        ("refusal", RunStatus.FAILED, "refusal", None),
        ("max_tokens", RunStatus.SUCCEEDED, None, "the answer was cut at max_tokens (100)"),
        ("stop_sequence", RunStatus.SUCCEEDED, None, None),
    ],
)
def test_stop_reasons(stop: str, status: RunStatus, error_type: str | None, note: str | None) -> None:
    outcome = run(Scripted(message(text("partial"), stop=stop)), request([]))

    assert (outcome.status, outcome.error_type) == (status, error_type)
    assert outcome.output == "partial"
    assert outcome.notes == ([note] if note else [])


def test_pause_turn_sends_the_turn_back_to_continue() -> None:
    paused = {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "q"}}
    client = Scripted(message(paused, stop="pause_turn"), message(text("found it")))

    outcome = run(client, request(["web_search"]))

    assert outcome.output == "found it"
    assert client.requests[1]["messages"][-1]["role"] == "assistant"
    assert client.requests[1]["messages"][-1]["content"][0]["type"] == "server_tool_use"


def test_tool_use_without_a_call_fails_instead_of_sending_an_empty_turn() -> None:
    outcome = run(Scripted(message(text("hmm"), stop="tool_use")), request([]))

    assert outcome.status == RunStatus.FAILED and outcome.error_type == "unexpected_stop_reason"


def test_the_deadline_bounds_each_call_and_ends_the_loop() -> None:
    client = Scripted(message(tool_use("recall", key="k"), stop="tool_use"))
    deadline = time.monotonic() + 0.3

    def slow_tool(call: ToolCall) -> ToolResult:
        time.sleep(0.4)
        return ToolResult("late")

    with pytest.raises(RunDeadlineExceeded):
        run_agent(client, request(["recall"], deadline=deadline), slow_tool)  # type: ignore[arg-type]
    assert len(client.requests) == 1
    assert 0 < client.requests[0]["timeout"] <= 0.3, "the SDK call may not outlive the run"
