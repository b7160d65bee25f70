"""/v1/tasks: create, list, read, edit, pause, resume and delete tasks, and their statistics."""

from __future__ import annotations

from typing import Annotated

from agentcron.bootstrap.api import service
from agentcron.models import DisableRequest, TaskCreate, TaskPatch
from agentcron.schedules import KindName
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from views import DueExecutionView, TaskPage, TaskStats, TaskView, run_view, stats_view, task_view

from routes.params import (
    Cursor,
    IdempotencyKey,
    IfMatch,
    Limit,
    TaskId,
    actor,
    etag,
    owner,
    parse_if_match,
    view_response,
)

router = Router()  # type: ignore[no-untyped-call]  # (Powertools leaves its __init__ unannotated)


@router.post("/v1/tasks", responses={201: {"description": "Created"}}, tags=["tasks"])
def create_task(body: Annotated[TaskCreate, Body()], idempotency_key: IdempotencyKey = None) -> Response[TaskView]:
    task, created = service().create_task(actor(router), body, idempotency_key)
    headers = {"Location": f"/v1/tasks/{task.id}", **etag(task.version)}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    return view_response(201, task_view(task, reveal_secret=created), headers)


@router.get("/v1/tasks", tags=["tasks"])
def list_tasks(
    limit: Limit = 20,
    cursor: Cursor = None,
    enabled: Annotated[bool | None, Query()] = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
    schedule_type: Annotated[KindName | None, Query()] = None,
) -> TaskPage:
    page = service().list_tasks(
        owner(router), limit=limit, cursor=cursor, enabled=enabled, tag=tag, schedule_type=schedule_type
    )
    return TaskPage(items=[task_view(t) for t in page.items], next_cursor=page.next_cursor)


@router.get("/v1/tasks/due", tags=["tasks"])
def due_tasks(
    within: Annotated[int | None, Query(ge=0, le=86_400, description="Window in seconds (default: one tick)")] = None,
) -> TaskPage:
    return TaskPage(items=[task_view(t) for t in service().due_tasks(owner(router), within)], next_cursor=None)


@router.post("/v1/tasks/execute-due", tags=["tasks"])
def execute_due() -> DueExecutionView:
    done = service().execute_due(owner(router))
    return DueExecutionView(
        started=[run_view(run) for run in done.started],
        already_queued=[run_view(run) for run in done.already_queued],
    )


@router.get("/v1/tasks/<task_id>", tags=["tasks"])
def get_task(task_id: TaskId) -> Response[TaskView]:
    svc = service()
    task = svc.get_task(owner(router), task_id)
    return view_response(200, task_view(task, next_runs=svc.upcoming(task)), etag(task.version))


@router.patch("/v1/tasks/<task_id>", tags=["tasks"])
def update_task(task_id: TaskId, body: Annotated[TaskPatch, Body()], if_match: IfMatch = None) -> Response[TaskView]:
    task = service().update_task(actor(router), task_id, body, parse_if_match(if_match))
    # The owner editing the webhook sees its signing secret; other edits never show it.
    reveal = body.notify is not None and body.notify.webhook_url is not None
    return view_response(200, task_view(task, reveal_secret=reveal), etag(task.version))


@router.delete("/v1/tasks/<task_id>", responses={204: {"description": "Deleted"}}, tags=["tasks"])
def delete_task(task_id: TaskId, if_match: IfMatch = None) -> Response[None]:
    service().delete_task(actor(router), task_id, parse_if_match(if_match))
    return Response(204)


@router.post("/v1/tasks/<task_id>/enable", tags=["tasks"])
def enable_task(task_id: TaskId) -> TaskView:
    return task_view(service().enable_task(actor(router), task_id))


@router.post("/v1/tasks/<task_id>/disable", tags=["tasks"])
def disable_task(task_id: TaskId, body: Annotated[DisableRequest | None, Body()] = None) -> TaskView:
    return task_view(service().disable_task(actor(router), task_id, body.reason if body else None))


@router.get("/v1/tasks/<task_id>/stats", tags=["tasks"])
def task_stats(task_id: TaskId) -> TaskStats:
    return stats_view(service().stats(owner(router), task_id))
