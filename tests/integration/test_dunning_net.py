"""Reminders ask for the net amount, through the real dunning handler against moto: the customer's open
credit notes and unapplied cash in the same currency are listed and lower what is asked; when they cover
it all, no reminder goes and a collector gets one "credit balance" task."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import date
from decimal import Decimal

from arcollect.decisions import decisions_of
from arcollect.dunning.engine import Outcome
from arcollect.entities import Activity, DocumentType, Invoice, Payment
from arcollect.store import keys
from arcollect.store.models import TableItem
from arcollect.store.repositories import Accounts, Invoices, Payments, index_credits
from arcollect.store.workspace import WorkspaceStore
from tests.integration.dunning_world import World, utc
from tests.integration.real_world import Browser
from tests.integration.test_dunning_scenarios import notes

CUSTOMER = "Brennan & Sons, PC"
# Due 2026-11-01: its "due" email falls due on Monday 2026-11-02 (10:00 Berlin is 09:00 UTC)
AT = utc(2026, 11, 2, 9)


def credit_note(number: str, amount: str, currency: str = "EUR") -> None:
    note = Invoice(
        customer_id=CUSTOMER,
        invoice_number=number,
        currency=currency,
        amount=Decimal(amount),
        open_amount=Decimal(amount),
        invoice_date=date(2026, 10, 20),
        due_date=date(2026, 10, 20),
        document_type=DocumentType.CREDIT_NOTE.value,
    )
    Invoices().save(note)  # as ingest leaves a credit note: open, out of the sweep's index


def unapplied(payment_id: str, amount: str, currency: str = "EUR") -> None:
    Accounts().add_payments(
        [
            Payment(
                customer_id=CUSTOMER,
                payment_id=payment_id,
                payment_date=date(2026, 10, 28),
                amount=Decimal(amount),
                currency=currency,
                invoice_number=None,
                reference="thanks",
                applied_amount=Decimal(0),
                unapplied_amount=Decimal(amount),
                applied_to=None,
            )
        ]
    )


def world_with_invoice() -> World:
    world = World(through_handler=True)
    world.customer(CUSTOMER, email="ap@brennan-sons.example")
    world.invoice(
        "INV/2026/00187",
        customer_id=CUSTOMER,
        invoice_date=date(2026, 10, 2),
        due_date=date(2026, 11, 1),
        steps_done=("outreach", "courtesy"),
    )
    return world


def test_a_reminder_lists_credits_and_asks_for_the_net_amount(aws: None) -> None:
    world = world_with_invoice()
    credit_note("CN/2026/0042", "300.00")
    unapplied("PAY-77", "150.00")
    credit_note("CN-USD-1", "999.00", currency="USD")  # another currency: neither listed nor deducted
    world.run(AT, utc(2026, 11, 3))
    [email] = world.emails(CUSTOMER)
    text = email.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Credit note CN/2026/0042: -300.00 EUR" in text
    assert "Payment received, not yet applied PAY-77: -150.00 EUR" in text
    assert "To pay: 550.00 EUR" in text and "Total open: 1,000.00 EUR" in text
    assert "CN-USD-1" not in text
    assert "550.00 EUR" in email.subject


def test_the_credits_index_holds_a_customers_credits_and_nothing_else(aws: None) -> None:
    world_with_invoice()
    credit_note("CN/2026/0042", "300.00")
    unapplied("PAY-77", "150.00")
    unapplied("PAY-78", "0.01")
    # A reminder about to ask for money reads the credits index: the credits, not the invoice
    indexed = {item.sk for item in TableItem.by_credit.query(keys.customer_pk(CUSTOMER))}
    assert indexed == {keys.invoice_sk("CN/2026/0042"), keys.payment_sk("PAY-77"), keys.payment_sk("PAY-78")}
    # When a collector's decision applies all of a payment's cash, it leaves the index
    payment = next(p for p in Payments().for_customer(CUSTOMER) if p.payment_id == "PAY-78")
    applied = replace(payment, applied_amount=payment.amount, unapplied_amount=Decimal(0))
    activity = Activity(customer_id=CUSTOMER, at=AT, activity_id="apply-1", kind="cash_applied", summary="x")
    assert WorkspaceStore().apply_cash(payment, applied, [], None, activity)
    indexed = {item.sk for item in TableItem.by_credit.query(keys.customer_pk(CUSTOMER))}
    assert keys.payment_sk("PAY-78") not in indexed and keys.payment_sk("PAY-77") in indexed


def test_credits_that_cover_everything_due_send_no_reminder_but_make_one_task(aws: None) -> None:
    world = world_with_invoice()
    credit_note("CN/2026/0042", "800.00")
    unapplied("PAY-77", "200.00")
    decided = notes(world, AT, CUSTOMER)
    assert ("INV/2026/00187", Outcome.SUPPRESSED.value, "due") in decided
    world.run(AT, utc(2026, 11, 20))
    assert world.emails(CUSTOMER) == []
    balance = [task for task in world.tasks(CUSTOMER) if task.kind == "credit_balance"]
    assert len(balance) == 1, "the same credits found on later ticks make no second task"
    assert "apply them in the ERP or refund" in balance[0].title
    # And the timeline says why no reminder went
    decisions = "\n".join(d.line() for a in world.timeline(CUSTOMER) for d in decisions_of(a))
    assert "credits of 1000.00 EUR cover the 1000.00 EUR this would ask" in decisions


def test_when_the_credit_is_used_up_the_reminders_resume(aws: None) -> None:
    world = world_with_invoice()
    credit_note("CN/2026/0042", "1000.00")
    world.run(AT, utc(2026, 11, 5))
    assert world.emails(CUSTOMER) == []
    # The ERP applies the credit note elsewhere: it is closed, the invoice still open
    note = Invoices().get(CUSTOMER, "CN/2026/0042")
    assert note is not None
    Invoices().save(replace(note, open_amount=Decimal(0), status="closed"))
    world.run(utc(2026, 11, 5), utc(2026, 11, 21))
    assert [e.step for e in world.emails(CUSTOMER)] == ["reminder"]


def test_the_portal_and_its_promise_form_show_a_credit_note_as_a_credit(aws: None) -> None:
    world = world_with_invoice()
    credit_note("CN/2026/0042", "300.00")
    world.run(AT, utc(2026, 11, 3))
    # When the customer follows the reminder's link
    [email] = world.emails(CUSTOMER)
    text = email.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    [link] = set(re.findall(r"https://portal\.example\.com/\S*", text))
    browser = Browser(at=utc(2026, 11, 3, 10))
    opened = browser.follow_link(link)
    account = browser.get(opened.header("Location")) if opened.status in {302, 303} else opened
    # Then the account is 700.00 EUR net, and the credit note is a credit: negative, never overdue
    page = html.unescape(account.text)
    assert "700.00" in page
    row = page[page.index("CN/2026/0042") :]
    row = row[: row.index("</tr>")]
    assert "-300.00" in row and "Credit" in row and "Overdue" not in row
    # And the promise form offers the invoice only, saying the credit lowers what is owed
    promise = html.unescape(browser.get("/promise").text)
    assert 'value="INV/2026/00187"' in promise and 'value="CN/2026/0042"' not in promise
    hint = promise[promise.index('id="amount-hint"') :]
    hint = hint[: hint.index("</p>")]
    assert "CN/2026/0042: -300.00" in hint and "700.00" in hint


def test_credits_written_before_the_index_existed_are_indexed_once(aws: None) -> None:
    # Given a credit note, an unapplied payment and an invoice as an earlier version wrote them
    world_with_invoice()
    credit_note("CN/2026/0042", "300.00")
    unapplied("PAY-77", "150.00")
    pk = keys.customer_pk(CUSTOMER)
    for item in TableItem.by_credit.query(pk):
        item.update(actions=[TableItem.credit_owner.remove()])
    assert list(TableItem.by_credit.query(pk)) == []
    # When `arcollect reindex-credits` runs (twice: the second finds nothing to do)
    assert index_credits() == 2
    assert index_credits() == 0
    # Then the credits are in the index, the invoice is not, and the reminder deducts them again
    indexed = {item.sk for item in TableItem.by_credit.query(pk)}
    assert indexed == {keys.invoice_sk("CN/2026/0042"), keys.payment_sk("PAY-77")}
