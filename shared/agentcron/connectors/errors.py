"""Why a connector could not be used: raised by the runner's MCP client, classified by the
executor (which must not import the MCP SDK to recognise it)."""

from __future__ import annotations

from typing import Literal

Reason = Literal["unreachable", "refused_address", "unauthorized", "not_mcp", "timeout", "error"]


class ConnectorError(Exception):
    """A connector could not be used; ``reason`` says which way, ``detail`` says it for people.

    Every reason but ``refused_address`` may pass (a server down, a network blip,
    a token being rotated): the runner fails the run as retryable."""

    def __init__(self, connector: str, reason: Reason, detail: str) -> None:
        super().__init__(f"connector {connector}: {detail}")
        self.connector = connector
        self.reason: Reason = reason
        self.detail = detail

    @property
    def retryable(self) -> bool:
        return self.reason != "refused_address"


class ConnectorGone(Exception):
    """A task names a connector that no longer exists (deleted after the task was written):
    no retry can fix it; the owner edits the task or registers the connector again."""

    def __init__(self, connector_id: str) -> None:
        super().__init__(
            f"the task names connector {connector_id}, which no longer exists; "
            "remove it from agent.connectors or register it again"
        )
        self.connector_id = connector_id
