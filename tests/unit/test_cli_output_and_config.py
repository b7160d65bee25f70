"""The CLI's tables and fields, and where it finds the API and a token (no network)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from agentcron_local import cli, tokens
from agentcron_local.client import CliError
from agentcron_local.endpoint import Selection, normalise_endpoint, resolve

# ------------------------------------------------------------------- output


def test_table_columns_are_fixed_width_and_clipped() -> None:
    columns = (
        cli.Column("ID", lambda r: r["id"]),
        cli.Column("NAME", lambda r: r["name"], 8),
        cli.Column("N", lambda r: r["n"]),
    )
    rows = [{"id": "a", "name": "short", "n": "1"}, {"id": "longer-id", "name": "a very long name", "n": "22"}]
    assert cli.render_table(rows, columns).splitlines() == [
        "ID         NAME      N",
        "a          short     1",
        "longer-id  a very …  22",
    ]


def test_table_cells_are_one_line() -> None:
    table = cli.render_table([{"p": "two\nlines"}], (cli.Column("PROMPT", lambda r: r["p"]),))
    assert table.splitlines() == ["PROMPT", "two lines"]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("2026-11-22T00:06:33.480123Z", "2026-11-22T00:06:33Z"),
        ("2026-11-22T00:06:33+00:00", "2026-11-22T00:06:33Z"),
        ("2026-12-01T09:00:00+01:00", "2026-12-01T09:00:00+01:00"),
        (None, "-"),
        ("not a time", "not a time"),
    ],
)
def test_times_are_iso_to_the_second(value: str | None, shown: str) -> None:
    assert cli.fmt_time(value) == shown


@pytest.mark.parametrize(
    ("schedule", "summary"),
    [
        ({"type": "cron", "expression": "0 9 * * 1-5", "timezone": "Europe/Berlin"}, "cron 0 9 * * 1-5 Europe/Berlin"),
        ({"type": "interval", "every_seconds": 14400}, "every 4h"),
        ({"type": "interval", "every_seconds": 5400}, "every 90m"),
        ({"type": "interval", "every_seconds": 90}, "every 90s"),
        ({"type": "once", "at": "2026-12-01T08:00:00Z"}, "once at 2026-12-01T08:00:00Z"),
        ({"type": "preset", "preset": "daily", "timezone": "UTC"}, "daily UTC"),
        (
            {"type": "aws", "expression": "cron(0 9 ? * MON-FRI *)", "timezone": "UTC", "dst": None},
            "cron(0 9 ? * MON-FRI *) UTC",
        ),
        (
            {"type": "preset", "preset": "hourly", "timezone": "UTC", "dst": {"repeated_hour": "once"}},
            "hourly UTC (repeated hour: once)",
        ),
        ({"type": "manual", "start_at": None, "end_at": "2027-01-01T00:00:00Z"}, "manual until 2027-01-01T00:00:00Z"),
    ],
)
def test_schedule_summaries(schedule: dict[str, object], summary: str) -> None:
    assert cli.schedule_summary(schedule) == summary


def test_durations() -> None:
    assert [cli.fmt_duration_ms(v) for v in (None, 120, 3_600, 65_400, 600_000)] == [
        "-",
        "0.1s",
        "3.6s",
        "1m05s",
        "10m00s",
    ]


def test_run_fields_leave_out_what_is_empty() -> None:
    run = {
        "id": "run_1",
        "task_id": "task_1",
        "status": "WAITING_INPUT",
        "trigger": "manual",
        "scheduled_for": "2026-11-22T00:06:33Z",
        "started_at": "2026-11-22T00:06:34Z",
        "finished_at": None,
        "attempt": 1,
        "question": "Which team?\nplatform or payments",
        "usage": {"input_tokens": 26, "output_tokens": 43},
        "error": None,
        "duration_ms": None,
    }
    assert cli.render_run(run).splitlines() == [
        "id:            run_1",
        "task:          task_1",
        "status:        WAITING_INPUT",
        "trigger:       manual",
        "scheduled for: 2026-11-22T00:06:33Z",
        "started:       2026-11-22T00:06:34Z",
        "attempt:       1",
        "usage:         26 input, 43 output tokens",
        "question:      Which team?",
        "               platform or payments",
    ]


def test_a_run_shows_its_cache_tokens_and_estimated_cost() -> None:
    run = {
        "id": "run_1",
        "status": "SUCCEEDED",
        "model": "claude-sonnet-4-5-20250929",
        "usage": {"input_tokens": 1000, "output_tokens": 500, "cache_read_input_tokens": 10000},
        "cost_estimate": {"usd": 0.0135, "priced_as": "claude-sonnet-4-5", "note": None},
    }
    shown = cli.render_run(run).splitlines()
    assert "usage:         1000 input, 500 output, 10000 cache read tokens" in shown
    assert "est. cost:     $0.0135 (claude-sonnet-4-5 list prices, model tokens only)" in shown
    unknown = {**run, "cost_estimate": {"usd": None, "priced_as": None, "note": "unknown model claude-x: no price"}}
    assert "est. cost:     - (unknown model claude-x: no price)" in cli.render_run(unknown).splitlines()


def test_stats_show_the_estimated_cost_and_what_was_not_priced() -> None:
    stats = {
        "task_id": "task_1",
        "window": 5,
        "counts": {"SUCCEEDED": 4, "FAILED": 1},
        "success_rate": 0.8,
        "duration_ms_p50": 2000,
        "duration_ms_p95": 9000,
        "input_tokens_total": 5000,
        "output_tokens_total": 900,
        "cache_creation_input_tokens_total": 2000,
        "cache_read_input_tokens_total": 0,
        "cost_estimate": {
            "total_usd": 0.025,
            "mean_per_run_usd": 0.00625,
            "runs_priced": 4,
            "runs_unpriced": 1,
            "pricing": {"claude-sonnet-5": "claude-sonnet-5", "claude-haiku-4-5": "claude-haiku-4-5", "x-1": None},
        },
        "last_failures": [],
    }
    assert cli.render_stats(stats).splitlines() == [
        "task:          task_1",
        "runs:          5 most recent: FAILED 1, SUCCEEDED 4",
        "success rate:  80%",
        "duration p50:  2.0s",
        "duration p95:  9.0s",
        "tokens:        5000 input, 900 output, 2000 cache write",
        "est. cost:     $0.0250 over 4 runs, $0.0063 a run",
        "               claude-haiku-4-5, claude-sonnet-5 list prices, model tokens only (no AWS costs)",
        "               1 run not priced: unknown model x-1",
    ]


@pytest.mark.parametrize(
    ("cost", "lines"),
    [
        ({"runs_priced": 0, "runs_unpriced": 0, "pricing": {}}, []),
        (
            {"total_usd": 1234.5, "mean_per_run_usd": 1234.5, "runs_priced": 1, "pricing": {"m": "m"}},
            ["$1,234.50 over 1 run, $1,234.50 a run", "m list prices, model tokens only (no AWS costs)"],
        ),
        ({"runs_priced": 0, "runs_unpriced": 2, "pricing": {}}, ["2 runs not priced: no model recorded"]),
    ],
)
def test_cost_summaries(cost: dict[str, object], lines: list[str]) -> None:
    assert cli.fmt_cost_summary(cost).splitlines() == lines


def test_dollar_amounts() -> None:
    assert [cli.fmt_usd(v) for v in (None, 0, 0.00004, 0.00625, 0.5, 12.345)] == [
        "-",
        "$0.00",
        "<$0.0001",
        "$0.0063",
        "$0.5000",
        "$12.35",
    ]


def test_transcript_shows_text_tool_calls_and_results() -> None:
    transcript = {
        "run_id": "run_1",
        "messages": [
            {"role": "user", "content": "hello\nask: colour?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Calling ask_user."},
                    {"type": "tool_use", "id": "t1", "name": "ask_user", "input": {"question": "colour?"}},
                ],
            },
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "blue"}]},
        ],
    }
    assert cli.render_transcript(transcript).splitlines() == [
        "[user]",
        "  hello",
        "  ask: colour?",
        "[assistant]",
        "  Calling ask_user.",
        '  -> ask_user {"question": "colour?"}',
        "[user]",
        "  <- blue",
    ]


# --------------------------------------------------------- endpoint and token


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "state"
    path.mkdir()
    monkeypatch.setenv(tokens.STATE_DIR_ENV, str(path))
    return path


def write_config(tmp_path: Path, text: str) -> dict[str, str]:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return {"AGENTCRON_CONFIG": str(path)}


def write_stack_file(state: Path, api_url: str, pid: int) -> None:
    document = {"api_url": api_url, "moto_endpoint": "http://127.0.0.1:1", "env": {}, "pid": pid}
    (state / "stack.json").write_text(json.dumps(document))


def dead_pid() -> int:
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    return int(proc.stdout)


PROFILES = """
[profiles.prod]
endpoint = "https://prod.example.test/"
token = "prod-token"

[profiles.staging]
stack = "agentcron-staging"
region = "eu-west-1"
"""


def test_the_flag_wins_over_the_environment_and_the_profile(tmp_path: Path, state: Path) -> None:
    env = {
        **write_config(tmp_path, PROFILES),
        "AGENTCRON_ENDPOINT": "https://env.example.test",
        "AGENTCRON_PROFILE": "prod",
    }
    target = resolve(Selection(endpoint="https://flag.example.test", token="t", environ=env), state)
    assert (target.endpoint, target.source) == ("https://flag.example.test", "--endpoint")
    target = resolve(Selection(environ=env), state)
    assert (target.endpoint, target.source) == ("https://env.example.test", "AGENTCRON_ENDPOINT")
    assert (target.token, target.token_source) == ("prod-token", "profile prod"), "the profile still gives the token"


def test_a_profile_gives_endpoint_and_token(tmp_path: Path, state: Path) -> None:
    env = write_config(tmp_path, PROFILES)
    target = resolve(Selection(profile="prod", environ=env), state)
    assert target.endpoint == "https://prod.example.test"
    assert target.token == "prod-token" and not target.local
    assert target.source.startswith("profile prod in ")
    env_token = resolve(Selection(profile="prod", environ={**env, "AGENTCRON_TOKEN": "env-token"}), state)
    assert env_token.token == "env-token", "AGENTCRON_TOKEN wins over the profile's token"


def test_an_unknown_profile_names_the_known_ones(tmp_path: Path, state: Path) -> None:
    env = write_config(tmp_path, PROFILES)
    with pytest.raises(CliError) as error:
        resolve(Selection(profile="dev", environ=env), state)
    assert error.value.exit_code == 2
    assert "no profile 'dev'" in error.value.message and "prod, staging" in error.value.message


def test_a_missing_config_file_says_what_to_write(tmp_path: Path, state: Path) -> None:
    with pytest.raises(CliError) as error:
        resolve(Selection(profile="prod", environ={"AGENTCRON_CONFIG": str(tmp_path / "none.toml")}), state)
    assert "there is no config file at" in error.value.message
    assert "[profiles.prod]" in error.value.hints[0]


def test_the_running_local_stack_is_found_with_a_dev_token(state: Path) -> None:
    write_stack_file(state, "http://127.0.0.1:43210", os.getpid())
    target = resolve(Selection(user="alice", environ={}), state)
    assert target.endpoint == "http://127.0.0.1:43210"
    assert target.local and target.source == f"the local stack ({state / 'stack.json'})"
    assert target.token is not None
    assert tokens.verify_token(target.token)["sub"] == "alice", "signed with the stack's key, for --user"
    demo = resolve(Selection(environ={"AGENTCRON_USER": "carol"}), state)
    assert demo.token is not None and tokens.verify_token(demo.token)["sub"] == "carol"
    assert tokens.verify_token(resolve(Selection(environ={}), state).token or "")["sub"] == "demo"


def test_a_stale_stack_file_falls_back_to_the_default_with_a_hint(state: Path) -> None:
    write_stack_file(state, "http://127.0.0.1:43210", dead_pid())
    target = resolve(Selection(environ={}), state)
    assert target.endpoint == "http://127.0.0.1:3000"
    assert target.source == "the default local endpoint"
    assert "start one with `agentcron local`" in target.hints[0]


def test_an_ignored_flag_is_noted(state: Path) -> None:
    env = {"AGENTCRON_ENDPOINT": "https://env.example.test", "AGENTCRON_TOKEN": "tok"}
    target = resolve(Selection(stack="prod", user="bob", environ=env), state)
    assert target.endpoint == "https://env.example.test"
    assert target.notes == (
        "--stack prod is ignored: the endpoint comes from AGENTCRON_ENDPOINT",
        "--user bob is ignored: the token comes from AGENTCRON_TOKEN",
    )


def test_a_deployed_endpoint_gets_no_dev_token(state: Path) -> None:
    target = resolve(Selection(endpoint="https://abc.execute-api.eu-west-1.amazonaws.com/", environ={}), state)
    assert target.token is None and not target.local
    assert not (state / tokens.KEY_FILE_NAME).exists(), "no signing key is made for a deployed API"


@pytest.mark.parametrize(
    ("given", "normal"),
    [
        ("https://abc.execute-api.us-east-1.amazonaws.com/", "https://abc.execute-api.us-east-1.amazonaws.com"),
        ("http://127.0.0.1:3000/v1/", "http://127.0.0.1:3000"),
    ],
)
def test_endpoints_are_normalised(given: str, normal: str) -> None:
    assert normalise_endpoint(given) == normal


def test_a_non_http_endpoint_is_a_usage_error() -> None:
    with pytest.raises(CliError) as error:
        normalise_endpoint("127.0.0.1:3000")
    assert error.value.exit_code == 2
