"""Driving the ingest function as AWS would, against moto: drop a file, deliver S3's notification, then
keep delivering what the function itself queued (the chunks of a large file) until the queue is empty."""

from __future__ import annotations

import json
import os
from typing import Any

import boto3

from tests.integration.conftest import invoke
from tests.integration.test_ingest_handler import notification, sqs_event

DROP = os.environ["DROP_BUCKET"]
QUEUE = os.environ["INGEST_QUEUE_URL"]


def upload(key: str, body: bytes, metadata: dict[str, str] | None = None) -> str:
    response = boto3.client("s3").put_object(Bucket=DROP, Key=key, Body=body, Metadata=metadata or {})
    return str(response["VersionId"])


def deliver(*bodies: str) -> None:
    assert invoke("ingest", sqs_event(*bodies)) == {"batchItemFailures": []}


def drain() -> int:
    """Deliver every message the function queued, ten at a time as the event source mapping would."""
    sqs = boto3.client("sqs")
    delivered = 0
    while messages := sqs.receive_message(QueueUrl=QUEUE, MaxNumberOfMessages=10).get("Messages", []):
        deliver(*(m["Body"] for m in messages))
        for message in messages:
            sqs.delete_message(QueueUrl=QUEUE, ReceiptHandle=message["ReceiptHandle"])
        delivered += len(messages)
    return delivered


def ingest(key: str, body: bytes, metadata: dict[str, str] | None = None) -> dict[str, Any]:
    """Drop ``body`` under ``key`` and return its result summary once every chunk has run."""
    version = upload(key, body, metadata)
    deliver(notification(key, version, len(body)))
    drain()
    return result(key)


def result(key: str) -> dict[str, Any]:
    summary_key = "results/" + key.removeprefix("incoming/") + ".json"
    body = boto3.client("s3").get_object(Bucket=DROP, Key=summary_key)["Body"].read()
    return dict(json.loads(body))


def rejected_rows(key: str) -> str:
    rows_key = "rejected/" + key.removeprefix("incoming/") + ".errors.csv"
    return str(boto3.client("s3").get_object(Bucket=DROP, Key=rows_key)["Body"].read().decode())


def upload_mapping(name: str, text: str) -> None:
    boto3.client("s3").put_object(Bucket=DROP, Key=f"config/mappings/{name}.yaml", Body=text.encode())
