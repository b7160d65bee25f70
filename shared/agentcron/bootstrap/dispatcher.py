"""The dispatcher function's root: the tick's dispatcher and the service that
queues a run-task event's run."""

from __future__ import annotations

from agentcron.bootstrap.container import Container
from agentcron.bootstrap.core import CoreRoot
from agentcron.dispatch import Dispatcher
from agentcron.service import Service

root = Container(CoreRoot)


def dispatcher() -> Dispatcher:
    return root().dispatcher


def service() -> Service:
    return root().service
