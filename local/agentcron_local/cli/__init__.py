# PYTHON_ARGCOMPLETE_OK
"""``agentcron``: the developer CLI: the local stack, dev tokens, and a client of the HTTPS API.

By command group, each in its module: ``tasks``, ``runs``, ``schedule``, ``conversations`` (API
groups declared as tables of actions, registry.py; ``conversations`` also has ``chat``) and
``local`` (local, token, invoke, completion), ``apply`` (apply, diff, get: tasks as files, read,
checked and planned in ``task_files``); shared parts: ``context`` (a running API command),
``output`` (documents, tables, colour, spinner, errors), ``views`` (how resources are shown;
``thread``: conversations and their messages), ``values`` (flag values), ``task_fields`` (task
bodies).
Where the API is and which token to send: agentcron_local.endpoint; the HTTP calls:
agentcron_local.client.
"""

from agentcron_local.cli.app import build_parser, main
from agentcron_local.cli.output import Column, render_fields, render_table
from agentcron_local.cli.views import (
    fmt_cost_summary,
    fmt_duration_ms,
    fmt_time,
    fmt_usd,
    render_run,
    render_stats,
    render_task,
    render_transcript,
    schedule_summary,
)

__all__ = [
    "Column",
    "build_parser",
    "fmt_cost_summary",
    "fmt_duration_ms",
    "fmt_time",
    "fmt_usd",
    "main",
    "render_fields",
    "render_run",
    "render_stats",
    "render_table",
    "render_task",
    "render_transcript",
    "schedule_summary",
]
