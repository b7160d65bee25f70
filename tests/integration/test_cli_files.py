"""Tasks as files: `agentcron apply`, `diff` and `get -o yaml` against the real API (the local stack
of test_cli). Each test is its own user, so --prune only ever sees that test's tasks."""

from __future__ import annotations

import io
import json
import re
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.test_cli import Agentcron, agentcron, stack

__all__ = ["agentcron", "stack"]  # test_cli's fixtures: one local stack per module

NIGHTLY = """\
name: Nightly report
prompt: |
  Summarise yesterday's incidents for {{team}}.
  Keep it short.
variables:
  team: platform
schedule:
  type: cron
  expression: "0 2 * * *"
  timezone: Europe/Berlin
policies:
  max_attempts: 1
tags: [ops]
"""
WEEKLY = """\
tasks:
  - name: Weekly digest
    prompt: Write the weekly digest.
    schedule: {type: preset, preset: weekly}
  - name: Ad hoc
    prompt: Answer when asked.
    schedule: {type: manual}
    enabled: false
"""


@pytest.fixture
def user() -> str:
    return f"files-{uuid.uuid4().hex[:8]}"


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text))
    return path


def your_tasks(agentcron: Agentcron, user: str) -> dict[str, dict[str, Any]]:
    listed = agentcron("tasks", "list", "--all", "--json", user=user)
    assert listed.code == 0, listed.err
    return {task["name"]: task for task in listed.json["items"]}


@pytest.fixture
def files(tmp_path: Path) -> Path:
    directory = tmp_path / "tasks"
    directory.mkdir()
    write(directory, "nightly.yaml", NIGHTLY)
    write(directory, "weekly.yml", WEEKLY)
    write(directory, "notes.txt", "not a task file: a directory's other files are not read")
    return directory


def test_apply_creates_then_a_second_apply_changes_nothing(agentcron: Agentcron, user: str, files: Path) -> None:
    first = agentcron("apply", "-f", str(files), user=user)
    assert first.code == 0, first.err
    assert [line.split()[0] for line in first.lines] == ["created", "created", "created", "3"]
    assert first.lines[-1] == "3 created."
    tasks = your_tasks(agentcron, user)
    assert set(tasks) == {"Nightly report", "Weekly digest", "Ad hoc"}
    nightly = tasks["Nightly report"]
    assert nightly["prompt"] == "Summarise yesterday's incidents for {{team}}.\nKeep it short.\n"
    assert nightly["schedule"]["timezone"] == "Europe/Berlin" and nightly["policies"]["max_attempts"] == 1
    assert nightly["policies"]["overlap"] == "skip", "what the file leaves out is the API's default"
    assert tasks["Ad hoc"]["enabled"] is False and tasks["Weekly digest"]["enabled"] is True

    again = agentcron("apply", "-f", str(files), user=user)
    assert again.code == 0, again.err
    assert again.lines[-1] == "No changes: 3 task(s) already as the files say."
    assert sorted(line.split()[0] for line in again.lines[:-1]) == ["unchanged"] * 3
    after = your_tasks(agentcron, user)
    assert {name: task["version"] for name, task in after.items()} == {
        name: task["version"] for name, task in tasks.items()
    }, "nothing was written the second time"

    as_json = agentcron("apply", "-f", str(files), "--json", user=user)
    assert as_json.code == 0, as_json.err
    assert {item["name"] for item in as_json.json["unchanged"]} == set(tasks)
    assert as_json.json["create"] == as_json.json["change"] == as_json.json["pause"] == []


def test_an_edited_field_is_the_only_change(agentcron: Agentcron, user: str, files: Path) -> None:
    assert agentcron("apply", "-f", str(files), user=user).code == 0
    before = your_tasks(agentcron, user)
    write(files, "nightly.yaml", NIGHTLY.replace("max_attempts: 1", "max_attempts: 2"))

    planned = agentcron("diff", "-f", str(files), user=user)
    assert planned.code == 1, "something would change"
    nightly_id = before["Nightly report"]["id"]
    assert f'~ change     "Nightly report" ({nightly_id})' in planned.lines
    assert "    policies.max_attempts: 1 -> 2" in planned.lines
    assert planned.lines[-1] == "Plan: 1 to change, 2 unchanged."
    assert your_tasks(agentcron, user)["Nightly report"]["version"] == before["Nightly report"]["version"]

    applied = agentcron("apply", "-f", str(files), user=user)
    assert applied.code == 0, applied.err
    assert f'changed    "Nightly report" ({nightly_id}): policies.max_attempts' in applied.lines
    after = your_tasks(agentcron, user)
    assert after["Nightly report"]["version"] == before["Nightly report"]["version"] + 1
    assert after["Nightly report"]["policies"] == {**before["Nightly report"]["policies"], "max_attempts": 2}
    for name in ("Weekly digest", "Ad hoc"):
        assert after[name]["version"] == before[name]["version"]
    history = agentcron("tasks", "history", nightly_id, "--json", user=user).json["items"]
    assert history[0]["via"] == "cli" and [change["field"] for change in history[0]["changes"]] == ["policies"]


def test_a_prompt_change_shows_its_lines_and_enabled_uses_the_routes(
    agentcron: Agentcron, user: str, files: Path
) -> None:
    assert agentcron("apply", "-f", str(files), user=user).code == 0
    write(files, "nightly.yaml", NIGHTLY.replace("Keep it short.", "Keep it very short.") + "enabled: false\n")
    planned = agentcron("diff", "-f", str(files), "-o", "json", user=user)
    assert planned.code == 1
    [changed] = planned.json["change"]
    assert [change["field"] for change in changed["changes"]] == ["prompt", "enabled"]
    text = agentcron("diff", "-f", str(files), user=user)
    assert "    prompt:" in text.lines and "      -Keep it short." in text.lines
    assert "      +Keep it very short." in text.lines and "    enabled: true -> false" in text.lines

    assert agentcron("apply", "-f", str(files), user=user).code == 0
    nightly = your_tasks(agentcron, user)["Nightly report"]
    assert nightly["enabled"] is False and nightly["prompt"].endswith("Keep it very short.\n")
    assert agentcron("diff", "-f", str(files), user=user).code == 0


def test_diff_exits_0_when_nothing_would_change(agentcron: Agentcron, user: str, files: Path) -> None:
    planned = agentcron("diff", "-f", str(files), user=user)
    assert planned.code == 1
    assert planned.lines[-1] == "Plan: 3 to create."
    assert '+ create     "Nightly report" (' + str(files / "nightly.yaml") + ")" in planned.lines
    assert your_tasks(agentcron, user) == {}, "diff changes nothing"
    assert agentcron("apply", "-f", str(files), user=user).code == 0
    same = agentcron("diff", "-f", str(files), user=user)
    assert same.code == 0, same.out + same.err
    assert same.lines[-1] == "No changes: 3 task(s) as the files say."


def test_a_paused_task_stays_paused_unless_the_file_says_enabled(agentcron: Agentcron, user: str, files: Path) -> None:
    assert agentcron("apply", "-f", str(files), user=user).code == 0
    weekly = your_tasks(agentcron, user)["Weekly digest"]
    assert agentcron("tasks", "disable", weekly["id"], user=user).code == 0
    assert agentcron("diff", "-f", str(files), user=user).code == 0, "the file does not say `enabled`"
    write(files, "weekly.yml", WEEKLY.replace("preset: weekly}", "preset: weekly}\n    enabled: true"))
    assert agentcron("apply", "-f", str(files), user=user).code == 0
    assert your_tasks(agentcron, user)["Weekly digest"]["enabled"] is True


def test_prune_pauses_what_no_file_names_and_never_deletes(agentcron: Agentcron, user: str, files: Path) -> None:
    assert agentcron("apply", "-f", str(files), user=user).code == 0
    extra = agentcron("tasks", "create", "--name", "By hand", "--prompt", "p", "--manual", "-q", user=user)
    assert extra.code == 0, extra.err
    by_hand = extra.out.strip()

    without = agentcron("apply", "-f", str(files), user=user)
    assert without.code == 0 and "By hand" not in without.out, "only --prune touches unnamed tasks"
    planned = agentcron("diff", "-f", str(files), "--prune", user=user)
    assert planned.code == 1
    assert f'- would pause "By hand" ({by_hand}): no file names it (--prune)' in planned.lines
    assert planned.lines[-1] == "Plan: 3 unchanged, 1 to pause."

    pruned = agentcron("apply", "-f", str(files), "--prune", user=user)
    assert pruned.code == 0, pruned.err
    assert f'paused     "By hand" ({by_hand}): no file names it (--prune)' in pruned.lines
    task = agentcron("tasks", "get", by_hand, "--json", user=user)
    assert task.code == 0, "paused, not deleted"
    assert task.json["enabled"] is False
    assert task.json["paused_reason"] == "agentcron apply --prune: no task file names it"
    assert agentcron("diff", "-f", str(files), "--prune", user=user).code == 0, "a paused task is left alone"
    assert "Ad hoc" in your_tasks(agentcron, user), "a task the files name is never pruned, paused or not"


@pytest.mark.parametrize("output", ["yaml", "json"])
def test_get_writes_a_file_that_applies_back_unchanged(
    agentcron: Agentcron, user: str, tmp_path: Path, output: str
) -> None:
    created = agentcron(
        "tasks", "create", "--name", "Round trip", "--prompt", "Line one\nline two", "--cron", "30 7 * * 1-5",
        "--tz", "Europe/Berlin", "--var", "team=ops", "--tool", "web_fetch", "--max-cost", "0.5",
        "--webhook", "https://hooks.example.com/agentcron", "--notify-when", "on_failure", "--report", "pdf",
        "--tag", "daily", "--disabled", "--json", user=user,
    )  # fmt: skip
    assert created.code == 0, created.err
    task = created.json
    by_name = agentcron("get", "Round trip", "-o", output, user=user)
    assert by_name.code == 0, by_name.err
    assert agentcron("get", task["id"], "-o", output, user=user).out == by_name.out
    document = yaml.safe_load(by_name.out) if output == "yaml" else json.loads(by_name.out)
    assert document == {
        "name": "Round trip",
        "prompt": "Line one\nline two",
        "variables": {"team": "ops"},
        "schedule": {"type": "cron", "expression": "30 7 * * 1-5", "timezone": "Europe/Berlin"},
        "enabled": False,
        "policies": {"max_cost_usd": 0.5},
        "agent": {"tools": ["web_fetch"]},
        "notify": {"webhook_url": "https://hooks.example.com/agentcron", "when": "on_failure"},
        "tags": ["daily"],
        "report": {"format": "pdf"},
    }, "only the fields a file gives: no id, version, links, times or webhook secret"
    if output == "yaml":
        assert "prompt: |-\n  Line one\n  line two\n" in by_name.out, "a multi-line prompt reads as itself"

    path = tmp_path / f"round-trip.{output}"
    path.write_text(by_name.out)
    applied = agentcron("apply", "-f", str(path), user=user)
    assert applied.code == 0, applied.err
    assert applied.lines == [
        f'unchanged  "Round trip" ({task["id"]})',
        "No changes: 1 task(s) already as the files say.",
    ]
    assert agentcron("tasks", "get", task["id"], "--json", user=user).json["version"] == task["version"]


def test_get_names_a_task_that_is_not_there(agentcron: Agentcron, user: str) -> None:
    missing = agentcron("get", "No such task", user=user)
    assert missing.code == 1 and 'you have no task named "No such task"' in missing.err


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (NIGHTLY + "colour: blue\n", 'nightly.yaml ("Nightly report"): colour: unknown field'),
        (
            NIGHTLY.replace('"0 2 * * *"', '"0 26 * * *"'),
            "nightly.yaml (\"Nightly report\"): schedule.expression: hour field '26' is out of range 0-23",
        ),
        (NIGHTLY.replace("max_attempts: 1", "max_attempts: 0"), "policies.max_attempts: Input should be greater"),
        ("name: [unclosed\n", "nightly.yaml: not valid YAML"),
    ],
)
def test_a_bad_file_changes_nothing_and_names_the_file_and_field(
    agentcron: Agentcron, user: str, files: Path, text: str, problem: str
) -> None:
    write(files, "nightly.yaml", text)
    for verb in ("apply", "diff"):
        refused = agentcron(verb, "-f", str(files), user=user)
        assert refused.code == 2, refused.err
        assert "the task files are not valid; nothing was changed" in refused.err
        assert problem in refused.err, refused.err
    assert your_tasks(agentcron, user) == {}, "weekly.yml was fine, and still nothing was created"


def test_a_bad_json_file_names_its_task_and_field(agentcron: Agentcron, user: str, tmp_path: Path) -> None:
    path = tmp_path / "tasks.json"
    good = {"name": "fine", "prompt": "p", "schedule": {"type": "manual"}}
    path.write_text(json.dumps([good, {**good, "name": "broken", "tags": ["ok", "not ok"]}]))
    refused = agentcron("apply", "-f", str(path), user=user)
    assert refused.code == 2
    assert f'{path}: task 2 ("broken"): tags.1: String should match pattern' in refused.err
    assert your_tasks(agentcron, user) == {}


def test_a_name_given_twice_in_the_files_is_refused(agentcron: Agentcron, user: str, files: Path) -> None:
    write(files, "again.yaml", NIGHTLY.replace("team: platform", "team: web"))
    refused = agentcron("apply", "-f", str(files), user=user)
    assert refused.code == 2
    assert (
        f'the task "Nightly report" is given 2 times: {files / "again.yaml"}, {files / "nightly.yaml"}' in refused.err
    )
    assert your_tasks(agentcron, user) == {}


def test_two_of_your_tasks_with_a_files_name_are_refused(agentcron: Agentcron, user: str, files: Path) -> None:
    ids = sorted(
        agentcron("tasks", "create", "--name", "Ad hoc", "--prompt", "p", "--manual", "-q", user=user).out.strip()
        for _ in range(2)
    )
    for verb in ("apply", "diff"):
        refused = agentcron(verb, "-f", str(files), user=user)
        assert refused.code == 2, refused.err
        assert "several of your tasks have a name the files use" in refused.err
        assert f'"Ad hoc" ({files / "weekly.yml"}: task 2): your tasks {ids[0]}, {ids[1]}' in refused.err
    assert set(your_tasks(agentcron, user)) == {"Ad hoc"}, "nothing was created"
    which = agentcron("get", "Ad hoc", user=user)
    assert which.code == 2 and set(ids) <= set(re.findall(r"task_\w+", which.err)) and "by its id" in which.err


def test_an_api_refusal_says_which_file_and_what_was_done(agentcron: Agentcron, user: str, tmp_path: Path) -> None:
    first = {"name": "a first", "prompt": "p", "schedule": {"type": "manual"}}
    # Valid as a body, but the API knows no such connector of this user's: only it can say so.
    second = {**first, "name": "b second", "agent": {"connectors": [{"connector": "conn_" + "0" * 26}]}}
    path = tmp_path / "tasks.yaml"
    path.write_text(yaml.safe_dump({"tasks": [first, second]}))
    refused = agentcron("apply", "-f", str(path), user=user)
    assert refused.code == 1, refused.err
    assert refused.err.startswith(f"agentcron: {path}: task 2: 4")
    assert '"b second" (' in refused.err and "not applied" in refused.err
    assert "applied before it:" in refused.err and 'created    "a first"' in refused.err
    assert set(your_tasks(agentcron, user)) == {"a first"}


def test_a_webhook_set_by_a_file_shows_its_signing_secret_once(
    agentcron: Agentcron, user: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    given = {"name": "hooked", "prompt": "p", "schedule": {"type": "manual"}}
    given["notify"] = {"webhook_url": "https://hooks.example.com/in", "when": "on_failure"}
    monkeypatch.setattr("sys.stdin", io.StringIO(yaml.safe_dump(given)))
    applied = agentcron("apply", "-f", "-", user=user)
    assert applied.code == 0, applied.err
    [secret_line] = [line for line in applied.lines if "webhook secret" in line]
    assert re.search(r"shown once; give it to the receiver\): whsec_\S+$", secret_line)
    monkeypatch.setattr("sys.stdin", io.StringIO(yaml.safe_dump(given)))
    again = agentcron("apply", "-f", "-", "--json", user=user)
    assert again.code == 0 and [item["name"] for item in again.json["unchanged"]] == ["hooked"]
    assert "webhook_secret" not in again.out, "only the write that set it shows it"
