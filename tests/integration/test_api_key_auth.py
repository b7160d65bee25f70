"""ApiKeyService.authenticate, the authorizer's code for `ak_…` keys, against the real
table (moto server) with its clocks injected: expiry, revocation after the cache time,
and last_used_at written at most once a minute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from agentcron.api_keys.models import ApiKeyCreate
from agentcron.api_keys.service import ApiKeyService, key_hash
from agentcron.errors import NotFound
from agentcron.store import Store


class Clocks:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
        self.mono = 1000.0

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.mono += seconds


@pytest.fixture
def clocks() -> Clocks:
    return Clocks()


@pytest.fixture
def keys(store: Store, clocks: Clocks) -> ApiKeyService:
    return ApiKeyService(store, clock=lambda: clocks.now, cache_seconds=60, monotonic=lambda: clocks.mono)


def test_a_key_authenticates_as_its_owner_and_only_its_hash_is_stored(keys: ApiKeyService, store: Store) -> None:
    stored, key = keys.create("alice", ApiKeyCreate(name="ci"))
    found = keys.authenticate(key)
    assert found is not None and (found.owner, found.key_id) == ("alice", stored.id)
    item = store.table.get_item(Key={"PK": f"APIKEY#{key_hash(key)}", "SK": "APIKEY"})["Item"]
    assert key not in str(item) and item["key_hash"] == key_hash(key)
    assert keys.authenticate(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert keys.authenticate("not-a-key") is None


def test_revocation_takes_effect_after_the_cache_time(keys: ApiKeyService, clocks: Clocks) -> None:
    stored, key = keys.create("alice", ApiKeyCreate(name="ci"))
    assert keys.authenticate(key) is not None
    with pytest.raises(NotFound):
        keys.revoke("bob", stored.id)
    keys.revoke("alice", stored.id)
    clocks.advance(59)
    assert keys.authenticate(key) is not None, "within the cache time: the documented delay"
    clocks.advance(2)
    assert keys.authenticate(key) is None
    [listed] = keys.list_keys("alice", limit=10, cursor=None).items
    assert listed.revoked_at is not None


def test_an_expired_key_is_refused(keys: ApiKeyService, clocks: Clocks) -> None:
    _, key = keys.create("alice", ApiKeyCreate(name="short", expires_in_days=1))
    assert keys.authenticate(key) is not None
    clocks.advance(24 * 3600 + 61)
    assert keys.authenticate(key) is None


def test_last_used_is_written_at_most_once_a_minute(keys: ApiKeyService, store: Store, clocks: Clocks) -> None:
    fresh = ApiKeyService(store, clock=lambda: clocks.now, cache_seconds=0, monotonic=lambda: clocks.mono)
    stored, key = fresh.create("alice", ApiKeyCreate(name="ci"))
    fresh.authenticate(key)
    first = store.get_api_key(key_hash(key))
    assert first is not None and first.last_used_at == clocks.now
    clocks.advance(30)
    fresh.authenticate(key)
    again = store.get_api_key(key_hash(key))
    assert again is not None and again.last_used_at == first.last_used_at
    clocks.advance(31)
    fresh.authenticate(key)
    later = store.get_api_key(key_hash(key))
    assert later is not None and later.last_used_at == clocks.now and stored.id == later.id
