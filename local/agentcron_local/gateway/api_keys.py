"""The local gateway's answer for a bearer `ak_…` key: the same code a deployed authorizer
runs (ApiKeyService.authenticate, against the local table), so a key made through the
API works, expires and is revoked locally exactly as the service decides."""

from __future__ import annotations

from typing import Any

from agentcron.api_keys.models import KEY_PREFIX

from agentcron_local import tokens


def is_api_key(token: str) -> bool:
    return token.startswith(KEY_PREFIX)


def claims_of_key(token: str) -> dict[str, Any]:
    """The claims the API sees for a key (its owner as `sub`), or TokenRejected."""
    # The API function's own container: the same table and settings as its requests.
    from agentcron.bootstrap.api import api_keys

    found = api_keys().authenticate(token)
    if found is None:
        raise tokens.TokenRejected("invalid_key", "the API key is unknown, revoked or expired")
    return {"sub": found.owner, "api_key_id": found.key_id, "token_use": "api_key"}
