"""The benchmarks' cost arithmetic (bench/costmodel.py): item sizes, request
units and list prices, checked on hand-made items against the rules AWS documents."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from bench.costmodel import (
    PRICES,
    FixedCosts,
    Index,
    ItemWrite,
    RunShape,
    StepFunctionsDesign,
    Usage,
    billed_events,
    chunks,
    index_write_sizes,
    item_size,
    number_size,
    per_million_runs,
    put_events_entry_size,
    read_units,
    sqs_requests,
    to_wire,
    value_size,
    write_units,
)

DUE = Index("Due", "due_shard", "next_run_at")
BY_OWNER = Index("ByOwner", "GSI1PK", "GSI1SK")


# ---- sizes ------------------------------------------------------------------------------


def test_string_and_binary_sizes_are_their_utf8_bytes() -> None:
    assert value_size({"S": "abc"}) == 3
    assert value_size({"S": "é"}) == 2
    assert value_size({"B": b"\x00\x01\x02"}) == 3
    assert value_size({"B": "AAEC"}) == 3  # base64 on the wire


@pytest.mark.parametrize(
    ("number", "size"),
    [("0", 2), ("7", 2), ("12", 2), ("123", 3), ("1234", 3), ("1795306260", 6), ("-12.50", 3), ("1000", 2), ("1e3", 2)],
)
def test_numbers_cost_one_byte_per_two_significant_digits_plus_one(number: str, size: int) -> None:
    assert number_size(number) == size


def test_booleans_and_nulls_are_one_byte() -> None:
    assert value_size({"BOOL": True}) == 1
    assert value_size({"NULL": True}) == 1


def test_lists_and_maps_cost_three_bytes_plus_one_per_element() -> None:
    assert value_size({"L": []}) == 3
    assert value_size({"M": {}}) == 3
    assert value_size({"L": [{"S": "ab"}, {"N": "1"}]}) == 3 + (1 + 2) + (1 + 2)
    # A map entry also counts its key's name.
    assert value_size({"M": {"team": {"S": "ops"}}}) == 3 + 1 + 4 + 3


def test_sets_are_the_sum_of_their_members() -> None:
    assert value_size({"SS": ["a", "bc"]}) == 3
    assert value_size({"NS": ["1", "123"]}) == 2 + 3


def test_item_size_adds_attribute_names_and_values() -> None:
    item = {"PK": {"S": "TASK#1"}, "SK": {"S": "TASK"}, "n": {"N": "5"}}
    assert item_size(item) == (2 + 6) + (2 + 4) + (1 + 2)
    assert item_size(None) == 0
    assert item_size({}) == 0


def test_python_items_convert_to_wire_format_before_sizing() -> None:
    python = {"a": "x", "n": Decimal("12"), "ok": True, "none": None, "m": {"k": [1, "v"]}, "tags": {"x", "y"}}
    wire = to_wire(python)
    assert wire["n"] == {"N": "12"}
    assert wire["none"] == {"NULL": True}
    assert wire["m"] == {"M": {"k": {"L": [{"N": "1"}, {"S": "v"}]}}}
    assert sorted(wire["tags"]["SS"]) == ["x", "y"]
    assert item_size(wire) > 0


def test_unknown_types_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown"):
        value_size({"X": 1})
    with pytest.raises(TypeError):
        to_wire({"f": object()})


# ---- request units --------------------------------------------------------------------------


def test_writes_are_billed_per_started_kilobyte_and_doubled_in_transactions() -> None:
    assert write_units(0) == 1
    assert write_units(1) == 1
    assert write_units(1024) == 1
    assert write_units(1025) == 2
    assert write_units(3000) == 3
    assert write_units(3000, transactional=True) == 6


def test_reads_are_billed_per_started_4kb_by_consistency() -> None:
    assert read_units(0, consistent=True) == 1.0  # a read of nothing still costs the minimum
    assert read_units(4096, consistent=True) == 1.0
    assert read_units(4097, consistent=True) == 2.0
    assert read_units(8192, consistent=False) == 1.0
    assert read_units(100, consistent=False) == 0.5
    assert read_units(100, consistent=True, transactional=True) == 2.0


def test_an_update_is_billed_on_the_larger_of_before_and_after() -> None:
    small = {"PK": {"S": "p"}, "SK": {"S": "s"}}
    big = {**small, "blob": {"S": "x" * 1500}}
    assert ItemWrite(before=big, after=small).table_units() == 2
    assert ItemWrite(before=small, after=big).table_units() == 2
    assert ItemWrite(before=small, after=big, transactional=True).table_units() == 4
    assert ItemWrite(before=None, after=small).table_units() == 1


def _task(next_run_at: str | None, **extra: dict[str, str]) -> dict[str, dict[str, str]]:
    item: dict[str, dict[str, str]] = {"PK": {"S": "TASK#1"}, "SK": {"S": "TASK"}, **extra}
    if next_run_at is not None:
        item.update({"due_shard": {"S": "0"}, "next_run_at": {"N": next_run_at}})
    return item


def test_index_writes_follow_the_gsi_rules() -> None:
    due, later = _task("100"), _task("200")
    # Entering or leaving a sparse index: one write of the entry.
    assert index_write_sizes(_task(None), due, DUE) == [item_size(due)]
    assert index_write_sizes(due, _task(None), DUE) == [item_size(due)]
    # Changing an index key: delete the old entry and put the new one.
    assert index_write_sizes(due, later, DUE) == [item_size(due), item_size(later)]
    # Another attribute of an item in an ALL index: one write; nothing changed: none.
    changed = _task("100", note={"S": "x"})
    assert index_write_sizes(due, changed, DUE) == [item_size(changed)]
    assert index_write_sizes(due, dict(due), DUE) == []
    # Never in the index: nothing.
    assert index_write_sizes(due, later, BY_OWNER) == []


def test_index_units_are_standard_writes_even_for_a_transaction() -> None:
    before, after = _task("100"), _task("200")
    write = ItemWrite(before, after, transactional=True)
    assert write.table_units() == 2
    assert write.units_by_index([DUE, BY_OWNER]) == {"Due": 2, "ByOwner": 0}
    assert write.index_units([DUE, BY_OWNER]) == 2


# ---- the other services ----------------------------------------------------------------------


def test_sqs_and_eventbridge_bill_per_64kb_chunk() -> None:
    assert chunks(0, 65536) == 1
    assert sqs_requests(100) == 1
    assert sqs_requests(65536) == 1
    assert sqs_requests(65537) == 2
    assert sqs_requests(256 * 1024) == 4
    entry = {"Source": "agentcron", "DetailType": "Run Succeeded", "Detail": "{}", "Resources": ["arn:x"]}
    assert put_events_entry_size(entry) == 9 + 13 + 2 + 5
    assert put_events_entry_size({**entry, "Time": "2026-01-01T00:00:00Z"}) == 9 + 13 + 2 + 5 + 14
    assert billed_events([entry, {**entry, "Detail": "x" * 70_000}]) == 1 + 2


# ---- prices ------------------------------------------------------------------------------------


def test_usage_is_priced_line_by_line() -> None:
    usage = Usage(
        ddb_write_units=1e6,
        ddb_read_units=1e6,
        sqs_requests=1e6,
        s3_puts=1000,
        s3_gets=1000,
        events=1e6,
        lambda_requests=1e6,
        sfn_transitions=1000,
        log_bytes=1024**3,
    )
    dollars = usage.dollars(PRICES)
    assert dollars["DynamoDB writes"] == pytest.approx(0.625)
    assert dollars["DynamoDB reads"] == pytest.approx(0.125)
    assert dollars["SQS"] == pytest.approx(0.40)
    assert dollars["S3"] == pytest.approx(0.005 + 0.0004)
    assert dollars["EventBridge"] == pytest.approx(1.00)
    assert dollars["Step Functions"] == pytest.approx(0.025)
    assert dollars["Lambda requests"] == pytest.approx(0.20)
    assert dollars["CloudWatch Logs"] == pytest.approx(0.50)


def test_usage_adds_subtracts_and_scales() -> None:
    a, b = Usage(ddb_write_units=4, sqs_requests=2), Usage(ddb_write_units=1, events=1)
    assert (a + b).ddb_write_units == 5
    assert (a - b).ddb_write_units == 3
    assert a.scaled(0.5).sqs_requests == 1
    assert per_million_runs(Usage(sfn_transitions=4))["Step Functions"] == pytest.approx(100.0)


def test_step_functions_design_is_costed_from_the_measured_sizes() -> None:
    shape = RunShape(
        task_item=996,
        run_item_started=438,
        run_item_final=858,
        recent_runs_read=16_706,
        event_entry=700,
        runner_log_bytes=10,
    )
    usage = StepFunctionsDesign().per_run(shape)
    # Put run + its ByOwner entry (2), final update + entry (2), task update + entry (2).
    assert usage.ddb_write_units == 6
    # The task, strongly consistent (1), and 16.7 KB of recent runs, eventually consistent (5 x 0.5).
    assert usage.ddb_read_units == 1 + 2.5
    assert usage.sfn_transitions == 4
    assert usage.lambda_requests == 2
    assert usage.events == 1
    assert usage.s3_puts == 1
    assert per_million_runs(usage)["Step Functions"] == pytest.approx(100.0)


def test_fixed_costs_scale_a_tick_by_the_month() -> None:
    fixed = FixedCosts(
        ticks_per_month=8640, per_tick=Usage(ddb_read_units=4, lambda_requests=1), idle_receives_per_month=10
    )
    usage = fixed.usage()
    assert usage.ddb_read_units == 4 * 8640
    assert usage.lambda_requests == 8640
    assert usage.sqs_requests == 10
    assert not math.isnan(sum(usage.dollars().values()))
