"""The compaction of a DynamoDB export's items into the reports' Parquet (reports/warehouse/compaction.py):
a full export replaces everything, an incremental one replaces the items it names (a deleted item's rows
go), folding the same export twice gives the same tables, and a month that lost all its documents is
blanked, never deleted."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from arcollect.entities import Allocation, Customer, Invoice, Payment
from arcollect.reports.kpis import compute_kpis
from arcollect.reports.warehouse.compaction import blank_missing, merge_changes, warehouse_customers
from arcollect.reports.warehouse.engine import DuckDbReport
from arcollect.store.customers import customer_item
from arcollect.store.exports import ItemChange
from arcollect.store.invoices import invoice_item
from arcollect.store.payments import payment_item

CUSTOMER = "Müller & Söhne, GmbH"
AS_OF = date(2026, 11, 30)


def invoice(number: str, amount: str, dated: date, open_amount: str | None = None) -> Invoice:
    return Invoice(
        CUSTOMER, number, "EUR", Decimal(amount), Decimal(open_amount or amount), dated, dated.replace(day=28)
    )


def change(item: object, deleted: bool = False) -> ItemChange:
    return ItemChange(item.pk, item.sk, None if deleted else item)  # type: ignore[attr-defined]


def report(root: Path) -> dict[str, object]:
    with DuckDbReport(root) as sql:
        return sql.compute_kpis(as_of=AS_OF, customers=warehouse_customers(root))


def test_an_incremental_export_replaces_what_it_names_and_folding_it_twice_changes_nothing(
    tmp_path: Path,
) -> None:
    august, october = (
        invoice("INV/2026/0042", "1190.00", date(2026, 8, 3)),
        invoice("INV/2026/7", "80.5", date(2026, 10, 1)),
    )
    payment = Payment(
        CUSTOMER,
        "PAY, 1",
        date(2026, 9, 1),
        Decimal("190.00"),
        "EUR",
        allocations=(Allocation("INV/2026/0042", Decimal("190.00")),),
    )
    full = [
        change(customer_item(Customer(CUSTOMER, "Müller & Söhne", "ap@mueller.example", segment="DE"))),
        change(invoice_item(august)),
        change(invoice_item(october)),
        change(payment_item(payment)),
    ]
    rows = merge_changes(tmp_path, full, full=True)
    assert (rows["invoices"], rows["payments"], rows["customers"]) == (2, 1, 1)
    assert report(tmp_path)["by_currency"]["EUR"]["ar_total"] == "1080.50"
    # When an incremental export says October's invoice is gone and August's was paid down again
    lowered = Invoice(**{**august.__dict__, "open_amount": Decimal("500.00")})
    incremental = [change(invoice_item(october), deleted=True), change(invoice_item(lowered))]
    merge_changes(tmp_path, incremental)
    once = report(tmp_path)
    merge_changes(tmp_path, incremental)  # a compaction that died before it was recorded runs again
    # Then only the new image counts, and the second fold changed nothing
    assert report(tmp_path) == once
    expected = compute_kpis(
        as_of=AS_OF,
        invoices=[lowered],
        payments=[payment],
        customers={CUSTOMER: warehouse_customers(tmp_path)[CUSTOMER]},
    )
    assert once == expected
    assert once["customers_by_risk"][0]["name"] == "Müller & Söhne"
    # And October's month, which lost its only document, is blanked rather than deleted
    stored = [
        "invoices/invoice_month=2026-10/data_0.parquet",
        "invoices/invoice_month=2026-08/data_0.parquet",
    ]
    assert not (tmp_path / stored[0]).exists() and (tmp_path / stored[1]).exists()
    assert blank_missing(tmp_path, stored) == [stored[0]]
    assert (tmp_path / stored[0]).exists() and report(tmp_path) == once
