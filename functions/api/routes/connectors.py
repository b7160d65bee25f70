"""/v1/connectors: an owner's MCP servers. Register, list, read, edit, delete, and test one
(the runner connects and lists its tools). Secrets go in, and never come out."""

from __future__ import annotations

from typing import Annotated

from agentcron.bootstrap.api import connectors
from agentcron.connectors import ConnectorCreate, ConnectorPatch, ConnectorTestResult
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from connector_views import ConnectorPage, ConnectorView, connector_view

from routes.params import Cursor, IfMatch, Limit, etag, owner, parse_if_match, view_response

ConnectorId = Annotated[str, Path(max_length=64)]

router = Router()  # type: ignore[no-untyped-call]  # (Powertools leaves its __init__ unannotated)


@router.post("/v1/connectors", responses={201: {"description": "Created"}}, tags=["connectors"])
def create_connector(body: Annotated[ConnectorCreate, Body()]) -> Response[ConnectorView]:
    connector = connectors().create_connector(owner(router), body)
    headers = {"Location": f"/v1/connectors/{connector.id}", **etag(connector.version)}
    return view_response(201, connector_view(connector), headers)


@router.get("/v1/connectors", tags=["connectors"])
def list_connectors(limit: Limit = 20, cursor: Cursor = None) -> ConnectorPage:
    page = connectors().list_connectors(owner(router), limit=limit, cursor=cursor)
    return ConnectorPage(items=[connector_view(c) for c in page.items], next_cursor=page.next_cursor)


@router.get("/v1/connectors/<connector_id>", tags=["connectors"])
def get_connector(connector_id: ConnectorId) -> Response[ConnectorView]:
    connector = connectors().get_connector(owner(router), connector_id)
    return view_response(200, connector_view(connector), etag(connector.version))


@router.patch("/v1/connectors/<connector_id>", tags=["connectors"])
def update_connector(
    connector_id: ConnectorId, body: Annotated[ConnectorPatch, Body()], if_match: IfMatch = None
) -> Response[ConnectorView]:
    connector = connectors().update_connector(owner(router), connector_id, body, parse_if_match(if_match))
    return view_response(200, connector_view(connector), etag(connector.version))


@router.delete("/v1/connectors/<connector_id>", responses={204: {"description": "Deleted"}}, tags=["connectors"])
def delete_connector(connector_id: ConnectorId) -> Response[None]:
    connectors().delete_connector(owner(router), connector_id)
    return Response(204)


@router.post("/v1/connectors/<connector_id>/test", tags=["connectors"])
def test_connector(connector_id: ConnectorId) -> ConnectorTestResult:
    return connectors().test_connector(owner(router), connector_id)
