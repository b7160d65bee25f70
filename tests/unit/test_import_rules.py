"""The dependency rule, read from the imports themselves (docs/architecture.md, "Module map"):

    handlers (functions/*/app.py) -> adapters (functions/api/*) -> core services -> domain

Nothing points up: the domain imports only the domain and the self-contained libraries;
the core never imports functions/*, Powertools' event_handler or the local stack; an adapter
never imports a handler; only the composition root (agentcron.bootstrap) and the handlers
import agentcron.bootstrap; nothing in shared/ or functions/ imports agentcron_local."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / "shared" / "agentcron"
FUNCTIONS = ROOT / "functions"
API = FUNCTIONS / "api"

# Each agentcron module (or package) in exactly one layer; a new module must be placed here.
LIBRARIES = {"aws_errors", "config", "guarded_http", "lazy_client", "webhook_signatures"}
DOMAIN = {
    "budgets",
    "chains",
    "clock",
    "errors",
    "history",
    "ids",
    "models",
    "monthly_budgets",
    "notify_policy",
    "overlap",
    "pricing",
    "read_models",
    "schedules",
    "structured_results",
    "task_templates",
    "tools_catalog",
}
CORE = {
    "agent",
    "api_keys",
    "artifacts",
    "authorizer",
    "conversations",
    "bootstrap",
    "connectors",
    "dispatch",
    "execution",
    "notifications",
    "observability",
    "queue",
    "reports",
    "secrets",
    "service",
    "spend_control",
    "store",
    "tools",
    "webhook_triggers",
}
# What the API function's folder holds besides its handler: imported by their own names, as on Lambda.
API_ADAPTERS = {path.stem for path in API.glob("*.py") if path.stem != "app"} | {
    path.name for path in API.iterdir() if (path / "__init__.py").is_file()
}


def imports_of(path: Path) -> Iterator[str]:
    """Every module `path` imports, absolute (the code uses no relative imports)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import"
            yield str(node.module)


def agentcron_part(module: str) -> str | None:
    """`agentcron.store.tasks` -> `store`; None for anything not agentcron's (the package itself: "")."""
    if module == "agentcron":
        return ""
    return module.split(".")[1] if module.startswith("agentcron.") else None


def layer_of(part: str) -> str:
    for name, members in (("library", LIBRARIES), ("domain", DOMAIN), ("core", CORE)):
        if part in members:
            return name
    raise AssertionError(f"agentcron.{part} is in no layer: place it in tests/unit/test_import_rules.py")


def shared_modules() -> list[tuple[str, Path]]:
    """(top-level part, file) of every module under shared/agentcron."""
    out = []
    for path in sorted(SHARED.rglob("*.py")):
        parts = path.relative_to(SHARED).with_suffix("").parts
        if parts != ("__init__",):
            out.append((parts[0], path))
    return out


def test_every_core_module_has_a_layer() -> None:
    assert {layer_of(part) for part, _ in shared_modules()} <= {"library", "domain", "core"}


@pytest.mark.parametrize(("part", "path"), shared_modules(), ids=lambda v: str(v).rsplit("shared/", 1)[-1])
def test_nothing_in_the_core_points_up(part: str, path: Path) -> None:
    layer = layer_of(part)
    allowed = {"library": {"library"}, "domain": {"library", "domain"}, "core": {"library", "domain", "core"}}[layer]
    wrong = []
    for module in imports_of(path):
        top = module.split(".")[0]
        if top in API_ADAPTERS or top in {"app", "functions", "agentcron_local"}:
            wrong.append(f"{module} (functions/ or the local stack)")
        elif module.startswith("aws_lambda_powertools.event_handler"):
            wrong.append(f"{module} (HTTP is the API adapter's)")
        elif (imported := agentcron_part(module)) is not None:
            if imported == "":
                continue  # `from agentcron import errors`: the names it imports are checked below
            if layer_of(imported) not in allowed or (layer == "library" and imported != part):
                wrong.append(f"{module} ({layer} -> {layer_of(imported)})")
            if imported == "bootstrap" and part != "bootstrap":
                wrong.append(f"{module} (only the composition root and the handlers import it)")
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module == "agentcron":
            for alias in node.names:
                if layer_of(alias.name) not in allowed:
                    wrong.append(f"agentcron.{alias.name} ({layer} -> {layer_of(alias.name)})")
    assert wrong == []


def function_modules() -> list[Path]:
    return sorted(FUNCTIONS.rglob("*.py"))


@pytest.mark.parametrize("path", function_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_functions_never_import_the_local_stack_nor_each_others_handlers(path: Path) -> None:
    is_handler = path.name == "app.py" and path.parent.parent == FUNCTIONS
    wrong = []
    for module in imports_of(path):
        top = module.split(".")[0]
        if top in {"agentcron_local", "functions"}:
            wrong.append(module)
        elif top == "app":
            wrong.append(f"{module} (an adapter never imports a handler)")
        elif top in API_ADAPTERS and path.parent != API and API not in path.parents:
            wrong.append(f"{module} (the API's adapters belong to the API function)")
        elif not is_handler and agentcron_part(module) == "bootstrap" and "routes" not in path.parts:
            wrong.append(f"{module} (the composition root is the handlers' and the routes')")
    assert wrong == []


def test_the_rule_sees_the_api_adapters_and_the_core() -> None:
    # The test reads real files: were a folder renamed, every check above would pass on nothing.
    assert {"views", "problems", "api_document", "routes"} <= API_ADAPTERS
    assert len(shared_modules()) > 30


def test_only_the_authorizer_imports_pyjwt() -> None:
    """PyJWT ships in functions/authorizer's package alone (functions/authorizer/requirements.txt),
    not in the layer: imported by any other function's code, it would be missing deployed."""
    allowed = {SHARED / "authorizer", FUNCTIONS / "authorizer"}
    importers = sorted(
        str(path.relative_to(ROOT))
        for path in [*SHARED.rglob("*.py"), *FUNCTIONS.rglob("*.py")]
        if any(module == "jwt" or module.startswith("jwt.") for module in imports_of(path))
        and not any(path.is_relative_to(folder) for folder in allowed)
    )
    assert importers == []
