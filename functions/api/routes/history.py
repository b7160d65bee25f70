"""/v1/tasks/{id}/history: every change to one of the caller's tasks, newest first."""

from __future__ import annotations

from agentcron.bootstrap.api import service
from aws_lambda_powertools.event_handler.api_gateway import Router
from history_views import HistoryPage, history_view

from routes.params import Cursor, Limit, TaskId, owner

router = Router()  # type: ignore[no-untyped-call]  # (Powertools leaves its __init__ unannotated)


@router.get("/v1/tasks/<task_id>/history", tags=["tasks"])
def list_task_history(task_id: TaskId, limit: Limit = 20, cursor: Cursor = None) -> HistoryPage:
    page = service().task_history(owner(router), task_id, limit=limit, cursor=cursor)
    return HistoryPage(items=[history_view(entry) for entry in page.items], next_cursor=page.next_cursor)
