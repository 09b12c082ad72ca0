"""Ingest: S3 ObjectCreated under incoming/ -> SQS -> here; also the chunks of large files, which this
function sends back to its own queue so they load in parallel."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from arcollect.ingest.drops import Chunk, DropOutcome, parse_message, receive_chunk, receive_drop
from arcollect.observability import logger, metrics, tracer
from arcollect.settings import get_settings
from arcollect.store import bind_table
from arcollect.store.feeds import Feeds
from arcollect.store.objects import ObjectStore
from arcollect.store.queues import WorkQueue
from arcollect.store.repositories import Accounts, Activities, IngestFiles

settings = get_settings()
bind_table(settings.require("table_name"))
processor = BatchProcessor(event_type=EventType.SQS)
files = IngestFiles()
accounts = Accounts()
objects = ObjectStore()
timeline = Activities()
# Each feed's newest file: the dunning sweep holds while one is too old.
feeds = Feeds()
queue = WorkQueue(settings.require("ingest_queue_url"))


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    # "Now" is when the message reached the queue, not the wall clock of this sandbox.
    sent_at = datetime.fromtimestamp(int(record.attributes.sent_timestamp) / 1000, tz=UTC)
    for work in parse_message(record.body):
        outcome: DropOutcome
        if isinstance(work, Chunk):
            outcome = receive_chunk(
                work,
                reader=objects,
                register=files,
                now=sent_at,
                accounts=accounts,
                parts=objects,
                outputs=objects,
                timeline=timeline,
                feeds=feeds,
            )
        else:
            outcome = receive_drop(
                work,
                reader=objects,
                register=files,
                now=sent_at,
                accounts=accounts,
                outputs=objects,
                timeline=timeline,
                fan_out=queue,
                feeds=feeds,
            )
        if outcome.file is not None and not outcome.duplicate:
            metrics.add_metric(name="FilesReceived", unit=MetricUnit.Count, value=1)
            metrics.add_metric(name="RowsRejected", unit=MetricUnit.Count, value=outcome.file.rejected)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
