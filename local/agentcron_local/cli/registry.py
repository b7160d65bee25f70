"""How commands are declared: top-level commands, and API command groups as tables of actions.

A top-level command (``local``, ``token``, ...) registers itself::

    @command("token", help="print a dev token", configure=_configure_token)
    def run_token(args: argparse.Namespace) -> int: ...

An API command group (``tasks``, ``runs``, ``schedule``) is one table: every action has the same
shape (a name, ``run(ctx) -> exit code``, a help line, an optional positional id, its own
arguments) and takes the connection and output options after its own::

    group("runs", "list and follow runs", (Action("get", runs_get, "show a run", positional="run_id"), ...))
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentcron_local.cli.context import Ctx

Runner = Callable[[argparse.Namespace], int]
Configure = Callable[[argparse.ArgumentParser], None]
OUTPUT_FORMATS = ("table", "wide", "json", "yaml")


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


@dataclass(frozen=True)
class Action:
    """One action of an API group (``tasks list``)."""

    name: str
    run: Callable[[Ctx], int]
    help: str
    positional: str | None = None  # "task_id" -> a TASK_ID argument
    configure: Configure | None = None
    epilog: str | None = None


def group(name: str, help: str, actions: Sequence[Action]) -> None:
    """Register an API command group whose actions are ``actions``."""

    def configure(parser: argparse.ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
        for action in actions:
            leaf = sub.add_parser(
                action.name,
                help=action.help,
                description=action.help,
                epilog=action.epilog,
                formatter_class=argparse.RawDescriptionHelpFormatter,
            )
            if action.positional:
                leaf.add_argument(action.positional, metavar=action.positional.upper())
            if action.configure is not None:
                action.configure(leaf)
            add_connection_options(leaf, after_command=True)
            leaf.set_defaults(_action=action.run)

    def run(args: argparse.Namespace) -> int:
        from agentcron_local.cli.context import Ctx

        return int(args._action(Ctx(args)))

    command(name, help=help, configure=configure)(run)


def add_connection_options(parser: argparse.ArgumentParser, *, after_command: bool) -> None:
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
        "-o",
        "--output",
        choices=OUTPUT_FORMATS,
        default=default(None),
        help="table (default), wide (more columns), json (the API's document) or yaml",
    )
    group.add_argument("--json", action="store_true", default=default(False), help="the same as -o json")
    group.add_argument(
        "--query",
        metavar="JMESPATH",
        default=default(None),
        help="print only this JMESPath of the document (as JSON, or YAML with -o yaml), e.g. 'items[].id'",
    )
    group.add_argument(
        "-q", "--quiet", action="store_true", default=default(False), help="print only the ids of the resources"
    )
    if after_command:
        group.add_argument("--state-dir", type=Path, default=argparse.SUPPRESS, help="the local stack's state dir")
