"""Which core errors each API route can raise, read from the code itself.

A route's body is followed through every call whose name is a function or
method defined in the api function (functions/api) or the core (``shared/agentcron``), and each
``raise``/construction of an ``agentcron.errors`` class on the way is collected.
Calls are matched by name, so the result over-approximates (a ``get_task`` call
reaches every ``get_task``): a status it reports may be rare, but one it misses
cannot be raised. tests/security/test_api_document.py checks the document
against it, so a new route or a new error cannot go undocumented.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from agentcron import errors
from problems import STATUS_OF

ROOT = Path(__file__).resolve().parents[2]
API = ROOT / "functions" / "api"
ROUTES = sorted((API / "routes").glob("*.py"))
SOURCES = [*sorted(API.rglob("*.py")), *sorted((ROOT / "shared" / "agentcron").rglob("*.py"))]
ROUTE_METHODS = {"get", "post", "put", "patch", "delete"}
ERROR_CLASSES = {
    name: kind
    for name, kind in vars(errors).items()
    if isinstance(kind, type) and issubclass(kind, errors.AgentcronError)
}


@dataclass(frozen=True)
class RouteErrors:
    method: str  # lower case, as the document spells it
    path: str  # OpenAPI form: /v1/tasks/{task_id}
    function: str
    raises: frozenset[type[errors.AgentcronError]]

    @property
    def statuses(self) -> set[int]:
        return {status_of_class(kind) for kind in self.raises}


def status_of_class(kind: type[errors.AgentcronError]) -> int:
    """The status agentcron.problems maps an error class to (its nearest mapped base)."""
    return next((STATUS_OF[base] for base in kind.__mro__ if base in STATUS_OF), 500)


def _functions() -> dict[str, list[ast.FunctionDef]]:
    index: dict[str, list[ast.FunctionDef]] = {}
    for source in SOURCES:
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef):
                index.setdefault(node.name, []).append(node)
    return index


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return None


class _Reach:
    def __init__(self) -> None:
        self.index = _functions()
        self.memo: dict[int, frozenset[str]] = {}
        self.cut = False  # whether the function being read met a call already being read

    def raised(self, function: ast.FunctionDef, visiting: frozenset[int] = frozenset()) -> frozenset[str]:
        key = id(function)
        if key in self.memo:
            return self.memo[key]
        if key in visiting:
            self.cut = True
            return frozenset()
        # The body only: a route's decorator (`@app.post`) is not a call the route makes.
        outer_cut, self.cut = self.cut, False
        found: set[str] = set()
        for statement in function.body:
            found |= self._raised_by(statement, visiting | {key})
        # A result reached through a cut cycle is partial for other callers: not remembered.
        if not self.cut:
            self.memo[key] = frozenset(found)
        self.cut = self.cut or outer_cut
        return frozenset(found)

    def _raised_by(self, node: ast.AST, visiting: frozenset[int]) -> set[str]:
        if isinstance(node, ast.Try):
            return self._raised_by_try(node, visiting)
        found: set[str] = set()
        if isinstance(node, ast.Raise) and node.exc is not None and _name(node.exc) in ERROR_CLASSES:
            found.add(str(_name(node.exc)))
        if isinstance(node, ast.Call):
            name = _name(node)
            if name in ERROR_CLASSES:
                # Built here and raised later (e.g. `invalid = BadRequest(...)`).
                found.add(name)
            for callee in self.index.get(name or "", []):
                found |= self.raised(callee, visiting)
        for child in ast.iter_child_nodes(node):
            found |= self._raised_by(child, visiting)
        return found

    def _raised_by_try(self, node: ast.Try, visiting: frozenset[int]) -> set[str]:
        """What escapes a try: the body's errors less those a handler catches and does not
        re-raise, plus whatever the handlers, else and finally raise themselves."""
        escaping: set[str] = set()
        for statement in node.body:
            escaping |= self._raised_by(statement, visiting)
        for handler in node.handlers:
            caught = _caught(handler.type)
            reraises = any(isinstance(inner, ast.Raise) and inner.exc is None for inner in ast.walk(handler))
            if not reraises:
                escaping = {name for name in escaping if not any(issubclass(ERROR_CLASSES[name], c) for c in caught)}
            for statement in handler.body:
                escaping |= self._raised_by(statement, visiting)
        for statement in [*node.orelse, *node.finalbody]:
            escaping |= self._raised_by(statement, visiting)
        return escaping


def _caught(spec: ast.expr | None) -> tuple[type[BaseException], ...]:
    """The exception classes an `except` clause names (bare or `Exception`: all of ours)."""
    if spec is None:
        return (BaseException,)
    names = [_name(item) for item in spec.elts] if isinstance(spec, ast.Tuple) else [_name(spec)]
    classes: list[type[BaseException]] = []
    for name in names:
        if name in ERROR_CLASSES:
            classes.append(ERROR_CLASSES[name])
        elif name in ("Exception", "BaseException"):
            classes.append(BaseException)
    return tuple(classes)


def _route(function: ast.FunctionDef) -> tuple[str, str] | None:
    for decorator in function.decorator_list:
        if (
            isinstance(decorator, ast.Call)
            and isinstance(decorator.func, ast.Attribute)
            and decorator.func.attr in ROUTE_METHODS
            and decorator.args
            and isinstance(decorator.args[0], ast.Constant)
        ):
            in_schema = all(
                not (k.arg == "include_in_schema" and isinstance(k.value, ast.Constant) and k.value.value is False)
                for k in decorator.keywords
            )
            if in_schema:
                path = str(decorator.args[0].value).replace("<", "{").replace(">", "}")
                return decorator.func.attr, path
    return None


def route_errors() -> Iterator[RouteErrors]:
    reach = _Reach()
    for module in ROUTES:
        for node in ast.parse(module.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and (route := _route(node)) is not None:
                raised = frozenset(ERROR_CLASSES[name] for name in reach.raised(node))
                yield RouteErrors(route[0], route[1], node.name, raised)
