"""The connector operations every way in shares (the API's routes; later the CLI and chat tools).

The owner check is the store's (another owner's connector is NotFound). The
secret is sealed here, before it is stored, and never leaves this module in
clear; a test of a connector is asked of the runner (``ConnectorProber``),
the one function that may open the secret and that ships the MCP SDK.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from agentcron.clock import utcnow
from agentcron.connectors.models import (
    Connector,
    ConnectorCreate,
    ConnectorPatch,
    ConnectorTestResult,
    ToolSummary,
    secret_of,
)
from agentcron.connectors.sealing import SecretSealer
from agentcron.errors import Conflict, InvalidRequest
from agentcron.ids import new_connector_id
from agentcron.store.connectors import ConnectorStore
from agentcron.store.paging import Page

# What a direct invocation of the runner carries to test a connector.
PROBE_EVENT_KEY = "connector_probe"
# An owner's connectors are few; a name clash is checked against this many.
MAX_CONNECTORS_PER_OWNER = 100
# A connector's item keeps its tools' descriptions this long (128 tools must fit an item).
CACHED_DESCRIPTION_CHARS = 300


class ConnectorProber(Protocol):
    def __call__(self, owner: str, connector_id: str) -> ConnectorTestResult: ...


class NotConfigured(InvalidRequest):
    """The deployment has no connectors' key or runner to test with (a setting is missing)."""


class RunnerProber:
    """Tests a connector by invoking the runner function (it alone may open the secret)."""

    def __init__(self, lambda_client: Any, function_name: str) -> None:
        self._lambda = lambda_client
        self._function = function_name

    def __call__(self, owner: str, connector_id: str) -> ConnectorTestResult:
        payload = json.dumps({PROBE_EVENT_KEY: {"owner": owner, "connector_id": connector_id}})
        try:
            response = self._lambda.invoke(
                FunctionName=self._function, InvocationType="RequestResponse", Payload=payload
            )
            body = response["Payload"].read()
        except (BotoCoreError, ClientError) as error:
            detail = f"the runner could not be asked to test the connector ({type(error).__name__}); try again"
            return ConnectorTestResult(ok=False, reason="error", detail=detail)
        if response.get("FunctionError"):
            return ConnectorTestResult(ok=False, reason="error", detail="the connector test failed to run; try again")
        return ConnectorTestResult.model_validate_json(body)


class ConnectorService:
    def __init__(
        self,
        store: ConnectorStore,
        sealer: SecretSealer | None,
        prober: ConnectorProber | None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.sealer = sealer
        self.prober = prober
        self.clock = clock

    def _sealed(self, owner: str, connector_id: str, secret: str | None) -> str | None:
        if secret is None:
            return None
        if self.sealer is None:
            raise NotConfigured("connector secrets cannot be stored here: the connectors' KMS key is not set up")
        return self.sealer.seal(owner, connector_id, secret)

    def _refuse_name_clash(self, owner: str, name: str, connector_id: str | None = None) -> None:
        page = self.store.list_connectors(owner, limit=MAX_CONNECTORS_PER_OWNER)
        if any(c.name == name and c.id != connector_id for c in page.items):
            raise Conflict(f"you already have a connector named {name}; its tools would share names")

    def create_connector(self, owner: str, body: ConnectorCreate) -> Connector:
        self._refuse_name_clash(owner, body.name)
        now = self.clock()
        connector_id = new_connector_id()
        connector = Connector(
            id=connector_id,
            owner=owner,
            name=body.name,
            url=str(body.url),
            transport=body.transport,
            auth_type=body.auth.type,
            header_name=getattr(body.auth, "name", None),
            sealed_secret=self._sealed(owner, connector_id, secret_of(body.auth)),
            created_at=now,
            updated_at=now,
        )
        self.store.create_connector(connector)
        return connector

    def list_connectors(self, owner: str, *, limit: int, cursor: str | None) -> Page[Connector]:
        return self.store.list_connectors(owner, limit=limit, cursor=cursor)

    def get_connector(self, owner: str, connector_id: str) -> Connector:
        return self.store.get_connector(owner, connector_id)

    def update_connector(
        self, owner: str, connector_id: str, patch: ConnectorPatch, expected_version: int | None
    ) -> Connector:
        current = self.store.get_connector(owner, connector_id)  # NotFound before anything is sealed
        changes: dict[str, Any] = {}
        if patch.name is not None and patch.name != current.name:
            self._refuse_name_clash(owner, patch.name, connector_id)
            changes["name"] = patch.name
        if patch.url is not None:
            changes["url"] = str(patch.url)
        if patch.transport is not None:
            changes["transport"] = patch.transport
        if patch.auth is not None:
            changes["auth_type"] = patch.auth.type
            changes["header_name"] = getattr(patch.auth, "name", None)
            changes["sealed_secret"] = self._sealed(owner, connector_id, secret_of(patch.auth))
        return self.store.update_connector(
            owner, connector_id, changes, expected_version=expected_version, now=self.clock()
        )

    def delete_connector(self, owner: str, connector_id: str) -> None:
        self.store.delete_connector(owner, connector_id)

    def test_connector(self, owner: str, connector_id: str) -> ConnectorTestResult:
        self.store.get_connector(owner, connector_id)  # another owner's: NotFound, and nothing is invoked
        if self.prober is None:
            raise NotConfigured("connectors cannot be tested here: the runner function is not set up")
        result = self.prober(owner, connector_id)
        if result.ok:
            cached = [tool.model_copy(update={"description": _first_part(tool.description)}) for tool in result.tools]
            self.store.record_connector_tools(owner, connector_id, cached, self.clock())
        return result

    def offered_connector_tools(self, owner: str) -> list[tuple[Connector, ToolSummary]]:
        """Every tool the owner's connectors listed when last tested, by connector."""
        page = self.store.list_connectors(owner, limit=MAX_CONNECTORS_PER_OWNER)
        return [(connector, tool) for connector in page.items for tool in connector.tools or []]


def _first_part(description: str | None) -> str | None:
    # The listing is a reminder of what a tool does; the run gets the server's whole description.
    if description is None:
        return None
    return description if len(description) <= CACHED_DESCRIPTION_CHARS else description[:CACHED_DESCRIPTION_CHARS] + "…"
