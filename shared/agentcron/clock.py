"""The wall clock every service takes by default (tests inject their own)."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now in UTC, to the second: stored instants and run ids carry whole seconds."""
    return datetime.now(UTC).replace(microsecond=0)
