"""What GET /v1/templates answers: each template as the task it makes (agentcron.task_templates)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class TemplateView(BaseModel):
    id: str = Field(description="What `template` names in POST /v1/tasks")
    name: str = Field(description="The task's name unless the request gives one")
    summary: str = Field(description="What the task does (the task's description)")
    prompt: str
    schedule: dict[str, Any] = Field(description="The default schedule (a Schedule); override it with `schedule`")
    agent: dict[str, Any] = Field(description="The agent settings it starts with (tools, max_turns)")
    variables: dict[str, str] = Field(description="Its variables' defaults: give your own values in `variables`")
    tags: list[str]
    notify: dict[str, Any]


class TemplateList(BaseModel):
    items: list[TemplateView]
