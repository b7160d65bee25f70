"""The dashboard and alarms watch metrics the code really emits."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from agentcron.models import RunStatus

from tests.infrastructure import iam

REPO = Path(__file__).resolve().parents[2]


def emitted_metric_names() -> set[str]:
    code = [*(REPO / "shared" / "agentcron").rglob("*.py"), *(REPO / "functions").rglob("*.py")]
    source = "\n".join(path.read_text(encoding="utf-8") for path in code)
    names = set(re.findall(r'add_metric\(\s*name="([A-Za-z]+)"', source))
    # execution.py names one metric per outcome: Runs<Status>.
    names |= {f"Runs{status.value.title().replace('_', '')}" for status in RunStatus}
    return names


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
