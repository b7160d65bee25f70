"""Connected tools (a run's MCP connectors) as the executor and the tool loop see them.

The executor must not import the MCP SDK (the API and dispatcher import it
too), so it speaks to the runner's connector client through these protocols;
``agentcron.connectors.runtime`` is the implementation the runner's root
wires in.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, Protocol

from agentcron.agent import ToolCall, ToolExecutor, ToolResult
from agentcron.models import Task
from agentcron.observability import logger


class ConnectedTools(Protocol):
    """A run's connectors, connected: what to offer the model and how to call it."""

    def definitions(self) -> list[dict[str, Any]]: ...

    def offers(self, name: str) -> bool: ...

    def call(self, name: str, tool_input: Mapping[str, Any]) -> tuple[str, bool]: ...


class ConnectorRuntime(Protocol):
    def connect(self, task: Task, seconds_left: float) -> AbstractContextManager[ConnectedTools]:
        """Connect to the task's connectors for one attempt (closed when the block ends).
        Raises ConnectorError (or ConnectorGone) when one cannot be used."""
        ...


class NoConnectedTools:
    """A run without connectors."""

    def definitions(self) -> list[dict[str, Any]]:
        return []

    def offers(self, name: str) -> bool:
        return False

    def call(self, name: str, tool_input: Mapping[str, Any]) -> tuple[str, bool]:
        return f"no connected tool named {name}", True


NO_CONNECTED_TOOLS = NoConnectedTools()


def no_connectors() -> AbstractContextManager[ConnectedTools]:
    return nullcontext(NO_CONNECTED_TOOLS)


@dataclass
class WithConnectedTools:
    """Runs a connected tool through its connector, any other through the built-in tools.
    Each connected call is logged with its duration (never its input or result)."""

    connected: ConnectedTools
    built_in: ToolExecutor

    def __call__(self, call: ToolCall) -> ToolResult:
        if not self.connected.offers(call.name):
            return self.built_in(call)
        started = time.monotonic()
        text, is_error = self.connected.call(call.name, call.input)
        logger.info(
            "connected tool called",
            extra={
                "tool": call.name,
                "is_error": is_error,
                "duration_ms": int((time.monotonic() - started) * 1000),
            },
        )
        return ToolResult(text, is_error=is_error)
