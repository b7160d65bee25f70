"""HTTP API entry point: routes only. Each route validates its input into a
model, calls the core service and returns a view; errors are mapped to
problem+json by the handlers at the bottom, nowhere else."""

from __future__ import annotations

import base64
import binascii
import json
import re
from functools import cache
from typing import Annotated, Any

import api_document
from agentcron import errors
from agentcron.bootstrap.api import service
from agentcron.models import (
    DisableRequest,
    PreviewRequest,
    ReplyRequest,
    RunNowRequest,
    RunStatus,
    TaskCreate,
    TaskPatch,
)
from agentcron.observability import logger, metrics, tracer
from agentcron.problems import (
    PROBLEM_CONTENT_TYPE,
    field_errors_from_pydantic,
    problem_body,
    status_of,
)
from agentcron.query_params import SINCE_PATTERN, parse_since, refuse_unknown
from agentcron.schedules import KindName
from agentcron.service import utcnow
from agentcron.tools_catalog import TOOLS
from agentcron.views import (
    Health,
    RunPage,
    RunView,
    SchedulePreview,
    TaskPage,
    TaskStats,
    TaskView,
    ToolList,
    Transcript,
    run_view,
    task_view,
)
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

MAX_BODY_BYTES = 256 * 1024
OPENAPI_SECURITY: dict[str, Any] = {
    "security_schemes": {"bearer": HTTPBearer(bearerFormat="JWT")},
    "security": [{"bearer": []}],
}

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

TaskId = Annotated[str, Path(max_length=64)]
RunId = Annotated[str, Path(max_length=96)]
Limit = Annotated[int, Query(ge=1, le=100, description="Page size")]
Cursor = Annotated[str | None, Query(max_length=2048, description="`next_cursor` of the previous page")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Retries with the same key and body return the first result",
    ),
]
IfMatch = Annotated[str | None, Header(max_length=64, description='The task `version`, e.g. `"3"`')]
_VERSION_RE = re.compile(r'^(?:W/)?"?(\d{1,9})"?$')


def owner() -> str:
    claims = app.current_event.request_context.authorizer.jwt_claim or {}
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise errors.Unauthorized("the bearer token carries no subject")
    return subject


def parse_if_match(value: str | None) -> int | None:
    if value is None:
        return None
    match = _VERSION_RE.match(value.strip())
    if match is None:
        raise errors.InvalidRequest(
            "If-Match must be a task version",
            [errors.FieldError("header.if-match", 'expected a version number such as "3"')],
        )
    return int(match[1])


def etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}


def view_response[V: BaseModel](status: int, view: V, headers: dict[str, str] | None = None) -> Response[V]:
    """A view with a status other than 200 or extra headers; the resolver serialises it."""
    return Response(status, content_type="application/json", body=view, headers=headers)


# ---- tasks ---------------------------------------------------------------


@app.post("/v1/tasks", responses={201: {"description": "Created"}}, tags=["tasks"])
def create_task(body: Annotated[TaskCreate, Body()], idempotency_key: IdempotencyKey = None) -> Response[TaskView]:
    task, created = service().create_task(owner(), body, idempotency_key)
    headers = {"Location": f"/v1/tasks/{task.id}", **etag(task.version)}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    return view_response(201, task_view(task, reveal_secret=created), headers)


@app.get("/v1/tasks", tags=["tasks"])
def list_tasks(
    limit: Limit = 20,
    cursor: Cursor = None,
    enabled: Annotated[bool | None, Query()] = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
    schedule_type: Annotated[KindName | None, Query()] = None,
) -> TaskPage:
    page = service().list_tasks(
        owner(), limit=limit, cursor=cursor, enabled=enabled, tag=tag, schedule_type=schedule_type
    )
    return TaskPage(items=[task_view(t) for t in page.items], next_cursor=page.next_cursor)


@app.get("/v1/tasks/due", tags=["tasks"])
def due_tasks(
    within: Annotated[int | None, Query(ge=0, le=86_400, description="Window in seconds (default: one tick)")] = None,
) -> TaskPage:
    return TaskPage(items=[task_view(t) for t in service().due_tasks(owner(), within)], next_cursor=None)


@app.get("/v1/tasks/<task_id>", tags=["tasks"])
def get_task(task_id: TaskId) -> Response[TaskView]:
    svc = service()
    task = svc.get_task(owner(), task_id)
    return view_response(200, task_view(task, next_runs=svc.upcoming(task)), etag(task.version))


@app.patch("/v1/tasks/<task_id>", tags=["tasks"])
def update_task(task_id: TaskId, body: Annotated[TaskPatch, Body()], if_match: IfMatch = None) -> Response[TaskView]:
    task = service().update_task(owner(), task_id, body, parse_if_match(if_match))
    # The owner editing the webhook sees its signing secret; other edits never show it.
    reveal = body.notify is not None and body.notify.webhook_url is not None
    return view_response(200, task_view(task, reveal_secret=reveal), etag(task.version))


@app.delete("/v1/tasks/<task_id>", responses={204: {"description": "Deleted"}}, tags=["tasks"])
def delete_task(task_id: TaskId, if_match: IfMatch = None) -> Response[None]:
    service().delete_task(owner(), task_id, parse_if_match(if_match))
    return Response(204)


@app.post("/v1/tasks/<task_id>/enable", tags=["tasks"])
def enable_task(task_id: TaskId) -> TaskView:
    return task_view(service().enable_task(owner(), task_id))


@app.post("/v1/tasks/<task_id>/disable", tags=["tasks"])
def disable_task(task_id: TaskId, body: Annotated[DisableRequest | None, Body()] = None) -> TaskView:
    return task_view(service().disable_task(owner(), task_id, body.reason if body else None))


@app.post("/v1/tasks/<task_id>/runs", responses={202: {"description": "Queued"}}, tags=["runs"])
def run_task_now(
    task_id: TaskId,
    body: Annotated[RunNowRequest | None, Body()] = None,
    idempotency_key: IdempotencyKey = None,
) -> Response[RunView]:
    variables = body.variables if body else {}
    run, created = service().run_now(owner(), task_id, variables, idempotency_key)
    headers = {"Location": f"/v1/runs/{run.id}"}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    return view_response(202, run_view(run), headers)


@app.get("/v1/tasks/<task_id>/runs", tags=["runs"])
def list_task_runs(
    task_id: TaskId,
    limit: Limit = 20,
    cursor: Cursor = None,
    status: Annotated[RunStatus | None, Query()] = None,
) -> RunPage:
    page = service().list_task_runs(owner(), task_id, limit=limit, cursor=cursor, status=status)
    return RunPage(items=service().run_views(owner(), page.items), next_cursor=page.next_cursor)


@app.get("/v1/tasks/<task_id>/stats", tags=["tasks"])
def task_stats(task_id: TaskId) -> TaskStats:
    return service().stats(owner(), task_id)


# ---- runs ----------------------------------------------------------------


@app.get("/v1/runs", tags=["runs"])
def list_runs(
    limit: Limit = 20,
    cursor: Cursor = None,
    status: Annotated[RunStatus | None, Query()] = None,
    since: Annotated[
        str | None,
        Query(
            max_length=40,
            # A date and time or a duration, not a number: pydantic's datetime would also take Unix seconds.
            pattern=SINCE_PATTERN,
            description="How far back: a duration (`1h`, `30m`, `7d`) or an ISO 8601 instant with offset",
        ),
    ] = None,
) -> RunPage:
    svc = service()
    since_at = parse_since(since, now=svc.clock())
    page = svc.list_runs(owner(), limit=limit, cursor=cursor, status=status, since=since_at)
    return RunPage(items=svc.run_views(owner(), page.items), next_cursor=page.next_cursor)


@app.get("/v1/runs/<run_id>", tags=["runs"])
def get_run(run_id: RunId) -> RunView:
    [view] = service().run_views(owner(), [service().get_run(owner(), run_id)])
    return view


@app.get("/v1/runs/<run_id>/transcript", tags=["runs"])
def run_transcript(run_id: RunId) -> Transcript:
    return Transcript(run_id=run_id, messages=service().transcript(owner(), run_id))


@app.post("/v1/runs/<run_id>/reply", responses={202: {"description": "Queued"}}, tags=["runs"])
def reply_to_run(run_id: RunId, body: Annotated[ReplyRequest, Body()]) -> Response[RunView]:
    return view_response(202, run_view(service().reply_to_run(owner(), run_id, body.reply)))


@app.post("/v1/runs/<run_id>/cancel", tags=["runs"])
def cancel_run(run_id: RunId) -> RunView:
    return run_view(service().cancel_run(owner(), run_id))


# ---- schedules, tools, meta ------------------------------------------------


@app.post("/v1/schedules/preview", tags=["schedules"])
def preview_schedule(body: Annotated[PreviewRequest, Body()]) -> SchedulePreview:
    owner()
    return service().preview(body)


@app.get("/v1/tools", tags=["tools"])
def list_tools() -> ToolList:
    owner()
    return ToolList(items=list(TOOLS))


@app.get("/v1/health", tags=["meta"], security=[])
def health() -> Health:
    return Health(status="ok", time=utcnow())


@cache
def openapi() -> dict[str, Any]:
    """Powertools' document completed by api_document (statuses, headers, names, constraints)."""
    generated = json.loads(app.get_openapi_json_schema(title=api_document.INFO["title"], **OPENAPI_SECURITY))
    return api_document.complete(generated)


@cache
def openapi_json() -> str:
    return json.dumps(openapi())


@app.get("/v1/openapi.json", include_in_schema=False)
def openapi_document() -> Response[str]:
    return Response(200, content_type="application/json", body=openapi_json())


@app.get("/v1/docs", include_in_schema=False)
def swagger_page() -> Response[str]:
    """Swagger UI showing the very document /v1/openapi.json serves (Powertools' own page embeds
    its uncorrected one)."""
    script, style = api_document.swagger_assets()
    # "</" inside the inlined JSON would end the script element early.
    spec = openapi_json().replace("</", "<\\/")
    page = generate_swagger_html(spec, script, style, "", None, persist_authorization=False)
    return Response(200, content_type="text/html", body=page)


# ---- errors: the one mapping to HTTP ---------------------------------------


def problem(
    status: int,
    detail: str,
    field_errors: list[errors.FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[str]:
    return Response(
        status_code=status,
        content_type=PROBLEM_CONTENT_TYPE,
        body=problem_body(status, detail, field_errors or []),
        headers=headers,
    )


@app.exception_handler(errors.AgentcronError)  # type: ignore[untyped-decorator]
def handle_core_error(error: errors.AgentcronError) -> Response[str]:
    field_errors = error.errors if isinstance(error, errors.InvalidRequest) else None
    return problem(status_of(error), error.detail, field_errors)


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
