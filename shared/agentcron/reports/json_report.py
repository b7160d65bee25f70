"""The JSON report: the structured result (a task with output_schema) or the output,
with the run's details."""

from __future__ import annotations

import json
from typing import Any

from agentcron.reports.content import ReportContent


def render_json(content: ReportContent) -> dict[str, Any]:
    document: dict[str, Any] = {
        "title": content.title,
        "task_id": content.task_id,
        "run_id": content.run_id,
        "status": content.status,
        "scheduled_for": content.scheduled_for.isoformat(),
        "finished_at": content.finished_at.isoformat() if content.finished_at else None,
        "model": content.model,
        "usage": content.usage.model_dump() if content.usage else None,
        "cost_estimate_usd": content.cost_usd,
        "cost_note": content.cost_note,
        "error": content.error.model_dump() if content.error else None,
    }
    if content.structured:
        document["result"] = content.result
    else:
        document["output"] = content.output
    return document


def json_bytes(content: ReportContent) -> bytes:
    return json.dumps(render_json(content), indent=2, ensure_ascii=False).encode()
