"""The fake Messages API, driven by the REAL anthropic SDK over loopback HTTP.

Every directive of the fake is exercised through ``Anthropic(base_url=...)``,
so what passes here is what the runner will see: the SDK's response models,
error classes, headers and retry behaviour.
"""

from __future__ import annotations

import http.client
import json
import math
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import pytest
from agentcron_local.fake_model import MAX_SLEEP_SECONDS, FakeModel, parse_directives

MODEL = "claude-fake-1"


def tool(name: str) -> dict[str, Any]:
    return {"name": name, "description": f"the {name} tool", "input_schema": {"type": "object"}}


ALL_TOOLS = [tool(name) for name in ("ask_user", "web_fetch", "remember", "recall", "schedule_followup")]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeModel]:
    with FakeModel() as model:
        yield model


@pytest.fixture
def fake(server: FakeModel) -> FakeModel:
    server.reset()
    return server


@pytest.fixture
def client(fake: FakeModel) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=fake.base_url, api_key="test-key", max_retries=0, timeout=10)


def create(client: anthropic.Anthropic, messages: list[dict[str, Any]], **kwargs: Any) -> anthropic.types.Message:
    kwargs.setdefault("max_tokens", 1024)
    return client.messages.create(model=MODEL, messages=messages, **kwargs)  # type: ignore[arg-type]


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def assistant_turn(message: anthropic.types.Message) -> dict[str, Any]:
    return {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in message.content]}


def tool_use(message: anthropic.types.Message) -> anthropic.types.ToolUseBlock:
    blocks = [block for block in message.content if block.type == "tool_use"]
    assert len(blocks) == 1, message
    block = blocks[0]
    assert isinstance(block, anthropic.types.ToolUseBlock)
    return block


def final_text(message: anthropic.types.Message) -> str:
    assert message.stop_reason == "end_turn", message
    assert len(message.content) == 1
    block = message.content[0]
    assert isinstance(block, anthropic.types.TextBlock)
    return block.text


def drive(
    client: anthropic.Anthropic,
    prompt: str,
    answers: dict[str, Any],
    *,
    tools: list[dict[str, Any]] | None = None,
) -> tuple[list[tuple[str, dict[str, Any]]], anthropic.types.Message]:
    """Run the tool loop like the runner will: answer each call with ``answers[tool name]``."""
    messages = [user(prompt)]
    calls: list[tuple[str, dict[str, Any]]] = []
    for _ in range(10):
        reply = create(client, messages, tools=ALL_TOOLS if tools is None else tools)
        if reply.stop_reason != "tool_use":
            return calls, reply
        call = tool_use(reply)
        calls.append((call.name, dict(call.input)))
        messages += [
            assistant_turn(reply),
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": call.id, "content": answers[call.name]}],
            },
        ]
    raise AssertionError("the fake never ended its turn")


def raw_post(
    fake: FakeModel, body: bytes | dict[str, Any], headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], dict[str, Any]]:
    host, port = fake.base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent = {"content-type": "application/json", "x-api-key": "k", "anthropic-version": "2023-06-01"}
    sent.update(headers or {})
    connection.request("POST", "/v1/messages", body=data, headers={k: v for k, v in sent.items() if v})
    response = connection.getresponse()
    payload = json.loads(response.read())
    connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, payload


VALID = {"model": MODEL, "max_tokens": 64, "messages": [user("hi")]}


# --------------------------------------------------------------------------- no directive


def test_no_directive_ends_with_done_quoting_the_first_line(client: anthropic.Anthropic) -> None:
    reply = create(client, [user("\n  Summarise the open incidents  \nSecond line")])

    assert final_text(reply) == "Done: Summarise the open incidents"
    assert reply.type == "message"
    assert reply.role == "assistant"
    assert reply.model == MODEL
    assert reply.id.startswith("msg_")
    assert reply.stop_sequence is None


def test_usage_is_chars_over_four_of_request_and_answer(client: anthropic.Anthropic) -> None:
    reply = create(client, [user("x" * 400)])

    # '"xxx...x"' is 402 JSON characters: ceil(402 / 4) = 101 input tokens.
    assert reply.usage.input_tokens == 101
    answer = [{"type": "text", "text": "Done: " + "x" * 400}]
    assert reply.usage.output_tokens == math.ceil(len(json.dumps(answer, separators=(",", ":"))) / 4)
    assert reply.usage.cache_creation_input_tokens == 0
    assert reply.usage.cache_read_input_tokens == 0


def test_same_request_gives_the_same_answer(client: anthropic.Anthropic) -> None:
    first = create(client, [user("ask: Which region?")], tools=ALL_TOOLS)
    second = create(client, [user("ask: Which region?")], tools=ALL_TOOLS)

    assert first.model_dump() == second.model_dump()
    assert tool_use(first).id.startswith("toolu_")


def test_cache_control_prefix_is_written_first_then_read(client: anthropic.Anthropic) -> None:
    system = [{"type": "text", "text": "s" * 398, "cache_control": {"type": "ephemeral"}}]
    first = create(client, [user("ask: Proceed?")], system=system, tools=ALL_TOOLS)
    second = create(
        client,
        [
            user("ask: Proceed?"),
            assistant_turn(first),
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": tool_use(first).id, "content": "yes"}],
            },
        ],
        system=system,
        tools=ALL_TOOLS,
    )

    # The cached prefix runs through the system block: the tools' JSON plus the block's JSON.
    prefix_chars = sum(len(json.dumps(t, sort_keys=True, separators=(",", ":"))) for t in ALL_TOOLS) + len(
        json.dumps(system[0], sort_keys=True, separators=(",", ":"))
    )
    assert first.usage.cache_creation_input_tokens == math.ceil(prefix_chars / 4)
    assert first.usage.cache_read_input_tokens == 0
    assert second.usage.cache_creation_input_tokens == 0
    assert second.usage.cache_read_input_tokens == math.ceil(prefix_chars / 4)
    assert final_text(second) == "Answer received: yes"


def test_system_prompt_is_not_scanned_for_directives(client: anthropic.Anthropic) -> None:
    reply = create(client, [user("Daily digest")], system="ask: should not happen\nfail: 500 x9", tools=ALL_TOOLS)

    assert final_text(reply) == "Done: Daily digest"


def test_a_malformed_directive_is_prose(client: anthropic.Anthropic) -> None:
    reply = create(client, [user("Notes\nremember: the meeting moved\nfollowup: soon check\nfail: often")])

    assert final_text(reply) == "Done: Notes"


def test_an_answer_longer_than_max_tokens_is_cut(client: anthropic.Anthropic) -> None:
    reply = create(client, [user("A long first line for a tiny budget")], max_tokens=2)

    assert reply.stop_reason == "max_tokens"
    assert reply.content[0].type == "text"
    assert reply.content[0].text == "Done: A "  # 2 tokens = 8 characters


# --------------------------------------------------------------------------- tool directives


def test_ask_calls_ask_user_then_reports_the_reply(client: anthropic.Anthropic) -> None:
    prompt = "Deploy check\nask: Which environment?"
    first = create(client, [user(prompt)], tools=ALL_TOOLS)

    assert first.stop_reason == "tool_use"
    call = tool_use(first)
    assert call.name == "ask_user"
    assert call.input == {"question": "Which environment?"}
    assert first.content[0].type == "text"  # a short preamble, as Claude writes

    # The reply comes back as the tool_result, possibly in a later invocation, as a list of blocks.
    second = create(
        client,
        [
            user(prompt),
            assistant_turn(first),
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": call.id,
                        "content": [{"type": "text", "text": "staging"}],
                    }
                ],
            },
        ],
        tools=ALL_TOOLS,
    )
    assert final_text(second) == "Answer received: staging"
    assert second.id != first.id


def test_fetch_quotes_the_first_200_characters(client: anthropic.Anthropic) -> None:
    page = "".join(f"{i:04d}" for i in range(200))  # 800 distinct characters
    calls, reply = drive(client, "fetch: https://example.com/status", {"web_fetch": page})

    assert calls == [("web_fetch", {"url": "https://example.com/status"})]
    assert final_text(reply) == f"Fetched https://example.com/status: {page[:200]}"


def test_remember_then_recall_in_prompt_order(client: anthropic.Anthropic) -> None:
    calls, reply = drive(
        client,
        "Memory test\nremember: colour = blue sky\nrecall: colour",
        {"remember": "Stored colour.", "recall": "blue sky"},
    )

    assert calls == [("remember", {"key": "colour", "value": "blue sky"}), ("recall", {"key": "colour"})]
    assert final_text(reply) == "Remembered colour=blue sky: Stored colour.\nRecalled colour: blue sky"


def test_followup_passes_delay_and_prompt(client: anthropic.Anthropic) -> None:
    calls, reply = drive(client, "followup: 3600 Check the deploy again", {"schedule_followup": "task_01ABC"})

    assert calls == [("schedule_followup", {"delay_seconds": 3600, "prompt": "Check the deploy again"})]
    assert final_text(reply) == "Follow-up scheduled: task_01ABC"


def test_several_directives_run_one_per_turn_and_are_summarised(client: anthropic.Anthropic, fake: FakeModel) -> None:
    prompt = "Morning run\nask: Go?\nfetch: https://example.com/a\nremember: last=ok\nfollowup: 60 again"
    calls, reply = drive(
        client,
        prompt,
        {"ask_user": "go", "web_fetch": "page A", "remember": "saved", "schedule_followup": "task_X"},
    )

    assert [name for name, _ in calls] == ["ask_user", "web_fetch", "remember", "schedule_followup"]
    assert final_text(reply).splitlines() == [
        "Answer received: go",
        "Fetched https://example.com/a: page A",
        "Remembered last=ok: saved",
        "Follow-up scheduled: task_X",
    ]
    assert len(fake.requests) == 5
    # The last request echoed all four calls back, each with its own id.
    ids = [
        block["id"]
        for message in fake.requests[-1]["messages"]
        if message["role"] == "assistant"
        for block in message["content"]
        if block["type"] == "tool_use"
    ]
    assert len(set(ids)) == 4


def test_a_tool_input_can_name_an_earlier_steps_result(client: anthropic.Anthropic) -> None:
    mail = [tool("draft_email"), tool("send_email")]
    prompt = 'Mail\ntool: draft_email {"to": "r@example.com"}\ntool: send_email {"draft_id": "{{step1.id}}", "n": 1}'
    answers = {"draft_email": '{"id": "draft_7", "to": "r@example.com"}', "send_email": "sent"}
    calls, _ = drive(client, prompt, answers, tools=mail)
    assert calls == [("draft_email", {"to": "r@example.com"}), ("send_email", {"draft_id": "draft_7", "n": 1})]
    # A result that is not JSON, or a step not yet run, leaves the text as written.
    answers["draft_email"] = "not json"
    calls, _ = drive(client, prompt, answers, tools=mail)
    assert calls[1] == ("send_email", {"draft_id": "{{step1.id}}", "n": 1})


def test_a_question_answered_no_stops_the_steps_after_it(client: anthropic.Anthropic) -> None:
    prompt = "Send?\nask: Send it?\nremember: sent=yes"
    calls, reply = drive(client, prompt, {"ask_user": "No", "remember": "saved"})
    assert [name for name, _ in calls] == ["ask_user"]
    assert final_text(reply).splitlines() == ["Answer received: No", "Stopped: the owner declined (1 step(s) not run)"]
    calls, reply = drive(client, prompt, {"ask_user": "yes", "remember": "saved"})
    assert [name for name, _ in calls] == ["ask_user", "remember"]


def test_a_tool_not_offered_is_never_called(client: anthropic.Anthropic) -> None:
    reply = create(client, [user("fetch: https://example.com")], tools=[tool("ask_user")])
    assert final_text(reply) == "Tool web_fetch is not available to this task"

    no_tools = create(client, [user("ask: Anyone there?")])
    assert final_text(no_tools) == "Tool ask_user is not available to this task"

    # tool_choice none offers nothing, whatever the list says.
    none_choice = create(client, [user("ask: Anyone?")], tools=ALL_TOOLS, tool_choice={"type": "none"})
    assert final_text(none_choice) == "Tool ask_user is not available to this task"


def test_a_missing_later_tool_ends_after_the_earlier_steps(client: anthropic.Anthropic) -> None:
    calls, reply = drive(
        client, "recall: a\nfollowup: 60 later", {"recall": "found A"}, tools=[tool("recall"), tool("ask_user")]
    )

    assert calls == [("recall", {"key": "a"})]
    assert final_text(reply) == "Recalled a: found A\nTool schedule_followup is not available to this task"


def test_an_error_tool_result_ends_the_turn_quoting_the_error(client: anthropic.Anthropic) -> None:
    prompt = "fetch: http://127.0.0.1/admin\nremember: k=v"
    first = create(client, [user(prompt)], tools=ALL_TOOLS)
    call = tool_use(first)
    reply = create(
        client,
        [
            user(prompt),
            assistant_turn(first),
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": call.id,
                        "is_error": True,
                        "content": "refused: 127.0.0.1 is a loopback address",
                    }
                ],
            },
        ],
        tools=ALL_TOOLS,
    )

    assert final_text(reply) == "web_fetch failed: refused: 127.0.0.1 is a loopback address"


# --------------------------------------------------------------------------- fail / sleep


def test_fail_429_answers_rate_limit_with_retry_after_then_succeeds(client: anthropic.Anthropic) -> None:
    messages = [user("Report\nfail: 429 x2")]
    for _ in range(2):
        with pytest.raises(anthropic.RateLimitError) as caught:
            create(client, messages, metadata={"user_id": "run_429"})
        assert caught.value.status_code == 429
        assert caught.value.response.headers["retry-after"] == "1"
        assert caught.value.type == "rate_limit_error"
        assert caught.value.body == {"type": "error", "error": caught.value.response.json()["error"]}
        assert caught.value.request_id is not None
        assert caught.value.request_id.startswith("req_")

    assert final_text(create(client, messages, metadata={"user_id": "run_429"})) == "Done: Report"


@pytest.mark.parametrize(
    ("status", "error_class", "error_type"),
    [
        (500, anthropic.InternalServerError, "api_error"),
        (529, anthropic.OverloadedError, "overloaded_error"),
        (503, anthropic.ServiceUnavailableError, "api_error"),
        (400, anthropic.BadRequestError, "invalid_request_error"),
    ],
)
def test_fail_status_maps_to_the_sdk_error_class(
    client: anthropic.Anthropic, status: int, error_class: type[anthropic.APIStatusError], error_type: str
) -> None:
    with pytest.raises(error_class) as caught:
        create(client, [user(f"fail: {status} x1")])

    assert caught.value.status_code == status
    assert caught.value.type == error_type
    assert "retry-after" not in caught.value.response.headers
    assert final_text(create(client, [user(f"fail: {status} x1")])) == f"Done: fail: {status} x1"


def test_chained_fail_lines_apply_in_order(client: anthropic.Anthropic) -> None:
    messages = [user("fail: 429 x1\nfail: 500 x2")]
    seen = []
    for _ in range(4):
        try:
            create(client, messages)
            seen.append(200)
        except anthropic.APIStatusError as exc:
            seen.append(exc.status_code)

    assert seen == [429, 500, 500, 200]


def test_fail_counts_are_per_run(client: anthropic.Anthropic) -> None:
    messages = [user("fail: 500 x1")]
    # By metadata.user_id: two runs of the same prompt each get their own failure.
    for run_id in ("run_a", "run_b"):
        with pytest.raises(anthropic.InternalServerError):
            create(client, messages, metadata={"user_id": run_id})
        create(client, messages, metadata={"user_id": run_id})
    # Without metadata, by the first message and system prompt: another system prompt is another run.
    with pytest.raises(anthropic.InternalServerError):
        create(client, messages, system="task one")
    with pytest.raises(anthropic.InternalServerError):
        create(client, messages, system="task two")
    assert final_text(create(client, messages, system="task one")) == "Done: fail: 500 x1"


def test_fail_counts_every_turn_of_the_run(client: anthropic.Anthropic) -> None:
    """The count is of requests in the run, not per turn: a later turn does not fail again."""
    prompt = "ask: ok?\nfail: 529 x1"
    with pytest.raises(anthropic.OverloadedError):
        create(client, [user(prompt)], tools=ALL_TOOLS, metadata={"user_id": "run_turns"})
    first = create(client, [user(prompt)], tools=ALL_TOOLS, metadata={"user_id": "run_turns"})
    reply = create(
        client,
        [
            user(prompt),
            assistant_turn(first),
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_use(first).id, "content": "y"}]},
        ],
        tools=ALL_TOOLS,
        metadata={"user_id": "run_turns"},
    )
    assert final_text(reply) == "Answer received: y"


def test_sdk_retry_consumes_one_529(fake: FakeModel) -> None:
    retrying = anthropic.Anthropic(base_url=fake.base_url, api_key="k", max_retries=1, timeout=10)
    started = time.monotonic()
    reply = create(retrying, [user("Retry me\nfail: 529 x1")])
    elapsed = time.monotonic() - started

    assert final_text(reply) == "Done: Retry me"
    assert len(fake.requests) == 2
    # The SDK's own backoff (about 0.4-0.5 s with no retry-after) happened, and nothing longer.
    assert 0.3 < elapsed < 3


def test_reset_forgets_run_counts_and_requests(client: anthropic.Anthropic, fake: FakeModel) -> None:
    with pytest.raises(anthropic.InternalServerError):
        create(client, [user("fail: 500 x1")])
    assert len(fake.requests) == 1
    fake.reset()
    assert fake.requests == []
    with pytest.raises(anthropic.InternalServerError):
        create(client, [user("fail: 500 x1")])


def test_sleep_delays_the_answer(client: anthropic.Anthropic) -> None:
    started = time.monotonic()
    reply = create(client, [user("Slow\nsleep: 0.4")])

    assert final_text(reply) == "Done: Slow"
    assert time.monotonic() - started >= 0.4


def test_sleep_longer_than_the_client_timeout_times_out(fake: FakeModel) -> None:
    impatient = anthropic.Anthropic(base_url=fake.base_url, api_key="k", max_retries=0, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(anthropic.APITimeoutError):
        create(impatient, [user("sleep: 2")])
    assert time.monotonic() - started < 1.5


def test_sleep_is_capped_and_fail_defaults_to_once() -> None:
    assert parse_directives("sleep: 5000").sleep_seconds == MAX_SLEEP_SECONDS
    assert parse_directives("sleep: 0.25\nsleep: 9").sleep_seconds == 0.25
    assert parse_directives("sleep: -1").sleep_seconds == 0.0
    script = parse_directives("fail: 529\nfail: 429 x3\nfail: 200 x1")
    assert [(rule.status, rule.count) for rule in script.fails] == [(529, 1), (429, 3)]


def test_stop_wakes_a_sleeping_request_promptly() -> None:
    model = FakeModel().start()
    client = anthropic.Anthropic(base_url=model.base_url, api_key="k", max_retries=0, timeout=30)
    errors: list[BaseException] = []

    def call() -> None:
        try:
            create(client, [user("sleep: 60")])
        except anthropic.APIConnectionError as exc:
            errors.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    time.sleep(0.3)
    started = time.monotonic()
    model.stop()
    thread.join(timeout=5)

    assert time.monotonic() - started < 2
    assert not thread.is_alive()
    assert len(errors) == 1  # the connection was closed, not answered


# --------------------------------------------------------------------------- HTTP surface


def test_accepts_x_api_key_or_bearer_and_any_version(fake: FakeModel) -> None:
    status, headers, body = raw_post(fake, VALID, {"x-api-key": "k1", "anthropic-version": "1999-01-01"})
    assert status == 200
    assert body["content"] == [{"type": "text", "text": "Done: hi"}]
    assert headers["content-type"] == "application/json"
    assert headers["request-id"].startswith("req_")

    status, _, body = raw_post(fake, VALID, {"x-api-key": "", "authorization": "Bearer sk-test"})
    assert status == 200

    # The SDK itself sends a Bearer token (see NOTES.md) and a recent version.
    assert fake.requests[-1]["model"] == MODEL


@pytest.mark.parametrize(
    ("headers", "status", "error_type"),
    [
        ({"x-api-key": ""}, 401, "authentication_error"),
        ({"x-api-key": "", "authorization": "Bearer "}, 401, "authentication_error"),
        ({"x-api-key": "", "authorization": "Basic dXNlcjpwdw=="}, 401, "authentication_error"),
        ({"anthropic-version": ""}, 400, "invalid_request_error"),
    ],
)
def test_missing_credentials_or_version_are_refused(
    fake: FakeModel, headers: dict[str, str], status: int, error_type: str
) -> None:
    got_status, _, body = raw_post(fake, VALID, headers)

    assert got_status == status
    assert body["type"] == "error"
    assert body["error"]["type"] == error_type


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"max_tokens": 10, "messages": [user("hi")]}, "model: Field required"),
        ({"model": MODEL, "messages": [user("hi")]}, "max_tokens: Field required"),
        ({"model": MODEL, "max_tokens": 10}, "messages: Field required"),
        ({"model": MODEL, "max_tokens": 0, "messages": [user("hi")]}, "max_tokens: Input should be"),
        ({"model": MODEL, "max_tokens": 10, "messages": []}, "messages: at least one message"),
        (
            {"model": MODEL, "max_tokens": 10, "messages": [{"role": "assistant", "content": "x"}]},
            'messages.0.role: the first message must use the "user" role',
        ),
        ({**VALID, "stream": True}, "stream: streaming is not supported"),
        ({**VALID, "tools": [tool("recall"), tool("recall")]}, "tools: Tool names must be unique."),
        ({**VALID, "tools": [{"name": "x"}]}, "tools.0.custom.input_schema: Field required"),
        ({**VALID, "system": [{"type": "image"}]}, "system: Input should be"),
        ({**VALID, "metadata": {"user_id": 7}}, "metadata.user_id: Input should be a string"),
        (
            {
                **VALID,
                "messages": [
                    user("hi"),
                    {"role": "assistant", "content": "sure"},
                    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_x", "content": "a"}]},
                ],
            },
            "messages.2.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_x",
        ),
        (
            {
                **VALID,
                "messages": [
                    user("hi"),
                    {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_y", "name": "r", "input": {}}]},
                    user("forgot the result"),
                ],
            },
            "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_y",
        ),
    ],
)
def test_invalid_requests_get_400_like_the_api(fake: FakeModel, body: dict[str, Any], message: str) -> None:
    status, _, answer = raw_post(fake, body)

    assert status == 400
    assert answer["type"] == "error"
    assert answer["error"]["type"] == "invalid_request_error"
    assert answer["error"]["message"].startswith(message)


def test_bad_json_and_sdk_side_bad_request(fake: FakeModel, client: anthropic.Anthropic) -> None:
    status, _, body = raw_post(fake, b"{not json")
    assert status == 400
    assert body["error"]["type"] == "invalid_request_error"

    with pytest.raises(anthropic.BadRequestError) as caught:
        create(client, [user("hi")], max_tokens=0)
    assert caught.value.type == "invalid_request_error"
    assert caught.value.api_message == "max_tokens: Input should be an integer greater than or equal to 1"


def test_health_and_unknown_paths(fake: FakeModel) -> None:
    host, port = fake.base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    connection.request("GET", "/health")
    response = connection.getresponse()
    assert (response.status, json.loads(response.read())) == (200, {"status": "ok"})
    # Same keep-alive connection: the server keeps HTTP/1.1 framing straight.
    connection.request("GET", "/v1/models")
    response = connection.getresponse()
    assert response.status == 404
    assert json.loads(response.read())["error"]["type"] == "not_found_error"
    connection.close()


# --------------------------------------------------------------------------- concurrency


def test_concurrent_runs_keep_their_own_counts_and_answers(fake: FakeModel) -> None:
    client = anthropic.Anthropic(base_url=fake.base_url, api_key="k", max_retries=0, timeout=10)
    threads_count, per_thread = 8, 5
    outcomes: dict[int, list[str]] = {}
    barrier = threading.Barrier(threads_count)

    def worker(index: int) -> None:
        seen: list[str] = []
        barrier.wait()
        for _ in range(per_thread):
            try:
                reply = create(client, [user(f"Task {index}\nfail: 500 x2")], metadata={"user_id": f"run_{index}"})
                seen.append(final_text(reply))
            except anthropic.InternalServerError:
                seen.append("500")
        outcomes[index] = seen

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert outcomes == {index: ["500", "500"] + [f"Done: Task {index}"] * 3 for index in range(threads_count)}
    assert len(fake.requests) == threads_count * per_thread


# --------------------------------------------------------------------------- the command


def test_module_command_serves_until_terminated() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "agentcron_local.fake_model", "--port", "0", "--quiet"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("fake Messages API listening on http://127.0.0.1:")
        port = int(line.rsplit(":", 1)[1])
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", "/health")
        assert connection.getresponse().status == 200
        connection.close()
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


# --------------------------------------------------------------------------- tool: NAME {json}


def test_tool_directive_calls_any_offered_tool_with_its_input_then_quotes_the_result(
    client: anthropic.Anthropic,
) -> None:
    prompt = 'Make a task\ntool: create_task {"name": "digest", "schedule": {"type": "manual"}}'
    offered = [tool("create_task")]
    first = create(client, [user(prompt)], tools=offered)

    call = tool_use(first)
    assert call.name == "create_task"
    assert call.input == {"name": "digest", "schedule": {"type": "manual"}}
    result = {"type": "tool_result", "tool_use_id": call.id, "content": '{"id": "task_1"}'}
    second = create(client, [user(prompt), assistant_turn(first), {"role": "user", "content": [result]}], tools=offered)
    assert final_text(second) == 'create_task returned: {"id": "task_1"}'


def test_a_tool_directive_without_a_json_object_is_prose(client: anthropic.Anthropic) -> None:
    prompt = "tool: create_task please\ntool: create_task [1, 2]"
    answer = create(client, [user(prompt)], tools=[tool("create_task")])
    assert final_text(answer) == f"Done: {prompt.splitlines()[0]}"
