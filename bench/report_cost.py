"""What a run report costs: the PDF/HTML libraries' installed size and import time (the
runner's cold start and package), the time to render each format, and the S3 requests a
report adds to a run (one PUT when the runner stores it, one GET each time it is read).

    .venv/bin/python -m bench.report_cost

Measured 2026-12-07 on the 2-core build machine: 53.6 MB installed (fontTools 28.4, Pillow 20.3,
nh3 2.4, fpdf2 1.4, markdown-it-py 0.3, the DejaVu font 0.8); `import fpdf` 917 ms (fontTools and
Pillow), markdown-it-py + nh3 76 ms; a 20-section report renders in 49 ms as PDF (17 KB), 2 ms as
HTML; S3 adds $0.0054 per 1,000 runs whose report is read once (PUT $0.005 + GET $0.0004).

Sizes are of this machine's installed wheels (x86_64; the arm64 wheels the runner ships are
within a few percent). Import times are each library alone in a fresh interpreter, best of 3."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from agentcron.models import ReportFormat, RunStatus, Usage
from agentcron.reports.content import ReportContent
from agentcron.reports.formats import FORMATS
from agentcron.reports.render import render_report

from bench.costmodel import Prices

# The runner's report dependencies, by the directories they install.
LIBRARIES = {
    "fpdf2": ["fpdf"],
    "pillow": ["PIL", "pillow.libs"],
    "fonttools": ["fontTools"],
    "defusedxml": ["defusedxml"],
    "nh3": ["nh3"],
    "markdown-it-py": ["markdown_it", "mdurl"],
}
FONT_DIR = Path(__file__).resolve().parents[1] / "shared" / "agentcron" / "reports" / "fonts"
IMPORTS = {"pdf (fpdf2)": "fpdf", "html (markdown-it-py + nh3)": "markdown_it, nh3"}


def _size_mb(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 1e6


def installed_sizes() -> dict[str, float]:
    site = Path(next(p for p in sys.path if p.endswith("site-packages")))
    sizes = {name: sum(_size_mb(site / d) for d in dirs if (site / d).exists()) for name, dirs in LIBRARIES.items()}
    sizes["DejaVu Sans (bundled font)"] = _size_mb(FONT_DIR)
    return sizes


def import_ms(modules: str) -> float:
    code = f"import time; t = time.perf_counter(); import {modules}; print((time.perf_counter() - t) * 1000)"
    runs = [float(subprocess.check_output([sys.executable, "-c", code], text=True)) for _ in range(3)]
    return min(runs)


def sample() -> ReportContent:
    answer = "\n\n".join(
        f"## Section {i}\n\nSome **findings** about the week, with a [link](https://example.com)." for i in range(20)
    )
    return ReportContent(
        title="Weekly summary",
        task_id="task_01EXAMPLE",
        run_id="run_01EXAMPLE",
        status=RunStatus.SUCCEEDED.value,
        scheduled_for=datetime(2026, 12, 7, 9, tzinfo=UTC),
        finished_at=datetime(2026, 12, 7, 9, 1, tzinfo=UTC),
        model="claude-sonnet-5",
        usage=Usage(input_tokens=12_000, output_tokens=1_500),
        cost_usd=0.0585,
        cost_note=None,
        output=answer,
        result=None,
        error=None,
        structured=False,
    )


def render_figures() -> dict[ReportFormat, tuple[float, int]]:
    content = sample()
    figures: dict[ReportFormat, tuple[float, int]] = {}
    for format in FORMATS:
        render_report(content, format)  # the first render pays the import
        start = time.perf_counter()
        body = render_report(content, format)
        figures[format] = ((time.perf_counter() - start) * 1000, len(body))
    return figures


def s3_cost_per_thousand_runs(reads_per_report: int = 1) -> float:
    prices = Prices()
    return prices.s3_put_per_thousand + reads_per_report * prices.s3_get_per_thousand


def main() -> None:
    sizes = installed_sizes()
    figures = {
        "installed_mb": {name: round(mb, 1) for name, mb in sizes.items()},
        "installed_mb_total": round(sum(sizes.values()), 1),
        "import_ms": {name: round(import_ms(modules)) for name, modules in IMPORTS.items()},
        "render": {fmt: {"ms": round(ms, 1), "bytes": size} for fmt, (ms, size) in render_figures().items()},
        "s3_usd_per_1000_runs_one_read": round(s3_cost_per_thousand_runs(), 6),
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
