"""The commands of the local side: ``local`` (the stack), ``token`` (a dev token, or Cognito's),
``invoke`` (one event through a handler) and ``completion`` (the shell's completion script).

Commands import their heavy dependencies (moto, boto3, the functions) inside the function,
so ``agentcron token`` and ``--help`` stay instant.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from agentcron_local.cli.output import echo
from agentcron_local.cli.registry import command
from agentcron_local.cli.values import parse_duration
from agentcron_local.client import EXIT_USAGE, CliError

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
    parser.add_argument(
        "--api-key-cache-seconds",
        type=float,
        metavar="SECONDS",
        help="how long each authorizer keeps an API key's answer (default: the template's, 30)",
    )
    parser.add_argument(
        "--authorizer-ttl-seconds",
        type=float,
        metavar="SECONDS",
        help="how long the gateway keeps the authorizer's answer for a token (default: the template's "
        "ReauthorizeEvery, 30); with the option above, how long a revoked key may still work",
    )


@command("local", help="run the whole stack on this machine (no AWS account needed)", configure=_configure_local)
def run_local(args: argparse.Namespace) -> int:
    from agentcron_local.motoserver import PortInUseError
    from agentcron_local.stack import AlreadyRunning, LocalStack, StackOptions

    options = StackOptions(
        host=args.host,
        port=args.port,
        moto_port=args.moto_port,
        verbose=args.verbose,
        tick_seconds=args.tick,
        api_key_cache_seconds=args.api_key_cache_seconds,
        authorizer_ttl_seconds=args.authorizer_ttl_seconds,
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

    from agentcron_local.endpoint import cognito_id_token, stack_outputs

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


COMPLETION_SHELLS = ("bash", "zsh", "fish", "tcsh", "powershell")


def _configure_completion(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("shell", choices=COMPLETION_SHELLS, help="the shell to complete in")
    parser.epilog = (
        "Completion by argcomplete: the shell asks `agentcron` itself, so new commands and flags complete\n"
        "without a new script. Install it for your shell:\n"
        '  bash:  eval "$(agentcron completion bash)"          (in ~/.bashrc)\n'
        '  zsh:   eval "$(agentcron completion zsh)"           (in ~/.zshrc)\n'
        "  fish:  agentcron completion fish > ~/.config/fish/completions/agentcron.fish"
    )
    parser.formatter_class = argparse.RawDescriptionHelpFormatter


@command("completion", help="print the shell completion script (bash, zsh, fish)", configure=_configure_completion)
def run_completion(args: argparse.Namespace) -> int:
    from argcomplete.shell_integration import shellcode

    echo(shellcode(["agentcron"], shell=args.shell).rstrip("\n"))
    return 0
