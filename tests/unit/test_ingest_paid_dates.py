"""A row without a paid date says nothing of it: the paid date stays, unless the ERP reopens the whole
invoice. Through ``receive_drop`` against an in-memory table."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from tests.unit.fakes import Table
from tests.unit.test_ingest_loading import ingest

HEADER = b"customer_id,invoice_number,invoice_date,due_date,amount,currency,open_amount,paid_date\n"


def send(table: Table, row: bytes, version: str) -> None:
    ingest("incoming/invoices/erp.csv", HEADER + row, table, version=version)


def test_a_partly_open_row_without_a_paid_date_keeps_it_and_records_no_payment_from_it() -> None:
    table = Table()
    send(table, b"C-1,INV-1,2026-10-01,2026-10-31,250.00,EUR,0,2026-10-15\n", "v1")
    send(table, b"C-1,INV-1,2026-10-01,2026-10-31,250.00,EUR,100.00,\n", "v2")
    invoice = table.invoices_[("C-1", "INV-1")]
    assert (invoice.open_amount, invoice.paid_date) == (Decimal(100), date(2026, 10, 15))
    assert list(table.payments_) == [("C-1", "PAIDDATE-INV-1")]


def test_a_row_reopening_the_whole_amount_clears_the_paid_date() -> None:
    table = Table()
    send(table, b"C-1,INV-1,2026-10-01,2026-10-31,250.00,EUR,0,2026-10-15\n", "v1")
    send(table, b"C-1,INV-1,2026-10-01,2026-10-31,250.00,EUR,250.00,\n", "v2")
    invoice = table.invoices_[("C-1", "INV-1")]
    assert (invoice.status, invoice.open_amount, invoice.paid_date) == ("open", Decimal(250), None)
