"""Runs: start one now, list and follow them, read the transcript and the report, answer a question, cancel."""

from __future__ import annotations

from typing import Annotated

from agentcron.bootstrap.api import service
from agentcron.models import ReplyRequest, RunNowRequest, RunStatus
from agentcron.reports.formats import MEDIA_TYPES
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponseContentSchema
from query_params import SINCE_PATTERN, parse_since
from views import RunPage, RunView, Transcript, run_view, run_views

from routes.params import Cursor, IdempotencyKey, Limit, RunId, TaskId, actor, owner, view_response

router = Router()  # type: ignore[no-untyped-call]  # (Powertools leaves its __init__ unannotated)


@router.post("/v1/tasks/<task_id>/runs", responses={202: {"description": "Queued"}}, tags=["runs"])
def run_task_now(
    task_id: TaskId,
    body: Annotated[RunNowRequest | None, Body()] = None,
    idempotency_key: IdempotencyKey = None,
) -> Response[RunView]:
    variables = body.variables if body else {}
    run, created = service().run_now(actor(router), task_id, variables, idempotency_key)
    headers = {"Location": f"/v1/runs/{run.id}"}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    return view_response(202, run_view(run), headers)


@router.get("/v1/tasks/<task_id>/runs", tags=["runs"])
def list_task_runs(
    task_id: TaskId,
    limit: Limit = 20,
    cursor: Cursor = None,
    status: Annotated[RunStatus | None, Query()] = None,
) -> RunPage:
    svc, caller = service(), owner(router)
    page = svc.list_task_runs(caller, task_id, limit=limit, cursor=cursor, status=status)
    return RunPage(items=run_views(page.items, svc.deleted_tasks_of(caller, page.items)), next_cursor=page.next_cursor)


@router.get("/v1/runs", tags=["runs"])
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
    svc, caller = service(), owner(router)
    since_at = parse_since(since, now=svc.clock())
    page = svc.list_runs(caller, limit=limit, cursor=cursor, status=status, since=since_at)
    return RunPage(items=run_views(page.items, svc.deleted_tasks_of(caller, page.items)), next_cursor=page.next_cursor)


@router.get("/v1/runs/<run_id>", tags=["runs"])
def get_run(run_id: RunId) -> RunView:
    svc, caller = service(), owner(router)
    run = svc.get_run(caller, run_id)
    [view] = run_views([run], svc.deleted_tasks_of(caller, [run]))
    return view


@router.get("/v1/runs/<run_id>/transcript", tags=["runs"])
def run_transcript(run_id: RunId) -> Transcript:
    return Transcript(run_id=run_id, messages=service().transcript(owner(router), run_id))


# A report's answer, whatever its format: the HTML one holds model output, so it is sandboxed
# (no script, no same origin) even when opened directly, and never sniffed as something else.
REPORT_HEADERS = {
    "Content-Security-Policy": "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "private, no-store",
}
_REPORT_FILE: OpenAPIResponseContentSchema = {"schema": {"type": "string"}}


@router.get(
    "/v1/runs/<run_id>/report",
    responses={
        200: {"description": "The report file", "content": dict.fromkeys(MEDIA_TYPES.values(), _REPORT_FILE)},
        307: {"description": "Deployed: a redirect to the report at a presigned S3 URL good for 5 minutes"},
    },
    tags=["runs"],
)
# No return annotation on purpose: Powertools validates and JSON-serialises an annotated return,
# which would turn a PDF's bytes into text; unannotated, a non-JSON Response passes as it is.
def run_report(run_id: RunId):  # type: ignore[no-untyped-def]
    report = service().report(owner(router), run_id)
    if report.url is not None:
        return Response(307, headers={"Location": report.url, "Cache-Control": "private, no-store"})
    headers = {**REPORT_HEADERS, "Content-Disposition": f'attachment; filename="{report.filename}"'}
    return Response(200, content_type=report.media_type, body=report.body, headers=headers)


@router.post("/v1/runs/<run_id>/reply", responses={202: {"description": "Queued"}}, tags=["runs"])
def reply_to_run(run_id: RunId, body: Annotated[ReplyRequest, Body()]) -> Response[RunView]:
    return view_response(202, run_view(service().reply_to_run(actor(router), run_id, body.reply)))


@router.post("/v1/runs/<run_id>/cancel", tags=["runs"])
def cancel_run(run_id: RunId) -> RunView:
    return run_view(service().cancel_run(actor(router), run_id))
