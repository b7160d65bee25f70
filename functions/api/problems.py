"""RFC 9457 problem+json: the one place where core errors become HTTP statuses."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from agentcron import errors
from agentcron.schedules import SCHEDULE_KINDS

PROBLEM_CONTENT_TYPE = "application/problem+json"

STATUS_OF: Mapping[type[errors.AgentcronError], int] = {
    errors.BadRequest: 400,
    errors.Unauthorized: 401,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.Gone: 410,
    errors.PreconditionFailed: 412,
    errors.InvalidRequest: 422,
    errors.IdempotencyKeyReused: 422,
    errors.TooLarge: 413,
    errors.RateLimited: 429,
    errors.QueueUnavailable: 503,
}


def status_of(error: errors.AgentcronError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS_OF:
            return STATUS_OF[kind]
    return 500


def problem_body(
    status: int, detail: str, field_errors: Iterable[errors.FieldError] = (), suggestions: Sequence[str] = ()
) -> str:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    listed = [{"field": e.loc, "message": e.message} for e in field_errors]
    if listed:
        body["errors"] = listed
    if suggestions:
        body["suggestions"] = list(suggestions)
    return json.dumps(body)


def field_errors_from_pydantic(raw_errors: Sequence[Mapping[str, Any]]) -> list[errors.FieldError]:
    """Turn pydantic/Powertools validation errors into named fields with a
    human message (Powertools' own 422 drops the message)."""
    result = []
    for raw in raw_errors:
        # Drop pydantic's union-branch noise: "body.schedule.cron.expression" → "body.schedule.expression".
        loc = [str(part) for part in raw.get("loc", ()) if not _is_union_tag(part)]
        message = str(raw.get("msg") or raw.get("type") or "invalid value")
        message = message.removeprefix("Value error, ")
        if raw.get("type") == "json_invalid":
            message = "request body is not valid JSON"
        elif raw.get("type") == "extra_forbidden":
            message = "unknown field"
        result.append(errors.FieldError(loc=".".join(loc) or "body", message=message))
    return result


def _is_union_tag(part: Any) -> bool:
    return isinstance(part, str) and (part in SCHEDULE_KINDS or "[" in part)
