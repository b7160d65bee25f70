"""The API function's root: the service its routes call. It never imports the
runner's modules (execution, agent, tools, the anthropic SDK): the API's cold
start does not pay for them (tests/integration/test_handler_imports.py)."""

from __future__ import annotations

from functools import cached_property

from agentcron.api_keys.service import ApiKeyService
from agentcron.artifacts import Reports, Transcripts
from agentcron.bootstrap.container import Container
from agentcron.bootstrap.core import CoreRoot
from agentcron.config import ApiSettings
from agentcron.connectors import SecretSealer
from agentcron.connectors.service import ConnectorService, RunnerProber
from agentcron.conversations.service import ConversationService
from agentcron.service import Service
from agentcron.webhook_triggers import WebhookTriggers


class ApiRoot(CoreRoot):
    @cached_property
    def settings(self) -> ApiSettings:
        return ApiSettings.from_env()

    @cached_property
    def transcripts(self) -> Transcripts:
        return Transcripts(self.settings.artifacts_bucket, client=self.aws.s3)

    @cached_property
    def reports(self) -> Reports:
        return Reports(self.settings.artifacts_bucket, client=self.aws.s3)

    @cached_property
    def report_redirect(self) -> bool:
        return self.settings.report_redirect

    @cached_property
    def connectors(self) -> ConnectorService:
        """Sealing with the connectors' key; tests through the runner function, which alone opens secrets."""
        config = self.settings
        sealer = SecretSealer(self.aws.kms(), config.connector_key_id) if config.connector_key_id else None
        prober = RunnerProber(self.aws.lambda_(), config.runner_function_name) if config.runner_function_name else None
        return ConnectorService(self.store, sealer, prober)

    @cached_property
    def webhook_triggers(self) -> WebhookTriggers:
        return WebhookTriggers(self.store, self.service.enqueue, self.service.clock)


root = Container(ApiRoot)


def service() -> Service:
    return root().service


def conversations() -> ConversationService:
    return root().conversations


def api_keys() -> ApiKeyService:
    return root().api_keys


def connectors() -> ConnectorService:
    return root().connectors


def webhook_triggers() -> WebhookTriggers:
    return root().webhook_triggers
