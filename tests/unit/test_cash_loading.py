"""Payments of several invoices as a payments file loads (ingest/loading.py), against the in-memory
table: remittance lines make one payment, also across the loader's 250-row chunks; identical lines count
once; cash nothing took makes one apply-cash task; a file sent again changes nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from arcollect.entities import Invoice, Payment, TaskKind
from arcollect.ingest import drops
from arcollect.ingest.loading import split_for_load
from tests.unit.fakes import Table
from tests.unit.test_ingest_loading import ingest

CUSTOMER = "Brennan & Sons, PC"
HEADER = b"customer_id,payment_id,payment_date,amount,currency,invoice_number,reference,applied_amount\n"


def table_with(*amounts: str) -> Table:
    table = Table()
    for index, amount in enumerate(amounts, start=1):
        number = f"INV/2026/{index:05d}"
        table.invoices_[(CUSTOMER, number)] = Invoice(
            customer_id=CUSTOMER,
            invoice_number=number,
            currency="USD",
            amount=Decimal(amount),
            open_amount=Decimal(amount),
            invoice_date=date(2026, 9, 1),
            due_date=date(2026, 10, index),
        )
    return table


def row(payment_id: str, amount: str, invoice: str = "", reference: str = "", applied: str = "") -> bytes:
    return f'"{CUSTOMER}",{payment_id},2026-11-20,{amount},USD,{invoice},{reference},{applied}\n'.encode()


def test_a_remittance_that_crosses_a_chunk_boundary_stays_one_payment() -> None:
    # Given 248 one-line payments of INV/2026/00001, then a remittance of four lines (rows 250-253)
    table = table_with("100000.00", "20.00", "30.00", "40.00", "50.00")
    rows = [row(f"P-{i}", "1.00", "INV/2026/00001") for i in range(248)]
    rows += [row("R-1", "140.00", f"INV/2026/0000{n}", "Avis R-1", f"{n}0.00") for n in (2, 3, 4, 5)]
    assert drops.CHUNK_ROWS == 250
    # When the file is loaded
    _, summary, _ = ingest("incoming/payments/p.csv", HEADER + b"".join(rows), table)
    # Then the remittance is one payment, applied in full to its four invoices
    assert (summary["accepted"], summary["rejected"], summary["payments_applied"]) == (252, 0, 249)
    remittance = table.payments_[(CUSTOMER, "R-1")]
    assert [(a.invoice_number, a.amount) for a in remittance.allocations] == [
        (f"INV/2026/0000{n}", Decimal(f"{n}0.00")) for n in (2, 3, 4, 5)
    ]
    assert all(table.invoices_[(CUSTOMER, f"INV/2026/0000{n}")].status == "closed" for n in (2, 3, 4, 5))


def test_split_for_load_keeps_the_trailing_lines_of_a_payment() -> None:
    def pay(payment_id: str) -> Payment:
        return Payment(CUSTOMER, payment_id, date(2026, 11, 20), Decimal(1), "USD", None, None)

    batch = [(1, pay("A")), (2, pay("B")), (3, pay("B"))]
    assert split_for_load(drops.DropKind.PAYMENTS, batch) == (batch[:1], batch[1:])
    assert split_for_load(drops.DropKind.INVOICES, batch) == (batch, [])


def test_identical_lines_count_once_and_leftover_cash_makes_one_task() -> None:
    table = table_with("10.00", "20.00")
    content = (
        HEADER
        + row("R-9", "50.00", "INV/2026/00001", "x", "10.00") * 2
        + row("R-9", "50.00", "INV/2026/00002", "x", "20.00")
    )
    _, summary, _ = ingest("incoming/payments/p.csv", content, table)
    assert (summary["accepted"], summary["unchanged"], summary["rejected"]) == (3, 1, 0)
    assert summary["notes"][0]["note"] == "the same line as row 2: counted once"
    paid = table.payments_[(CUSTOMER, "R-9")]
    assert (paid.applied_amount, paid.unapplied_amount) == (30, 20)
    [task] = [t for t in table.tasks if t.kind == TaskKind.APPLY_CASH]
    assert task.detail["unapplied_amount"] == "20.00"
    # And the same file again changes nothing and adds no task
    writes = table.writes
    _, again, _ = ingest("incoming/payments/p.csv", content, table, version="v2")
    assert (again["unchanged"], again["payments_applied"], table.writes) == (3, 0, writes)
    assert len([t for t in table.tasks if t.kind == TaskKind.APPLY_CASH]) == 1
