"""``agentcron connectors`` (add, list, get, test, delete): the MCP servers your tasks may use.

A secret is never taken on the command line (it would stay in the shell's history and in
``ps``): ``--token-env NAME`` reads it from an environment variable, ``--token-stdin`` from
standard input. The API never shows it again; ``get`` says only whether one is set.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from typing import Any

from agentcron_local.cli.context import Ctx, add_paging
from agentcron_local.cli.output import Column, echo, note, render_fields
from agentcron_local.cli.registry import Action, group
from agentcron_local.cli.thread import clean
from agentcron_local.cli.views import fmt_time
from agentcron_local.client import EXIT_OK, EXIT_USAGE, CliError

CONNECTOR_COLUMNS = (
    Column("ID", lambda c: str(c["id"])),
    Column("NAME", lambda c: str(c.get("name")), 30),
    Column("URL", lambda c: str(c.get("url")), 50),
    Column("AUTH", lambda c: auth_summary(c.get("auth") or {})),
    Column("UPDATED", lambda c: fmt_time(c.get("updated_at"))),
)


def auth_summary(auth: Mapping[str, Any]) -> str:
    kind = str(auth.get("type", "none"))
    if kind == "none":
        return "none"
    where = f" {auth['name']}" if kind == "header" and auth.get("name") else ""
    return f"{kind}{where} ({'set' if auth.get('secret_set') else 'not set'})"


def render_connector(connector: Mapping[str, Any]) -> str:
    return render_fields(
        [
            ("id", connector["id"]),
            ("name", connector.get("name")),
            ("url", connector.get("url")),
            ("transport", connector.get("transport")),
            ("auth", auth_summary(connector.get("auth") or {})),
            ("tools as", f"{connector.get('name')}__<tool>"),
            ("version", connector.get("version")),
            ("updated", fmt_time(connector.get("updated_at"))),
        ]
    )


def render_test(result: Mapping[str, Any]) -> str:
    if not result.get("ok"):
        return f"not usable ({result.get('reason')}): {clean(result.get('detail'))}"
    tools = result.get("tools") or []
    lines = [f"ok: {len(tools)} tool(s)"]
    for tool in tools:
        # The server's own words: shown cleaned of terminal controls, first line only.
        summary = clean(tool.get("description")).strip().splitlines()
        lines.append(f"  {clean(tool['offered_as'])}" + (f"  {summary[0]}" if summary else ""))
    return "\n".join(lines)


def _secret(args: argparse.Namespace) -> str | None:
    if args.token_env and args.token_stdin:
        raise CliError("--token-env and --token-stdin contradict each other", EXIT_USAGE)
    if args.token_env:
        value = os.environ.get(args.token_env)
        if not value:
            raise CliError(f"the environment variable {args.token_env} is not set", EXIT_USAGE)
        return value
    if args.token_stdin:
        return sys.stdin.readline().strip() or None
    return None


def _auth(args: argparse.Namespace) -> dict[str, Any] | None:
    secret = _secret(args)
    if args.header and secret is None:
        raise CliError("--header needs its value: --token-env NAME or --token-stdin", EXIT_USAGE)
    if secret is None:
        return None
    if args.header:
        return {"type": "header", "name": args.header, "value": secret}
    return {"type": "bearer", "token": secret}


def add(ctx: Ctx) -> int:
    body: dict[str, Any] = {"name": ctx.args.name, "url": ctx.args.url, "transport": ctx.args.transport}
    auth = _auth(ctx.args)
    if auth is not None:
        body["auth"] = auth
    created: dict[str, Any] = ctx.client.request("POST", "/v1/connectors", body=body).body
    if ctx.quiet:
        echo(created["id"])
        return EXIT_OK
    ctx.show(created, render_connector)
    if not ctx.json:
        note(f"Check it with: agentcron connectors test {created['id']}")
    return EXIT_OK


def list_connectors(ctx: Ctx) -> int:
    ctx.show_page(ctx.list("/v1/connectors", {}), CONNECTOR_COLUMNS, "connectors")
    return EXIT_OK


def get(ctx: Ctx) -> int:
    ctx.show(ctx.client.request("GET", f"/v1/connectors/{ctx.args.connector_id}").body, render_connector)
    return EXIT_OK


def test(ctx: Ctx) -> int:
    result: dict[str, Any] = ctx.client.request("POST", f"/v1/connectors/{ctx.args.connector_id}/test").body
    ctx.show(result, render_test)
    # A script can tell a usable connector from the exit code alone.
    return EXIT_OK if result.get("ok") else 1


def delete(ctx: Ctx) -> int:
    ctx.client.request("DELETE", f"/v1/connectors/{ctx.args.connector_id}")
    if not ctx.quiet:
        note(f"Deleted {ctx.args.connector_id}: runs of tasks that name it now fail until they are edited.")
    return EXIT_OK


def _add_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", required=True, help="lower-case; its tools are offered as NAME__<tool>")
    parser.add_argument("--url", required=True, help="the MCP endpoint (https)")
    parser.add_argument("--transport", choices=("streamable_http", "sse"), default="streamable_http")
    parser.add_argument("--token-env", metavar="VAR", help="the secret (a bearer token) from this variable")
    parser.add_argument("--token-stdin", action="store_true", help="read the secret from standard input")
    parser.add_argument("--header", metavar="NAME", help="send the secret in this header instead of a bearer token")


group(
    "connectors",
    "add, list, test and delete the MCP servers your tasks' agents may use",
    (
        Action("add", add, "register an MCP server", configure=_add_args),
        Action("list", list_connectors, "your connectors (never their secrets)", configure=add_paging),
        Action("get", get, "show a connector", positional="connector_id"),
        Action("test", test, "connect and list its tools, or say why not", positional="connector_id"),
        Action("delete", delete, "delete a connector", positional="connector_id"),
    ),
)
