"""Ingest: S3 ObjectCreated under incoming/ -> SQS -> here. Each record names dropped object versions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from arcollect.ingest.drops import parse_notification, receive_drop
from arcollect.observability import logger, metrics, tracer
from arcollect.settings import get_settings
from arcollect.store import bind_table
from arcollect.store.objects import ObjectStore
from arcollect.store.repositories import Accounts, IngestFiles

bind_table(get_settings().require("table_name"))
processor = BatchProcessor(event_type=EventType.SQS)
files = IngestFiles()
accounts = Accounts()
objects = ObjectStore()


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    # "Now" is when S3's notification reached the queue, not the wall clock of this sandbox.
    sent_at = datetime.fromtimestamp(int(record.attributes.sent_timestamp) / 1000, tz=UTC)
    for drop in parse_notification(record.body):
        outcome = receive_drop(
            drop, reader=objects, register=files, now=sent_at, accounts=accounts, outputs=objects
        )
        if not outcome.duplicate:
            metrics.add_metric(name="FilesReceived", unit=MetricUnit.Count, value=1)
            metrics.add_metric(name="RowsRejected", unit=MetricUnit.Count, value=outcome.file.rejected)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
