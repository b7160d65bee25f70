"""What the webhook-trigger routes answer (agentcron.webhook_triggers)."""

from __future__ import annotations

from datetime import datetime

from agentcron.models import WebhookTrigger
from pydantic import BaseModel, Field

HOOKS_PATH = "/v1/hooks"


class TriggerView(BaseModel):
    id: str
    task_id: str
    url: str = Field(description="Where the sender POSTs (signed in the Standard Webhooks scheme)")
    created_at: datetime
    rotated_at: datetime | None


class CreatedTrigger(TriggerView):
    secret: str = Field(
        description="whsec_…: the sender signs each delivery with it (webhook-id, webhook-timestamp, "
        "webhook-signature v1). Shown only now (and when rotated): keep it."
    )


class TriggerList(BaseModel):
    items: list[TriggerView]


class DeliveryView(BaseModel):
    run_id: str
    status: str = Field(description="The run's status now")
    duplicate: bool = Field(
        description="true: this trigger started a run for this webhook-id already (the sender's retry); "
        "that run is answered and nothing new starts"
    )


def trigger_view(trigger: WebhookTrigger, base_url: str) -> TriggerView:
    return TriggerView(
        id=trigger.id,
        task_id=trigger.task_id,
        url=f"{base_url}{HOOKS_PATH}/{trigger.id}",
        created_at=trigger.created_at,
        rotated_at=trigger.rotated_at,
    )


def created_trigger(trigger: WebhookTrigger, base_url: str) -> CreatedTrigger:
    return CreatedTrigger(**trigger_view(trigger, base_url).model_dump(), secret=trigger.secret)
