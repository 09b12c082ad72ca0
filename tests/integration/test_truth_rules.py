"""What the ERP says and what the team decided both stay true: each rule of ingest/precedence.py through
the real ingest handler against moto, with the decisions made through the staff console's services, in
both orders (decision then file, file then decision)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from arcollect.entities import Invoice
from arcollect.staff import StaffUser
from arcollect.store.models import PaymentItem
from arcollect.store.repositories import Invoices
from arcollect.workspace.services import Workspace
from tests.integration.dunning_world import World, utc
from tests.integration.ingest_flow import ingest
from tests.integration.test_workspace import workspace

CUSTOMER = "Brennan & Sons, PC"
NUMBER = "INV/2026/00187"
NOW = utc(2026, 11, 10, 9)
DANA = StaffUser("dana@seller.example", "dana@seller.example", "Dana", frozenset({"collector", "manager"}))
WITH_OPEN = "customer_id,invoice_number,invoice_date,due_date,amount,currency,open_amount,disputed\n"
WITHOUT_OPEN = "customer_id,invoice_number,invoice_date,due_date,amount,currency,paid_date,disputed\n"


def invoices(open_amount: str | None = None, *, paid: str = "", disputed: str = "no") -> bytes:
    """The ERP's invoice list with our one invoice: with an open_amount column when one is given."""
    fields = f'"{CUSTOMER}",{NUMBER},2026-10-01,2026-10-31,1000.00,EUR'
    if open_amount is None:
        return (WITHOUT_OPEN + f"{fields},{paid},{disputed}\n").encode()
    return (WITH_OPEN + f"{fields},{open_amount},{disputed}\n").encode()


def payment(payment_id: str, amount: str) -> bytes:
    header = "customer_id,payment_id,payment_date,amount,currency,invoice_number\n"
    return (header + f'"{CUSTOMER}",{payment_id},2026-11-05,{amount},EUR,{NUMBER}\n').encode()


def send(body: bytes, day: int, kind: str = "invoices") -> dict[str, Any]:
    return ingest(f"incoming/{kind}/erp-{day}.csv", body, {"arcollect-as-of": f"2026-11-{day:02d}"})


def invoice() -> Invoice:
    found = Invoices().get(CUSTOMER, NUMBER)
    assert found is not None
    return found


@pytest.fixture
def world(aws: None) -> World:
    world = World()
    world.customer(CUSTOMER)
    return world


def agree_credit(ws: Workspace, dispute_id: str, amount: str = "200") -> None:
    """A collector resolves the dispute with a credit, as the console does."""
    ws.move_dispute(
        CUSTOMER,
        dispute_id,
        status="resolved_credit",
        note=f"{amount} off",
        by=DANA,
        now=NOW,
        credit_amount=amount,
    )


def review_tasks(world: World) -> list[str]:
    return [task.detail.get("reason", "") for task in world.tasks(CUSTOMER) if task.kind == "review_erp"]


# -- paid dates and open amounts ------------------------------------------------------------------------


def test_a_paid_date_without_an_open_amount_closes_the_invoice_with_a_dated_payment(world: World) -> None:
    send(invoices(), 1)
    assert invoice().open_amount == Decimal("1000.00")
    summary = send(invoices(paid="2026-11-03"), 4)
    assert (invoice().status, invoice().open_amount, summary["invoices_closed"]) == ("closed", 0, 1)
    [recorded] = [p for p in PaymentItem.scan() if p.customer_id == CUSTOMER]
    assert (recorded.payment_id, recorded.amount, recorded.payment_date) == (
        f"PAIDDATE-{NUMBER}",
        Decimal("1000.00"),
        "2026-11-03",
    )


def test_a_paid_date_with_the_whole_amount_open_is_refused_with_the_reason(world: World) -> None:
    body = (
        WITH_OPEN.replace(",disputed", ",paid_date")
        + f'"{CUSTOMER}",{NUMBER},2026-10-01,2026-10-31,1000.00,EUR,1000.00,2026-11-03\n'
    ).encode()
    summary = send(body, 4)
    assert (summary["accepted"], summary["rejected"]) == (0, 1)


@pytest.mark.parametrize("order", ["payment first", "file first"])
def test_a_daily_list_without_open_amounts_never_reopens_a_paid_invoice(world: World, order: str) -> None:
    # Given the invoice, and a payment of all of it from the payments file
    send(invoices(), 1)
    if order == "payment first":
        send(payment("P-1", "1000.00"), 5, "payments")
        send(invoices(), 6)  # the ERP's morning list, no open_amount column
    else:
        send(invoices(), 5)
        send(payment("P-1", "1000.00"), 6, "payments")
    # Then it stays paid: the missing column is not "all of it open"
    assert (invoice().status, invoice().open_amount) == ("closed", 0)
    # And the next mornings' lists change nothing either
    send(invoices(), 7)
    assert invoice().open_amount == 0 and not review_tasks(world)


def test_a_stale_stated_open_amount_is_kept_lower_with_a_review_task(world: World) -> None:
    send(invoices("1000.00"), 1)
    send(payment("P-1", "400.00"), 5, "payments")
    summary = send(invoices("1000.00"), 6)  # the ERP has not booked the payment yet
    assert invoice().open_amount == Decimal("600.00")
    [reason] = review_tasks(world)
    assert "leave 600.00 EUR" in reason
    assert summary["notes_total"] == 1
    # The ERP catches up: its word is taken, and the same file again adds no task
    send(invoices("600.00"), 7)
    send(invoices("600.00"), 8)
    assert invoice().open_amount == Decimal("600.00") and len(review_tasks(world)) == 1


# -- decisions made here --------------------------------------------------------------------------------


@pytest.mark.parametrize("order", ["decision first", "file first"])
def test_a_dispute_opened_here_stays_open_whatever_the_files_say(world: World, order: str) -> None:
    send(invoices("1000.00"), 1)
    ws = workspace(world)
    if order == "decision first":
        ws.log_dispute(CUSTOMER, invoice_number=NUMBER, reason="other", comment="", by=DANA, now=NOW)
        send(invoices("1000.00", disputed="no"), 11)
    else:
        send(invoices("1000.00", disputed="no"), 9)
        ws.log_dispute(CUSTOMER, invoice_number=NUMBER, reason="other", comment="", by=DANA, now=NOW)
    assert invoice().disputed and invoice().dispute_id is not None
    send(invoices("1000.00", disputed="no"), 12)
    assert invoice().disputed


@pytest.mark.parametrize("order", ["decision first", "file first"])
def test_an_agreed_credit_lowers_the_ask_until_the_erp_shows_it_and_never_twice(
    world: World, order: str
) -> None:
    send(invoices("1000.00"), 1)
    ws = workspace(world)
    view = ws.log_dispute(CUSTOMER, invoice_number=NUMBER, reason="other", comment="", by=DANA, now=NOW)

    if order == "decision first":
        agree_credit(ws, view.dispute_id)
        send(invoices("1000.00"), 11)  # the ERP has not booked the credit note yet
    else:
        send(invoices("1000.00"), 9)
        agree_credit(ws, view.dispute_id)
    assert (invoice().open_amount, invoice().credit_agreed) == (Decimal("800.00"), Decimal("200.00"))
    assert not invoice().disputed
    # The ERP books it: matched and cleared, and 800 stays 800 on every later file
    send(invoices("800.00"), 12)
    send(invoices("800.00"), 13)
    assert (invoice().open_amount, invoice().credit_agreed) == (Decimal("800.00"), 0)
    assert not review_tasks(world)


@pytest.mark.parametrize("order", ["decision first", "file first"])
def test_promises_and_holds_made_here_survive_the_files(world: World, order: str) -> None:
    send(invoices("1000.00"), 1)
    ws = workspace(world)
    customers = b'customer_id,name,email,country\n"Brennan & Sons, PC",Brennan & Sons,ap@brennan.example,US\n'

    def decide() -> None:
        ws.take_promise(
            CUSTOMER,
            invoice_numbers=[NUMBER],
            amount="1000.00",
            promised_until="2026-11-20",
            by=DANA,
            now=NOW,
        )
        ws.set_hold(CUSTOMER, hold=True, reason="CFO on holiday", by=DANA, now=NOW)

    if order == "decision first":
        decide()
        send(invoices("1000.00"), 11)
        send(customers, 11, "customers")
    else:
        send(invoices("1000.00"), 9)
        send(customers, 9, "customers")
        decide()
    assert invoice().promise_id is not None and invoice().promised_until is not None
    profile = world.workspace.customer(CUSTOMER)
    assert profile is not None and profile.collector_hold and profile.hold_reason == "CFO on holiday"


def test_a_file_that_says_paid_while_a_dispute_is_open_makes_a_review(world: World) -> None:
    send(invoices("1000.00"), 1)
    workspace(world).log_dispute(
        CUSTOMER, invoice_number=NUMBER, reason="other", comment="", by=DANA, now=NOW
    )
    send(invoices("0"), 11)
    assert invoice().open_amount == 0 and invoice().dispute_id is not None
    [reason] = review_tasks(world)
    assert "paid while a dispute is open" in reason


CREDIT_NOTE = "CN/2026/0042"


def credit_note(open_amount: str) -> bytes:
    header = "customer_id,invoice_number,invoice_date,due_date,amount,currency,open_amount,document_type\n"
    return (
        header + f'"{CUSTOMER}",{CREDIT_NOTE},2026-11-08,2026-11-08,200.00,EUR,{open_amount},credit_note\n'
    ).encode()


@pytest.mark.parametrize("order", ["decision first", "file first"])
def test_the_erps_credit_note_is_matched_to_the_credit_agreed_here_and_counted_once(
    world: World, order: str
) -> None:
    send(invoices("1000.00"), 1)
    ws = workspace(world)
    view = ws.log_dispute(
        CUSTOMER, invoice_number=NUMBER, reason="wrong_amount_or_price", comment="", by=DANA, now=NOW
    )

    if order == "decision first":
        agree_credit(ws, view.dispute_id)
        summary = send(credit_note("200.00"), 11)
        assert any("matched to the credit agreed" in note["note"] for note in summary["notes"])
    else:
        send(credit_note("200.00"), 9)
        agree_credit(ws, view.dispute_id)
        [moved] = [
            a for a in world.workspace.account(CUSTOMER).activities if "resolved with a credit" in a.summary
        ]
        assert CREDIT_NOTE in moved.summary
    note = Invoices().get(CUSTOMER, CREDIT_NOTE)
    assert note is not None
    assert (note.status, note.open_amount, note.credit_match) == ("closed", 0, NUMBER)
    assert (invoice().open_amount, invoice().credit_match) == (Decimal("800.00"), CREDIT_NOTE)
    # What the customer owes: 800, not 600 (the credit counted once)
    account = world.workspace.account(CUSTOMER)
    owed = sum(i.open_amount * (-1 if i.document_type == "credit_note" else 1) for i in account.invoices)
    assert owed == Decimal("800.00")
    # The same files again, and the ERP applying the note to the invoice later: still 800, no review
    send(credit_note("200.00"), 12)
    send(invoices("1000.00"), 12)
    assert invoice().open_amount == Decimal("800.00") and not review_tasks(world)
    send(credit_note("0"), 14)
    send(invoices("800.00"), 14)
    assert (invoice().open_amount, invoice().credit_agreed, invoice().credit_match) == (
        Decimal("800.00"),
        0,
        None,
    )
    assert Invoices().get(CUSTOMER, CREDIT_NOTE).open_amount == 0  # type: ignore[union-attr]
    assert not review_tasks(world)


def test_a_credit_note_of_another_amount_is_not_matched(world: World) -> None:
    send(invoices("1000.00"), 1)
    ws = workspace(world)
    view = ws.log_dispute(
        CUSTOMER, invoice_number=NUMBER, reason="wrong_amount_or_price", comment="", by=DANA, now=NOW
    )
    ws.move_dispute(
        CUSTOMER,
        view.dispute_id,
        status="resolved_credit",
        note="150 off",
        by=DANA,
        now=NOW,
        credit_amount="150",
    )
    send(credit_note("200.00"), 11)
    note = Invoices().get(CUSTOMER, CREDIT_NOTE)
    assert note is not None and note.is_open and note.credit_match is None
    assert invoice().credit_match is None and invoice().credit_agreed == Decimal("150.00")


# -- contact details the customer corrected ---------------------------------------------------------------

MASTER = "customer_id,name,email,phone,language,country\n"


def master(email: str, language: str = "en", phone: str = "") -> bytes:
    return (MASTER + f'"{CUSTOMER}",Brennan & Sons,{email},{phone},{language},US\n').encode()


def correct_contact(email: str, language: str | None = None) -> None:
    """The customer corrects its AP address (and language) in the portal, as the contact form does."""
    from tests.integration.test_portal_services import make_portal

    make_portal().update_contact(
        CUSTOMER, email=email, other_emails=None, phone=None, language=language, now=NOW
    )


@pytest.mark.parametrize("order", ["decision first", "file first"])
def test_a_contact_correction_made_in_the_portal_survives_the_next_customer_master(
    world: World, order: str
) -> None:
    if order == "file first":
        send(master("old@brennan.example"), 9, "customers")
    correct_contact("new@brennan.example", "de")
    send(master("old@brennan.example"), 11, "customers")  # the master the next morning, not caught up
    send(master("old@brennan.example"), 12, "customers")  # and the morning after: no second task
    profile = world.workspace.customer(CUSTOMER)
    assert profile is not None
    assert (profile.email, profile.language) == ("new@brennan.example", "de")
    assert profile.contact_corrected == ("email", "language")
    (reason,) = review_tasks(world)
    assert "email old@brennan.example (corrected to new@brennan.example)" in reason
    assert "language en (corrected to de)" in reason
    # The ERP catches up (its own language code for German): settled, and its word stands again.
    send(master("NEW@brennan.example", "de-DE"), 13, "customers")
    profile = world.workspace.customer(CUSTOMER)
    assert profile is not None and profile.contact_corrected == ()
    assert (profile.email, profile.language) == ("NEW@brennan.example", "de-DE")
    send(master("ap2@brennan.example", "de-DE"), 14, "customers")
    profile = world.workspace.customer(CUSTOMER)
    assert profile is not None and profile.email == "ap2@brennan.example"
    assert len(review_tasks(world)) == 1


def test_a_master_that_shows_one_correction_keeps_the_other(world: World) -> None:
    correct_contact("new@brennan.example", "fr")
    send(master("new@brennan.example", "en"), 11, "customers")
    profile = world.workspace.customer(CUSTOMER)
    assert profile is not None
    assert (profile.email, profile.language, profile.contact_corrected) == (
        "new@brennan.example",
        "fr",
        ("language",),
    )
    (reason,) = review_tasks(world)
    assert "language en (corrected to fr)" in reason and "email" not in reason
