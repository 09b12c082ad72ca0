"""The ingest function's wiring (functions/ingest/handler.py): ``build_ingest`` makes its AWS
dependencies once per container, and ``Ingest.record_handler`` takes one SQS record (an S3 drop, or a
chunk of a large file this function sent back to its own queue) through Powertools' BatchProcessor.
A drop under ``inbox/`` is a customer's reply SES wrote there: it is threaded and filed
(``arcollect.inbox``), the same queue, retries and dead-letter queue as the ERP's files."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from arcollect.contract import DropPrefix, FunctionName
from arcollect.ingest.drops import Chunk, DropOutcome, parse_message, receive_chunk, receive_drop
from arcollect.observability import count, tracer
from arcollect.settings import Settings
from arcollect.store import bind_table
from arcollect.store.feeds import Feeds
from arcollect.store.inbox import ReplyBook
from arcollect.store.objects import ObjectStore
from arcollect.store.queues import WorkQueue
from arcollect.store.repositories import Accounts, Activities, IngestFiles


@dataclass
class Ingest:
    """The ingest function's use case, bound to the AWS resources ``build_ingest`` made."""

    processor: BatchProcessor
    files: IngestFiles
    accounts: Accounts
    objects: ObjectStore
    timeline: Activities
    # Each feed's newest file: the dunning sweep holds while one is too old.
    feeds: Feeds
    queue: WorkQueue
    replies: ReplyBook
    inbound_domain: str | None

    @tracer.capture_method
    def record_handler(self, record: SQSRecord) -> None:
        """One queued message: the drops (or the chunk) it names, each loaded once."""
        # "Now" is when the message reached the queue, not the wall clock of this sandbox.
        sent_at = datetime.fromtimestamp(int(record.attributes.sent_timestamp) / 1000, tz=UTC)
        for work in parse_message(record.body):
            outcome: DropOutcome
            if not isinstance(work, Chunk) and work.key.startswith(DropPrefix.INBOX):
                # The email parser is loaded by the first reply, not by every cold start (ERP files
                # are most of what the function receives).
                from arcollect.inbox.filing import receive_reply

                # A reply's "now" is when SES wrote it to the bucket (the S3 event's time).
                reply = receive_reply(
                    bucket=work.bucket,
                    key=work.key,
                    raw=b"".join(self.objects.iter_bytes(work.bucket, work.key, work.version_id)),
                    received_at=work.event_time,
                    store=self.replies,
                    objects=self.objects,
                    inbound_domain=self.inbound_domain,
                )
                if not reply.duplicate:
                    count("RepliesReceived", 1)
                continue
            if isinstance(work, Chunk):
                outcome = receive_chunk(
                    work,
                    reader=self.objects,
                    register=self.files,
                    now=sent_at,
                    accounts=self.accounts,
                    parts=self.objects,
                    outputs=self.objects,
                    timeline=self.timeline,
                    feeds=self.feeds,
                )
            else:
                outcome = receive_drop(
                    work,
                    reader=self.objects,
                    register=self.files,
                    now=sent_at,
                    accounts=self.accounts,
                    outputs=self.objects,
                    timeline=self.timeline,
                    fan_out=self.queue,
                    feeds=self.feeds,
                )
            if outcome.file is not None and not outcome.duplicate:
                count("FilesReceived", 1)
                count("RowsRejected", outcome.file.rejected)


def build_ingest(settings: Settings) -> Ingest:
    """The ingest function, once per container: settings checked, table bound, clients made."""
    settings.checked(FunctionName.INGEST)
    bind_table(settings.require("table_name"))
    return Ingest(
        processor=BatchProcessor(event_type=EventType.SQS),
        files=IngestFiles(),
        accounts=Accounts(),
        objects=ObjectStore(),
        timeline=Activities(),
        feeds=Feeds(),
        queue=WorkQueue(settings.require("ingest_queue_url")),
        replies=ReplyBook(),
        inbound_domain=settings.inbound_domain,
    )
