"""sweep-worker function (organization mode): each SQS sweep order sweeps one account and region.

Powertools' BatchProcessor returns the records that failed in ``batchItemFailures`` (the event source mapping has
ReportBatchItemFailures): only they are retried, and after the queue's maxReceiveCount they land in its DLQ.
A malformed order is dead-lettered at once and reported done, so it is never retried.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from warden.observability import logger, metrics, tracer
from warden.wiring import build_sweep_worker

# With BatchSize 1 a failed record is the whole batch: report it, do not raise (the response says which failed).
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> dict[str, object]:
    # The lease owner is the message: a redelivery of the same order may take its own lease over.
    return build_sweep_worker().handle(record.body, owner=f"order-{record.message_id}")


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(
        process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
    )
