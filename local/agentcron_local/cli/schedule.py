"""Schedule flags (``--cron``, ``--every``, ``--at``, ``--preset``, ``--manual``, ``--aws``, ``--when``, with
``--tz``, ``--repeated-hour``, ``--start-at``, ``--end-at``) and ``schedule preview``."""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from agentcron_local.cli.context import Ctx
from agentcron_local.cli.output import echo
from agentcron_local.cli.registry import Action, group
from agentcron_local.cli.values import parse_at, parse_duration
from agentcron_local.cli.views import render_preview
from agentcron_local.client import EXIT_OK, EXIT_USAGE, ApiError, Client, CliError

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
KIND_FLAG_NAMES = ", ".join(f.flag for f in KIND_FLAGS) + ", --when"

# Words to a schedule: (text, zone or None) -> the schedule the API read from them.
WordsReader = Callable[[str, str | None], dict[str, Any]]


def words_reader(client: Client) -> WordsReader:
    """Reads --when through POST /v1/schedules/parse; a phrase it cannot read fails with its suggestions."""

    def read(text: str, timezone: str | None) -> dict[str, Any]:
        body = {"text": text, "timezone": timezone or "UTC"}
        try:
            answer = client.request("POST", "/v1/schedules/parse", body=body).body
        except ApiError as refused:
            suggestions = refused.problem.get("suggestions") if refused.status == 422 else None
            if not suggestions:
                raise
            reason = refused.field_errors[0][1] if refused.field_errors else refused.detail
            hints = [f"try --when {shlex.quote(str(phrase))}" for phrase in suggestions]
            raise CliError(f"--when {shlex.quote(text)}: {reason}", refused.exit_code, hints) from None
        return {key: value for key, value in answer["schedule"].items() if value is not None}

    return read


def add_schedule_options(parser: argparse.ArgumentParser) -> None:
    options = parser.add_argument_group(f"schedule (one of {KIND_FLAG_NAMES})")
    kinds = options.add_mutually_exclusive_group()
    for kind in KIND_FLAGS:
        kinds.add_argument(kind.flag, **kind.options)
    kinds.add_argument(
        "--when",
        metavar="WORDS",
        help="in words, read by the API: 'every weekday at 9am', 'every 15 minutes', 'tomorrow at noon' (--tz)",
    )
    options.add_argument(
        "--tz",
        metavar="ZONE",
        help="IANA time zone of --cron / --preset / --aws, or that --when is read in (default UTC)",
    )
    options.add_argument(
        "--repeated-hour",
        choices=REPEATED_HOUR,
        help="when the clocks go back, run a repeated wall time once, at both instants, or auto (default: both "
        "when the minute or hour field starts with '*', once otherwise)",
    )
    options.add_argument("--start-at", metavar="ISO", help="no occurrence before this instant")
    options.add_argument("--end-at", metavar="ISO", help="no occurrence after this instant")


def schedule_from_args(
    args: argparse.Namespace, current: Mapping[str, Any] | None = None, read_words: WordsReader | None = None
) -> dict[str, Any] | None:
    """The schedule the flags describe; with only --tz/--start-at/--end-at, ``current`` changed by them.
    None when no schedule flag was given. ``read_words`` reads --when (the API does)."""
    bounds = args.tz or args.start_at or args.end_at or args.repeated_hour
    chosen = next((kind for kind in KIND_FLAGS if getattr(args, kind.dest) not in (None, False)), None)
    schedule: dict[str, Any]
    when = getattr(args, "when", None)
    if when is not None:
        if read_words is None:  # pragma: no cover - every command with --when passes a reader
            raise CliError("--when needs the API to read it", EXIT_USAGE)
        # --tz is the zone the words are read in; the API puts it (or the zone they name) in the schedule.
        schedule = read_words(when, args.tz)
    elif chosen is not None:
        schedule = {"type": chosen.kind, **chosen.build(getattr(args, chosen.dest))}
    elif current is not None and bounds:
        schedule = {k: v for k, v in current.items() if v is not None}
    elif bounds:
        raise CliError(
            f"--tz, --repeated-hour, --start-at and --end-at go with a schedule: {KIND_FLAG_NAMES}", EXIT_USAGE
        )
    else:
        return None
    for flag, value in (("--tz", args.tz if when is None else None), ("--repeated-hour", args.repeated_hour)):
        if value and schedule["type"] not in ZONED_KINDS:
            raise CliError(
                f"{flag} applies to --cron, --preset and --aws, not to a {schedule['type']} schedule", EXIT_USAGE
            )
    if args.tz and when is None:
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
    schedule = schedule_from_args(ctx.args, read_words=words_reader(ctx.client))
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
            epilog="e.g. agentcron schedule preview --cron '0 9 * * 1-5' --tz Europe/Berlin --count 3\n"
            "     agentcron schedule preview --when 'the last friday of the month at 5pm' --tz Europe/Berlin",
        ),
    ),
)
