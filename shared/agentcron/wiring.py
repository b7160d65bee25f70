"""Builds the core objects from the function's settings, once per container,
so every handler wires them the same way."""

from __future__ import annotations

import threading
from functools import cache
from typing import TYPE_CHECKING

import boto3

from agentcron.artifacts import Transcripts
from agentcron.config import settings
from agentcron.dispatch import Dispatcher
from agentcron.execution import RunExecutor, utcnow
from agentcron.notifications import RunEvents
from agentcron.queue import RunQueue
from agentcron.secrets import anthropic_api_key
from agentcron.service import Service
from agentcron.store import Store

if TYPE_CHECKING:
    from anthropic import Anthropic


# A boto3 Session is not thread-safe: whatever is made from the container's session is made
# under this lock. What it makes is then either thread-safe (clients) or used by one thread
# at a time (a Store's resource).
_session_lock = threading.Lock()


@cache
def aws_session() -> boto3.session.Session:
    """The container's boto3 session. Making a client or resource from a fresh session loads
    and parses the service's JSON models (~100 ms of CPU each time); from this one, only once."""
    return boto3.session.Session()


def new_store() -> Store:
    config = settings()
    with _session_lock:
        return Store(config.table_name, due_shards=config.due_shards, session=aws_session())


@cache
def run_queue() -> RunQueue:
    with _session_lock:
        client = aws_session().client("sqs")
    return RunQueue(settings().run_queue_url, client=client)


@cache
def dispatcher() -> Dispatcher:
    config = settings()
    return Dispatcher(
        new_store,
        run_queue(),
        shards=config.due_shards,
        tick_seconds=config.tick_seconds,
        lookahead=config.dispatch_lookahead,
    )


@cache
def service() -> Service:
    config = settings()
    return Service(
        store=new_store(),
        queue=run_queue(),
        tick_seconds=config.tick_seconds,
        dispatcher=dispatcher(),
        transcripts=Transcripts(config.artifacts_bucket),
    )


@cache
def anthropic_client() -> Anthropic:
    # Imported here, not at the top: the API and the dispatcher wire themselves through this
    # module too, and must never pay for the SDK (~1 s and ~77 MB). The runner's handler
    # imports it at init, for its SnapStart snapshot.
    from anthropic import Anthropic

    # The queue does the retrying (with backoff across invocations), so the SDK must not.
    return Anthropic(api_key=anthropic_api_key(), max_retries=0)


@cache
def executor() -> RunExecutor:
    config = settings()
    return RunExecutor(
        store=new_store(),
        transcripts=Transcripts(config.artifacts_bucket),
        events=RunEvents(config.event_bus_name),
        client_factory=anthropic_client,
        create_task=lambda owner, body, key: service().create_task(owner, body, key)[0],
        clock=utcnow,
        retry_base_seconds=config.retry_base_seconds,
        queue=run_queue(),
    )


def reset() -> None:
    """Forget the wiring (tests give each case a fresh stack, as a new container would)."""
    for cached in (
        settings,
        aws_session,
        run_queue,
        dispatcher,
        service,
        anthropic_client,
        executor,
        anthropic_api_key,
    ):
        cached.cache_clear()
