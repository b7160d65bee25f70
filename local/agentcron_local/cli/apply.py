"""``agentcron apply``, ``diff`` and ``get``: the user's tasks as files (the files, their checks and
the plan: task_files.py), through the task API's own routes (list, create, PATCH with If-Match,
enable, disable)."""

from __future__ import annotations

import argparse
import json
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from agentcron_local.cli.context import Ctx
from agentcron_local.cli.output import echo
from agentcron_local.cli.registry import add_connection_options, command
from agentcron_local.client import EXIT_API, EXIT_OK, EXIT_USAGE, ApiError, CliError, segment

if TYPE_CHECKING:
    from agentcron_local.cli.task_files import Action, Plan, Step

# `diff`'s exit code when applying would change something (0: nothing would).
EXIT_DIFF_CHANGES = 1
PAGE = 100
APPLIED: dict[Action, str] = {"create": "created", "change": "changed", "unchanged": "unchanged", "pause": "paused"}
PLANNED: dict[Action, str] = {
    "create": "to create",
    "change": "to change",
    "unchanged": "unchanged",
    "pause": "to pause",
}
PRUNE_REASON = "agentcron apply --prune: no task file names it"

FILES_EPILOG = """\
A file holds one task, a list of tasks, or `tasks:` and a list (YAML or JSON); each task is the
body of POST /v1/tasks (name, description, prompt, variables, schedule, enabled, policies, agent,
notify, tags, output_schema, report), and its name says which of your tasks it is. Every file is
checked before anything changes. A field a file leaves out is the API's default; `enabled` is
changed only when a file says it (a task paused by its failures, its budget or --prune stays so).
`agentcron get TASK > task.yaml` writes a task as such a file.
"""
DIFF_EPILOG = (
    FILES_EPILOG
    + """
exit codes: 0 nothing would change, 1 something would (as `kubectl diff`; a script can apply only
then), 2 a file is not valid (or names a task twice); 3-5 as for every command (agentcron --help).
"""
)


def _your_tasks(ctx: Ctx) -> list[dict[str, Any]]:
    return [task for page in ctx.client.pages("/v1/tasks", {"limit": PAGE}) for task in page.get("items") or []]


def _plan(ctx: Ctx) -> Plan:
    from agentcron_local.cli.task_files import make_plan, read_tasks

    wanted = read_tasks(ctx.args.file)  # every file checked before the API is asked anything
    return make_plan(wanted, _your_tasks(ctx), prune=ctx.args.prune)


def _label(step: Step) -> str:
    name = json.dumps(step.name, ensure_ascii=False)
    return f"{name} ({step.task_id})" if step.task_id else f"{name} ({step.where})"


def _summary(plan: Plan, verbs: Mapping[Action, str]) -> str:
    counts = [(len(plan.of(action)), verb) for action, verb in verbs.items()]
    return ", ".join(f"{count} {verb}" for count, verb in counts if count) + "."


# ---------------------------------------------------------------------- diff


def run_diff(args: argparse.Namespace) -> int:
    from agentcron_local.cli.task_files import change_lines, plan_document

    ctx = Ctx(args)
    plan = _plan(ctx)
    if ctx.json:
        ctx.emit(plan_document(plan))
    elif ctx.quiet:
        for step in plan.steps:
            if step.action != "unchanged":
                echo(step.task_id or step.name)
    else:
        for step in plan.steps:
            if step.action == "create":
                echo(f"+ create     {_label(step)}")
            elif step.action == "change":
                echo(f"~ change     {_label(step)}")
                for change in step.changes:
                    for line in change_lines(change):
                        echo(line)
            elif step.action == "unchanged":
                echo(f"= unchanged  {_label(step)}")
            else:
                echo(f"- would pause {_label(step)}: no file names it (--prune)")
        if plan.changes_anything:
            echo(f"Plan: {_summary(plan, PLANNED)}")
        else:
            echo(f"No changes: {len(plan.steps)} task(s) as the files say.")
    return EXIT_DIFF_CHANGES if plan.changes_anything else EXIT_OK


# --------------------------------------------------------------------- apply


def _create(ctx: Ctx, step: Step) -> dict[str, Any]:
    assert step.wanted is not None
    body = step.wanted.task.model_dump(mode="json", exclude_unset=True)
    # A key of its own per task: a create lost in a dropped connection is retried, never doubled.
    headers = {"Idempotency-Key": f"apply-{uuid.uuid4()}"}
    created: dict[str, Any] = ctx.client.request("POST", "/v1/tasks", body=body, headers=headers).body
    return created


def _change(ctx: Ctx, step: Step) -> dict[str, Any]:
    assert step.current is not None
    path = f"/v1/tasks/{segment(step.current['id'])}"
    task: dict[str, Any] = dict(step.current)
    if step.patch:
        version = step.current["version"]
        try:
            task = ctx.client.request("PATCH", path, body=step.patch, headers={"If-Match": f'"{version}"'}).body
        except ApiError as exc:
            if exc.status == 412:
                exc.hints = (
                    f"{_label(step)} changed after it was read (version {version}): apply again",
                    *exc.hints,
                )
            raise
    if step.enable is True:
        task = ctx.client.request("POST", f"{path}/enable").body
    elif step.enable is False:
        body = {"reason": PRUNE_REASON} if step.action == "pause" else None
        task = ctx.client.request("POST", f"{path}/disable", body=body).body
    return task


def _done_line(step: Step, task: Mapping[str, Any]) -> str:
    name = json.dumps(step.name, ensure_ascii=False)
    if step.action == "create":
        return f"created    {name} ({task['id']})"
    if step.action == "change":
        return f"changed    {name} ({task['id']}): {', '.join(change.field for change in step.changes)}"
    if step.action == "pause":
        return f"paused     {name} ({task['id']}): no file names it (--prune)"
    return f"unchanged  {name} ({task['id']})"


def run_apply(args: argparse.Namespace) -> int:
    from agentcron_local.cli.task_files import plan_document, step_item

    ctx = Ctx(args)
    plan = _plan(ctx)
    items = [step_item(step) for step in plan.steps]
    done: list[str] = []
    act: dict[str, Callable[[Ctx, Step], dict[str, Any]]] = {"create": _create, "change": _change, "pause": _change}
    for step, item in zip(plan.steps, items, strict=True):
        try:
            task = act[step.action](ctx, step) if step.action in act else dict(step.current or {})
        except CliError as exc:
            exc.hints = (*exc.hints, f"{_label(step)}: not applied", *_applied_before(done))
            if isinstance(exc, ApiError) and exc.exit_code == EXIT_API and step.where:
                exc.message = f"{step.where}: {exc.message}"
            raise
        item["id"], item["version"] = task.get("id"), task.get("version")
        line = _done_line(step, task)
        if step.action != "unchanged":
            done.append(line)
        if task.get("webhook_secret"):
            # Shown once, by the create or change that set the webhook: the receiver needs it.
            item["webhook_secret"] = task["webhook_secret"]
            line += f"\n    webhook secret (shown once; give it to the receiver): {task['webhook_secret']}"
        if not ctx.json and not ctx.quiet:
            echo(line)
        elif ctx.quiet and step.action != "unchanged":
            echo(str(task.get("id")))
    if ctx.json:
        ctx.emit(plan_document(plan, items))
    elif not ctx.quiet:
        if plan.changes_anything:
            echo(_summary(plan, APPLIED))
        else:
            echo(f"No changes: {len(plan.steps)} task(s) already as the files say.")
    return EXIT_OK


def _applied_before(done: list[str]) -> list[str]:
    if not done:
        return ["nothing was changed"]
    return ["applied before it:", *(f"  {line}" for line in done)]


# ----------------------------------------------------------------------- get


def _find(ctx: Ctx, wanted: str) -> dict[str, Any]:
    """A task by its id, or by its name among the user's tasks (which must name one)."""
    from agentcron.ids import TASK_ID_RE

    if TASK_ID_RE.match(wanted):
        task: dict[str, Any] = ctx.client.get(f"/v1/tasks/{segment(wanted)}")
        return task
    named = [task for task in _your_tasks(ctx) if task["name"] == wanted.strip()]
    if not named:
        raise CliError(f"you have no task named {json.dumps(wanted, ensure_ascii=False)}", EXIT_API)
    if len(named) > 1:
        raise CliError(
            f"{len(named)} of your tasks are named {json.dumps(wanted, ensure_ascii=False)}: "
            + ", ".join(task["id"] for task in named),
            EXIT_USAGE,
            ["name one by its id"],
        )
    return named[0]


def run_get(args: argparse.Namespace) -> int:
    from agentcron_local.cli.task_files import file_document

    ctx = Ctx(args)
    document = file_document(_find(ctx, args.task))
    if ctx.format == "json":
        ctx.emit(document)
    else:  # a file: YAML unless -o json
        from agentcron_local.cli.output import emit

        emit(document, format="yaml", query=args.query)
    return EXIT_OK


# ----------------------------------------------------------------- arguments


def _file_args(parser: argparse.ArgumentParser, *, doing: str) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "-f",
        "--file",
        action="append",
        required=True,
        metavar="PATH",
        help="a task file (.yaml, .yml, .json), a directory of them, or - for stdin (repeat)",
    )
    parser.add_argument(
        "--prune",
        action="store_true",
        help=f"{doing} your enabled tasks that no file names (never deletes them)",
    )
    add_connection_options(parser, after_command=True)


def _configure_apply(parser: argparse.ArgumentParser) -> None:
    parser.epilog = FILES_EPILOG
    _file_args(parser, doing="pause")


def _configure_diff(parser: argparse.ArgumentParser) -> None:
    parser.epilog = DIFF_EPILOG
    _file_args(parser, doing="show as 'would pause'")


def _configure_get(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("task", metavar="TASK", help="the task's id or its name")
    parser.epilog = "Prints the task as a file for `agentcron apply` (YAML; -o json for JSON): e.g. > task.yaml"
    add_connection_options(parser, after_command=True)


command("apply", help="create or change your tasks to what task files say (see `diff`)", configure=_configure_apply)(
    run_apply
)
command("diff", help="show what `apply` would change, field by field; exit 1 when it would", configure=_configure_diff)(
    run_diff
)
command("get", help="print a task as a file `apply` takes (YAML, or -o json)", configure=_configure_get)(run_get)
