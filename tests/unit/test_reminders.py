"""Which invoices a reminder may touch and whether the customer may be reached: the domain's rules
(``arcollect.reminders``), which the store checks in the touch's transaction (``store/touches.py``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

from arcollect.entities import Customer, Invoice
from arcollect.reminders import Reach, reachable, remindable
from arcollect.store.touches import profile_condition, remindable_condition

INVOICE = Invoice("C-1", "INV-1", "EUR", Decimal(100), Decimal(100), date(2026, 10, 1), date(2026, 10, 31))
CUSTOMER = Customer("C-1", "Acme", "ap@acme.example")


def test_an_open_undisputed_invoice_owing_money_without_the_step_is_remindable() -> None:
    assert remindable("first", None).holds(INVOICE)
    assert not remindable("first", None).holds(replace(INVOICE, status="paid"))
    assert not remindable("first", None).holds(replace(INVOICE, open_amount=Decimal(0)))
    assert not remindable("first", None).holds(replace(INVOICE, disputed=True))
    assert not remindable("first", None).holds(replace(INVOICE, steps_done=("first",)))


def test_the_promise_situation_must_be_the_one_the_engine_read() -> None:
    promised = replace(INVOICE, promise_id="P-1")
    assert not remindable("first", None).holds(promised)
    assert remindable("missed", "P-1").holds(promised)
    assert not remindable("missed", "P-2").holds(promised)


def test_what_each_reach_requires_of_the_customer() -> None:
    held = replace(CUSTOMER, collector_hold=True)
    silent = replace(CUSTOMER, do_not_contact=True)
    assert reachable(Reach.CONTACT).holds(CUSTOMER)
    assert not reachable(Reach.CONTACT).holds(held) and not reachable(Reach.CONTACT).holds(silent)
    assert not reachable(Reach.DUNNING).holds(held) and reachable(Reach.DUNNING).holds(silent)
    assert reachable(Reach.ANY).holds(held) and reachable(Reach.ANY).holds(silent)
    assert not reachable(Reach.ANY).holds(None)


def test_a_plan_made_from_a_copy_needs_the_profile_unchanged_and_no_email_since() -> None:
    copy = CUSTOMER
    assert reachable(Reach.CONTACT, copy).holds(CUSTOMER)
    assert not reachable(Reach.CONTACT, copy).holds(replace(CUSTOMER, name="Acme AG"))
    emailed = replace(CUSTOMER, last_emailed_at=datetime(2026, 11, 2, 9, tzinfo=UTC))
    assert not reachable(Reach.CONTACT, copy).holds(emailed)


def test_the_store_turns_each_requirement_into_a_condition_on_what_it_names() -> None:
    invoice = str(remindable_condition("first", None))
    for attribute in ("status", "open_amount", "disputed", "steps_done", "promise_id"):
        assert attribute in invoice
    profile = str(profile_condition(reachable(Reach.CONTACT, CUSTOMER)))
    for attribute in ("dunning_hold", "collector_hold", "do_not_contact", "fingerprint", "last_emailed_at"):
        assert attribute in profile
    assert "do_not_contact" not in str(profile_condition(reachable(Reach.DUNNING)))
    assert "hold" not in str(profile_condition(reachable(Reach.ANY)))
