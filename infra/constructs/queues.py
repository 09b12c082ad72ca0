"""The queues of the app share one security baseline: SSE, TLS-only access, long retention for DLQs."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct


def dead_letter_queue(scope: Construct, id: str) -> sqs.Queue:
    """A DLQ that keeps failed deliveries for 14 days (the maximum) so ops can inspect and redrive them."""
    return sqs.Queue(
        scope,
        id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(14),
    )


def work_queue(
    scope: Construct, id: str, *, dlq: sqs.IQueue, visibility_timeout: Duration, max_receive_count: int
) -> sqs.Queue:
    return sqs.Queue(
        scope,
        id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        visibility_timeout=visibility_timeout,
        retention_period=Duration.days(4),
        dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=max_receive_count),
    )
