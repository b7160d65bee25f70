"""A run's connectors at run time: the task's grants, their secrets opened, one MCP session.

Runner only (the session imports the MCP SDK). For each attempt the executor
asks ``RunConnectors.connect(task, seconds_left)`` around the agent's tool loop:
every connector the task names is read as its owner's (one deleted since the
task was written is ``ConnectorGone``, a permanent failure), its secret opened
(kms:Decrypt is the runner's alone) and connected through the guarded client;
the session offers the granted tools that the deny list leaves, under
``<connector>__<tool>``. A connector that cannot be reached raises
``ConnectorError`` before the model is asked anything: the run fails
retryably, it never hangs (every wait in the session has a deadline).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from agentcron.connectors.errors import ConnectorError, ConnectorGone
from agentcron.connectors.sealing import SealingError, SecretOpener
from agentcron.connectors.session import (
    DEFAULT_CALL_TIMEOUT_SECONDS,
    DEFAULT_CONNECT_TIMEOUT_SECONDS,
    ConnectorEndpoint,
    ConnectorSession,
    endpoint_of,
)
from agentcron.errors import NotFound
from agentcron.models import Task
from agentcron.store.connectors import ConnectorStore
from agentcron.tools.connected import ConnectedTools

# Connecting may take at most this share of what the run has left (the rest is the agent's).
CONNECT_SHARE = 0.5


@dataclass
class RunConnectors:
    store: ConnectorStore
    opener: SecretOpener
    # ConnectorSession's options (a resolver or TLS context in tests); the address policy
    # defaults to production's, with the local stack's loopback ports when it set them.
    session_options: dict[str, Any] = field(default_factory=dict)

    @contextmanager
    def connect(self, task: Task, seconds_left: float) -> Iterator[ConnectedTools]:
        endpoints = [self._endpoint(task, grant.connector, grant.tools) for grant in task.agent.connectors]
        options = {
            "connect_timeout_seconds": max(1.0, min(DEFAULT_CONNECT_TIMEOUT_SECONDS, seconds_left * CONNECT_SHARE)),
            "call_timeout_seconds": max(1.0, min(DEFAULT_CALL_TIMEOUT_SECONDS, seconds_left)),
            **self.session_options,
        }
        with ConnectorSession(endpoints, denied=task.agent.disallowed_tools, **options) as session:
            yield session

    def _endpoint(self, task: Task, connector_id: str, tools: list[str] | None) -> ConnectorEndpoint:
        try:
            connector = self.store.get_connector(task.owner, connector_id)
        except NotFound:
            raise ConnectorGone(connector_id) from None
        secret = None
        if connector.sealed_secret is not None:
            try:
                secret = self.opener.open(task.owner, connector.id, connector.sealed_secret)
            except SealingError as error:
                raise ConnectorError(connector.name, "error", str(error)) from None
        return endpoint_of(connector, secret, tools)
