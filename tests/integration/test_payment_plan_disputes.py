"""A dispute on an invoice in a payment plan, through the portal and portal-hosted console functions
against moto (issue 20, item 3): the customer can always dispute; the disputed invoice leaves the plan
in the dispute's own transaction, its open amount comes off the plan's last instalments (like a credit
note), the timeline says so and the ERP gets a ``plan_invoice_withdrawn`` row; dunning then reminds the
smaller instalments for the invoices still in the plan, never the disputed amount. The portal's plan
page offers no disputed invoice and none placed with an agency."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

from arcollect.plans import standing
from arcollect.store.changes import ChangeLog
from arcollect.store.plan_book import PlanBook
from arcollect.store.repositories import Invoices
from tests.integration import test_payment_plans as agreed
from tests.integration.dunning_world import World, utc
from tests.integration.real_world import hidden
from tests.integration.test_payment_plans import (
    FIRST,
    MUELLER,
    SECOND,
    THREE,
    Console,
    _portal_request,
    _session,
    emails_to,
    invoice,
    pay,
    plans,
    timeline,
)

# The plan's world (Müller & Söhne's two invoices, ingested) and Cora signed in to the console.
world = agreed.world
console = agreed.console


def _remaining(today: date) -> list[Decimal]:
    [plan] = plans()
    state = standing(
        plan, invoices=[invoice(FIRST), invoice(SECOND)], payments=PlanBook().payments(MUELLER),
        today=today, grace_days=3,
    )  # fmt: skip
    return [s.remaining for s in state.instalments]


def _withdrawn(day: date) -> list[dict[str, str]]:
    return [
        r
        for r in ChangeLog().records_of(day)
        if r["kind"] == "plan_invoice_withdrawn" and r["customer_id"] == MUELLER
    ]


def test_a_customer_disputes_a_planned_invoice_in_the_portal_and_is_reminded_only_what_is_left(
    world: World, console: Console
) -> None:
    # Given Cora agreed 3 x 600.00 EUR for INV/2026/0042 (1200.00) and INV/2026/0043 (600.00)
    assert console.post_json(THREE).status == 201
    [plan] = plans()
    # When the customer disputes INV/2026/0042 in the portal the next day
    session, csrf = _session()
    reply = _portal_request(
        "POST", "/api/v1/disputes", session,
        body=json.dumps(
            {"invoice_number": FIRST, "reason": "wrong_amount_or_price", "comment": "Preis falsch"}
        ),
        **{"Content-Type": "application/json", "X-CSRF-Token": csrf},
    )  # fmt: skip
    # Then it is accepted (a customer can always dispute) and the invoice has left the plan
    assert reply["statusCode"] == 201, reply["body"]
    disputed = invoice(FIRST)
    assert (disputed.disputed, disputed.promise_id, disputed.promised_until) == (True, None, None)
    assert invoice(SECOND).promise_id == plan.plan_id
    # And its 1200.00 come off the last instalments: 600.00 is left, all of it in instalment 1
    assert _remaining(date(2026, 11, 24)) == [Decimal("600.00"), Decimal(0), Decimal(0)]
    # And the timeline and the ERP say so, in the dispute's own entry
    [entry] = timeline(world, "dispute_opened")
    assert f"it leaves payment plan {plan.plan_id}, whose last instalments come down by 1200.00 EUR" in entry
    [row] = _withdrawn(date(2026, 11, 23)) + _withdrawn(date(2026, 11, 24))
    assert (row["reference"], row["invoice_number"], row["amount"], row["currency"]) == (
        plan.plan_id,
        FIRST,
        "1200.00",
        "EUR",
    )
    # When dunning ticks up to the first instalment's day
    world.run(utc(2026, 11, 24, 7), utc(2026, 11, 30, 22))
    # Then the reminder asks 600.00 for INV/2026/0043 alone, never the disputed amount
    [before] = emails_to(MUELLER)
    assert before.step == f"instalment#{plan.plan_id}#1#before"
    assert before.subject == "Instalment 1 of 3 of your payment plan: 600.00 EUR due 1 Dec 2026"
    assert sorted(before.invoices) == [SECOND]
    # And the portal's plan page does not offer the disputed invoice for a new plan
    page = _portal_request("GET", "/payment-plan", session)["body"]
    assert f'name="invoice_numbers" value="{FIRST}"' not in page


def test_a_collector_disputes_a_planned_invoice_on_the_360_and_the_plan_is_paid_off_by_the_rest(
    world: World, console: Console
) -> None:
    assert console.post_json(THREE).status == 201
    # When Cora logs a dispute of INV/2026/0043 on the 360 page
    page = console.account()
    form = urlencode(
        {"csrf_token": hidden(page.text, "csrf_token"), "invoice_number": SECOND,
         "reason": "damaged_or_defective", "comment": "Palette beschädigt"}
    )  # fmt: skip
    done = console.browser.request("POST", f"/staff/customers/{quote(MUELLER, safe='')}/disputes", form)
    assert done.status == 303, done.text
    # Then the plan asks 600.00 less, off its last instalment
    assert invoice(SECOND).promise_id is None
    assert _remaining(date(2026, 11, 23)) == [Decimal("600.00"), Decimal("600.00"), Decimal(0)]
    assert len(_withdrawn(date(2026, 11, 23))) == 1
    # When the customer pays the 1200.00 of INV/2026/0042
    pay("ZE/2026/1130", "2026-11-24", "1200.00", FIRST)
    world.tick(utc(2026, 11, 24, 10))
    # Then the plan is completed: what was in it is paid; the disputed invoice is the dispute's business
    [completed] = plans()
    assert completed.status == "completed"
    [entry] = timeline(world, "plan_completed")
    assert entry.startswith("Payment plan completed: 1200.00 EUR paid, 600.00 EUR credited")
    assert invoice(SECOND).disputed and emails_to(MUELLER) == []


def test_a_deduction_coded_on_a_planned_invoice_takes_it_out_of_the_plan(
    world: World, console: Console
) -> None:
    assert console.post_json(THREE).status == 201
    [plan] = plans()
    # Given the customer paid INV/2026/0042 short: 1000.00 of 1200.00
    pay("ZE/2026/1124", "2026-11-24", "1000.00", FIRST)
    assert _remaining(date(2026, 11, 24)) == [Decimal(0), Decimal("200.00"), Decimal("600.00")]
    # When Cora codes the 200.00 left as a pricing deduction
    page = console.account()
    form = urlencode(
        {"csrf_token": hidden(page.text, "csrf_token"), "invoice_number": FIRST, "reason": "pricing",
         "comment": "Rabatt 2026 abgezogen"}
    )  # fmt: skip
    done = console.browser.request("POST", f"/staff/customers/{quote(MUELLER, safe='')}/deductions", form)
    assert done.status == 303, done.text
    # Then the deduction's 200.00 left the plan with the invoice, off the last instalment (600.00, 600.00,
    # 400.00); the 1000.00 paid still counts towards the instalments oldest first: 600.00 of INV/2026/0043
    # is what is left
    assert invoice(FIRST).promise_id is None
    assert _remaining(date(2026, 11, 24)) == [Decimal(0), Decimal("200.00"), Decimal("400.00")]
    [entry] = timeline(world, "deduction_coded")
    assert f"leaves payment plan {plan.plan_id}, whose last instalments come down by 200.00 EUR" in entry
    [row] = _withdrawn(date(2026, 11, 23)) + _withdrawn(date(2026, 11, 24))
    assert (row["invoice_number"], row["amount"]) == (FIRST, "200.00")
    assert any(r["kind"] == "deduction_coded" for r in ChangeLog().records_of(date(2026, 11, 23)))


def test_the_portal_plan_page_offers_no_invoice_with_an_agency_or_disputed(world: World) -> None:
    # Given INV/2026/0042 placed with an agency and INV/2026/0043 disputed in the ERP's data
    Invoices().save(replace(invoice(FIRST), agency="Inkasso Nord GmbH"))
    Invoices().save(replace(invoice(SECOND), disputed=True))
    session, csrf = _session()
    # Then the plan page offers neither, and the JSON route refuses both with the reason
    page = _portal_request("GET", "/payment-plan", session)["body"]
    assert f'value="{FIRST}"' not in page and f'value="{SECOND}"' not in page

    def api(number: str) -> tuple[int, Any]:
        reply = _portal_request(
            "POST", "/api/v1/payment-plans", session,
            body=json.dumps(
                {"invoice_numbers": [number], "count": 2, "first_due": "2026-12-01", "every_days": 30}
            ),
            **{"Content-Type": "application/json", "X-CSRF-Token": csrf},
        )  # fmt: skip
        return int(reply["statusCode"]), json.loads(str(reply["body"]))

    status, body = api(FIRST)
    assert status == 400 and "with the collection agency Inkasso Nord GmbH" in str(body)
    status, body = api(SECOND)
    assert status == 400 and "is disputed" in str(body)
    assert plans() == []


def test_a_plan_whose_every_invoice_is_disputed_is_cancelled_with_the_last_dispute(
    world: World, console: Console
) -> None:
    assert console.post_json(THREE).status == 201
    [plan] = plans()
    session, csrf = _session()

    def dispute(number: str) -> None:
        reply = _portal_request(
            "POST", "/api/v1/disputes", session,
            body=json.dumps({"invoice_number": number, "reason": "duplicate_invoice", "comment": ""}),
            **{"Content-Type": "application/json", "X-CSRF-Token": csrf},
        )  # fmt: skip
        assert reply["statusCode"] == 201, reply["body"]

    # When the customer disputes INV/2026/0042: the plan stands for INV/2026/0043
    dispute(FIRST)
    assert [p.status for p in plans()] == ["open"]
    # When it disputes INV/2026/0043 too: nothing is left in the plan, which is cancelled at once
    dispute(SECOND)
    [cancelled] = plans()
    assert cancelled.status == "cancelled"
    [entry] = timeline(world, "plan_cancelled")
    assert f"its last open invoice, {SECOND}, is disputed: nothing is left in it to pay" in entry
    [row] = [r for r in ChangeLog().records_of(date(2026, 11, 23)) if r["kind"] == "plan_cancelled"]
    assert (row["reference"], row["actor"]) == (plan.plan_id, "portal")
    # And dunning reminds nothing of it: both invoices are disputed
    world.run(utc(2026, 11, 24, 7), utc(2026, 12, 9, 12))
    assert emails_to(MUELLER) == [] and [p.status for p in plans()] == ["cancelled"]
