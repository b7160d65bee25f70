"""How the runner sorts an attempt's errors (retry or fail) and how long it backs off."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx2 as httpx
import pytest
from agentcron.agent import TemplateError
from agentcron.execution import MAX_RETRY_DELAY_SECONDS, backoff_seconds, classify_error
from agentcron.secrets import MissingApiKey
from botocore.exceptions import ClientError

REQUEST = httpx.Request("POST", "https://api.anthropic.com/v1/messages")


def status_error(status: int, error_type: str, message: str, **headers: str) -> anthropic.APIStatusError:
    body = {"type": "error", "error": {"type": error_type, "message": message}}
    response = httpx.Response(status, headers=headers, json=body, request=REQUEST)
    return anthropic.APIStatusError(message, response=response, body=body)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (status_error(529, "overloaded_error", "Overloaded"), ("overloaded_error", "HTTP 529: Overloaded", True)),
        (status_error(500, "api_error", "boom"), ("api_error", "HTTP 500: boom", True)),
        (status_error(429, "rate_limit_error", "slow down"), ("rate_limit_error", "HTTP 429: slow down", True)),
        (status_error(400, "invalid_request_error", "bad"), ("invalid_request_error", "HTTP 400: bad", False)),
        (status_error(401, "authentication_error", "key"), ("authentication_error", "HTTP 401: key", False)),
        (anthropic.APITimeoutError(REQUEST), ("timeout", "the model did not answer in time", True)),
        (TemplateError("the prompt uses {{x}}"), ("template_error", "the prompt uses {{x}}", False)),
        (MissingApiKey("set ANTHROPIC_API_KEY"), ("configuration_error", "set ANTHROPIC_API_KEY", False)),
        (RuntimeError("bug"), ("internal_error", "RuntimeError: bug", False)),
    ],
)
def test_errors_are_sorted_into_retry_or_fail(error: Exception, expected: tuple[str, str, bool]) -> None:
    sorted_error = classify_error(error)
    assert (sorted_error.type, sorted_error.message, sorted_error.transient) == expected


def test_a_connection_error_is_transient() -> None:
    sorted_error = classify_error(anthropic.APIConnectionError(request=REQUEST))
    assert sorted_error.type == "connection_error" and sorted_error.transient


def test_an_aws_error_is_transient() -> None:
    error: Any = ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow"}}, "PutObject")
    sorted_error = classify_error(error)
    assert sorted_error.type == "aws_error" and sorted_error.transient
    assert "ThrottlingException" in sorted_error.message


def test_retry_after_is_read() -> None:
    assert classify_error(status_error(429, "rate_limit_error", "x", **{"retry-after": "7"})).retry_after == 7.0
    assert classify_error(status_error(429, "rate_limit_error", "x", **{"retry-after": "soon"})).retry_after is None


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    for attempt, (low, high) in {1: (5, 10), 2: (10, 20), 3: (20, 40)}.items():
        delays = {backoff_seconds(attempt, 10, None) for _ in range(200)}
        assert min(delays) >= low and max(delays) <= high
        assert len(delays) > 1, "jittered"
    assert backoff_seconds(20, 10, None) <= MAX_RETRY_DELAY_SECONDS
    assert backoff_seconds(1, 1, None) == 1, "never 0: the message must leave the queue's head"


def test_backoff_honours_retry_after_within_the_queues_limit() -> None:
    assert backoff_seconds(1, 1, 30) == 30
    assert backoff_seconds(1, 1, 5000) == MAX_RETRY_DELAY_SECONDS
