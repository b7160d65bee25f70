"""The README's Guarantees table names the tests that prove each promise: every
name must be a test that exists, so a renamed or deleted test cannot leave a
promise standing without its proof."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")


def guarantees_section() -> str:
    readme = (REPO / "README.md").read_text()
    start = readme.index("## Guarantees\n")
    end = readme.index("\n## ", start + 1)
    return readme[start:end]


def defined_tests(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}


def test_every_promise_names_tests_that_exist() -> None:
    rows = [line for line in guarantees_section().splitlines() if line.startswith("| ") and "`tests/" in line]
    assert len(rows) >= 15, "the table lists the promises"
    missing = []
    for row in rows:
        references = REFERENCE.findall(row)
        assert references, f"a promise without a test: {row}"
        for file, name in references:
            path = REPO / file
            if not path.is_file() or name not in defined_tests(path):
                missing.append(f"{file}::{name}")
    assert missing == []
