"""What each report format is as a file: its media type and file name. Free of the
rendering libraries, so the API (which serves reports) never loads them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import get_args

from agentcron.models import ReportFormat

MEDIA_TYPES: dict[ReportFormat, str] = {
    "markdown": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "json": "application/json",
    "pdf": "application/pdf",
}
EXTENSIONS: dict[ReportFormat, str] = {"markdown": "md", "html": "html", "json": "json", "pdf": "pdf"}
FORMATS: tuple[ReportFormat, ...] = get_args(ReportFormat)
# Binary: never printed to a terminal (the CLI asks for -o).
BINARY_FORMATS: frozenset[ReportFormat] = frozenset({"pdf"})


def report_key(task_id: str, run_id: str, format: ReportFormat) -> str:
    """Beside the run's transcript (transcripts/{task}/{run}.json), under a prefix of its own
    so IAM and the bucket's lifecycle can treat reports apart."""
    return f"reports/{task_id}/{run_id}.{EXTENSIONS[format]}"


def report_filename(run_id: str, format: ReportFormat) -> str:
    """The download's name (Content-Disposition): the run id is [A-Za-z0-9_-] only, safe in a header."""
    return f"report-{run_id}.{EXTENSIONS[format]}"


@dataclass(frozen=True)
class RunReport:
    """A stored report as the API serves it: its bytes, or (deployed) a presigned URL to them."""

    format: ReportFormat
    filename: str
    body: bytes | None = None
    url: str | None = None

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.format]
