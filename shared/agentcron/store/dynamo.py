"""botocore's errors in agentcron's terms, and the wire-level helpers every part uses.

Contract: a failed condition is a decision, never an error that escapes raw: each
part turns it into its own outcome (False, None, NotFound, Conflict, ClaimLost...).
Every other ClientError or BotoCoreError leaving a public Store method becomes
`agentcron.errors.StoreUnavailable` (chained to the original), so callers catch
one typed error and never import botocore.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, Final

from botocore.config import Config
from botocore.exceptions import ClientError

from agentcron.aws_errors import AWS_ERRORS, error_code
from agentcron.errors import StoreUnavailable

# Throttling is retried with backoff and jitter by botocore itself.
RETRIES: Final = Config(retries={"mode": "standard", "max_attempts": 6})


class _ConditionFailed(Exception):
    """A conditional UpdateItem's condition did not hold; `old` is the item as it was."""

    def __init__(self, old: dict[str, Any] | None) -> None:
        super().__init__("condition failed")
        self.old = old


def is_condition_failure(error: ClientError) -> bool:
    return error_code(error) == "ConditionalCheckFailedException"


def unavailable(error: Exception) -> StoreUnavailable:
    return StoreUnavailable(f"{type(error).__name__}: {error}", error_code(error))


def translated[**P, R](method: Callable[P, R]) -> Callable[P, R]:
    """A store operation whose botocore errors leave as StoreUnavailable."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except AWS_ERRORS as error:
            raise unavailable(error) from error

    return wrapper


def translated_iter[**P, T](method: Callable[P, Iterator[T]]) -> Callable[P, Iterator[T]]:
    """As `translated`, for a lazily paged read: a page that fails mid-iteration too."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Iterator[T]:
        try:
            yield from method(*args, **kwargs)
        except AWS_ERRORS as error:
            raise unavailable(error) from error

    return wrapper


def plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; the models want int/float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def storable(value: Any) -> Any:
    """The other way: boto3 refuses floats (a budget of 0.8 dollars); DynamoDB takes
    Decimal, made from the float's shortest repr so 0.8 stays 0.8."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [storable(v) for v in value]
    return value
