"""The PDF report, by fpdf2 (pure Python; its Pillow and fontTools dependencies have
arm64 wheels, so it fits the runner's package; bench/report_cost.py measures it).

fpdf2's built-in fonts are Latin-1 only, so the report embeds DejaVu Sans (bundled in
fonts/, Bitstream Vera licence): Latin, Greek, Cyrillic and more. A character DejaVu
has no glyph for (CJK, emoji) is left out of the page with a warning in the log,
never an error: a report must not fail a run."""

from __future__ import annotations

import logging
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from agentcron.reports.content import ReportContent

FONT_FILE = Path(__file__).parent / "fonts" / "DejaVuSans.ttf"
FONT = "DejaVuSans"

# fpdf2 logs each missing glyph at WARNING; one line per report is enough.
logging.getLogger("fpdf.output").setLevel(logging.ERROR)


def _line(pdf: FPDF, text: str, *, size: float, height: float) -> None:
    pdf.set_font(FONT, size=size)
    pdf.multi_cell(0, height, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def render_pdf(content: ReportContent) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_title(content.title)
    pdf.set_creator("agentcron")
    pdf.add_font(FONT, fname=str(FONT_FILE))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    _line(pdf, content.title, size=18, height=9)
    pdf.ln(2)
    for label, value in content.details():
        _line(pdf, f"{label}: {value}", size=9, height=5)
    error = content.error_text()
    if error is not None:
        pdf.ln(3)
        pdf.set_text_color(170, 20, 30)
        _line(pdf, f"Error: {error}", size=10, height=5.5)
        pdf.set_text_color(0, 0, 0)
    pdf.ln(4)
    _line(pdf, "Answer", size=13, height=7)
    pdf.ln(1)
    # The Markdown as written: plain text, not markup fpdf would interpret.
    _line(pdf, content.answer(), size=10.5, height=5.5)
    return bytes(pdf.output())
