"""Fixtures shared by the whole suite.

- ``moto_server`` (session): one moto server for the run, DynamoDB requests
  serialised (moto's DynamoDB is not thread-safe; see NOTES.md). While it
  runs, the process environment points every boto3 client at it
  (AWS_ENDPOINT_URL, dummy credentials, us-east-1, no AWS_PROFILE), so no
  test can reach a real account.
- ``aws_env`` (per test): the template's table, queues, bucket and bus,
  created in that server under a prefix of its own (``t`` + 8 hex), so tests
  never see each other's data and need no cleanup; the functions' variables
  (TABLE_NAME, RUN_QUEUE_URL, ...) are set in os.environ for the test and
  returned. About 50 ms per test.
- ``cfn`` (session): template.yaml translated offline to CloudFormation.
- ``state_dir`` (per test): an empty local-stack state dir (signing key, pid
  file) in tmp_path, set as AGENTCRON_STATE_DIR.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agentcron import bootstrap
from agentcron_local.motoserver import MotoHandle, start_moto
from agentcron_local.resources import create_resources
from agentcron_local.stack import AWS_VARIABLES_TO_CLEAR, local_aws_environment
from agentcron_local.tokens import STATE_DIR_ENV

from tests.infrastructure import iam


def pytest_configure(config: pytest.Config) -> None:
    # The CLI shows times in the user's zone ($TZ); the suite's expected output is written in UTC.
    os.environ["TZ"] = "UTC"


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoHandle]:
    handle = start_moto(port=0)
    # Session-scoped, so pytest's function-scoped monkeypatch cannot be used.
    with pytest.MonkeyPatch.context() as mp:
        for name in AWS_VARIABLES_TO_CLEAR:
            mp.delenv(name, raising=False)
        for name, value in local_aws_environment(handle.endpoint).items():
            mp.setenv(name, value)
        try:
            yield handle
        finally:
            handle.stop()


@pytest.fixture
def aws_env(moto_server: MotoHandle, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    env = create_resources(moto_server.endpoint, prefix=f"t{uuid.uuid4().hex[:8]}")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # A fresh stack is a fresh container: handlers must not reuse clients and
    # settings cached for an earlier test's resources (or an earlier local stack).
    bootstrap.reset()
    yield env
    bootstrap.reset()


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "state"
    monkeypatch.setenv(STATE_DIR_ENV, str(path))
    return path


@pytest.fixture(scope="session")
def cfn() -> dict[str, Any]:
    """template.yaml translated offline to CloudFormation (what `sam deploy` would submit)."""
    return iam.translate()
