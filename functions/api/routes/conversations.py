"""/v1/conversations: chat with the assistant that creates and follows tasks."""

from __future__ import annotations

from typing import Annotated

from agentcron.bootstrap.api import conversations
from agentcron.conversations.models import ConversationCreate, ConversationStatus, MessageCreate
from agentcron.ids import MESSAGE_ID_RE
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from conversation_views import (
    ConversationPage,
    ConversationView,
    MessagePage,
    MessageView,
    conversation_view,
    message_page,
    message_view,
)

from routes.params import Cursor, IdempotencyKey, Limit, owner, view_response

router = Router()  # type: ignore[no-untyped-call]  # (Powertools leaves its __init__ unannotated)

ConversationId = Annotated[str, Path(max_length=64)]
MessageLimit = Annotated[int, Query(ge=1, le=200, description="Page size")]
After = Annotated[
    str | None,
    Query(max_length=64, pattern=MESSAGE_ID_RE.pattern, description="Only messages posted after this one"),
]


@router.post("/v1/conversations", responses={201: {"description": "Created"}}, tags=["conversations"])
def create_conversation(
    body: Annotated[ConversationCreate | None, Body()] = None, idempotency_key: IdempotencyKey = None
) -> Response[ConversationView]:
    conversation, created = conversations().create_conversation(
        owner(router), body or ConversationCreate(), idempotency_key
    )
    headers = {"Location": f"/v1/conversations/{conversation.id}"}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    return view_response(201, conversation_view(conversation), headers)


@router.get("/v1/conversations", tags=["conversations"])
def list_conversations(
    limit: Limit = 20,
    cursor: Cursor = None,
    status: Annotated[ConversationStatus | None, Query()] = None,
) -> ConversationPage:
    page = conversations().list_conversations(owner(router), limit=limit, cursor=cursor, status=status)
    return ConversationPage(items=[conversation_view(c) for c in page.items], next_cursor=page.next_cursor)


@router.get("/v1/conversations/<conversation_id>", tags=["conversations"])
def get_conversation(conversation_id: ConversationId) -> ConversationView:
    return conversation_view(conversations().get_conversation(owner(router), conversation_id))


@router.get("/v1/conversations/<conversation_id>/messages", tags=["conversations"])
def list_messages(conversation_id: ConversationId, after: After = None, limit: MessageLimit = 50) -> MessagePage:
    messages, has_more = conversations().list_messages(owner(router), conversation_id, after=after, limit=limit)
    return message_page(messages, has_more)


@router.post(
    "/v1/conversations/<conversation_id>/messages", responses={202: {"description": "Accepted"}}, tags=["conversations"]
)
def post_message(
    conversation_id: ConversationId, body: Annotated[MessageCreate, Body()], idempotency_key: IdempotencyKey = None
) -> Response[MessageView]:
    message, created = conversations().post_message(owner(router), conversation_id, body, idempotency_key)
    headers = {} if created else {"Idempotent-Replayed": "true"}
    return view_response(202, message_view(message), headers)


@router.post("/v1/conversations/<conversation_id>/archive", tags=["conversations"])
def archive_conversation(conversation_id: ConversationId) -> ConversationView:
    return conversation_view(conversations().archive_conversation(owner(router), conversation_id))
