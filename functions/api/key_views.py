"""What the API key routes return: never the key's hash; the key itself only once."""

from __future__ import annotations

from datetime import datetime

from agentcron.api_keys.models import ApiKey
from pydantic import Field
from views import API_PREFIX, Link, View


class ApiKeyView(View):
    id: str
    name: str
    prefix: str = Field(description="The key's first characters, to tell keys apart")
    created_at: datetime
    expires_at: datetime | None = Field(description="When it stops working; null: never")
    last_used_at: datetime | None = Field(description="Updated at most once a minute")
    revoked_at: datetime | None
    links: dict[str, Link] = Field(alias="_links")


class CreatedApiKey(ApiKeyView):
    key: str = Field(description="The key (`ak_…`): shown only in this answer, keep it")


class ApiKeyPage(View):
    items: list[ApiKeyView]
    next_cursor: str | None


def api_key_view(key: ApiKey) -> ApiKeyView:
    links = {} if key.revoked_at else {"revoke": Link(href=f"{API_PREFIX}/api-keys/{key.id}", method="DELETE")}
    return ApiKeyView(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        created_at=key.created_at,
        expires_at=key.valid_until,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
        links=links,
    )
