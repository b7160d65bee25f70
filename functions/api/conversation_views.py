"""What the conversation routes return: conversations and messages with `_links`."""

from __future__ import annotations

from datetime import datetime

from agentcron.conversations.models import (
    Action,
    Conversation,
    ConversationStatus,
    Message,
    MessageRole,
    Question,
    WaitingQuestion,
)
from agentcron.models import RunStatus
from pydantic import Field
from views import API_PREFIX, Link, View


class ConversationView(View):
    id: str
    title: str
    status: ConversationStatus
    task_ids: list[str] = Field(description="The tasks created in this conversation")
    waiting: list[WaitingQuestion] = Field(description="The questions of its runs that wait for an answer")
    created_at: datetime
    updated_at: datetime = Field(description="The time of its latest message")
    links: dict[str, Link] = Field(alias="_links")


class ConversationPage(View):
    items: list[ConversationView]
    next_cursor: str | None


class MessageView(View):
    id: str = Field(description="Sorts in posting order: poll with `after` set to the last one you have")
    conversation_id: str
    role: MessageRole
    text: str = Field(description="Markdown for assistant and run messages: model output, render it sanitised")
    created_at: datetime
    run_id: str | None = Field(
        default=None,
        description="user: the chat turn answering it; assistant and error: that turn; run: the run reporting",
    )
    task_id: str | None = None
    run_status: RunStatus | None = None
    question: Question | None = Field(default=None, description="run messages of a run waiting for an answer")
    answers_run_id: str | None = Field(default=None, description="The waiting run this user message answered")
    action: Action | None = None
    links: dict[str, Link] = Field(alias="_links")


class MessagePage(View):
    items: list[MessageView] = Field(description="Oldest first")
    has_more: bool = Field(description="More messages follow the last one: ask again with `after` set to it")


def conversation_view(conversation: Conversation) -> ConversationView:
    base = f"{API_PREFIX}/conversations/{conversation.id}"
    links = {
        "self": Link(href=base),
        "messages": Link(href=f"{base}/messages"),
        "post_message": Link(href=f"{base}/messages", method="POST"),
    }
    if conversation.status != ConversationStatus.ARCHIVED:
        links["archive"] = Link(href=f"{base}/archive", method="POST")
    return ConversationView(
        **conversation.model_dump(include={"id", "title", "status", "task_ids", "created_at", "updated_at"}),
        waiting=conversation.waiting,
        links=links,
    )


def message_view(message: Message) -> MessageView:
    links = {"conversation": Link(href=f"{API_PREFIX}/conversations/{message.conversation_id}")}
    for name, run_id in (("run", message.run_id), ("answered_run", message.answers_run_id)):
        if run_id is not None:
            links[name] = Link(href=f"{API_PREFIX}/runs/{run_id}")
    if message.task_id is not None:
        links["task"] = Link(href=f"{API_PREFIX}/tasks/{message.task_id}")
    return MessageView(
        **message.model_dump(
            include={
                "id",
                "conversation_id",
                "role",
                "text",
                "created_at",
                "run_id",
                "task_id",
                "run_status",
                "answers_run_id",
            }
        ),
        question=message.question,
        action=message.action,
        links=links,
    )


def message_page(messages: list[Message], has_more: bool) -> MessagePage:
    return MessagePage(items=[message_view(message) for message in messages], has_more=has_more)
