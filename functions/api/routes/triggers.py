"""Webhook triggers: a task's inbound webhooks (agentcron.webhook_triggers). The owner makes,
lists, rotates and deletes them; `POST /v1/hooks/{trigger_id}` is the public URL a sender
posts to, without a token: its Standard Webhooks signature is what authenticates it (the
template gives that route no authorizer)."""

from __future__ import annotations

import json
from typing import Annotated, Any, cast

from agentcron.bootstrap.api import webhook_triggers
from agentcron.webhook_triggers import MAX_EVENT_BYTES
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from trigger_views import CreatedTrigger, DeliveryView, TriggerList, created_trigger, trigger_view

from routes.params import TaskId, actor, owner, view_response

router = Router()  # type: ignore[no-untyped-call]  # (Powertools leaves its __init__ unannotated)

TriggerId = Annotated[str, Path(max_length=64)]


def _base_url() -> str:
    """The API's own address, as the caller reached it: where the trigger's URL points."""
    event = cast(APIGatewayProxyEventV2, router.current_event)
    headers = event.headers or {}
    scheme = headers.get("x-forwarded-proto", "https")
    return f"{scheme}://{headers.get('host') or event.request_context.domain_name}"


@router.post("/v1/tasks/<task_id>/triggers", responses={201: {"description": "Created"}}, tags=["triggers"])
def create_trigger(task_id: TaskId) -> Response[CreatedTrigger]:
    trigger = webhook_triggers().add_trigger(actor(router), task_id)
    return view_response(201, created_trigger(trigger, _base_url()), {"Location": f"/v1/triggers/{trigger.id}"})


@router.get("/v1/tasks/<task_id>/triggers", tags=["triggers"])
def list_triggers(task_id: TaskId) -> TriggerList:
    base = _base_url()
    return TriggerList(items=[trigger_view(t, base) for t in webhook_triggers().triggers_of(owner(router), task_id)])


@router.post("/v1/triggers/<trigger_id>/rotate", tags=["triggers"])
def rotate_trigger(trigger_id: TriggerId) -> CreatedTrigger:
    return created_trigger(webhook_triggers().rotate_secret(actor(router), trigger_id), _base_url())


@router.delete("/v1/triggers/<trigger_id>", responses={204: {"description": "Deleted"}}, tags=["triggers"])
def delete_trigger(trigger_id: TriggerId) -> Response[None]:
    webhook_triggers().remove_trigger(actor(router), trigger_id)
    return Response(204)


@router.post(
    "/v1/hooks/<trigger_id>",
    responses={202: {"description": "Accepted: the run is queued"}},
    tags=["triggers"],
    security=[],
)
def deliver_webhook(
    trigger_id: TriggerId,
    body: Annotated[
        dict[str, Any],
        Body(description=f"Any JSON object (at most {MAX_EVENT_BYTES // 1024} KiB): the prompt's {{{{event}}}}"),
    ],
) -> Response[DeliveryView]:
    event = cast(APIGatewayProxyEventV2, router.current_event)
    # The signature is over the bytes as sent: the raw body, not the parsed one.
    raw = (event.body or json.dumps(body)).encode("utf-8")
    delivery = webhook_triggers().take_delivery(trigger_id, event.headers or {}, raw)
    view = DeliveryView(run_id=delivery.run.id, status=delivery.run.status.value, duplicate=delivery.duplicate)
    return view_response(200 if delivery.duplicate else 202, view, {"Location": f"/v1/runs/{delivery.run.id}"})
