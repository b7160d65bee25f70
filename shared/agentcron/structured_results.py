"""Structured results: a task's output_schema, offered to the model as the input schema
of a `final_result` tool, and the result it gives checked with jsonschema (any draft the
schema names, Draft 2020-12 otherwise). The runner's own: jsonschema is imported only
here, when a task has a schema, and ships with the runner function alone."""

from __future__ import annotations

import json
from typing import Any

from agentcron.tools_catalog import ToolSpec

FINAL_RESULT = "final_result"
MAX_ERRORS_SHOWN = 5


def _jsonschema() -> Any:
    """Imported at first use: only a task with an output_schema pays for it."""
    import jsonschema  # type: ignore[import-untyped]  # (no stubs installed)

    return jsonschema


def final_result_tool(schema: dict[str, Any]) -> ToolSpec:
    return ToolSpec(
        name=FINAL_RESULT,
        kind="client",
        description="Give the task's result, in the shape the task asks for. Call it once, when you are done; "
        "it ends the run.",
        input_schema=schema,
    )


def result_errors(schema: dict[str, Any], value: Any) -> list[str]:
    """Why `value` does not validate against `schema` (empty when it does)."""
    jsonschema = _jsonschema()
    validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(value), key=lambda error: list(error.absolute_path))
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(the result)'}: {error.message}"
        for error in errors[:MAX_ERRORS_SHOWN]
    ]


def schema_errors(schema: dict[str, Any]) -> list[str]:
    """Why `schema` is not a valid JSON Schema (empty when it is)."""
    jsonschema = _jsonschema()
    validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        validator_class.check_schema(schema)
    except jsonschema.SchemaError as error:
        return [error.message]
    return []


def text_at(value: Any, path: list[str]) -> str:
    """The JSON value found by following `path` (object keys) from `value`, as prompt text: a
    string as it is, anything else as JSON, and "" where there is nothing ({{last_result.x}},
    {{event.a.b}}, a chain's {{run.result.x}})."""
    for name in path:
        value = value.get(name) if isinstance(value, dict) else None
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
