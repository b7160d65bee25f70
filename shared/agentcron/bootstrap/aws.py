"""The container's one boto3 session and the clients made from it."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, cast

import boto3

from agentcron.store import Store

if TYPE_CHECKING:
    from mypy_boto3_events.client import EventBridgeClient
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_sqs.client import SQSClient


class AwsSession:
    """Making a client or resource from a fresh session loads and parses the service's JSON
    models (~100 ms of CPU each time); from this one, once per service. A boto3 Session is
    not thread-safe: whatever is made from it is made under one lock. What it makes is then
    either thread-safe (clients, one per service) or used by one thread at a time (a Store)."""

    def __init__(self, session: boto3.session.Session | None = None) -> None:
        self._session = session
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _locked_session(self) -> boto3.session.Session:
        """The session, made at first use (the caller holds the lock)."""
        if self._session is None:
            self._session = boto3.session.Session()
        return self._session

    def _client(self, service_name: str) -> Any:
        with self._lock:
            if service_name not in self._clients:
                self._clients[service_name] = self._locked_session().client(service_name)  # type: ignore[call-overload]
            return self._clients[service_name]

    def sqs(self) -> SQSClient:
        return cast("SQSClient", self._client("sqs"))

    def s3(self) -> S3Client:
        return cast("S3Client", self._client("s3"))

    def events(self) -> EventBridgeClient:
        return cast("EventBridgeClient", self._client("events"))

    def secretsmanager(self) -> Any:
        return self._client("secretsmanager")

    def kms(self) -> Any:
        return self._client("kms")

    def lambda_(self) -> Any:
        return self._client("lambda")

    def store(self, table_name: str, due_shards: int, *, history_retention_days: int) -> Store:
        """A new Store (one per thread: its resource is not thread-safe) on this session."""
        with self._lock:
            return Store(
                table_name,
                due_shards=due_shards,
                session=self._locked_session(),
                history_retention_days=history_retention_days,
            )
