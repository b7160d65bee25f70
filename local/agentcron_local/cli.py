"""``agentcron``: the developer CLI (local stack, dev tokens; API client commands join later).

Subcommands live in a registry so each can be added where it is written:

    def _configure(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("task_id")

    @command("show", help="show a task", configure=_configure)
    def show(args: argparse.Namespace) -> int:
        ...
        return 0

Commands import their heavy dependencies (moto, boto3, the functions)
inside the function, so ``agentcron token`` and ``--help`` stay instant.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agentcron", description="agentcron developer CLI")
    parser.add_argument(
        "--state-dir",
        type=Path,
        help="where the local stack keeps its signing key and pid file "
        "(default: $AGENTCRON_STATE_DIR or <repo>/.local-state)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for cmd in COMMANDS.values():
        sub_parser = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        if cmd.configure is not None:
            cmd.configure(sub_parser)
        sub_parser.set_defaults(_run=cmd.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.state_dir is not None:
        # One place decides the state dir for every module: the environment.
        os.environ["AGENTCRON_STATE_DIR"] = str(args.state_dir.expanduser().resolve())
    run: Runner = args._run
    try:
        return run(args)
    except KeyboardInterrupt:
        return 130


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
        help="seconds between dispatcher ticks (default: the template's TickSeconds, 300, like production)",
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
    parser.add_argument("user", metavar="NAME", help="the user (the token's sub claim, i.e. the task owner)")
    parser.add_argument(
        "--ttl", type=parse_duration, default="12h", help="lifetime: 3600, 30m, 12h, 7d (default %(default)s)"
    )


@command("token", help="print a dev token for the local stack's API", configure=_configure_token)
def run_token(args: argparse.Namespace) -> int:
    from agentcron_local.tokens import issue_token

    # Only the token on stdout, so that TOKEN=$(agentcron token alice) works.
    print(issue_token(args.user, ttl_seconds=args.ttl))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
