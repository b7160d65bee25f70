"""Run transcripts in S3: the whole conversation, saved when a run pauses for
input (so the reply resumes it) and when it ends (linked from the run); and
run reports (agentcron.reports), saved by the runner when a run ends."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import boto3

from agentcron.lazy_client import LazyClient
from agentcron.models import ReportFormat, Usage
from agentcron.reports.formats import MEDIA_TYPES, report_filename, report_key

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client


def transcript_key(task_id: str, run_id: str) -> str:
    return f"transcripts/{task_id}/{run_id}.json"


def _own_s3_client() -> S3Client:
    return boto3.session.Session().client("s3")


class _Objects:
    """`client` makes the S3 client at first use: the functions pass their container's
    (agentcron.bootstrap); standalone (tools, tests), one from a session of its own."""

    def __init__(self, bucket: str, client: Callable[[], S3Client] = _own_s3_client) -> None:
        self.bucket = bucket
        self._client = LazyClient(client)

    @property
    def client(self) -> S3Client:
        return self._client.get()


# A presigned report URL is good for this long: enough to follow the redirect, not to share.
REPORT_URL_SECONDS = 300


class Reports(_Objects):
    def save(self, task_id: str, run_id: str, format: ReportFormat, body: bytes) -> str:
        key = report_key(task_id, run_id, format)
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=MEDIA_TYPES[format])
        return key

    def load(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def presigned_url(self, key: str, run_id: str, format: ReportFormat) -> str:
        """A short-lived GET of the report that S3 answers with its type and file name."""
        return self.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": key,
                "ResponseContentType": MEDIA_TYPES[format],
                "ResponseContentDisposition": f'attachment; filename="{report_filename(run_id, format)}"',
            },
            ExpiresIn=REPORT_URL_SECONDS,
        )


class Transcripts(_Objects):
    def save(self, task_id: str, run_id: str, messages: list[dict[str, Any]], usage: Usage) -> str:
        key = transcript_key(task_id, run_id)
        body = json.dumps({"run_id": run_id, "messages": messages, "usage": usage.model_dump()}, default=str)
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body.encode(), ContentType="application/json")
        return key

    def load(self, key: str) -> list[dict[str, Any]]:
        body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        messages: list[dict[str, Any]] = json.loads(body)["messages"]
        return messages
