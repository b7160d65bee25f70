"""Typed errors raised by the core. The API maps them to HTTP in one place
(functions/api/problems.py), so core code never speaks HTTP status codes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One invalid field: `loc` is the path into the request (e.g. ``body.schedule.timezone``)."""

    loc: str
    message: str


class AgentcronError(Exception):
    """Base of every error the core raises on purpose."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(AgentcronError):
    """The resource does not exist, or belongs to another owner (never tell which)."""


class Gone(NotFound):
    """The resource existed and was deleted (told only to its owner; others get NotFound)."""


class Conflict(AgentcronError):
    """The request is valid but clashes with the resource's current state."""


class PreconditionFailed(AgentcronError):
    """An ``If-Match`` version no longer matches."""


class InvalidRequest(AgentcronError):
    """Input that parses but is not acceptable, with one entry per bad field; `suggestions`
    are acceptable inputs close to it, where the core can name some (schedules in words)."""

    def __init__(self, detail: str, errors: list[FieldError] | None = None, suggestions: tuple[str, ...] = ()) -> None:
        super().__init__(detail)
        self.errors = errors or []
        self.suggestions = suggestions


class BadRequest(AgentcronError):
    """Input that cannot be understood at all (e.g. a forged cursor)."""


class Unauthorized(AgentcronError):
    """No usable identity on the request."""


class TooLarge(AgentcronError):
    """A body over what its route takes (a webhook delivery's event)."""


class RateLimited(AgentcronError):
    """Too many requests of one kind in a window (a webhook trigger's per-minute limit)."""

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class IdempotencyKeyReused(AgentcronError):
    """An ``Idempotency-Key`` was sent again with a different request."""


class QueueUnavailable(AgentcronError):
    """The run queue refused a message; the run stays QUEUED for recovery."""


class StoreUnavailable(Exception):
    """DynamoDB failed or refused a call (throttled, an outage, a request it would not
    take): the operation did not happen as asked, and trying again later may succeed.
    `code` is DynamoDB's error code when it gave one. Not an AgentcronError on purpose:
    the API answers it as any unexpected failure (500, logged), as it did before the
    store translated botocore's errors."""

    retryable = True

    def __init__(self, detail: str, code: str | None = None) -> None:
        super().__init__(detail)
        self.code = code
