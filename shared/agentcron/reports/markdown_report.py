"""The Markdown report: the details as a list, then the answer as the model wrote it."""

from __future__ import annotations

from agentcron.reports.content import ReportContent


def _one_line(text: str) -> str:
    # A title or detail never breaks the document's structure.
    return " ".join(text.split())


def render_markdown(content: ReportContent) -> str:
    lines = [f"# {_one_line(content.title)}", ""]
    lines += [f"- **{label}:** {_one_line(value)}" for label, value in content.details()]
    error = content.error_text()
    if error is not None:
        lines += ["", "## Error", "", _one_line(error)]
    lines += ["", "## Answer", "", content.answer().rstrip(), ""]
    return "\n".join(lines)


def markdown_bytes(content: ReportContent) -> bytes:
    return render_markdown(content).encode()
