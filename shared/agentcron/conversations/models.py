"""Conversations and their messages: what the API takes and what the store keeps.

A conversation's status is derived from its tasks and runs (agentcron.conversations.service
keeps it) and stored, so listings can filter on it without reading every task."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from agentcron.ids import RUN_ID_RE
from agentcron.models import QuestionKind, RunStatus, StoredModel, StrictInput

MAX_MESSAGE_CHARS = 20_000
# A conversation's tasks are listed on it and checked for its status: bounded.
MAX_TASKS_PER_CONVERSATION = 50

MessageText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_MESSAGE_CHARS)]
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")
]
# (Without the named groups: the pattern is also the OpenAPI document's, in JavaScript's dialect.)
RunId = Annotated[str, StringConstraints(pattern=re.sub(r"\(\?P<\w+>", "(", RUN_ID_RE.pattern))]


class ConversationStatus(StrEnum):
    ACTIVE = "active"  # plain chat
    BACKGROUND = "background"  # it has enabled tasks on a schedule
    WAITING_INPUT = "waiting_input"  # one of its runs waits for an answer
    ARCHIVED = "archived"


class MessageRole(StrEnum):
    USER = "user"
    ASSISTANT = "assistant"
    RUN = "run"  # a run of one of the conversation's tasks reporting
    ACTION = "action"  # something the assistant did (a task created, paused, ...)
    ERROR = "error"  # a chat turn that failed for good


class ConversationCreate(StrictInput):
    title: Title | None = None
    message: MessageText | None = Field(default=None, description="A first message: the assistant answers it")


class MessageCreate(StrictInput):
    text: MessageText
    reply_to: RunId | None = Field(
        default=None, description="The waiting run this message answers, when several of the conversation's wait"
    )


class WaitingQuestion(StoredModel):
    run_id: str
    task_id: str
    question: str
    question_kind: QuestionKind = "free_text"
    question_options: list[str] | None = None


class Conversation(StoredModel):
    id: str
    owner: str
    title: str
    status: ConversationStatus = ConversationStatus.ACTIVE
    archived: bool = False
    task_ids: list[str] = Field(default_factory=list)
    waiting: list[WaitingQuestion] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime


class Question(StoredModel):
    text: str
    kind: QuestionKind = "free_text"
    options: list[str] | None = None


class Undo(StoredModel):
    """The request that undoes an action, for a client to offer as a button."""

    method: Literal["POST", "PATCH", "DELETE"]
    href: str
    body: dict[str, Any] | None = None


class Action(StoredModel):
    tool: str
    summary: str
    task_id: str | None = None
    run_id: str | None = None
    undo: Undo | None = None


class Message(StoredModel):
    id: str
    conversation_id: str
    owner: str
    role: MessageRole
    text: str
    created_at: datetime
    run_id: str | None = None
    task_id: str | None = None
    run_status: RunStatus | None = None
    question: Question | None = None
    answers_run_id: str | None = None
    action: Action | None = None
