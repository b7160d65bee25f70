"""Chains: a task's `on_success` / `on_failure` name the owner's tasks to run next, with
variables mapped from the finished run (`{{run.output}}`, `{{run.result.field}}`,
`{{run.id}}`, `{{run.status}}`).

The domain half (no I/O): the links, what a child run is, and the cycle check. How the
runner uses it (agentcron.execution): a child run is written in the same transaction
as its parent's outcome, with an id derived from the parent run's, so a redelivered
message never starts it twice and a crash never loses it (a QUEUED run the queue
never got is re-sent by recovery). Chains are bounded: a run `MAX_CHAIN_DEPTH` links
from the run that started the chain starts no child (its `reason` says so), and a
write that would close a cycle is refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Final

from agentcron.ids import chained_run_id
from agentcron.models import MAX_CHAIN_DEPTH, MAX_VARIABLE_VALUE_CHARS, ChainLink, Run, RunStatus, Task, Trigger
from agentcron.structured_results import text_at

_RUN_FIELD: Final = re.compile(r"\{\{\s*run\.([a-z_][a-z0-9_]*(?:\.[A-Za-z0-9_-]+)*)\s*\}\}")


def links_after(task: Task, status: RunStatus) -> list[ChainLink]:
    if status == RunStatus.SUCCEEDED:
        return task.on_success
    if status in (RunStatus.FAILED, RunStatus.TIMED_OUT):
        return task.on_failure
    return []


def render_link(template: str, parent: Run) -> str:
    """A link variable with the finished run's fields in it (a field it lacks is empty)."""

    fields = {
        "output": parent.output,
        "result": parent.result,
        "id": parent.id,
        "status": parent.status.value,
        "task_id": parent.task_id,
    }

    def field(match: re.Match[str]) -> str:
        return text_at(fields, match[1].split("."))

    return _RUN_FIELD.sub(field, template)[:MAX_VARIABLE_VALUE_CHARS]


def child_runs(task: Task, parent: Run, now: datetime) -> tuple[list[Run], str | None]:
    """The runs `parent` (just ended, as stored) starts, and why it starts none it could."""
    links = links_after(task, parent.status)
    if not links:
        return [], None
    if parent.chain_depth >= MAX_CHAIN_DEPTH:
        return [], f"chain not continued: {MAX_CHAIN_DEPTH} links deep already"
    children = [
        Run(
            id=chained_run_id(link.task, parent.id),
            task_id=link.task,
            owner=parent.owner,
            status=RunStatus.QUEUED,
            trigger=Trigger.CHAIN,
            scheduled_for=now,
            created_at=now,
            variables={name: render_link(value, parent) for name, value in link.variables.items()},
            parent_run_id=parent.id,
            chain_depth=parent.chain_depth + 1,
        )
        for link in links
    ]
    return children, None


def chain_cycle(task_id: str, links: Sequence[ChainLink], next_links: Callable[[str], list[str]]) -> list[str] | None:
    """The path back to `task_id` if following `links` (and each linked task's own links,
    read through `next_links`) reaches it; None when the chain ends."""
    stack = [(link.task, [task_id, link.task]) for link in links]
    seen: set[str] = set()
    while stack:
        current, path = stack.pop()
        if current == task_id:
            return path
        if current in seen:
            continue
        seen.add(current)
        stack += [(child, [*path, child]) for child in next_links(current)]
    return None
