"""Create requests remembered under an Idempotency-Key, in the resource's own transaction.

Contract: the resource is put only if it does not exist; with a key, its record is put
in the same transaction only if no unexpired record holds the key. When the record's
condition fails, nothing is written and the earlier request is replayed: the same
body answers the earlier resource's id, another body is IdempotencyKeyReused.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from agentcron.errors import IdempotencyKeyReused
from agentcron.store.base import StoreBase
from agentcron.store.keys import idempotency_key

IDEMPOTENCY_TTL_SECONDS: Final = 24 * 3600


@dataclass(frozen=True)
class IdempotencyClaim:
    """What a create/run-now request asks to be remembered under its key."""

    owner: str
    key: str
    request_hash: str
    resource_id: str

    @classmethod
    def for_request(
        cls, owner: str, key: str | None, operation: str, payload: Mapping[str, Any], resource_id: str
    ) -> IdempotencyClaim | None:
        """The claim of a request under its key (None without one): the same operation
        and payload hash alike, so only a true replay matches."""
        if key is None:
            return None
        return cls(owner, key, request_hash({"operation": operation, "payload": payload}), resource_id)

    def binding(self, resource_id: str) -> IdempotencyClaim:
        """This claim for the resource the request creates, once its id is known."""
        return IdempotencyClaim(self.owner, self.key, self.request_hash, resource_id)


def request_hash(payload: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _now_epoch() -> int:
    return int(time.time())


class IdempotentWrites(StoreBase):
    def _write_with_idempotency(
        self, writes: dict[str, Any] | list[dict[str, Any]], idempotency: IdempotencyClaim | None, resource_id: str
    ) -> str:
        """Write the items (transaction entries, the first the resource itself) all or
        none, with the key's record when there is one."""
        entries = [writes] if isinstance(writes, dict) else list(writes)
        if idempotency is None and len(entries) == 1 and "Put" in entries[0]:
            self._client.put_item(**entries[0]["Put"])
            return resource_id
        if idempotency is not None:
            record = {
                **idempotency_key(idempotency.owner, idempotency.key),
                "request_hash": idempotency.request_hash,
                "resource_id": resource_id,
                "expires_at": _now_epoch() + IDEMPOTENCY_TTL_SECONDS,
            }
            entries.append(
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": record,
                        # An expired record (TTL deletes lazily) no longer binds the key.
                        "ConditionExpression": "attribute_not_exists(PK) OR expires_at < :now",
                        "ExpressionAttributeValues": {":now": _now_epoch()},
                    }
                }
            )
        try:
            self._client.transact_write_items(TransactItems=entries)  # type: ignore[arg-type]
        except self._client.exceptions.TransactionCanceledException as error:
            reasons = error.response.get("CancellationReasons", [])
            codes = [reason.get("Code") for reason in reasons]
            if idempotency is not None and len(codes) == len(entries) and codes[-1] == "ConditionalCheckFailed":
                return self._replay(idempotency)
            raise
        return resource_id

    def remembered_resource(self, claim: IdempotencyClaim) -> str | None:
        """The resource an earlier request under this key created (None if none did,
        or its record expired); IdempotencyKeyReused when that request was another."""
        item = self._get(idempotency_key(claim.owner, claim.key))
        if item is None or int(item.get("expires_at", 0)) < _now_epoch():
            return None
        return self._replay(claim)

    def _replay(self, claim: IdempotencyClaim) -> str:
        item = self._get(idempotency_key(claim.owner, claim.key))
        if item is None:  # expired between the write and this read: treat as a conflict to retry
            raise IdempotencyKeyReused("Idempotency-Key is being reused concurrently; retry the request")
        if item.get("request_hash") != claim.request_hash:
            raise IdempotencyKeyReused("Idempotency-Key was already used with a different request; use a new key")
        return str(item["resource_id"])
