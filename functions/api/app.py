"""HTTP API entry point: the resolver, its middleware, the routes of each resource
(routes/), and the one mapping of errors to problem+json. Each route validates its
input into a model, calls the core service and returns a view (views.py)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import api_document
from agentcron import errors
from agentcron.observability import logger, metrics, tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from problems import PROBLEM_CONTENT_TYPE, field_errors_from_pydantic, problem_body, status_of
from query_params import refuse_unknown
from routes import api_keys, connectors, conversations, history, meta, runs, schedules, tasks, templates, triggers

MAX_BODY_BYTES = 256 * 1024

app = APIGatewayHttpResolver(enable_validation=True)


def refuse_unknown_query_parameters(resolver: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """Every route takes only the query parameters it declares (Powertools' own routes,
    the Swagger UI, read theirs themselves)."""
    route = resolver.context["_route"]
    if not route.func.__module__.startswith("aws_lambda_powertools"):
        given = resolver.current_event.query_string_parameters or {}
        refuse_unknown(given, (param.alias for param in route.dependant.query_params))
    return next_middleware(resolver)


app.use([refuse_unknown_query_parameters])

for resource in (tasks, history, runs, conversations, connectors, api_keys, schedules, templates, triggers, meta):
    app.include_router(resource.router)


# ---- errors: the one mapping to HTTP ---------------------------------------


def problem(
    status: int,
    detail: str,
    field_errors: list[errors.FieldError] | None = None,
    headers: dict[str, str] | None = None,
    suggestions: tuple[str, ...] = (),
) -> Response[str]:
    return Response(
        status_code=status,
        content_type=PROBLEM_CONTENT_TYPE,
        body=problem_body(status, detail, field_errors or [], suggestions),
        headers=headers,
    )


@app.exception_handler(errors.AgentcronError)  # type: ignore[untyped-decorator]
def handle_core_error(error: errors.AgentcronError) -> Response[str]:
    headers = {"Retry-After": str(error.retry_after)} if isinstance(error, errors.RateLimited) else None
    if isinstance(error, errors.InvalidRequest):
        return problem(status_of(error), error.detail, error.errors, headers, suggestions=error.suggestions)
    return problem(status_of(error), error.detail, None, headers)


def invalid_detail(field_errors: list[errors.FieldError]) -> str:
    """A 422's detail: the first few fields and what is wrong with each."""
    return "the request is not valid: " + "; ".join(f"{e.loc}: {e.message}" for e in field_errors[:5])


@app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
def handle_validation_error(error: RequestValidationError) -> Response[str]:
    field_errors = field_errors_from_pydantic(error.errors())
    return problem(422, invalid_detail(field_errors), field_errors)


@app.not_found
def handle_not_found(_: Exception) -> Response[str]:
    return problem(404, f"no route for {app.current_event.http_method} {app.current_event.path}")


@app.exception_handler(Exception)  # type: ignore[untyped-decorator]
def handle_unexpected(error: Exception) -> Response[str]:
    logger.exception("unhandled error")
    return problem(500, "internal error; the request id in the logs identifies it")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    method, path = event.get("requestContext", {}).get("http", {}).get("method", ""), event.get("rawPath", "")
    allowed = api_document.allowed_methods(path)
    if allowed and method not in allowed:
        # The path exists, the method does not (RFC 9110: 405 with the methods it takes). Checked
        # before routing: the router would take PATCH /v1/tasks/due for a task named "due".
        response = early_problem(405, f"{method} is not allowed on {path}; it takes {', '.join(allowed)}")
        response["headers"]["Allow"] = ", ".join(allowed)
        return response
    body = event.get("body")
    if body is not None and len(body) > MAX_BODY_BYTES:
        # Checked before routing: validating a huge body would be the expensive part.
        return early_problem(413, f"request body is larger than {MAX_BODY_BYTES // 1024} KiB")
    if body:
        if not is_json_media_type((event.get("headers") or {}).get("content-type")):
            # Powertools would parse a form or multipart body (a 500 without a boundary): only JSON is taken.
            return early_problem(415, "the body must be JSON: send Content-Type: application/json")
        if event.get("isBase64Encoded"):
            # API Gateway base64-encodes a body it cannot pass as text; Powertools would
            # decode it with .decode() and raise UnicodeDecodeError (a 500) on anything not UTF-8.
            try:
                body = base64.b64decode(body, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return invalid_body("not UTF-8 JSON")
            event = {**event, "body": body, "isBase64Encoded": False}
        # Powertools unwraps a list to its first element for a model parameter ([{...}, anything]
        # would be taken as {...}), so anything but an object is refused here. An object body (the
        # usual case) is left to the resolver, which parses it once.
        # JSON null is refused too: an optional body is left out, never null.
        refused = body.strip() == "null" or not isinstance(_json_or_none(body), dict | None)
        if not body.lstrip().startswith("{") and refused:
            return invalid_body("must be a JSON object")
    return app.resolve(event, context)


def is_json_media_type(content_type: str | None) -> bool:
    """No Content-Type (taken as JSON, as Powertools does) or application/json: the one body type
    the document declares (Powertools would refuse even a +json type with a 500)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media in ("", "application/json")


def _json_or_none(text: str) -> Any:
    """The parsed JSON, or None for text that is not JSON (the resolver's validation answers that)."""
    try:
        return json.loads(text)
    except ValueError:
        return None


def early_problem(status: int, detail: str, field_errors: list[errors.FieldError] | None = None) -> dict[str, Any]:
    """A problem answered before routing, in the shape API Gateway expects back."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": PROBLEM_CONTENT_TYPE},
        "body": problem_body(status, detail, field_errors or []),
    }


def invalid_body(message: str) -> dict[str, Any]:
    field_errors = [errors.FieldError("body", message)]
    return early_problem(422, invalid_detail(field_errors), field_errors)
