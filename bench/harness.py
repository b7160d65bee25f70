"""In-process AWS for the worker benchmarks, and a recorder of every AWS request.

`local_aws()` starts moto's server (DynamoDB serialised, as the local stack
does), creates the template's resources in it and points the process at it,
exactly as the local stack would, without the gateway and background services.

`Recorder` wraps `BaseClient._make_api_call` (as
tests/integration/test_iam_matches_code.py does) and, for each request, works
out what AWS would bill: DynamoDB request units from the sizes of the items
read and written (the before and after image of each written item is read
back through a client of its own, unrecorded), SQS requests per 64 KB chunk,
S3 PUT/GET, EventBridge events per 64 KB chunk. moto's own ConsumedCapacity is
not used (fixed values; NOTES.md).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from bench.costmodel import (
    Index,
    ItemWrite,
    Usage,
    billed_events,
    item_size,
    put_events_entry_size,
    read_units,
    sqs_requests,
    to_wire,
)

TABLE_KEYS = ("PK", "SK")


@dataclass
class LocalAws:
    endpoint: str
    env: dict[str, str]
    stop: Any


@contextlib.contextmanager
def local_aws(prefix: str = "bench", parameters: Mapping[str, str] | None = None) -> Iterator[LocalAws]:
    """moto + the template's resources; os.environ set as the functions see it."""
    from agentcron_local.motoserver import start_moto
    from agentcron_local.resources import create_resources
    from agentcron_local.stack import AWS_VARIABLES_TO_CLEAR, local_aws_environment

    handle = start_moto(port=0)
    try:
        for name in AWS_VARIABLES_TO_CLEAR:
            os.environ.pop(name, None)
        os.environ.update(local_aws_environment(handle.endpoint))
        env = create_resources(handle.endpoint, prefix=prefix, parameters=parameters)
        os.environ.update(env)
        yield LocalAws(handle.endpoint, env, handle.stop)
    finally:
        handle.stop()


class _TableCopySkipped:
    """Stands in for the `copy` module inside moto.dynamodb.models: deepcopy of
    a whole Table returns the table itself; everything else is the real copy."""

    def __init__(self, table_type: type) -> None:
        import copy

        self._copy = copy
        self._table_type = table_type
        self.skipped = 0
        self.cancelled = 0  # transactions that raised inside the block: the results are unsound if any

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        if isinstance(value, self._table_type):
            self.skipped += 1
            return value
        return self._copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._copy, name)


@contextlib.contextmanager
def moto_transactions_without_table_copy() -> Iterator[_TableCopySkipped]:
    """moto's TransactWriteItems deep-copies the whole table before each call,
    to roll back on cancellation (about 88/s on an empty table, 5/s at 5,000
    items: NOTES.md), which would make a benchmark measure moto's copy rather
    than agentcron. Inside this block it does not copy. That is only sound when
    no transaction is cancelled, so the caller must check that none was (a
    cancelled transaction would keep the writes of its items before the failing one)."""
    import moto.dynamodb.models as models

    shim = _TableCopySkipped(getattr(models, "Table"))  # noqa: B009
    original_copy = getattr(models, "copy")  # noqa: B009 - moto's own module-level `import copy`
    original_transact = models.DynamoDBBackend.transact_write_items

    def counting(self: Any, transact_items: Any) -> None:
        try:
            original_transact(self, transact_items)
        except Exception:
            shim.cancelled += 1
            raise

    setattr(models, "copy", shim)  # noqa: B010
    setattr(models.DynamoDBBackend, "transact_write_items", counting)  # noqa: B010
    try:
        yield shim
    finally:
        setattr(models, "copy", original_copy)  # noqa: B010
        setattr(models.DynamoDBBackend, "transact_write_items", original_transact)  # noqa: B010


def template_indexes() -> list[Index]:
    """The table's global secondary indexes, read from template.yaml."""
    from agentcron_local.resources import load_template

    table = load_template()["Resources"]["Table"]["Properties"]
    indexes = []
    for gsi in table.get("GlobalSecondaryIndexes", []):
        keys = {k["KeyType"]: k["AttributeName"] for k in gsi["KeySchema"]}
        if gsi.get("Projection", {}).get("ProjectionType") != "ALL":
            raise ValueError(f"index {gsi['IndexName']}: only ALL projections are costed")
        indexes.append(Index(gsi["IndexName"], keys["HASH"], keys.get("RANGE")))
    return indexes


@dataclass
class Call:
    """One AWS request as billed."""

    phase: str
    service: str
    operation: str
    usage: Usage
    thread: str = ""
    seconds: float = 0.0
    failed: bool = False
    writes: list[dict[str, Any]] = field(default_factory=list)  # per item: key, sizes
    bytes: int = 0  # DynamoDB: bytes read; SQS / EventBridge: payload bytes
    note: str = ""
    items: int = 0  # items a Query returned
    index: str = ""  # the index a Query read


class Recorder:
    """Records every botocore API call made while `phase` is set."""

    def __init__(self, indexes: list[Index], *, images: bool = True) -> None:
        """`images=False`: count writes without reading the items before and after
        (no write units then; for timing runs, where the extra reads would distort)."""
        self.indexes = indexes
        self.images = images
        self.calls: list[Call] = []
        self.phase: str | None = None
        self._local = threading.local()
        self._lock = threading.Lock()
        self._side_client: Any = None
        self._original: Any = None

    # ---- control ----------------------------------------------------------------

    def install(self) -> Recorder:
        self._original = getattr(BaseClient, "_make_api_call")  # noqa: B009 - private, hence getattr
        recorder = self

        def recording(client: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
            return recorder._call(client, operation_name, api_params)

        setattr(BaseClient, "_make_api_call", recording)  # noqa: B010
        return self

    def uninstall(self) -> None:
        if self._original is not None:
            setattr(BaseClient, "_make_api_call", self._original)  # noqa: B010
            self._original = None

    @contextlib.contextmanager
    def recording(self, phase: str) -> Iterator[None]:
        previous, self.phase = self.phase, phase
        try:
            yield
        finally:
            self.phase = previous

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        with self.recording(None):  # type: ignore[arg-type]
            yield

    def in_phase(self, phase: str) -> list[Call]:
        return [call for call in self.calls if call.phase == phase]

    # ---- the wrapper -----------------------------------------------------------------

    def _raw(self, client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        return self._original(client, operation, params)

    def _side(self) -> Any:
        """One low-level DynamoDB client (clients are thread-safe), for before/after images."""
        with self._lock:
            if self._side_client is None:
                self._side_client = boto3.session.Session().client("dynamodb")
            return self._side_client

    def _image(self, table: str, key: Mapping[str, Any]) -> dict[str, Any] | None:
        self._local.inside = True
        try:
            item = self._side().get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        finally:
            self._local.inside = False
        return dict(item) if item else None

    def _call(self, client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        phase = self.phase
        if phase is None or getattr(self._local, "inside", False):
            return self._raw(client, operation, params)
        service = client.meta.service_model.service_name
        if service == "dynamodb":
            return self._dynamodb(phase, client, operation, params)
        body = params.get("Body")  # botocore swaps it for a stream on the way out
        body_size = len(body) if isinstance(body, (bytes, str)) else 0
        started = time.perf_counter()
        failed = False
        try:
            response = self._raw(client, operation, params)
        except Exception:
            failed = True
            response = {}
            raise
        finally:
            try:
                usage, size, note = _other_usage(service, operation, params, response, body_size)
            except Exception as error:  # the recorder must never break the code it measures
                usage, size, note = Usage(), 0, f"not costed: {type(error).__name__}: {error}"
            self._add(
                Call(
                    phase,
                    service,
                    operation,
                    usage,
                    threading.current_thread().name,
                    time.perf_counter() - started,
                    failed,
                    bytes=size,
                    note=note,
                )
            )
        return response

    def _add(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    # ---- DynamoDB ----------------------------------------------------------------------

    def _dynamodb(self, phase: str, client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        thread = threading.current_thread().name
        if operation in ("GetItem", "Query", "Scan", "BatchGetItem"):
            started = time.perf_counter()
            response = self._raw(client, operation, params)
            elapsed = time.perf_counter() - started
            usage, size, note = self._read_usage(operation, params, response)
            self._add(
                Call(
                    phase,
                    "dynamodb",
                    operation,
                    usage,
                    thread,
                    elapsed,
                    bytes=size,
                    note=note,
                    items=len(response.get("Items") or []),
                    index=str(params.get("IndexName", "")),
                )
            )
            return response
        if operation not in ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems") or not self.images:
            started = time.perf_counter()
            try:
                return self._raw(client, operation, params)
            finally:
                note = "not costed" if self.images else "counted only"
                self._add(Call(phase, "dynamodb", operation, Usage(), thread, time.perf_counter() - started, note=note))
        try:
            targets = self._write_targets(operation, params)
            befores = [self._image(table, key) for table, key, _ in targets]
        except Exception as error:  # the recorder must never break the code it measures
            response = self._raw(client, operation, params)
            self._add(Call(phase, "dynamodb", operation, Usage(), thread, note=f"not costed: {error!r}"))
            return response
        started = time.perf_counter()
        failed = False
        try:
            return self._raw(client, operation, params)
        except ClientError:
            failed = True
            raise
        finally:
            elapsed = time.perf_counter() - started
            afters = befores if failed else [self._image(table, key) for table, key, _ in targets]
            writes = [
                ItemWrite(before, after, transactional)
                for (_, _, transactional), before, after in zip(targets, befores, afters, strict=True)
            ]
            details = [
                {
                    "sk": _plain_key(key).get("SK", ""),
                    "pk": _plain_key(key).get("PK", ""),
                    "before": item_size(w.before),
                    "after": item_size(w.after),
                    "table_units": w.table_units(),
                    "index_units": w.index_units(self.indexes),
                    "by_index": w.units_by_index(self.indexes),
                }
                for (_, key, _), w in zip(targets, writes, strict=True)
            ]
            units = sum(w.table_units() + w.index_units(self.indexes) for w in writes)
            self._add(
                Call(
                    phase,
                    "dynamodb",
                    operation,
                    Usage(ddb_write_units=units),
                    thread,
                    elapsed,
                    failed,
                    writes=details,
                    note="condition failed" if failed else "",
                )
            )

    def _write_targets(self, operation: str, params: Mapping[str, Any]) -> list[tuple[str, dict[str, Any], bool]]:
        """(table, wire-format key, transactional) of each item the write touches."""
        if operation == "TransactWriteItems":
            targets = []
            for entry in params["TransactItems"]:
                ((kind, op),) = entry.items()
                source = op["Item"] if kind == "Put" else op["Key"]
                targets.append((op["TableName"], _wire_key(source), True))
            return targets
        source = params["Item"] if operation == "PutItem" else params["Key"]
        return [(params["TableName"], _wire_key(source), False)]

    def _read_usage(
        self, operation: str, params: Mapping[str, Any], response: Mapping[str, Any]
    ) -> tuple[Usage, int, str]:
        consistent = bool(params.get("ConsistentRead")) and "IndexName" not in params
        note = ""
        if operation == "GetItem":
            item = response.get("Item")
            size = item_size(_as_wire(item)) if item else 0
        else:
            items = response.get("Items") or []
            size = sum(item_size(_as_wire(item)) for item in items)
            if params.get("Select") == "COUNT":
                note = "COUNT query: sized as empty (items read are not returned)"
            if params.get("FilterExpression") is not None and response.get("ScannedCount", 0) > len(items):
                note = "filtered: sized by the items returned, not all read"
        return Usage(ddb_read_units=read_units(size, consistent=consistent)), size, note


def _other_usage(
    service: str, operation: str, params: Mapping[str, Any], response: Any, body_size: int = 0
) -> tuple[Usage, int, str]:
    """(usage, payload bytes, note) of a request to SQS, S3 or EventBridge."""
    if service == "sqs":
        if operation == "SendMessage":
            size = _message_size(params)
            return Usage(sqs_requests=sqs_requests(size)), size, ""
        if operation == "SendMessageBatch":
            size = sum(_message_size(e) for e in params["Entries"])
            return Usage(sqs_requests=sqs_requests(size)), size, ""
        if operation == "ReceiveMessage":
            received = (response or {}).get("Messages") or []
            size = sum(len(m.get("Body", "").encode()) for m in received)
            return Usage(sqs_requests=sqs_requests(size)), size, "" if received else "empty"
        return Usage(sqs_requests=1), 0, ""
    if service == "s3":
        put_class = ("PutObject", "CopyObject", "PostObject", "ListObjects", "ListObjectsV2", "CreateMultipartUpload")
        if operation in put_class:
            return Usage(s3_puts=1), body_size, ""
        return Usage(s3_gets=1), 0, ""
    if service == "events" and operation == "PutEvents":
        entries = params.get("Entries") or []
        return Usage(events=billed_events(entries)), sum(put_events_entry_size(e) for e in entries), ""
    return Usage(), 0, "not costed"


def _message_size(entry: Mapping[str, Any]) -> int:
    size = len(str(entry.get("MessageBody", "")).encode("utf-8"))
    for name, attribute in (entry.get("MessageAttributes") or {}).items():
        size += len(name.encode()) + len(str(attribute.get("DataType", "")).encode())
        size += len(str(attribute.get("StringValue", "")).encode()) + len(attribute.get("BinaryValue", b"") or b"")
    return size


def _is_wire_value(value: Any) -> bool:
    return (
        isinstance(value, Mapping)
        and len(value) == 1
        and next(iter(value)) in ("S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS", "L", "M")
    )


def _as_wire(item: Mapping[str, Any]) -> dict[str, Any]:
    if all(_is_wire_value(v) for v in item.values()):
        return dict(item)
    return to_wire(item)


def _wire_key(source: Mapping[str, Any]) -> dict[str, Any]:
    key = {name: source[name] for name in TABLE_KEYS if name in source}
    return _as_wire(key)


def _plain_key(key: Mapping[str, Any]) -> dict[str, str]:
    return {name: str(next(iter(value.values()))) for name, value in key.items()}


# ---- summaries ---------------------------------------------------------------------------


def write_units_by_target(calls: list[Call]) -> dict[str, float]:
    """WRU by item kind (task / run / other) and destination (table / each index)."""
    result: dict[str, float] = defaultdict(float)
    for call in calls:
        for write in call.writes:
            sk = str(write["sk"])
            kind = "task" if sk == "TASK" else "run" if sk.startswith("RUN#") else "other"
            result[f"{kind} table"] += write["table_units"]
            for index, units in write.get("by_index", {}).items():
                if units:
                    result[f"{kind} {index}"] += units
    return dict(result)


def total(calls: list[Call]) -> Usage:
    result = Usage()
    for call in calls:
        result = result + call.usage
    return result


def by_operation(calls: list[Call]) -> dict[str, dict[str, float]]:
    """{"dynamodb TransactWriteItems": {"requests": n, "units": ...}, ...}"""
    table: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for call in calls:
        row = table[f"{call.service} {call.operation}"]
        row["requests"] += 1
        for name, value in call.usage.as_dict().items():
            row[name] += value
        row["seconds"] += call.seconds
    return {k: dict(v) for k, v in table.items()}


__all__ = ["Call", "LocalAws", "Recorder", "by_operation", "local_aws", "template_indexes", "total"]
