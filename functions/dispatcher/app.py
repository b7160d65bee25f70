"""Dispatcher entry point.

Two kinds of event arrive here:
- the `rate(5 minutes)` tick (source `aws.events`, detail-type `Scheduled
  Event`): recover stragglers, claim and queue everything due before the next
  tick, within the invocation's time (the rest stays due for the next tick);
- a "run task X" event from the console, EventBridge Scheduler or a test
  (`{"task_id": ..., "owner": ...}` in `detail` or at the top level): run that
  task now, as the owner's "run now" would.
"""

from __future__ import annotations

from typing import Any

from agentcron.bootstrap.dispatcher import dispatcher, service
from agentcron.errors import AgentcronError
from agentcron.history import Actor, Via
from agentcron.models import Variables
from agentcron.observability import logger, metrics, tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class RunTaskRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    task_id: str = Field(max_length=64)
    owner: str = Field(min_length=1, max_length=256)
    variables: Variables = Field(default_factory=dict)


def run_task_request(event: dict[str, Any]) -> RunTaskRequest | None:
    """The task an event names, if it names one."""
    detail = event.get("detail")
    for candidate in (detail, event):
        if isinstance(candidate, dict) and "task_id" in candidate:
            return RunTaskRequest.model_validate(candidate)
    return None


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        request = run_task_request(event)
    except ValidationError as error:
        # A malformed console event is the sender's mistake: say so, don't retry it.
        logger.warning("ignored a malformed run-task event", extra={"errors": error.errors(include_url=False)})
        return {"status": "rejected", "errors": [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()]}
    if request is not None:
        logger.append_keys(task_id=request.task_id, owner=request.owner)
        try:
            console = Actor(request.owner, Via.CONSOLE_EVENT)
            run, _ = service().run_now(console, request.task_id, request.variables, None)
        except AgentcronError as error:
            logger.warning("run-task event refused", extra={"reason": error.detail})
            return {"status": "refused", "reason": error.detail}
        logger.info("run-task event queued a run", extra={"run_id": run.id})
        return {"status": "queued", "run_id": run.id}
    # What is left of this invocation: the tick leaves what it cannot finish to the next one.
    report = dispatcher().tick(time_left=lambda: context.get_remaining_time_in_millis() / 1000)
    return {"status": "ticked", **report.summary()}
