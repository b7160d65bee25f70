"""checkov on the template: every finding fixed or justified.

Scanned twice in one checkov run: template.yaml as written (the SAM resources)
and its offline CloudFormation translation (what `sam deploy` submits: the
Lambda functions, the HTTP API stage, event source mappings, rules and
permissions SAM generates). A finding is justified either on its resource
(``Metadata: checkov: skip: [{id, comment}]`` in template.yaml, carried into
the translation) or, for a policy that holds for every resource of its kind,
in .checkov.yaml with the reason as a comment. Anything else fails the test.

checkov pins its own boto3 and friends, so it lives in its own venv like the
SAM CLI: ``$CHECKOV``, ``.tools/checkov/bin/checkov`` or ``checkov`` on PATH.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.infrastructure import iam

CONFIG = iam.REPO_ROOT / ".checkov.yaml"
MIN_JUSTIFICATION_CHARS = 40


def find_checkov() -> Path | None:
    for candidate in (
        os.environ.get("CHECKOV"),
        str(iam.REPO_ROOT / ".tools" / "checkov" / "bin" / "checkov"),
        shutil.which("checkov"),
    ):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    return None


@pytest.fixture(scope="module")
def report(cfn: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    checkov = find_checkov()
    if checkov is None:
        if os.environ.get("CI"):
            pytest.fail("checkov is not installed: `make checkov` puts it in .tools/checkov")
        pytest.skip("checkov not found ($CHECKOV, .tools/checkov/bin/checkov or `checkov` on PATH)")
    translated = tmp_path_factory.mktemp("checkov") / "translated.template.json"
    translated.write_text(json.dumps(cfn), encoding="utf-8")
    result = subprocess.run(
        [
            str(checkov),
            "--config-file",
            str(CONFIG),
            "-f",
            str(iam.TEMPLATE),
            "-f",
            str(translated),
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=iam.REPO_ROOT,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_LOG_LEVEL": "WARNING"},
        check=False,
    )
    # Exit 1 means "failed checks", which the tests below explain; anything else is checkov itself failing.
    assert result.returncode in (0, 1), f"checkov exited {result.returncode}:\n{result.stderr[-4000:]}"
    parsed = json.loads(result.stdout)
    reports: list[dict[str, Any]] = parsed if isinstance(parsed, list) else [parsed]
    return reports


def _checks(reports: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [check for report in reports for check in report.get("results", {}).get(kind, [])]


def test_both_templates_were_scanned(report: list[dict[str, Any]]) -> None:
    files = {check["file_path"] for check in _checks(report, "passed_checks")}
    assert any(f.endswith("template.yaml") for f in files), files
    assert any(f.endswith("translated.template.json") for f in files), files
    assert all(r["summary"]["parsing_errors"] == 0 for r in report), [r["summary"] for r in report]


def test_no_unjustified_finding(report: list[dict[str, Any]]) -> None:
    failed = [
        f"{c['check_id']} {c['resource']} ({Path(c['file_path']).name}): {c['check_name']}"
        for c in _checks(report, "failed_checks")
    ]
    assert failed == [], "fix these in template.yaml or justify them (see .checkov.yaml):\n" + "\n".join(failed)


def test_every_resource_skip_says_why(report: list[dict[str, Any]]) -> None:
    skipped = _checks(report, "skipped_checks")
    unexplained = [
        f"{c['check_id']} {c['resource']}"
        for c in skipped
        if len((c.get("check_result") or {}).get("suppress_comment") or "") < MIN_JUSTIFICATION_CHARS
    ]
    assert unexplained == [], unexplained


def test_every_global_skip_says_why() -> None:
    """Each check id skipped in .checkov.yaml has its reason in the comment block just above it."""
    lines = CONFIG.read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(lines):
        match = re.match(r"^\s*-\s*(CKV\w+)\s*$", line)
        if match is None:
            continue
        comment = []
        for previous in reversed(lines[:index]):
            if not previous.strip().startswith("#"):
                break
            comment.append(previous.strip("# "))
        assert len(" ".join(comment)) >= MIN_JUSTIFICATION_CHARS, f"{match[1]} is skipped without a reason"
