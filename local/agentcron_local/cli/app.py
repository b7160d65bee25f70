"""The ``agentcron`` parser and entry point: the registered commands (registry.py), the global
options, the exit codes, shell completion and how a failure is reported."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import IO, TYPE_CHECKING, NoReturn

from agentcron_local.cli import (  # noqa: F401 - each registers its commands
    api_keys,
    apply,
    connectors,
    conversations,
    local,
    runs,
    schedule,
    tasks,
    templates,
    triggers,
)
from agentcron_local.cli.context import output_format
from agentcron_local.cli.output import STREAMS, emit, error_document, report
from agentcron_local.cli.registry import COMMANDS, Runner, add_connection_options
from agentcron_local.cli.views import DISPLAY_ZONE, display_zone
from agentcron_local.client import (
    EXIT_API,
    EXIT_AUTH,
    EXIT_OK,
    EXIT_RUN_FAILED,
    EXIT_SERVER,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    EXIT_WAIT_TIMEOUT,
    CliError,
)

if TYPE_CHECKING:
    import requests

EPILOG = f"""\
where the API is (first match wins):
  --endpoint URL, $AGENTCRON_ENDPOINT, --profile NAME / $AGENTCRON_PROFILE
  ([profiles.NAME] endpoint/token/stack/region in ~/.config/agentcron/config.toml),
  --stack NAME (the deployed stack's ApiUrl output), the running local stack
  (<state dir>/stack.json), else http://127.0.0.1:3000.
the token: --token, $AGENTCRON_TOKEN, the profile's token, and for a local
  endpoint a dev token for --user NAME / $AGENTCRON_USER (default demo).
connection and output options may also follow the command:
  agentcron tasks list -o wide --user alice
  agentcron runs list --status FAILED --query 'items[].id'
times are shown in --tz ZONE (before the command), else $TZ, else this machine's zone.
colour only on a terminal, never with $NO_COLOR. Shell completion: agentcron completion -h

exit codes:
  {EXIT_OK}  ok
  {EXIT_API}  the API refused the request (4xx): its detail and each field error are printed
     `diff`: applying the files would change something (0: nothing would)
  {EXIT_USAGE}  usage error (bad arguments); `apply`/`diff`: a task file is not valid (each problem is printed)
  {EXIT_UNREACHABLE}  cannot reach the API (is `agentcron local` running?)
  {EXIT_AUTH}  not authenticated or not allowed (401/403): get a token with `agentcron token`
  {EXIT_SERVER}  the API failed (5xx); `invoke`: the handler raised
  {EXIT_RUN_FAILED}  `runs watch`, `tasks run --wait`, `runs reply --wait`: the run ended FAILED, TIMED_OUT or CANCELLED
     `chat --message`: the assistant's turn failed (or the run it answered ended so)
  {EXIT_WAIT_TIMEOUT}  the same commands: still not finished (no answer) when --timeout ran out
with --json or -o json|yaml a failure is also printed on stdout as {{"error": {{"message", "exit_code", ...}}}}.
"""


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("agentcron")
    except PackageNotFoundError:  # run from a checkout that is not installed
        return "unknown"


def requested_format(argv: Sequence[str]) -> str:
    """The output format the command line asks for, read before (and whatever) the full parse says."""
    scan = argparse.ArgumentParser(add_help=False)
    scan.add_argument("--json", action="store_true")
    scan.add_argument("-o", "--output")
    scan.add_argument("--query")
    known, _ = scan.parse_known_args(argv)
    return output_format(known)


class Parser(argparse.ArgumentParser):
    """argparse, whose usage errors are also an error document on stdout under ``--json``/``-o json``
    (its subcommand parsers are of this class too)."""

    def error(self, message: str) -> NoReturn:
        argv = ARGV.get()
        chosen = requested_format(sys.argv[1:] if argv is None else argv)
        if chosen in ("json", "yaml"):
            with contextlib.suppress(CliError):
                emit(error_document(CliError(f"{self.prog}: {message}", EXIT_USAGE)), format=chosen)
        super().error(message)


# The arguments main() parses (None: sys.argv), for Parser.error.
ARGV: ContextVar[Sequence[str] | None] = ContextVar("agentcron_argv", default=None)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="agentcron",
        description="agentcron: scheduled Claude agent tasks. A client of the agentcron API (local or "
        "deployed), and the local stack.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"agentcron {version()}")
    parser.add_argument(
        "--state-dir",
        type=Path,
        help="where the local stack keeps its signing key and pid file "
        "(default: $AGENTCRON_STATE_DIR or <repo>/.local-state)",
    )
    parser.add_argument(
        "--tz",
        dest="display_tz",
        metavar="ZONE",
        help="show times in this IANA zone (default: $TZ, else this machine's zone); "
        "after `tasks create` --tz is the schedule's zone",
    )
    add_connection_options(parser, after_command=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for cmd in COMMANDS.values():
        sub_parser = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        if cmd.configure is not None:
            cmd.configure(sub_parser)
        sub_parser.set_defaults(_run=cmd.run)
    return parser


def _complete(parser: argparse.ArgumentParser) -> None:
    """Answer the shell's completion request (argcomplete's protocol) and exit; otherwise nothing."""
    if "_ARGCOMPLETE" in os.environ:
        import argcomplete

        argcomplete.autocomplete(parser)


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
    _complete(parser)
    streams = STREAMS.set((stdout, stderr))
    given = ARGV.set(argv)
    zone = None
    try:
        args = parser.parse_args(argv)
        if args.state_dir is not None:
            # One place decides the state dir for every module: the environment.
            os.environ["AGENTCRON_STATE_DIR"] = str(args.state_dir.expanduser().resolve())
        args._session = session
        run: Runner = args._run
        zone = DISPLAY_ZONE.set(display_zone(args.display_tz, os.environ))
        return run(args)
    except CliError as exc:
        report(exc, format=output_format(args))
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `agentcron tasks list | head -1`: the reader left; say nothing more.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        if zone is not None:
            DISPLAY_ZONE.reset(zone)
        ARGV.reset(given)
        STREAMS.reset(streams)
