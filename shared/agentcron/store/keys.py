"""Key layout and cursors (docs/architecture.md): a task and its runs, memory and history share
the partition ``TASK#<id>``, a conversation and its messages ``CONV#<id>``; the ``ByOwner``
index lists an owner's tasks, runs and conversations newest first; the sparse ``Due``
and ``Active`` indexes are sharded by task.

No writes here. A cursor is decoded only after it is proven to belong to the very
listing it is presented to: anything else is a BadRequest (400), never a 500 and
never a way into someone else's partition.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Final

from agentcron.errors import BadRequest

BY_OWNER_INDEX: Final = "ByOwner"
DUE_INDEX: Final = "Due"
ACTIVE_INDEX: Final = "Active"
# How long a QUEUED run may wait past its scheduled time before recovery looks at it.
QUEUED_GRACE_SECONDS: Final = 120
# How long a task's history is kept unless the template says otherwise (HistoryRetentionDays).
HISTORY_RETENTION_DAYS: Final = 365


def shard_of(task_id: str, shards: int) -> str:
    digest = hashlib.sha256(task_id.encode()).digest()
    return str(int.from_bytes(digest[:4], "big") % shards)


def epoch(value: datetime) -> int:
    return int(value.timestamp())


def task_key(task_id: str) -> dict[str, str]:
    return {"PK": f"TASK#{task_id}", "SK": "TASK"}


def run_key(task_id: str, run_id: str) -> dict[str, str]:
    return {"PK": f"TASK#{task_id}", "SK": f"RUN#{run_id}"}


def history_key(task_id: str, entry_id: str) -> dict[str, str]:
    return {"PK": f"TASK#{task_id}", "SK": f"HIST#{entry_id}"}


def memory_key(task_id: str, key: str) -> dict[str, str]:
    return {"PK": f"TASK#{task_id}", "SK": f"MEM#{key}"}


def conversation_key(conversation_id: str) -> dict[str, str]:
    return {"PK": f"CONV#{conversation_id}", "SK": "CONV"}


def message_key(conversation_id: str, message_id: str) -> dict[str, str]:
    return {"PK": f"CONV#{conversation_id}", "SK": f"MSG#{message_id}"}


def idempotency_key(owner: str, key: str) -> dict[str, str]:
    # The owner's length first: owner and key may both contain "#", and "a#b"+"c" must not
    # meet "a"+"b#c" (another owner's record).
    return {"PK": f"IDEM#{len(owner)}#{owner}#{key}", "SK": "IDEM"}


def encode_cursor(keys: Mapping[str, Any]) -> str:
    raw = json.dumps({k: str(v) for k, v in keys.items()}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(
    cursor: str,
    expected: Mapping[str, str],
    key_names: Iterable[str],
    within: Callable[[Mapping[str, str]], bool] | None = None,
) -> dict[str, str]:
    """Decode a cursor and prove it belongs to this very listing: a cursor
    forged or copied from another owner's listing is a 400, never a 500 and
    never a way into someone else's partition."""
    invalid = BadRequest("cursor is not valid for this listing; start again without it")
    if len(cursor) > 2048:
        raise invalid
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise invalid from exc
    names = set(key_names)
    if (
        not isinstance(decoded, dict)
        or set(decoded) != names
        or not all(isinstance(v, str) and 0 < len(v) <= 600 for v in decoded.values())
        or any(decoded.get(k) != v for k, v in expected.items())
        # DynamoDB refuses a start key outside the query's key condition (a 500 otherwise).
        or (within is not None and not within(decoded))
    ):
        raise invalid
    return decoded
