"""What every route module reads the same way: the caller's identity, the shared
path, paging and header parameters, and the ETag and status of a response."""

from __future__ import annotations

import re
from typing import Annotated, cast

from agentcron import errors
from agentcron.history import Actor, Via
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from pydantic import BaseModel

TaskId = Annotated[str, Path(max_length=64)]
RunId = Annotated[str, Path(max_length=96)]
Limit = Annotated[int, Query(ge=1, le=100, description="Page size")]
Cursor = Annotated[str | None, Query(max_length=2048, description="`next_cursor` of the previous page")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Retries with the same key and body return the first result",
    ),
]
IfMatch = Annotated[str | None, Header(max_length=64, description='The task `version`, e.g. `"3"`')]
_VERSION_RE = re.compile(r'^(?:W/)?"?(\d{1,9})"?$')


def owner(router: Router) -> str:
    """The caller: the `sub` the authorizer function put in its context (for a JWT and an
    API key alike), or the `sub` claim where a JWT authorizer checked the token (the events
    tests build and `events/*.json`)."""
    # The resolver is an APIGatewayHttpResolver (app.py): its events are HTTP API v2 events.
    event = cast(APIGatewayProxyEventV2, router.current_event)
    authorizer = event.request_context.authorizer
    subject = (authorizer.get_lambda or {}).get("sub") or (authorizer.jwt_claim or {}).get("sub")
    if not isinstance(subject, str) or not subject:
        raise errors.Unauthorized("the bearer token carries no subject")
    return subject


# The clients that say who they are (X-Agentcron-Client); any other caller is a plain API call.
CLIENT_HEADER = "x-agentcron-client"
_CLIENTS = {"cli": Via.CLI, "web": Via.WEB}


def actor(router: Router) -> Actor:
    """The caller as the author of a change: who (the token's subject) and through what
    (the CLI and web app send X-Agentcron-Client; anything else is `api`)."""
    event = cast(APIGatewayProxyEventV2, router.current_event)
    client = (event.headers or {}).get(CLIENT_HEADER, "").strip().lower()
    return Actor(owner(router), _CLIENTS.get(client, Via.API))


def parse_if_match(value: str | None) -> int | None:
    if value is None:
        return None
    match = _VERSION_RE.match(value.strip())
    if match is None:
        raise errors.InvalidRequest(
            "If-Match must be a task version",
            [errors.FieldError("header.if-match", 'expected a version number such as "3"')],
        )
    return int(match[1])


def etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}


def view_response[V: BaseModel](status: int, view: V, headers: dict[str, str] | None = None) -> Response[V]:
    """A view with a status other than 200 or extra headers; the resolver serialises it."""
    return Response(status, content_type="application/json", body=view, headers=headers)
