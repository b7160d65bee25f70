"""A deterministic fake of the Anthropic Messages API, for the local stack and tests.

The real ``anthropic`` SDK talks to it through ``Anthropic(base_url=...)``, so
the runner's code path is the production one: same client, same retries, same
error classes. Only ``POST /v1/messages`` (non-streaming) and ``GET /health``
are served, on loopback by default.

What the fake answers is driven by directives, one per line, in the text of the
latest user message that holds text (a run's rendered prompt; in a conversation,
the user's latest message, its last text block). The system prompt is never
scanned: it carries summaries of earlier runs, which may quote directive-like lines.

=============================  ==============================================
line                           the fake
=============================  ==============================================
(no tool directive)            ends the turn: ``Done: <first line of prompt>``
``ask: QUESTION``              calls ``ask_user``; then ``Answer received: REPLY``
``fetch: URL``                 calls ``web_fetch``; then quotes <= 200 chars of it
``remember: KEY=VALUE``        calls ``remember``; then says what was stored
``recall: KEY``                calls ``recall``; then says what was found
``followup: SECONDS PROMPT``   calls ``schedule_followup``; then quotes the result
``tool: NAME {json}``          calls any offered tool NAME with that input; then quotes the result
``fail: STATUS xN``            answers HTTP STATUS to the run's first N requests
``sleep: SECONDS``             waits that long before every answer (cap 900 s)
``usage: INPUT OUTPUT``        every answer reports these token counts (no cache tokens)
=============================  ==============================================

Rules, all deterministic:

- Tool directives run in prompt order, one ``tool_use`` per turn. The number
  of ``tool_result`` blocks already in the conversation says which is next, so
  the fake keeps no conversation state and a resumed run (``ask_user`` reply
  in a new Lambda invocation) continues exactly where it stopped.
- A ``tool:`` input's string value ``{{stepN.FIELD}}`` is FIELD of step N's result read as
  JSON (1-based): ``tool: mail__send_email {"draft_id": "{{step2.id}}"}`` sends the draft step
  2 made, as a model would use an id a previous call returned.
- An ``ask:`` answered ``no`` (or ``n``, ``cancel``, ``stop``) ends the turn there:
  ``Stopped: the owner declined (N step(s) not run)``; the steps after it need a yes.
- The final text has one line per completed step (e.g. ``Answer received:
  yes``); with a single ``ask:`` it is exactly ``Answer received: REPLY``.
- ``tool_choice`` ``{"type": "tool", "name": NAME}`` makes the answer a call of
  NAME, with the input of the script's ``tool: NAME`` line if it has one, else ``{}``.
- A tool not offered in the request's ``tools`` (or ``tool_choice`` none) is
  never called: the turn ends with ``Tool NAME is not available to this task``.
- A last ``tool_result`` with ``is_error: true`` ends the turn at once, the
  error text quoted (``NAME failed: ERROR``): the runner's error path is
  visible in the run's output.
- Several ``fail:`` lines chain: ``fail: 429 x1`` then ``fail: 500 x2`` gives
  429, 500, 500, then answers. Requests are counted per run: by
  ``metadata.user_id`` when present (the runner should send the run id, so the
  count spans queue retries and resumes), else by a hash of the first user
  message and the system prompt.
- A malformed directive line (``remember: no equals sign``) is ordinary prose,
  not a directive: prompts are written by people, and "remember: the meeting
  moved" must not break a run.
- Token counts are chars/4 of the request and of the answer; blocks marked
  ``cache_control`` are reported as cache writes on a conversation's first
  request and cache reads afterwards, as the API does. An answer longer than
  ``max_tokens`` is cut and ends with ``stop_reason: max_tokens``.

Requests are validated the way the API does (missing ``model``/``max_tokens``/
``messages``, tool_use/tool_result pairing, unique tool names, ...), answering
400 ``invalid_request_error``, so a runner bug shows up here and not first in
production.

Run it standalone for the local stack: ``python -m agentcron_local.fake_model --port 8787``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import re
import socket
import sys
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

from agentcron_local.threads import run_until_signal, serve_in_thread

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787

# The API's own request size limit for the Messages endpoint.
MAX_BODY_BYTES = 32 * 1024 * 1024
MAX_SLEEP_SECONDS = 900.0
# Bounds on what the server keeps in memory, so a long-lived local stack does not grow forever.
MAX_RECORDED_REQUESTS = 10_000
MAX_TRACKED_RUNS = 10_000
FETCH_QUOTE_CHARS = 200

# Directive keyword -> the tool it calls.
TOOL_DIRECTIVES: dict[str, str] = {
    "ask": "ask_user",
    "fetch": "web_fetch",
    "remember": "remember",
    "recall": "recall",
    "followup": "schedule_followup",
}
# Lowercase keyword at the start of a line (indentation allowed), then a colon.
_DIRECTIVE_LINE = re.compile(r"^\s*(ask|fetch|remember|recall|followup|tool|fail|sleep|usage)\s*:\s*(.*?)\s*$")
_USAGE_ARGS = re.compile(r"^(\d{1,9})\s+(\d{1,9})$")
_TOOL_ARGS = re.compile(r"^([A-Za-z0-9_-]{1,64})\s+(\{.*\})$")
TOOL_QUOTE_CHARS = 2000
_FAIL_ARGS = re.compile(r"^(\d{3})(?:\s+x\s*(\d+))?$")
_FOLLOWUP_ARGS = re.compile(r"^(\d+)\s+(\S.*)$")

# The API's error type for each status a `fail:` directive may ask for.
ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
_ERROR_MESSAGES: dict[str, str] = {
    "rate_limit_error": "Number of request tokens has exceeded your per-minute rate limit",
    "overloaded_error": "Overloaded",
    "api_error": "Internal server error",
}


# --------------------------------------------------------------------------- directives


@dataclass(frozen=True)
class ToolStep:
    """One tool call the fake will make, in prompt order."""

    tool: str
    input: dict[str, Any]


@dataclass(frozen=True)
class FailRule:
    status: int
    count: int


@dataclass(frozen=True)
class Script:
    """What a prompt's directives ask the fake to do."""

    first_line: str
    steps: tuple[ToolStep, ...] = ()
    fails: tuple[FailRule, ...] = ()
    sleep_seconds: float = 0.0
    # (input, output) tokens every answer reports instead of the chars/4 count.
    usage: tuple[int, int] | None = None


def parse_directives(prompt: str) -> Script:
    """Read the directives of a rendered prompt; lines that do not parse are prose."""
    steps: list[ToolStep] = []
    fails: list[FailRule] = []
    sleep_seconds: float | None = None
    usage: tuple[int, int] | None = None
    for line in prompt.splitlines():
        match = _DIRECTIVE_LINE.match(line)
        if match is None:
            continue
        keyword, arg = match.group(1), match.group(2)
        if keyword == "fail":
            rule = _parse_fail(arg)
            if rule is not None:
                fails.append(rule)
        elif keyword == "usage":
            tokens = _USAGE_ARGS.match(arg)
            if tokens is not None and usage is None:
                usage = (int(tokens.group(1)), int(tokens.group(2)))
        elif keyword == "sleep":
            seconds = _parse_sleep(arg)
            # The first sleep line wins, like the first of any repeated setting.
            if seconds is not None and sleep_seconds is None:
                sleep_seconds = seconds
        else:
            step = _parse_tool_step(keyword, arg)
            if step is not None:
                steps.append(step)
    first_line = next((line.strip() for line in prompt.splitlines() if line.strip()), "")
    return Script(
        first_line=first_line,
        steps=tuple(steps),
        fails=tuple(fails),
        sleep_seconds=sleep_seconds or 0.0,
        usage=usage,
    )


def _parse_fail(arg: str) -> FailRule | None:
    match = _FAIL_ARGS.match(arg)
    if match is None:
        return None
    status = int(match.group(1))
    count = int(match.group(2)) if match.group(2) is not None else 1
    if not 400 <= status <= 599:
        return None
    return FailRule(status=status, count=count)


def _parse_sleep(arg: str) -> float | None:
    try:
        seconds = float(arg)
    except ValueError:
        return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return min(seconds, MAX_SLEEP_SECONDS)


def _parse_generic_tool(arg: str) -> ToolStep | None:
    """``NAME {json}``: any tool, with an input object (anything else is prose)."""
    match = _TOOL_ARGS.match(arg)
    if match is None:
        return None
    try:
        tool_input = json.loads(match.group(2))
    except ValueError:
        return None
    return ToolStep(match.group(1), tool_input) if isinstance(tool_input, dict) else None


def _parse_tool_step(keyword: str, arg: str) -> ToolStep | None:
    if keyword == "tool":
        return _parse_generic_tool(arg)
    tool = TOOL_DIRECTIVES[keyword]
    if not arg:
        return None
    if keyword == "ask":
        return ToolStep(tool, {"question": arg})
    if keyword == "fetch":
        return ToolStep(tool, {"url": arg})
    if keyword == "recall":
        return ToolStep(tool, {"key": arg})
    if keyword == "remember":
        key, sep, value = arg.partition("=")
        if not sep or not key.strip():
            return None
        return ToolStep(tool, {"key": key.strip(), "value": value.strip()})
    # followup: the delay is passed through unchecked, so the runner's own bounds can be tested.
    match = _FOLLOWUP_ARGS.match(arg)
    if match is None:
        return None
    return ToolStep(tool, {"delay_seconds": int(match.group(1)), "prompt": match.group(2)})


# --------------------------------------------------------------------------- request helpers


class InvalidRequest(Exception):
    """A request the real API would answer with 400 invalid_request_error."""


def block_text(content: Any) -> str:
    """The text of a message's or a tool_result's content: a string or a list of blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(block.get("text", "")) for block in content if isinstance(block, dict) and block.get("type") == "text"
        )
    return ""


def _blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    if isinstance(content, list):
        return [block for block in content if isinstance(block, dict)]
    return []


def validate_request(body: Any) -> None:
    """Reject what the Messages API rejects, with its style of message (``path: problem``)."""
    if not isinstance(body, dict):
        raise InvalidRequest("request body must be a JSON object")
    for name in ("model", "max_tokens", "messages"):
        if name not in body:
            raise InvalidRequest(f"{name}: Field required")
    if not isinstance(body["model"], str) or not body["model"]:
        raise InvalidRequest("model: Input should be a non-empty string")
    max_tokens = body["max_tokens"]
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise InvalidRequest("max_tokens: Input should be an integer greater than or equal to 1")
    if body.get("stream"):
        raise InvalidRequest("stream: streaming is not supported by the fake model")
    _validate_system(body.get("system"))
    _validate_tools(body.get("tools"))
    metadata = body.get("metadata")
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise InvalidRequest("metadata: Input should be an object")
        user_id = metadata.get("user_id")
        if user_id is not None and (not isinstance(user_id, str) or len(user_id) > 256):
            raise InvalidRequest("metadata.user_id: Input should be a string of at most 256 characters")
    _validate_messages(body["messages"])


def _validate_system(system: Any) -> None:
    if system is None or isinstance(system, str):
        return
    if not isinstance(system, list) or not all(
        isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str)
        for block in system
    ):
        raise InvalidRequest("system: Input should be a string or a list of text blocks")


def _validate_tools(tools: Any) -> None:
    if tools is None:
        return
    if not isinstance(tools, list):
        raise InvalidRequest("tools: Input should be a valid list")
    seen: set[str] = set()
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str) or not tool["name"]:
            raise InvalidRequest(f"tools.{index}.name: Field required")
        # Custom tools need a schema; server tools (e.g. "web_search_20250305") are named by type.
        if tool.get("type", "custom") == "custom" and not isinstance(tool.get("input_schema"), dict):
            raise InvalidRequest(f"tools.{index}.custom.input_schema: Field required")
        if tool["name"] in seen:
            raise InvalidRequest("tools: Tool names must be unique.")
        seen.add(tool["name"])


def _validate_messages(messages: Any) -> None:
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("messages: at least one message is required")
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise InvalidRequest(f"messages.{index}: Input should be an object")
        if message.get("role") not in ("user", "assistant"):
            raise InvalidRequest(f"messages.{index}.role: Input should be 'user' or 'assistant'")
        content = message.get("content")
        if isinstance(content, str):
            continue
        if not isinstance(content, list) or not all(
            isinstance(block, dict) and isinstance(block.get("type"), str) for block in content
        ):
            raise InvalidRequest(f"messages.{index}.content: Input should be a string or a list of blocks")
    if messages[0]["role"] != "user":
        raise InvalidRequest('messages.0.role: the first message must use the "user" role')
    _validate_tool_pairing(messages)


def _validate_tool_pairing(messages: list[dict[str, Any]]) -> None:
    """Every tool_use is answered in the very next message, and nothing else is."""
    for index, message in enumerate(messages):
        blocks = _blocks(message)
        if message["role"] == "assistant":
            tool_use_ids = []
            for block_index, block in enumerate(blocks):
                if block["type"] != "tool_use":
                    continue
                if not isinstance(block.get("id"), str) or not isinstance(block.get("input"), dict):
                    raise InvalidRequest(f"messages.{index}.content.{block_index}.tool_use: id and input are required")
                tool_use_ids.append(block["id"])
            if tool_use_ids and index + 1 < len(messages):
                answered = {
                    block.get("tool_use_id") for block in _blocks(messages[index + 1]) if block["type"] == "tool_result"
                }
                missing = [tool_id for tool_id in tool_use_ids if tool_id not in answered]
                if missing:
                    raise InvalidRequest(
                        f"messages.{index}: `tool_use` ids were found without `tool_result` blocks "
                        f"immediately after: {', '.join(missing)}. Each `tool_use` block must have a "
                        "corresponding `tool_result` block in the next message."
                    )
            continue
        previous_ids = (
            {block.get("id") for block in _blocks(messages[index - 1]) if block["type"] == "tool_use"}
            if index > 0 and messages[index - 1]["role"] == "assistant"
            else set()
        )
        for block_index, block in enumerate(blocks):
            if block["type"] == "tool_result" and block.get("tool_use_id") not in previous_ids:
                raise InvalidRequest(
                    f"messages.{index}.content.{block_index}: unexpected `tool_use_id` found in "
                    f"`tool_result` blocks: {block.get('tool_use_id')}. Each `tool_result` block must "
                    "have a corresponding `tool_use` block in the previous message."
                )


def script_start(messages: list[dict[str, Any]]) -> int:
    """Where this turn's script is: the latest user message that says something (not
    only tool results). A task's run has one, its prompt; in a conversation each of the
    user's messages starts a turn of its own."""
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str) or any(block.get("type") == "text" for block in _blocks(message)):
            return index
    return 0


def script_text(messages: list[dict[str, Any]]) -> str:
    """The text directives are read from: the script message's last text block (in a
    conversation, records of runs come before the user's own words in the same turn)."""
    message = messages[script_start(messages)]
    content = message.get("content")
    if isinstance(content, str):
        return content
    texts = [block for block in _blocks(message) if block.get("type") == "text"]
    return str(texts[-1].get("text", "")) if texts else ""


def _system_text(body: dict[str, Any]) -> str:
    return block_text(body.get("system"))


def run_key(body: dict[str, Any]) -> str:
    """Which run a request belongs to, without guessing: the caller's id, else the prompt itself."""
    metadata = body.get("metadata")
    user_id = metadata.get("user_id") if isinstance(metadata, dict) else None
    if isinstance(user_id, str) and user_id:
        return "user:" + user_id
    digest = hashlib.sha256()
    digest.update(_system_text(body).encode())
    digest.update(b"\x00")
    digest.update(block_text(body["messages"][0].get("content")).encode())
    return "prompt:" + digest.hexdigest()


def _stable_id(prefix: str, *parts: object) -> str:
    digest = hashlib.sha256("\x00".join(str(part) for part in parts).encode()).hexdigest()
    return f"{prefix}{digest[:24]}"


def _tokens(chars: int) -> int:
    return max(1, math.ceil(chars / 4))


def _json_chars(value: Any) -> int:
    return len(json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False))


def _chosen_usage(input_tokens: int, output_tokens: int) -> dict[str, int]:
    """What a `usage:` directive asks every answer to report (budgets are tested with it)."""
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }


def _usage(body: dict[str, Any], output_content: list[dict[str, Any]]) -> dict[str, int]:
    """chars/4 of the request, split into cached prefix and the rest, as the API reports it.

    The API caches the prompt prefix up to the last block marked
    ``cache_control`` (order: tools, system, messages), writes it on first use
    and reads it afterwards. Stateless here: a request whose conversation has
    no assistant turn yet is a first use.
    """
    parts: list[Any] = list(body.get("tools") or [])
    system = body.get("system")
    parts.extend(system if isinstance(system, list) else [system] if system else [])
    for message in body["messages"]:
        content = message.get("content")
        parts.extend(content if isinstance(content, list) else [content])
    total_chars = 0
    prefix_chars = 0
    for part in parts:
        total_chars += _json_chars(part)
        if isinstance(part, dict) and part.get("cache_control"):
            prefix_chars = total_chars
    prefix_tokens = math.ceil(prefix_chars / 4)
    first_use = not any(message.get("role") == "assistant" for message in body["messages"])
    return {
        "input_tokens": max(1, _tokens(total_chars) - prefix_tokens),
        "output_tokens": _tokens(_json_chars(output_content)),
        "cache_creation_input_tokens": prefix_tokens if first_use else 0,
        "cache_read_input_tokens": 0 if first_use else prefix_tokens,
    }


# --------------------------------------------------------------------------- the answer


@dataclass(frozen=True)
class StepResult:
    step: ToolStep
    text: str
    is_error: bool


def _tool_results(messages: list[dict[str, Any]]) -> list[tuple[str, bool]]:
    """(text, is_error) of every tool_result in the conversation, in order."""
    results: list[tuple[str, bool]] = []
    for message in messages[script_start(messages) + 1 :]:
        if message["role"] != "user":
            continue
        for block in _blocks(message):
            if block["type"] == "tool_result":
                results.append((block_text(block.get("content")), bool(block.get("is_error"))))
    return results


def _ends_with_tool_error(messages: list[dict[str, Any]]) -> bool:
    last = messages[-1]
    blocks = _blocks(last) if last["role"] == "user" else []
    return bool(blocks) and blocks[-1]["type"] == "tool_result" and bool(blocks[-1].get("is_error"))


_EARLIER_RESULT = re.compile(r"^\{\{\s*step(\d+)\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$")


def _with_earlier_results(tool_input: dict[str, Any], done: list[StepResult]) -> dict[str, Any]:
    """A string input ``{{stepN.FIELD}}`` is FIELD of step N's result (1-based, read as JSON),
    as a model would take the draft id a previous call returned; anything else is as written."""

    def value(raw: Any) -> Any:
        match = _EARLIER_RESULT.match(raw) if isinstance(raw, str) else None
        if match is None or not 0 < int(match[1]) <= len(done):
            return raw
        try:
            earlier = json.loads(done[int(match[1]) - 1].text)
        except ValueError:
            return raw
        return earlier.get(match[2], raw) if isinstance(earlier, dict) else raw

    return {name: value(raw) for name, raw in tool_input.items()}


DECLINED_REPLIES = frozenset({"no", "n", "cancel", "stop"})


def _declined(done: list[StepResult]) -> bool:
    """The last completed step is a question the owner answered no (before steps remain)."""
    if not done or done[-1].step.tool != "ask_user" or done[-1].is_error:
        return False
    return done[-1].text.strip().strip(".!").lower() in DECLINED_REPLIES


def _describe(result: StepResult) -> str:
    """One line of the final answer for a completed step."""
    step, text = result.step, result.text
    if result.is_error:
        return f"{step.tool} failed: {text}"
    if step.tool == "ask_user":
        return f"Answer received: {text}"
    if step.tool == "web_fetch":
        return f"Fetched {step.input['url']}: {text[:FETCH_QUOTE_CHARS]}"
    if step.tool == "remember":
        return f"Remembered {step.input['key']}={step.input['value']}: {text}"
    if step.tool == "recall":
        return f"Recalled {step.input['key']}: {text}"
    if step.tool == "schedule_followup":
        return f"Follow-up scheduled: {text}"
    return f"{step.tool} returned: {text[:TOOL_QUOTE_CHARS]}"


def _offered_tools(body: dict[str, Any]) -> set[str]:
    tool_choice = body.get("tool_choice")
    if isinstance(tool_choice, dict) and tool_choice.get("type") == "none":
        return set()
    return {tool["name"] for tool in body.get("tools") or []}


def respond(body: dict[str, Any]) -> dict[str, Any]:
    """The Messages API response to a valid request, a pure function of the request."""
    messages: list[dict[str, Any]] = body["messages"]
    script = parse_directives(script_text(messages))
    key = run_key(body)
    results = _tool_results(messages)
    done = [StepResult(step, text, is_error) for step, (text, is_error) in zip(script.steps, results, strict=False)]
    content: list[dict[str, Any]]
    stop_reason = "end_turn"
    next_index = len(results)
    forced = body.get("tool_choice")
    if isinstance(forced, dict) and forced.get("type") == "tool" and forced.get("name") in _offered_tools(body):
        # tool_choice names the tool: the API makes the model call it (with what the script gives it).
        name = forced["name"]
        given = next((step.input for step in script.steps if step.tool == name), {})
        content = [
            {"type": "tool_use", "id": _stable_id("toolu_", key, "forced", len(messages)), "name": name, "input": given}
        ]
        stop_reason = "tool_use"
    elif _ends_with_tool_error(messages):
        # A real model would read the error and stop; quoting it makes the runner's error path visible.
        lines = [_describe(result) for result in done]
        if len(results) > len(done):
            lines.append(f"Tool failed: {results[-1][0]}")
        content = [{"type": "text", "text": "\n".join(lines)}]
    elif _declined(done) and len(done) < len(script.steps):
        # The owner said no: a real model would stop there, not run the steps that needed a yes.
        lines = [_describe(result) for result in done]
        lines.append(f"Stopped: the owner declined ({len(script.steps) - len(done)} step(s) not run)")
        content = [{"type": "text", "text": "\n".join(lines)}]
    elif not script.steps:
        content = [{"type": "text", "text": f"Done: {script.first_line}"}]
    elif next_index >= len(script.steps):
        content = [{"type": "text", "text": "\n".join(_describe(result) for result in done)}]
    else:
        step = script.steps[next_index]
        if step.tool not in _offered_tools(body):
            lines = [_describe(result) for result in done]
            lines.append(f"Tool {step.tool} is not available to this task")
            content = [{"type": "text", "text": "\n".join(lines)}]
        else:
            # A short text before the call, as Claude usually writes: the runner must cope with both.
            content = [
                {
                    "type": "text",
                    "text": f"Calling {step.tool} (step {next_index + 1} of {len(script.steps)}).",
                },
                {
                    "type": "tool_use",
                    "id": _stable_id("toolu_", key, next_index),
                    "name": step.tool,
                    "input": _with_earlier_results(step.input, done),
                },
            ]
            stop_reason = "tool_use"
    if stop_reason == "end_turn":
        # An answer longer than max_tokens is cut, as the API cuts it.
        text = content[0]["text"]
        limit_chars = body["max_tokens"] * 4
        if len(text) > limit_chars:
            content = [{"type": "text", "text": text[:limit_chars]}]
            stop_reason = "max_tokens"
    return {
        "id": _stable_id("msg_", key, len(messages)),
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": _usage(body, content) if script.usage is None else _chosen_usage(*script.usage),
    }


def error_body(error_type: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message}}


# --------------------------------------------------------------------------- the server


@dataclass
class _State:
    """Everything the handlers share; one lock guards it all (requests are cheap)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[dict[str, Any]] = field(default_factory=list)
    # run key -> requests seen; an LRU so a long-lived local stack stays bounded.
    run_counts: OrderedDict[str, int] = field(default_factory=OrderedDict)
    request_serial: int = 0
    stopping: threading.Event = field(default_factory=threading.Event)
    connections: set[socket.socket] = field(default_factory=set)

    def record(self, body: dict[str, Any]) -> None:
        with self.lock:
            self.requests.append(body)
            del self.requests[:-MAX_RECORDED_REQUESTS]

    def count_request(self, key: str) -> int:
        """This request's 1-based number within its run."""
        with self.lock:
            count = self.run_counts.pop(key, 0) + 1
            self.run_counts[key] = count
            while len(self.run_counts) > MAX_TRACKED_RUNS:
                self.run_counts.popitem(last=False)
            return count

    def next_request_id(self) -> str:
        with self.lock:
            self.request_serial += 1
            return f"req_fake{self.request_serial:020d}"


def failure_for(script: Script, request_number: int) -> int | None:
    """The status the chained ``fail:`` rules give the run's Nth request, if any."""
    remaining = request_number
    for rule in script.fails:
        if remaining <= rule.count:
            return rule.status
        remaining -= rule.count
    return None


class _Server(ThreadingHTTPServer):
    # Handler threads must not keep the process alive, and stop() closes their sockets.
    daemon_threads = True
    # socketserver's default backlog of 5 drops connections when several runners start at once.
    request_queue_size = 128
    state: _State
    log_requests: bool


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    # Keep-alive, as the SDK's HTTP client expects of the real API.
    protocol_version = "HTTP/1.1"
    # Headers and body are two writes: with Nagle on, the body waits for the client's delayed ACK (~40 ms).
    disable_nagle_algorithm = True
    server_version = "agentcron-fake-model/1"

    def setup(self) -> None:
        super().setup()
        with self.server.state.lock:
            self.server.state.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.state.lock:
            self.server.state.connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.log_requests:
            super().log_message(format, *args)

    # ---- routing

    def do_GET(self) -> None:
        if urlsplit(self.path).path == "/health":
            self._send_json(200, {"status": "ok"})
        elif urlsplit(self.path).path == "/v1/messages":
            self._send_error(405, "invalid_request_error", "Method Not Allowed")
        else:
            self._send_error(404, "not_found_error", f"Not found: {urlsplit(self.path).path}")

    def do_POST(self) -> None:
        body_bytes = self._read_body()
        if body_bytes is None:
            return
        if urlsplit(self.path).path != "/v1/messages":
            self._send_error(404, "not_found_error", f"Not found: {urlsplit(self.path).path}")
            return
        if not self._api_key():
            self._send_error(401, "authentication_error", "x-api-key or Authorization: Bearer header is required")
            return
        if not self.headers.get("anthropic-version"):
            self._send_error(400, "invalid_request_error", "anthropic-version: header is required")
            return
        try:
            body = json.loads(body_bytes)
        except ValueError as exc:
            self._send_error(400, "invalid_request_error", f"There was an error parsing the body: {exc}")
            return
        if isinstance(body, dict):
            self.server.state.record(body)
        try:
            validate_request(body)
        except InvalidRequest as exc:
            self._send_error(400, "invalid_request_error", str(exc))
            return
        self._answer(body)

    # ---- helpers

    def _api_key(self) -> str:
        key = self.headers.get("x-api-key", "").strip()
        if key:
            return key
        scheme, _, token = self.headers.get("authorization", "").partition(" ")
        return token.strip() if scheme.lower() == "bearer" else ""

    def _read_body(self) -> bytes | None:
        """The whole body (so keep-alive stays in sync), or None after answering 4xx."""
        length_header = self.headers.get("content-length")
        try:
            length = int(length_header) if length_header is not None else 0
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            self._send_error(400, "invalid_request_error", "invalid Content-Length")
            return None
        if length > MAX_BODY_BYTES:
            # Not reading a huge body: the connection cannot be reused after this answer.
            self.close_connection = True
            self._send_error(413, "request_too_large", "Request exceeds the maximum allowed number of bytes.")
            return None
        return self.rfile.read(length)

    def _answer(self, body: dict[str, Any]) -> None:
        state = self.server.state
        script = parse_directives(script_text(body["messages"]))
        if script.fails:
            status = failure_for(script, state.count_request(run_key(body)))
            if status is not None:
                error_type = ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
                message = _ERROR_MESSAGES.get(error_type, f"fake model: fail directive ({status})")
                # The SDK honours retry-after; one second keeps tests of its retries fast.
                headers = {"retry-after": "1"} if status == 429 else {}
                self._send_error(status, error_type, message, headers)
                return
        if script.sleep_seconds and state.stopping.wait(script.sleep_seconds):
            return  # stopping: the connection is being closed, nobody reads an answer
        self._send_json(200, respond(body))

    def _send_error(self, status: int, error_type: str, message: str, headers: dict[str, str] | None = None) -> None:
        self._send_json(status, error_body(error_type, message), headers)

    def _send_json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.send_header("request-id", self.server.state.next_request_id())
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (its timeout fired during a sleep): nothing left to tell it.
            self.close_connection = True


class FakeModel:
    """The fake Messages API server, run in a background thread.

    >>> model = FakeModel().start()
    >>> client = anthropic.Anthropic(base_url=model.base_url, api_key="test")
    >>> model.stop()
    """

    def __init__(self, *, log_requests: bool = False) -> None:
        self._log_requests = log_requests
        self._state = _State()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self, host: str = DEFAULT_HOST, port: int = 0) -> Self:
        """Bind (port 0 = any free port) and serve in a daemon thread; returns self."""
        if self._server is not None:
            raise RuntimeError("FakeModel is already started")
        self._state.stopping.clear()
        server = _Server((host, port), _Handler)
        server.state = self._state
        server.log_requests = self._log_requests
        self._server = server
        self._thread = serve_in_thread(server, "fake-model")
        return self

    @property
    def base_url(self) -> str:
        """``http://host:port``, what ``Anthropic(base_url=...)`` takes."""
        if self._server is None:
            raise RuntimeError("FakeModel is not started")
        host, port = self._server.server_address[:2]
        host_text = host.decode() if isinstance(host, bytes) else host
        return f"http://[{host_text}]:{port}" if ":" in host_text else f"http://{host_text}:{port}"

    @property
    def requests(self) -> list[dict[str, Any]]:
        """A snapshot of the request bodies received on /v1/messages, oldest first."""
        with self._state.lock:
            return list(self._state.requests)

    def reset(self) -> None:
        """Forget recorded requests and every run's request count (so `fail:` starts over)."""
        with self._state.lock:
            self._state.requests.clear()
            self._state.run_counts.clear()

    def stop(self) -> None:
        """Stop serving, wake sleeping handlers and close open connections. Idempotent."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._state.stopping.set()
        server.shutdown()
        server.server_close()
        with self._state.lock:
            connections = list(self._state.connections)
        for connection in connections:
            # Idle keep-alive connections block their handler thread in a read: unblock it.
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if thread is not None:
            thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        if self._server is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m agentcron_local.fake_model",
        description="A deterministic fake of the Anthropic Messages API (directives in the prompt).",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to bind (default: %(default)s)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default: %(default)s; 0 = any)")
    parser.add_argument("--quiet", action="store_true", help="do not log each request to stderr")
    args = parser.parse_args(argv)
    try:
        model = FakeModel(log_requests=not args.quiet).start(args.host, args.port)
    except OSError as exc:
        print(f"fake model: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    run_until_signal(f"fake Messages API listening on {model.base_url}", model.stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
