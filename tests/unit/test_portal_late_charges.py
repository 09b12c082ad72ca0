"""The portal's account page shows each overdue invoice's statutory late-payment charges, labelled as
such, and says whether they are part of what it asks (tests/integration/test_late_charges.py computes
them from the table)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from arcollect.interest import Charges
from arcollect.portal.views import AccountView, InvoiceDetail
from tests.unit.portal_client import Client, client, portal, signed_in
from tests.unit.portal_fake import FakePortal

FIXTURES = (client, portal, signed_in)  # the portal's web fixtures, shared with test_portal_web.py

CHARGES = Charges(
    currency="EUR", as_of=date(2026, 11, 24), days_late=10, interest=Decimal("0.34"), compensation=Decimal(40)
)


def _with_charges(portal: FakePortal, added: bool) -> None:
    real = portal.account

    def account(customer_id: str, **kw: Any) -> AccountView:
        view = real(customer_id, **kw)
        invoices = [
            replace(v, late_charges=CHARGES) if v.invoice.invoice_number == "INV-1" else v
            for v in view.invoices
        ]
        totals = [
            replace(t, late_charges=Decimal("40.34")) if t.currency == "EUR" else t for t in view.totals
        ]
        return replace(view, invoices=invoices, totals=totals, charges_added=added)

    portal.account = account  # type: ignore[method-assign]


@pytest.mark.parametrize("added", [False, True])
def test_the_account_lists_the_charges_and_says_whether_they_are_asked_for(
    signed_in: Client, portal: FakePortal, added: bool
) -> None:
    _with_charges(portal, added)
    body = signed_in.get("/account").text
    assert "Statutory late-payment charges" in body
    assert "0.34 EUR" in body and "40.00 EUR" in body and "40.34 EUR" in body
    if added:
        assert "They are included in the amounts due above." in body
        assert "Including 40.34 EUR statutory late-payment charges to date" in body
    else:
        assert "They are not included in the amounts due above: you owe them only if we claim them." in body
        assert "Not included: 40.34 EUR statutory late-payment charges to date" in body


def test_without_charges_the_account_says_nothing_of_them(signed_in: Client) -> None:
    assert "late-payment" not in signed_in.get("/account").text


def test_the_api_gives_each_invoices_charges_and_the_totals(signed_in: Client, portal: FakePortal) -> None:
    _with_charges(portal, False)
    account = signed_in.get("/api/v1/account").json()
    eur = next(t for t in account["totals"] if t["currency"] == "EUR")
    assert (eur["late_charges"], account["charges_added"]) == ("40.34", False)
    invoices = {i["invoice_number"]: i for i in signed_in.get("/api/v1/invoices").json()["invoices"]}
    assert (invoices["INV-1"]["late_interest"], invoices["INV-1"]["late_compensation"]) == ("0.34", "40.00")
    assert invoices["INV-2"]["late_interest"] is None


def test_the_invoice_page_shows_its_charges(signed_in: Client, portal: FakePortal) -> None:
    real = portal.invoice

    def invoice(customer_id: str, invoice_number: str, **kw: Any) -> InvoiceDetail:
        detail = real(customer_id, invoice_number, **kw)
        return replace(detail, view=replace(detail.view, late_charges=CHARGES))

    portal.invoice = invoice  # type: ignore[method-assign]
    body = signed_in.get("/invoices/INV-1").text
    assert "Statutory late-payment charges to date" in body
    assert "40.34 EUR" in body
    assert "They are not included in the open amount: you owe them only if we claim them." in body
