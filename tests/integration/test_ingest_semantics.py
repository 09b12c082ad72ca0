"""Snapshots, deltas, as-of order, large files in chunks, and crashes at step boundaries: the ingest
function against moto, driven through its queue as AWS would."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from arcollect.ingest import drops, loading
from arcollect.store.models import InvoiceItem
from arcollect.store.repositories import Activities, Invoices
from tests.integration.conftest import invoke
from tests.integration.ingest_flow import DROP, QUEUE, deliver, drain, ingest, result, upload
from tests.integration.test_ingest_handler import notification, sqs_event

HEADER = "customer_id,invoice_number,invoice_date,due_date,amount,currency,open_amount\n"


def invoices_file(*rows: str) -> bytes:
    return (HEADER + "".join(row + "\n" for row in rows)).encode()


def open_amounts() -> dict[str, str]:
    return {item.invoice_number: f"{item.status}:{item.open_amount}" for item in InvoiceItem.scan()}


def test_a_snapshot_closes_the_open_items_it_no_longer_lists_on_its_as_of_date(s3: Any) -> None:
    # Given two open invoices from a first snapshot
    first = invoices_file(
        "C-1,INV-1,2026-10-01,2026-10-31,100.00,EUR,100.00", "C-1,INV-2,2026-10-05,2026-11-04,50.00,EUR,50.00"
    )
    ingest(
        "incoming/invoices/open.csv", first, {"arcollect-mode": "snapshot", "arcollect-as-of": "2026-11-01"}
    )
    # When the next snapshot lists INV-2 only, partly paid
    second = invoices_file("C-1,INV-2,2026-10-05,2026-11-04,50.00,EUR,20.00")
    summary = ingest(
        "incoming/invoices/open.csv", second, {"arcollect-mode": "snapshot", "arcollect-as-of": "2026-11-02"}
    )
    # Then INV-1 is closed on the snapshot's date, and leaves the sweep's index
    assert (summary["mode"], summary["as_of"], summary["invoices_closed"]) == (
        "snapshot",
        "2026-11-02T23:59:59Z",
        1,
    )
    closed = Invoices().get("C-1", "INV-1")
    assert closed is not None
    assert (closed.status, closed.open_amount, closed.closed_on.isoformat(), closed.next_action_at) == (  # type: ignore[union-attr]
        "closed",
        0,
        "2026-11-02",
        None,
    )
    assert open_amounts()["INV-2"] == "open:20.00"


def test_a_delta_leaves_invoices_it_does_not_mention_alone(s3: Any) -> None:
    ingest("incoming/invoices/a.csv", invoices_file("C-1,INV-1,2026-10-01,2026-10-31,100.00,EUR,"))
    summary = ingest("incoming/invoices/b.csv", invoices_file("C-1,INV-2,2026-10-01,2026-10-31,7.00,EUR,"))
    assert (summary["mode"], summary["invoices_closed"]) == ("delta", 0)
    assert open_amounts() == {"INV-1": "open:100.00", "INV-2": "open:7.00"}


def test_an_older_file_arriving_late_does_not_undo_a_newer_one(s3: Any) -> None:
    # Given the state as of November 2: INV-1 paid down to 10
    newer = invoices_file("C-1,INV-1,2026-10-01,2026-10-31,100.00,EUR,10.00")
    ingest("incoming/invoices/day2.csv", newer, {"arcollect-as-of": "2026-11-02"})
    # When the file as of November 1 (INV-1 fully open, and a snapshot without INV-1 at all) arrives late
    older = invoices_file("C-1,INV-1,2026-10-01,2026-10-31,100.00,EUR,100.00")
    summary = ingest("incoming/invoices/day1.csv", older, {"arcollect-as-of": "2026-11-01"})
    empty_older = invoices_file("C-2,INV-9,2026-10-01,2026-10-31,1.00,EUR,1.00")
    late_snapshot = ingest(
        "incoming/invoices/day1-snapshot.csv",
        empty_older,
        {"arcollect-as-of": "2026-10-31", "arcollect-mode": "snapshot"},
    )
    # Then the newer word stands: the row is accepted, counted superseded, and nothing is closed
    assert (summary["accepted"], summary["unchanged"], summary["superseded"]) == (1, 1, 1)
    assert late_snapshot["invoices_closed"] == 0
    assert open_amounts()["INV-1"] == "open:10.00"


def test_a_mode_that_is_not_snapshot_or_delta_is_a_file_problem(s3: Any) -> None:
    summary = ingest("incoming/invoices/x.csv", invoices_file(), {"arcollect-mode": "full"})
    assert summary["status"] == "rejected"
    assert summary["errors"] == ["object metadata arcollect-mode='full': must be snapshot or delta"]


def big_file(count: int) -> bytes:
    return invoices_file(
        *(f"C-{n % 7},INV-{n},2026-10-01,2026-10-31,{n + 1}.00,EUR," for n in range(count)),
        "C-1,BAD,2026-10-01,2026-10-31,abc,EUR,",
    )


def test_a_large_file_loads_in_chunks_through_the_queue_and_reports_once(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(drops, "FAN_OUT_LINES", 40)
    body = big_file(100)
    key = "incoming/invoices/big.csv"
    version = upload(key, body)
    deliver(notification(key, version, len(body)))
    # The notification only planned the work: three chunk messages wait in the queue, no result yet
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=QUEUE, AttributeNames=["ApproximateNumberOfMessages"]
    )
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "3"
    assert drain() == 3
    summary = result(key)
    assert (summary["chunks"], summary["rows_read"], summary["accepted"], summary["rejected"]) == (
        3,
        101,
        100,
        1,
    )
    assert len(open_amounts()) == 100
    rejected = s3.get_object(Bucket=DROP, Key="rejected/invoices/big.csv.errors.csv")["Body"].read().decode()
    assert rejected.splitlines() == [
        "row,column,value,reason",
        "102,amount,abc,is not a number with '.' as the decimal point",
    ]
    # One timeline entry for the file, not one per chunk
    timeline = Activities().ingest_timeline()
    assert [a.detail["key"] for a in timeline] == [key]


def test_a_chunk_delivered_twice_changes_nothing_and_the_file_finishes_once(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(drops, "FAN_OUT_LINES", 40)
    body = big_file(100)
    key = "incoming/invoices/twice.csv"
    version = upload(key, body)
    deliver(notification(key, version, len(body)))
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(QueueUrl=QUEUE, MaxNumberOfMessages=10)["Messages"]
    # When the first chunk is delivered twice before the others (SQS is at-least-once)
    deliver(messages[0]["Body"])
    deliver(messages[0]["Body"])
    deliver(*(m["Body"] for m in messages[1:]))
    summary = result(key)
    # Then the repeat was recognised (its part was written) and the counts are the first run's
    assert (summary["rows_read"], summary["accepted"], summary["rejected"], summary["unchanged"]) == (
        101,
        100,
        1,
        0,
    )
    versions = s3.list_object_versions(Bucket=DROP, Prefix="results/invoices/twice.csv.json")["Versions"]
    assert len(versions) == 1
    # And a late duplicate after the file finished is recognised as such
    deliver(messages[1]["Body"])
    assert (
        len(s3.list_object_versions(Bucket=DROP, Prefix="results/invoices/twice.csv.json")["Versions"]) == 1
    )


class Crash(RuntimeError):
    pass


@pytest.mark.parametrize("boundary", ["add_invoices", "close_missing", "record"])
def test_a_crash_at_a_step_boundary_is_finished_by_the_retry_with_the_same_outcome(
    s3: Any, monkeypatch: pytest.MonkeyPatch, boundary: str
) -> None:
    # Given a snapshot that changes one invoice and closes another
    ingest(
        "incoming/invoices/s.csv",
        invoices_file(
            "C-1,INV-1,2026-10-01,2026-10-31,100.00,EUR,", "C-1,INV-2,2026-10-01,2026-10-31,5.00,EUR,"
        ),
        {"arcollect-mode": "snapshot", "arcollect-as-of": "2026-11-01"},
    )
    body = invoices_file(*(f"C-1,INV-{n},2026-10-01,2026-10-31,100.00,EUR,60.00" for n in (1, 3, 4, 5)))
    key = "incoming/invoices/s.csv"
    version = upload(key, body, {"arcollect-mode": "snapshot", "arcollect-as-of": "2026-11-02"})
    # When the function dies at the boundary the first time it gets there
    crashed = {"done": False}

    def crash_once(original: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not crashed["done"]:
                crashed["done"] = True
                raise Crash(boundary)
            return original(*args, **kwargs)

        return wrapper

    from arcollect.store import repositories

    if boundary == "add_invoices":
        monkeypatch.setattr(
            repositories.Accounts, "add_invoices", crash_once(repositories.Accounts.add_invoices)
        )
    elif boundary == "close_missing":
        monkeypatch.setattr(drops, "close_missing", crash_once(loading.close_missing))
    else:
        monkeypatch.setattr(repositories.IngestFiles, "record", crash_once(repositories.IngestFiles.record))
    event = sqs_event(notification(key, version, len(body)))
    with pytest.raises(BatchProcessingError):  # the message goes back to the queue
        invoke("ingest", event)
    # Then the retry finishes the job, and the outcome is as if nothing had happened
    assert invoke("ingest", event) == {"batchItemFailures": []}
    summary = result(key)
    assert open_amounts() == {
        "INV-1": "open:60.00",
        "INV-2": "closed:0",
        "INV-3": "open:60.00",
        "INV-4": "open:60.00",
        "INV-5": "open:60.00",
    }
    # The summary tells what the finishing run did: a crash after the closing leaves it nothing to close.
    assert summary["invoices_closed"] == {"add_invoices": 1, "close_missing": 1, "record": 0}[boundary]
    assert summary["status"] == "ingested"
