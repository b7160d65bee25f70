"""Every `agentcron` API command against the real API: an in-process local stack
(moto, the template's resources, the JWT gateway, the real api/dispatcher/runner
handlers and the fake model). The CLI finds the stack through its stack.json and
signs dev tokens for `--user` with the stack's key, as it does for a user."""

from __future__ import annotations

import io
import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from agentcron import bootstrap
from agentcron_local import cli, tokens
from agentcron_local.stack import LocalStack, StackOptions

REPO_ROOT = Path(__file__).resolve().parents[2]
FAST_POLL = ("--interval", "0.1", "--timeout", "60")


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()


Agentcron = Callable[..., Result]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    state_dir = tmp_path_factory.mktemp("cli") / "state"
    bootstrap.reset()
    options = StackOptions(port=0, moto_port=0, state_dir=state_dir, access_log=False)
    try:
        with LocalStack(options, out=io.StringIO()) as running:
            yield running
    finally:
        bootstrap.reset()


@pytest.fixture
def agentcron(stack: LocalStack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Agentcron:
    """``agentcron(*argv, user="alice")``: cli.main in this process; stdout and stderr captured."""
    for name in ("AGENTCRON_ENDPOINT", "AGENTCRON_TOKEN", "AGENTCRON_PROFILE", "AGENTCRON_USER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AGENTCRON_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv(tokens.STATE_DIR_ENV, str(stack.state_dir))  # main() sets it; this restores it after
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # no terminal: nothing prompts

    def run(*argv: str, user: str | None = "alice") -> Result:
        out, err = io.StringIO(), io.StringIO()
        prefix = ["--state-dir", str(stack.state_dir), *(["--user", user] if user else [])]
        try:
            code = cli.main([*prefix, *argv], stdout=out, stderr=err)
        except SystemExit as exc:
            code = int(exc.code or 0)
        return Result(code, out.getvalue(), err.getvalue())

    return run


def create(agentcron: Agentcron, *flags: str, user: str = "alice") -> str:
    result = agentcron("tasks", "create", *flags, "-q", user=user)
    assert result.code == 0, result.err
    return result.out.strip()


# ----------------------------------------------------------------------- tasks


def test_the_stack_file_is_how_the_cli_finds_the_local_api(stack: LocalStack) -> None:
    written = json.loads((stack.state_dir / "stack.json").read_text())
    assert written["api_url"] == stack.api_url and written["pid"] == os.getpid()


def test_task_lifecycle(agentcron: Agentcron) -> None:
    created = agentcron(
        "tasks", "create", "--name", "Morning incidents", "--prompt", "Summarise the open incidents for {{team}}",
        "--var", "team=platform", "--cron", "0 9 * * 1-5", "--tz", "Europe/Berlin", "--tool", "web_fetch",
        "--tag", "ops", "--json",
    )  # fmt: skip
    assert created.code == 0, created.err
    task = created.json
    task_id = task["id"]
    assert task_id.startswith("task_") and task["version"] == 1 and task["enabled"] is True
    assert task["schedule"] == {
        "type": "cron",
        "expression": "0 9 * * 1-5",
        "timezone": "Europe/Berlin",
        "dst": None,  # the default DST policy ("auto": Debian cron's rule)
        "start_at": None,
        "end_at": None,
    }
    assert task["variables"] == {"team": "platform"} and task["agent"]["tools"] == ["web_fetch"]

    shown = agentcron("tasks", "get", task_id)
    assert shown.code == 0, shown.err
    assert "name:        Morning incidents" in shown.lines
    assert "schedule:    cron 0 9 * * 1-5 Europe/Berlin" in shown.lines
    assert f"next run:    {cli.fmt_time(task['next_run_at'])}" in shown.lines
    assert cli.fmt_time(task["next_run_at"]).endswith(("T07:00:00Z", "T08:00:00Z")), "09:00 in Berlin"

    listed = agentcron("tasks", "list", "--tag", "ops")
    [row] = [line for line in listed.lines if line.startswith(task_id)]
    assert "Morning incidents" in row and "enabled" in row and "cron 0 9 * * 1-5 Europe/Berlin" in row

    updated = agentcron("tasks", "update", task_id, "--var", "region=eu", "--json")
    assert updated.code == 0, updated.err
    assert updated.json["version"] == 2
    assert updated.json["variables"] == {"team": "platform", "region": "eu"}, "merged into what was read"
    assert updated.json["agent"]["tools"] == ["web_fetch"], "the rest of the task is unchanged"

    stale = agentcron("tasks", "update", task_id, "--name", "lost edit", "--if-match", "1")
    assert stale.code == 1
    assert "412 Precondition Failed" in stale.err
    assert agentcron("tasks", "get", task_id, "--json").json["name"] == "Morning incidents", "nothing overwritten"

    paused = agentcron("tasks", "disable", task_id, "--reason", "holiday")
    assert paused.code == 0 and "state:       paused (holiday)" in paused.lines
    assert task_id in agentcron("tasks", "list", "--disabled", "-q").lines
    assert task_id not in agentcron("tasks", "list", "--enabled", "-q").lines
    # A manual run is the owner's explicit wish: it runs on a paused task, which stays paused.
    manual = agentcron("tasks", "run", task_id, "-q")
    assert manual.code == 0 and manual.out.strip().startswith("run_"), manual.err
    assert agentcron("tasks", "get", task_id, "--json").json["paused_reason"] == "holiday"

    resumed = agentcron("tasks", "enable", task_id, "--json")
    assert (resumed.json["enabled"], resumed.json["paused_reason"]) == (True, None)

    unconfirmed = agentcron("tasks", "delete", task_id)
    assert unconfirmed.code == 2 and "without --yes" in unconfirmed.err
    deleted = agentcron("tasks", "delete", task_id, "--yes")
    assert deleted.code == 0 and deleted.lines == [f"Deleted task {task_id} (its runs stay readable)."]
    gone = agentcron("tasks", "get", task_id)
    assert gone.code == 1 and f"410 Gone: task {task_id} was deleted (its runs stay readable)" in gone.err


def test_an_invalid_schedule_exits_1_naming_the_field(agentcron: Agentcron) -> None:
    result = agentcron("tasks", "create", "--name", "bad", "--prompt", "x", "--cron", "61 * * * *")
    assert result.code == 1 and result.out == ""
    assert "422 Unprocessable Content" in result.err
    assert "  body.schedule.expression: minute field '61' is out of range 0-59" in result.err.splitlines()


def test_a_task_on_an_eventbridge_expression(agentcron: Agentcron) -> None:
    flags = ("--aws", "cron(0 9 ? * MON-FRI *)", "--tz", "Europe/Berlin", "--repeated-hour", "once")
    created = agentcron("tasks", "create", "--name", "AWS style", "--prompt", "p", *flags, "--json")
    assert created.code == 0, created.err
    schedule = created.json["schedule"]
    assert (schedule["type"], schedule["expression"], schedule["timezone"]) == (
        "aws",
        "cron(0 9 ? * MON-FRI *)",
        "Europe/Berlin",
    )
    assert schedule["dst"] == {"repeated_hour": "once"}
    shown = agentcron("tasks", "get", created.json["id"])
    assert "schedule:    cron(0 9 ? * MON-FRI *) Europe/Berlin (repeated hour: once)" in shown.lines
    bad = agentcron("tasks", "create", "--name", "bad", "--prompt", "p", "--aws", "rate(1 minutes)")
    assert bad.code == 1 and "  body.schedule.expression: " in "\n".join(bad.err.splitlines())


def test_schedule_preview_marks_what_the_dst_rule_did(agentcron: Agentcron) -> None:
    flags = ("--aws", "cron(30 2 * * ? *)", "--tz", "Europe/Berlin", "--count", "2", "--after", "2027-03-27T12:00:00Z")
    shown = agentcron("schedule", "preview", *flags)
    assert shown.code == 0, shown.err
    assert shown.lines[1] == (
        "  1  2027-03-28T01:30:00Z  DST: 02:30 does not exist on 2027-03-28 (the clocks go forward): runs at 03:30 CEST"
    )
    assert shown.lines[2] == "  2  2027-03-29T00:30:00Z"


def test_schedule_preview(agentcron: Agentcron) -> None:
    flags = ("--cron", "0 9 * * 1-5", "--tz", "Europe/Berlin", "--count", "3", "--after", "2026-12-01T00:00:00Z")
    shown = agentcron("schedule", "preview", *flags)
    assert shown.code == 0, shown.err
    assert shown.lines == [
        "At 09:00, Monday through Friday (Europe/Berlin)",
        "  1  2026-12-01T08:00:00Z",
        "  2  2026-12-02T08:00:00Z",
        "  3  2026-12-03T08:00:00Z",
    ]
    as_json = agentcron("schedule", "preview", *flags, "--json").json
    assert as_json["description"] == "At 09:00, Monday through Friday (Europe/Berlin)"
    assert [cli.fmt_time(t) for t in as_json["occurrences"]] == [line.split()[1] for line in shown.lines[1:]]


def test_when_takes_a_schedule_in_words_on_create_and_update(agentcron: Agentcron) -> None:
    task_id = create(
        agentcron, "--name", "standup", "--prompt", "p", "--when", "every weekday at 9am", "--tz", "Europe/Berlin"
    )
    shown = agentcron("tasks", "get", task_id, "--json").json
    assert shown["schedule"]["type"] == "cron"
    assert (shown["schedule"]["expression"], shown["schedule"]["timezone"]) == ("0 9 * * 1-5", "Europe/Berlin")
    moved = agentcron("tasks", "update", task_id, "--when", "the last friday of the month at 17:00 Tokyo time", "-q")
    assert moved.code == 0, moved.err
    schedule = agentcron("tasks", "get", task_id, "--json").json["schedule"]
    assert (schedule["expression"], schedule["timezone"]) == ("0 17 * * L5", "Asia/Tokyo")
    every = agentcron("tasks", "update", task_id, "--when", "every 15 minutes", "--json")
    assert every.code == 0, every.err
    assert every.json["schedule"]["type"] == "interval" and every.json["schedule"]["every_seconds"] == 900


def test_when_it_cannot_read_prints_the_suggestions(agentcron: Agentcron) -> None:
    result = agentcron("tasks", "create", "--name", "vague", "--prompt", "p", "--when", "at 9am")
    assert result.code == 1 and result.out == ""
    assert "--when 'at 9am': a time of day alone does not say which days" in result.err
    assert "try --when 'every day at 9am'" in result.err
    assert "try --when 'tomorrow at 9am'" in result.err
    names = [task["name"] for task in agentcron("tasks", "list", "--all", "--json").json["items"]]
    assert "vague" not in names


def test_when_and_another_schedule_flag_are_refused(agentcron: Agentcron, capsys: pytest.CaptureFixture[str]) -> None:
    result = agentcron("tasks", "create", "--name", "x", "--prompt", "p", "--when", "daily", "--manual")
    assert result.code == 2
    assert "argument --manual: not allowed with argument --when" in capsys.readouterr().err


def test_schedule_preview_reads_words(agentcron: Agentcron) -> None:
    shown = agentcron("schedule", "preview", "--when", "every monday and thursday at 14:30", "--tz", "Europe/Berlin")
    assert shown.code == 0, shown.err
    assert shown.lines[0] == "At 14:30, only on Monday and Thursday (Europe/Berlin)" and len(shown.lines) == 6


def test_list_all_follows_every_page(agentcron: Agentcron) -> None:
    made = [create(agentcron, "--name", f"page {i}", "--prompt", "p", "--manual", user="pager") for i in range(3)]
    first = agentcron("tasks", "list", "--limit", "1", "--json", user="pager").json
    assert [t["id"] for t in first["items"]] == [made[-1]] and first["next_cursor"]
    everything = agentcron("tasks", "list", "--limit", "1", "--all", "--json", user="pager").json
    assert [t["id"] for t in everything["items"]] == made[::-1], "newest first, every page"
    assert everything["next_cursor"] is None


def test_every_agent_policy_and_webhook_flag_reaches_the_api(agentcron: Agentcron) -> None:
    created = agentcron(
        "tasks", "create", "--name", "all fields", "--prompt", "p", "--every", "1h", "--model", "claude-haiku-4-5",
        "--max-turns", "4", "--max-tokens", "1000", "--overlap", "allow", "--misfire", "skip", "--misfire-grace", "90s",
        "--catch-up-max", "2", "--max-attempts", "1", "--run-timeout", "2m", "--auto-pause-after", "3",
        "--max-runs", "7", "--max-cost", "0.5", "--monthly-budget", "20", "--unpriced-model", "allow",
            "--deny-tool", "web_fetch",
        "--webhook", "https://hooks.example.com/agentcron", "--notify-when", "on_change", "--json",
    )  # fmt: skip
    assert created.code == 0, created.err
    task = created.json
    assert {k: task["agent"][k] for k in ("model", "max_turns", "max_tokens")} == {
        "model": "claude-haiku-4-5",
        "max_turns": 4,
        "max_tokens": 1000,
    }
    assert task["policies"] == {
        "overlap": "allow",
        "misfire": "skip",
        "misfire_grace_seconds": 90,
        "catch_up_max": 2,
        "max_attempts": 1,
        "timeout_seconds": 120,
        "auto_pause_after_failures": 3,
        "max_runs": 7,
        "max_cost_usd": 0.5,
        "monthly_budget_usd": 20.0,
        "unpriced_model": "allow",
    }
    assert task["agent"]["disallowed_tools"] == ["web_fetch"]
    assert task["notify"] == {"webhook_url": "https://hooks.example.com/agentcron", "when": "on_change"}
    updated = agentcron("tasks", "update", task["id"], "--overlap", "skip", "--no-webhook", "--json")
    assert updated.code == 0, updated.err
    assert updated.json["policies"] == {**task["policies"], "overlap": "skip"}, "only the policy asked for changed"
    assert updated.json["notify"] == {"webhook_url": None, "when": "on_change"}, "only the webhook changed"
    assert updated.json["agent"] == task["agent"]


# ------------------------------------------------------------------------ runs


def test_run_wait_then_read_the_history(agentcron: Agentcron) -> None:
    task_id = create(agentcron, "--name", "greeter", "--prompt", "hello from the CLI", "--manual")
    waited = agentcron("tasks", "run", task_id, "--wait", *FAST_POLL)
    assert waited.code == 0, waited.err
    assert waited.lines[0].startswith("Started run run_")
    run_id = waited.lines[0].split()[-1]
    statuses = [line.split()[-1] for line in waited.lines[1:] if run_id in line and line[:4].isdigit()]
    assert statuses[-1] == "SUCCEEDED" and statuses[0] in ("QUEUED", "RUNNING", "SUCCEEDED")
    assert "output:        Done: hello from the CLI" in waited.lines

    runs = agentcron("runs", "list", "--task", task_id, "--json").json["items"]
    assert [(r["id"], r["status"], r["trigger"]) for r in runs] == [(run_id, "SUCCEEDED", "manual")]
    run = agentcron("runs", "get", run_id, "--json").json
    assert run["output"] == "Done: hello from the CLI" and run["usage"]["output_tokens"] > 0
    assert run_id in agentcron("runs", "list", "--since", "1h", "-q").lines
    assert run_id in agentcron("runs", "list", "--status", "succeeded", "-q").lines
    assert run_id not in agentcron("runs", "list", "--status", "FAILED", "-q").lines
    table = agentcron("runs", "list", "--task", task_id)
    assert table.lines[0].split() == ["ID", "TASK", "STATUS", "TRIGGER", "SCHEDULED", "FOR", "DURATION"]
    assert table.lines[1].split()[:4] == [run_id, task_id, "SUCCEEDED", "manual"]

    transcript = agentcron("runs", "transcript", run_id)
    assert transcript.lines[:2] == ["[user]", "  hello from the CLI"]
    assert "  Done: hello from the CLI" in transcript.lines

    stats = agentcron("tasks", "stats", task_id, "--json").json
    assert stats["counts"] == {"SUCCEEDED": 1} and stats["success_rate"] == 1.0
    shown = agentcron("tasks", "stats", task_id)
    assert "success rate:  100%" in shown.lines
    assert "runs:          1 most recent: SUCCEEDED 1" in shown.lines
    # The fake model answers as the default model, so the run is priced at claude-sonnet-5's list prices.
    assert stats["cost_estimate"]["runs_priced"] == 1 and stats["cost_estimate"]["total_usd"] > 0
    [cost_line] = [line for line in shown.lines if line.startswith("est. cost:")]
    assert re.fullmatch(r"est\. cost: +(\$0\.\d{4}|<\$0\.0001) over 1 run, \1 a run", cost_line), cost_line
    assert "               claude-sonnet-5 list prices, model tokens only (no AWS costs)" in shown.lines


def test_a_runs_report_prints_text_and_saves_a_pdf_only_to_a_file(agentcron: Agentcron, tmp_path: Path) -> None:
    task_id = create(agentcron, "--name", "weekly", "--prompt", "Отчёт за неделю", "--manual", "--report", "markdown")
    assert agentcron("tasks", "get", task_id, "--json").json["report"] == {"format": "markdown"}
    waited = agentcron("tasks", "run", task_id, "--wait", *FAST_POLL)
    assert waited.code == 0, waited.err
    run_id = waited.lines[0].split()[-1]
    printed = agentcron("runs", "report", run_id)
    assert printed.code == 0, printed.err
    assert printed.lines[0] == "# weekly" and f"- **Run:** {run_id}" in printed.lines
    assert "Done: Отчёт за неделю" in printed.lines

    assert agentcron("tasks", "update", task_id, "--report", "pdf", "-q").code == 0
    run_id = agentcron("tasks", "run", task_id, "--wait", *FAST_POLL).lines[0].split()[-1]
    refused = agentcron("runs", "report", run_id)
    assert refused.code == 2 and "binary (application/pdf)" in refused.err and "--out" in refused.err
    saved = agentcron("runs", "report", run_id, "--out", str(tmp_path / "r.pdf"))
    assert saved.code == 0, saved.err
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF-")

    assert agentcron("tasks", "update", task_id, "--no-report", "-q").code == 0
    run_id = agentcron("tasks", "run", task_id, "--wait", *FAST_POLL).lines[0].split()[-1]
    missing = agentcron("runs", "report", run_id)
    assert missing.code == 1 and "has no report" in missing.err


def test_a_question_a_reply_and_a_cancel(agentcron: Agentcron) -> None:
    task_id = create(agentcron, "--name", "asker", "--prompt", "ask: Which team?", "--tool", "ask_user", "--manual")
    asked = agentcron("tasks", "run", task_id, "--wait", "--json", *FAST_POLL)
    assert asked.code == 0, asked.err
    run = asked.json
    assert (run["status"], run["question"]) == ("WAITING_INPUT", "Which team?")
    assert "WAITING_INPUT" in asked.err, "with --json the status lines go to stderr"

    answered = agentcron("runs", "reply", run["id"], "platform", "--wait", *FAST_POLL)
    assert answered.code == 0, answered.err
    assert "status:        SUCCEEDED" in answered.lines
    assert "output:        Answer received: platform" in answered.lines

    second = agentcron("tasks", "run", task_id, "--wait", "-q", *FAST_POLL)
    assert second.code == 0, second.err
    second_id = second.out.strip()
    shown = agentcron("runs", "get", second_id)
    assert "question:      Which team?" in shown.lines
    cancelled = agentcron("runs", "cancel", second_id, "--json")
    assert cancelled.code == 0 and cancelled.json["status"] == "CANCELLED"
    watched = agentcron("runs", "watch", second_id, *FAST_POLL)
    assert watched.code == 6, "a cancelled run is a failure for scripts"
    assert "status:        CANCELLED" in watched.lines
    again = agentcron("runs", "cancel", second_id)
    assert again.code == 1 and "409 Conflict" in again.err


def test_a_failed_run_exits_6(agentcron: Agentcron, tmp_path: Path) -> None:
    body = {
        "name": "always failing",
        "prompt": "fail: 500 x9",
        "schedule": {"type": "manual"},
        "policies": {"max_attempts": 1},
    }
    path = tmp_path / "task.json"
    path.write_text(json.dumps(body))
    task_id = create(agentcron, "--from-file", str(path))
    result = agentcron("tasks", "run", task_id, "--wait", *FAST_POLL)
    assert result.code == 6, result.err
    assert "status:        FAILED" in result.lines
    [error] = [line for line in result.lines if line.startswith("error:")]
    assert "api_error: HTTP 500" in error


# ------------------------------------------------------------ users and tokens


def test_two_users_see_only_their_own(agentcron: Agentcron) -> None:
    task_id = create(agentcron, "--name", "alice's secret", "--prompt", "hello", "--manual", user="alice")
    run_id = agentcron("tasks", "run", task_id, "-q", user="alice").out.strip()
    assert run_id.startswith("run_")

    for argv in (("tasks", "get", task_id), ("runs", "get", run_id), ("tasks", "run", task_id)):
        denied = agentcron(*argv, user="bob")
        assert denied.code == 1, argv
        assert "404 Not Found" in denied.err and "another user owns it" in denied.err
    deleting = agentcron("tasks", "delete", task_id, "--yes", user="bob")
    assert deleting.code == 1 and "404 Not Found" in deleting.err
    assert agentcron("tasks", "list", "--json", user="bob").json == {"items": [], "next_cursor": None}
    assert agentcron("runs", "list", "--json", user="bob").json == {"items": [], "next_cursor": None}
    assert agentcron("tasks", "list", user="bob").out == ""

    assert task_id in agentcron("tasks", "list", "-q", user="alice").lines
    assert agentcron("tasks", "get", task_id, "--json", user="alice").json["name"] == "alice's secret"


def test_an_explicit_endpoint_and_token(agentcron: Agentcron, stack: LocalStack) -> None:
    token = tokens.issue_token("dave")
    task_id = create(
        agentcron, "--name", "d", "--prompt", "p", "--manual", "--endpoint", stack.api_url, "--token", token
    )
    assert agentcron("tasks", "list", "-q", user="dave").lines == [task_id], "the token's sub is the owner"


def test_bad_tokens_exit_4_with_what_to_do(
    agentcron: Agentcron, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    garbage = agentcron("tasks", "list", "--token", "not-a-jwt")
    assert garbage.code == 4
    assert "403 Forbidden: the token or API key was refused" in garbage.err
    assert "agentcron token NAME" in garbage.err

    # A token from another state dir (another signing key) is refused too.
    with monkeypatch.context() as elsewhere:
        elsewhere.setenv(tokens.STATE_DIR_ENV, str(tmp_path / "other"))
        foreign = tokens.issue_token("alice")
    refused = agentcron("tasks", "list", "--token", foreign)
    assert refused.code == 4
    assert "403 Forbidden: the token or API key was refused" in refused.err
    assert "signed by another issuer's key" in refused.err


def test_unreachable_api_exits_3(agentcron: Agentcron) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port once the socket is closed.
    result = agentcron("tasks", "list", "--endpoint", f"http://127.0.0.1:{port}")
    assert result.code == 3
    assert f"cannot reach the agentcron API at http://127.0.0.1:{port} (--endpoint): connection refused" in result.err
    assert "is `agentcron local` running?" in result.err


# ----------------------------------------------- the real command, and invoke


def command_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AGENTCRON_"))}
    env["AGENTCRON_CONFIG"] = "/nonexistent/config.toml"
    return env


def run_process(stack: LocalStack, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentcron_local.cli", "--state-dir", str(stack.state_dir), *argv],
        capture_output=True,
        text=True,
        env=command_env(),
        cwd=REPO_ROOT,
        timeout=60,
        check=False,
    )


def test_invoke_runs_an_api_event_through_the_handler_against_the_stack(
    agentcron: Agentcron, stack: LocalStack
) -> None:
    # events/api-list-tasks.json is alice's GET /v1/tasks, as API Gateway would deliver it.
    task_id = create(agentcron, "--name", "seen by invoke", "--prompt", "p", "--manual", user="alice")
    proc = run_process(stack, "invoke", "api", "-e", "events/api-list-tasks.json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["statusCode"] == 200
    assert task_id in [t["id"] for t in json.loads(result["body"])["items"]]


def test_invoke_the_dispatcher_tick_in_process(
    agentcron: Agentcron, stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # invoke sets the function's environment in its process: keep this one's as it was.
    for name in {*stack.env, "ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY"}:
        if name in os.environ:
            monkeypatch.setenv(name, os.environ[name])
    monkeypatch.chdir(REPO_ROOT)
    result = agentcron("invoke", "DispatcherFunction", "-e", "events/dispatcher-tick.json", user=None)
    assert result.code == 0, result.err
    assert result.json["status"] == "ticked"
    assert {"claimed", "missed", "resent"} <= set(result.json)


def test_the_command_line_entry_point_and_its_errors(stack: LocalStack, tmp_path: Path) -> None:
    listed = run_process(stack, "--user", "nobody-yet", "tasks", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == {"items": [], "next_cursor": None}

    no_stack = subprocess.run(
        [sys.executable, "-m", "agentcron_local.cli", "--state-dir", str(tmp_path), "invoke", "api"],
        capture_output=True,
        text=True,
        env=command_env(),
        timeout=60,
        check=False,
    )
    assert no_stack.returncode == 3
    assert f"no running local stack on state dir {tmp_path}" in no_stack.stderr
    unknown = run_process(stack, "invoke", "nosuch", "-e", "events/api-health.json")
    assert unknown.returncode == 2 and "functions: api, authorizer, dispatcher, runner" in unknown.stderr
    usage = run_process(stack, "tasks", "frobnicate")
    assert usage.returncode == 2 and "invalid choice: 'frobnicate'" in usage.stderr


def test_tasks_history_shows_each_change_made_through_the_cli(agentcron: Agentcron) -> None:
    task_id = create(agentcron, "--name", "Logged", "--prompt", "x", "--manual")
    assert agentcron("tasks", "update", task_id, "--name", "Logged [bold]twice[/bold]").code == 0
    assert agentcron("tasks", "disable", task_id, "--reason", "holiday").code == 0

    shown = agentcron("tasks", "history", task_id)
    assert shown.code == 0, shown.err
    header, *rows = shown.lines
    assert header.split() == ["WHEN", "ACTION", "BY", "VIA", "RUN", "CHANGES"]
    assert [row.split()[1:4] for row in rows] == [
        ["disabled", "alice", "cli"],
        ["updated", "alice", "cli"],
        ["created", "alice", "cli"],
    ], "newest first, each made through the CLI"
    # Before and after as text: rich markup in a value is shown as typed, never styled away.
    assert 'name: "Logged" -> "Logged [bold]twice[/bold]"' in rows[1]

    paged = agentcron("tasks", "history", task_id, "--limit", "1", "--json")
    assert paged.code == 0 and len(paged.json["items"]) == 1 and paged.json["next_cursor"]
    assert len(agentcron("tasks", "history", task_id, "--all", "--json").json["items"]) == 3
    assert agentcron("tasks", "history", task_id, user="bob").code == 1, "another owner's: 404"


# ------------------------------------------------------------------------ connectors


def test_connectors_add_test_use_and_delete(
    agentcron: Agentcron, stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert stack.demo_mcp is not None
    monkeypatch.setenv("DEMO_MAIL_TOKEN", "tok-cli-never-printed")
    added = agentcron(
        "connectors", "add", "--name", "clmail", "--url", stack.demo_mcp.url, "--header", "X-Demo-Key",
        "--token-env", "DEMO_MAIL_TOKEN",
    )  # fmt: skip
    assert added.code == 0, added.err
    connector_id = next(line.split()[-1] for line in added.lines if line.startswith("id:"))
    assert "auth:      header X-Demo-Key (set)" in added.lines
    assert "tok-cli-never-printed" not in added.out + added.err
    listed = agentcron("connectors", "list")
    assert listed.lines[0].split() == ["ID", "NAME", "URL", "AUTH", "UPDATED"]
    assert any(line.startswith(connector_id) for line in listed.lines)
    tested = agentcron("connectors", "test", connector_id)
    assert tested.code == 0, tested.out + tested.err
    assert tested.lines[0].startswith("ok: ") and any("clmail__search_messages" in line for line in tested.lines)
    assert agentcron("connectors", "get", connector_id, user="bob").code == 1, "bob's is a 404"

    created = agentcron(
        "tasks", "create", "--name", "mail search", "--manual", "--connector", f"{connector_id}=search_messages",
        "--prompt", 'Find it\ntool: clmail__search_messages {"query": "receipt"}', "--json",
    )  # fmt: skip
    assert created.code == 0, created.err
    assert created.json["agent"]["connectors"] == [{"connector": connector_id, "tools": ["search_messages"]}]
    waited = agentcron("tasks", "run", created.json["id"], "--wait", *FAST_POLL)
    assert waited.code == 0, waited.err
    assert any("clmail__search_messages returned" in line for line in waited.lines), waited.out

    assert agentcron("connectors", "delete", connector_id).code == 0
    assert agentcron("connectors", "get", connector_id).code == 1


def test_a_connector_secret_is_never_an_argument(agentcron: Agentcron) -> None:
    unset = agentcron("connectors", "add", "--name", "x", "--url", "https://mcp.example.com/mcp", "--header", "K")
    assert unset.code == 2 and "--token-env NAME or --token-stdin" in unset.err
