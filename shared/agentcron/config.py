"""Settings read from the function's environment (the template sets them; the
local stack sets the same names). Read once per container."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class Settings:
    table_name: str
    run_queue_url: str
    artifacts_bucket: str
    event_bus_name: str
    due_shards: int
    tick_seconds: int
    # Base of the runner's exponential backoff for transient model errors.
    retry_base_seconds: float = 10.0

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            table_name=env["TABLE_NAME"],
            run_queue_url=env.get("RUN_QUEUE_URL", ""),
            artifacts_bucket=env.get("ARTIFACTS_BUCKET", ""),
            event_bus_name=env.get("EVENT_BUS_NAME", ""),
            due_shards=int(env.get("DUE_SHARDS", "4")),
            tick_seconds=int(env.get("TICK_SECONDS", "300")),
            retry_base_seconds=float(env.get("RETRY_BASE_SECONDS", "10")),
        )


@cache
def settings() -> Settings:
    return Settings.from_env()
