"""Dunning: the scheduled tick takes "now" from its event; SES events land in the customer's timeline."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from arcollect.store import keys
from arcollect.store.models import InvoiceItem
from arcollect.store.repositories import Activities
from tests.integration.conftest import invoke, load_event


def due_invoice(customer_id: str, number: str, next_action_at: str | None) -> None:
    pk = keys.customer_pk(customer_id)
    InvoiceItem(
        pk,
        keys.invoice_sk(number),
        customer_id=customer_id,
        invoice_number=number,
        currency="EUR",
        amount=Decimal("100.00"),
        open_amount=Decimal("100.00"),
        invoice_date=date(2026, 10, 1).isoformat(),
        due_date=date(2026, 10, 31).isoformat(),
        next_action_shard=keys.next_action_shard(pk) if next_action_at else None,
        next_action_at=next_action_at,
    ).save()


def test_the_tick_counts_what_is_due_at_its_scheduled_time(aws: None) -> None:
    # Given two invoices due before the tick, one due after it, one with nothing pending
    due_invoice("C-1", "INV-1", "2026-11-23T08:00:00Z")
    due_invoice("C-2", "INV-2", "2026-11-23T09:00:00Z")
    due_invoice("C-3", "INV-3", "2026-11-23T10:00:00Z")
    due_invoice("C-4", "INV-4", None)
    # When the scheduler fires for 09:00 (the event's time, whatever the wall clock says)
    result = invoke("dunning", load_event("scheduler_tick.json"))
    # Then the sweep saw exactly the two due items, read from the sparse index
    assert (result["scheduled_at"], result["due_items"], result["duplicate"]) == (
        "2026-11-23T09:00:00+00:00",
        2,
        False,
    )


def test_a_repeated_tick_for_the_same_time_is_recognised(aws: None) -> None:
    tick = load_event("scheduler_tick.json")
    invoke("dunning", tick)
    assert invoke("dunning", tick)["duplicate"] is True
    later = dict(tick, time="2026-11-23T10:00:00Z")
    assert invoke("dunning", later)["duplicate"] is False


def test_a_bounce_is_recorded_once_in_the_customers_timeline(aws: None) -> None:
    # Given SES's bounce event for a reminder tagged with the customer
    event = load_event("ses_bounce.json")
    # When it arrives, and arrives again (EventBridge delivers at least once)
    first = invoke("dunning", event)
    second = invoke("dunning", event)
    # Then one timeline entry says what happened and when the bounce happened
    assert first["recorded"] is True
    assert second["recorded"] is False
    [entry] = Activities().timeline("C-1001")
    assert entry.kind == "email_bounce"
    assert entry.at == datetime(2026, 11, 23, 9, 5, 11, tzinfo=UTC)
    assert entry.detail["recipients"] == "ap@customer.example"
    assert entry.detail["message_id"] == event["detail"]["mail"]["messageId"]


def test_an_event_for_mail_we_did_not_tag_is_ignored(aws: None) -> None:
    event = load_event("ses_bounce.json")
    del event["detail"]["mail"]["tags"]["customer_id"]
    assert invoke("dunning", event)["recorded"] is False
