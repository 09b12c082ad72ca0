"""Ingest: drop bucket ObjectCreated under incoming/ -> SQS (with DLQ) -> ingest function. The replies
SES writes under inbox/ (the Inbox construct) take the same way: the function threads and files them."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from constructs import Construct

from arcollect.contract import DropPrefix, EnvVar, FunctionName
from infra.constructs.data import DataStore
from infra.constructs.queues import dead_letter_queue, work_queue
from infra.constructs.runtime import FunctionRuntime

FUNCTION_TIMEOUT = Duration.minutes(10)


# The drop bucket's prefixes the ingest function reads and writes (contract.DropPrefix).
INGEST_READS = (DropPrefix.INCOMING, DropPrefix.MAPPINGS, DropPrefix.WORK, DropPrefix.INBOX)
INGEST_WRITES = (DropPrefix.RESULTS, DropPrefix.REJECTED, DropPrefix.WORK, DropPrefix.REPLY_ATTACHMENTS)


class Ingest(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        runtime: FunctionRuntime,
        data: DataStore,
        environment_name: str,
        home_currency: str,
        export_locale: str,
        inbound_domain: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        self.dead_letter_queue = dead_letter_queue(self, "DeadLetterQueue")
        # Visibility six times the function timeout (AWS's guidance for Lambda consumers), so a slow
        # batch is not handed to a second consumer while the first still works on it.
        self.queue = work_queue(
            self,
            "Queue",
            dlq=self.dead_letter_queue,
            visibility_timeout=Duration.seconds(FUNCTION_TIMEOUT.to_seconds() * 6),
            max_receive_count=5,
        )
        data.drop_bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3n.SqsDestination(self.queue),
            s3.NotificationKeyFilter(prefix=DropPrefix.INCOMING),
        )
        # Customers' replies, as SES's receipt rule writes them (with or without an inbound domain: a
        # message put there by hand is threaded the same way).
        data.drop_bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3n.SqsDestination(self.queue),
            s3.NotificationKeyFilter(prefix=DropPrefix.INBOX),
        )
        self.function = runtime.function(
            self,
            FunctionName.INGEST,
            description="Validates and loads ERP files dropped under incoming/",
            timeout=FUNCTION_TIMEOUT,
            memory_size=1024,
            environment={
                EnvVar.ENVIRONMENT_NAME: environment_name,
                EnvVar.TABLE_NAME: data.table.table_name,
                EnvVar.DROP_BUCKET: data.drop_bucket.bucket_name,
                EnvVar.INGEST_QUEUE_URL: self.queue.queue_url,
                EnvVar.HOME_CURRENCY: home_currency,
                EnvVar.EXPORT_LOCALE: export_locale,
                # A reply address is recognised on this domain only.
                EnvVar.INBOUND_DOMAIN: inbound_domain or "",
            },
        )
        self.function.add_event_source(
            sources.SqsEventSource(
                self.queue,
                batch_size=10,
                max_batching_window=Duration.seconds(5),
                report_batch_item_failures=True,
            )
        )
        data.table.grant_read_write_data(self.function)
        # Reads the dropped files, the named mappings, its chunks' part results and the replies SES
        # received; writes results/, rejected/, the parts under work/ and the replies' attachments.
        # Nothing else: not the dunning policy, not the change feed, not the documents' neighbours'
        # results of other stacks' prefixes.
        for prefix in INGEST_READS:
            data.drop_bucket.grant_read(self.function, f"{prefix}*")
        for prefix in INGEST_WRITES:
            data.drop_bucket.grant_put(self.function, f"{prefix}*")
        # A large file is split into line ranges sent back to this queue, to load in parallel.
        self.queue.grant_send_messages(self.function)
