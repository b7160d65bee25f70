"""Pure cost arithmetic: DynamoDB item sizes and request units, billed SQS /
S3 / EventBridge / Lambda / Step Functions requests, and list prices.

No AWS and no moto here (moto's ConsumedCapacity is fixed at 1.0 / 0.5 and
empty for transactions, see NOTES.md): units are computed from the items
themselves, by the rules AWS documents, so tests/unit/test_bench_costmodel.py
can check every rule on hand-made items.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from decimal import Decimal
from typing import Any

KB = 1024
SQS_CHUNK = 64 * KB  # each 64 KB chunk of an SQS request's payload is billed as one request
EVENTS_CHUNK = 64 * KB  # each 64 KB chunk of a PutEvents entry is billed as one event


# ---- prices ------------------------------------------------------------------------

PRICES_REGION = "us-east-1"
PRICES_AS_OF = "as published since the Nov 2024 DynamoDB cut; no free tier, no savings plans"


@dataclass(frozen=True)
class Prices:
    """US East (N. Virginia) on-demand list prices in USD.

    Sources (the public pricing pages; written 2026-11 from the prices published there since
    the dates given, not fetched by this code: re-check them before quoting a bill):
    - DynamoDB on-demand: https://aws.amazon.com/dynamodb/pricing/on-demand/ -- $0.625 per million
      write request units, $0.125 per million read request units (since the 2024-11-01 price cut).
    - SQS standard queue: https://aws.amazon.com/sqs/pricing/ -- $0.40 per million requests after
      the first million; a request's payload is billed per 64 KB chunk.
    - S3 Standard: https://aws.amazon.com/s3/pricing/ -- $0.005 per 1,000 PUT/COPY/POST/LIST,
      $0.0004 per 1,000 GET and other requests.
    - EventBridge: https://aws.amazon.com/eventbridge/pricing/ -- $1.00 per million custom events
      put on a bus, per 64 KB chunk of each entry.
    - Step Functions Standard: https://aws.amazon.com/step-functions/pricing/ -- $0.025 per 1,000
      state transitions.
    - Lambda: https://aws.amazon.com/lambda/pricing/ -- $0.20 per million requests; arm64
      $0.0000133334 per GB-second.
    - CloudWatch Logs: https://aws.amazon.com/cloudwatch/pricing/ -- $0.50 per GB ingested
      (standard log class).
    """

    ddb_write_per_million: float = 0.625
    ddb_read_per_million: float = 0.125
    sqs_per_million: float = 0.40
    s3_put_per_thousand: float = 0.005
    s3_get_per_thousand: float = 0.0004
    events_per_million: float = 1.00
    sfn_transitions_per_thousand: float = 0.025
    lambda_requests_per_million: float = 0.20
    lambda_arm_gb_second: float = 0.0000133334
    logs_ingest_per_gb: float = 0.50


PRICES = Prices()


# ---- DynamoDB item sizes ---------------------------------------------------------------


def number_size(text: str) -> int:
    """Bytes DynamoDB counts for a number: about one per two significant digits, plus one."""
    digits = text.strip().lstrip("+-").lower().split("e", 1)[0].replace(".", "")
    significant = digits.strip("0") or "0"
    return 1 + math.ceil(len(significant) / 2)


def value_size(value: Mapping[str, Any]) -> int:
    """Size of one AttributeValue in wire format ({"S": ...}, {"N": ...}, {"M": {...}}, ...)."""
    if len(value) != 1:
        raise ValueError(f"not an AttributeValue: {value!r}")
    ((kind, data),) = value.items()
    if kind == "S":
        return len(str(data).encode("utf-8"))
    if kind == "N":
        return number_size(str(data))
    if kind == "B":
        return len(_binary(data))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(s).encode("utf-8")) for s in data)
    if kind == "NS":
        return sum(number_size(str(n)) for n in data)
    if kind == "BS":
        return sum(len(_binary(b)) for b in data)
    if kind == "L":
        # A list costs 3 bytes, plus 1 byte per element on top of the element itself.
        return 3 + sum(1 + value_size(element) for element in data)
    if kind == "M":
        # A map costs 3 bytes, plus per entry: 1 byte, the key's name and the value.
        return 3 + sum(1 + len(key.encode("utf-8")) + value_size(element) for key, element in data.items())
    raise ValueError(f"unknown AttributeValue type {kind!r}")


def _binary(data: Any) -> bytes:
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    if hasattr(data, "value"):  # boto3's Binary
        return bytes(data.value)
    return base64.b64decode(str(data))


def item_size(item: Mapping[str, Mapping[str, Any]] | None) -> int:
    """Size of an item in wire format: attribute names plus values (UTF-8 bytes)."""
    if not item:
        return 0
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in item.items())


def to_wire(item: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """A Python item (as boto3's resource layer returns it: str, Decimal, bool,
    None, list, dict, set) in wire format, for item_size."""
    return {name: _to_value(value) for name, value in item.items()}


def _to_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if value is None:
        return {"NULL": True}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, (int, float, Decimal)):
        return {"N": str(value)}
    if isinstance(value, (bytes, bytearray)) or hasattr(value, "value"):
        return {"B": _binary(value)}
    if isinstance(value, Mapping):
        return {"M": {str(k): _to_value(v) for k, v in value.items()}}
    if isinstance(value, (set, frozenset)):
        members = list(value)
        if all(isinstance(m, str) for m in members):
            return {"SS": members}
        if all(isinstance(m, (int, float, Decimal)) and not isinstance(m, bool) for m in members):
            return {"NS": [str(m) for m in members]}
        return {"BS": [_binary(m) for m in members]}
    if isinstance(value, (list, tuple)):
        return {"L": [_to_value(v) for v in value]}
    raise TypeError(f"cannot size a {type(value).__name__}")


# ---- DynamoDB request units --------------------------------------------------------------


def write_units(size: int, *, transactional: bool = False) -> int:
    """Write request units for one item write: 1 per started KB (at least 1), doubled in a transaction."""
    units = max(1, math.ceil(size / KB))
    return 2 * units if transactional else units


def read_units(size: int, *, consistent: bool, transactional: bool = False) -> float:
    """Read request units for `size` bytes read by one request (a GetItem's item, or all
    the items a Query reads together): per started 4 KB, at least one step;
    1 strongly consistent, 0.5 eventually consistent, 2 transactional."""
    steps = max(1, math.ceil(size / (4 * KB)))
    if transactional:
        return 2.0 * steps
    return float(steps) if consistent else 0.5 * steps


@dataclass(frozen=True)
class Index:
    """A global secondary index with projection ALL (the template's three are)."""

    name: str
    partition_key: str
    sort_key: str | None = None

    def holds(self, item: Mapping[str, Any] | None) -> bool:
        return bool(item) and self.partition_key in item and (self.sort_key is None or self.sort_key in item)  # type: ignore[operator]

    def key_of(self, item: Mapping[str, Any]) -> tuple[Any, ...]:
        return (item.get(self.partition_key), item.get(self.sort_key) if self.sort_key else None)


def index_write_sizes(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, index: Index) -> list[int]:
    """The index-entry writes one base-table write causes (sizes in bytes), by
    the GSI rules: an item entering or leaving the index is one write; a change
    of an index key is two (delete the old entry, put the new); any other change
    to an item in an ALL-projection index is one write; no change, none."""
    was, now = index.holds(before), index.holds(after)
    if not was and not now:
        return []
    if was and not now:
        return [item_size(before)]
    if now and not was:
        return [item_size(after)]
    assert before is not None and after is not None
    if index.key_of(before) != index.key_of(after):
        return [item_size(before), item_size(after)]
    if before == after:
        return []
    return [max(item_size(before), item_size(after))]


@dataclass(frozen=True)
class ItemWrite:
    """One item written by PutItem / UpdateItem / DeleteItem or one item of a
    TransactWriteItems: the item as it was and as it is (None: absent)."""

    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    transactional: bool = False

    def table_units(self) -> int:
        # DynamoDB bills the larger of the item before and after the write.
        return write_units(max(item_size(self.before), item_size(self.after)), transactional=self.transactional)

    def index_units(self, indexes: Sequence[Index]) -> int:
        # Index propagation is billed as standard writes, also for transactional base writes.
        return sum(self.units_by_index(indexes).values())

    def units_by_index(self, indexes: Sequence[Index]) -> dict[str, int]:
        return {
            index.name: sum(write_units(size) for size in index_write_sizes(self.before, self.after, index))
            for index in indexes
        }


# ---- billed requests of the other services --------------------------------------------------


def chunks(size: int, chunk: int) -> int:
    """Billed units for a payload: one per started chunk, at least one."""
    return max(1, math.ceil(size / chunk))


def sqs_requests(payload_bytes: int) -> int:
    return chunks(payload_bytes, SQS_CHUNK)


def put_events_entry_size(entry: Mapping[str, Any]) -> int:
    """Size of one PutEvents entry as EventBridge bills it: 14 bytes for Time if
    given, plus Source, DetailType, Detail and each Resources ARN (UTF-8)."""
    size = 14 if entry.get("Time") is not None else 0
    for name in ("Source", "DetailType", "Detail"):
        if entry.get(name):
            size += len(str(entry[name]).encode("utf-8"))
    size += sum(len(str(arn).encode("utf-8")) for arn in entry.get("Resources") or [])
    return size


def billed_events(entries: Iterable[Mapping[str, Any]]) -> int:
    return sum(chunks(put_events_entry_size(entry), EVENTS_CHUNK) for entry in entries)


# ---- usage and its price ------------------------------------------------------------------


@dataclass
class Usage:
    """Billed quantities (per run, per tick, per month: whatever the caller sums)."""

    ddb_write_units: float = 0.0
    ddb_read_units: float = 0.0
    sqs_requests: float = 0.0
    s3_puts: float = 0.0
    s3_gets: float = 0.0
    events: float = 0.0
    lambda_requests: float = 0.0
    sfn_transitions: float = 0.0
    log_bytes: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        return Usage(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def __sub__(self, other: Usage) -> Usage:
        return Usage(**{f.name: getattr(self, f.name) - getattr(other, f.name) for f in fields(self)})

    def scaled(self, factor: float) -> Usage:
        return Usage(**{f.name: getattr(self, f.name) * factor for f in fields(self)})

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    def dollars(self, prices: Prices = PRICES) -> dict[str, float]:
        """Cost of this usage by line item, in USD."""
        return {
            "DynamoDB writes": self.ddb_write_units * prices.ddb_write_per_million / 1e6,
            "DynamoDB reads": self.ddb_read_units * prices.ddb_read_per_million / 1e6,
            "SQS": self.sqs_requests * prices.sqs_per_million / 1e6,
            "S3": self.s3_puts * prices.s3_put_per_thousand / 1e3 + self.s3_gets * prices.s3_get_per_thousand / 1e3,
            "EventBridge": self.events * prices.events_per_million / 1e6,
            "Step Functions": self.sfn_transitions * prices.sfn_transitions_per_thousand / 1e3,
            "Lambda requests": self.lambda_requests * prices.lambda_requests_per_million / 1e6,
            "CloudWatch Logs": self.log_bytes * prices.logs_ingest_per_gb / 1024**3,
        }


# The line items the issue asks for (requests of the four services), and the rest measured beside them.
CORE_LINES = ("DynamoDB writes", "DynamoDB reads", "SQS", "S3", "EventBridge")


def per_million_runs(per_run: Usage, prices: Prices = PRICES) -> dict[str, float]:
    return {line: cost * 1e6 for line, cost in per_run.dollars(prices).items()}


# ---- the alternative: Step Functions Standard, "wait until due, then invoke" ---------------------


@dataclass(frozen=True)
class RunShape:
    """Sizes (bytes) measured on agentcron's own run, reused to cost the
    alternative design with the same task, run and event."""

    task_item: int
    run_item_started: int
    run_item_final: int
    recent_runs_read: int  # bytes the runner's "last runs" query reads
    event_entry: int
    transcript_puts: float = 1.0
    runner_log_bytes: float = 0.0


SFN_STATES_PER_RUN = (
    "Wait (TimestampPath = next due)",
    "RunAgent (Lambda task)",
    "NextOccurrence (Lambda task)",
    "More? (Choice)",
)


@dataclass(frozen=True)
class StepFunctionsDesign:
    """One Standard-workflow execution per task, looping Wait → RunAgent →
    NextOccurrence → Choice: no dispatcher, no queue, no claim. The run record,
    transcript and event stay (the API, history and users' rules need them)."""

    states_per_run: int = len(SFN_STATES_PER_RUN)
    lambdas_per_run: int = 2  # RunAgent, NextOccurrence (cron + time zones need code)

    def per_run(self, shape: RunShape, indexes_per_run_write: int = 1, indexes_per_task_write: int = 1) -> Usage:
        """Per run: read the task (strongly consistent), read its last runs, put the
        run RUNNING, update it to its outcome, update the task's last_run; each
        write also writes the item's entry in the ByOwner index."""
        run_put = write_units(shape.run_item_started) * (1 + indexes_per_run_write)
        run_final = write_units(max(shape.run_item_started, shape.run_item_final)) * (1 + indexes_per_run_write)
        task_update = write_units(shape.task_item) * (1 + indexes_per_task_write)
        return Usage(
            ddb_write_units=run_put + run_final + task_update,
            ddb_read_units=read_units(shape.task_item, consistent=True)
            + read_units(shape.recent_runs_read, consistent=False),
            s3_puts=shape.transcript_puts,
            events=chunks(shape.event_entry, EVENTS_CHUNK),
            lambda_requests=self.lambdas_per_run,
            sfn_transitions=self.states_per_run,
            log_bytes=shape.runner_log_bytes,
        )


@dataclass
class FixedCosts:
    """Costs that do not grow with runs (per month), for the agentcron design."""

    ticks_per_month: float
    per_tick: Usage
    idle_receives_per_month: float = 0.0
    notes: list[str] = field(default_factory=list)

    def usage(self) -> Usage:
        return self.per_tick.scaled(self.ticks_per_month) + Usage(sqs_requests=self.idle_receives_per_month)
