"""The store points down only: it never imports the service, dispatcher, runner or API."""

from __future__ import annotations

import ast
from pathlib import Path

STORE = Path(__file__).parents[2] / "shared" / "agentcron" / "store"
FORBIDDEN = ("agentcron.service", "agentcron.dispatch", "agentcron.execution", "agentcron.views", "agentcron.problems")


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_store_module_imports_the_service_dispatcher_runner_or_api() -> None:
    offending = {
        f"{path.name}: {name}"
        for path in sorted(STORE.glob("*.py"))
        for name in imported_modules(path)
        if name.startswith(FORBIDDEN) or name.startswith(("functions", "api", "runner"))
    }
    assert len(list(STORE.glob("*.py"))) >= 8, "the store package is where this test looks"
    assert offending == set()
