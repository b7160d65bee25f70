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


def request_hash(payload: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _now_epoch() -> int:
    return int(time.time())


class IdempotentWrites(StoreBase):
    def _write_with_idempotency(
        self, put: dict[str, Any], idempotency: IdempotencyClaim | None, resource_id: str
    ) -> str:
        if idempotency is None:
            self._client.put_item(**put["Put"])
            return resource_id
        record = {
            **idempotency_key(idempotency.owner, idempotency.key),
            "request_hash": idempotency.request_hash,
            "resource_id": resource_id,
            "expires_at": _now_epoch() + IDEMPOTENCY_TTL_SECONDS,
        }
        try:
            self._client.transact_write_items(
                TransactItems=[
                    put,  # type: ignore[list-item]
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": record,  # type: ignore[typeddict-item]
                            # An expired record (TTL deletes lazily) no longer binds the key.
                            "ConditionExpression": "attribute_not_exists(PK) OR expires_at < :now",
                            "ExpressionAttributeValues": {":now": _now_epoch()},
                        }
                    },
                ]
            )
        except self._client.exceptions.TransactionCanceledException as error:
            reasons = error.response.get("CancellationReasons", [])
            codes = [reason.get("Code") for reason in reasons]
            if len(codes) == 2 and codes[1] == "ConditionalCheckFailed":
                return self._replay(idempotency)
            raise
        return resource_id

    def _replay(self, claim: IdempotencyClaim) -> str:
        item = self._get(idempotency_key(claim.owner, claim.key))
        if item is None:  # expired between the write and this read: treat as a conflict to retry
            raise IdempotencyKeyReused("Idempotency-Key is being reused concurrently; retry the request")
        if item.get("request_hash") != claim.request_hash:
            raise IdempotencyKeyReused("Idempotency-Key was already used with a different request; use a new key")
        return str(item["resource_id"])
