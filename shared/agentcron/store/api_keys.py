"""API keys, found by the SHA-256 of the key (the only form stored).

Contract: a key item is put only if its hash is new. Revoking is one conditional
UpdateItem holding that the key is the caller's and not yet revoked; it marks the item
and gives it the table's TTL, so a revoked key is listed for a while and then goes.
Another owner's key id is NotFound. The id is found through the owner's ByOwner
partition (an index read, eventually consistent: a key revoked the moment it is made
may need a second try)."""

from __future__ import annotations

from datetime import datetime, timedelta

from boto3.dynamodb.conditions import Key

from agentcron.api_keys.models import ApiKey
from agentcron.errors import NotFound
from agentcron.store.base import StoreBase
from agentcron.store.dynamo import plain, translated
from agentcron.store.keys import BY_OWNER_INDEX
from agentcron.store.paging import Page, owner_page


def api_key_key(digest: str) -> dict[str, str]:
    return {"PK": f"APIKEY#{digest}", "SK": "APIKEY"}


class ApiKeyStore(StoreBase):
    @translated
    def put_api_key(self, key: ApiKey) -> None:
        item = key.model_dump(mode="json", exclude_none=True)
        item.update(api_key_key(key.key_hash))
        item["GSI1PK"], item["GSI1SK"] = f"OWNER#{key.owner}#KEYS", key.id
        self.table.put_item(Item=item, ConditionExpression="attribute_not_exists(PK)")

    @translated
    def get_api_key(self, digest: str) -> ApiKey | None:
        item = self._get(api_key_key(digest))
        return None if item is None else ApiKey.model_validate(item)

    @translated
    def touch_api_key(self, digest: str, now: datetime) -> None:
        self._update_if(
            Key=api_key_key(digest),
            UpdateExpression="SET last_used_at = :now",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeValues={":now": now.isoformat()},
        )

    @translated
    def list_api_keys(self, owner: str, *, limit: int, cursor: str | None) -> Page[ApiKey]:
        partition = f"OWNER#{owner}#KEYS"
        return owner_page(self.table, partition, Key("GSI1PK").eq(partition), limit, cursor, [], ApiKey.model_validate)

    @translated
    def revoke_api_key(self, owner: str, key_id: str, now: datetime, *, keep_for: timedelta) -> None:
        found = self.table.query(
            IndexName=BY_OWNER_INDEX,
            KeyConditionExpression=Key("GSI1PK").eq(f"OWNER#{owner}#KEYS") & Key("GSI1SK").eq(key_id),
        ).get("Items", [])
        if not found:
            raise NotFound(f"API key {key_id} not found")
        key = ApiKey.model_validate(plain(found[0]))
        revoked = self._update_if(
            Key=api_key_key(key.key_hash),
            UpdateExpression="SET revoked_at = :now, expires_at = :gone",
            ConditionExpression="#owner = :owner AND attribute_not_exists(revoked_at)",
            ExpressionAttributeNames={"#owner": "owner"},
            ExpressionAttributeValues={
                ":now": now.isoformat(),
                ":gone": int((now + keep_for).timestamp()),
                ":owner": owner,
            },
        )
        if not revoked and self.get_api_key(key.key_hash) is None:
            raise NotFound(f"API key {key_id} not found")
