"""``agentcron triggers`` (add, list, rotate, delete): a task's inbound webhooks.

``add`` and ``rotate`` print the secret, once: the sender signs each delivery with it in the
Standard Webhooks scheme (any of its libraries: ``Webhook(secret).sign(id, timestamp, body)``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentcron_local.cli.context import Ctx
from agentcron_local.cli.output import Column, echo, render_fields
from agentcron_local.cli.registry import Action, group
from agentcron_local.cli.views import fmt_time
from agentcron_local.client import EXIT_OK, segment

TRIGGER_COLUMNS = (
    Column("ID", lambda t: str(t["id"])),
    Column("URL", lambda t: str(t["url"]), 80),
    Column("CREATED", lambda t: fmt_time(t.get("created_at"))),
    Column("ROTATED", lambda t: fmt_time(t.get("rotated_at")) if t.get("rotated_at") else "-"),
)


def render_secret(trigger: Mapping[str, Any]) -> str:
    return render_fields(
        [("url", trigger["url"]), ("secret", trigger["secret"]), ("id", trigger["id"]), ("task", trigger["task_id"])]
    )


def add(ctx: Ctx) -> int:
    path = f"/v1/tasks/{segment(ctx.args.task_id)}/triggers"
    ctx.show(ctx.client.request("POST", path).body, render_secret)
    return EXIT_OK


def list_triggers(ctx: Ctx) -> int:
    page = ctx.client.get(f"/v1/tasks/{segment(ctx.args.task_id)}/triggers")
    ctx.show_page({**page, "next_cursor": None}, TRIGGER_COLUMNS, "triggers")
    return EXIT_OK


def rotate(ctx: Ctx) -> int:
    path = f"/v1/triggers/{segment(ctx.args.trigger_id)}/rotate"
    ctx.show(ctx.client.request("POST", path).body, render_secret)
    return EXIT_OK


def delete(ctx: Ctx) -> int:
    ctx.client.request("DELETE", f"/v1/triggers/{segment(ctx.args.trigger_id)}")
    if not ctx.quiet and not ctx.json:
        echo(f"deleted {ctx.args.trigger_id}")
    return EXIT_OK


group(
    "triggers",
    "a task's inbound webhooks: a signed POST to the URL starts a run ({{event}} in the prompt)",
    (
        Action("add", add, "add a webhook trigger to a task; prints its URL and secret (once)", positional="task_id"),
        Action("list", list_triggers, "list a task's triggers", positional="task_id"),
        Action(
            "rotate", rotate, "give a trigger a new secret (the old one stops working now)", positional="trigger_id"
        ),
        Action("delete", delete, "delete a trigger", positional="trigger_id"),
    ),
)
