"""The tools an agent may be given, the service's health, and the API's own
document: /v1/openapi.json and the Swagger UI page at /v1/docs."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import api_document
from agentcron.bootstrap.api import connectors
from agentcron.clock import utcnow
from agentcron.tools_catalog import TOOLS
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver, Router
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html
from views import Health, ListedTool, ToolList

from routes.params import owner

OPENAPI_SECURITY: dict[str, Any] = {
    "security_schemes": {"bearer": HTTPBearer(bearerFormat="JWT")},
    "security": [{"bearer": []}],
}

router = Router()  # type: ignore[no-untyped-call]  # (Powertools leaves its __init__ unannotated)


@router.get("/v1/tools", tags=["tools"])
def list_tools() -> ToolList:
    built_in = [ListedTool.model_validate(tool.model_dump()) for tool in TOOLS]
    connected = [
        ListedTool(
            name=tool.offered_as,
            kind="connector",
            description=tool.description or "",
            input_schema={},
            connector_id=connector.id,
            tool=tool.name,
            checked_at=connector.tools_checked_at,
        )
        for connector, tool in connectors().offered_connector_tools(owner(router))
    ]
    return ToolList(items=[*built_in, *connected])


@router.get("/v1/health", tags=["meta"], security=[])
def health() -> Health:
    return Health(status="ok", time=utcnow())


def openapi_json() -> str:
    """The document of the resolver that serves these routes."""
    resolver = router.api_resolver
    if not isinstance(resolver, ApiGatewayResolver):
        raise TypeError("the meta routes are served only once a resolver includes them")
    return document_json(resolver)


@cache
def document_json(resolver: ApiGatewayResolver) -> str:
    """Powertools' document completed by api_document (statuses, headers, names, constraints)."""
    generated = json.loads(resolver.get_openapi_json_schema(title=api_document.INFO["title"], **OPENAPI_SECURITY))
    return json.dumps(api_document.complete(generated))


@router.get("/v1/openapi.json", include_in_schema=False)
def openapi_document() -> Response[str]:
    return Response(200, content_type="application/json", body=openapi_json())


@router.get("/v1/docs", include_in_schema=False)
def swagger_page() -> Response[str]:
    """Swagger UI showing the very document /v1/openapi.json serves (Powertools' own page embeds
    its uncorrected one)."""
    script, style = api_document.swagger_assets()
    # "</" inside the inlined JSON would end the script element early.
    spec = openapi_json().replace("</", "<\\/")
    page = generate_swagger_html(spec, script, style, "", None, persist_authorization=False)
    return Response(200, content_type="text/html", body=page)
