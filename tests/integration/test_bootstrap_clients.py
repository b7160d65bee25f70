"""Every AWS client a function uses comes from its root's one boto3 session,
made at first use: none from boto3's default session, none at the root's build."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from agentcron.bootstrap.api import ApiRoot
from agentcron.bootstrap.aws import AwsSession
from agentcron.bootstrap.runner import RunnerRoot


class RecordingSession(boto3.session.Session):
    """A real session that notes each client made from it (a resource is made with one)."""

    def __init__(self) -> None:
        super().__init__()
        self.made: list[str] = []

    def client(self, service_name: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        self.made.append(service_name)
        return super().client(service_name, *args, **kwargs)  # type: ignore[call-overload]


@pytest.fixture
def no_default_session(monkeypatch: pytest.MonkeyPatch) -> None:
    # boto3.client() makes boto3.DEFAULT_SESSION on first use: it staying None means no one called it.
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)


def test_the_runners_clients_all_come_from_its_one_session(
    aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, no_default_session: None
) -> None:
    arn = (
        boto3.session.Session()
        .client("secretsmanager")
        .create_secret(Name=f"{aws_env['TABLE_NAME']}-key", SecretString="sk-from-secrets-manager")["ARN"]
    )
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.setenv("ANTHROPIC_SECRET_ARN", arn)
    session = RecordingSession()
    root = RunnerRoot(aws=AwsSession(session))

    executor = root.executor
    clients = [executor.transcripts.client, executor.events.client, root.queue.client, root.anthropic_client]

    assert sorted(session.made) == ["dynamodb", "events", "s3", "secretsmanager", "sqs"]
    assert root.anthropic_client.api_key == "sk-from-secrets-manager"
    assert all(client is not None for client in clients)
    assert boto3.DEFAULT_SESSION is None


def test_the_apis_root_makes_only_the_table_until_a_request_needs_more(
    aws_env: dict[str, str], no_default_session: None
) -> None:
    session = RecordingSession()
    root = ApiRoot(aws=AwsSession(session))

    service = root.service
    assert session.made == ["dynamodb"], "the queue and the bucket cost nothing until used"

    assert service.transcripts is not None
    service.transcripts.client.list_objects_v2(Bucket=aws_env["ARTIFACTS_BUCKET"])
    service.queue.client.get_queue_attributes(QueueUrl=aws_env["RUN_QUEUE_URL"], AttributeNames=["All"])
    assert session.made == ["dynamodb", "s3", "sqs"]
    assert boto3.DEFAULT_SESSION is None
