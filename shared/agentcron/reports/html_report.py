"""The HTML report: one self-contained page with inline CSS.

The answer is model output, and a model can be talked (by a fetched page, say) into
writing markup: it is untrusted. markdown-it-py converts it with raw HTML turned off
(a `<script>` in the answer becomes text), and nh3 (the Ammonia sanitiser) cleans the
result again, so an element or attribute the converter let through is dropped too.
The page's own CSP forbids scripts whatever it holds; the API serves it sandboxed."""

from __future__ import annotations

from html import escape

import nh3
from markdown_it import MarkdownIt

from agentcron.reports.content import ReportContent

# No script, no network: styles inline, images only as data: URLs.
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

STYLE = """
body { font: 15px/1.55 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328;
       max-width: 52rem; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .5rem; }
dl.details { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem;
             background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; padding: .75rem 1rem; }
dl.details dt { font-weight: 600; color: #57606a; }
dl.details dd { margin: 0; overflow-wrap: anywhere; }
.error { border-left: 4px solid #cf222e; background: #ffebe9; padding: .5rem 1rem; }
pre { background: #f6f8fa; padding: .75rem; overflow-x: auto; border-radius: 6px; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: .9em; }
table { border-collapse: collapse; } th, td { border: 1px solid #d0d7de; padding: .3rem .6rem; }
blockquote { color: #57606a; border-left: 4px solid #d0d7de; margin: 0; padding-left: 1rem; }
"""

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def answer_html(markdown: str) -> str:
    """The model's Markdown as safe HTML: converted without raw HTML, then sanitised."""
    return nh3.clean(_markdown.render(markdown), link_rel="noopener noreferrer nofollow")


def render_html(content: ReportContent) -> str:
    rows = "".join(f"<dt>{escape(label)}</dt><dd>{escape(value)}</dd>" for label, value in content.details())
    error = content.error_text()
    error_block = "" if error is None else f'<h2>Error</h2><p class="error">{escape(error)}</p>'
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(content.title)}</title><style>{STYLE}</style></head>"
        f'<body><h1>{escape(content.title)}</h1><dl class="details">{rows}</dl>{error_block}'
        f'<h2>Answer</h2><main class="answer">{answer_html(content.answer())}</main></body></html>\n'
    )


def html_bytes(content: ReportContent) -> bytes:
    return render_html(content).encode()
