"""What every function's root builds: the store, the run queue, the dispatcher
and the service (the API's requests, the dispatcher's run-task events and the
runner's create_task tool all go through the same service), and the conversations
service on top of it."""

from __future__ import annotations

from functools import cached_property

from agentcron.api_keys.service import ApiKeyService
from agentcron.artifacts import Reports, Transcripts
from agentcron.bootstrap.aws import AwsSession
from agentcron.bootstrap.container import Root
from agentcron.config import DispatcherSettings, api_key_cache_seconds
from agentcron.conversations.service import ConversationService
from agentcron.dispatch import Dispatcher
from agentcron.queue import RunQueue
from agentcron.service import Service
from agentcron.store import Store


class CoreRoot(Root):
    @cached_property
    def settings(self) -> DispatcherSettings:
        return DispatcherSettings.from_env()

    @cached_property
    def aws(self) -> AwsSession:
        return AwsSession()

    def new_store(self) -> Store:
        """A Store for one thread (the dispatcher lends one to each shard thread)."""
        config = self.settings
        return self.aws.store(
            config.table_name, config.due_shards, history_retention_days=config.history_retention_days
        )

    @cached_property
    def store(self) -> Store:
        """The handler thread's Store."""
        return self.new_store()

    @cached_property
    def queue(self) -> RunQueue:
        return RunQueue(self.settings.run_queue_url, client=self.aws.sqs)

    @cached_property
    def dispatcher(self) -> Dispatcher:
        config = self.settings
        return Dispatcher(
            self.new_store,
            self.queue,
            shards=config.due_shards,
            tick_seconds=config.tick_seconds,
            lookahead=config.dispatch_lookahead,
        )

    @cached_property
    def transcripts(self) -> Transcripts | None:
        """None where the function reads no transcripts (the dispatcher)."""
        return None

    @cached_property
    def reports(self) -> Reports | None:
        """None where the function serves no reports (the dispatcher)."""
        return None

    @cached_property
    def report_redirect(self) -> bool:
        """Serve a report as a redirect to a presigned S3 URL rather than its bytes."""
        return False

    @cached_property
    def service(self) -> Service:
        return Service(
            store=self.store,
            queue=self.queue,
            tick_seconds=self.settings.tick_seconds,
            dispatcher=self.dispatcher,
            transcripts=self.transcripts,
            reports=self.reports,
            report_redirect=self.report_redirect,
            # Built only when a conversation's task changes.
            on_task_changed=lambda task: self.conversations.task_changed(task),
        )

    @cached_property
    def api_keys(self) -> ApiKeyService:
        return ApiKeyService(store=self.store, cache_seconds=api_key_cache_seconds())

    @cached_property
    def conversations(self) -> ConversationService:
        return ConversationService(store=self.store, tasks=self.service, clock=self.service.clock)
