"""``arcollect generate --invoices N``: a history written straight to the reports' Parquet. Read back into
the domain's values, the Python reference reports on it exactly as the SQL does, so the scale benchmark's
figures are the report's own."""

# ruff: noqa: S608 (queries of our own test files)

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb

from arcollect.entities import Allocation, Invoice, Payment
from arcollect.reports.kpis import compute_kpis, open_amounts
from arcollect.reports.warehouse.compaction import parquet_source
from arcollect.reports.warehouse.engine import DuckDbReport, money
from arcollect_cli.main import main

AS_OF = date(2026, 11, 2)


def read_back(root: Path) -> tuple[list[Invoice], list[Payment]]:
    with duckdb.connect() as con:
        invoices = [
            Invoice(
                customer_id=row[0],
                invoice_number=row[1],
                currency=row[2],
                amount=money(row[3], row[4]),
                open_amount=money(row[5], row[6]),
                invoice_date=row[7],
                due_date=row[8],
                status=row[9],
                document_type=row[10],
                company_code=row[11],
                paid_date=row[12],
                closed_on=row[13],
            )
            for row in con.execute(
                "SELECT customer_id, invoice_number, currency, amount, amount_scale, open_amount, "
                "open_amount_scale, invoice_date, due_date, status, document_type, company_code, paid_date, "
                f"closed_on FROM ({parquet_source(root, 'invoices')}) ORDER BY seq"
            ).fetchall()
        ]
        payments = [
            Payment(
                row[0],
                row[1],
                row[2],
                money(row[4], row[5]),
                "EUR",
                allocations=(Allocation(row[3], money(row[4], row[5])),),
            )
            for row in con.execute(
                "SELECT customer_id, payment_id, payment_date, invoice_number, amount, amount_scale "
                f"FROM ({parquet_source(root, 'payments')}) ORDER BY seq"
            ).fetchall()
        ]
    return invoices, payments


def test_generate_invoices_writes_a_history_the_reference_reports_as_the_sql_does(tmp_path: Path) -> None:
    # When the CLI writes a history of 20,000 documents
    assert main(["generate", "--invoices", "20000", "--out", str(tmp_path)]) == 0
    invoices, payments = read_back(tmp_path)
    # Then it holds them, most paid, some open, credit notes among them, three years of months
    assert len(invoices) == 20_000 and 15_000 < len(payments) < 20_000
    assert {i.document_type for i in invoices} == {"invoice", "credit_note", "write_off"}
    assert min(i.invoice_date for i in invoices) >= AS_OF - timedelta(days=1095)
    months = {p.name for p in (tmp_path / "invoices").iterdir()}
    assert len(months) >= 36 and all(m.startswith("invoice_month=") for m in months)
    # and the SQL's report on the Parquet is the Python reference's on the same documents
    with DuckDbReport(tmp_path) as report:
        for as_of in (AS_OF - timedelta(days=400), AS_OF):
            expected = compute_kpis(as_of=as_of, invoices=invoices, payments=payments, customers={})
            assert report.compute_kpis(as_of=as_of, customers={}) == expected
            assert report.open_amounts(as_of) == open_amounts(invoices, payments, as_of)
    assert Decimal(expected["by_currency"]["EUR"]["ar_total"]) > 0


def test_the_same_seed_gives_the_same_history(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        assert main(["generate", "--invoices", "3000", "--seed", "11", "--out", str(tmp_path / folder)]) == 0
    assert read_back(tmp_path / "a") == read_back(tmp_path / "b")
