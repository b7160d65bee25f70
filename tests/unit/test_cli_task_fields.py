"""``tasks create/update`` set every field the API takes: the agent, the policies and the webhook."""

from __future__ import annotations

import typing

from agentcron.models import AgentConfig, Notify, Policies
from agentcron_local.cli.task_fields import SECTION_FLAGS

from tests.unit.test_cli_requests import CliRunner, run_cli, task

__all__ = ["run_cli"]  # the fixture, shared with test_cli_requests

SECTIONS = {"agent": AgentConfig, "policies": Policies, "notify": Notify}


def test_every_agent_policy_and_notify_field_has_its_flag() -> None:
    flagged = {(flag.section, flag.key) for flag in SECTION_FLAGS} | {("agent", "tools")}  # --tool, repeated
    fields = {(section, name) for section, model in SECTIONS.items() for name in model.model_fields}
    assert flagged == fields


def test_each_choice_flag_offers_exactly_the_models_values() -> None:
    for flag in SECTION_FLAGS:
        if "choices" in flag.options:
            annotation = SECTIONS[flag.section].model_fields[flag.key].annotation
            assert tuple(flag.options["choices"]) == typing.get_args(annotation), flag.flag


def test_create_sends_the_agent_policies_and_webhook(run_cli: CliRunner) -> None:
    result = run_cli(
        "tasks", "create", "--name", "n", "--prompt", "p", "--manual", "--model", "claude-haiku-4-5",
        "--max-turns", "5", "--max-tokens", "1024", "--tool", "web_fetch", "--overlap", "buffer_one",
        "--misfire", "catch_up", "--misfire-grace", "0", "--catch-up-max", "3", "--max-attempts", "1",
        "--run-timeout", "5m", "--auto-pause-after", "2", "--max-runs", "10",
        "--webhook", "https://hooks.example.test/agentcron", "-q",
        answers=[(201, task())],
    )  # fmt: skip
    assert result.code == 0, result.err
    body = result.sent[0].body
    assert body["agent"] == {"model": "claude-haiku-4-5", "max_turns": 5, "max_tokens": 1024, "tools": ["web_fetch"]}
    assert body["policies"] == {
        "overlap": "buffer_one",
        "misfire": "catch_up",
        "misfire_grace_seconds": 0,
        "catch_up_max": 3,
        "max_attempts": 1,
        "timeout_seconds": 300,
        "auto_pause_after_failures": 2,
        "max_runs": 10,
    }
    assert body["notify"] == {"webhook_url": "https://hooks.example.test/agentcron"}


def test_update_changes_one_policy_and_keeps_the_others(run_cli: CliRunner) -> None:
    policies = {"overlap": "skip", "misfire": "run_once", "max_attempts": 3, "timeout_seconds": 300, "max_runs": None}
    current = task(policies=policies, notify={"webhook_url": "https://hooks.example.test/a"})
    result = run_cli(
        "tasks", "update", "task_01ABC", "--max-attempts", "1", "--max-turns", "3", "--no-webhook", "-q",
        answers=[(200, current), (200, task())],
    )  # fmt: skip
    assert result.code == 0, result.err
    patch = result.sent[1].body
    assert patch["policies"] == {**policies, "max_attempts": 1}, "the API replaces a whole section: send it whole"
    assert patch["agent"] == {**current["agent"], "max_turns": 3}
    assert patch["notify"] == {"webhook_url": None}


def test_webhook_and_no_webhook_contradict(run_cli: CliRunner) -> None:
    result = run_cli(
        "tasks", "update", "task_01ABC", "--webhook", "https://h.example.test", "--no-webhook",
        answers=[(200, task())],
    )  # fmt: skip
    assert result.code == 2 and "--webhook and --no-webhook contradict each other" in result.err
