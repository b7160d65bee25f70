"""Newest-first pages of one query, filled with matches within a read budget.

Reads only. A cursor that does not belong to the listing is a BadRequest and
nothing is read; a full page's cursor is built from its last item, so no
matching item is ever skipped between pages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from boto3.dynamodb.conditions import ConditionBase

from agentcron.store.dynamo import plain
from agentcron.store.keys import BY_OWNER_INDEX, decode_cursor, encode_cursor

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

# The most one listing request reads: queries, and items evaluated by them (each
# query also stops at DynamoDB's 1 MB), whatever its filters match.
MAX_QUERY_ROUNDS: Final = 10
READ_BUDGET_ITEMS: Final = 2000


@dataclass(frozen=True)
class Page[T]:
    items: list[T]
    next_cursor: str | None


def owner_page[T](
    table: Table,
    partition: str,
    key_condition: ConditionBase,
    limit: int,
    cursor: str | None,
    filters: list[ConditionBase],
    parse: Callable[[dict[str, Any]], T],
    within: Callable[[Mapping[str, str]], bool] | None = None,
) -> Page[T]:
    """A page of one owner's partition of the ByOwner index."""
    return query_page(
        table,
        index=BY_OWNER_INDEX,
        key_condition=key_condition,
        key_names=("PK", "SK", "GSI1PK", "GSI1SK"),
        expected={"GSI1PK": partition},
        within=within,
        limit=limit,
        cursor=cursor,
        filters=filters,
        parse=parse,
    )


def query_page[T](
    table: Table,
    *,
    index: str | None,
    key_condition: ConditionBase,
    key_names: tuple[str, ...],
    expected: Mapping[str, str],
    limit: int,
    cursor: str | None,
    filters: list[ConditionBase],
    parse: Callable[[dict[str, Any]], T],
    within: Callable[[Mapping[str, str]], bool] | None = None,
) -> Page[T]:
    """Newest-first page of up to `limit` matching items.

    DynamoDB applies `Limit` before the filter, so a filtered query can read a
    stretch of non-matching items and return none of them. This keeps reading
    (each round twice the last, within the budget) until the page holds
    `limit` matches or the key range is done, but never reads more than
    READ_BUDGET_ITEMS items or MAX_QUERY_ROUNDS queries for one request.
    When the budget runs out first, the page holds what matched so far and a
    cursor where reading stopped: an empty page with a cursor happens only
    when a whole budget of items held no match (the caller follows the
    cursor; every request stays bounded). A full page's cursor is built from
    its last item, not from DynamoDB's LastEvaluatedKey, so no matching item
    is ever skipped."""
    kwargs: dict[str, Any] = {"KeyConditionExpression": key_condition, "ScanIndexForward": False}
    if index is not None:
        kwargs["IndexName"] = index
    if filters:
        combined = filters[0]
        for extra in filters[1:]:
            combined = combined & extra
        kwargs["FilterExpression"] = combined
    if cursor is not None:
        kwargs["ExclusiveStartKey"] = decode_cursor(cursor, expected, key_names, within)
    items: list[dict[str, Any]] = []
    last_key: dict[str, Any] | None = None
    budget = READ_BUDGET_ITEMS
    for round_ in range(MAX_QUERY_ROUNDS):
        # The first round reads exactly a page; a filtered listing then reads twice as much
        # each round (a sparse filter reaches the budget in ten rounds, a dense one stops early).
        kwargs["Limit"] = max(1, min(budget, limit * 2**round_))
        response = table.query(**kwargs)
        items.extend(response.get("Items", []))
        budget -= response.get("ScannedCount", 0)
        last_key = response.get("LastEvaluatedKey")
        if len(items) >= limit or last_key is None or budget <= 0:
            break
        kwargs["ExclusiveStartKey"] = last_key
    if len(items) > limit or (len(items) == limit and last_key is not None):
        items = items[:limit]
        next_cursor: str | None = encode_cursor({k: items[-1][k] for k in key_names})
    elif last_key is not None:
        next_cursor = encode_cursor({k: last_key[k] for k in key_names})
    else:
        next_cursor = None
    return Page(items=[parse(plain(item)) for item in items], next_cursor=next_cursor)
