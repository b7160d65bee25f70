"""/v1/templates: the catalogue of ready-made tasks (agentcron.task_templates); POST /v1/tasks
with `template` creates one."""

from __future__ import annotations

from agentcron.task_templates import TEMPLATES
from aws_lambda_powertools.event_handler.api_gateway import Router
from template_views import TemplateList, TemplateView

router = Router()  # type: ignore[no-untyped-call]  # (Powertools leaves its __init__ unannotated)


@router.get("/v1/templates", tags=["templates"])
def list_templates() -> TemplateList:
    return TemplateList(items=[TemplateView.model_validate(template.model_dump()) for template in TEMPLATES])
