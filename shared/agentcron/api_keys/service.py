"""API keys: create (shown once), list, revoke, and authenticate a presented key.

`authenticate` is what the authorizer runs for a bearer token that starts with `ak_`
(the deployed Lambda authorizer and the local gateway call the same code). Its answers
are cached in the process for `cache_seconds`, so a revoked key keeps working at most
that long in a warm authorizer: the documented revocation delay. `last_used_at` is
written at most once per LAST_USED_EVERY_SECONDS per key (not a write per request)."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from agentcron.api_keys.models import DISPLAY_CHARS, KEY_PREFIX, ApiKey, ApiKeyCreate
from agentcron.clock import utcnow
from agentcron.ids import new_api_key_id
from agentcron.store import Page, Store

DEFAULT_CACHE_SECONDS = 60
REVOKED_KEPT_DAYS = 30
LAST_USED_EVERY_SECONDS = 60


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    # 32 random bytes: a key cannot be guessed, so its hash alone can find it.
    return KEY_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Authenticated:
    owner: str
    key_id: str


@dataclass
class ApiKeyService:
    store: Store
    clock: Callable[[], datetime] = field(default=utcnow)
    cache_seconds: float = DEFAULT_CACHE_SECONDS
    monotonic: Callable[[], float] = field(default=time.monotonic)
    _cache: dict[str, tuple[float, Authenticated | None]] = field(default_factory=dict, init=False, repr=False)

    def create(self, owner: str, body: ApiKeyCreate) -> tuple[ApiKey, str]:
        """The stored key and the key itself (returned this once, never stored)."""
        now = self.clock()
        key = new_key()
        stored = ApiKey(
            id=new_api_key_id(),
            owner=owner,
            name=body.name,
            prefix=key[: len(KEY_PREFIX) + DISPLAY_CHARS],
            key_hash=key_hash(key),
            created_at=now,
            valid_until=None if body.expires_in_days is None else now + timedelta(days=body.expires_in_days),
        )
        self.store.put_api_key(stored)
        return stored, key

    def list_keys(self, owner: str, *, limit: int, cursor: str | None) -> Page[ApiKey]:
        return self.store.list_api_keys(owner, limit=limit, cursor=cursor)

    def revoke(self, owner: str, key_id: str) -> None:
        """The key stops working (after the cache delay) and stays listed, revoked, for
        REVOKED_KEPT_DAYS; NotFound for another owner's or an unknown id."""
        self.store.revoke_api_key(owner, key_id, self.clock(), keep_for=timedelta(days=REVOKED_KEPT_DAYS))

    def authenticate(self, presented: str) -> Authenticated | None:
        """Whose key this is, or None (unknown, revoked or expired)."""
        digest = key_hash(presented)
        now_mono = self.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and now_mono - cached[0] < self.cache_seconds:
            return cached[1]
        key = self.store.get_api_key(digest) if presented.startswith(KEY_PREFIX) else None
        now = self.clock()
        found = None
        usable = key is not None and key.revoked_at is None and (key.valid_until is None or key.valid_until > now)
        if key is not None and usable:
            found = Authenticated(owner=key.owner, key_id=key.id)
            last = key.last_used_at
            if last is None or (now - last).total_seconds() >= LAST_USED_EVERY_SECONDS:
                self.store.touch_api_key(digest, now)
        self._cache[digest] = (now_mono, found)
        return found
