"""Identifiers. Task ids are ULIDs, so sorting by id sorts by creation time
(newest-first listings need no extra index attribute). Run ids embed their task
and scheduled instant, so a claim of the same occurrence always yields the same
id and a conditional put makes it exactly-once."""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TASK_ID_RE = re.compile(r"^task_[0-9A-HJKMNP-TV-Z]{26}$")
CONVERSATION_ID_RE = re.compile(r"^conv_[0-9A-HJKMNP-TV-Z]{26}$")
MESSAGE_ID_RE = re.compile(r"^msg_[0-9A-HJKMNP-TV-Z]{26}$")
API_KEY_ID_RE = re.compile(r"^key_[0-9A-HJKMNP-TV-Z]{26}$")
CONNECTOR_ID_RE = re.compile(r"^conn_[0-9A-HJKMNP-TV-Z]{26}$")
TRIGGER_ID_RE = re.compile(r"^trg_(?P<task>[0-9A-HJKMNP-TV-Z]{26})(?P<suffix>[0-9a-z]{10})$")
RUN_ID_RE = re.compile(r"^run_(?P<task>[0-9A-HJKMNP-TV-Z]{26})_(?P<epoch>\d{10})(?P<suffix>[0-9a-z]{0,12})$")


def _ulid(now_ms: int | None = None) -> str:
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 0x1F])
        value >>= 5
    return "".join(reversed(chars))


def new_task_id(now_ms: int | None = None) -> str:
    return f"task_{_ulid(now_ms)}"


def scheduled_run_id(task_id: str, scheduled_epoch: int) -> str:
    """The one id of a task's occurrence: claiming it twice names the same item."""
    return f"run_{task_id.removeprefix('task_')}_{scheduled_epoch:010d}"


def manual_run_id(task_id: str, requested_epoch: int) -> str:
    """Manual runs get a random suffix so two in the same second stay distinct
    (a retried request is matched through its Idempotency-Key record instead)."""
    return f"{scheduled_run_id(task_id, requested_epoch)}m{_ulid()[-8:].lower()}"


def chained_run_id(task_id: str, parent_run_id: str) -> str:
    """The one run of `task_id` that `parent_run_id`'s end starts (agentcron.chains): derived
    from the parent's id, so however often the parent's end is handled it names one item.
    The epoch part is the parent's (its occurrence), the suffix a hash of the whole parent id."""
    match = RUN_ID_RE.match(parent_run_id)
    epoch = int(match["epoch"]) if match else 0
    digest = hashlib.sha256(parent_run_id.encode()).digest()
    suffix = "".join(_CROCKFORD[byte % 32] for byte in digest[:11]).lower()
    return f"{scheduled_run_id(task_id, epoch)}c{suffix}"


def new_trigger_id(task_id: str) -> str:
    """A webhook trigger's id: its task's ULID (so the public route finds the item without an
    index) and 50 random bits (so ids cannot be guessed from the task's)."""
    suffix = "".join(_CROCKFORD[byte % 32] for byte in os.urandom(10)).lower()
    return f"trg_{task_id.removeprefix('task_')}{suffix}"


def task_id_of_trigger(trigger_id: str) -> str | None:
    match = TRIGGER_ID_RE.match(trigger_id)
    return f"task_{match['task']}" if match else None


def webhook_run_id(task_id: str, trigger_id: str, message_id: str, timestamp: int) -> str:
    """The one run a delivery starts: the trigger and the sender's `webhook-id` (the same on
    every retry of one event, per Standard Webhooks) name it, so a redelivery starts nothing."""
    digest = hashlib.sha256(f"{trigger_id}\n{message_id}".encode()).digest()
    suffix = "".join(_CROCKFORD[byte % 32] for byte in digest[:11]).lower()
    return f"{scheduled_run_id(task_id, timestamp)}w{suffix}"


def task_id_of_run(run_id: str) -> str | None:
    """The task a run id belongs to, or None when the id is not one of ours."""
    match = RUN_ID_RE.match(run_id)
    return f"task_{match['task']}" if match else None


def new_conversation_id(now_ms: int | None = None) -> str:
    return f"conv_{_ulid(now_ms)}"


def chat_task_id(conversation_id: str) -> str:
    """The conversation's own hidden task (its runs are the chat turns): the same ULID,
    so each names the other without a lookup."""
    return f"task_{conversation_id.removeprefix('conv_')}"


class _MessageClock:
    """Message ids sort in posting order: a ULID's random part would misorder two
    messages of the same millisecond (an action and the answer after it), so within
    one process each id is at least one millisecond after the last."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = 0

    def next_ms(self) -> int:
        with self._lock:
            self._last_ms = max(int(time.time() * 1000), self._last_ms + 1)
            return self._last_ms


_MESSAGE_CLOCK = _MessageClock()


def new_message_id() -> str:
    return f"msg_{_ulid(_MESSAGE_CLOCK.next_ms())}"


def new_api_key_id() -> str:
    return f"key_{_ulid()}"


def new_connector_id(now_ms: int | None = None) -> str:
    return f"conn_{_ulid(now_ms)}"


def new_history_id() -> str:
    """A task's history entries sort in the order they were written (the message clock's
    rule: two entries of the same millisecond in one process keep their order)."""
    return f"hist_{_ulid(_MESSAGE_CLOCK.next_ms())}"
