"""The dashboard and alarms watch metrics the code really emits."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

from agentcron.models import RunStatus
from agentcron.observability import RUN_OUTCOME_METRICS

from tests.infrastructure import iam

REPO = Path(__file__).resolve().parents[2]


def emitted_metric_names() -> set[str]:
    code = [*(REPO / "shared" / "agentcron").rglob("*.py"), *(REPO / "functions").rglob("*.py")]
    source = "\n".join(path.read_text(encoding="utf-8") for path in code)
    names = set(re.findall(r'add_metric\(\s*name="([A-Za-z]+)"', source))
    # execution.py names one metric per outcome, from the table in observability.py.
    names |= set(RUN_OUTCOME_METRICS.values())
    return names


def code_of(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def agentcron_metrics(node: Any) -> set[str]:
    """Metric names of the agentcron namespace anywhere in a dashboard body or alarm."""
    found: set[str] = set()
    if isinstance(node, dict):
        if node.get("Namespace") == "agentcron" and "MetricName" in node:
            found.add(node["MetricName"])
        for value in node.values():
            found |= agentcron_metrics(value)
        rows = node.get("metrics")
        if isinstance(rows, list):
            found |= _dashboard_rows(rows)
    elif isinstance(node, list):
        for value in node:
            found |= agentcron_metrics(value)
    return found


def _dashboard_rows(rows: list[Any]) -> set[str]:
    """Dashboard metric rows: "." repeats the row above's value, "..." all of its leading ones."""
    found: set[str] = set()
    previous: list[Any] = []
    for row in rows:
        if row and row[0] == "...":
            continue  # same metric as the row above, another statistic or dimension value
        values = [previous[i] if v == "." and i < len(previous) else v for i, v in enumerate(row)]
        if values and values[0] == "agentcron":
            found.add(values[1])
        previous = values
    return found


def test_dashboard_is_valid_json_and_shows_emitted_metrics() -> None:
    sam = iam.load_sam_template()
    body = sam["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    dashboard = json.loads(re.sub(r"\$\{[^}]+\}", "x", body))
    shown = agentcron_metrics(dashboard)
    assert {"RunsStarted", "RunsFailed", "StartLateness", "RunsClaimed", "InputTokens", "RunDuration"} <= shown
    assert shown <= emitted_metric_names(), shown - emitted_metric_names()


def test_alarms_watch_emitted_metrics() -> None:
    sam = iam.load_sam_template()
    alarms = {k: v for k, v in sam["Resources"].items() if v["Type"] == "AWS::CloudWatch::Alarm"}
    assert {
        "RunFailureRateAlarm",
        "StartLatenessAlarm",
        "RunDeadLetterQueueAlarm",
        "DispatcherErrorsAlarm",
        "DispatcherOutOfTimeAlarm",
    } <= set(alarms)
    watched = set().union(*(agentcron_metrics(alarm["Properties"]) for alarm in alarms.values()))
    assert {"RunsFailed", "RunsSucceeded", "RunsTimedOut", "StartLateness", "ShardsOutOfTime"} <= watched
    assert watched <= emitted_metric_names()


def test_every_way_a_run_ends_has_its_metric_named() -> None:
    assert set(RUN_OUTCOME_METRICS) == set(RunStatus)
    assert all(re.fullmatch(r"Runs[A-Z][A-Za-z]+", name) for name in RUN_OUTCOME_METRICS.values())


def test_every_metric_names_its_unit_from_powertools() -> None:
    # A string unit ("Count") is checked only when the metric is flushed; MetricUnit, by mypy.
    code = [*(REPO / "shared" / "agentcron").rglob("*.py"), *(REPO / "functions").rglob("*.py")]
    calls = [
        node
        for path in code
        for node in ast.walk(code_of(path))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add_metric"
    ]
    units = [next(k.value for k in call.keywords if k.arg == "unit") for call in calls]
    assert len(calls) >= 15
    assert all(isinstance(u, ast.Attribute) and ast.unparse(u.value) == "MetricUnit" for u in units), [
        ast.unparse(u) for u in units
    ]
    assert all(isinstance(k.value, ast.Constant | ast.Subscript) for c in calls for k in c.keywords if k.arg == "name")


def decorators_of(path: Path, name: str) -> list[str]:
    [function] = [node for node in ast.walk(code_of(path)) if isinstance(node, ast.FunctionDef) and node.name == name]
    return [ast.unparse(d.func if isinstance(d, ast.Call) else d) for d in function.decorator_list]


def test_the_tick_the_runs_processing_and_the_agent_loop_are_traced() -> None:
    shared = REPO / "shared" / "agentcron"
    for path, name in [
        (shared / "dispatch.py", "tick"),
        (shared / "execution.py", "process"),
        (shared / "agent.py", "run_agent"),
    ]:
        assert "tracer.capture_method" in decorators_of(path, name), (path.name, name)
