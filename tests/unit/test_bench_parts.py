"""The benchmarks' other pure parts: percentiles, tables, the import-time parser,
the dispatcher's query count and Lambda estimate, and the lateness summary."""

from __future__ import annotations

import math
import sys
from pathlib import Path

from bench import support
from bench.coldstart import build_bytecode, parse_importtime, shipped_variant
from bench.dispatcher import aws_estimate, full_tick_queries
from bench.lateness import summarise


def test_percentile_is_nearest_rank() -> None:
    values = [4.0, 1.0, 3.0, 2.0]
    assert support.percentile(values, 50) == 2.0
    assert support.percentile(values, 99) == 4.0
    assert support.percentile(values, 100) == 4.0
    assert support.percentile([7.0], 50) == 7.0
    assert math.isnan(support.percentile([], 50))


def test_md_table_aligns_and_escapes() -> None:
    table = support.md_table(["a", "b"], [["x|y", 1]])
    assert table.splitlines() == ["| a | b |", "| --- | ---: |", "| x\\|y | 1 |"]


def test_parse_importtime_names_the_heaviest_direct_imports_and_their_heaviest_child() -> None:
    text = "\n".join(
        [
            "import time: self [us] | cumulative | imported package",
            "import time:       100 |        100 |     pydantic_core",
            "import time:       200 |        900 |   pydantic",
            "import time:        50 |         50 |   croniter.x",
            "import time:       300 |       1500 | agentcron.models",
            "import time:        10 |         10 | json",
        ]
    )
    assert parse_importtime(text, top=2) == [("agentcron.models (pydantic 1)", 1.5), ("json", 0.01)]


def test_a_tick_reads_every_page_of_each_shard_and_one_recovery_query() -> None:
    # 2,500 due: 12 full pages of 200 and a short one; 400: two full pages and an empty one.
    assert full_tick_queries({"0": 2500, "1": 400, "2": 0}) == (13 + 1) + (3 + 1) + (1 + 1)


def test_lateness_summary() -> None:
    rows = [
        {"status": "SUCCEEDED", "scheduled_for": 100.0, "created_at": 40.0, "task_created": 40.5,
         "started_late": 1.0, "delivered_late": 0.6},
        {"status": "SUCCEEDED", "scheduled_for": 200.0, "created_at": 150.0, "task_created": 40.7,
         "started_late": 0.0, "delivered_late": 0.2},
    ]  # fmt: skip
    summary = summarise({"runs": rows, "tasks": 2})
    assert summary["started"][50] == 0.0
    assert summary["started"][100] == 1.0
    assert summary["delivered"][99] == 0.6
    assert summary["claimed_by_api"] == 1
    assert summary["claimed_by_tick"] == 1
    assert summary["statuses"] == {"SUCCEEDED": 2}


def test_the_dispatcher_estimate_is_bound_by_cpu_then_by_the_gil_then_by_latency() -> None:
    # 10 ms of CPU per claim at 512 MB (0.29 vCPU): CPU-bound, 29 claims/s.
    vcpu, rate, cpu_bound = aws_estimate(0.010, 0.1, 4, 512)
    assert math.isclose(vcpu, 512 / 1769) and math.isclose(rate, cpu_bound) and math.isclose(rate, vcpu / 0.010)
    # Two vCPUs: Python's threads still use one, so 100 claims/s at most.
    vcpu, rate, cpu_bound = aws_estimate(0.010, 0.1, 4, 3538)
    assert math.isclose(vcpu, 2.0) and math.isclose(cpu_bound, 100.0) and math.isclose(rate, 100.0)
    # Cheap claims on one thread: each waits its 15.8 ms of requests, then 1 ms of CPU.
    _, rate, _ = aws_estimate(0.001, 0.1, 1, 1769)
    assert math.isclose(rate, 1 / (0.015 + 0.0008 + 0.001))


def test_cold_start_as_shipped_is_with_bytecode_only_when_the_build_compiled_it(tmp_path: Path) -> None:
    tag = f"cpython-{sys.version_info.major}{sys.version_info.minor}"
    (tmp_path / "pkg" / "__pycache__").mkdir(parents=True)
    for name in ("a", "b"):
        (tmp_path / "pkg" / f"{name}.py").write_text("x = 1\n")
    (tmp_path / "pkg" / "__pycache__" / f"a.{tag}.pyc").write_bytes(b"")
    (tmp_path / "pkg" / "__pycache__" / "b.cpython-312.pyc").write_bytes(b"")  # another Python's: no use
    assert build_bytecode(tmp_path) == (2, 1)
    assert shipped_variant({"built_py_files": 2, "built_pyc_files": 1}) == "no bytecode"
    assert shipped_variant({"built_py_files": 2, "built_pyc_files": 2}) == "bytecode"
    assert shipped_variant({"built_pyc_files": 0}) == "no bytecode"  # a run from before the count existed
