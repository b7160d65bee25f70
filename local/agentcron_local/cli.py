"""``agentcron``: the developer CLI: the local stack, dev tokens, and a client of the HTTPS API.

Subcommands live in a registry so each can be added where it is written:

    def _configure(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("task_id")

    @command("show", help="show a task", configure=_configure)
    def show(args: argparse.Namespace) -> int:
        ...
        return 0

Commands import their heavy dependencies (moto, boto3, the functions)
inside the function, so ``agentcron token`` and ``--help`` stay instant.

The API commands (``tasks``, ``runs``, ``schedule``) talk to the API over
HTTP only (agentcron_local.client), local or deployed; ``invoke`` runs a
function's handler in-process against the running local stack
(agentcron_local.invoke).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from agentcron_local.client import (
    EXIT_API,
    EXIT_AUTH,
    EXIT_OK,
    EXIT_RUN_FAILED,
    EXIT_SERVER,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    EXIT_WAIT_TIMEOUT,
    ApiError,
    Client,
    CliError,
    Selection,
    resolve,
    segment,
)

if TYPE_CHECKING:
    import requests

Runner = Callable[[argparse.Namespace], int]
Configure = Callable[[argparse.ArgumentParser], None]


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    run: Runner
    configure: Configure | None = None


COMMANDS: dict[str, Command] = {}


def command(name: str, *, help: str, configure: Configure | None = None) -> Callable[[Runner], Runner]:
    """Register a subcommand: ``run(args) -> exit code``; ``configure`` adds its arguments."""

    def register(run: Runner) -> Runner:
        if name in COMMANDS:
            raise ValueError(f"subcommand {name!r} is registered twice")
        COMMANDS[name] = Command(name=name, help=help, run=run, configure=configure)
        return run

    return register


EPILOG = f"""\
where the API is (first match wins):
  --endpoint URL, $AGENTCRON_ENDPOINT, --profile NAME / $AGENTCRON_PROFILE
  ([profiles.NAME] endpoint/token/stack/region in ~/.config/agentcron/config.toml),
  --stack NAME (the deployed stack's ApiUrl output), the running local stack
  (<state dir>/stack.json), else http://127.0.0.1:3000.
the token: --token, $AGENTCRON_TOKEN, the profile's token, and for a local
  endpoint a dev token for --user NAME / $AGENTCRON_USER (default demo).
connection and output options may also follow the command:
  agentcron tasks list --json --user alice

exit codes:
  {EXIT_OK}  ok
  {EXIT_API}  the API refused the request (4xx): its detail and each field error are printed
  {EXIT_USAGE}  usage error (bad arguments)
  {EXIT_UNREACHABLE}  cannot reach the API (is `agentcron local` running?)
  {EXIT_AUTH}  not authenticated or not allowed (401/403): get a token with `agentcron token`
  {EXIT_SERVER}  the API failed (5xx); `invoke`: the handler raised
  {EXIT_RUN_FAILED}  `runs watch`, `tasks run --wait`, `runs reply --wait`: the run ended FAILED, TIMED_OUT or CANCELLED
  {EXIT_WAIT_TIMEOUT}  the same commands: still not finished when --timeout ran out
"""


def _add_connection_options(parser: argparse.ArgumentParser, *, after_command: bool) -> None:
    """The options every API command takes. After the command their defaults are SUPPRESS,
    so ``agentcron --json tasks list`` and ``agentcron tasks list --json`` both work."""

    def default(value: Any) -> Any:
        return argparse.SUPPRESS if after_command else value

    group = parser.add_argument_group("API and output options")
    group.add_argument("--endpoint", metavar="URL", default=default(None), help="the API's base URL")
    group.add_argument("--profile", metavar="NAME", default=default(None), help="a profile of the config file")
    group.add_argument("--stack", metavar="NAME", default=default(None), help="a deployed stack: use its ApiUrl")
    group.add_argument("--region", metavar="REGION", default=default(None), help="AWS region of --stack")
    group.add_argument("--token", metavar="JWT", default=default(None), help="the bearer token")
    group.add_argument(
        "--user", metavar="NAME", default=default(None), help="local endpoint: sign a dev token for this user"
    )
    group.add_argument(
        "--json", action="store_true", default=default(False), help="print the API's JSON (one document)"
    )
    group.add_argument(
        "-q", "--quiet", action="store_true", default=default(False), help="print only the ids of the resources"
    )
    if after_command:
        group.add_argument("--state-dir", type=Path, default=argparse.SUPPRESS, help="the local stack's state dir")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agentcron",
        description="agentcron: scheduled Claude agent tasks. A client of the agentcron API (local or "
        "deployed), and the local stack.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        help="where the local stack keeps its signing key and pid file "
        "(default: $AGENTCRON_STATE_DIR or <repo>/.local-state)",
    )
    _add_connection_options(parser, after_command=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for cmd in COMMANDS.values():
        sub_parser = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        if cmd.configure is not None:
            cmd.configure(sub_parser)
        sub_parser.set_defaults(_run=cmd.run)
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    session: requests.Session | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
) -> int:
    """The entry point. ``session`` replaces the HTTP session, ``stdout``/``stderr`` the streams the
    commands write to (tests; argparse's own messages still go to sys.stderr)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.state_dir is not None:
        # One place decides the state dir for every module: the environment.
        os.environ["AGENTCRON_STATE_DIR"] = str(args.state_dir.expanduser().resolve())
    args._session = session
    run: Runner = args._run
    streams = _STREAMS.set((stdout, stderr))
    try:
        return run(args)
    except CliError as exc:
        report(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `agentcron tasks list | head -1`: the reader left; say nothing more.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        _STREAMS.reset(streams)


# Where echo() writes; None: sys.stdout / sys.stderr at the time of writing.
_STREAMS: ContextVar[tuple[IO[str] | None, IO[str] | None]] = ContextVar("agentcron_streams", default=(None, None))


def echo(text: str = "", *, err: bool = False) -> None:
    """A line to stdout (or stderr): what every command prints goes through here."""
    out, error = _STREAMS.get()
    stream = (error or sys.stderr) if err else (out or sys.stdout)
    stream.write(f"{text}\n")
    stream.flush()


def report(error: CliError) -> None:
    echo(f"agentcron: {error.message}", err=True)
    for hint in error.hints:
        echo(f"  {hint}", err=True)


# ------------------------------------------------------------------ duration

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    """``3600``, ``90s``, ``30m``, ``12h``, ``7d`` -> seconds."""
    match = _DURATION.match(text)
    if match is None or int(match[1]) <= 0:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 3600, 30m, 12h, 7d)")
    return int(match[1]) * _UNIT_SECONDS[match[2].lower()]


# --------------------------------------------------------------------- local


# The stack's defaults (agentcron_local.stack.DEFAULT_*), repeated here so that
# building the parser does not import boto3 and werkzeug.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 3000
DEFAULT_MOTO_PORT = 4566


def _configure_local(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="API port (default %(default)s)")
    parser.add_argument(
        "--moto-port",
        type=int,
        default=DEFAULT_MOTO_PORT,
        help="moto (AWS emulation) port (default %(default)s)",
    )
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help="address to listen on (default %(default)s: this machine only)"
    )
    parser.add_argument("--user", default="demo", help="user of the printed dev token (default %(default)s)")
    parser.add_argument("--verbose", action="store_true", help="log every AWS request moto serves")
    parser.add_argument(
        "--tick",
        type=float,
        default=None,
        help="seconds between dispatcher ticks, and the functions' TICK_SECONDS (the lookahead) with it "
        "(default: the template's TickSeconds, 300, like production)",
    )


@command("local", help="run the whole stack on this machine (no AWS account needed)", configure=_configure_local)
def run_local(args: argparse.Namespace) -> int:
    from agentcron_local.motoserver import PortInUseError
    from agentcron_local.stack import AlreadyRunning, LocalStack, StackOptions

    options = StackOptions(
        host=args.host, port=args.port, moto_port=args.moto_port, verbose=args.verbose, tick_seconds=args.tick
    )
    stack = LocalStack(options)
    try:
        stack.start()
    except (AlreadyRunning, PortInUseError) as exc:
        print(f"agentcron local: {exc}", file=sys.stderr)
        return 1
    try:
        return stack.serve_until_signal(user=args.user)
    finally:
        stack.stop()


# --------------------------------------------------------------------- token


def _configure_token(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("user", metavar="NAME", nargs="?", help="the user (the token's sub claim, i.e. the task owner)")
    parser.add_argument(
        "--ttl", type=parse_duration, default="12h", help="lifetime: 3600, 30m, 12h, 7d (default %(default)s)"
    )
    cognito = parser.add_argument_group(
        "a deployed stack's Cognito user pool (password from $AGENTCRON_PASSWORD or a prompt)"
    )
    cognito.add_argument("--cognito", action="store_true", help="sign in to the stack's user pool; print the IdToken")
    cognito.add_argument("--stack", metavar="NAME", default=argparse.SUPPRESS, help="the deployed stack")
    cognito.add_argument("--region", metavar="REGION", default=argparse.SUPPRESS, help="its AWS region")
    cognito.add_argument("--username", metavar="USER", help="the user pool user (default: NAME)")


@command(
    "token", help="print a dev token for the local stack's API (or sign in to Cognito)", configure=_configure_token
)
def run_token(args: argparse.Namespace) -> int:
    if args.cognito:
        return _cognito_token(args)
    if not args.user:
        raise CliError("token: a user NAME is needed", EXIT_USAGE, ["e.g. agentcron token alice"])
    from agentcron_local.tokens import issue_token

    # Only the token on stdout, so that TOKEN=$(agentcron token alice) works.
    echo(issue_token(args.user, ttl_seconds=args.ttl))
    return 0


def _cognito_token(args: argparse.Namespace) -> int:
    """USER_PASSWORD_AUTH against the stack's app client. Needs AWS; tested against moto only."""
    import getpass

    from agentcron_local.client import cognito_id_token, stack_outputs

    stack: str | None = getattr(args, "stack", None)
    username: str | None = args.username or args.user
    if not stack or not username:
        raise CliError(
            "token --cognito needs --stack NAME and --username USER",
            EXIT_USAGE,
            ["e.g. agentcron token --cognito --stack agentcron --username alice@example.com"],
        )
    region: str | None = getattr(args, "region", None)
    outputs = stack_outputs(stack, region)
    client_id = outputs.get("UserPoolClientId")
    if not client_id:
        raise CliError(
            f"stack {stack!r} has no UserPoolClientId output: it uses your own identity provider",
            EXIT_USAGE,
            ["get a token from that provider and pass it with --token or AGENTCRON_TOKEN"],
        )
    password = os.environ.get("AGENTCRON_PASSWORD") or getpass.getpass(f"Password for {username}: ")
    echo(cognito_id_token(client_id=client_id, username=username, password=password, region=region))
    return 0


# -------------------------------------------------------------------- output


def fmt_time(value: Any) -> str:
    """ISO 8601 to the second, ``Z`` for UTC; ``-`` for none."""
    if not value:
        return "-"
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    text = moment.isoformat(timespec="seconds")
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text


def fmt_seconds(seconds: int) -> str:
    """14400 -> 4h, 5400 -> 90m, 90 -> 90s, 172800 -> 2d."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def fmt_duration_ms(value: Any) -> str:
    if not isinstance(value, int | float):
        return "-"
    seconds = value / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m{rest:02d}s"


def fmt_usd(value: Any) -> str:
    """Dollars to the cent from $1, to a hundredth of a cent below it (a run often costs less than a cent)."""
    if not isinstance(value, int | float):
        return "-"
    if value == 0:
        return "$0.00"
    if value < 0.0001:
        return "<$0.0001"
    return f"${value:,.2f}" if value >= 1 else f"${value:.4f}"


def fmt_tokens(usage: Mapping[str, Any], suffix: str = "") -> str:
    """Input and output always; the prompt cache's writes and reads when there were any."""
    parts = [f"{usage.get('input_tokens' + suffix, 0)} input", f"{usage.get('output_tokens' + suffix, 0)} output"]
    for key, label in (("cache_creation_input_tokens", "cache write"), ("cache_read_input_tokens", "cache read")):
        if usage.get(key + suffix):
            parts.append(f"{usage[key + suffix]} {label}")
    return ", ".join(parts)


def fmt_run_cost(cost: Mapping[str, Any] | None) -> str | None:
    if not cost:
        return None
    if cost.get("usd") is None:
        return f"- ({cost.get('note') or 'not priced'})"
    return f"{fmt_usd(cost['usd'])} ({cost.get('priced_as')} list prices, model tokens only)"


def fmt_cost_summary(cost: Mapping[str, Any]) -> str:
    """Total and mean of the priced runs, the prices used, then what could not be priced and why."""
    lines = []
    pricing = cost.get("pricing") or {}
    if priced := cost.get("runs_priced") or 0:
        total, mean = fmt_usd(cost.get("total_usd")), fmt_usd(cost.get("mean_per_run_usd"))
        lines.append(f"{total} over {plural(priced, 'run')}, {mean} a run")
        used = ", ".join(sorted({entry for entry in pricing.values() if entry}))
        lines.append(f"{used} list prices, model tokens only (no AWS costs)")
    if unpriced := cost.get("runs_unpriced") or 0:
        unknown = sorted(model for model, entry in pricing.items() if entry is None)
        why = f"unknown model {', '.join(unknown)}" if unknown else "no model recorded"
        lines.append(f"{plural(unpriced, 'run')} not priced: {why}")
    return "\n".join(lines)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def schedule_summary(schedule: Mapping[str, Any] | None) -> str:
    if not schedule:
        return "-"
    kind = schedule.get("type")
    if kind == "cron":
        text = f"cron {schedule.get('expression')} {schedule.get('timezone', 'UTC')}"
    elif kind == "interval":
        text = f"every {fmt_seconds(int(schedule.get('every_seconds') or 0))}"
    elif kind == "once":
        text = f"once at {fmt_time(schedule.get('at'))}"
    elif kind == "preset":
        text = f"{schedule.get('preset')} {schedule.get('timezone', 'UTC')}"
    else:
        text = str(kind)
    if schedule.get("start_at"):
        text += f" from {fmt_time(schedule['start_at'])}"
    if schedule.get("end_at"):
        text += f" until {fmt_time(schedule['end_at'])}"
    return text


def one_line(value: Any) -> str:
    return " ".join(str(value).split()) if value not in (None, "") else "-"


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[Mapping[str, Any]], str]
    max_width: int | None = None


def clip(text: str, width: int | None) -> str:
    if width is None or len(text) <= width:
        return text
    return text[: width - 1] + "…"


def render_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column]) -> str:
    """Fixed-width columns, two spaces apart, a header row; no trailing spaces."""
    cells = [[clip(one_line(col.value(row)), col.max_width) for col in columns] for row in rows]
    widths = [max([len(col.header), *(len(line[i]) for line in cells)]) for i, col in enumerate(columns)]
    lines = [[col.header for col in columns], *cells]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in lines
    )


def render_fields(pairs: Iterable[tuple[str, Any]]) -> str:
    """``label:  value`` lines, empty values left out; multi-line values continue indented."""
    pairs = list(pairs)
    # Aligned on every label, shown or not: the same command always lines up the same way.
    width = max(len(label) for label, _ in pairs) + 2
    kept = [(label, str(value)) for label, value in pairs if value not in (None, "", [], {})]
    lines = []
    for label, value in kept:
        first, *rest = value.splitlines() or [""]
        lines.append(f"{label + ':':<{width}}{first}".rstrip())
        lines.extend(f"{'':<{width}}{line}".rstrip() for line in rest)
    return "\n".join(lines)


TASK_COLUMNS = (
    Column("ID", lambda t: str(t["id"])),
    Column("NAME", lambda t: str(t.get("name")), 30),
    Column("STATE", lambda t: "enabled" if t.get("enabled") else "paused"),
    Column("SCHEDULE", lambda t: schedule_summary(t.get("schedule")), 36),
    Column("NEXT RUN", lambda t: fmt_time(t.get("next_run_at"))),
    Column("LAST RUN", lambda t: str((t.get("last_run") or {}).get("status") or "-")),
    Column("TAGS", lambda t: ",".join(t.get("tags") or []) or "-", 24),
)

RUN_COLUMNS = (
    Column("ID", lambda r: str(r["id"])),
    Column("TASK", lambda r: str(r.get("task_id"))),
    Column("STATUS", lambda r: str(r.get("status"))),
    Column("TRIGGER", lambda r: str(r.get("trigger"))),
    Column("SCHEDULED FOR", lambda r: fmt_time(r.get("scheduled_for"))),
    Column("DURATION", lambda r: fmt_duration_ms(r.get("duration_ms"))),
)


def render_task(task: Mapping[str, Any]) -> str:
    agent = task.get("agent") or {}
    last = task.get("last_run") or {}
    state = "enabled" if task.get("enabled") else f"paused ({task.get('paused_reason') or 'no reason given'})"
    return render_fields(
        [
            ("id", task.get("id")),
            ("name", task.get("name")),
            ("description", task.get("description")),
            ("state", state),
            ("schedule", schedule_summary(task.get("schedule"))),
            ("next run", fmt_time(task.get("next_run_at")) if task.get("next_run_at") else None),
            ("next runs", "\n".join(fmt_time(t) for t in task.get("next_runs") or [])),
            ("last run", f"{last['id']} {last.get('status')} {fmt_time(last.get('scheduled_for'))}" if last else None),
            ("prompt", task.get("prompt")),
            ("variables", "\n".join(f"{k}={v}" for k, v in sorted((task.get("variables") or {}).items()))),
            ("tools", ", ".join(agent.get("tools") or [])),
            ("model", agent.get("model")),
            ("tags", ", ".join(task.get("tags") or [])),
            ("version", task.get("version")),
            ("created", fmt_time(task.get("created_at"))),
            ("updated", fmt_time(task.get("updated_at"))),
        ]
    )


def render_stats(stats: Mapping[str, Any]) -> str:
    rate = stats.get("success_rate")
    failures = [
        f"{f['run_id']} {f['status']} {(f.get('error') or {}).get('type', '')}".strip()
        for f in stats.get("last_failures") or []
    ]
    return render_fields(
        [
            ("task", stats.get("task_id")),
            (
                "runs",
                f"{stats.get('window')} most recent: "
                + ", ".join(f"{k} {v}" for k, v in sorted((stats.get("counts") or {}).items())),
            ),
            ("success rate", "-" if rate is None else f"{rate:.0%}"),
            ("duration p50", fmt_duration_ms(stats.get("duration_ms_p50"))),
            ("duration p95", fmt_duration_ms(stats.get("duration_ms_p95"))),
            ("tokens", fmt_tokens(stats, suffix="_total")),
            ("est. cost", fmt_cost_summary(stats.get("cost_estimate") or {})),
            ("last failures", "\n".join(failures)),
        ]
    )


def render_run(run: Mapping[str, Any]) -> str:
    usage = run.get("usage") or {}
    error = run.get("error") or {}
    return render_fields(
        [
            ("id", run.get("id")),
            ("task", run.get("task_id")),
            ("status", run.get("status")),
            ("trigger", run.get("trigger")),
            ("scheduled for", fmt_time(run.get("scheduled_for"))),
            ("started", fmt_time(run.get("started_at")) if run.get("started_at") else None),
            ("finished", fmt_time(run.get("finished_at")) if run.get("finished_at") else None),
            ("attempt", run.get("attempt")),
            ("duration", fmt_duration_ms(run["duration_ms"]) if run.get("duration_ms") is not None else None),
            ("model", run.get("model")),
            ("usage", f"{fmt_tokens(usage)} tokens" if usage else None),
            ("est. cost", fmt_run_cost(run.get("cost_estimate"))),
            ("variables", " ".join(f"{k}={v}" for k, v in sorted((run.get("variables") or {}).items()))),
            ("question", run.get("question")),
            ("output", run.get("output")),
            ("error", f"{error.get('type')}: {error.get('message')}" if error else None),
            ("reason", run.get("reason")),
        ]
    )


def render_preview(preview: Mapping[str, Any]) -> str:
    lines = [str(preview.get("description", ""))]
    lines.extend(f"{i:>3}  {fmt_time(t)}" for i, t in enumerate(preview.get("occurrences") or [], 1))
    return "\n".join(lines)


def render_transcript(transcript: Mapping[str, Any]) -> str:
    lines: list[str] = []
    for message in transcript.get("messages") or []:
        lines.append(f"[{message.get('role', '?')}]")
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
        for block in blocks:
            kind = block.get("type")
            if kind == "text":
                lines.extend(f"  {line}" for line in str(block.get("text", "")).splitlines() or [""])
            elif kind in ("tool_use", "server_tool_use"):
                lines.append(f"  -> {block.get('name')} {json.dumps(block.get('input'), sort_keys=True)}")
            elif kind == "tool_result":
                result = block.get("content")
                if isinstance(result, list):
                    result = " ".join(str(part.get("text", "")) for part in result if isinstance(part, dict))
                marker = "<- error" if block.get("is_error") else "<-"
                lines.append(f"  {marker} {one_line(result)}")
            else:
                lines.append(f"  ({kind})")
    return "\n".join(lines)


def emit_json(document: Any) -> None:
    echo(json.dumps(document, indent=2, ensure_ascii=False))


def note(message: str) -> None:
    echo(message, err=True)


# ----------------------------------------------------------- API commands


@dataclass
class Ctx:
    """A running API command: its arguments, the client (made on first use), and how to print."""

    args: argparse.Namespace
    _client: Client | None = None

    @property
    def client(self) -> Client:
        if self._client is None:
            args = self.args
            target = resolve(
                Selection(
                    endpoint=args.endpoint,
                    profile=args.profile,
                    stack=args.stack,
                    region=args.region,
                    token=args.token,
                    user=args.user,
                    environ=dict(os.environ),
                )
            )
            for text in target.notes:
                note(f"agentcron: note: {text}")
            if target.token is None:
                raise CliError(
                    f"no token for {target.endpoint} ({target.source})",
                    EXIT_AUTH,
                    [
                        "sign in with `agentcron token --cognito --stack STACK --username YOU`, then pass the "
                        "token with --token or AGENTCRON_TOKEN (or token = ... in your profile)"
                    ],
                )
            self._client = Client(target, session=args._session)
        return self._client

    @property
    def json(self) -> bool:
        return bool(self.args.json)

    @property
    def quiet(self) -> bool:
        return bool(self.args.quiet) and not self.json

    def show(self, document: Any, render: Callable[[Any], str]) -> None:
        if self.json:
            emit_json(document)
        elif self.quiet:
            echo(document["id"])
        else:
            echo(render(document))

    def show_page(self, page: Mapping[str, Any], columns: Sequence[Column], what: str) -> None:
        items = page.get("items") or []
        if self.json:
            emit_json(page)
            return
        if self.quiet:
            for item in items:
                echo(item["id"])
        elif items:
            echo(render_table(items, columns))
        else:
            note(f"No {what} found.")
        if page.get("next_cursor"):
            note(f"More {what}: repeat the command with --cursor {page['next_cursor']} (or --all for every page)")


Action = Callable[[Ctx], int]


class Actions:
    """The sub-subcommands of a group (``tasks list``): each runs ``action(ctx)`` and, after its own
    options, takes the API and output options (``finish``)."""

    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self._sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
        self._leaves: list[argparse.ArgumentParser] = []

    def add(self, name: str, action: Action, help: str, epilog: str | None = None) -> argparse.ArgumentParser:
        leaf = self._sub.add_parser(
            name, help=help, description=help, epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter
        )
        leaf.set_defaults(_action=action)
        self._leaves.append(leaf)
        return leaf

    def finish(self) -> None:
        for leaf in self._leaves:
            _add_connection_options(leaf, after_command=True)


def _run_action(args: argparse.Namespace) -> int:
    action: Action = args._action
    return action(Ctx(args))


def parse_var(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value


def parse_since(text: str) -> str:
    """``1h`` / ``30m`` / ``7d`` ago, or an ISO instant (with an offset; ``Z`` is fine)."""
    try:
        seconds = parse_duration(text)
    except argparse.ArgumentTypeError:
        pass
    else:
        return (datetime.now(UTC) - timedelta(seconds=seconds)).replace(microsecond=0).isoformat()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a duration or ISO time: {text!r} (e.g. 1h, 2026-12-01T09:00Z)") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs an offset, e.g. {text}Z or {text}+01:00")
    return moment.isoformat()


def _read_text(source: str, what: str) -> str:
    try:
        return sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot read {what} {source}: {exc.strerror or exc}", EXIT_USAGE) from exc


def _read_json(source: str, what: str) -> dict[str, Any]:
    text = _read_text(source, what)
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise CliError(f"{what} {source} is not JSON: {exc}", EXIT_USAGE) from exc
    if not isinstance(document, dict):
        raise CliError(f"{what} {source} must hold a JSON object", EXIT_USAGE)
    return document


# ------------------------------------------------------------- schedules

SCHEDULE_KINDS = ("cron", "every", "at", "preset", "manual")


def _add_schedule_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("schedule (one of --cron, --every, --at, --preset, --manual)")
    kinds = group.add_mutually_exclusive_group()
    kinds.add_argument("--cron", metavar="EXPR", help="5-field cron, e.g. '0 9 * * 1-5'")
    kinds.add_argument("--every", metavar="DURATION", type=parse_duration, help="an interval: 3600, 5m, 1h (>= 60 s)")
    kinds.add_argument(
        "--at", metavar="ISO", help="once, at this instant (2026-12-01T09:00:00+01:00), or from now (+10m)"
    )
    kinds.add_argument("--preset", choices=("hourly", "daily", "weekly", "monthly"), help="at midnight (--tz)")
    kinds.add_argument("--manual", action="store_true", help="only when run by hand")
    group.add_argument("--tz", metavar="ZONE", help="IANA time zone of --cron / --preset (default UTC)")
    group.add_argument("--start-at", metavar="ISO", help="no occurrence before this instant")
    group.add_argument("--end-at", metavar="ISO", help="no occurrence after this instant")


def parse_at(text: str) -> str:
    """An ISO instant as given, or ``+10m`` (from now, to the second, in UTC)."""
    if not text.startswith("+"):
        return text
    try:
        seconds = parse_duration(text[1:])
    except argparse.ArgumentTypeError:
        raise CliError(f"--at {text}: expected an ISO time or +DURATION (e.g. +10m)", EXIT_USAGE) from None
    return (datetime.now(UTC) + timedelta(seconds=seconds)).replace(microsecond=0).isoformat()


def schedule_from_args(args: argparse.Namespace, current: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """The schedule the flags describe; with only --tz/--start-at/--end-at, ``current`` changed by them.
    None when no schedule flag was given."""
    schedule: dict[str, Any]
    if args.cron is not None:
        schedule = {"type": "cron", "expression": args.cron}
    elif args.every is not None:
        schedule = {"type": "interval", "every_seconds": args.every}
    elif args.at is not None:
        schedule = {"type": "once", "at": parse_at(args.at)}
    elif args.preset is not None:
        schedule = {"type": "preset", "preset": args.preset}
    elif args.manual:
        schedule = {"type": "manual"}
    elif current is not None and (args.tz or args.start_at or args.end_at):
        schedule = {k: v for k, v in current.items() if v is not None}
    elif args.tz or args.start_at or args.end_at:
        raise CliError("--tz, --start-at and --end-at go with a schedule: --cron, --every, --at, --preset", EXIT_USAGE)
    else:
        return None
    if args.tz:
        if schedule["type"] not in ("cron", "preset"):
            raise CliError(f"--tz applies to --cron and --preset, not to a {schedule['type']} schedule", EXIT_USAGE)
        schedule["timezone"] = args.tz
    if args.start_at:
        schedule["start_at"] = args.start_at
    if args.end_at:
        schedule["end_at"] = args.end_at
    return schedule


def _configure_schedule(parser: argparse.ArgumentParser) -> None:
    actions = Actions(parser)
    add = actions.add
    preview = add(
        "preview",
        schedule_preview,
        "the next occurrences of a schedule, and its description",
        epilog="e.g. agentcron schedule preview --cron '0 9 * * 1-5' --tz Europe/Berlin --count 3",
    )
    _add_schedule_options(preview)
    preview.add_argument("--count", type=int, default=5, help="how many occurrences (default %(default)s, max 100)")
    preview.add_argument("--after", metavar="ISO", help="occurrences after this instant (default now)")
    actions.finish()


@command("schedule", help="preview schedules", configure=_configure_schedule)
def run_schedule(args: argparse.Namespace) -> int:
    return _run_action(args)


def schedule_preview(ctx: Ctx) -> int:
    schedule = schedule_from_args(ctx.args)
    if schedule is None:
        raise CliError("schedule preview needs a schedule: --cron, --every, --at, --preset or --manual", EXIT_USAGE)
    body: dict[str, Any] = {"schedule": schedule, "count": ctx.args.count}
    if ctx.args.after:
        body["after"] = ctx.args.after
    preview = ctx.client.request("POST", "/v1/schedules/preview", body=body).body
    if ctx.json:
        emit_json(preview)
    else:
        echo(render_preview(preview))
    return EXIT_OK


# ------------------------------------------------------------------ tasks


def _add_task_fields(parser: argparse.ArgumentParser, *, update: bool) -> None:
    fields = parser.add_argument_group("task fields")
    fields.add_argument("--name", help="a short name")
    fields.add_argument("--description", help="a longer description")
    prompts = fields.add_mutually_exclusive_group()
    prompts.add_argument("--prompt", help="the prompt template ({{name}} variables)")
    prompts.add_argument("--prompt-file", metavar="FILE", help="read the prompt from FILE (- for stdin)")
    fields.add_argument(
        "--var",
        metavar="NAME=VALUE",
        type=parse_var,
        action="append",
        default=[],
        help="a prompt variable (repeat)" + ("; merged into the task's" if update else ""),
    )
    fields.add_argument(
        "--tool",
        metavar="NAME",
        action="append",
        default=[],
        help="a tool the agent may use (repeat): ask_user, web_fetch, remember, recall, schedule_followup, "
        "web_search" + ("; replaces the task's list" if update else ""),
    )
    fields.add_argument(
        "--tag",
        metavar="TAG",
        action="append",
        default=[],
        help="a tag (repeat)" + ("; replaces the tags" if update else ""),
    )
    if update:
        fields.add_argument("--unset-var", metavar="NAME", action="append", default=[], help="remove a variable")
        fields.add_argument("--no-tools", action="store_true", help="allow no tools")
        fields.add_argument("--no-tags", action="store_true", help="remove every tag")
    _add_schedule_options(parser)
    fields.add_argument(
        "--from-file",
        metavar="FILE",
        help=("a JSON patch body" if update else "a whole JSON task body")
        + " (- for stdin); the flags above override its fields",
    )


def _prompt(args: argparse.Namespace) -> str | None:
    if args.prompt_file is not None:
        return _read_text(args.prompt_file, "the prompt file")
    prompt: str | None = args.prompt
    return prompt


def create_body(args: argparse.Namespace) -> dict[str, Any]:
    """``tasks create``'s flags -> the POST /v1/tasks body."""
    body = _read_json(args.from_file, "the task file") if args.from_file else {}
    for name in ("name", "description"):
        if getattr(args, name) is not None:
            body[name] = getattr(args, name)
    prompt = _prompt(args)
    if prompt is not None:
        body["prompt"] = prompt
    if args.var:
        body["variables"] = {**(body.get("variables") or {}), **dict(args.var)}
    if args.tool:
        body["agent"] = {**(body.get("agent") or {}), "tools": args.tool}
    if args.tag:
        body["tags"] = args.tag
    if args.disabled:
        body["enabled"] = False
    schedule = schedule_from_args(args, body.get("schedule"))
    if schedule is not None:
        body["schedule"] = schedule
    missing = [
        flag
        for key, flag in (("name", "--name"), ("prompt", "--prompt"), ("schedule", "a schedule"))
        if key not in body
    ]
    if missing:
        raise CliError(
            f"tasks create needs {', '.join(missing)}",
            EXIT_USAGE,
            ["a schedule is one of --cron EXPR [--tz ZONE], --every 1h, --at ISO, --preset daily, --manual"]
            if "a schedule" in missing
            else [],
        )
    return body


def update_body(args: argparse.Namespace, current: Mapping[str, Any]) -> dict[str, Any]:
    """``tasks update``'s flags -> the PATCH body, merged onto ``current`` where a field is a whole
    object (variables, agent) so that only what was asked for changes."""
    body = _read_json(args.from_file, "the patch file") if args.from_file else {}
    for name in ("name", "description"):
        if getattr(args, name) is not None:
            body[name] = getattr(args, name)
    prompt = _prompt(args)
    if prompt is not None:
        body["prompt"] = prompt
    if args.var or args.unset_var:
        variables = {**(current.get("variables") or {}), **(body.get("variables") or {}), **dict(args.var)}
        for name in args.unset_var:
            if name not in variables:
                raise CliError(f"--unset-var {name}: the task has no variable {name!r}", EXIT_USAGE)
            del variables[name]
        body["variables"] = variables
    if args.tool or args.no_tools:
        if args.tool and args.no_tools:
            raise CliError("--tool and --no-tools contradict each other", EXIT_USAGE)
        body["agent"] = {**(current.get("agent") or {}), **(body.get("agent") or {}), "tools": list(args.tool)}
    if args.tag or args.no_tags:
        if args.tag and args.no_tags:
            raise CliError("--tag and --no-tags contradict each other", EXIT_USAGE)
        body["tags"] = list(args.tag)
    schedule = schedule_from_args(args, body.get("schedule") or current.get("schedule"))
    if schedule is not None:
        body["schedule"] = schedule
    if not body:
        raise CliError(
            "nothing to update",
            EXIT_USAGE,
            ["pass a field: --name, --prompt, --var, --tool, --tag, a schedule flag, ... (agentcron tasks update -h)"],
        )
    return body


def _configure_tasks(parser: argparse.ArgumentParser) -> None:
    actions = Actions(parser)
    add = actions.add

    create = add(
        "create",
        tasks_create,
        "create a task",
        epilog="e.g. agentcron tasks create --name 'Morning incidents' --prompt 'Summarise {{team}}' "
        "--var team=platform --cron '0 9 * * 1-5' --tz Europe/Berlin --tool web_fetch --tag ops",
    )
    _add_task_fields(create, update=False)
    create.add_argument("--disabled", action="store_true", help="create it paused")
    create.add_argument("--idempotency-key", metavar="KEY", help="a retry with the same key returns the same task")

    listing = add("list", tasks_list, "list your tasks, newest first")
    enabled = listing.add_mutually_exclusive_group()
    enabled.add_argument("--enabled", dest="enabled", action="store_const", const=True, help="only enabled tasks")
    enabled.add_argument("--disabled", dest="enabled", action="store_const", const=False, help="only paused tasks")
    listing.add_argument("--tag", help="only tasks with this tag")
    listing.add_argument("--type", choices=("cron", "interval", "once", "preset", "manual"), help="schedule type")
    _add_paging(listing)

    get = add("get", tasks_get, "show a task and its next run times")
    get.add_argument("task_id", metavar="TASK_ID")

    stats = add("stats", tasks_stats, "success rate, durations, tokens and last failures of a task's recent runs")
    stats.add_argument("task_id", metavar="TASK_ID")

    update = add(
        "update",
        tasks_update,
        "change a task (only the fields given)",
        epilog="The task is read first, and the change is sent with If-Match: <the version read>, so an edit\n"
        "made meanwhile by someone else fails (412) instead of being overwritten.",
    )
    update.add_argument("task_id", metavar="TASK_ID")
    _add_task_fields(update, update=True)
    update.add_argument("--if-match", metavar="VERSION", type=int, help="fail unless the task is at this version")

    delete = add("delete", tasks_delete, "delete a task (its runs stay readable)")
    delete.add_argument("task_id", metavar="TASK_ID")
    delete.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    delete.add_argument("--if-match", metavar="VERSION", type=int, help="fail unless the task is at this version")

    enable = add("enable", tasks_enable, "resume a paused task")
    enable.add_argument("task_id", metavar="TASK_ID")

    disable = add("disable", tasks_disable, "pause a task")
    disable.add_argument("task_id", metavar="TASK_ID")
    disable.add_argument("--reason", help="why (shown with the task)")

    run = add("run", tasks_run, "run a task now")
    run.add_argument("task_id", metavar="TASK_ID")
    run.add_argument(
        "--var", metavar="NAME=VALUE", type=parse_var, action="append", default=[], help="override a variable"
    )
    run.add_argument("--idempotency-key", metavar="KEY", help="a retry with the same key returns the same run")
    _add_wait_options(run, flag=True)
    actions.finish()


def _add_paging(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--limit", type=int, default=20, help="page size, 1-100 (default %(default)s)")
    parser.add_argument("--cursor", help="continue from a previous page's next_cursor")
    parser.add_argument("--all", action="store_true", help="follow next_cursor through every page")


def _add_wait_options(parser: argparse.ArgumentParser, *, flag: bool) -> None:
    if flag:
        parser.add_argument("--wait", action="store_true", help="wait until the run ends (or asks a question)")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls (default %(default)s)")
    parser.add_argument("--timeout", type=float, help="give up after this many seconds (exit 7)")


@command("tasks", help="create, list, change and run tasks", configure=_configure_tasks)
def run_tasks(args: argparse.Namespace) -> int:
    return _run_action(args)


def tasks_create(ctx: Ctx) -> int:
    body = create_body(ctx.args)
    headers = {"Idempotency-Key": ctx.args.idempotency_key} if ctx.args.idempotency_key else None
    answer = ctx.client.request("POST", "/v1/tasks", body=body, headers=headers)
    if answer.headers.get("Idempotent-Replayed") == "true":
        note("agentcron: note: an earlier request with this Idempotency-Key created this task; it is returned as is")
    ctx.show(answer.body, render_task)
    return EXIT_OK


def _list(
    ctx: Ctx, path: str, params: dict[str, Any], keep: Callable[[Mapping[str, Any]], bool] | None = None
) -> dict[str, Any]:
    """One page, or with --all every page as one ``{"items": [...], "next_cursor": null}``."""
    params = {**params, "limit": ctx.args.limit, "cursor": ctx.args.cursor}
    if not ctx.args.all:
        page: dict[str, Any] = ctx.client.get(path, params)
        if keep is not None:
            page["items"] = [item for item in page.get("items") or [] if keep(item)]
        return page
    items: list[Any] = []
    for page in ctx.client.pages(path, params):
        batch = page.get("items") or []
        items.extend(item for item in batch if keep is None or keep(item))
    return {"items": items, "next_cursor": None}


def tasks_list(ctx: Ctx) -> int:
    args = ctx.args
    params = {"enabled": args.enabled, "tag": args.tag, "schedule_type": args.type}
    page = _list(ctx, "/v1/tasks", params)
    ctx.show_page(page, TASK_COLUMNS, "tasks")
    return EXIT_OK


def tasks_get(ctx: Ctx) -> int:
    ctx.show(ctx.client.get(f"/v1/tasks/{segment(ctx.args.task_id)}"), render_task)
    return EXIT_OK


def tasks_stats(ctx: Ctx) -> int:
    ctx.show(ctx.client.get(f"/v1/tasks/{segment(ctx.args.task_id)}/stats"), render_stats)
    return EXIT_OK


def tasks_update(ctx: Ctx) -> int:
    args = ctx.args
    path = f"/v1/tasks/{segment(args.task_id)}"
    current = ctx.client.get(path)
    body = update_body(args, current)
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
    path = f"/v1/tasks/{segment(args.task_id)}"
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
    task = ctx.client.request("POST", f"/v1/tasks/{segment(ctx.args.task_id)}/enable").body
    ctx.show(task, render_task)
    return EXIT_OK


def tasks_disable(ctx: Ctx) -> int:
    body = {"reason": ctx.args.reason} if ctx.args.reason else None
    task = ctx.client.request("POST", f"/v1/tasks/{segment(ctx.args.task_id)}/disable", body=body).body
    ctx.show(task, render_task)
    return EXIT_OK


def tasks_run(ctx: Ctx) -> int:
    args = ctx.args
    body = {"variables": dict(args.var)} if args.var else None
    headers = {"Idempotency-Key": args.idempotency_key} if args.idempotency_key else None
    answer = ctx.client.request("POST", f"/v1/tasks/{segment(args.task_id)}/runs", body=body, headers=headers)
    run = answer.body
    if answer.headers.get("Idempotent-Replayed") == "true":
        note("agentcron: note: an earlier request with this Idempotency-Key started this run; it is returned as is")
    if not args.wait:
        ctx.show(run, render_run)
        if not ctx.json and not ctx.quiet:
            note(f"Follow it: agentcron runs watch {run['id']}")
        return EXIT_OK
    if not ctx.json and not ctx.quiet:
        echo(f"Started run {run['id']}")
    return _watch(ctx, run["id"])


# ------------------------------------------------------------------- runs

FAILED_STATUSES = frozenset({"FAILED", "TIMED_OUT", "CANCELLED"})
FINAL_STATUSES = frozenset({"SUCCEEDED", "SKIPPED", "MISSED"}) | FAILED_STATUSES
WATCH_STOPS = FINAL_STATUSES | {"WAITING_INPUT"}


def _watch(ctx: Ctx, run_id: str) -> int:
    """Poll until the run ends or waits for input; print each status; the exit code says how it ended."""
    args = ctx.args

    def on_change(run: Mapping[str, Any]) -> None:
        if ctx.quiet:
            return
        line = f"{fmt_time(datetime.now(UTC).isoformat())}  {run['id']}  {run['status']}"
        # With --json, stdout carries only the final document.
        echo(line, err=ctx.json)

    run = ctx.client.wait_for_run(
        run_id, interval=max(args.interval, 0.05), timeout=args.timeout, on_change=on_change, stop_at=WATCH_STOPS
    )
    status = run["status"]
    if ctx.json:
        emit_json(run)
    elif ctx.quiet:
        echo(run["id"])
    else:
        echo(render_run(run))
        if status == "WAITING_INPUT":
            echo(f'\nThe agent asks: {run.get("question")}\nAnswer: agentcron runs reply {run["id"]} "..."')
    return EXIT_RUN_FAILED if status in FAILED_STATUSES else EXIT_OK


def _configure_runs(parser: argparse.ArgumentParser) -> None:
    actions = Actions(parser)
    add = actions.add
    statuses = (
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

    listing = add("list", runs_list, "list your runs (or one task's), newest first")
    listing.add_argument("--task", metavar="TASK_ID", help="only this task's runs")
    listing.add_argument("--status", choices=statuses, type=str.upper, help="only runs in this status")
    listing.add_argument("--since", type=parse_since, help="runs scheduled since: 1h, 30m, 7d, or an ISO time")
    _add_paging(listing)

    get = add("get", runs_get, "show a run: status, output, usage, error")
    get.add_argument("run_id", metavar="RUN_ID")

    reply = add("reply", runs_reply, "answer a run that waits for input (WAITING_INPUT)")
    reply.add_argument("run_id", metavar="RUN_ID")
    reply.add_argument("text", metavar="TEXT", help="the answer (- reads stdin)")
    _add_wait_options(reply, flag=True)

    cancel = add("cancel", runs_cancel, "cancel a QUEUED or WAITING_INPUT run")
    cancel.add_argument("run_id", metavar="RUN_ID")

    watch = add(
        "watch",
        runs_watch,
        "follow a run until it ends or asks a question",
        epilog="Exit code 0 when it SUCCEEDED (or waits for input), 6 when it ended FAILED, TIMED_OUT or\n"
        "CANCELLED, 7 when --timeout ran out first.",
    )
    watch.add_argument("run_id", metavar="RUN_ID")
    _add_wait_options(watch, flag=False)

    transcript = add("transcript", runs_transcript, "show a run's whole conversation with the model")
    transcript.add_argument("run_id", metavar="RUN_ID")
    actions.finish()


@command("runs", help="list, follow, answer and cancel runs", configure=_configure_runs)
def run_runs(args: argparse.Namespace) -> int:
    return _run_action(args)


def runs_list(ctx: Ctx) -> int:
    args = ctx.args
    if args.task:
        # The task's runs have no `since` filter on the server: kept here.
        keep = None
        if args.since:
            since = datetime.fromisoformat(args.since)

            def keep(run: Mapping[str, Any]) -> bool:
                return datetime.fromisoformat(str(run["scheduled_for"])) >= since

        page = _list(ctx, f"/v1/tasks/{segment(args.task)}/runs", {"status": args.status}, keep)
    else:
        page = _list(ctx, "/v1/runs", {"status": args.status, "since": args.since})
    ctx.show_page(page, RUN_COLUMNS, "runs")
    return EXIT_OK


def runs_get(ctx: Ctx) -> int:
    ctx.show(ctx.client.get(f"/v1/runs/{segment(ctx.args.run_id)}"), render_run)
    return EXIT_OK


def runs_reply(ctx: Ctx) -> int:
    args = ctx.args
    text = _read_text("-", "the reply") if args.text == "-" else args.text
    run = ctx.client.request("POST", f"/v1/runs/{segment(args.run_id)}/reply", body={"reply": text}).body
    if args.wait:
        if not ctx.json and not ctx.quiet:
            echo(f"Replied to run {run['id']}")
        return _watch(ctx, run["id"])
    ctx.show(run, render_run)
    return EXIT_OK


def runs_cancel(ctx: Ctx) -> int:
    run = ctx.client.request("POST", f"/v1/runs/{segment(ctx.args.run_id)}/cancel").body
    ctx.show(run, render_run)
    return EXIT_OK


def runs_watch(ctx: Ctx) -> int:
    return _watch(ctx, ctx.args.run_id)


def runs_transcript(ctx: Ctx) -> int:
    transcript = ctx.client.get(f"/v1/runs/{segment(ctx.args.run_id)}/transcript")
    if ctx.json:
        emit_json(transcript)
    else:
        echo(render_transcript(transcript))
    return EXIT_OK


# ----------------------------------------------------------------- invoke


def _configure_invoke(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("function", metavar="FUNCTION", help="api, dispatcher or runner (or ApiFunction, ...)")
    parser.add_argument(
        "-e", "--event", metavar="EVENT_FILE", help="the event (JSON; - for stdin; e.g. events/dispatcher-tick.json)"
    )
    parser.epilog = (
        "Runs functions/FUNCTION/app.py's handler in this process against the running local stack\n"
        "(its tables, queues and bucket, from <state dir>/stack.json), like `sam local invoke -e`.\n"
        "The handler's result is printed as JSON; logs go to stderr. Exit 5 when the handler raised."
    )
    parser.formatter_class = argparse.RawDescriptionHelpFormatter


@command(
    "invoke", help="run one event through a function's handler against the local stack", configure=_configure_invoke
)
def run_invoke(args: argparse.Namespace) -> int:
    from agentcron_local import invoke
    from agentcron_local.tokens import state_dir

    document, code = invoke.run(args.function, args.event, state_dir())
    echo(json.dumps(document, indent=2, default=str))
    return code


if __name__ == "__main__":
    raise SystemExit(main())
