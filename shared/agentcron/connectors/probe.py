"""The runner's side of POST /v1/connectors/{id}/test: open the secret, connect, list the tools.

Runner only: it opens the secret (kms:Decrypt) and imports the MCP SDK.
"""

from __future__ import annotations

from typing import Any

from agentcron.connectors.errors import ConnectorError
from agentcron.connectors.models import ConnectorTestResult, ToolSummary
from agentcron.connectors.sealing import SealingError, SecretOpener
from agentcron.connectors.session import endpoint_of, probe
from agentcron.errors import NotFound
from agentcron.store.connectors import ConnectorStore


def run_connector_test(
    store: ConnectorStore, opener: SecretOpener, owner: str, connector_id: str, **session_options: Any
) -> ConnectorTestResult:
    try:
        connector = store.get_connector(owner, connector_id)
    except NotFound as missing:
        return ConnectorTestResult(ok=False, reason="error", detail=missing.detail)
    try:
        secret = None if connector.sealed_secret is None else opener.open(owner, connector_id, connector.sealed_secret)
    except SealingError as error:
        return ConnectorTestResult(ok=False, reason="error", detail=f"{error}; set the connector's auth again")
    try:
        tools = probe(endpoint_of(connector, secret), **session_options)
    except ConnectorError as error:
        return ConnectorTestResult(ok=False, reason=error.reason, detail=error.detail)
    return ConnectorTestResult(
        ok=True,
        tools=[ToolSummary(name=t.tool, offered_as=t.name, description=t.description) for t in tools],
    )
