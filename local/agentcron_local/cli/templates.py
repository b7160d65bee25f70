"""``agentcron templates``: the ready-made tasks ``tasks create --template ID`` starts from."""

from __future__ import annotations

from agentcron_local.cli.context import Ctx
from agentcron_local.cli.output import echo
from agentcron_local.cli.registry import Action, group
from agentcron_local.client import EXIT_OK


def templates_list(ctx: Ctx) -> int:
    templates = ctx.client.get("/v1/templates")
    if ctx.json:
        ctx.emit(templates)
        return EXIT_OK
    for template in templates["items"]:
        echo(template["id"] if ctx.quiet else f"{template['id']:<24} {template['summary']}")
    return EXIT_OK


group(
    "templates",
    "ready-made tasks: agentcron tasks create --template ID [flags that override it]",
    (Action("list", templates_list, "list the templates"),),
)
