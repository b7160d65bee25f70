"""Run reports (issue 16): a task's `report` makes the runner render the run's answer as
Markdown, HTML, JSON or PDF and store it beside the transcript; GET /v1/runs/{id}/report
answers it. Through the real runner, SDK, fake model, S3 (moto) and rendering libraries,
read back with real parsers (pypdf, html.parser)."""

from __future__ import annotations

import io
import json
import time
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests
from agentcron import bootstrap
from agentcron.artifacts import Reports
from pypdf import PdfReader

from tests.integration.test_runner_harness import FINAL, Runner
from tests.integration.test_structured_results import PRICE, result_line

pytest_plugins = ["tests.integration.test_runner_harness"]


def reported_run(runner: Runner, prompt: str, format: str, **fields: Any) -> dict[str, Any]:
    task = runner.create_task(prompt, report={"format": format}, **fields)
    assert task["report"] == {"format": format}
    return runner.pump(runner.run_now(task["id"])["id"], until=FINAL)


class ElementCollector(HTMLParser):
    """Every start tag with its attributes, and the page's visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_a_markdown_report_has_the_title_details_and_answer(runner: Runner) -> None:
    done = reported_run(runner, "Summarise the week\nusage: 1200 300", "markdown")
    assert done["status"] == "SUCCEEDED" and done["report_format"] == "markdown"
    assert done["_links"]["report"] == {"href": f"/v1/runs/{done['id']}/report", "method": "GET"}
    response = runner.api.get(f"/v1/runs/{done['id']}/report")
    assert response.status == 200
    assert response.headers["content-type"] == "text/markdown; charset=utf-8"
    assert response.headers["content-disposition"] == f'attachment; filename="report-{done["id"]}.md"'
    text = response.content.decode()
    assert text.startswith("# runner test\n")
    assert f"- **Run:** {done['id']}" in text and f"- **Task:** {done['task_id']}" in text
    assert "- **Usage:** 1200 input, 300 output" in text
    # claude-sonnet-5 at $3 / $15 per million: 0.0036 + 0.0045.
    assert "- **Estimated cost:** $0.008100" in text
    assert "## Answer\n\nDone: Summarise the week" in text


def test_an_html_report_renders_a_script_in_the_answer_inert(runner: Runner) -> None:
    attack = '<script>alert("pwned")</script><img src=x onerror=alert(1)> [link](javascript:alert(2)) **bold**'
    done = reported_run(runner, attack, "html")
    response = runner.api.get(f"/v1/runs/{done['id']}/report")
    assert response.status == 200 and response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-security-policy"].startswith("sandbox;")
    assert response.headers["x-content-type-options"] == "nosniff"
    page = ElementCollector()
    page.feed(response.content.decode())
    tags = [tag for tag, _ in page.tags]
    assert "script" not in tags and "img" not in tags
    assert all(not name.startswith("on") for _, attrs in page.tags for name in attrs)
    assert all("javascript:" not in (attrs.get("href") or "") for _, attrs in page.tags)
    # Kept as text the reader can see, and the Markdown around it still converted.
    assert '<script>alert("pwned")</script>' in "".join(page.text)
    assert "strong" in tags and "style" in tags


def test_a_json_report_is_the_structured_result_with_the_details(runner: Runner) -> None:
    done = reported_run(runner, result_line({"price": 289.5, "currency": "USD"}), "json", output_schema=PRICE)
    response = runner.api.get(f"/v1/runs/{done['id']}/report")
    assert response.status == 200 and response.headers["content-type"] == "application/json"
    report = response.json
    assert report["result"] == done["result"] == {"price": 289.5, "currency": "USD"}
    assert "output" not in report
    assert report["run_id"] == done["id"] and report["status"] == "SUCCEEDED" and report["title"] == "runner test"
    assert report["usage"] == done["usage"] and report["cost_estimate_usd"] == done["cost_estimate"]["usd"]


def test_a_json_report_without_a_schema_carries_the_output(runner: Runner) -> None:
    done = reported_run(runner, "Plain prose", "json")
    report = runner.api.get(f"/v1/runs/{done['id']}/report").json
    assert report["output"] == done["output"] == "Done: Plain prose" and "result" not in report


def test_a_pdf_report_holds_the_answer_even_in_non_latin_scripts(runner: Runner) -> None:
    answer = "Привет, мир — Ελληνικά — Zürich ½ — 日本語 🎉"
    done = reported_run(runner, answer, "pdf")
    assert done["status"] == "SUCCEEDED" and done["report_format"] == "pdf"
    response = runner.api.get(f"/v1/runs/{done['id']}/report")
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "runner test" in text and done["id"] in text
    # DejaVu Sans has Cyrillic, Greek and Latin-1; CJK and emoji are left out, never a failure.
    assert "Done: Привет, мир — Ελληνικά — Zürich ½" in text


def test_a_failed_run_gets_a_report_with_its_error(runner: Runner) -> None:
    done = reported_run(runner, "fail: 400 x1", "markdown")
    assert done["status"] == "FAILED"
    text = runner.api.get(f"/v1/runs/{done['id']}/report").content.decode()
    assert "- **Status:** FAILED" in text
    assert f"## Error\n\n{done['error']['type']}: " in text


def test_a_run_without_a_report_answers_404_and_no_link(runner: Runner) -> None:
    task = runner.create_task("No report here")
    assert task["report"] is None
    done = runner.pump(runner.run_now(task["id"])["id"], until=FINAL)
    assert "report" not in done["_links"] and done["report_format"] is None
    missing = runner.api.get(f"/v1/runs/{done['id']}/report")
    assert missing.status == 404 and missing.headers["content-type"] == "application/problem+json"


def test_another_owners_report_is_not_found(runner: Runner) -> None:
    done = reported_run(runner, "Private", "markdown")
    assert runner.api.get(f"/v1/runs/{done['id']}/report", user="mallory").status == 404


def test_report_can_be_turned_off_and_is_validated(runner: Runner) -> None:
    task = runner.create_task("x", report={"format": "pdf"})
    refused = runner.api.patch(f"/v1/tasks/{task['id']}", {"report": {"format": "docx"}})
    assert refused.status == 422 and refused.json["errors"][0]["field"].startswith("body.report")
    off = runner.api.patch(f"/v1/tasks/{task['id']}", {"report": None})
    assert off.status == 200 and off.json["report"] is None
    done = runner.pump(runner.run_now(task["id"])["id"], until=FINAL)
    assert "report" not in done["_links"]


def test_a_report_that_cannot_be_stored_never_costs_the_run_its_outcome(
    runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unwritable(self: Reports, *args: object) -> str:
        raise OSError("S3 is down")

    monkeypatch.setattr(Reports, "save", unwritable)
    done = reported_run(runner, "Still counts", "html")
    assert done["status"] == "SUCCEEDED" and done["output"] == "Done: Still counts"
    assert done["report_format"] is None and "report" not in done["_links"]


def test_deployed_the_report_is_a_redirect_to_a_presigned_url(runner: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    done = reported_run(runner, "Fetch me from S3", "json")
    monkeypatch.setenv("REPORT_REDIRECT", "on")
    bootstrap.reset()
    response = runner.api.get(f"/v1/runs/{done['id']}/report")
    assert response.status == 307
    location = response.headers["location"]
    query = parse_qs(urlsplit(location).query)
    assert query["response-content-disposition"] == [f'attachment; filename="report-{done["id"]}.json"']
    # Short-lived: SigV4 says how long (X-Amz-Expires), SigV2 until when (Expires).
    lifetime = int(query["X-Amz-Expires"][0]) if "X-Amz-Expires" in query else int(query["Expires"][0]) - time.time()
    assert 0 < lifetime <= 300
    # The URL works as S3 serves it (moto checks nothing of the signature, but answers the object).
    fetched = requests.get(location, timeout=10)
    assert fetched.status_code == 200 and json.loads(fetched.content)["run_id"] == done["id"]
    assert fetched.headers["content-type"] == "application/json"
    stored = boto3.client("s3").head_object(
        Bucket=runner.env["ARTIFACTS_BUCKET"], Key=f"reports/{done['task_id']}/{done['id']}.json"
    )
    assert stored["ContentType"] == "application/json"
