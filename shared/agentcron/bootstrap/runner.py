"""The runner function's root: the executor and what it calls (the model, run
events, webhooks, transcripts). The one root that imports the runner's modules
and, when the client is first made, the anthropic SDK."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from agentcron.bootstrap.api import ApiRoot
from agentcron.bootstrap.container import Container
from agentcron.clock import utcnow
from agentcron.config import RunnerSettings
from agentcron.connectors import SecretOpener
from agentcron.conversations.turns import ConversationRuns
from agentcron.execution import RunExecutor
from agentcron.history import Actor, Via
from agentcron.lazy_client import LazyClient
from agentcron.models import Task, TaskCreate
from agentcron.notifications import RunEvents, Webhooks
from agentcron.queue import RunQueue
from agentcron.reports.writer import ReportWriter
from agentcron.secrets import anthropic_api_key
from agentcron.spend_control import MonthlyBudgets
from agentcron.tools.connected import ConnectedTools, ConnectorRuntime

if TYPE_CHECKING:
    from anthropic import Anthropic


class RunnerRoot(ApiRoot):
    """Everything the API's root builds (a run's create_task tool uses its service), and more."""

    @cached_property
    def settings(self) -> RunnerSettings:
        return RunnerSettings.from_env()

    @cached_property
    def webhooks(self) -> Webhooks:
        return Webhooks()

    @cached_property
    def events(self) -> RunEvents:
        return RunEvents(self.settings.event_bus_name, client=self.aws.events, webhooks=self.webhooks)

    @cached_property
    def anthropic_client(self) -> Anthropic:
        # Imported here, not at the top, although the runner's handler imports the SDK at init
        # (for its SnapStart snapshot): this module must stay importable without paying for it.
        from anthropic import Anthropic

        config = self.settings.anthropic
        # Not cached when the key is missing: the run fails with what to do, the next one asks again.
        key = anthropic_api_key(config, self.aws.secretsmanager)
        # The queue does the retrying (with backoff across invocations), so the SDK must not.
        return Anthropic(api_key=key, base_url=config.base_url, max_retries=0)

    @cached_property
    def secret_opener(self) -> SecretOpener:
        """Opens connector secrets (kms:Decrypt is the runner's alone)."""
        return SecretOpener(self.aws.kms())

    @cached_property
    def run_connectors(self) -> ConnectorRuntime:
        """The MCP client for tasks with connectors, imported at the first such run: the SDK
        (with its HTTP and JSON-Schema stack) is not what most runs need."""
        return _ConnectorsOnFirstUse(lambda: self._connector_runtime())

    def _connector_runtime(self) -> ConnectorRuntime:
        from agentcron.connectors.runtime import RunConnectors

        return RunConnectors(self.store, self.secret_opener)

    @cached_property
    def clock(self) -> Callable[[], datetime]:
        return utcnow

    @cached_property
    def executor(self) -> RunExecutor:
        return RunExecutor(
            store=self.store,
            transcripts=self.transcripts,
            events=self.events,
            client_factory=lambda: self.anthropic_client,
            create_task=self._create_task,
            clock=self.clock,
            retry_base_seconds=self.settings.retry_base_seconds,
            queue=self.queue,
            conversations=ConversationRuns(self.conversations, self.service, self.clock),
            connectors=self.run_connectors,
            reports=ReportWriter(self.reports),
            budgets=MonthlyBudgets(
                self.store, self.events, self.clock, account_cap_usd=self.settings.account_monthly_budget_usd
            ),
        )

    def _create_task(self, owner: str, body: TaskCreate, idempotency_key: str) -> Task:
        # A follow-up the task's agent asked for: the owner's task, made while running.
        return self.service.create_task(Actor(owner, Via.RUNNER), body, idempotency_key)[0]


class _ConnectorsOnFirstUse:
    def __init__(self, make: Callable[[], ConnectorRuntime]) -> None:
        self._runtime = LazyClient(make)

    def connect(self, task: Task, seconds_left: float) -> AbstractContextManager[ConnectedTools]:
        return self._runtime.get().connect(task, seconds_left)


root = Container(RunnerRoot)


def executor() -> RunExecutor:
    return root().executor


def run_queue() -> RunQueue:
    return root().queue


def connector_test(owner: str, connector_id: str) -> dict[str, Any]:
    """POST /v1/connectors/{id}/test, as the API asks it of the runner (a direct invocation)."""
    from agentcron.connectors.probe import run_connector_test  # the MCP SDK: only when a test is asked

    current = root()
    return run_connector_test(current.store, current.secret_opener, owner, connector_id).model_dump(mode="json")
