"""``agentcron tasks``: create, list, show, change, pause, resume, delete and run tasks."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping

from agentcron_local.cli.context import Ctx, add_paging, add_wait_options
from agentcron_local.cli.output import echo, note
from agentcron_local.cli.registry import Action, group
from agentcron_local.cli.runs import watch
from agentcron_local.cli.schedule import SCHEDULE_KINDS, words_reader
from agentcron_local.cli.task_fields import add_task_fields, create_body, update_body
from agentcron_local.cli.values import parse_var
from agentcron_local.cli.views import (
    HISTORY_COLUMNS,
    TASK_COLUMNS,
    render_due_execution,
    render_run,
    render_stats,
    render_task,
)
from agentcron_local.client import EXIT_OK, EXIT_USAGE, ApiError, CliError, segment


def _task_path(ctx: Ctx, suffix: str = "") -> str:
    return f"/v1/tasks/{segment(ctx.args.task_id)}{suffix}"


def _idempotency(args: argparse.Namespace) -> dict[str, str] | None:
    return {"Idempotency-Key": args.idempotency_key} if args.idempotency_key else None


def _replayed_note(headers: Mapping[str, str], what: str) -> None:
    if headers.get("Idempotent-Replayed") == "true":
        note(f"agentcron: note: an earlier request with this Idempotency-Key {what}; it is returned as is")


def tasks_create(ctx: Ctx) -> int:
    answer = ctx.client.request(
        "POST", "/v1/tasks", body=create_body(ctx.args, words_reader(ctx.client)), headers=_idempotency(ctx.args)
    )
    _replayed_note(answer.headers, "created this task")
    ctx.show(answer.body, render_task)
    return EXIT_OK


def tasks_execute_due(ctx: Ctx) -> int:
    """For an external cron: start every task due now (never one the schedule already started)."""
    done = ctx.client.request("POST", "/v1/tasks/execute-due").body
    if ctx.json:
        ctx.emit(done)
    elif ctx.quiet:
        for run in done["started"]:
            echo(run["id"])
    else:
        echo(render_due_execution(done))
    return EXIT_OK


def tasks_list(ctx: Ctx) -> int:
    args = ctx.args
    page = ctx.list("/v1/tasks", {"enabled": args.enabled, "tag": args.tag, "schedule_type": args.type})
    ctx.show_page(page, TASK_COLUMNS, "tasks")
    return EXIT_OK


def tasks_get(ctx: Ctx) -> int:
    ctx.show(ctx.client.get(_task_path(ctx)), render_task)
    return EXIT_OK


def tasks_stats(ctx: Ctx) -> int:
    ctx.show(ctx.client.get(_task_path(ctx, "/stats")), render_stats)
    return EXIT_OK


def tasks_history(ctx: Ctx) -> int:
    page = ctx.list(_task_path(ctx, "/history"), {})
    ctx.show_page(page, HISTORY_COLUMNS, "history entries")
    return EXIT_OK


def tasks_update(ctx: Ctx) -> int:
    args = ctx.args
    path = _task_path(ctx)
    current = ctx.client.get(path)
    body = update_body(args, current, words_reader(ctx.client))
    version = args.if_match if args.if_match is not None else current["version"]
    try:
        updated = ctx.client.request("PATCH", path, body=body, headers={"If-Match": f'"{version}"'}).body
    except ApiError as exc:
        if exc.status == 412:
            exc.hints = (
                f"you asked for version {version}"
                if args.if_match is not None
                else f"the task is no longer at version {version}: someone changed it meanwhile",
                f"read it again (agentcron tasks get {args.task_id}) and repeat your change",
            )
        raise
    ctx.show(updated, render_task)
    return EXIT_OK


def tasks_delete(ctx: Ctx) -> int:
    args = ctx.args
    path = _task_path(ctx)
    if not args.yes:
        if not sys.stdin.isatty():
            raise CliError(f"not deleting {args.task_id} without --yes (no terminal to ask on)", EXIT_USAGE)
        task = ctx.client.get(path)
        answer = input(f"Delete task {task['id']} ({task.get('name')})? Its runs stay readable. [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            note("Not deleted.")
            return EXIT_OK
    headers = {"If-Match": f'"{args.if_match}"'} if args.if_match is not None else None
    ctx.client.request("DELETE", path, headers=headers)
    if ctx.quiet:
        echo(args.task_id)
    elif not ctx.json:  # 204: the API sends no document, and --json prints none
        echo(f"Deleted task {args.task_id} (its runs stay readable).")
    return EXIT_OK


def tasks_enable(ctx: Ctx) -> int:
    ctx.show(ctx.client.request("POST", _task_path(ctx, "/enable")).body, render_task)
    return EXIT_OK


def tasks_disable(ctx: Ctx) -> int:
    body = {"reason": ctx.args.reason} if ctx.args.reason else None
    ctx.show(ctx.client.request("POST", _task_path(ctx, "/disable"), body=body).body, render_task)
    return EXIT_OK


def tasks_run(ctx: Ctx) -> int:
    args = ctx.args
    body = {"variables": dict(args.var)} if args.var else None
    answer = ctx.client.request("POST", _task_path(ctx, "/runs"), body=body, headers=_idempotency(args))
    run = answer.body
    _replayed_note(answer.headers, "started this run")
    if not args.wait:
        ctx.show(run, render_run)
        if not ctx.json and not ctx.quiet:
            note(f"Follow it: agentcron runs watch {run['id']}")
        return EXIT_OK
    if not ctx.json and not ctx.quiet:
        echo(f"Started run {run['id']}")
    return watch(ctx, run["id"])


# --------------------------------------------------------------- arguments


def _create_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--template", metavar="ID", help="start from a ready-made task (agentcron templates list); flags override it"
    )
    add_task_fields(parser, update=False)
    parser.add_argument("--disabled", action="store_true", help="create it paused")
    parser.add_argument("--idempotency-key", metavar="KEY", help="a retry with the same key returns the same task")


def _list_args(parser: argparse.ArgumentParser) -> None:
    enabled = parser.add_mutually_exclusive_group()
    enabled.add_argument("--enabled", dest="enabled", action="store_const", const=True, help="only enabled tasks")
    enabled.add_argument("--disabled", dest="enabled", action="store_const", const=False, help="only paused tasks")
    parser.add_argument("--tag", help="only tasks with this tag")
    parser.add_argument("--type", choices=SCHEDULE_KINDS, help="schedule type")
    add_paging(parser)


def _if_match(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--if-match", metavar="VERSION", type=int, help="fail unless the task is at this version")


def _update_args(parser: argparse.ArgumentParser) -> None:
    add_task_fields(parser, update=True)
    _if_match(parser)


def _delete_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    _if_match(parser)


def _disable_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reason", help="why (shown with the task)")


def _run_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--var", metavar="NAME=VALUE", type=parse_var, action="append", default=[], help="override a variable"
    )
    parser.add_argument("--idempotency-key", metavar="KEY", help="a retry with the same key returns the same run")
    add_wait_options(parser, flag=True)


CREATE_EXAMPLE = (
    "e.g. agentcron tasks create --name 'Morning incidents' --prompt 'Summarise {{team}}' "
    "--var team=platform --cron '0 9 * * 1-5' --tz Europe/Berlin --tool web_fetch --tag ops\n"
    "     --model claude-haiku-4-5 --max-turns 5 --overlap allow --max-attempts 1 --run-timeout 5m"
)
UPDATE_EPILOG = (
    "The task is read first, and the change is sent with If-Match: <the version read>, so an edit\n"
    "made meanwhile by someone else fails (412) instead of being overwritten."
)
TASK = "task_id"

group(
    "tasks",
    "create, list, change and run tasks",
    (
        Action("create", tasks_create, "create a task", configure=_create_args, epilog=CREATE_EXAMPLE),
        Action("list", tasks_list, "list your tasks, newest first", configure=_list_args),
        Action("execute-due", tasks_execute_due, "start every task that is due now (for an external cron)"),
        Action("get", tasks_get, "show a task and its next run times", positional=TASK),
        Action(
            "stats",
            tasks_stats,
            "success rate, durations, tokens and last failures of a task's recent runs",
            positional=TASK,
        ),
        Action(
            "update",
            tasks_update,
            "change a task (only the fields given)",
            positional=TASK,
            configure=_update_args,
            epilog=UPDATE_EPILOG,
        ),
        Action(
            "delete", tasks_delete, "delete a task (its runs stay readable)", positional=TASK, configure=_delete_args
        ),
        Action("enable", tasks_enable, "resume a paused task", positional=TASK),
        Action("disable", tasks_disable, "pause a task", positional=TASK, configure=_disable_args),
        Action("run", tasks_run, "run a task now", positional=TASK, configure=_run_args),
        Action(
            "history",
            tasks_history,
            "every change to a task, newest first: who, when, how, and an edit's before and after",
            positional=TASK,
            configure=add_paging,
        ),
    ),
)
