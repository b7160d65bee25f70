"""Connectors: an owner's remote MCP servers, their sealed secrets, and the runner's MCP client.

``models`` and ``sealing`` are what the API needs (no MCP SDK). The client,
``agentcron.connectors.session`` (``ConnectorSession``), imports the ``mcp``
SDK and is imported only by the runner: the API and dispatcher never pay
for it.
"""

from agentcron.connectors.models import (
    Auth,
    BearerAuth,
    Connector,
    ConnectorCreate,
    ConnectorPatch,
    ConnectorTestResult,
    HeaderAuth,
    NoAuth,
    ToolSummary,
    Transport,
    secret_of,
)
from agentcron.connectors.sealing import SealingError, SecretOpener, SecretSealer, encryption_context
from agentcron.ids import CONNECTOR_ID_RE

__all__ = [
    "CONNECTOR_ID_RE",
    "Auth",
    "BearerAuth",
    "Connector",
    "ConnectorCreate",
    "ConnectorPatch",
    "ConnectorTestResult",
    "HeaderAuth",
    "NoAuth",
    "SealingError",
    "SecretOpener",
    "SecretSealer",
    "ToolSummary",
    "Transport",
    "encryption_context",
    "secret_of",
]
