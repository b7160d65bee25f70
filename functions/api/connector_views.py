"""What the connector routes return: a connector says whether its secret is set, never the secret."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from agentcron.connectors import Connector, Transport
from pydantic import BaseModel, Field
from views import API_PREFIX, Link, View


class AuthView(BaseModel):
    type: Literal["none", "bearer", "header"]
    name: str | None = Field(default=None, description="The header's name (type `header`)")
    secret_set: bool = Field(description="Whether a token or header value is stored; it is never returned")


class ConnectorView(View):
    id: str
    name: str
    url: str
    transport: Transport
    auth: AuthView
    version: int
    created_at: datetime
    updated_at: datetime
    links: dict[str, Link] = Field(alias="_links")


class ConnectorPage(BaseModel):
    items: list[ConnectorView]
    next_cursor: str | None


def connector_view(connector: Connector) -> ConnectorView:
    base = f"{API_PREFIX}/connectors/{connector.id}"
    return ConnectorView(
        id=connector.id,
        name=connector.name,
        url=connector.url,
        transport=connector.transport,
        auth=AuthView(
            type=connector.auth_type, name=connector.header_name, secret_set=connector.sealed_secret is not None
        ),
        version=connector.version,
        created_at=connector.created_at,
        updated_at=connector.updated_at,
        links={
            "self": Link(href=base),
            "update": Link(href=base, method="PATCH"),
            "delete": Link(href=base, method="DELETE"),
            "test": Link(href=f"{base}/test", method="POST"),
        },
    )
