"""Settings read from the function's environment (the template sets them; the
local stack sets the same names). Read once per container; a bad value stops
the container at its first use with a message that names the variable."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

_SWITCH_VALUES = {
    **dict.fromkeys(("on", "true", "yes", "1"), True),
    **dict.fromkeys(("off", "false", "no", "0"), False),
}


class InvalidSetting(ValueError):
    """An environment variable holds a value the functions cannot use."""


def _switch(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return _SWITCH_VALUES[raw.lower()]
    except KeyError:
        raise InvalidSetting(f"{name}={raw!r} is not a switch: use on or off (or true/false, yes/no, 1/0)") from None


def _positive_int(env: Mapping[str, str], name: str, *, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidSetting(f"{name}={raw!r} is not a whole number") from None
    if value < 1:
        raise InvalidSetting(f"{name}={raw!r} must be at least 1")
    return value


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
    # Claim what falls due before the next tick now, and let SQS hold it until its second.
    # Off: claim only what is due already (a plain cron poller; runs start up to a tick late).
    dispatch_lookahead: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        return cls(
            table_name=env["TABLE_NAME"],
            run_queue_url=env.get("RUN_QUEUE_URL", ""),
            artifacts_bucket=env.get("ARTIFACTS_BUCKET", ""),
            event_bus_name=env.get("EVENT_BUS_NAME", ""),
            due_shards=_positive_int(env, "DUE_SHARDS", default=4),
            tick_seconds=_positive_int(env, "TICK_SECONDS", default=300),
            retry_base_seconds=float(env.get("RETRY_BASE_SECONDS", "10")),
            dispatch_lookahead=_switch(env, "DISPATCH_LOOKAHEAD", default=True),
        )


@cache
def settings() -> Settings:
    return Settings.from_env()
