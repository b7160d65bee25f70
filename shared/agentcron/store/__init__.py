"""The only package that talks to DynamoDB, split by caller behind one facade.

`Store` composes the parts (one boto3 resource and table per instance): tasks,
runs and conversations for the API (tasks.py, runs.py, conversations.py), claims for the dispatcher (claims.py),
execution, month spend and memory for the runner (execution.py, spend.py, memory.py), an owner's connectors
(connectors.py) and API keys (api_keys.py), a task's history written with each change
(history.py), on the item shapes
and conditional-write primitives of base.py. Each module's docstring states its
conditional-write contract; botocore errors leave as StoreUnavailable (dynamo.py).

Every read by id for an owner checks the owner and answers NotFound for someone
else's item, so callers cannot forget isolation. Nothing here uses Scan. Nothing
here imports the service, dispatcher, runner or API.
"""

from __future__ import annotations

from agentcron.store.api_keys import ApiKeyStore
from agentcron.store.claims import ClaimLost, ClaimStore, RunsAlreadyExist
from agentcron.store.connectors import ConnectorStore
from agentcron.store.conversations import ConversationStore
from agentcron.store.dynamo import plain as _plain
from agentcron.store.idempotency import IDEMPOTENCY_TTL_SECONDS, IdempotencyClaim, request_hash
from agentcron.store.keys import (
    ACTIVE_INDEX,
    BY_OWNER_INDEX,
    DUE_INDEX,
    QUEUED_GRACE_SECONDS,
    run_key,
    shard_of,
    task_key,
)
from agentcron.store.memory import MemoryStore
from agentcron.store.paging import Page
from agentcron.store.runs import RunStore
from agentcron.store.spend import SpendStore
from agentcron.store.tasks import KEEP, Keep
from agentcron.store.triggers import TriggerStore

__all__ = [
    "ACTIVE_INDEX",
    "BY_OWNER_INDEX",
    "DUE_INDEX",
    "IDEMPOTENCY_TTL_SECONDS",
    "KEEP",
    "QUEUED_GRACE_SECONDS",
    "ClaimLost",
    "IdempotencyClaim",
    "Keep",
    "Page",
    "RunsAlreadyExist",
    "Store",
    "_plain",
    "request_hash",
    "run_key",
    "shard_of",
    "task_key",
]


class Store(
    RunStore, ClaimStore, SpendStore, TriggerStore, MemoryStore, ConversationStore, ConnectorStore, ApiKeyStore
):
    """Every store operation, for callers not yet moved to their own part."""
