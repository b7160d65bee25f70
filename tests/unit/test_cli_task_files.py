"""Task files without a server: the shapes a file may take, how each problem is named, how two
values are compared, and a stored value the model no longer accepts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from agentcron_local.cli.task_files import (
    FieldChange,
    change_lines,
    differences,
    file_document,
    make_plan,
    read_tasks,
)
from agentcron_local.client import EXIT_USAGE, CliError

MANUAL = {"type": "manual"}


def task(name: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "prompt": "p", "schedule": MANUAL, **fields}


def problems(paths: list[Path]) -> list[str]:
    with pytest.raises(CliError) as refused:
        read_tasks([str(path) for path in paths])
    assert refused.value.exit_code == EXIT_USAGE
    return list(refused.value.hints)


def test_every_shape_a_file_may_take(tmp_path: Path) -> None:
    one = tmp_path / "one.yaml"
    one.write_text("name: one\nprompt: p\nschedule: {type: manual}\n")
    documents = tmp_path / "documents.yml"
    documents.write_text("name: two\nprompt: p\nschedule: {type: manual}\n---\n- name: three\n  prompt: p\n"
                         "  schedule: {type: manual}\n---\n")  # fmt: skip
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"tasks": [task("four"), task("five")]}))
    read = read_tasks([str(one), str(documents), str(wrapped)])
    assert [item.name for item in read] == ["one", "two", "three", "four", "five"]
    assert [item.where for item in read][:2] == [str(one), f"{documents}: task 1"]


def test_each_problem_of_every_file_is_named_at_once(tmp_path: Path) -> None:
    wrapper = tmp_path / "a.yaml"
    wrapper.write_text(json.dumps({"tasks": [task("x")], "extra": 1}))
    scalar = tmp_path / "b.yaml"
    scalar.write_text("just text\n")
    json_file = tmp_path / "c.json"
    json_file.write_text("{not json")
    listed = tmp_path / "d.yaml"
    listed.write_text(json.dumps([task("ok"), "not a mapping", {"prompt": "p", "schedule": MANUAL}]))
    assert problems([wrapper, scalar, json_file, listed]) == [
        f"{wrapper}: `tasks:` must be a list of tasks, and the file's only key",
        f"{scalar}: expected a task (a mapping), a list of tasks, or `tasks:` and a list",
        f"{json_file}: not valid JSON: Expecting property name enclosed in double quotes (line 1, column 2)",
        f"{listed}: task 2: a task must be a mapping of its fields",
        f"{listed}: task 3: name: Field required",
    ]


def test_a_file_with_no_tasks_is_refused_so_prune_never_pauses_everything(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing yet\n")
    with pytest.raises(CliError, match="the files hold no tasks"):
        read_tasks([str(empty)])
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(CliError, match=r"no \*\.yaml, \*\.yml or \*\.json files"):
        read_tasks([str(tmp_path / "empty_dir")])


def test_names_are_compared_as_the_api_stores_them(tmp_path: Path) -> None:
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps([task("Same"), task("  Same ")]))
    assert problems([path]) == [f'the task "Same" is given 2 times: {path}: task 1, {path}: task 2']


def test_objects_are_compared_key_by_key_and_lists_whole() -> None:
    before = {"max_attempts": 3, "overlap": "skip", "tools": ["a"]}
    after = {"max_attempts": 1, "overlap": "skip", "tools": ["a", "b"]}
    assert differences("agent", before, after) == [
        FieldChange("agent.max_attempts", 3, 1),
        FieldChange("agent.tools", ["a"], ["a", "b"]),
    ]
    assert differences("variables", {"gone": "x"}, {}) == [FieldChange("variables.gone", "x", None)]
    assert change_lines(FieldChange("description", "", "new")) == ['    description: "" -> "new"']


def stored(**fields: Any) -> dict[str, Any]:
    """A task as the API shows it: every field filled in, plus what a file never holds."""
    from agentcron.models import TaskCreate

    shown = TaskCreate.model_validate(task("t", **fields)).model_dump(mode="json")
    return {**shown, "id": "task_01ABC", "version": 4, "paused_reason": None, "_links": {}, "webhook_secret": None}


def test_a_value_stored_before_a_rule_it_now_breaks_is_compared_and_written_as_it_is(tmp_path: Path) -> None:
    # The API keeps what it once accepted: an http webhook off loopback is refused now.
    legacy = stored()
    legacy["notify"] = {"webhook_url": "http://hooks.example.com/x", "when": "always"}
    document = file_document(legacy)
    assert document["notify"] == legacy["notify"] and "id" not in document and "version" not in document
    path = tmp_path / "t.json"
    path.write_text(json.dumps(task("t")))
    [step] = make_plan(read_tasks([str(path)]), [legacy], prune=False).steps
    assert step.action == "change" and step.patch == {"notify": {"webhook_url": None, "when": "always"}}


def test_the_defaults_are_no_change_and_enabled_only_when_the_file_says_it(tmp_path: Path) -> None:
    paused = {**stored(policies={"max_attempts": 1}), "enabled": False}
    path = tmp_path / "t.json"
    path.write_text(json.dumps(task("t", policies={"max_attempts": 1})))
    [step] = make_plan(read_tasks([str(path)]), [paused], prune=True).steps
    assert step.action == "unchanged" and step.enable is None
    path.write_text(json.dumps(task("t", policies={"max_attempts": 1}, enabled=True)))
    [step] = make_plan(read_tasks([str(path)]), [paused], prune=True).steps
    assert step.action == "change" and step.enable is True and step.patch == {}
    assert step.changes == [FieldChange("enabled", False, True)]


def test_a_webhook_to_the_local_stacks_inbox_is_left_for_the_api_to_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The CLI does not know which loopback port the local stack's inbox has: the API does.
    from agentcron.guarded_http.local import LOCAL_LOOPBACK_PORTS_ENV

    monkeypatch.delenv(LOCAL_LOOPBACK_PORTS_ENV, raising=False)
    path = tmp_path / "t.json"
    path.write_text(json.dumps(task("t", notify={"webhook_url": "http://127.0.0.1:3001/hooks/t"})))
    [read] = read_tasks([str(path)])
    assert str(read.task.notify.webhook_url) == "http://127.0.0.1:3001/hooks/t"
    path.write_text(json.dumps(task("t", notify={"webhook_url": "http://hooks.example.com/t"})))
    assert problems([path]) == [f'{path} ("t"): notify.webhook_url: webhook_url must use https']
