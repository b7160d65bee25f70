"""Runner entry point: SQS batches of run messages → the agent.

Each record is processed on its own (partial batch failures): a record
whose run must be retried later has its visibility timeout set to the
backoff and is reported failed, so the queue, not a sleeping Lambda, waits.
"""

from __future__ import annotations

from typing import Any

import boto3
from agentcron.config import settings
from agentcron.execution import RetryLater
from agentcron.observability import logger, metrics, tracer
from agentcron.queue import RunMessage
from agentcron.wiring import executor
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

processor = BatchProcessor(event_type=EventType.SQS)
_sqs: Any = None


def _set_visibility(record: SQSRecord, seconds: int) -> None:
    global _sqs
    if _sqs is None:
        _sqs = boto3.client("sqs")
    _sqs.change_message_visibility(
        QueueUrl=settings().run_queue_url, ReceiptHandle=record.receipt_handle, VisibilityTimeout=seconds
    )


def record_handler(record: SQSRecord) -> None:
    try:
        message = RunMessage.model_validate_json(record.body)
    except ValidationError:
        # Unreadable: let it reach the dead-letter queue quickly instead of after hours of timeouts.
        logger.error("unreadable run message; it will go to the DLQ", extra={"message_id": record.message_id})
        _set_visibility(record, 0)
        raise
    context = _context
    remaining = context.get_remaining_time_in_millis() / 1000 if context else 300.0
    try:
        executor().process(message, remaining)
    except RetryLater as retry:
        logger.info("run handed back to the queue", extra={"delay_seconds": retry.seconds, "why": str(retry)})
        _set_visibility(record, retry.seconds)
        raise
    finally:
        logger.remove_keys(["run_id", "task_id", "owner"])


_context: LambdaContext | None = None


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    global _context
    _context = context
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return dict(response)
