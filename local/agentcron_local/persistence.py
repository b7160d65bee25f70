"""Durability for the local stack: moto keeps nothing on disk, so the table's
items and the bucket's objects are saved to the state dir and restored at start.

- `Snapshot.save()` writes the whole table (DynamoDB JSON, types exact) and
  the objects that changed, atomically (temp file + rename), so a kill -9
  leaves the previous complete snapshot, never a torn one.
- `SnapshotService` saves every `interval` seconds when something changed,
  and once more at a clean stop: a kill -9 loses at most the last interval.
- `recover_after_restart()` re-queues what the dead stack held in memory,
  through the dispatcher's own recovery: SQS messages are gone, so QUEUED
  runs are sent again (with their remaining delay), and RUNNING runs, whose
  runner died with the stack, go back to QUEUED while attempts remain (else
  TIMED_OUT, as on AWS). Duplicates are harmless: the runner starts a run
  conditionally.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import boto3
from agentcron.dispatch import Dispatcher, TickReport
from agentcron.queue import RunQueue
from agentcron.store import Store

from agentcron_local.threads import ThreadedService

if TYPE_CHECKING:
    from agentcron_local.stack import LocalStack

SNAPSHOT_DIR = "data"
TABLE_FILE = "table.json"
OBJECTS_DIR = "objects"


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _object_file(root: Path, key: str) -> Path:
    # Keys become file names safely: base64 keeps "/" and ".." out of the path.
    return root / base64.urlsafe_b64encode(key.encode()).decode()


@dataclass
class Snapshot:
    state_dir: Path
    table_name: str
    bucket: str
    _table_digest: str | None = None
    _object_etags: dict[str, str] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        return self.state_dir / SNAPSHOT_DIR

    def save(self) -> bool:
        """Write what changed since the last save; True if anything was written."""
        dynamodb = boto3.client("dynamodb")
        items: list[dict[str, Any]] = []
        for page in dynamodb.get_paginator("scan").paginate(TableName=self.table_name, ConsistentRead=True):
            items.extend(page.get("Items", []))
        items.sort(key=lambda item: (item["PK"]["S"], item["SK"]["S"]))
        data = json.dumps(items, separators=(",", ":"), sort_keys=True).encode()
        digest = hashlib.sha256(data).hexdigest()
        wrote = False
        if digest != self._table_digest:
            _atomic_write(self.root / TABLE_FILE, data)
            self._table_digest = digest
            wrote = True
        s3 = boto3.client("s3")
        for listing in s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            for summary in listing.get("Contents", []):
                key, etag = summary["Key"], summary["ETag"]
                if self._object_etags.get(key) == etag:
                    continue
                body = s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
                _atomic_write(
                    _object_file(self.root / OBJECTS_DIR, key), json.dumps({"key": key}).encode() + b"\n" + body
                )
                self._object_etags[key] = etag
                wrote = True
        return wrote

    def restore(self) -> tuple[int, int]:
        """Put the saved items and objects back; returns how many of each."""
        table_file = self.root / TABLE_FILE
        items: list[dict[str, Any]] = json.loads(table_file.read_bytes()) if table_file.exists() else []
        dynamodb = boto3.client("dynamodb")
        for start in range(0, len(items), 25):
            requests: dict[str, Any] = {
                self.table_name: [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
            }
            while requests:
                requests = dynamodb.batch_write_item(RequestItems=requests).get("UnprocessedItems") or {}
        if items:
            self._table_digest = hashlib.sha256(
                json.dumps(items, separators=(",", ":"), sort_keys=True).encode()
            ).hexdigest()
        s3 = boto3.client("s3")
        objects = 0
        objects_dir = self.root / OBJECTS_DIR
        if objects_dir.is_dir():
            for path in objects_dir.iterdir():
                if path.name.startswith("."):
                    continue
                header, _, body = path.read_bytes().partition(b"\n")
                key = json.loads(header)["key"]
                self._object_etags[key] = s3.put_object(Bucket=self.bucket, Key=key, Body=body)["ETag"]
                objects += 1
        return len(items), objects


def recover_after_restart(dispatcher: Dispatcher) -> TickReport:
    """Re-send QUEUED runs and re-queue RUNNING ones: the dispatcher's own recovery,
    over every active run at once (the dead stack's queue and runners are gone)."""
    return dispatcher.recover_all_active(cause="was cut off by a restart of the local stack")


@dataclass
class SnapshotService(ThreadedService):
    snapshot: Snapshot
    interval: float = 1.0
    out: IO[str] | None = None
    name: str = "snapshots"
    saves: int = 0

    def stop(self) -> None:
        super().stop()
        self._save()  # the clean-stop save: nothing is lost

    def _save(self) -> None:
        try:
            if self.snapshot.save():
                self.saves += 1
        except Exception as error:  # a failed save is retried at the next interval
            if self.out is not None:
                print(f"[agentcron local] snapshot failed: {type(error).__name__}: {error}", file=self.out, flush=True)

    def _loop(self) -> None:
        while not self._stopping.wait(self.interval):
            self._save()


def restore_stack(stack: LocalStack) -> Snapshot:
    """Restore the saved state into a freshly started stack and re-queue its runs."""
    env = stack.env
    snapshot = Snapshot(stack.state_dir, env["TABLE_NAME"], env["ARTIFACTS_BUCKET"])
    items, objects = snapshot.restore()
    if items or objects:
        shards = int(env.get("DUE_SHARDS", "4"))
        dispatcher = Dispatcher(
            lambda: Store(env["TABLE_NAME"], due_shards=shards),
            RunQueue(env["RUN_QUEUE_URL"]),
            shards=shards,
            tick_seconds=int(env.get("TICK_SECONDS", "300")),
        )
        report = recover_after_restart(dispatcher)
        print(
            f"[agentcron local] restored {items} item(s) and {objects} transcript(s) from {snapshot.root}; "
            f"re-queued {len(report.resent)} run(s), timed out {len(report.timed_out)} out of attempts",
            file=stack.out,
            flush=True,
        )
    return snapshot
