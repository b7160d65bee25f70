"""Runner entry point: SQS batches of run messages → the agent.

Each record is processed on its own (partial batch failures): a record
whose run must be retried later has its visibility timeout set to the
backoff and is reported failed, so the queue, not a sleeping Lambda, waits.
A record that cannot be parsed is made visible again at once, so it reaches
the dead-letter queue after maxReceiveCount receives instead of hours later.
"""

from __future__ import annotations

from typing import Any

# At init, not at the first run: the runner is the one function that imports the SDK (~1 s
# and ~77 MB), and SnapStart snapshots the initialised function, so a cold start restores
# it already imported instead of paying for it on the first message.
import anthropic  # noqa: F401
from agentcron.bootstrap.runner import connector_test, executor, run_queue
from agentcron.connectors.service import PROBE_EVENT_KEY
from agentcron.execution import RetryLater
from agentcron.observability import logger, metrics, tracer
from agentcron.queue import RunMessage
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

# A failed record is an expected outcome here (a retry with backoff, an
# unreadable message), reported through batchItemFailures; with one record
# per batch, raising for an "entirely failed" batch would count every
# retry as a function error and set off the errors alarm.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
# Without a Lambda context (a direct call), assume the template's default runner timeout.
DEFAULT_REMAINING_SECONDS = 330.0
# An error before the run started (a throttled read, say): look again soon, not after the
# queue's visibility timeout (half an hour); a message that keeps failing reaches the DLQ.
UNEXPECTED_ERROR_RETRY_SECONDS = 30


def _set_visibility(record: SQSRecord, seconds: int) -> None:
    run_queue().retry_in(record.receipt_handle, seconds)


def record_handler(record: SQSRecord, lambda_context: LambdaContext | None = None) -> None:
    """One run message (BatchProcessor passes the invocation's context by this parameter's name)."""
    try:
        message = RunMessage.model_validate_json(record.body)
    except ValidationError:
        logger.error("unreadable run message; it will go to the DLQ", extra={"message_id": record.message_id})
        _set_visibility(record, 0)
        raise
    remaining = lambda_context.get_remaining_time_in_millis() / 1000 if lambda_context else DEFAULT_REMAINING_SECONDS
    try:
        executor().process(message, remaining)
    except RetryLater as retry:
        logger.info("run handed back to the queue", extra={"delay_seconds": retry.seconds, "why": str(retry)})
        _set_visibility(record, retry.seconds)
        raise
    except Exception:
        logger.exception("run message failed; it will be retried", extra={"message_id": record.message_id})
        metrics.add_metric(name="RunMessageErrors", unit=MetricUnit.Count, value=1)
        _set_visibility(record, UNEXPECTED_ERROR_RETRY_SECONDS)
        raise
    finally:
        logger.remove_keys(["run_id", "task_id", "owner"])


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    probe = event.get(PROBE_EVENT_KEY)
    if isinstance(probe, dict):
        # The API's connector test (a direct invocation): this function alone opens connector secrets.
        return connector_test(str(probe.get("owner", "")), str(probe.get("connector_id", "")))
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return dict(response)
