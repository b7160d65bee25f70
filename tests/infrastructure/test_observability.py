"""The dashboard and alarms watch metrics the code really emits."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from agentcron.models import RunStatus

from tests.infrastructure import iam

SHARED = Path(__file__).resolve().parents[2] / "shared" / "agentcron"


def emitted_metric_names() -> set[str]:
    source = "\n".join(path.read_text(encoding="utf-8") for path in SHARED.rglob("*.py"))
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
    elif isinstance(node, list):
        if node and node[0] == "agentcron" and len(node) > 1:
            found.add(node[1])
        for value in node:
            found |= agentcron_metrics(value)
    return found


def test_dashboard_is_valid_json_and_shows_emitted_metrics() -> None:
    sam = iam.load_sam_template()
    body = sam["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    dashboard = json.loads(re.sub(r"\$\{[^}]+\}", "x", body))
    shown = agentcron_metrics(dashboard)
    assert {"RunsStarted", "RunsFailed", "StartLateness", "RunsClaimed", "InputTokens"} <= shown
    assert shown <= emitted_metric_names(), shown - emitted_metric_names()


def test_alarms_watch_emitted_metrics() -> None:
    sam = iam.load_sam_template()
    alarms = {k: v for k, v in sam["Resources"].items() if v["Type"] == "AWS::CloudWatch::Alarm"}
    assert {"RunFailureRateAlarm", "StartLatenessAlarm", "RunDeadLetterQueueAlarm", "DispatcherErrorsAlarm"} <= set(
        alarms
    )
    watched = set().union(*(agentcron_metrics(alarm["Properties"]) for alarm in alarms.values()))
    assert {"RunsFailed", "RunsSucceeded", "RunsTimedOut", "StartLateness"} <= watched
    assert watched <= emitted_metric_names()
