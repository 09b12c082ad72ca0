"""DynamoDB write requests per 1,000 new invoices, and per 1,000 unchanged rows on re-import.

The generic invoices file of 1,000 open invoices for 50 known customers is ingested through
``receive_drop`` against moto, counting every write request pynamodb sends (BatchWriteItem, PutItem,
UpdateItem, TransactWriteItems, DeleteItem): the loads, the file register and the ingest timeline
entry. Then the same content arrives again as a new object version. Targets: <= 45 and <= 2.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

from benchmarks.report import bench

WRITES = frozenset({"BatchWriteItem", "PutItem", "UpdateItem", "TransactWriteItems", "DeleteItem"})
INVOICES = 1000


@contextmanager
def counted() -> Iterator[Counter[str]]:
    """Count the DynamoDB operations pynamodb dispatches while the block runs."""
    from pynamodb.connection.base import Connection

    calls: Counter[str] = Counter()
    original = Connection.dispatch

    def dispatch(self: Connection, operation_name: str, operation_kwargs: dict[str, Any]) -> Any:
        calls[operation_name] += 1
        return original(self, operation_name, operation_kwargs)

    Connection.dispatch = dispatch  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        Connection.dispatch = original  # type: ignore[method-assign]


def _invoices_file() -> bytes:
    start = date(2026, 10, 1)
    lines = ["customer_id,invoice_number,invoice_date,due_date,amount,currency"]
    for number in range(INVOICES):
        issued = start + timedelta(days=number % 30)
        lines.append(
            f"C-{number % 50},INV-{number},{issued},{issued + timedelta(days=30)},{100 + number}.00,EUR"
        )
    return ("\n".join(lines) + "\n").encode()


def run() -> None:
    os.environ.update(
        {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    import boto3
    from moto import mock_aws

    from arcollect.entities import Customer
    from arcollect.ingest.drops import Drop, receive_drop
    from arcollect.store.models import TableItem, bind_table
    from arcollect.store.objects import ObjectStore
    from arcollect.store.repositories import Accounts, Activities, IngestFiles

    body = _invoices_file()
    with mock_aws():
        bind_table("bench-writes")
        TableItem.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="drop")
        s3.put_bucket_versioning(Bucket="drop", VersioningConfiguration={"Status": "Enabled"})
        accounts = Accounts()
        accounts.add_customers([Customer(f"C-{n}", f"Customer {n}", f"ap{n}@example.com") for n in range(50)])
        objects = ObjectStore(s3)
        figures = []
        for attempt in ("new", "unchanged"):
            key = "incoming/invoices/bench.csv"
            version = s3.put_object(Bucket="drop", Key=key, Body=body)["VersionId"]
            drop = Drop("drop", key, version, len(body), "etag", datetime(2026, 11, 2, 6, tzinfo=UTC))
            with counted() as calls:
                outcome = receive_drop(
                    drop,
                    reader=objects,
                    register=IngestFiles(),
                    now=drop.event_time,
                    accounts=accounts,
                    outputs=objects,
                    timeline=Activities(),
                )
            assert outcome.summary["accepted"] == INVOICES, outcome.summary
            assert outcome.summary["unchanged"] == (INVOICES if attempt == "unchanged" else 0)
            writes = sum(count for name, count in calls.items() if name in WRITES)
            figures.append(writes * 1000 / INVOICES)
    bench("ingest_writes_per_1000_new_invoices", figures[0], "requests", "<=45")
    bench("ingest_writes_per_1000_unchanged_rows", figures[1], "requests", "<=2")
