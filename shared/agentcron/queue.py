"""The run queue: what a run message carries and how it is sent."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict

from agentcron.errors import QueueUnavailable
from agentcron.lazy_client import LazyClient

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient

MAX_DELAY_SECONDS = 900  # SQS's own ceiling for DelaySeconds
MAX_BATCH_ENTRIES = 10  # SQS's own ceiling for SendMessageBatch


class RunMessage(BaseModel):
    """The body of a run-queue message: just enough to find the run. The run
    item is the source of truth; a stale or duplicate message is harmless
    because the runner claims QUEUED → RUNNING conditionally."""

    model_config = ConfigDict(extra="ignore")

    run_id: str
    task_id: str
    owner: str


def _own_sqs_client() -> SQSClient:
    return boto3.session.Session().client("sqs")


class RunQueue:
    """Used from several threads at once (the dispatcher's shards): a boto3 client is
    thread-safe, making one is not, so the lazy client is made under a lock. `client`
    makes it at first use: the functions pass their container's (agentcron.bootstrap);
    standalone (tools, tests), one from a session of its own."""

    def __init__(self, queue_url: str, client: Callable[[], SQSClient] = _own_sqs_client) -> None:
        self.queue_url = queue_url
        self._client = LazyClient(client)

    @property
    def client(self) -> SQSClient:
        return self._client.get()

    def send_batch(self, messages: list[tuple[RunMessage, int]]) -> list[str]:
        """Send (message, delay) pairs ten to a SendMessageBatch; returns the run ids
        that could not be sent, each failed entry on its own or a whole failed request's
        (they stay QUEUED and recovery re-sends them)."""
        failed: list[str] = []
        for start in range(0, len(messages), MAX_BATCH_ENTRIES):
            chunk = messages[start : start + MAX_BATCH_ENTRIES]
            entries = [
                {
                    "Id": str(index),
                    "MessageBody": message.model_dump_json(),
                    "DelaySeconds": max(0, min(MAX_DELAY_SECONDS, delay)),
                }
                for index, (message, delay) in enumerate(chunk)
            ]
            try:
                response = self.client.send_message_batch(QueueUrl=self.queue_url, Entries=entries)  # type: ignore[arg-type]
            except (ClientError, BotoCoreError):
                failed += [message.run_id for message, _ in chunk]
                continue
            failed += [chunk[int(entry["Id"])][0].run_id for entry in response.get("Failed", [])]
        return failed

    def send(self, message: RunMessage, *, delay_seconds: int = 0) -> None:
        delay = max(0, min(MAX_DELAY_SECONDS, delay_seconds))
        try:
            self.client.send_message(QueueUrl=self.queue_url, MessageBody=message.model_dump_json(), DelaySeconds=delay)
        except (ClientError, BotoCoreError) as error:
            raise QueueUnavailable(f"could not queue run {message.run_id}: {error}") from error

    def retry_in(self, receipt_handle: str, seconds: int) -> None:
        """Make a received message visible again after `seconds` (0: at once), so the
        queue, not a sleeping function, waits before the next attempt."""
        self.client.change_message_visibility(
            QueueUrl=self.queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
        )
