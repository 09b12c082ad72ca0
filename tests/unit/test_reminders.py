"""Reminders: one email per customer, each (invoice, step) touch once, failures leave nothing half-done."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from email import message_from_bytes

import pytest

from arcollect.dunning.messages import HEADER_CUSTOMER, HEADER_INVOICES, HEADER_SENT_AT, HEADER_STEP
from arcollect.dunning.reminders import STEP_PAST_DUE, send_due_reminders
from arcollect.entities import Activity, Customer, Invoice

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Key:
    customer_id: str
    invoice_number: str


@dataclass
class World:
    """Fakes of the store with the same contracts: conditional reserve, index that can be cleared."""

    customers: dict[str, Customer] = field(default_factory=dict)
    invoices: dict[str, list[Invoice]] = field(default_factory=dict)
    index: set[Key] = field(default_factory=set)
    ledger: dict[tuple[str, str, str], str | None] = field(default_factory=dict)
    sent: list[tuple[list[str], bytes, dict[str, str]]] = field(default_factory=list)
    timeline: list[Activity] = field(default_factory=list)
    fail_sends: int = 0

    # the sweep's index
    def due(self, now: datetime) -> list[Key]:
        return sorted(self.index, key=lambda k: (k.customer_id, k.invoice_number))

    def clear(self, customer_id: str, invoice_number: str) -> None:
        self.index.discard(Key(customer_id, invoice_number))

    # CustomerSource / InvoiceSource
    def get(self, customer_id: str) -> Customer | None:
        return self.customers.get(customer_id)

    def for_customer(self, customer_id: str) -> list[Invoice]:
        return list(self.invoices.get(customer_id, []))

    # Ledger
    def reserve(self, customer_id: str, invoice_number: str, step: str, at: datetime) -> bool:
        key = (customer_id, invoice_number, step)
        if key in self.ledger:
            return False
        self.ledger[key] = None
        return True

    def complete(
        self, customer_id: str, invoice_number: str, step: str, message_id: str, at: datetime
    ) -> None:
        self.ledger[(customer_id, invoice_number, step)] = message_id

    def release(self, customer_id: str, invoice_number: str, step: str) -> None:
        if self.ledger.get((customer_id, invoice_number, step)) is None:
            self.ledger.pop((customer_id, invoice_number, step), None)

    # Mailer
    def send(self, *, sender: str, to: list[str], raw: bytes, tags: dict[str, str]) -> str:
        if self.fail_sends:
            self.fail_sends -= 1
            raise ConnectionError("SES unreachable")
        self.sent.append((to, raw, tags))
        return f"msg-{len(self.sent)}"

    # Timeline
    def record(self, activity: Activity) -> bool:
        self.timeline.append(activity)
        return True

    def add(
        self,
        customer: str,
        number: str,
        *,
        email: str = "ap@example.com",
        open_amount: str = "100.00",
        status: str = "open",
        disputed: bool = False,
    ) -> None:
        self.customers.setdefault(customer, Customer(customer, f"{customer} Ltd", email))
        self.invoices.setdefault(customer, []).append(
            Invoice(
                customer,
                number,
                "EUR",
                Decimal("100.00"),
                Decimal(open_amount),
                date(2026, 10, 1),
                date(2026, 10, 31),
                status=status,
                disputed=disputed,
            )
        )
        self.index.add(Key(customer, number))

    def run(self) -> tuple[int, int, dict[str, int]]:
        result = send_due_reminders(
            now=NOW,
            due=self.due(NOW),
            index=self,
            customers=self,
            invoices=self,
            ledger=self,
            mailer=self,
            timeline=self,
            sender="ar@example.com",
            link_for=lambda c: f"https://portal.example/l/{c}",
        )
        return result.emails_sent, result.invoices_reminded, dict(result.skipped)


def test_one_email_per_customer_lists_all_their_due_invoices() -> None:
    # Given two customers, one with two due invoices
    world = World()
    world.add("C-1", "INV-1")
    world.add("C-1", "INV-2")
    world.add("C-2", "INV-3")
    # When the sweep runs
    emails, invoices, _ = world.run()
    # Then each customer gets one email naming exactly their invoices, tagged for SES events
    assert (emails, invoices) == (2, 3)
    first = message_from_bytes(world.sent[0][1])
    assert first[HEADER_CUSTOMER] == "C-1"
    assert first[HEADER_INVOICES] == "INV-1,INV-2"
    assert first[HEADER_STEP] == STEP_PAST_DUE
    assert first[HEADER_SENT_AT] == "2026-11-23T09:00:00Z"
    assert "https://portal.example/l/C-1" in first.get_payload()[0].get_payload(decode=True).decode()
    assert world.sent[0][2] == {"customer_id": "C-1", "step": STEP_PAST_DUE}
    assert {a.activity_id for a in world.timeline} == {"msg-1", "msg-2"}
    assert not world.index, "reminded invoices leave the sweep's index"


def test_a_repeated_run_never_sends_the_same_touch_again() -> None:
    world = World()
    world.add("C-1", "INV-1")
    world.run()
    # Even if the index still (or again) lists it, the ledger says it was touched.
    world.index.add(Key("C-1", "INV-1"))
    assert world.run() == (0, 0, {"already_touched": 1})
    assert len(world.sent) == 1


def test_paid_and_disputed_invoices_are_not_reminded_but_the_others_are() -> None:
    world = World()
    world.add("C-1", "INV-PAID", open_amount="0", status="closed")
    world.add("C-1", "INV-DISPUTED", disputed=True)
    world.add("C-1", "INV-OPEN")
    emails, invoices, skipped = world.run()
    assert (emails, invoices) == (1, 1)
    assert message_from_bytes(world.sent[0][1])[HEADER_INVOICES] == "INV-OPEN"
    assert skipped == {"closed_or_disputed": 2}


def test_a_customer_without_an_address_stays_due_until_the_master_data_has_one() -> None:
    world = World()
    world.add("C-1", "INV-1", email="")
    assert world.run() == (0, 0, {"no_contact": 1})
    assert Key("C-1", "INV-1") in world.index


def test_a_failed_send_releases_the_reservation_so_the_next_sweep_retries() -> None:
    # Given SES is unreachable on the first attempt
    world = World(fail_sends=1)
    world.add("C-1", "INV-1")
    with pytest.raises(ConnectionError):
        world.run()
    # Then nothing is recorded as touched, and the next sweep sends it
    assert world.ledger == {}
    assert Key("C-1", "INV-1") in world.index
    assert world.run()[:2] == (1, 1)
    assert world.ledger == {("C-1", "INV-1", STEP_PAST_DUE): "msg-1"}


def test_a_crash_after_ses_accepted_leaves_the_touch_reserved_never_resent() -> None:
    # Given a run that crashed after SES accepted the mail but before the ledger was completed
    world = World()
    world.add("C-1", "INV-1")
    world.reserve("C-1", "INV-1", STEP_PAST_DUE, NOW)  # the reservation the crashed run made
    # When the sweep runs again
    assert world.run() == (0, 0, {"already_touched": 1})
    # Then the reservation without a message id stays for review; no second email goes out
    assert world.ledger == {("C-1", "INV-1", STEP_PAST_DUE): None}
    assert world.sent == []
