"""Edited cursors must not become 500s.

A cursor is opaque, but it is base64 JSON a client can decode and edit, and a
client may legitimately keep a cursor while changing a filter (``since``).
Real DynamoDB refuses a Query whose ExclusiveStartKey lies outside the key
condition with a 400 ``ValidationException`` ("The provided starting key is
outside query boundaries based on provided condition"); moto does not check
this. So these tests put DynamoDB's documented check in front of moto (a
botocore ``before-call`` hook on the API's own DynamoDB client) and drive the
real handler.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from agentcron.bootstrap.api import service
from botocore.exceptions import ClientError

from tests.integration.conftest import ApiClient, cron_task

_EQ = re.compile(r"(#\w+) = (:\w+)")
_BEGINS = re.compile(r"begins_with\((#\w+), (:\w+)\)")
_CMP = re.compile(r"(#\w+) (>=|<=|>|<) (:\w+)")
_BETWEEN = re.compile(r"(#\w+) BETWEEN (:\w+) AND (:\w+)")


def _scalar(wire: dict[str, Any]) -> Any:
    if "N" in wire:
        return float(wire["N"])
    return wire.get("S", wire.get("B"))


def outside_boundaries(request: dict[str, Any]) -> bool:
    """DynamoDB's check: does ExclusiveStartKey satisfy the KeyConditionExpression?"""
    start = request.get("ExclusiveStartKey")
    expression = request.get("KeyConditionExpression")
    if not start or not expression:
        return False
    names: dict[str, str] = request.get("ExpressionAttributeNames", {})
    values = {k: _scalar(v) for k, v in request.get("ExpressionAttributeValues", {}).items()}
    key = {k: _scalar(v) for k, v in start.items()}

    def value_of(name: str) -> Any:
        return key.get(names.get(name, name))

    for name, placeholder in _EQ.findall(expression):
        if value_of(name) != values[placeholder]:
            return True
    for name, placeholder in _BEGINS.findall(expression):
        if not str(value_of(name) or "").startswith(values[placeholder]):
            return True
    compare = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, "<": lambda a, b: a < b}
    for name, op, placeholder in _CMP.findall(expression):
        if value_of(name) is None or not compare[op](value_of(name), values[placeholder]):
            return True
    for name, low, high in _BETWEEN.findall(expression):
        if value_of(name) is None or not values[low] <= value_of(name) <= values[high]:
            return True
    return False


@pytest.fixture
def strict_dynamodb(api: ApiClient) -> Iterator[list[str]]:
    """The API's DynamoDB client refuses out-of-range start keys, as DynamoDB does."""
    refused: list[str] = []

    def check(params: dict[str, Any], **_: Any) -> None:
        request = json.loads(params["body"])
        if outside_boundaries(request):
            refused.append(json.dumps(request.get("ExclusiveStartKey")))
            raise ClientError(
                {
                    "Error": {
                        "Code": "ValidationException",
                        "Message": "The provided starting key is outside query boundaries based on provided condition",
                    }
                },
                "Query",
            )

    client = service().store.table.meta.client
    client.meta.events.register("before-call.dynamodb.Query", check)
    yield refused
    client.meta.events.unregister("before-call.dynamodb.Query", check)


def _encode(keys: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(keys).encode()).decode().rstrip("=")


def _decode(cursor: str) -> dict[str, str]:
    decoded: dict[str, str] = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    return decoded


def test_the_emulated_check_accepts_the_apis_own_cursors(api: ApiClient, strict_dynamodb: list[str]) -> None:
    """Control: paging as designed never trips DynamoDB's check."""
    task = api.post("/v1/tasks", cron_task()).json
    made = [api.post(f"/v1/tasks/{task['id']}/runs", {}).json["id"] for _ in range(3)]
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    for listing in [f"/v1/tasks/{task['id']}/runs?limit=1", f"/v1/runs?limit=1&since={since}", "/v1/runs?limit=2"]:
        seen: list[str] = []
        cursor: str | None = None
        while True:
            response = api.get(listing + (f"&cursor={cursor}" if cursor else ""))
            assert response.status == 200, response.text
            seen += [run["id"] for run in response.json["items"]]
            cursor = response.json["next_cursor"]
            if cursor is None:
                break
        assert sorted(seen) == sorted(made), listing
    assert strict_dynamodb == []


# Regression: the store once checked a cursor's partition but not that its sort key lay inside the
# query's key condition, and DynamoDB's ValidationException became a 500.


@pytest.mark.parametrize("sort_key", ["TASK", "MEM#k", "ZZZ"])
def test_an_edited_task_runs_cursor_is_a_400_not_a_500(
    api: ApiClient, strict_dynamodb: list[str], sort_key: str
) -> None:
    task = api.post("/v1/tasks", cron_task()).json
    api.post(f"/v1/tasks/{task['id']}/runs", {})
    cursor = _encode({"PK": f"TASK#{task['id']}", "SK": sort_key})
    response = api.get(f"/v1/tasks/{task['id']}/runs?cursor={cursor}")
    assert response.status == 400, response.text


def test_keeping_a_cursor_while_moving_since_forward_is_not_a_500(api: ApiClient, strict_dynamodb: list[str]) -> None:
    task = api.post("/v1/tasks", cron_task()).json
    for _ in range(2):
        api.post(f"/v1/tasks/{task['id']}/runs", {})
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    cursor = api.get(f"/v1/runs?limit=1&since={past}").json["next_cursor"]
    assert cursor and _decode(cursor)["GSI1SK"]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    response = api.get(f"/v1/runs?limit=1&since={future}&cursor={cursor}")
    assert response.status in (200, 400), response.text
