"""Run events on the application's EventBridge bus, so users route them with
their own rules (detail-type `Run Succeeded` / `Run Failed` / `Run Waiting For Input`)."""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from agentcron.models import Run, RunStatus
from agentcron.observability import logger

SOURCE = "agentcron"
DETAIL_TYPES = {
    RunStatus.SUCCEEDED: "Run Succeeded",
    RunStatus.FAILED: "Run Failed",
    RunStatus.TIMED_OUT: "Run Failed",
    RunStatus.WAITING_INPUT: "Run Waiting For Input",
}
OUTPUT_CHARS_IN_EVENT = 2000


def event_detail(run: Run) -> dict[str, Any]:
    return {
        "run_id": run.id,
        "task_id": run.task_id,
        "owner": run.owner,
        "status": run.status.value,
        "trigger": run.trigger.value,
        "scheduled_for": run.scheduled_for.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "attempt": run.attempt,
        "output": (run.output or "")[:OUTPUT_CHARS_IN_EVENT] or None,
        "question": run.question,
        "error": run.error.model_dump() if run.error else None,
        "usage": run.usage.model_dump() if run.usage else None,
        "duration_ms": run.duration_ms,
    }


class RunEvents:
    def __init__(self, bus_name: str, client: Any = None) -> None:
        self.bus_name = bus_name
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = boto3.client("events")
        return self._client

    def publish(self, run: Run) -> None:
        detail_type = DETAIL_TYPES.get(run.status)
        if detail_type is None or not self.bus_name:
            return
        try:
            response = self.client.put_events(
                Entries=[
                    {
                        "Source": SOURCE,
                        "DetailType": detail_type,
                        "Detail": json.dumps(event_detail(run)),
                        "EventBusName": self.bus_name,
                        "Resources": [],
                    }
                ]
            )
        except (BotoCoreError, ClientError) as error:
            # The run's state is stored; a lost notification must not fail or repeat the run.
            logger.warning("run event not published", extra={"run_id": run.id, "error": str(error)})
            return
        if response.get("FailedEntryCount"):
            logger.warning("run event rejected", extra={"run_id": run.id, "entries": response.get("Entries")})
