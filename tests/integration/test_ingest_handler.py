"""Ingest: an S3 notification delivered through SQS records the dropped file version exactly once."""

from __future__ import annotations

import json
import os
import zlib
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from arcollect.contract import document_key
from arcollect.entities import DropKind, FileStatus
from arcollect.store.repositories import IngestFiles
from tests.integration.conftest import invoke, load_event

DROP = os.environ["DROP_BUCKET"]
CSV = (
    b"customer_id,invoice_number,invoice_date,due_date,amount,currency\n"
    b"C-1,INV-1,2026-10-01,2026-10-31,100.00,EUR\n"
    b"C-1,INV-2,2026-10-05,2026-11-04,250.00,EUR\n"
    b"C-2,INV-3,2026-10-09,2026-11-08,75.50,EUR"
)
PAYMENTS_HEADER = b"customer_id,payment_id,payment_date,amount,currency\n"


def sqs_event(*bodies: str) -> dict[str, Any]:
    template = load_event("sqs_s3_object_created.json")["Records"][0]
    records = []
    for index, body in enumerate(bodies):
        record = dict(template, body=body, messageId=f"message-{index}")
        records.append(record)
    return {"Records": records}


def notification(key: str, version_id: str, size: int, etag: str = "etag") -> str:
    event = load_event("s3_object_created.json")
    obj = event["Records"][0]["s3"]["object"]
    event["Records"][0]["s3"]["bucket"]["name"] = DROP
    obj.update(key=key, versionId=version_id, size=size, eTag=etag)
    return json.dumps(event)


def drop(s3: Any, key: str, body: bytes) -> str:
    return str(s3.put_object(Bucket=DROP, Key=key, Body=body)["VersionId"])


def test_a_dropped_file_is_read_and_recorded(s3: Any) -> None:
    # Given an invoice file in the drop bucket
    version = drop(s3, "incoming/invoices/open items.csv", CSV)
    # When its notification arrives (S3 URL-encodes the key: the space becomes '+')
    response = invoke(
        "ingest", sqs_event(notification("incoming/invoices/open+items.csv", version, len(CSV)))
    )
    # Then the batch succeeds and the version is recorded with its rows counted
    assert response == {"batchItemFailures": []}
    recorded = IngestFiles().get("incoming/invoices/open items.csv", version)
    assert recorded is not None
    assert recorded.kind is DropKind.INVOICES
    assert recorded.status is FileStatus.INGESTED
    assert recorded.rows_read == 3
    assert recorded.accepted == 3
    assert recorded.size == len(CSV)
    sent_timestamp = int(
        load_event("sqs_s3_object_created.json")["Records"][0]["attributes"]["SentTimestamp"]
    )
    assert recorded.received_at == datetime.fromtimestamp(sent_timestamp / 1000, tz=UTC)
    assert recorded.event_time == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_a_duplicate_notification_changes_nothing(s3: Any) -> None:
    # Given a file version that was already ingested
    version = drop(s3, "incoming/invoices/a.csv", CSV)
    body = notification("incoming/invoices/a.csv", version, len(CSV))
    invoke("ingest", sqs_event(body))
    first = IngestFiles().get("incoming/invoices/a.csv", version)
    # When S3 delivers the same notification again (at-least-once), even in the same batch
    response = invoke("ingest", sqs_event(body, body))
    # Then nothing fails and the record is the first one, untouched
    assert response == {"batchItemFailures": []}
    assert IngestFiles().get("incoming/invoices/a.csv", version) == first


def test_a_new_version_of_the_same_key_is_a_new_file(s3: Any) -> None:
    first = drop(s3, "incoming/payments/p.csv", PAYMENTS_HEADER + b"C-1,P-1,2026-11-02,10.00,EUR\n")
    second = drop(
        s3,
        "incoming/payments/p.csv",
        PAYMENTS_HEADER + b"C-1,P-1,2026-11-02,10.00,EUR\nC-1,P-2,2026-11-03,20.00,EUR\n",
    )
    invoke(
        "ingest",
        sqs_event(
            notification("incoming/payments/p.csv", first, 15),
            notification("incoming/payments/p.csv", second, 20),
        ),
    )
    older = IngestFiles().get("incoming/payments/p.csv", first)
    newer = IngestFiles().get("incoming/payments/p.csv", second)
    assert older is not None and newer is not None
    assert (older.rows_read, older.accepted, older.unchanged) == (1, 1, 0)
    # P-1 was recorded from the first version: the second changes nothing for it
    assert (newer.rows_read, newer.accepted, newer.unchanged) == (2, 2, 1)


def test_a_file_outside_the_layout_is_recorded_as_rejected_with_the_reason(s3: Any) -> None:
    version = drop(s3, "incoming/orders/o.csv", b"x\n1\n")
    invoke("ingest", sqs_event(notification("incoming/orders/o.csv", version, 4)))
    recorded = IngestFiles().get("incoming/orders/o.csv", version)
    assert recorded is not None
    assert recorded.status is FileStatus.REJECTED
    assert "kind one of invoices, payments, customers" in recorded.errors[0]


def test_an_invoice_document_is_no_erp_file_ingest_leaves_it_alone(s3: Any) -> None:
    # Given the ERP drops an invoice's PDF for the portal (documents are under incoming/, like files)
    key = document_key("Müller/Søn GmbH", "RE/2026/0815")
    assert key == "incoming/documents/Müller%2FSøn GmbH/RE/2026/0815.pdf"
    version = drop(s3, key, b"%PDF-1.7")
    # When its notification reaches ingest
    response = invoke("ingest", sqs_event(notification(quote_plus(key), version, 8)))
    # Then nothing is recorded or rejected, no result is written, and the batch succeeds
    assert response == {"batchItemFailures": []}
    assert IngestFiles().get(key, version) is None
    listed = s3.list_objects_v2(Bucket=DROP, Prefix="results/").get("Contents", [])
    assert listed == []
    assert s3.list_objects_v2(Bucket=DROP, Prefix="rejected/").get("Contents", []) == []


def test_a_compression_bomb_is_refused_whole_and_its_healthy_neighbour_lands(s3: Any) -> None:
    # Given, in one batch, a 300-KiB gzip of one 300-MiB line and a healthy invoices file
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [compressor.compress(b"customer_id,invoice_number\n")]
    parts += [compressor.compress(b"a" * 1024**2) for _ in range(300)]
    bomb = b"".join([*parts, compressor.flush()])
    bomb_version = drop(s3, "incoming/invoices/bomb.csv.gz", bomb)
    healthy_version = drop(s3, "incoming/invoices/open.csv", CSV)
    # When ingest gets both notifications
    response = invoke(
        "ingest",
        sqs_event(
            notification("incoming/invoices/bomb.csv.gz", bomb_version, len(bomb)),
            notification("incoming/invoices/open.csv", healthy_version, len(CSV)),
        ),
    )
    # Then nothing goes back to the queue (and so to its dead-letter queue)
    assert response == {"batchItemFailures": []}
    # And the bomb is refused whole, the reason in its results; the healthy file is loaded
    refused = IngestFiles().get("incoming/invoices/bomb.csv.gz", bomb_version)
    assert refused is not None and refused.status is FileStatus.REJECTED
    assert refused.errors[0].startswith("line 2 is longer than 1 MiB")
    summary = json.loads(s3.get_object(Bucket=DROP, Key="results/invoices/bomb.csv.gz.json")["Body"].read())
    assert summary["errors"][0].startswith("line 2 is longer than 1 MiB")
    loaded = IngestFiles().get("incoming/invoices/open.csv", healthy_version)
    assert loaded is not None and loaded.status is FileStatus.INGESTED


def test_a_malformed_message_fails_alone_and_the_rest_of_the_batch_lands(s3: Any) -> None:
    # Given a batch with one good notification and one body that is not an S3 event
    version = drop(s3, "incoming/customers/c.csv", b"customer_id\nC-1\n")
    event = sqs_event("not json at all", notification("incoming/customers/c.csv", version, 16))
    # When the batch is processed
    response = invoke("ingest", event)
    # Then only the malformed message is reported back to SQS for retry (and, in the end, the DLQ)
    assert response == {"batchItemFailures": [{"itemIdentifier": "message-0"}]}
    assert IngestFiles().get("incoming/customers/c.csv", version) is not None


def test_a_notification_for_a_deleted_version_is_recorded_as_rejected_not_retried_forever(s3: Any) -> None:
    # Given a notification for an object version that was deleted before ingest read it
    response = invoke("ingest", sqs_event(notification("incoming/invoices/gone.csv", "no-such-version", 10)))
    # Then the message is done with (a retry cannot bring it back) and the register says why
    assert response == {"batchItemFailures": []}
    recorded = IngestFiles().get("incoming/invoices/gone.csv", "no-such-version")
    assert recorded is not None
    assert recorded.status is FileStatus.REJECTED
    assert "deleted from the drop bucket" in recorded.errors[0]


def test_a_batch_of_only_malformed_messages_fails_the_invocation(aws: None) -> None:
    # Powertools raises when every record failed, so the invocation counts as an error (and alarms).
    with pytest.raises(BatchProcessingError):
        invoke("ingest", sqs_event("{}"))


def test_the_s3_test_event_is_acknowledged(aws: None) -> None:
    body = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": DROP})
    assert invoke("ingest", sqs_event(body)) == {"batchItemFailures": []}
