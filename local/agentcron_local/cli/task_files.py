"""Tasks as files: reading and checking task files, what a task looks like as one, and the plan
that brings the user's tasks to what the files say (``apply``, ``diff``; the commands: apply.py).

A file holds one task, a list of tasks, or ``tasks: [...]`` (YAML, several ``---`` documents too,
or JSON); every task is a ``TaskCreate`` body, keyed by its ``name``. Files are checked with the
API's own models before anything is sent, so a bad file changes nothing.

A task's fields are compared after the API's defaults are filled in on both sides, so a file that
leaves out a default is not a change. ``enabled`` is the exception: it is compared only when the
file says it, since the server pauses tasks by itself too (failures in a row, a spent monthly
budget, ``--prune``) and an apply must not quietly undo that.
"""

from __future__ import annotations

import difflib
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from agentcron.models import Notify, TaskCreate
from agentcron.schedules import SCHEDULE_KINDS
from pydantic import AnyHttpUrl, Field, TypeAdapter, ValidationError, field_validator

from agentcron_local.client import EXIT_USAGE, CliError

FILE_SUFFIXES = (".yaml", ".yml", ".json")
STDIN = "-"
LOOPBACK_HOST = "127.0.0.1"


class FileNotify(Notify):
    """``notify`` as a file is checked here: https, or plain http to 127.0.0.1 for the local
    stack's webhook inbox. The API's own rule (``Notify``, replaced here by a validator of the same
    name) allows only the loopback ports its stack opened, which only it knows: it checks the port."""

    @field_validator("webhook_url")
    @classmethod
    def _https_only(cls, value: AnyHttpUrl | None) -> AnyHttpUrl | None:
        if value is not None and value.scheme != "https" and value.host != LOOPBACK_HOST:
            raise ValueError("webhook_url must use https")
        return value


class FileTaskBody(TaskCreate):
    """A task file's task: the API's ``TaskCreate``, its webhook checked as far as a client can."""

    notify: FileNotify = Field(default_factory=FileNotify)


TASK_FIELDS = tuple(FileTaskBody.model_fields)


@dataclass(frozen=True)
class FileTask:
    """One task of a file, checked (``task`` knows which fields the file gave: ``model_fields_set``)."""

    where: str  # "tasks.yaml", or "tasks.yaml: task 2" when the file holds several
    task: FileTaskBody

    @property
    def name(self) -> str:
        return self.task.name

    @property
    def document(self) -> dict[str, Any]:
        """Every field, defaults filled in, as JSON values."""
        return self.task.model_dump(mode="json")

    @property
    def manages_enabled(self) -> bool:
        return "enabled" in self.task.model_fields_set


# ------------------------------------------------------------------- reading


def task_sources(paths: Sequence[str]) -> list[tuple[str, str]]:
    """``(label, text)`` of every file named: a file, ``-`` (stdin), or a directory's
    ``*.yaml``/``*.yml``/``*.json`` (sorted, not recursive)."""
    sources: list[tuple[str, str]] = []
    for given in paths:
        if given == STDIN:
            sources.append(("<stdin>", sys.stdin.read()))
            continue
        path = Path(given).expanduser()
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in FILE_SUFFIXES and p.is_file())
            if not found:
                raise CliError(f"{given}: no *.yaml, *.yml or *.json files in this directory", EXIT_USAGE)
            sources.extend((str(p), _read(p)) for p in found)
        elif path.is_file():
            sources.append((given, _read(path)))
        else:
            raise CliError(f"{given}: no such file or directory", EXIT_USAGE)
    return sources


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"{path}: cannot read it: {exc}", EXIT_USAGE) from exc


def _documents(label: str, text: str) -> list[Any]:
    """The file's documents (JSON: one; YAML: each ``---`` document)."""
    if label.lower().endswith(".json"):
        try:
            return [json.loads(text)]
        except json.JSONDecodeError as exc:
            raise _Invalid(f"{label}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from exc
    import yaml

    try:
        return [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise _Invalid(f"{label}: not valid YAML: {problem}{where}") from exc


class _Invalid(Exception):
    """One reason a file cannot be used (collected: every bad file is named at once)."""


def _entries(label: str, document: Any) -> list[Any]:
    if isinstance(document, dict) and "tasks" in document:
        if set(document) != {"tasks"} or not isinstance(document["tasks"], list):
            raise _Invalid(f"{label}: `tasks:` must be a list of tasks, and the file's only key")
        return list(document["tasks"])
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        return [document]
    raise _Invalid(f"{label}: expected a task (a mapping), a list of tasks, or `tasks:` and a list")


def field_path(loc: Iterable[Any]) -> str:
    """pydantic's error location as the API names the field (problems.py): ``schedule.expression``,
    not ``schedule.cron.expression``; list positions as ``tags.1``."""
    parts = [str(part) for part in loc if not (isinstance(part, str) and (part in SCHEDULE_KINDS or "[" in part))]
    return ".".join(parts) or "(the task)"


def _message(error: Mapping[str, Any]) -> str:
    if error.get("type") == "extra_forbidden":
        return "unknown field"
    return str(error.get("msg") or error.get("type") or "invalid value").removeprefix("Value error, ")


def read_tasks(paths: Sequence[str]) -> list[FileTask]:
    """Every task the files hold, checked with the API's model; any problem in any file (or a
    name given twice) raises, naming each file and field, before anything is sent."""
    problems: list[str] = []
    tasks: list[FileTask] = []
    for label, text in task_sources(paths):
        try:
            entries = [entry for doc in _documents(label, text) for entry in _entries(label, doc)]
        except _Invalid as exc:
            problems.append(str(exc))
            continue
        for number, entry in enumerate(entries, start=1):
            where = label if len(entries) == 1 else f"{label}: task {number}"
            if not isinstance(entry, dict):
                problems.append(f"{where}: a task must be a mapping of its fields")
                continue
            try:
                tasks.append(FileTask(where=where, task=FileTaskBody.model_validate(entry)))
            except ValidationError as exc:
                name = entry.get("name")
                named = f" ({json.dumps(name, ensure_ascii=False)})" if isinstance(name, str) else ""
                problems.extend(f"{where}{named}: {field_path(e['loc'])}: {_message(e)}" for e in exc.errors())
    problems.extend(_repeated_names(tasks))
    if problems:
        raise CliError("the task files are not valid; nothing was changed", EXIT_USAGE, problems)
    if not tasks:
        raise CliError("the files hold no tasks; nothing was changed", EXIT_USAGE)
    return tasks


def _repeated_names(tasks: Sequence[FileTask]) -> list[str]:
    by_name: dict[str, list[str]] = {}
    for task in tasks:
        by_name.setdefault(task.name, []).append(task.where)
    return [
        f"the task {json.dumps(name, ensure_ascii=False)} is given {len(places)} times: {', '.join(places)}"
        for name, places in by_name.items()
        if len(places) > 1
    ]


# ------------------------------------------------------------ a task as a file


def file_document(task: Mapping[str, Any]) -> dict[str, Any]:
    """The API's task as a file that applies back unchanged: only the TaskCreate fields (no id,
    version, links, times or secrets), and of those only what differs from the defaults."""
    fields = {name: task[name] for name in TASK_FIELDS if name in task}
    try:
        return FileTaskBody.model_validate(fields).model_dump(mode="json", exclude_defaults=True)
    except ValidationError:
        # Stored before a rule it now breaks (the API keeps what it once accepted): as it is.
        return fields


# ---------------------------------------------------------------- the plan


@dataclass(frozen=True)
class FieldChange:
    field: str  # "prompt", "policies.max_attempts", "variables.team"
    before: Any
    after: Any

    @property
    def document(self) -> dict[str, Any]:
        return {"field": self.field, "before": self.before, "after": self.after}


Action = Literal["create", "change", "unchanged", "pause"]


@dataclass
class Step:
    """What apply does to one task: ``current`` is the API's task (None when it is created)."""

    action: Action
    name: str
    where: str | None = None  # the file that names it (None for a task pruned)
    current: Mapping[str, Any] | None = None
    wanted: FileTask | None = None
    changes: list[FieldChange] = field(default_factory=list)
    patch: dict[str, Any] = field(default_factory=dict)  # the PATCH body: only the fields that changed
    enable: bool | None = None  # True/False: enable/disable routes; None: leave it

    @property
    def task_id(self) -> str | None:
        return None if self.current is None else str(self.current["id"])


@dataclass
class Plan:
    steps: list[Step]

    def of(self, action: Action) -> list[Step]:
        return [step for step in self.steps if step.action == action]

    @property
    def changes_anything(self) -> bool:
        return any(step.action != "unchanged" for step in self.steps)


@cache
def _adapter(name: str) -> TypeAdapter[Any]:
    info = FileTaskBody.model_fields[name]
    return TypeAdapter(Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation)


def _canonical(name: str, value: Any) -> Any:
    """The API's value of a field as the file's would be dumped (the same model, the same JSON);
    as it is when it no longer passes the model (stored before a rule it now breaks)."""
    adapter = _adapter(name)
    try:
        return adapter.dump_python(adapter.validate_python(value), mode="json")
    except ValidationError:
        return value


def differences(path: str, before: Any, after: Any) -> list[FieldChange]:
    """Each leaf that differs; objects are compared key by key, lists and values as a whole."""
    if isinstance(before, dict) and isinstance(after, dict):
        keys = [*after, *(key for key in before if key not in after)]
        return [change for key in keys for change in differences(f"{path}.{key}", before.get(key), after.get(key))]
    return [] if before == after else [FieldChange(path, before, after)]


def step_for(wanted: FileTask, current: Mapping[str, Any] | None) -> Step:
    if current is None:
        return Step("create", wanted.name, where=wanted.where, wanted=wanted)
    document = wanted.document
    changes: list[FieldChange] = []
    patch: dict[str, Any] = {}
    enable: bool | None = None
    for name in TASK_FIELDS:
        if name == "enabled":
            if wanted.manages_enabled and bool(current.get("enabled")) != wanted.task.enabled:
                enable = wanted.task.enabled
                changes.append(FieldChange("enabled", current.get("enabled"), wanted.task.enabled))
            continue
        found = differences(name, _canonical(name, current.get(name)), document[name])
        if found:
            changes.extend(found)
            patch[name] = document[name]  # a whole object: the API replaces a section entirely
    action: Action = "change" if changes else "unchanged"
    return Step(action, wanted.name, where=wanted.where, current=current, wanted=wanted, changes=changes,
                patch=patch, enable=enable)  # fmt: skip


def make_plan(wanted: Sequence[FileTask], existing: Sequence[Mapping[str, Any]], *, prune: bool) -> Plan:
    """The steps that bring ``existing`` (the user's tasks, from the API) to ``wanted``; with
    ``prune`` the enabled tasks no file names are paused. Two existing tasks under a name the
    files use cannot be told apart: that is refused."""
    by_name: dict[str, list[Mapping[str, Any]]] = {}
    for task in existing:
        by_name.setdefault(str(task["name"]), []).append(task)
    ambiguous = [
        f"{json.dumps(item.name, ensure_ascii=False)} ({item.where}): your tasks "
        + ", ".join(sorted(str(task["id"]) for task in by_name[item.name]))
        for item in wanted
        if len(by_name.get(item.name, ())) > 1
    ]
    if ambiguous:
        raise CliError(
            "several of your tasks have a name the files use, so it cannot say which one a file means; "
            "nothing was changed",
            EXIT_USAGE,
            [*ambiguous, "rename (agentcron tasks update ID --name ...) or delete all but one of each"],
        )
    steps = [step_for(item, next(iter(by_name.get(item.name, ())), None)) for item in wanted]
    if prune:
        named = {item.name for item in wanted}
        steps.extend(
            Step("pause", str(task["name"]), current=task, enable=False)
            for task in existing
            if task["name"] not in named and task.get("enabled")
        )
    return plan_sorted(steps)


def plan_sorted(steps: list[Step]) -> Plan:
    """Files' order within each action, the actions in the order apply takes them."""
    order: tuple[Action, ...] = ("create", "change", "unchanged", "pause")
    return Plan(sorted(steps, key=lambda step: order.index(step.action)))


# ---------------------------------------------------------------- showing it


def shown_value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def change_lines(change: FieldChange, indent: str = "    ") -> list[str]:
    """``field: before -> after``; a multi-line text as a line diff of the two."""
    before, after = change.before, change.after
    if isinstance(before, str) and isinstance(after, str) and ("\n" in before or "\n" in after):
        diff = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=1)
        body = [line for line in diff if not line.startswith(("---", "+++"))]
        return [f"{indent}{change.field}:", *(f"{indent}  {line}" for line in body)]
    return [f"{indent}{change.field}: {shown_value(before)} -> {shown_value(after)}"]


def step_item(step: Step) -> dict[str, Any]:
    """One task of the plan's document: its name, id, file and, for a change, its fields."""
    item: dict[str, Any] = {"name": step.name, "id": step.task_id}
    if step.where is not None:
        item["file"] = step.where
    if step.action == "change":
        item["changes"] = [change.document for change in step.changes]
    return item


def plan_document(plan: Plan, items: Sequence[Mapping[str, Any]] | None = None) -> dict[str, list[Any]]:
    """The plan as a document (``-o json|yaml``), by action; ``items``: each step's, as apply left it."""
    document: dict[str, list[Any]] = {"create": [], "change": [], "unchanged": [], "pause": []}
    for step, item in zip(plan.steps, items or [step_item(step) for step in plan.steps], strict=True):
        document[step.action].append(item)
    return document
