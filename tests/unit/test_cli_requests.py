"""`agentcron` arguments -> the HTTP requests it sends, and answers -> output and exit codes.

No network: a transport adapter mounted on the CLI's requests.Session records each
prepared request (method, path, query, headers, JSON body) and answers from a script.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from agentcron_local import cli
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

ENDPOINT = "https://api.example.test"
TOKEN = "header.payload.signature"


@dataclass
class Sent:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


Answer = tuple[int, Any] | tuple[int, Any, dict[str, str]]


@dataclass
class FakeApi(BaseAdapter):
    """Answers requests in order from ``answers`` (a status, a JSON body, optional headers);
    an exception in the list is raised instead, as a failed connection would be."""

    answers: list[Answer | Exception] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__()

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        url = urlsplit(request.url or "")
        raw = request.body.decode() if isinstance(request.body, bytes) else request.body
        self.sent.append(
            Sent(
                method=request.method or "",
                path=url.path,
                query=dict(parse_qsl(url.query)),
                headers=dict(request.headers),
                body=json.loads(raw) if raw else None,
            )
        )
        if not self.answers:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        status, body, *rest = answer
        response = requests.Response()
        response.status_code = status
        response.headers = CaseInsensitiveDict(
            {
                "content-type": "application/problem+json" if status >= 400 else "application/json",
                **(rest[0] if rest else {}),
            }
        )
        response._content = body if isinstance(body, bytes) else b"" if body is None else json.dumps(body).encode()
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        pass


@dataclass
class Result:
    code: int
    out: str
    err: str
    sent: list[Sent]

    @property
    def json(self) -> Any:
        return json.loads(self.out)


CliRunner = Callable[..., Result]


@pytest.fixture
def run_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> CliRunner:
    """``run_cli(*argv, answers=[...])``: the CLI against the fake API, with a clean environment."""
    for name in ("AGENTCRON_ENDPOINT", "AGENTCRON_TOKEN", "AGENTCRON_PROFILE", "AGENTCRON_USER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AGENTCRON_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("AGENTCRON_STATE_DIR", str(tmp_path / "state"))

    def run(*argv: str, answers: list[Answer | Exception] | None = None, connect: bool = True) -> Result:
        api = FakeApi(list(answers or []))
        session = requests.Session()
        session.mount("https://", api)
        session.mount("http://", api)
        out, err = io.StringIO(), io.StringIO()
        prefix = ["--endpoint", ENDPOINT, "--token", TOKEN] if connect else []
        try:
            code = cli.main([*prefix, *argv], session=session, stdout=out, stderr=err)
        except SystemExit as exc:  # argparse
            code = int(exc.code or 0)
        assert not api.answers, f"answers left unused: {api.answers}"
        return Result(code, out.getvalue(), err.getvalue() + capsys.readouterr().err, api.sent)

    return run


def task(**overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": "task_01ABC",
        "name": "Morning incidents",
        "description": "",
        "prompt": "Summarise the open incidents for {{team}}",
        "variables": {"team": "platform", "region": "eu"},
        "schedule": {"type": "cron", "expression": "0 9 * * 1-5", "timezone": "Europe/Berlin"},
        "enabled": True,
        "paused_reason": None,
        "agent": {"model": "claude-opus-4", "max_turns": 7, "max_tokens": 2048, "tools": ["web_fetch"]},
        "tags": ["ops"],
        "version": 3,
        "next_run_at": "2026-12-01T08:00:00Z",
        "last_run": None,
        "created_at": "2026-11-20T10:00:00.123456Z",
        "updated_at": "2026-11-21T10:00:00Z",
    }
    document.update(overrides)
    return document


def run_doc(status: str, **overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": "run_01ABC_1795305993",
        "task_id": "task_01ABC",
        "status": status,
        "trigger": "manual",
        "scheduled_for": "2026-11-22T00:06:33Z",
        "started_at": None,
        "finished_at": None,
        "attempt": 0,
        "output": None,
        "question": None,
        "error": None,
        "usage": None,
        "duration_ms": None,
    }
    document.update(overrides)
    return document


# ----------------------------------------------------------------- tasks create


def test_create_sends_every_flag_in_the_body(run_cli: CliRunner) -> None:
    result = run_cli(
        "tasks", "create", "--name", "Morning incidents", "--prompt", "Summarise {{team}}",
        "--var", "team=platform", "--var", "query=a=b", "--cron", "0 9 * * 1-5", "--tz", "Europe/Berlin",
        "--tool", "web_fetch", "--tool", "ask_user", "--tag", "ops", "--tag", "daily", "--disabled",
        "--idempotency-key", "key-1", "--json",
        answers=[(201, task())],
    )  # fmt: skip
    assert result.code == 0, result.err
    [sent] = result.sent
    assert (sent.method, sent.path, sent.query) == ("POST", "/v1/tasks", {})
    assert sent.headers["Idempotency-Key"] == "key-1"
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent.body == {
        "name": "Morning incidents",
        "prompt": "Summarise {{team}}",
        "variables": {"team": "platform", "query": "a=b"},
        "agent": {"tools": ["web_fetch", "ask_user"]},
        "tags": ["ops", "daily"],
        "enabled": False,
        "schedule": {"type": "cron", "expression": "0 9 * * 1-5", "timezone": "Europe/Berlin"},
    }
    assert result.json == task(), "--json prints the API's document verbatim"


@pytest.mark.parametrize(
    ("flags", "schedule"),
    [
        (["--every", "5m"], {"type": "interval", "every_seconds": 300}),
        (["--every", "3600"], {"type": "interval", "every_seconds": 3600}),
        (["--at", "2026-12-01T09:00:00+01:00"], {"type": "once", "at": "2026-12-01T09:00:00+01:00"}),
        (["--preset", "daily"], {"type": "preset", "preset": "daily"}),
        (
            ["--preset", "weekly", "--tz", "Asia/Tokyo"],
            {"type": "preset", "preset": "weekly", "timezone": "Asia/Tokyo"},
        ),
        (["--manual"], {"type": "manual"}),
        (["--aws", "rate(5 minutes)"], {"type": "aws", "expression": "rate(5 minutes)"}),
        (
            ["--aws", "cron(0 9 ? * MON-FRI *)", "--tz", "Europe/Berlin", "--repeated-hour", "both"],
            {
                "type": "aws",
                "expression": "cron(0 9 ? * MON-FRI *)",
                "timezone": "Europe/Berlin",
                "dst": {"repeated_hour": "both"},
            },
        ),
        (
            ["--cron", "*/15 * * * *", "--repeated-hour", "once"],
            {"type": "cron", "expression": "*/15 * * * *", "dst": {"repeated_hour": "once"}},
        ),
        (
            ["--cron", "*/15 * * * *", "--start-at", "2026-12-01T00:00:00Z", "--end-at", "2027-01-01T00:00:00Z"],
            {
                "type": "cron",
                "expression": "*/15 * * * *",
                "start_at": "2026-12-01T00:00:00Z",
                "end_at": "2027-01-01T00:00:00Z",
            },
        ),
    ],
)
def test_each_schedule_flag_becomes_its_schedule(
    run_cli: CliRunner, flags: list[str], schedule: dict[str, Any]
) -> None:
    result = run_cli("tasks", "create", "--name", "n", "--prompt", "p", *flags, "-q", answers=[(201, task())])
    assert result.code == 0, result.err
    assert result.sent[0].body["schedule"] == schedule
    assert result.out == "task_01ABC\n", "--quiet prints only the id"


def test_at_may_be_relative_to_now(run_cli: CliRunner) -> None:
    result = run_cli("tasks", "create", "--name", "n", "--prompt", "p", "--at", "+10m", answers=[(201, task())])
    at = datetime.fromisoformat(result.sent[0].body["schedule"]["at"])
    assert abs(at - (datetime.now(UTC) + timedelta(minutes=10))) < timedelta(seconds=30)
    assert at.utcoffset() == timedelta(0) and at.microsecond == 0


def test_create_from_file_with_flags_overriding_it(run_cli: CliRunner, tmp_path: Path) -> None:
    body = {
        "name": "from file",
        "prompt": "p",
        "schedule": {"type": "manual"},
        "policies": {"max_attempts": 1},
        "variables": {"a": "1"},
    }
    path = tmp_path / "task.json"
    path.write_text(json.dumps(body))
    result = run_cli(
        "tasks", "create", "--from-file", str(path), "--name", "renamed", "--var", "b=2", answers=[(201, task())]
    )
    assert result.code == 0, result.err
    assert result.sent[0].body == {
        "name": "renamed",
        "prompt": "p",
        "schedule": {"type": "manual"},
        "policies": {"max_attempts": 1},
        "variables": {"a": "1", "b": "2"},
    }


def test_prompt_file_dash_reads_stdin(run_cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("line one\nask: which team?\n"))
    result = run_cli("tasks", "create", "--name", "n", "--prompt-file", "-", "--manual", answers=[(201, task())])
    assert result.code == 0, result.err
    assert result.sent[0].body["prompt"] == "line one\nask: which team?\n"


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["tasks", "create", "--name", "n", "--prompt", "p"], "tasks create needs a schedule"),
        (["tasks", "create", "--prompt", "p", "--manual"], "tasks create needs --name"),
        (["tasks", "create", "--name", "n", "--prompt", "p", "--every", "1h", "--tz", "UTC"], "--tz applies to --cron"),
        (
            ["tasks", "create", "--name", "n", "--prompt", "p", "--at", "+1h", "--repeated-hour", "both"],
            "--repeated-hour applies to --cron, --preset and --aws",
        ),
        (["schedule", "preview", "--repeated-hour", "once"], "--repeated-hour, --start-at and --end-at go with"),
        (["tasks", "create", "--name", "n", "--prompt", "p", "--var", "novalue", "--manual"], "expected NAME=VALUE"),
        (["tasks", "create", "--name", "n", "--prompt", "p", "--cron", "* * * * *", "--manual"], "not allowed with"),
        (["tasks", "create", "--name", "n", "--prompt", "p", "--every", "soon"], "not a duration"),
        (["tasks", "create", "--name", "n", "--prompt", "p", "--at", "+soon"], "expected an ISO time or +DURATION"),
        (["schedule", "preview", "--count", "3"], "needs a schedule"),
        (["runs", "list", "--since", "2026-12-01T09:00"], "needs an offset"),
    ],
)
def test_usage_errors_exit_2_before_any_request(run_cli: CliRunner, argv: list[str], said: str) -> None:
    result = run_cli(*argv)
    assert result.code == 2
    assert said in result.err
    assert result.sent == []


# ------------------------------------------------------------ tasks list / get


def test_list_filters_become_query_parameters(run_cli: CliRunner) -> None:
    page = {"items": [task()], "next_cursor": None}
    result = run_cli(
        "tasks", "list", "--disabled", "--tag", "ops", "--type", "cron", "--limit", "5", answers=[(200, page)]
    )
    assert result.code == 0, result.err
    assert result.sent[0].query == {"enabled": "false", "tag": "ops", "schedule_type": "cron", "limit": "5"}
    header, row = result.out.splitlines()
    assert header.split() == ["ID", "NAME", "STATE", "SCHEDULE", "NEXT", "RUN", "LAST", "RUN", "TAGS"]
    assert row.split("  ")[0] == "task_01ABC"
    assert "cron 0 9 * * 1-5 Europe/Berlin" in row and "2026-12-01T08:00:00Z" in row


def test_list_all_follows_next_cursor_into_one_document(run_cli: CliRunner) -> None:
    first, second = task(id="task_2"), task(id="task_1")
    result = run_cli(
        "tasks",
        "list",
        "--all",
        "--limit",
        "1",
        "--json",
        answers=[(200, {"items": [first], "next_cursor": "c-1"}), (200, {"items": [second], "next_cursor": None})],
    )
    assert result.code == 0, result.err
    assert [s.query for s in result.sent] == [{"limit": "1"}, {"limit": "1", "cursor": "c-1"}]
    assert result.json == {"items": [first, second], "next_cursor": None}


def test_a_page_with_more_says_how_to_continue(run_cli: CliRunner) -> None:
    result = run_cli("tasks", "list", "-q", answers=[(200, {"items": [task()], "next_cursor": "abc"})])
    assert result.out == "task_01ABC\n"
    assert "--cursor abc" in result.err


def test_an_empty_list_prints_no_rows(run_cli: CliRunner) -> None:
    result = run_cli("tasks", "list", answers=[(200, {"items": [], "next_cursor": None})])
    assert (result.code, result.out) == (0, "")
    assert "No tasks found." in result.err


def test_get_shows_the_task_with_its_next_runs(run_cli: CliRunner) -> None:
    document = task(next_runs=["2026-12-01T08:00:00Z", "2026-12-02T08:00:00Z"])
    result = run_cli("tasks", "get", "task_01ABC", answers=[(200, document)])
    assert result.sent[0].path == "/v1/tasks/task_01ABC"
    lines = result.out.splitlines()
    assert "schedule:    cron 0 9 * * 1-5 Europe/Berlin" in lines
    assert "next runs:   2026-12-01T08:00:00Z" in lines
    assert "             2026-12-02T08:00:00Z" in lines
    assert "variables:   region=eu" in lines and "             team=platform" in lines
    assert "created:     2026-11-20T10:00:00Z" in lines, "times in ISO, to the second"
    assert not any(line.startswith("description:") for line in lines), "empty fields are left out"


def test_a_path_segment_is_escaped(run_cli: CliRunner) -> None:
    result = run_cli("tasks", "get", "../runs", answers=[(404, {"status": 404, "detail": "task ../runs not found"})])
    assert result.sent[0].path == "/v1/tasks/..%2Fruns"
    assert result.code == 1


# ---------------------------------------------------------------- tasks update


def test_update_merges_onto_what_it_read_and_sends_that_version(run_cli: CliRunner) -> None:
    result = run_cli(
        "tasks", "update", "task_01ABC", "--var", "team=payments", "--unset-var", "region", "--tool", "ask_user",
        "--no-tags", "--tz", "America/New_York", "--json",
        answers=[(200, task()), (200, task(version=4))],
    )  # fmt: skip
    assert result.code == 0, result.err
    get, patch = result.sent
    assert (get.method, get.path) == ("GET", "/v1/tasks/task_01ABC")
    assert (patch.method, patch.path) == ("PATCH", "/v1/tasks/task_01ABC")
    assert patch.headers["If-Match"] == '"3"', "the version just read"
    assert patch.body == {
        "variables": {"team": "payments"},
        # The API replaces `agent` whole: the model and limits read are sent back unchanged.
        "agent": {"model": "claude-opus-4", "max_turns": 7, "max_tokens": 2048, "tools": ["ask_user"]},
        "tags": [],
        "schedule": {"type": "cron", "expression": "0 9 * * 1-5", "timezone": "America/New_York"},
    }
    assert result.json["version"] == 4


def test_update_with_if_match_sends_the_given_version_and_explains_412(run_cli: CliRunner) -> None:
    problem = {"status": 412, "title": "Precondition Failed", "detail": "task task_01ABC is at version 3, not 2"}
    result = run_cli(
        "tasks", "update", "task_01ABC", "--name", "x", "--if-match", "2", answers=[(200, task()), (412, problem)]
    )
    assert result.sent[1].headers["If-Match"] == '"2"'
    assert result.sent[1].body == {"name": "x"}
    assert result.code == 1
    assert "412 Precondition Failed: task task_01ABC is at version 3, not 2" in result.err
    assert "agentcron tasks get task_01ABC" in result.err


def test_update_with_nothing_to_change_is_a_usage_error(run_cli: CliRunner) -> None:
    result = run_cli("tasks", "update", "task_01ABC", answers=[(200, task())])
    assert result.code == 2
    assert "nothing to update" in result.err
    assert [s.method for s in result.sent] == ["GET"]


# -------------------------------------------------- delete, enable, disable, run


def test_delete_needs_yes_without_a_terminal(run_cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    refused = run_cli("tasks", "delete", "task_01ABC")
    assert refused.code == 2 and refused.sent == []
    assert "without --yes" in refused.err
    deleted = run_cli("tasks", "delete", "task_01ABC", "--yes", "--json", answers=[(204, None)])
    assert deleted.code == 0
    assert [(s.method, s.path) for s in deleted.sent] == [("DELETE", "/v1/tasks/task_01ABC")]
    assert deleted.out == "", "204 has no document, so --json prints none"


def test_disable_enable_and_run_bodies(run_cli: CliRunner) -> None:
    paused = task(enabled=False, paused_reason="holiday")
    disabled = run_cli("tasks", "disable", "task_01ABC", "--reason", "holiday", answers=[(200, paused)])
    assert disabled.sent[0].body == {"reason": "holiday"}
    assert "state:       paused (holiday)" in disabled.out.splitlines()
    enabled = run_cli("tasks", "enable", "task_01ABC", answers=[(200, task())])
    assert (enabled.sent[0].method, enabled.sent[0].path, enabled.sent[0].body) == (
        "POST",
        "/v1/tasks/task_01ABC/enable",
        None,
    )
    ran = run_cli(
        "tasks", "run", "task_01ABC", "--var", "team=billing", "--idempotency-key", "r-1", "-q",
        answers=[(202, run_doc("QUEUED"), {"Location": "/v1/runs/run_01ABC_1795305993"})],
    )  # fmt: skip
    assert ran.sent[0].body == {"variables": {"team": "billing"}}
    assert ran.sent[0].headers["Idempotency-Key"] == "r-1"
    assert ran.out == "run_01ABC_1795305993\n"


# ------------------------------------------------------------------------ runs


def test_runs_list_of_a_task_with_status(run_cli: CliRunner) -> None:
    result = run_cli(
        "runs",
        "list",
        "--task",
        "task_01ABC",
        "--status",
        "failed",
        answers=[(200, {"items": [], "next_cursor": None})],
    )
    assert result.sent[0].path == "/v1/tasks/task_01ABC/runs"
    assert result.sent[0].query == {"status": "FAILED", "limit": "20"}


def test_runs_list_since_a_duration_ago(run_cli: CliRunner) -> None:
    row = run_doc("SUCCEEDED", duration_ms=65_400)
    result = run_cli("runs", "list", "--since", "1h", answers=[(200, {"items": [row], "next_cursor": None})])
    since = datetime.fromisoformat(result.sent[0].query["since"])
    assert abs(since - (datetime.now(UTC) - timedelta(hours=1))) < timedelta(seconds=30)
    assert since.utcoffset() == timedelta(0)
    assert result.out.splitlines()[1].split() == [
        "run_01ABC_1795305993",
        "task_01ABC",
        "SUCCEEDED",
        "manual",
        "2026-11-22T00:06:33Z",
        "1m05s",
    ]


def test_runs_list_of_a_task_since_filters_here(run_cli: CliRunner) -> None:
    # GET /v1/tasks/{id}/runs has no `since`: the CLI keeps only the runs scheduled since.
    old, new = run_doc("SUCCEEDED", id="run_old", scheduled_for="2026-11-01T00:00:00Z"), run_doc("QUEUED", id="run_new")
    result = run_cli(
        "runs", "list", "--task", "task_01ABC", "--since", "2026-11-20T00:00:00Z", "--json",
        answers=[(200, {"items": [new, old], "next_cursor": None})],
    )  # fmt: skip
    assert "since" not in result.sent[0].query
    assert [r["id"] for r in result.json["items"]] == ["run_new"]


def test_reply_and_cancel(run_cli: CliRunner) -> None:
    replied = run_cli("runs", "reply", "run_1", "the blue one", answers=[(202, run_doc("QUEUED", id="run_1"))])
    assert (replied.sent[0].path, replied.sent[0].body) == ("/v1/runs/run_1/reply", {"reply": "the blue one"})
    assert "status:        QUEUED" in replied.out.splitlines()
    cancelled = run_cli("runs", "cancel", "run_1", "--json", answers=[(200, run_doc("CANCELLED", id="run_1"))])
    assert (cancelled.sent[0].method, cancelled.sent[0].path) == ("POST", "/v1/runs/run_1/cancel")
    assert cancelled.json["status"] == "CANCELLED"


def test_watch_prints_each_status_and_exits_6_on_failure(run_cli: CliRunner) -> None:
    failed = run_doc("FAILED", error={"type": "api_error", "message": "HTTP 500 (gave up after 1 attempts)"})
    result = run_cli(
        "runs", "watch", "run_01ABC_1795305993", "--interval", "0.01",
        answers=[(200, run_doc("QUEUED")), (200, run_doc("RUNNING")), (200, run_doc("RUNNING")), (200, failed)],
    )  # fmt: skip
    assert result.code == 6
    assert len(result.sent) == 4 and {s.path for s in result.sent} == {"/v1/runs/run_01ABC_1795305993"}
    statuses = [line.split()[-1] for line in result.out.splitlines()[:3]]
    assert statuses == ["QUEUED", "RUNNING", "FAILED"], "one line per change, not per poll"
    assert "error:         api_error: HTTP 500 (gave up after 1 attempts)" in result.out.splitlines()


def test_watch_stops_at_a_question_with_exit_0(run_cli: CliRunner) -> None:
    waiting = run_doc("WAITING_INPUT", question="Which team?")
    result = run_cli("runs", "watch", "run_01ABC_1795305993", "--json", answers=[(200, waiting)])
    assert result.code == 0
    assert result.json == waiting, "--json: stdout holds only the final run"
    assert "WAITING_INPUT" in result.err


def test_watch_gives_up_after_timeout_with_exit_7(run_cli: CliRunner) -> None:
    result = run_cli(
        "runs", "watch", "run_1", "--timeout", "0", "--interval", "0.01", answers=[(200, run_doc("RUNNING"))]
    )
    assert result.code == 7
    assert "still RUNNING" in result.err


def test_schedule_preview_body_and_output(run_cli: CliRunner) -> None:
    preview = {
        "description": "At 09:00, Monday through Friday (Europe/Berlin)",
        "occurrences": ["2026-12-01T08:00:00Z", "2026-12-02T08:00:00Z"],
    }
    result = run_cli(
        "schedule",
        "preview",
        "--cron",
        "0 9 * * 1-5",
        "--tz",
        "Europe/Berlin",
        "--count",
        "2",
        answers=[(200, preview)],
    )
    assert result.sent[0].body == {
        "schedule": {"type": "cron", "expression": "0 9 * * 1-5", "timezone": "Europe/Berlin"},
        "count": 2,
    }
    assert result.out.splitlines() == [
        "At 09:00, Monday through Friday (Europe/Berlin)",
        "  1  2026-12-01T08:00:00Z",
        "  2  2026-12-02T08:00:00Z",
    ]


# ------------------------------------------------------------------ exit codes


def test_422_exits_1_with_each_field_error(run_cli: CliRunner) -> None:
    problem = {
        "type": "about:blank",
        "title": "Unprocessable Content",
        "status": 422,
        "detail": "the request is not valid: body.schedule.expression: minute field '61' is out of range 0-59",
        "errors": [
            {"field": "body.schedule.expression", "message": "minute field '61' is out of range 0-59"},
            {"field": "body.name", "message": "String should have at least 1 character"},
        ],
    }
    result = run_cli("tasks", "create", "--name", "", "--prompt", "p", "--cron", "61 * * * *", answers=[(422, problem)])
    assert result.code == 1
    assert "  body.schedule.expression: minute field '61' is out of range 0-59" in result.err.splitlines()
    assert "  body.name: String should have at least 1 character" in result.err.splitlines()


@pytest.mark.parametrize(
    ("status", "body", "headers", "code", "said"),
    [
        (
            401,
            {"message": "Unauthorized"},
            {"www-authenticate": 'Bearer error="invalid_token" error_description="the token has expired"'},
            4,
            "401 Unauthorized: the token has expired",
        ),
        # The Lambda authorizer's refusal says only Forbidden: the CLI says what that means.
        (403, {"message": "Forbidden"}, {}, 4, "403 Forbidden: the token or API key was refused"),
        (401, {"message": "Unauthorized"}, {}, 4, "401 Unauthorized: no token was sent"),
        (404, {"status": 404, "detail": "task task_x not found"}, {}, 1, "404 Not Found: task task_x not found"),
        (409, {"status": 409, "detail": "task is paused; enable it first"}, {}, 1, "409 Conflict"),
        (500, {"status": 500, "detail": "internal error"}, {}, 5, "the API failed: 500 Internal Server Error"),
        (503, {"status": 503, "detail": "queue unavailable"}, {}, 5, "503 Service Unavailable: queue unavailable"),
    ],
)
def test_statuses_map_to_exit_codes(
    run_cli: CliRunner, status: int, body: Any, headers: dict[str, str], code: int, said: str
) -> None:
    result = run_cli("tasks", "get", "task_x", answers=[(status, body, headers)])
    assert result.code == code
    assert said in result.err


def test_401_on_a_deployed_endpoint_says_how_to_get_a_token(run_cli: CliRunner) -> None:
    result = run_cli("tasks", "list", answers=[(401, {"message": "Unauthorized"})])
    assert result.code == 4
    assert "agentcron token --cognito --stack STACK --username YOU" in result.err
    assert "the token came from --token" in result.err


def test_unreachable_exits_3_naming_the_endpoint(run_cli: CliRunner) -> None:
    result = run_cli("tasks", "list", answers=[requests.ConnectionError("Connection refused")])
    assert result.code == 3
    assert f"cannot reach the agentcron API at {ENDPOINT} (--endpoint): connection refused" in result.err


def test_an_answer_that_is_not_json_is_not_the_api(run_cli: CliRunner) -> None:
    result = run_cli("tasks", "list", answers=[(200, b"<html>It works!</html>", {"content-type": "text/html"})])
    assert result.code == 3
    assert "answered GET /v1/tasks with something that is not JSON (text/html): is it the agentcron API?" in result.err


def test_a_deployed_endpoint_without_a_token_exits_4_before_calling(run_cli: CliRunner) -> None:
    result = run_cli("--endpoint", ENDPOINT, "tasks", "list", connect=False)
    assert result.code == 4 and result.sent == []
    assert f"no token for {ENDPOINT}" in result.err


def test_options_may_follow_the_command(run_cli: CliRunner) -> None:
    page: dict[str, Any] = {"items": [], "next_cursor": None}
    result = run_cli(
        "tasks", "list", "--json", "--endpoint", "https://other.example.test/v1/", "--token", "t2",
        connect=False, answers=[(200, page)],
    )  # fmt: skip
    assert result.json == page
    assert result.sent[0].headers["Authorization"] == "Bearer t2"
    assert result.sent[0].path == "/v1/tasks", "a trailing /v1/ in the endpoint is not doubled"


def test_help_documents_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for line in (
        "  1  the API refused the request (4xx)",
        "  3  cannot reach the API (is `agentcron local` running?)",
        "  4  not authenticated or not allowed (401/403)",
        "  6  `runs watch`, `tasks run --wait`, `runs reply --wait`: the run ended FAILED, TIMED_OUT or CANCELLED",
    ):
        assert line in text


@pytest.fixture(autouse=True)
def _no_real_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    # Polling waits are tiny here anyway; never let a bug turn into a long sleep.
    import time

    real_sleep = time.sleep
    monkeypatch.setattr(time, "sleep", lambda seconds: real_sleep(min(seconds, 0.01)))
