"""/v1/api-keys: long-lived keys for scripts and the CLI (`Authorization: Bearer ak_…`)."""

from __future__ import annotations

from typing import Annotated

from agentcron.api_keys.models import ApiKeyCreate
from agentcron.bootstrap.api import api_keys
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from key_views import ApiKeyPage, CreatedApiKey, api_key_view

from routes.params import Cursor, Limit, owner, view_response

router = Router()  # type: ignore[no-untyped-call]  # (Powertools leaves its __init__ unannotated)

KeyId = Annotated[str, Path(max_length=64)]


@router.post("/v1/api-keys", responses={201: {"description": "Created"}}, tags=["api-keys"])
def create_api_key(body: Annotated[ApiKeyCreate, Body()]) -> Response[CreatedApiKey]:
    stored, key = api_keys().create(owner(router), body)
    created = CreatedApiKey(**api_key_view(stored).model_dump(by_alias=True), key=key)
    return view_response(201, created, {"Location": f"/v1/api-keys/{stored.id}"})


@router.get("/v1/api-keys", tags=["api-keys"])
def list_api_keys(limit: Limit = 20, cursor: Cursor = None) -> ApiKeyPage:
    page = api_keys().list_keys(owner(router), limit=limit, cursor=cursor)
    return ApiKeyPage(items=[api_key_view(key) for key in page.items], next_cursor=page.next_cursor)


@router.delete("/v1/api-keys/<key_id>", responses={204: {"description": "Revoked"}}, tags=["api-keys"])
def revoke_api_key(key_id: KeyId) -> Response[None]:
    api_keys().revoke(owner(router), key_id)
    return Response(204)
