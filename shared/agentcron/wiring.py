"""Builds the core objects from the function's settings, once per container,
so every handler wires them the same way."""

from __future__ import annotations

from functools import cache

from agentcron.config import settings
from agentcron.dispatch import Dispatcher
from agentcron.queue import RunQueue
from agentcron.service import Service
from agentcron.store import Store


def new_store() -> Store:
    config = settings()
    return Store(config.table_name, due_shards=config.due_shards)


@cache
def run_queue() -> RunQueue:
    return RunQueue(settings().run_queue_url)


@cache
def dispatcher() -> Dispatcher:
    config = settings()
    return Dispatcher(new_store, run_queue(), shards=config.due_shards, tick_seconds=config.tick_seconds)


@cache
def service() -> Service:
    config = settings()
    return Service(store=new_store(), queue=run_queue(), tick_seconds=config.tick_seconds, dispatcher=dispatcher())


def reset() -> None:
    """Forget the wiring (tests give each case a fresh stack, as a new container would)."""
    for cached in (settings, run_queue, dispatcher, service):
        cached.cache_clear()
