"""Statutory late-payment charges in the portal, against moto: the EU worked example of
tests/unit/test_interest.py (a rate change mid-period, a partial payment and a credit note) computed
from the stored invoice, payment and credit note, shown on the account and the statement, and never
added to the amount due unless the policy says so."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from arcollect.entities import Allocation, Payment
from arcollect.policy import PolicySet, parse_policy, shipped_policy
from arcollect.portal.links import sign_token
from arcollect.portal.self_service import Portal
from arcollect.store.changes import ChangeLog
from arcollect.store.repositories import Accounts
from tests.integration.dunning_world import World, sent_emails, utc
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


FINAL_NOTICE_POLICY = """
version: 1
segments:
  - {name: standard, policy: standard}
policies:
  standard:
    steps:
      - {id: final_notice, trigger: {days: 61}, action: email, template: final_notice}
    late_charges:
      interest:
        reference_rates:
          - {from: 2024-01-01, rate: "4.50"}
          - {from: 2024-07-01, rate: 4.25}
        margin: 8
      compensation: eu
"""


def test_the_final_notice_lists_the_charges_and_feeds_them_to_the_erp(s3: Any) -> None:
    """Through the dunning handler: the EU example's final notice on day 61 (Wednesday 31 July 2024,
    10:00 in Berlin) lists EUR 135.86 interest and EUR 40 compensation, outside the total asked, and
    the email's completion records a late_interest and a late_compensation change for the ERP."""
    world = _world()
    world.change("INV-EU", credit_match="CN-EU")
    world.through_handler = True
    s3.put_object(
        Bucket=os.environ["DROP_BUCKET"], Key="config/dunning-policy.yaml", Body=FINAL_NOTICE_POLICY.encode()
    )
    world.tick(utc(2024, 7, 31, 8))
    (sent,) = [e for e in sent_emails() if e.step == "final_notice"]
    assert sent.invoices == ["INV-EU"]
    text = sent.message.get_body(preferencelist=("plain",))
    assert text is not None
    body = str(text.get_content())
    assert "Statutory late-payment charges to date" in body
    assert "Invoice INV-EU: Interest 135.86 EUR, Compensation 40.00 EUR" in body
    assert "Total open: 5,000.00 EUR" in body
    assert "They are not included in the total above." in body
    records = {r["kind"]: r for r in ChangeLog().records_of(date(2024, 7, 31))}
    interest, compensation = records["late_interest"], records["late_compensation"]
    assert (interest["invoice_number"], interest["amount"], interest["currency"]) == (
        "INV-EU",
        "135.86",
        "EUR",
    )
    assert (compensation["amount"], compensation["reason"], compensation["actor"]) == (
        "40.00",
        "not_added",
        "dunning",
    )
    assert interest["reference"] == sent.touch
    assert interest["note"].startswith("61 days late as of 2024-07-31")
    # The per-change objects for the ERP, written once committed.
    listed = s3.list_objects_v2(Bucket=os.environ["DROP_BUCKET"], Prefix="outgoing/changes/2024-07-31/")
    keys = {o["Key"].rsplit("/", 1)[-1] for o in listed.get("Contents", [])}
    assert {f"{interest['change_id']}.json", f"{compensation['change_id']}.json"} <= keys


def test_the_invoice_page_gives_its_charges_and_reads_nothing_for_one_not_late(aws: None) -> None:
    world = _world()
    world.change("INV-EU", credit_match="CN-EU")
    portal = _portal(parse_policy(with_charges(), source="test"))
    detail = portal.invoice("C-1", "INV-EU", today=TODAY)
    charges = detail.view.late_charges
    assert charges is not None and (charges.interest, charges.compensation) == (
        Decimal("135.86"),
        Decimal(40),
    )
    assert detail.charges_added is False
    assert portal.invoice("C-1", "INV-LATER", today=TODAY).view.late_charges is None
    shipped = _portal(shipped_policy()).invoice("C-1", "INV-EU", today=TODAY)
    assert shipped.view.late_charges is None


def test_the_portal_handler_shows_the_charges_of_the_uploaded_policy(s3: Any) -> None:
    """Through the portal function: the uploaded policy charges 4.25 + 8 = 12.25% (the table's last
    rate) and EUR 40. EUR 10,000 due 30 Sep 2026 is 54 days late on the request's day (23 Nov 2026):
    10,000 x 12.25% x 54 / 365 = 66,150 / 365 = 181.232876... -> 181.23."""
    from tests.integration.test_portal_handler import LINK_KEY, get, headers_of, open_link, request_time

    world = World()
    world.customer("C-1", name="Acme Trading")
    world.invoice("INV-9", invoice_date=date(2026, 9, 1), due_date=date(2026, 9, 30), amount="10000.00")
    s3.put_object(
        Bucket=os.environ["DROP_BUCKET"], Key="config/dunning-policy.yaml", Body=with_charges().encode()
    )
    opened = open_link(sign_token("C-1", key=LINK_KEY, now=request_time() - timedelta(days=1)))
    match = re.match(r"arc_session=([^;]+);", headers_of(opened)["Set-Cookie"][0])
    assert match
    session = match.group(1)
    page = str(get("/account", cookie=session)["body"])
    assert "Statutory late-payment charges" in page and "181.23" in page
    (invoice,) = json.loads(str(get("/api/v1/invoices", cookie=session)["body"]))["invoices"]
    assert (invoice["late_interest"], invoice["late_compensation"]) == ("181.23", "40.00")
    account = json.loads(str(get("/api/v1/account", cookie=session)["body"]))
    (eur,) = account["totals"]
    assert (eur["total_due"], eur["late_charges"], account["charges_added"]) == ("10000.00", "221.23", False)
