"""Payments that cover several invoices, through the real handlers against moto: a payment row naming
three invoices and a remittance advice of three lines settle all three and the next dunning tick reminds
none of them; the same files sent again every morning settle nothing twice; cash nothing took makes one
apply-cash task with suggestions; a collector applies it in the staff console, which settles the
invoices, closes the task and writes a ``cash_applied`` change for the ERP; a remittance whose lines
apply more than its total is rejected naming the row and column (arcollect/cash.py)."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from urllib.parse import quote, urlencode

import boto3
import pytest

from arcollect.changes import record_from_json
from arcollect.entities import Invoice, Payment, Task, TaskKind
from arcollect.store.changes import ChangeLog
from arcollect.store.repositories import Invoices, Payments, Tasks
from tests.integration.conftest import invoke, load_event
from tests.integration.dunning_world import World, sent_emails, utc
from tests.integration.ingest_flow import ingest, rejected_rows
from tests.integration.real_world import Browser, Reply, hidden
from tests.integration.staff_console import signed_in_staff

DROP = os.environ["DROP_BUCKET"]
# A customer id as NetSuite or Xero export it (a name): spaces, an ampersand, a comma, accents.
CUSTOMER = "Müller & Söhne, GmbH"
PAID = ("RE/2026/0101", "RE/2026/0102", "RE/2026/0103")
CONTROL = "RE/2026/0104"  # not paid: the tick still reminds it
TICK = "2026-11-23T09:00:00Z"  # Monday, 10:00 in Berlin: inside the send window

# A German ERP's export: ';' between fields, decimal commas, day-first dates.
INVOICES = (
    "customer_id;invoice_number;invoice_date;due_date;amount;currency\n"
    f'"{CUSTOMER}";RE/2026/0101;01.10.2026;31.10.2026;1.000,00;EUR\n'
    f'"{CUSTOMER}";RE/2026/0102;02.10.2026;01.11.2026;250,00;EUR\n'
    f'"{CUSTOMER}";RE/2026/0103;03.10.2026;02.11.2026;400,00;EUR\n'
    f'"{CUSTOMER}";RE/2026/0104;04.10.2026;03.11.2026;99,00;EUR\n'
).encode()

PAYMENTS_HEADER = "customer_id;payment_id;payment_date;amount;currency;invoice_number;reference"
LAYOUTS = {
    # One row naming the three invoices, newest first: paid oldest due first all the same.
    "one row naming three": (
        f"{PAYMENTS_HEADER}\n"
        f'"{CUSTOMER}";ZE/2026/77;20.11.2026;1.650,00;EUR;'
        '"RE/2026/0103, RE/2026/0101; RE/2026/0102";Sammelzahlung\n'
    ),
    # A remittance advice: one line per invoice, ``amount`` the payment's total, ``applied_amount`` its part.
    "three remittance lines": (
        f"{PAYMENTS_HEADER};applied_amount\n"
        f'"{CUSTOMER}";ZE/2026/77;20.11.2026;1.650,00;EUR;RE/2026/0101;Avis 77;1.000,00\n'
        f'"{CUSTOMER}";ZE/2026/77;20.11.2026;1.650,00;EUR;RE/2026/0102;Avis 77;250,00\n'
        f'"{CUSTOMER}";ZE/2026/77;20.11.2026;1.650,00;EUR;RE/2026/0103;Avis 77;400,00\n'
    ),
    # Lines without applied_amount: each line's amount is what it pays (the payment is their sum).
    "three lines of their own amounts": (
        f"{PAYMENTS_HEADER}\n"
        f'"{CUSTOMER}";ZE/2026/77;20.11.2026;1.000,00;EUR;RE/2026/0101;\n'
        f'"{CUSTOMER}";ZE/2026/77;20.11.2026;250,00;EUR;;Rechnung RE/2026/0102\n'
        f'"{CUSTOMER}";ZE/2026/77;20.11.2026;400,00;EUR;RE/2026/0103;\n'
    ),
}


@pytest.fixture
def world(aws: None) -> World:
    world = World()
    world.customer(CUSTOMER, email="buchhaltung@mueller-soehne.example", owner="cora")
    summary = ingest("incoming/invoices/offene-posten.csv", INVOICES)
    assert (summary["accepted"], summary["rejected"]) == (4, 0), summary
    return world


def invoice(number: str) -> Invoice:
    found = Invoices().get(CUSTOMER, number)
    assert found is not None
    return found


def payment(payment_id: str) -> Payment:
    [found] = [p for p in Payments().for_customer(CUSTOMER) if p.payment_id == payment_id]
    return found


def apply_cash_tasks() -> list[Task]:
    return [t for t in Tasks().for_customer(CUSTOMER) if t.kind == TaskKind.APPLY_CASH]


def tick(at: str = TICK) -> None:
    invoke("dunning", dict(load_event("scheduler_tick.json"), time=at))


def reminded() -> set[str]:
    return {number for email in sent_emails() for number in email.invoices}


# --- a payment of three invoices ---------------------------------------------------------------------


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_a_payment_of_three_invoices_settles_all_three_and_the_tick_reminds_none(
    world: World, layout: str
) -> None:
    # When the payments file arrives
    summary = ingest("incoming/payments/zahlungen-2026-11-23.csv", LAYOUTS[layout].encode())
    # Then all its rows are accepted, one payment applied, three invoices closed
    assert (summary["rejected"], summary["payments_applied"], summary["invoices_closed"]) == (0, 1, 3), (
        summary
    )
    for number in PAID:
        settled = invoice(number)
        assert (settled.status, settled.open_amount, settled.paid_date) == ("closed", 0, date(2026, 11, 20))
        assert settled.next_action_at is None  # out of the sweep's index
    recorded = payment("ZE/2026/77")
    assert sorted((a.invoice_number, a.amount) for a in recorded.allocations) == [
        ("RE/2026/0101", Decimal("1000.00")),
        ("RE/2026/0102", Decimal("250.00")),
        ("RE/2026/0103", Decimal("400.00")),
    ]
    assert (recorded.applied_amount, recorded.unapplied_amount) == (Decimal("1650.00"), 0)
    assert apply_cash_tasks() == []
    # And the next dunning tick reminds none of them, while the unpaid invoice is reminded
    tick()
    assert CONTROL in reminded()
    assert reminded().isdisjoint(PAID)
    assert not [
        t for t in Tasks().for_customer(CUSTOMER) if set(PAID) & set(t.detail.get("invoices", "").split(", "))
    ]


def test_a_partial_remittance_line_leaves_the_rest_open_and_dunning_asks_for_it(world: World) -> None:
    # Given a remittance paying one invoice in full and 150 of another (400)
    body = (
        f"{PAYMENTS_HEADER};applied_amount\n"
        f'"{CUSTOMER}";ZE/2026/80;20.11.2026;1.150,00;EUR;RE/2026/0101;Avis 80;1.000,00\n'
        f'"{CUSTOMER}";ZE/2026/80;20.11.2026;1.150,00;EUR;RE/2026/0103;Avis 80;150,00\n'
    )
    summary = ingest("incoming/payments/teilzahlung.csv", body.encode())
    assert (summary["payments_applied"], summary["invoices_closed"]) == (1, 1), summary
    # Then the second stays open for the rest, and the tick reminds it (never the paid one)
    assert (invoice("RE/2026/0103").open_amount, invoice("RE/2026/0103").status) == (250, "open")
    tick()
    assert "RE/2026/0103" in reminded() and "RE/2026/0101" not in reminded()


def test_the_same_files_sent_again_every_morning_settle_nothing_twice(world: World) -> None:
    # Given the remittance loaded on Monday, and a partial payment of the control invoice
    body = (
        LAYOUTS["three remittance lines"]
        + f'"{CUSTOMER}";ZE/2026/78;21.11.2026;40,00;EUR;RE/2026/0104;Teilzahlung;40,00\n'
    ).encode()
    first = ingest("incoming/payments/zahlungen.csv", body)
    assert (first["payments_applied"], first["invoices_closed"]) == (2, 3), first
    before = {n: invoice(n) for n in (*PAID, CONTROL)}
    payments_before = Payments().for_customer(CUSTOMER)
    # When the ERP sends the same file again on Tuesday and Wednesday (a new version, and a new name)
    again = ingest("incoming/payments/zahlungen.csv", body)
    renamed = ingest("incoming/payments/zahlungen-2026-11-25.csv", body)
    # Then every row is accepted unchanged and nothing is applied twice
    for summary in (again, renamed):
        assert (summary["accepted"], summary["unchanged"], summary["rejected"]) == (4, 4, 0), summary
        assert (summary["payments_applied"], summary["invoices_closed"]) == (0, 0), summary
    assert {n: invoice(n) for n in (*PAID, CONTROL)} == before
    assert invoice(CONTROL).open_amount == Decimal("59.00")
    assert Payments().for_customer(CUSTOMER) == payments_before
    assert apply_cash_tasks() == []


def test_a_remittance_applying_more_than_its_total_is_rejected_naming_the_row_and_column(
    world: World,
) -> None:
    body = (
        f"{PAYMENTS_HEADER};applied_amount\n"
        f'"{CUSTOMER}";ZE/2026/79;20.11.2026;1.500,00;EUR;RE/2026/0101;Avis 79;1.000,00\n'
        f'"{CUSTOMER}";ZE/2026/79;20.11.2026;1.500,00;EUR;RE/2026/0102;Avis 79;250,00\n'
        f'"{CUSTOMER}";ZE/2026/79;20.11.2026;1.500,00;EUR;RE/2026/0103;Avis 79;400,00\n'
    )
    summary = ingest("incoming/payments/avis-79.csv", body.encode())
    # Then the three lines are rejected together, nothing is recorded, no invoice changes
    assert (summary["accepted"], summary["rejected"], summary["payments_applied"]) == (0, 3, 0), summary
    [row] = list(csv.DictReader(io.StringIO(rejected_rows("incoming/payments/avis-79.csv"))))
    assert (row["row"], row["column"], row["value"]) == ("4", "applied_amount", "400.00")
    assert "row 4: the lines apply 1650.00, more than the payment's amount 1500.00" in row["reason"]
    assert "its rows 2, 3 are rejected with it" in row["reason"]
    assert Payments().for_customer(CUSTOMER) == []
    assert all(invoice(n).is_open for n in PAID)


# --- cash nothing took ---------------------------------------------------------------------------------


UNMATCHED = (
    f'{PAYMENTS_HEADER}\n"{CUSTOMER}";ZE/2026/99;21.11.2026;250,00;EUR;;Danke für die Lieferung\n'
).encode()


def test_unmatched_cash_makes_exactly_one_apply_cash_task_with_suggestions(world: World) -> None:
    # When a payment naming no invoice arrives, and the file again the next morning
    summary = ingest("incoming/payments/unbekannt.csv", UNMATCHED)
    ingest("incoming/payments/unbekannt.csv", UNMATCHED)
    # Then the cash stays unapplied, with a note saying why
    assert summary["payments_applied"] == 0
    assert summary["notes"][0]["note"] == (
        "kept unapplied: no invoice of this customer matches invoice_number or reference"
    )
    recorded = payment("ZE/2026/99")
    assert (recorded.applied_amount, recorded.unapplied_amount) == (0, Decimal("250.00"))
    # And one apply-cash task, on the owner's worklist, suggests the invoice of exactly that amount first
    [task] = apply_cash_tasks()
    assert (task.task_id, task.assignee, task.status) == ("apply-cash-ZE/2026/99", "cora", "open")
    assert task.title == "Apply 250.00 EUR of payment ZE/2026/99: no open invoice took it"
    assert task.detail["suggestions"].split("; ")[0] == "RE/2026/0102 (the exact amount)"
    assert "RE/2026/0101 (the oldest first)" in task.detail["suggestions"]


# --- the collector's decision in the staff console ---------------------------------------------------


@dataclass
class Console:
    browser: Browser
    sent: tuple[str, str] = ("", "")  # the last form sent: its path and body

    def account(self) -> Reply:
        page = self.browser.get(f"/staff/customers/{quote(CUSTOMER, safe='')}")
        assert page.status == 200, page.text
        return page

    def apply(self, payment_id: str, pairs: list[tuple[str, str]], *, note: str = "") -> Reply:
        page = self.account()
        form: list[tuple[str, str]] = [
            ("csrf_token", hidden(page.text, "csrf_token")),
            ("unapplied", hidden(page.text, "unapplied")),
            ("note", note),
        ]
        for number, amount in pairs:
            form += [("invoice_numbers", number), ("amounts", amount)]
        path = f"/staff/customers/{quote(CUSTOMER, safe='')}/payments/{quote(payment_id, safe='')}/apply"
        self.sent = (path, urlencode(form))
        return self.browser.request("POST", *self.sent)

    def again(self) -> Reply:
        """The last form sent once more (a double click, a browser's resubmission)."""
        return self.browser.request("POST", *self.sent)


@pytest.fixture
def console(world: World) -> Iterator[Console]:
    """Cora signs in to the staff console (the portal function's pages with a console on a moto user
    pool, its workspace writing the change feed as the deployed function's does)."""
    yield Console(signed_in_staff(utc(2026, 11, 23, 10), DROP))


def change_objects() -> list[dict[str, str]]:
    s3 = boto3.client("s3")
    listed = s3.list_objects_v2(Bucket=DROP, Prefix="outgoing/changes/").get("Contents", [])
    return [
        record_from_json(s3.get_object(Bucket=DROP, Key=o["Key"])["Body"].read().decode()) for o in listed
    ]


def test_a_console_decision_settles_the_invoices_closes_the_task_and_feeds_the_erp(
    world: World, console: Console
) -> None:
    # Given 1,250.00 that named nothing, and its apply-cash task on Cora's worklist
    body = f'{PAYMENTS_HEADER}\n"{CUSTOMER}";ZE/2026/98;21.11.2026;1.250,00;EUR;;Überweisung\n'
    ingest("incoming/payments/ohne-rechnung.csv", body.encode())
    [task] = apply_cash_tasks()
    worklist = console.browser.get("/staff/worklist")
    assert "Apply 1,250.00 EUR of payment ZE/2026/98" in worklist.text
    # When Cora opens the account: the form suggests the two invoices that add up to the amount
    page = console.account().text
    assert "Apply cash: payment" in page and "ZE/2026/98" in page
    assert "2 invoices that add up to the amount" in page
    # And she applies them
    done = console.apply(
        "ZE/2026/98", [("RE/2026/0101", "1,000.00"), ("RE/2026/0102", "250.00")], note="Avis per E-Mail"
    )
    assert done.status == 303, done.text
    assert done.header("Location").endswith("?done=cash")
    # Then both invoices are settled on the payment's date, and the payment is fully applied
    for number in ("RE/2026/0101", "RE/2026/0102"):
        assert (invoice(number).status, invoice(number).paid_date) == ("closed", date(2026, 11, 21))
    recorded = payment("ZE/2026/98")
    assert (recorded.applied_amount, recorded.unapplied_amount) == (Decimal("1250.00"), 0)
    # And the task is closed
    [closed] = apply_cash_tasks()
    assert (closed.task_id, closed.status, closed.outcome) == (task.task_id, "done", "cash_applied")
    # And each invoice is a cash_applied change for the ERP: in the table with the decision, and as
    # its own object under outgoing/changes/
    records = sorted(
        (r for r in ChangeLog().records_of(date(2026, 11, 23)) if r["kind"] == "cash_applied"),
        key=lambda r: r["invoice_number"],
    )
    assert [
        (r["invoice_number"], r["amount"], r["currency"], r["reference"], r["customer_id"]) for r in records
    ] == [
        ("RE/2026/0101", "1000.00", "EUR", "ZE/2026/98", CUSTOMER),
        ("RE/2026/0102", "250.00", "EUR", "ZE/2026/98", CUSTOMER),
    ]
    assert {(r["actor"], r["note"]) for r in records} == {("cora", "Avis per E-Mail")}
    assert sorted(r["change_id"] for r in change_objects()) == sorted(r["change_id"] for r in records)
    # And the timeline says who applied what
    assert "applied 1,250.00 EUR of payment ZE/2026/98 to RE/2026/0101 (1,000.00)" in console.account().text
    # When the form is sent a second time (a double click), it is refused and nothing more is written
    again = console.again()
    assert again.status == 409, again.text
    assert "payment ZE/2026/98 changed meanwhile" in again.text
    assert payment("ZE/2026/98") == recorded
    assert len(change_objects()) == 2
    # And the tick reminds only the invoices still open
    tick()
    assert reminded().isdisjoint({"RE/2026/0101", "RE/2026/0102"})


def test_a_decision_survives_the_next_erp_files(world: World, console: Console) -> None:
    # Given unmatched cash applied in the console to RE/2026/0102
    ingest("incoming/payments/unbekannt.csv", UNMATCHED)
    assert console.apply("ZE/2026/99", [("RE/2026/0102", "250.00")]).status == 303
    # When the ERP, which has not booked the application yet, sends its open items (stating the old open
    # amounts) and its payments again
    stated = INVOICES.decode().splitlines()
    open_items = "\n".join(
        [stated[0] + ";open_amount", *(f"{row};{row.rsplit(';', 2)[1]}" for row in stated[1:])]
    )
    ingest("incoming/invoices/offene-posten.csv", open_items.encode() + b"\n")
    again = ingest("incoming/payments/unbekannt.csv", UNMATCHED)
    # Then the invoice stays settled (a review task says the ERP disagrees), and nothing is re-applied
    assert (invoice("RE/2026/0102").status, invoice("RE/2026/0102").open_amount) == ("closed", 0)
    reviews = [t for t in Tasks().for_customer(CUSTOMER) if t.kind == TaskKind.REVIEW_ERP]
    assert [t.detail["invoice_number"] for t in reviews] == ["RE/2026/0102"]
    assert (again["unchanged"], again["payments_applied"]) == (1, 0)
    assert [(t.status, t.outcome) for t in apply_cash_tasks()] == [("done", "cash_applied")]


def test_a_decision_the_console_cannot_make_is_explained_beside_the_form(
    world: World, console: Console
) -> None:
    ingest("incoming/payments/unbekannt.csv", UNMATCHED)
    refused = console.apply("ZE/2026/99", [("RE/2026/0101", "300.00")])
    assert refused.status == 400
    assert "300.00 is more than payment ZE/2026/99 has unapplied (250.00 EUR)" in refused.text
    assert 'id="cash-ZE_2f2026_2f99-allocations"' in refused.text
    assert payment("ZE/2026/99").unapplied_amount == Decimal("250.00")
    assert invoice("RE/2026/0101").open_amount == 1000


def test_a_partial_decision_keeps_the_task_open_with_fresh_suggestions(
    world: World, console: Console
) -> None:
    ingest("incoming/payments/unbekannt.csv", UNMATCHED)
    assert console.apply("ZE/2026/99", [("RE/2026/0103", "200.00")]).status == 303
    [task] = apply_cash_tasks()
    assert (task.status, task.detail["unapplied_amount"]) == ("open", "50.00")
    assert task.title == "Apply 50.00 EUR of payment ZE/2026/99: left after RE/2026/0103"
    assert (invoice("RE/2026/0103").open_amount, invoice("RE/2026/0103").status) == (200, "open")
    assert payment("ZE/2026/99").allocations[0].amount == Decimal("200.00")
