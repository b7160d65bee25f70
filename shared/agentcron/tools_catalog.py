"""The tools a task may allow. The runner enforces the allow-list; this module
only describes them (no SDK import), so the API can list and validate them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class ToolSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    kind: str  # "client": executed by the runner; "server": run by Anthropic
    description: str
    input_schema: dict[str, Any]
    # A server tool's definition as the Messages API takes it (its versioned type).
    server_definition: dict[str, Any] | None = None


TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        name="ask_user",
        kind="client",
        description="Pause the run and ask the task's owner a question; the run resumes with the reply.",
        input_schema={
            "type": "object",
            "properties": {
                "question": {"type": "string", "maxLength": 2000},
                "kind": {"type": "string", "enum": ["free_text", "confirm", "choice"], "default": "free_text"},
                "options": {
                    "type": "array",
                    "items": {"type": "string", "maxLength": 200},
                    "maxItems": 10,
                    "description": "The answers to offer (kind choice)",
                },
            },
            "required": ["question"],
        },
    ),
    ToolSpec(
        name="web_fetch",
        kind="client",
        description="HTTP GET a public URL (size and time limited; private addresses refused).",
        input_schema={
            "type": "object",
            "properties": {"url": {"type": "string", "format": "uri", "maxLength": 2048}},
            "required": ["url"],
        },
    ),
    ToolSpec(
        name="remember",
        kind="client",
        description="Store a value in this task's memory, kept across runs.",
        input_schema={
            "type": "object",
            "properties": {
                "key": {"type": "string", "maxLength": 128},
                "value": {"type": "string", "maxLength": 4000},
            },
            "required": ["key", "value"],
        },
    ),
    ToolSpec(
        name="recall",
        kind="client",
        description="Read a value from this task's memory.",
        input_schema={
            "type": "object",
            "properties": {"key": {"type": "string", "maxLength": 128}},
            "required": ["key"],
        },
    ),
    ToolSpec(
        name="schedule_followup",
        kind="client",
        description="Create a one-time follow-up task for the same owner, a bounded delay from now.",
        input_schema={
            "type": "object",
            "properties": {
                "delay_seconds": {"type": "integer", "minimum": 60, "maximum": 604800},
                "prompt": {"type": "string", "maxLength": 20000},
            },
            "required": ["delay_seconds", "prompt"],
        },
    ),
    ToolSpec(
        name="web_search",
        kind="server",
        description="Anthropic's server-side web search tool.",
        input_schema={},
        server_definition={"type": "web_search_20250305", "name": "web_search", "max_uses": 5},
    ),
    ToolSpec(
        name="code_execution",
        kind="server",
        description="Anthropic's server-side code execution: the model runs code in a sandbox Anthropic hosts.",
        input_schema={},
        server_definition={"type": "code_execution_20250825", "name": "code_execution"},
    ),
)

# Offered by the runner itself to a task whose notify.when is agent_decides (never listed in agent.tools).
NOTIFY_TOOL = ToolSpec(
    name="notify_user",
    kind="client",
    description="Notify the task's owner now, with a short message: call it only when the owner asked to be "
    "told about what you found (e.g. a price below their limit). Without a call, nobody is notified.",
    input_schema={
        "type": "object",
        "properties": {
            "message": {"type": "string", "maxLength": 2000},
            "importance": {"type": "string", "enum": ["low", "normal", "high"], "default": "normal"},
        },
        "required": ["message"],
    },
)

TOOL_NAMES: frozenset[str] = frozenset(tool.name for tool in TOOLS)
