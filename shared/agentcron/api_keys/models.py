"""API keys as the API takes them and the store keeps them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from agentcron.models import StoredModel, StrictInput

KEY_PREFIX = "ak_"
# What the listing shows of a key, so its owner can tell them apart (never enough to use).
DISPLAY_CHARS = 8

# Taken as given (no stripping: Python's strip() also eats \x1c-\x1f, which the pattern refuses).
KeyName = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]


class ApiKeyCreate(StrictInput):
    name: KeyName
    expires_in_days: int | None = Field(
        default=None, ge=1, le=3650, description="Days until the key stops working; omitted: it never expires"
    )


class ApiKey(StoredModel):
    id: str
    owner: str
    name: str
    # The first characters of the key, for the owner's eyes (ak_XXXXXXXX…).
    prefix: str
    key_hash: str
    created_at: datetime
    # (Not `expires_at`: that is the table's TTL attribute, epoch seconds.)
    valid_until: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
