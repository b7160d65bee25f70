"""What a guarded call raises. ``reason`` is written for whoever asked for the
address (the model reading a tool result, a task's owner): short, specific."""

from __future__ import annotations


class GuardedHTTPError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Refused(GuardedHTTPError):
    """The URL points somewhere outbound calls must not go; nothing was sent there."""


class Failed(GuardedHTTPError):
    """The call was allowed but did not complete: timeout, connection or protocol error."""
