"""What the CLI prints beside its tables: -o yaml|wide|json, --query, errors as documents, colour
only on a terminal, wide characters, times in the user's zone, --version, shell completion, the
--wait spinner."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
import requests
import yaml
from agentcron_local import cli
from rich.cells import cell_len

from tests.unit.test_cli_requests import ENDPOINT, TOKEN, CliRunner, FakeApi, run_cli, run_doc, task

__all__ = ["run_cli"]  # the fixture, shared with test_cli_requests


# ------------------------------------------------------------ documents


def test_yaml_output_is_the_api_document(run_cli: CliRunner) -> None:
    result = run_cli("tasks", "get", "task_01ABC", "-o", "yaml", answers=[(200, task())])
    assert result.code == 0, result.err
    assert yaml.safe_load(result.out) == task()


def test_query_prints_the_jmespath_of_the_document(run_cli: CliRunner) -> None:
    page = {"items": [task(), task(id="task_02DEF", tags=["ops", "eu"])], "next_cursor": None}
    ids = run_cli("tasks", "list", "--query", "items[].id", answers=[(200, page)])
    assert ids.code == 0, ids.err
    assert ids.json == ["task_01ABC", "task_02DEF"], "--query prints JSON even without --json"
    in_eu = "items[?contains(tags, 'eu')].id"
    as_yaml = run_cli("tasks", "list", "-o", "yaml", "--query", in_eu, answers=[(200, page)])
    assert yaml.safe_load(as_yaml.out) == ["task_02DEF"]


def test_a_query_that_is_not_jmespath_is_a_usage_error(run_cli: CliRunner) -> None:
    result = run_cli("tasks", "list", "--query", "items[", answers=[(200, {"items": [], "next_cursor": None})])
    assert result.code == 2
    assert "--query 'items[' is not a JMESPath expression" in result.err


def test_wide_adds_columns_and_clips_nothing(run_cli: CliRunner) -> None:
    long_name = "A name much longer than the thirty characters of the table"
    page = {"items": [task(name=long_name)], "next_cursor": None}
    narrow = run_cli("tasks", "list", answers=[(200, page)])
    wide = run_cli("tasks", "list", "-o", "wide", answers=[(200, page)])
    assert "MODEL" not in narrow.out and long_name not in narrow.out
    header, row = wide.out.splitlines()
    assert header.split()[-5:] == ["TAGS", "MODEL", "TOOLS", "VERSION", "UPDATED"]
    assert long_name in row and "claude-opus-4" in row and "web_fetch" in row


@pytest.mark.parametrize("flag", [["--json"], ["-o", "json"]])
def test_an_api_error_is_a_json_document_on_stdout(run_cli: CliRunner, flag: list[str]) -> None:
    problem = {"status": 404, "title": "Not Found", "detail": "task task_x not found"}
    result = run_cli("tasks", "get", "task_x", *flag, answers=[(404, problem)])
    assert result.code == 1
    error = result.json["error"]
    assert (error["status"], error["exit_code"], error["problem"]) == (404, 1, problem)
    assert error["message"] == "404 Not Found: task task_x not found"
    assert "404 Not Found" in result.err, "people still read it on stderr"


def test_an_unreachable_api_is_a_json_document_under_json(run_cli: CliRunner) -> None:
    result = run_cli("tasks", "list", "--json", answers=[requests.ConnectionError("Connection refused")])
    assert result.code == 3
    assert result.json["error"]["exit_code"] == 3
    assert "cannot reach the agentcron API" in result.json["error"]["message"]


# ------------------------------------------------------------ tables


def test_wide_characters_keep_the_columns_aligned() -> None:
    columns = (cli.Column("NAME", lambda r: r["name"]), cli.Column("STATE", lambda r: r["state"]))
    rows = [{"name": "日報タスク", "state": "enabled"}, {"name": "daily", "state": "paused"}]
    lines = cli.render_table(rows, columns).splitlines()
    # Each line's STATE column starts at the same display column (a CJK character is two wide).
    words = ("STATE", "enabled", "paused")
    starts = {cell_len(line[: line.rindex(word)]) for line, word in zip(lines, words, strict=True)}
    assert starts == {len("日報タスク") * 2 + 2}


def test_a_wide_name_is_clipped_by_display_width() -> None:
    lines = cli.render_table([{"n": "東京大阪名古屋札幌"}], (cli.Column("N", lambda r: r["n"], 8),)).splitlines()
    assert cell_len(lines[1]) <= 8 and lines[1].endswith("…")


@pytest.fixture
def terminal() -> Iterator[tuple[IO[str], int]]:
    """A pseudo-terminal: (the stream the CLI writes to, the fd to read what it wrote)."""
    leader, follower = pty.openpty()
    stream = os.fdopen(follower, "w", encoding="utf-8")
    try:
        yield stream, leader
    finally:
        stream.close()
        os.close(leader)


def read_terminal(leader: int) -> str:
    return os.read(leader, 1 << 16).decode("utf-8", "replace")


def cli_on(argv: list[str], answers: list[Any], *, stdout: IO[str], stderr: IO[str] | None = None) -> int:
    api = FakeApi(list(answers))
    session = requests.Session()
    session.mount("https://", api)
    return cli.main(["--endpoint", ENDPOINT, "--token", TOKEN, *argv], session=session, stdout=stdout, stderr=stderr)


@pytest.fixture
def colour_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in ("NO_COLOR", "FORCE_COLOR", "AGENTCRON_ENDPOINT", "AGENTCRON_TOKEN", "AGENTCRON_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("AGENTCRON_CONFIG", str(tmp_path / "none.toml"))
    return monkeypatch


def test_a_table_is_coloured_on_a_terminal(colour_env: pytest.MonkeyPatch, terminal: tuple[IO[str], int]) -> None:
    stream, leader = terminal
    page = {"items": [run_doc("FAILED")], "next_cursor": None}
    assert cli_on(["runs", "list"], [(200, page)], stdout=stream) == 0
    shown = read_terminal(leader)
    assert "\x1b[" in shown and "FAILED" in shown


def test_no_color_turns_colour_off_even_on_a_terminal(
    colour_env: pytest.MonkeyPatch, terminal: tuple[IO[str], int]
) -> None:
    colour_env.setenv("NO_COLOR", "1")
    stream, leader = terminal
    assert cli_on(["runs", "list"], [(200, {"items": [run_doc("FAILED")], "next_cursor": None})], stdout=stream) == 0
    shown = read_terminal(leader)
    assert "FAILED" in shown and "\x1b[" not in shown


def test_a_pipe_gets_no_colour(run_cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm-256color")
    result = run_cli("runs", "list", answers=[(200, {"items": [run_doc("FAILED")], "next_cursor": None})])
    assert "FAILED" in result.out and "\x1b[" not in result.out


def test_waiting_shows_a_spinner_on_a_terminal(colour_env: pytest.MonkeyPatch, terminal: tuple[IO[str], int]) -> None:
    stream, leader = terminal
    out = io.StringIO()
    answers = [(200, run_doc("RUNNING")), (200, run_doc("SUCCEEDED"))]
    code = cli_on(["runs", "watch", "run_01ABC_1795305993", "--interval", "0.2"], answers, stdout=out, stderr=stream)
    assert code == 0
    shown = read_terminal(leader)
    assert "run run_01ABC_1795305993: RUNNING" in shown, "the spinner says the current status"
    assert "\x1b[?25l" in shown, "rich's live display hides the cursor while it spins"


# ------------------------------------------------------------ times


@pytest.mark.parametrize(
    ("argv", "tz", "shown"),
    [
        (["--tz", "Asia/Tokyo"], None, "next run:    2026-12-01T17:00:00+09:00"),
        ([], "America/New_York", "next run:    2026-12-01T03:00:00-05:00"),
        (["--tz", "UTC"], "America/New_York", "next run:    2026-12-01T08:00:00Z"),
    ],
)
def test_times_are_shown_in_the_users_zone(
    run_cli: CliRunner, monkeypatch: pytest.MonkeyPatch, argv: list[str], tz: str | None, shown: str
) -> None:
    if tz is None:
        monkeypatch.delenv("TZ", raising=False)
    else:
        monkeypatch.setenv("TZ", tz)
    result = run_cli(*argv, "tasks", "get", "task_01ABC", answers=[(200, task())])
    assert result.code == 0, result.err
    assert shown in result.out.splitlines()


def test_an_unknown_display_zone_is_a_usage_error(run_cli: CliRunner) -> None:
    result = run_cli("--tz", "Mars/Olympus", "tasks", "list")
    assert result.code == 2 and "--tz Mars/Olympus: not an IANA time zone" in result.err


# ------------------------------------------------------------ version and completion


def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"agentcron {version('agentcron')}\n"


@pytest.mark.parametrize(
    ("shell", "marker"),
    [("bash", "complete -o nospace -o default -o bashdefault -F"), ("zsh", "#compdef agentcron"), ("fish", "complete")],
)
def test_completion_prints_the_shells_script(run_cli: CliRunner, shell: str, marker: str) -> None:
    result = run_cli("completion", shell, connect=False)
    assert result.code == 0, result.err
    assert marker in result.out and "agentcron" in result.out


def complete(line: str, tmp_path: Path) -> list[str]:
    """What the shell's completion gets for ``line`` (argcomplete's protocol, as the scripts call it)."""
    answer = tmp_path / "completions"
    env = {
        **os.environ,
        "_ARGCOMPLETE": "1",
        "_ARGCOMPLETE_SHELL": "fish",  # one completion a line
        "COMP_LINE": line,
        "COMP_POINT": str(len(line)),
        "_ARGCOMPLETE_STDOUT_FILENAME": str(answer),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "agentcron_local.cli"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return [entry.split("\t")[0].strip() for entry in answer.read_text().splitlines()]


def test_the_shell_completes_commands_actions_and_flags(tmp_path: Path) -> None:
    assert {"tasks", "runs", "schedule"} <= set(complete("agentcron ", tmp_path))
    assert complete("agentcron tasks cr", tmp_path) == ["create"]
    assert {"--overlap", "--max-turns", "--webhook"} <= set(complete("agentcron tasks create --", tmp_path))
    assert set(complete("agentcron tasks create --overlap ", tmp_path)) == {"skip", "allow", "buffer_one"}
    assert set(complete("agentcron tasks list -o ", tmp_path)) == {"table", "wide", "json", "yaml"}


def test_json_errors_leave_stdout_one_document(run_cli: CliRunner) -> None:
    result = run_cli("tasks", "get", "t", "--json", answers=[(500, {"status": 500, "detail": "boom"})])
    assert result.code == 5
    assert json.loads(result.out)["error"]["status"] == 500


def test_a_usage_error_is_a_json_document_under_json(run_cli: CliRunner) -> None:
    result = run_cli("tasks", "list", "--limit", "many", "--json")
    assert result.code == 2
    error = result.json["error"]
    assert error["exit_code"] == 2 and "--limit: invalid int value: 'many'" in error["message"]
    assert "invalid int value" in result.err, "argparse's usage message still goes to stderr"
