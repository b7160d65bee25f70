"""``agentcron runs``: list, show, follow, answer and cancel runs, read their reports; and the wait of ``--wait``."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agentcron_local.cli.context import Ctx, add_paging, add_wait_options
from agentcron_local.cli.output import echo, spinner, stream
from agentcron_local.cli.registry import Action, group
from agentcron_local.cli.values import parse_since, read_text
from agentcron_local.cli.views import RUN_COLUMNS, fmt_time, render_run, render_transcript
from agentcron_local.client import EXIT_OK, EXIT_RUN_FAILED, EXIT_USAGE, CliError, segment

RUN_STATUSES = (
    "QUEUED",
    "RUNNING",
    "SUCCEEDED",
    "FAILED",
    "TIMED_OUT",
    "WAITING_INPUT",
    "CANCELLED",
    "SKIPPED",
    "MISSED",
)
FAILED_STATUSES = frozenset({"FAILED", "TIMED_OUT", "CANCELLED"})
FINAL_STATUSES = frozenset({"SUCCEEDED", "SKIPPED", "MISSED"}) | FAILED_STATUSES
WATCH_STOPS = FINAL_STATUSES | {"WAITING_INPUT"}


def watch(ctx: Ctx, run_id: str) -> int:
    """Poll until the run ends or waits for input; print each status; the exit code says how it ended.
    On a terminal a spinner shows the current status meanwhile."""
    args = ctx.args
    with spinner(f"run {run_id}: waiting", enabled=not ctx.quiet) as status:

        def on_change(run: Mapping[str, Any]) -> None:
            if status is not None:
                status.update(f"run {run['id']}: {run['status']}")
            if ctx.quiet:
                return
            line = f"{fmt_time(datetime.now(UTC).isoformat())}  {run['id']}  {run['status']}"
            if status is not None and not ctx.json:
                status.console.print(line, markup=False, highlight=False)  # above the spinner
            else:
                echo(line, err=ctx.json)  # with --json, stdout carries only the final document

        run = ctx.client.wait_for_run(
            run_id, interval=max(args.interval, 0.05), timeout=args.timeout, on_change=on_change, stop_at=WATCH_STOPS
        )
    state = run["status"]
    ctx.show(run, render_run)
    if state == "WAITING_INPUT" and not ctx.json and not ctx.quiet:
        echo(f'\nThe agent asks: {run.get("question")}\nAnswer: agentcron runs reply {run["id"]} "..."')
    return EXIT_RUN_FAILED if state in FAILED_STATUSES else EXIT_OK


def runs_list(ctx: Ctx) -> int:
    args = ctx.args
    if args.task:
        # The task's runs have no `since` filter on the server: kept here.
        keep = None
        if args.since:
            since = datetime.fromisoformat(args.since)

            def keep(run: Mapping[str, Any]) -> bool:
                return datetime.fromisoformat(str(run["scheduled_for"])) >= since

        page = ctx.list(f"/v1/tasks/{segment(args.task)}/runs", {"status": args.status}, keep)
    else:
        page = ctx.list("/v1/runs", {"status": args.status, "since": args.since})
    ctx.show_page(page, RUN_COLUMNS, "runs")
    return EXIT_OK


def _run_path(ctx: Ctx, suffix: str = "") -> str:
    return f"/v1/runs/{segment(ctx.args.run_id)}{suffix}"


def runs_get(ctx: Ctx) -> int:
    ctx.show(ctx.client.get(_run_path(ctx)), render_run)
    return EXIT_OK


def runs_reply(ctx: Ctx) -> int:
    args = ctx.args
    text = read_text("-", "the reply") if args.text == "-" else args.text
    run = ctx.client.request("POST", _run_path(ctx, "/reply"), body={"reply": text}).body
    if args.wait:
        if not ctx.json and not ctx.quiet:
            echo(f"Replied to run {run['id']}")
        return watch(ctx, run["id"])
    ctx.show(run, render_run)
    return EXIT_OK


def runs_cancel(ctx: Ctx) -> int:
    ctx.show(ctx.client.request("POST", _run_path(ctx, "/cancel")).body, render_run)
    return EXIT_OK


def runs_watch(ctx: Ctx) -> int:
    return watch(ctx, ctx.args.run_id)


def runs_transcript(ctx: Ctx) -> int:
    transcript = ctx.client.get(_run_path(ctx, "/transcript"))
    if ctx.json:
        ctx.emit(transcript)
    else:
        echo(render_transcript(transcript))
    return EXIT_OK


# Text reports print as they are; anything else is bytes no terminal should be sent.
TEXT_REPORT_TYPES = ("text/", "application/json")


def runs_report(ctx: Ctx) -> int:
    """The run's report: saved to --out, else printed (text), else refused on a terminal (PDF)."""
    report = ctx.client.download(_run_path(ctx, "/report"))
    if ctx.args.out is not None:
        target: Path = ctx.args.out
        target.write_bytes(report.content)
        if not ctx.quiet:
            echo(f"Saved the run's report ({report.content_type}, {len(report.content)} bytes) to {target}", err=True)
        return EXIT_OK
    out = stream()
    if report.content_type.startswith(TEXT_REPORT_TYPES):
        out.write(report.content.decode("utf-8", errors="replace"))
        out.flush()
        return EXIT_OK
    binary = getattr(out, "buffer", None)
    if out.isatty() or binary is None:
        name = report.filename or "report.pdf"
        raise CliError(
            f"the report is binary ({report.content_type}): not printed to a terminal",
            EXIT_USAGE,
            [f"save it: agentcron runs report {ctx.args.run_id} --out {name} (or pipe it: ... > {name})"],
        )
    binary.write(report.content)
    binary.flush()
    return EXIT_OK


def _report_args(parser: argparse.ArgumentParser) -> None:
    # (-o is every command's output format: table, json, ...)
    parser.add_argument(
        "-O", "--out", type=Path, metavar="FILE", help="save the report to FILE (a PDF is never printed to a terminal)"
    )


def _list_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", metavar="TASK_ID", help="only this task's runs")
    parser.add_argument("--status", choices=RUN_STATUSES, type=str.upper, help="only runs in this status")
    parser.add_argument("--since", type=parse_since, help="runs scheduled since: 1h, 30m, 7d, or an ISO time")
    add_paging(parser)


def _reply_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("text", metavar="TEXT", help="the answer (- reads stdin)")
    add_wait_options(parser, flag=True)


def _watch_args(parser: argparse.ArgumentParser) -> None:
    add_wait_options(parser, flag=False)


WATCH_EPILOG = (
    "Exit code 0 when it SUCCEEDED (or waits for input), 6 when it ended FAILED, TIMED_OUT or\n"
    "CANCELLED, 7 when --timeout ran out first."
)
RUN = "run_id"

group(
    "runs",
    "list, follow, answer and cancel runs",
    (
        Action("list", runs_list, "list your runs (or one task's), newest first", configure=_list_args),
        Action("get", runs_get, "show a run: status, output, usage, error", positional=RUN),
        Action(
            "reply",
            runs_reply,
            "answer a run that waits for input (WAITING_INPUT)",
            positional=RUN,
            configure=_reply_args,
        ),
        Action("cancel", runs_cancel, "cancel a QUEUED or WAITING_INPUT run", positional=RUN),
        Action(
            "watch",
            runs_watch,
            "follow a run until it ends or asks a question",
            positional=RUN,
            configure=_watch_args,
            epilog=WATCH_EPILOG,
        ),
        Action("transcript", runs_transcript, "show a run's whole conversation with the model", positional=RUN),
        Action(
            "report",
            runs_report,
            "print or save a run's report (the task's report.format: markdown, html, json or pdf)",
            positional=RUN,
            configure=_report_args,
        ),
    ),
)
