"""Statutory late-payment charges in the portal, against moto: the EU worked example of
tests/unit/test_interest.py (a rate change mid-period, a partial payment and a credit note) computed
from the stored invoice, payment and credit note, shown on the account and the statement, and never
added to the amount due unless the policy says so."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from typing import Any

from arcollect.entities import Allocation, Payment
from arcollect.policy import PolicySet, parse_policy, shipped_policy
from arcollect.portal.self_service import Portal
from arcollect.store.repositories import Accounts
from tests.integration.dunning_world import World
from tests.integration.test_portal_services import make_portal
from tests.unit.test_interest import with_charges

TODAY = date(2024, 7, 31)


def _world() -> World:
    world = World()
    world.customer("C-1", email="ap@one.example")
    world.invoice(
        "INV-EU",
        invoice_date=date(2024, 5, 1),
        due_date=date(2024, 5, 31),
        amount="10000.00",
        open_amount="5000.00",
    )
    world.invoice(
        "CN-EU",
        invoice_date=date(2024, 7, 10),
        due_date=date(2024, 7, 10),
        amount="1000.00",
        open_amount="0",
        status="closed",
        document_type="credit_note",
        credit_match="INV-EU",
    )
    world.invoice("INV-LATER", invoice_date=date(2024, 7, 1), due_date=date(2024, 8, 31), amount="200.00")
    Accounts().add_payments(
        [
            Payment(
                customer_id="C-1",
                payment_id="P-1",
                payment_date=date(2024, 6, 15),
                amount=Decimal(4000),
                currency="EUR",
                applied_amount=Decimal(4000),
                allocations=(Allocation("INV-EU", Decimal(4000)),),
            )
        ]
    )
    return world


def _portal(policy: PolicySet) -> Portal:
    return make_portal(policies=lambda: policy)


def test_the_account_shows_the_eu_example_and_does_not_ask_for_it(aws: None) -> None:
    _world()
    view = _portal(parse_policy(with_charges(), source="test")).account("C-1", today=TODAY)
    by_number = {v.invoice.invoice_number: v for v in view.invoices}
    charges = by_number["INV-EU"].late_charges
    assert charges is not None
    assert (charges.days_late, charges.interest, charges.compensation) == (61, Decimal("135.86"), Decimal(40))
    assert by_number["INV-LATER"].late_charges is None  # not late yet
    (eur,) = view.totals
    assert (eur.total_due, eur.late_charges, view.charges_added) == (
        Decimal("5200.00"),
        Decimal("175.86"),
        False,
    )


def test_a_policy_that_adds_them_to_the_open_amount_asks_for_them(aws: None) -> None:
    _world()
    text = with_charges().replace(
        "      compensation: eu\n", "      compensation: eu\n      add_to_open_amount: true\n"
    )
    view = _portal(parse_policy(text, source="test")).account("C-1", today=TODAY)
    (eur,) = view.totals
    assert (eur.total_due, view.charges_added) == (Decimal("5375.86"), True)


def test_the_statement_lists_the_charges_apart_from_the_open_amounts(aws: None) -> None:
    _world()
    statement = _portal(parse_policy(with_charges(), source="test")).statement("C-1", today=TODAY, fmt="csv")
    rows = list(csv.reader(io.StringIO(statement.body.decode("utf-8-sig"))))
    at = rows.index(["Statutory late-payment charges to date"])
    assert rows[at + 1] == ["Not included in the open amounts above; payable only if we claim them."]
    assert rows[at + 3] == ["INV-EU", "EUR", "61", "135.86", "40.00", "175.86"]
    assert rows[at - 2][:3] == ["EUR", "5200.00", "5000.00"]


def test_the_shipped_policy_shows_no_charges_and_reads_no_payments(aws: None, monkeypatch: Any) -> None:
    _world()
    portal = _portal(shipped_policy())
    monkeypatch.setattr(
        portal._store.promise_book, "payments", lambda customer_id: (_ for _ in ()).throw(AssertionError)
    )
    view = portal.account("C-1", today=TODAY)
    assert all(v.late_charges is None for v in view.invoices)
    assert view.totals[0].late_charges == 0 and not view.charges_added
    rows = portal.statement("C-1", today=TODAY, fmt="csv").body.decode("utf-8-sig")
    assert "late-payment" not in rows
