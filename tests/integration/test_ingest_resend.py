"""A file sent again changes only what it states: re-sending an invoice list after a payment file paid
one of its invoices, through the ingest function against moto."""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal
from typing import Any

import boto3

from arcollect.store import keys
from arcollect.store.repositories import Invoices
from tests.integration.ingest_flow import ingest

INVOICES = b"customer_id,invoice_number,invoice_date,due_date,amount\nC-1,Z-1,2026-10-01,2026-10-31,250.00\n"
PAYMENTS = b"customer_id,payment_id,payment_date,amount,invoice_number\nC-1,P-1,2026-11-05,250.00,Z-1\n"


def stored_item() -> dict[str, Any]:
    """The invoice's item as DynamoDB holds it, attribute by attribute."""
    item = boto3.client("dynamodb").get_item(
        TableName=os.environ["TABLE_NAME"],
        Key={"pk": {"S": keys.customer_pk("C-1")}, "sk": {"S": keys.invoice_sk("Z-1")}},
        ConsistentRead=True,
    )
    return dict(item["Item"])


def test_an_invoice_list_sent_again_after_a_payment_keeps_the_paid_date_and_writes_nothing(s3: Any) -> None:
    # Given an invoice, paid in full by a payments file
    ingest("incoming/invoices/erp-1.csv", INVOICES)
    ingest("incoming/payments/bank-1.csv", PAYMENTS)
    paid = Invoices().get("C-1", "Z-1")
    assert paid is not None and (paid.status, paid.open_amount, paid.paid_date) == (
        "closed",
        Decimal(0),
        date(2026, 11, 5),
    )
    before = stored_item()
    # When the same invoice list (no paid_date, no open_amount column) is sent again
    summary = ingest("incoming/invoices/erp-2.csv", INVOICES)
    # Then the row states nothing new: counted unchanged, and the item is exactly as it was
    assert (summary["accepted"], summary["unchanged"], summary["invoices_closed"]) == (1, 1, 0)
    assert stored_item() == before
    after = Invoices().get("C-1", "Z-1")
    assert after is not None and after.paid_date == date(2026, 11, 5)
