"""The table's exports to the reports bucket and their compaction into the reports' Parquet, through the
reports function against moto (``{"action": "export"}``), and the export workflow's incremental, failure
and retry paths against a strict fake of DynamoDB's export API (moto exports in full only: it ignores
the incremental specification and the client token)."""

from __future__ import annotations

import gzip
import json
import os
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest

from arcollect.entities import Allocation, Customer, Invoice, Payment
from arcollect.reports.exports import MAX_ATTEMPTS, TABLES_PREFIX, advance
from arcollect.reports.kpis import compute_kpis
from arcollect.reports.warehouse.compaction import merge_changes, warehouse_customers
from arcollect.reports.warehouse.engine import DuckDbReport
from arcollect.store.exports import (
    COMPLETED,
    FAILED,
    IN_PROGRESS,
    MAX_INCREMENTAL_WINDOW,
    MIN_INCREMENTAL_WINDOW,
    ExportFiles,
    ExportRefused,
    ExportState,
)
from arcollect.store.invoices import invoice_item
from arcollect.store.payments import payment_item
from arcollect.store.reports import ReportReader
from arcollect.store.repositories import Customers
from tests.integration.conftest import invoke

REPORTS = os.environ["REPORTS_BUCKET"]
CUSTOMER = "Müller & Söhne, GmbH"
NOW = datetime(2026, 11, 23, 5, tzinfo=UTC)


def doc(number: str, amount: str, dated: date, kind: str = "invoice", customer: str = CUSTOMER) -> Invoice:
    return Invoice(
        customer_id=customer,
        invoice_number=number,
        currency="EUR",
        amount=Decimal(amount),
        open_amount=Decimal(amount),
        invoice_date=dated,
        due_date=dated + timedelta(days=30),
        document_type=kind,
        company_code="1000",
    )


def seed_portfolio() -> None:
    Customers().save(Customer(CUSTOMER, "Müller & Söhne", "ap@mueller.example", segment="DE"))
    for invoice in (
        doc("INV/2026/0042", "1190.00", date(2026, 8, 1)),
        doc("INV/2026/0043", "250.5", date(2026, 9, 15)),
        doc("CN/2026/7", "100.00", date(2026, 10, 1), kind="credit_note"),
        doc("INV/2026/0050", "99.99", date(2026, 10, 20), customer="ACME, Inc."),
    ):
        invoice_item(invoice).save()
    # a partial payment of two invoices at once
    payment = Payment(
        CUSTOMER,
        "PAY/1",
        date(2026, 10, 5),
        Decimal("700.00"),
        "EUR",
        allocations=(
            Allocation("INV/2026/0042", Decimal("600.00")),
            Allocation("INV/2026/0043", Decimal("100")),
        ),
    )
    payment_item(payment).save()


def export(full: bool = False, at: datetime = NOW) -> dict[str, Any]:
    result: dict[str, Any] = invoke("reports", {"action": "export", "full": full, "at": at.isoformat()})
    return result["exports"]


def warehouse_report(tmp_path: Path, as_of: date) -> dict[str, Any]:
    ExportFiles().download(REPORTS, TABLES_PREFIX, tmp_path)
    customers = warehouse_customers(tmp_path)
    with DuckDbReport(tmp_path) as report:
        return report.compute_kpis(as_of=as_of, customers=customers)


def test_a_full_export_is_compacted_into_parquet_that_reports_as_the_table_does(
    aws: None, tmp_path: Path
) -> None:
    # Given a table with real-world-shaped documents and point-in-time recovery on (an export needs it)
    seed_portfolio()
    boto3.client("dynamodb").update_continuous_backups(
        TableName=os.environ["TABLE_NAME"],
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
    )
    # When the reports function is asked for a full export, and runs again until it is compacted
    first = export(full=True)
    assert len(first["started"]) == 1 and first["started"][0].startswith("full-")
    compacted: list[str] = []
    for _ in range(20):
        compacted += export()["compacted"]
        if compacted:
            break
    # Then the export went to its own prefix in the reports bucket, and the Parquet under warehouse/tables
    assert compacted == first["started"]
    keys = ExportFiles().keys(REPORTS, "")
    assert any(k.startswith(f"exports/{compacted[0]}/") and k.endswith(".gz") for k in keys)
    assert any(k.startswith(f"{TABLES_PREFIX}invoices/invoice_month=2026-08/") for k in keys)
    # and the report on the Parquet is the report on the table, to the cent
    data = ReportReader().read()
    as_of = date(2026, 11, 23)
    expected = compute_kpis(
        as_of=as_of, invoices=data.invoices, payments=data.payments, customers=data.customers
    )
    found = warehouse_report(tmp_path, as_of)
    assert found == expected
    assert found["by_currency"]["EUR"]["ar_total"] == "740.49"  # 590.00 + 150.5 - 100.00 + 99.99
    assert found["customers_by_risk"][0]["name"] == "Müller & Söhne"
    # And a repeated run starts nothing new: the full export is done, an incremental one is too soon
    again = export()
    assert again["started"] == [] and again["compacted"] == []


class StrictExports:
    """DynamoDB's export API as AWS documents it, where moto is lax: a full export needs PITR, an
    incremental window is 15 minutes to 24 hours, a reused client token with other parameters is a
    conflict; exports complete (or fail) when ``finish`` says so, writing incremental-format files."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self.s3, self.bucket = s3, bucket
        self.started: dict[str, dict[str, Any]] = {}
        self.status: dict[str, str] = {}
        self.fail_next = 0
        self.changes: list[dict[str, Any]] = []  # the next export's lines

    def start(
        self, *, table_arn: str, bucket: str, prefix: str, client_token: str, window: Any = None
    ) -> ExportState:
        request = {"table": table_arn, "bucket": bucket, "prefix": prefix, "window": window}
        if client_token in self.started:
            if self.started[client_token]["request"] != request:
                raise ExportRefused(
                    "ExportConflictException: the client token was used with other parameters"
                )
            arn = self.started[client_token]["arn"]
            return ExportState(arn, self.status[arn], "INCREMENTAL_EXPORT" if window else "FULL_EXPORT")
        if (
            window is not None
            and not MIN_INCREMENTAL_WINDOW <= window[1] - window[0] <= MAX_INCREMENTAL_WINDOW
        ):
            raise ExportRefused("ValidationException: the incremental window is 15 minutes to 24 hours")
        arn = f"{table_arn}/export/{len(self.started):04d}"
        self.started[client_token] = {"request": request, "arn": arn, "lines": list(self.changes)}
        self.status[arn] = IN_PROGRESS
        return ExportState(arn, IN_PROGRESS, "INCREMENTAL_EXPORT" if window else "FULL_EXPORT")

    def finish(self) -> None:
        for entry in self.started.values():
            arn = entry["arn"]
            if self.status[arn] != IN_PROGRESS:
                continue
            if self.fail_next:
                self.fail_next -= 1
                self.status[arn] = FAILED
                continue
            body = "".join(json.dumps(line) + "\n" for line in entry["lines"]).encode()
            key = f"{entry['request']['prefix']}/AWSDynamoDB/{arn.rsplit('/', 1)[1]}/data/part-0.json.gz"
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=gzip.compress(body))
            self.status[arn] = COMPLETED

    def describe(self, arn: str) -> ExportState:
        failure = "UNKNOWN: the export failed" if self.status[arn] == FAILED else None
        return ExportState(arn, self.status[arn], "", 0, failure)


def image(invoice: Invoice) -> dict[str, Any]:
    return dict(invoice_item(invoice).serialize())


def keys_of(item: dict[str, Any]) -> dict[str, Any]:
    return {"pk": item["pk"], "sk": item["sk"]}


def step(fake: StrictExports, now: datetime, full: bool = False) -> Any:
    return advance(
        now=now,
        table_arn="arn:aws:dynamodb:us-east-1:000000000000:table/arcollect",
        bucket=REPORTS,
        exports=fake,
        store=ExportFiles(),
        full=full,
        compact=lambda changes, whole, folder: merge_changes(folder, changes, full=whole),
    )


def test_incremental_exports_replace_changed_items_and_failed_ones_are_retried_then_given_up(
    aws: None, tmp_path: Path
) -> None:
    fake = StrictExports(boto3.client("s3"), REPORTS)
    first, second = (
        doc("INV/2026/0042", "1190.00", date(2026, 8, 1)),
        doc("INV/2026/0043", "250.5", date(2026, 9, 1)),
    )
    # Given a full export of two invoices, compacted
    fake.changes = [{"Item": image(first)}, {"Item": image(second)}]
    assert step(fake, NOW).started == ["full-20261123T050000Z-1"]
    fake.finish()
    assert step(fake, NOW + timedelta(minutes=5)).compacted == ["full-20261123T050000Z-1"]
    # When a day later an incremental export says the first was paid down and the second deleted
    lowered = Invoice(**{**first.__dict__, "open_amount": Decimal("190.00"), "source_as_of": NOW})
    fake.changes = [
        {"Keys": keys_of(image(first)), "NewImage": image(lowered)},
        {"Keys": keys_of(image(second))},
    ]
    later = NOW + timedelta(days=1)
    started = step(fake, later).started
    assert started == ["incremental-20261124T050000Z-1"]
    assert list(fake.started.values())[-1]["request"]["window"] == (NOW, later)
    # and it fails once: recorded, counted, and the same window started again
    fake.fail_next = 1
    fake.finish()
    retried = step(fake, later + timedelta(minutes=1))
    assert retried.failed == started and retried.started == ["incremental-20261124T050000Z-2"]
    fake.finish()
    done = step(fake, later + timedelta(minutes=2))
    assert done.compacted == ["incremental-20261124T050000Z-2"]
    # Then the Parquet holds the new image of the first invoice only
    report = warehouse_report(tmp_path, date(2026, 11, 24))
    assert report["by_currency"]["EUR"]["ar_total"] == "190.00"
    assert report["by_currency"]["EUR"]["open_invoices"] == 1
    # And an export that keeps failing is given up after MAX_ATTEMPTS, and no later window skips it
    day3 = later + timedelta(days=1)
    fake.changes = []
    for attempt in range(MAX_ATTEMPTS):
        assert step(fake, day3 + timedelta(minutes=attempt)).started
        fake.fail_next = 1
        fake.finish()
    final = step(fake, day3 + timedelta(minutes=10))
    assert final.abandoned == [f"incremental-20261125T050000Z-{MAX_ATTEMPTS}"] and final.started == []
    assert step(fake, day3 + timedelta(hours=5)).started == []
    # until a full export is asked for
    assert step(fake, day3 + timedelta(hours=6), full=True).started[0].startswith("full-")


def test_an_incremental_window_dynamodb_refuses_is_refused_before_it_is_sent(aws: None) -> None:
    from arcollect.store.exports import TableExports

    with pytest.raises(ExportRefused, match="15 minutes to 24 hours"):
        TableExports(boto3.client("dynamodb")).start(
            table_arn="arn:aws:dynamodb:us-east-1:000000000000:table/t",
            bucket=REPORTS,
            prefix="exports/x",
            client_token="t",
            window=(NOW, NOW + timedelta(hours=25)),
        )


def test_the_daily_export_tick_starts_the_first_export_in_full(aws: None) -> None:
    from tests.integration.conftest import load_event

    # Given the stack's export schedule firing (its event's detail names the action)
    tick = dict(load_event("scheduler_tick.json"), time="2026-11-23T04:00:00Z", detail={"action": "export"})
    # on a table without point-in-time recovery: DynamoDB (and moto) refuse the export, and the run says why
    with pytest.raises(ExportRefused, match="Point in time recovery is not enabled"):
        invoke("reports", tick)
    # When recovery is on (the stack turns it on) and the tick fires again
    boto3.client("dynamodb").update_continuous_backups(
        TableName=os.environ["TABLE_NAME"],
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
    )
    result = invoke("reports", tick)
    # Then no report ran; the table's first export started, in full, named after the tick's time
    assert result["exports"]["started"] == ["full-20261123T040000Z-1"]
    assert "written" not in result
