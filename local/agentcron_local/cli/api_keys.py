"""``agentcron api-keys`` (create, list, revoke): long-lived keys for scripts.

A key is printed once, by ``create``; or, with ``--save-profile NAME``, never printed but written
to a 0600 file that a new profile of ~/.config/agentcron/config.toml names (``token_file``), so
that ``agentcron --profile NAME …`` (or ``AGENTCRON_PROFILE=NAME``) sends it as its bearer token.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from agentcron_local.cli.context import Ctx, add_paging
from agentcron_local.cli.output import Column, echo, note, render_fields
from agentcron_local.cli.registry import Action, group
from agentcron_local.cli.views import fmt_time
from agentcron_local.client import EXIT_OK
from agentcron_local.endpoint import config_path
from agentcron_local.profiles import check_new_profile, save_key_profile

KEY_COLUMNS = (
    Column("ID", lambda k: str(k["id"])),
    Column("NAME", lambda k: str(k.get("name")), 30),
    Column("PREFIX", lambda k: f"{k.get('prefix')}…"),
    Column("CREATED", lambda k: fmt_time(k.get("created_at"))),
    Column("LAST USED", lambda k: fmt_time(k.get("last_used_at")) if k.get("last_used_at") else "-"),
    Column("EXPIRES", lambda k: fmt_time(k.get("expires_at")) if k.get("expires_at") else "never"),
    Column("REVOKED", lambda k: fmt_time(k.get("revoked_at")) if k.get("revoked_at") else "-"),
)


def render_created(key: Mapping[str, Any]) -> str:
    return render_fields(
        [
            ("key", key["key"]),
            ("id", key["id"]),
            ("name", key.get("name")),
            ("expires", fmt_time(key.get("expires_at")) if key.get("expires_at") else "never"),
        ]
    )


def create(ctx: Ctx) -> int:
    config = config_path()
    profile = ctx.args.save_profile
    if profile:
        check_new_profile(config, profile)  # before the key is made
    body: dict[str, Any] = {"name": ctx.args.name}
    if ctx.args.expires_in_days is not None:
        body["expires_in_days"] = ctx.args.expires_in_days
    created: dict[str, Any] = ctx.client.request("POST", "/v1/api-keys", body=body).body
    if profile:
        path = save_key_profile(config, profile, ctx.client.target.endpoint, created.pop("key"))
        if ctx.json:
            ctx.emit({**created, "profile": profile, "token_file": str(path)})
        elif not ctx.quiet:
            note(f"Created API key {created['id']}, saved for profile {profile} (in {path}, mode 0600).")
            note(f"Use it with: agentcron --profile {profile} tasks list")
        return EXIT_OK
    if ctx.quiet:
        echo(created["key"])
        return EXIT_OK
    ctx.show(created, render_created)
    if not ctx.json:
        note("This is the only time the key is shown: keep it (a profile's token can hold it).")
    return EXIT_OK


def list_keys(ctx: Ctx) -> int:
    ctx.show_page(ctx.list("/v1/api-keys", {}), KEY_COLUMNS, "API keys")
    return EXIT_OK


def revoke(ctx: Ctx) -> int:
    ctx.client.request("DELETE", f"/v1/api-keys/{ctx.args.key_id}")
    if not ctx.quiet:
        note(f"Revoked {ctx.args.key_id}: it stops working within a minute (the authorizer's cache).")
    return EXIT_OK


def _create_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", required=True, help="what the key is for")
    parser.add_argument("--expires-in-days", type=int, metavar="DAYS", help="stop working after DAYS (1-3650)")
    parser.add_argument(
        "--save-profile",
        metavar="PROFILE",
        help="do not print the key: save it (mode 0600) for a new profile PROFILE of the config file",
    )


group(
    "api-keys",
    "create, list and revoke long-lived API keys (ak_…) for scripts",
    (
        Action("create", create, "a new key, printed once", configure=_create_args),
        Action("list", list_keys, "your keys (never the keys themselves)", configure=add_paging),
        Action("revoke", revoke, "stop a key working", positional="key_id"),
    ),
)
