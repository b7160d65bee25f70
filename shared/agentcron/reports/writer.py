"""The runner's side of reports: render the ended run's report and store it. A report is
extra: whatever goes wrong here is logged and the run settles without one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentcron.models import Run, RunStatus, Task
from agentcron.observability import logger
from agentcron.reports.content import ReportContent
from agentcron.reports.render import render_report

if TYPE_CHECKING:
    from agentcron.artifacts import Reports

# The runs that ran to an end (agentcron.reports says why these).
REPORTED_STATUSES = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.TIMED_OUT})


@dataclass
class ReportWriter:
    reports: Reports

    def fields(self, task: Task, ended: Run) -> dict[str, Any]:
        """The run's `report_key` and `report_format` once its report is stored; {} when the
        task asks for none, the run gets none, or rendering or storing it failed."""
        if task.report is None or ended.status not in REPORTED_STATUSES or task.kind is not None:
            return {}
        format = task.report.format
        try:
            body = render_report(ReportContent.of(task, ended), format)
            key = self.reports.save(task.id, ended.id, format, body)
        except Exception:
            logger.exception("run report not stored; the run settles without it", extra={"format": format})
            return {}
        return {"report_key": key, "report_format": format}
