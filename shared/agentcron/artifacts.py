"""Run transcripts in S3: the whole conversation, saved when a run pauses for
input (so the reply resumes it) and when it ends (linked from the run)."""

from __future__ import annotations

import json
from typing import Any

import boto3

from agentcron.models import Usage


def transcript_key(task_id: str, run_id: str) -> str:
    return f"transcripts/{task_id}/{run_id}.json"


class Transcripts:
    def __init__(self, bucket: str, client: Any = None) -> None:
        self.bucket = bucket
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = boto3.client("s3")
        return self._client

    def save(self, task_id: str, run_id: str, messages: list[dict[str, Any]], usage: Usage) -> str:
        key = transcript_key(task_id, run_id)
        body = json.dumps({"run_id": run_id, "messages": messages, "usage": usage.model_dump()}, default=str)
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body.encode(), ContentType="application/json")
        return key

    def load(self, key: str) -> list[dict[str, Any]]:
        body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        messages: list[dict[str, Any]] = json.loads(body)["messages"]
        return messages
