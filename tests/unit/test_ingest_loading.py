"""Loading and accounting for every row, against an in-memory table (a fake, not a mock), without AWS."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import IO, Any

from arcollect.cash import first_look_at
from arcollect.entities import Customer, FileStatus, IngestFile, Invoice, Payment
from arcollect.ingest.drops import Drop, receive_drop
from arcollect.ingest.loading import payment_target, settle
from tests.unit.fakes import Reader, Register, Table

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
INVOICES = b"customer_id,invoice_number,invoice_date,due_date,amount,currency\n"


class Outputs:
    def __init__(self) -> None:
        self.documents: dict[str, Any] = {}
        self.files: dict[str, bytes] = {}

    def put_json(self, bucket: str, key: str, document: Any) -> None:
        self.documents[key] = document

    def put_file(self, bucket: str, key: str, body: IO[bytes], content_type: str) -> None:
        self.files[key] = body.read()


def ingest(
    key: str, content: bytes, table: Table, version: str = "v1"
) -> tuple[IngestFile, dict[str, Any], Outputs]:
    outputs = Outputs()
    outcome = receive_drop(
        Drop("drop", key, version, len(content), "e", NOW),
        reader=Reader(content),
        register=Register(),
        now=NOW,
        accounts=table,
        outputs=outputs,
    )
    return outcome.file, outcome.summary, outputs


def test_every_row_is_accepted_rejected_or_skipped() -> None:
    # Given a file with good rows, bad rows, blank lines (no rows at all) and a row spanning two lines
    content = INVOICES + (
        b"C-1,INV-1,2026-10-01,2026-10-31,100.00,EUR\n"
        b"\n"
        b"C-1,INV-2,2026-10-01,2026-10-31,-3,EUR\n"
        b",,,,,\n"
        b'C-2,"INV\n3",2026-10-01,2026-10-31,5,XXX\n'
        b"C-2,INV-4,2026-10-01,2026-10-31,5,USD"
    )
    # When it is ingested
    file, summary, outputs = ingest("incoming/invoices/a.csv", content, Table())
    # Then the counts add up, and the rejected rows are listed by the line they start on
    assert file.status is FileStatus.INGESTED
    assert (summary["rows_read"], summary["accepted"], summary["rejected"], summary["skipped"]) == (
        4,
        2,
        2,
        0,
    )
    assert summary["rows_read"] == summary["accepted"] + summary["rejected"] + summary["skipped"]
    assert outputs.files["rejected/invoices/a.csv.errors.csv"].decode().splitlines() == [
        "row,column,value,reason",
        "4,amount,'-3,must be greater than 0",  # neutralised: a spreadsheet would run '-3' as a formula
        '6,currency,XXX,"is not an ISO 4217 currency code (such as EUR, USD, GBP)"',
    ]
    assert set(outputs.documents) == {"results/invoices/a.csv.json"}


def test_only_lines_of_nothing_but_spaces_and_delimiters_are_not_rows() -> None:
    # Given blank lines of every shape, and rows whose first cell is empty but others are not
    content = INVOICES + (
        b"C-1,INV-1,2026-10-01,2026-10-31,100.00,EUR\n"
        b"\n"
        b"   \n"
        b",,,,,\n"
        b" , ,\t, , ,\n"
        b",INV-2,2026-10-01,2026-10-31,5,EUR\n"
        b" ,,,,,x\n"
        b"C-2,INV-3,2026-10-01,2026-10-31,5,USD\n"
    )
    # When it is ingested
    _, summary, outputs = ingest("incoming/invoices/b.csv", content, Table())
    # Then the blank lines are no rows, and each row with something in it is read and answered for
    assert (summary["rows_read"], summary["accepted"], summary["rejected"]) == (4, 2, 2)
    rejected = outputs.files["rejected/invoices/b.csv.errors.csv"].decode().splitlines()
    assert {line.split(",")[0] for line in rejected[1:]} == {"7", "8"}  # the lines they are on
    assert rejected[1].startswith("7,customer_id,,is required")


def test_a_file_level_problem_loads_nothing_and_names_the_problem() -> None:
    table = Table()
    file, summary, _ = ingest("incoming/invoices/a.csv", b"customer_id,amount\nC-1,5\n", table)
    assert file.status is FileStatus.REJECTED
    [error] = summary["errors"]
    assert error.startswith(
        "no invoices mapping fits the header: for the generic layout it lacks invoice_number, invoice_date, "
        "due_date (it needs customer_id, invoice_number, invoice_date, due_date, amount)"
    )
    assert (summary["rows_read"], table.writes) == (0, 0)


def test_bytes_that_are_not_utf8_are_read_as_windows_1252_and_the_summary_says_so() -> None:
    table = Table()
    content = (
        INVOICES
        + b"C-1,INV-1,2026-10-01,2026-10-31,100.00,EUR\n" * 600
        + b"C-1,INV-\xe9,2026-10-01,2026-10-31,1,EUR\n"
    )
    file, summary, _ = ingest("incoming/invoices/a.csv", content, table)
    assert file.status is FileStatus.INGESTED
    assert summary["source"]["encoding"] == "cp1252"
    assert "line 602" in summary["source"]["notes"][0]
    assert ("C-1", "INV-\u00e9") in table.invoices_


def test_a_structural_problem_late_in_the_file_stops_it_before_any_row_is_loaded() -> None:
    table = Table()
    content = INVOICES + b"C-1,INV-1,2026-10-01,2026-10-31,100.00,EUR\n" * 600 + b'C-1,"INV-2\x00",x\n'
    file, summary, _ = ingest("incoming/invoices/a.csv", content, table)
    assert file.status is FileStatus.REJECTED, summary
    assert "line 602" in summary["errors"][0]
    assert table.writes == 0


def test_the_same_content_again_is_unchanged_and_writes_nothing() -> None:
    table = Table()
    content = (
        INVOICES + b"C-1,INV-1,2026-10-01,2026-10-31,100.00,EUR\nC-1,INV-2,2026-10-01,2026-10-31,7,EUR\n"
    )
    ingest("incoming/invoices/a.csv", content, table)
    writes = table.writes
    _, summary, _ = ingest("incoming/invoices/a.csv", content, table, version="v2")
    assert (summary["accepted"], summary["unchanged"], table.writes) == (2, 2, writes)


def test_an_unknown_customer_gets_a_placeholder_and_the_open_invoice_enters_the_index() -> None:
    table = Table()
    _, summary, _ = ingest(
        "incoming/invoices/a.csv", INVOICES + b"C-9,INV-1,2026-10-01,2026-10-31,10,EUR\n", table
    )
    assert table.customers_["C-9"] == Customer(
        "C-9",
        name="C-9",
        email="",
        placeholder=True,
        data_quality=("customer master data missing: only the id is known",),
    )
    assert summary["placeholders_created"] == 1
    [task] = table.tasks
    assert (task.customer_id, task.kind, task.detail["source"]) == (
        "C-9",
        "complete_master_data",
        "incoming/invoices/a.csv",
    )
    # The sweep looks at it from its invoice date on, and places it at its first policy step.
    assert table.invoices_[("C-9", "INV-1")].next_action_at == datetime(2026, 10, 1, tzinfo=UTC)


def test_a_paid_date_on_a_settled_invoice_records_the_payment_once() -> None:
    table = Table()
    content = b"customer_id,invoice_number,invoice_date,due_date,amount,currency,open_amount,paid_date\n"
    content += b"C-1,INV-1,2026-10-01,2026-10-31,80.00,EUR,0,2026-10-15\n"
    _, first, _ = ingest("incoming/invoices/a.csv", content, table)
    _, second, _ = ingest("incoming/invoices/a.csv", content, table, version="v2")
    payment = table.payments_[("C-1", "PAIDDATE-INV-1")]
    assert (payment.payment_date, payment.amount, payment.applied_amount) == (date(2026, 10, 15), 80, 80)
    assert table.invoices_[("C-1", "INV-1")].next_action_at is None
    assert (first["payments_applied"], second["payments_applied"], second["unchanged"]) == (1, 0, 1)


def test_a_customer_row_completes_a_placeholder() -> None:
    table = Table()
    table.customers_["C-1"] = Customer("C-1", name="C-1", email="", placeholder=True)
    ingest("incoming/customers/c.csv", b"customer_id;name;email\nC-1;Acme;ap@acme.example\n", table)
    assert table.customers_["C-1"] == Customer(
        "C-1",
        name="Acme",
        email="ap@acme.example",
        data_quality=("country is missing: holidays and the time zone cannot be derived",),
    )


def test_the_customers_a_file_writes_have_their_addresses_indexed_by_an_explicit_call() -> None:
    """The address lookup ("send me a fresh link") is the use case's own call, not a side effect of
    writing a customer: new and changed customers are indexed, unchanged ones are not."""
    table = Table()
    table.customers_["C-1"] = Customer("C-1", name="C-1", email="", placeholder=True)
    content = b"customer_id;name;email\nC-1;Acme;ap@acme.example\nC-2;Beta;ap@beta.example\n"
    ingest("incoming/customers/c.csv", content, table)
    assert sorted(table.indexed) == ["C-1", "C-2"]
    table.indexed.clear()
    ingest("incoming/customers/c.csv", content, table, version="v2")
    assert table.indexed == []


def invoice(open_amount: str = "100", **changes: Any) -> Invoice:
    base = Invoice(
        "C-1", "INV-1", "EUR", Decimal(100), Decimal(open_amount), date(2026, 10, 1), date(2026, 10, 31)
    )
    return replace(base, next_action_at=first_look_at(base), **changes)


def payment(amount: str, **changes: Any) -> Payment:
    return replace(Payment("C-1", "P-1", date(2026, 11, 2), Decimal(amount), "EUR", "INV-1"), **changes)


def test_a_partial_payment_keeps_the_invoice_open_and_in_the_index() -> None:
    settled, after = settle(payment("30"), invoice())
    assert (after.open_amount, after.status, after.next_action_at) == (70, "open", invoice().next_action_at)
    assert (settled.applied_amount, settled.unapplied_amount, settled.applied_to) == (30, 0, "INV-1")


def test_an_overpayment_closes_the_invoice_and_keeps_the_rest_unapplied() -> None:
    settled, after = settle(payment("130.50"), invoice())
    assert (after.open_amount, after.status, after.paid_date, after.next_action_at) == (
        0,
        "closed",
        date(2026, 11, 2),
        None,
    )
    assert (settled.applied_amount, settled.unapplied_amount) == (100, Decimal("30.50"))


def test_the_reference_finds_the_invoice_when_the_invoice_number_does_not() -> None:
    view = {("C-1", "INV-1"): invoice()}
    target, _ = payment_target(payment("5", invoice_number="nope", reference="INV-1"), view)
    assert target == invoice()


def test_money_in_another_currency_or_for_a_closed_invoice_stays_unapplied_with_the_reason() -> None:
    assert payment_target(payment("5", currency="USD"), {("C-1", "INV-1"): invoice()}) == (
        None,
        "kept unapplied: invoice INV-1 is in EUR",
    )
    closed = invoice("0", status="closed")
    assert (
        payment_target(payment("5"), {("C-1", "INV-1"): closed})[1]
        == "kept unapplied: invoice INV-1 is closed"
    )
