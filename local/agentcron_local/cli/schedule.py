"""Schedule flags (``--cron``, ``--every``, ``--at``, ``--preset``, ``--manual``, ``--aws``, with ``--tz``,
``--repeated-hour``, ``--start-at``, ``--end-at``) and ``schedule preview``."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from agentcron_local.cli.context import Ctx
from agentcron_local.cli.output import echo
from agentcron_local.cli.registry import Action, group
from agentcron_local.cli.values import parse_at, parse_duration
from agentcron_local.cli.views import render_preview
from agentcron_local.client import EXIT_OK, EXIT_USAGE, CliError

# The API's schedule kinds: the one list the CLI has (to become agentcron.schedules.SCHEDULE_KINDS).
SCHEDULE_KINDS: tuple[str, ...] = ("cron", "interval", "once", "preset", "manual", "aws")
# The kinds evaluated in a time zone's wall-clock time, which --tz and --repeated-hour apply to.
ZONED_KINDS = frozenset({"cron", "preset", "aws"})
PRESETS = ("hourly", "daily", "weekly", "monthly")
REPEATED_HOUR = ("auto", "once", "both")


@dataclass(frozen=True)
class KindFlag:
    """The flag that picks a schedule kind, and how its value becomes the schedule."""

    kind: str
    flag: str
    build: Callable[[Any], dict[str, Any]]
    options: Mapping[str, Any]

    @property
    def dest(self) -> str:
        return self.flag.removeprefix("--")


KIND_FLAGS = (
    KindFlag(
        "cron", "--cron", lambda v: {"expression": v}, {"metavar": "EXPR", "help": "5-field cron, e.g. '0 9 * * 1-5'"}
    ),
    KindFlag(
        "interval",
        "--every",
        lambda v: {"every_seconds": v},
        {"metavar": "DURATION", "type": parse_duration, "help": "an interval: 3600, 5m, 1h (>= 60 s)"},
    ),
    KindFlag(
        "once",
        "--at",
        lambda v: {"at": parse_at(v)},
        {"metavar": "ISO", "help": "once, at this instant (2026-12-01T09:00:00+01:00), or from now (+10m)"},
    ),
    KindFlag("preset", "--preset", lambda v: {"preset": v}, {"choices": PRESETS, "help": "at midnight (--tz)"}),
    KindFlag("manual", "--manual", lambda v: {}, {"action": "store_true", "help": "only when run by hand"}),
    KindFlag(
        "aws",
        "--aws",
        lambda v: {"expression": v},
        {
            "metavar": "EXPR",
            "help": "an EventBridge Scheduler expression: 'cron(0 9 ? * MON-FRI *)', 'rate(5 minutes)', "
            "'at(2027-01-01T09:00:00)' (in --tz)",
        },
    ),
)
assert {f.kind for f in KIND_FLAGS} == set(SCHEDULE_KINDS), "every schedule kind has its flag"
KIND_FLAG_NAMES = ", ".join(f.flag for f in KIND_FLAGS)


def add_schedule_options(parser: argparse.ArgumentParser) -> None:
    options = parser.add_argument_group(f"schedule (one of {KIND_FLAG_NAMES})")
    kinds = options.add_mutually_exclusive_group()
    for kind in KIND_FLAGS:
        kinds.add_argument(kind.flag, **kind.options)
    options.add_argument("--tz", metavar="ZONE", help="IANA time zone of --cron / --preset / --aws (default UTC)")
    options.add_argument(
        "--repeated-hour",
        choices=REPEATED_HOUR,
        help="when the clocks go back, run a repeated wall time once, at both instants, or auto (default: both "
        "when the minute or hour field starts with '*', once otherwise)",
    )
    options.add_argument("--start-at", metavar="ISO", help="no occurrence before this instant")
    options.add_argument("--end-at", metavar="ISO", help="no occurrence after this instant")


def schedule_from_args(args: argparse.Namespace, current: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """The schedule the flags describe; with only --tz/--start-at/--end-at, ``current`` changed by them.
    None when no schedule flag was given."""
    bounds = args.tz or args.start_at or args.end_at or args.repeated_hour
    chosen = next((kind for kind in KIND_FLAGS if getattr(args, kind.dest) not in (None, False)), None)
    schedule: dict[str, Any]
    if chosen is not None:
        schedule = {"type": chosen.kind, **chosen.build(getattr(args, chosen.dest))}
    elif current is not None and bounds:
        schedule = {k: v for k, v in current.items() if v is not None}
    elif bounds:
        raise CliError(
            f"--tz, --repeated-hour, --start-at and --end-at go with a schedule: {KIND_FLAG_NAMES}", EXIT_USAGE
        )
    else:
        return None
    for flag, value in (("--tz", args.tz), ("--repeated-hour", args.repeated_hour)):
        if value and schedule["type"] not in ZONED_KINDS:
            raise CliError(
                f"{flag} applies to --cron, --preset and --aws, not to a {schedule['type']} schedule", EXIT_USAGE
            )
    if args.tz:
        schedule["timezone"] = args.tz
    if args.repeated_hour:
        schedule["dst"] = {"repeated_hour": args.repeated_hour}
    if args.start_at:
        schedule["start_at"] = args.start_at
    if args.end_at:
        schedule["end_at"] = args.end_at
    return schedule


def _preview_args(parser: argparse.ArgumentParser) -> None:
    add_schedule_options(parser)
    parser.add_argument("--count", type=int, default=5, help="how many occurrences (default %(default)s, max 100)")
    parser.add_argument("--after", metavar="ISO", help="occurrences after this instant (default now)")


def schedule_preview(ctx: Ctx) -> int:
    schedule = schedule_from_args(ctx.args)
    if schedule is None:
        raise CliError(f"schedule preview needs a schedule: {KIND_FLAG_NAMES}", EXIT_USAGE)
    body: dict[str, Any] = {"schedule": schedule, "count": ctx.args.count}
    if ctx.args.after:
        body["after"] = ctx.args.after
    preview = ctx.client.request("POST", "/v1/schedules/preview", body=body).body
    if ctx.json:
        ctx.emit(preview)
    else:
        echo(render_preview(preview))
    return EXIT_OK


group(
    "schedule",
    "preview schedules",
    (
        Action(
            "preview",
            schedule_preview,
            "the next occurrences of a schedule, and its description",
            configure=_preview_args,
            epilog="e.g. agentcron schedule preview --cron '0 9 * * 1-5' --tz Europe/Berlin --count 3",
        ),
    ),
)
