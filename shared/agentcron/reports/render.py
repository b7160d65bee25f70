"""One report, rendered in the format the task asks for. Each format's module (and its
library) is imported only when a report in that format is rendered."""

from __future__ import annotations

from agentcron.models import ReportFormat
from agentcron.reports.content import ReportContent


def render_report(content: ReportContent, format: ReportFormat) -> bytes:
    if format == "markdown":
        from agentcron.reports.markdown_report import markdown_bytes

        return markdown_bytes(content)
    if format == "html":
        from agentcron.reports.html_report import html_bytes

        return html_bytes(content)
    if format == "json":
        from agentcron.reports.json_report import json_bytes

        return json_bytes(content)
    from agentcron.reports.pdf_report import render_pdf

    return render_pdf(content)
