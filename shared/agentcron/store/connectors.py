"""Connectors: an owner's MCP servers, one item each (``PK = CONN#<id>``, ``SK = CONN``),
listed through the ByOwner index (``GSI1PK = OWNER#<owner>#CONNS``, newest first by id).

Contract: a create puts the item only if its key is free. An update is one
conditional UpdateItem holding that the connector exists, is the caller's and
(when given) is at the expected version; it bumps ``version``. A delete is a
conditional DeleteItem on the owner. What a test listed is kept on the item
(``record_connector_tools``) without bumping ``version``. A failed condition changes nothing and
raises NotFound (absent or another owner's) or PreconditionFailed. The item
holds the secret only sealed (KMS ciphertext); reads never write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from agentcron.connectors.models import Connector, ToolSummary
from agentcron.errors import NotFound, PreconditionFailed
from agentcron.store.base import StoreBase
from agentcron.store.dynamo import _ConditionFailed, is_condition_failure, translated
from agentcron.store.paging import Page, owner_page


def connector_key(connector_id: str) -> dict[str, str]:
    return {"PK": f"CONN#{connector_id}", "SK": "CONN"}


def connectors_partition(owner: str) -> str:
    return f"OWNER#{owner}#CONNS"


class ConnectorStore(StoreBase):
    def connector_item(self, connector: Connector) -> dict[str, Any]:
        item: dict[str, Any] = connector.model_dump(mode="json", exclude_none=True)
        item.update(connector_key(connector.id))
        item["GSI1PK"] = connectors_partition(connector.owner)
        item["GSI1SK"] = connector.id
        return item

    @translated
    def create_connector(self, connector: Connector) -> None:
        self.table.put_item(Item=self.connector_item(connector), ConditionExpression="attribute_not_exists(PK)")

    @translated
    def get_connector(self, owner: str, connector_id: str) -> Connector:
        item = self._get(connector_key(connector_id))
        if item is None or item.get("owner") != owner:
            raise NotFound(f"connector {connector_id} not found")
        return Connector.model_validate(item)

    @translated
    def list_connectors(self, owner: str, *, limit: int, cursor: str | None = None) -> Page[Connector]:
        partition = connectors_partition(owner)
        return owner_page(
            self.table, partition, Key("GSI1PK").eq(partition), limit, cursor, [], Connector.model_validate
        )

    @translated
    def update_connector(
        self,
        owner: str,
        connector_id: str,
        changes: Mapping[str, Any],
        *,
        expected_version: int | None,
        now: datetime,
    ) -> Connector:
        """Set (or, for None, remove) the given attributes in one conditional UpdateItem."""
        names: dict[str, str] = {"#owner": "owner", "#version": "version", "#updated": "updated_at"}
        values: dict[str, Any] = {":owner": owner, ":one": 1, ":updated": now.isoformat()}
        sets = ["#version = #version + :one", "#updated = :updated"]
        removes: list[str] = []
        for index, (name, value) in enumerate(changes.items()):
            names[f"#f{index}"] = name
            if value is None:
                removes.append(f"#f{index}")
            else:
                values[f":v{index}"] = value
                sets.append(f"#f{index} = :v{index}")
        condition = "attribute_exists(PK) AND #owner = :owner"
        if expected_version is not None:
            values[":expected"] = expected_version
            condition += " AND #version = :expected"
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        try:
            item = self._update(connector_key(connector_id), expression, condition, names, values)
        except _ConditionFailed as failed:
            old = failed.old
            if old is None or old.get("owner") != owner:
                raise NotFound(f"connector {connector_id} not found") from None
            raise PreconditionFailed(
                f"connector {connector_id} is at version {old.get('version')}, not {expected_version}; "
                "GET it again and retry"
            ) from None
        return Connector.model_validate(item)

    @translated
    def record_connector_tools(
        self, owner: str, connector_id: str, tools: Sequence[ToolSummary], checked_at: datetime
    ) -> bool:
        """Keep what a test listed, without a new version (the connector itself did not change,
        and a client's If-Match must not go stale for it); False when it was deleted meanwhile."""
        try:
            self.table.update_item(
                Key=connector_key(connector_id),
                UpdateExpression="SET #tools = :tools, #checked = :checked",
                ConditionExpression="attribute_exists(PK) AND #owner = :owner",
                ExpressionAttributeNames={"#tools": "tools", "#checked": "tools_checked_at", "#owner": "owner"},
                ExpressionAttributeValues={
                    ":tools": [tool.model_dump(mode="json", exclude_none=True) for tool in tools],
                    ":checked": checked_at.isoformat(),
                    ":owner": owner,
                },
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    @translated
    def delete_connector(self, owner: str, connector_id: str) -> None:
        try:
            self.table.delete_item(
                Key=connector_key(connector_id),
                ConditionExpression="attribute_exists(PK) AND #owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":owner": owner},
            )
        except ClientError as error:
            if is_condition_failure(error):
                raise NotFound(f"connector {connector_id} not found") from None
            raise
