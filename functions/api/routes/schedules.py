"""/v1/schedules: try a schedule before saving it, or say it in words."""

from __future__ import annotations

from typing import Annotated

from agentcron.bootstrap.api import service
from agentcron.models import PreviewRequest, ScheduleWordsRequest
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from views import ScheduleFromWords, SchedulePreview, preview_view, words_view

from routes.params import owner

router = Router()  # type: ignore[no-untyped-call]  # (Powertools leaves its __init__ unannotated)


@router.post("/v1/schedules/preview", tags=["schedules"])
def preview_schedule(body: Annotated[PreviewRequest, Body()]) -> SchedulePreview:
    owner(router)
    return preview_view(service().preview(body))


@router.post("/v1/schedules/parse", tags=["schedules"])
def parse_schedule(body: Annotated[ScheduleWordsRequest, Body()]) -> ScheduleFromWords:
    owner(router)
    return words_view(service().parse_words(body))
