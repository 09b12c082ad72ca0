"""Cancelling and renegotiating a payment plan in the staff console, through the portal function against
moto (issue 20, item 3): a collector cancels an open plan with a reason (its invoices go back to the
regular reminders, the timeline and the ERP are told) or agrees a new plan in its place, the old one
cancelled in the same transaction; a retried request changes nothing."""

from __future__ import annotations

import json
from datetime import date
from typing import Any
from urllib.parse import quote, urlencode

from tests.integration import test_payment_plans as agreed
from tests.integration.dunning_world import World, utc
from tests.integration.real_world import STAFF_PASSWORD, Reply, hidden
from tests.integration.test_payment_plans import (
    FIRST,
    MUELLER,
    SECOND,
    THREE,
    Console,
    changes_of,
    emails_to,
    invoice,
    plans,
    timeline,
)

world = agreed.world
console = agreed.console
DAY = date(2026, 11, 23)


def _json(console: Console, path: str, body: dict[str, Any], *, csrf: bool = True) -> Reply:
    token = hidden(console.account().text, "csrf_token") if csrf else ""
    send = console.browser.send

    def with_json(event: dict[str, Any]) -> dict[str, Any]:
        headers = {**event["headers"], "Content-Type": "application/json", "X-CSRF-Token": token}
        event["headers"] = headers
        event["multiValueHeaders"] = {name: [value] for name, value in headers.items()}
        return send(event)

    console.browser.send = with_json
    try:
        return console.browser.request("POST", path, json.dumps(body))
    finally:
        console.browser.send = send


def _api(plan_path: str = "") -> str:
    return f"/staff/api/customers/{quote(MUELLER, safe='')}/payment-plans{plan_path}"


def test_a_collector_cancels_a_plan_on_the_360_and_the_invoices_go_back_to_the_reminders(
    world: World, console: Console
) -> None:
    # Given a plan of 3 x 600.00 EUR agreed for INV/2026/0042 and INV/2026/0043
    assert console.post_json(THREE).status == 201
    [plan] = plans()
    # When Cora cancels it on the 360 page with a reason, and the form goes twice
    page = console.account()
    assert "Cancel a payment plan" in page.text
    form = urlencode(
        {"csrf_token": hidden(page.text, "csrf_token"), "plan_id": plan.plan_id, "reason": "Insolvenzantrag"}
    )
    path = f"/staff/customers/{quote(MUELLER, safe='')}/payment-plans/cancel"
    done = console.browser.request("POST", path, form)
    assert done.status == 303, done.text
    assert done.header("Location").endswith("?done=plan-cancel")
    assert console.browser.request("POST", path, form).status == 303
    # Then the plan is cancelled, its invoices free of it, once on the timeline and in the change feed
    [cancelled] = plans()
    assert cancelled.status == "cancelled"
    assert invoice(FIRST).promise_id is None and invoice(SECOND).promised_until is None
    [entry] = timeline(world, "plan_cancelled")
    assert "cancelled the payment plan for INV/2026/0042, INV/2026/0043 (3 instalments, 1800.00 EUR" in entry
    assert "Insolvenzantrag; INV/2026/0042, INV/2026/0043 go back to the regular reminders" in entry
    [change] = changes_of("plan_cancelled", DAY)
    assert (change["reference"], change["reason"], change["invoice_number"]) == (
        plan.plan_id,
        "Insolvenzantrag",
        "INV/2026/0042;INV/2026/0043",
    )
    assert "Cancel a payment plan" not in console.account().text  # nothing open to cancel
    # And the next ticks remind the invoices by the regular steps, not as instalments
    world.run(utc(2026, 11, 23, 11), utc(2026, 11, 30, 22))
    steps = [e.step for e in emails_to(MUELLER)]
    assert steps and not any(step.startswith("instalment#") for step in steps)


def test_the_json_route_cancels_with_a_reason_and_answers_a_retry_the_same(
    world: World, console: Console
) -> None:
    assert console.post_json(THREE).status == 201
    [plan] = plans()
    cancel = _api(f"/{plan.plan_id}/cancel")
    # Without the CSRF token: refused; without a reason: refused naming the field
    assert _json(console, cancel, {"reason": "x"}, csrf=False).status == 403
    missing = _json(console, cancel, {"reason": "  "})
    assert missing.status == 400 and json.loads(missing.text) == {
        "error": {"message": "is required", "field": "reason"}
    }
    assert _json(console, _api("/plan-0000000000000000/cancel"), {"reason": "x"}).status == 404
    assert plans()[0].status == "open"
    # With one: cancelled, and the same request again answers the same
    first = _json(console, cancel, {"reason": "customer asked"})
    again = _json(console, cancel, {"reason": "customer asked"})
    assert first.status == again.status == 200, first.text
    assert json.loads(first.text)["status"] == json.loads(again.text)["status"] == "cancelled"
    assert len(changes_of("plan_cancelled", DAY)) == 1


def test_a_renegotiation_cancels_the_plan_and_agrees_the_new_one_at_once_once(
    world: World, console: Console
) -> None:
    assert console.post_json(THREE).status == 201
    [old] = plans()
    # When Cora agrees 6 monthly instalments for INV/2026/0042 alone in place of the plan, twice
    body = {
        "invoice_numbers": [FIRST], "count": 6, "first_due": "2026-12-15", "every_days": 30,
        "replaces": old.plan_id, "reason": "Kunde zahlt in kleineren Raten",
    }  # fmt: skip
    first = _json(console, _api(), body)
    again = _json(console, _api(), body)
    assert first.status == again.status == 201, first.text
    new_id = json.loads(first.text)["plan_id"]
    assert json.loads(again.text)["plan_id"] == new_id != old.plan_id
    # Then the old plan is cancelled and the new one stands for INV/2026/0042; INV/2026/0043 is released
    by_id = {p.plan_id: p for p in plans()}
    assert (by_id[old.plan_id].status, by_id[new_id].status) == ("cancelled", "open")
    assert [str(i.amount) for i in by_id[new_id].instalments] == ["200.00"] * 6
    assert (invoice(FIRST).promise_id, invoice(FIRST).promised_until) == (new_id, date(2026, 12, 15))
    assert invoice(SECOND).promise_id is None
    [cancelled] = timeline(world, "plan_cancelled")
    assert f"Kunde zahlt in kleineren Raten; replaced by plan {new_id}" in cancelled
    assert "INV/2026/0043 go back to the regular reminders" in cancelled
    assert [e for e in timeline(world, "plan_agreed") if f"replaces payment plan {old.plan_id}" in e]
    assert len(changes_of("plan_cancelled", DAY)) == 1 and len(changes_of("plan_agreed", DAY)) == 2
    # A plan cancelled is renegotiated no more
    body["first_due"] = "2026-12-16"
    refused = _json(console, _api(), body)
    assert refused.status == 400 and json.loads(refused.text)["error"]["field"] in {
        "replaces",
        "invoice_numbers",
    }


def test_a_broken_plan_is_renegotiated_and_stays_broken_on_the_record(world: World, console: Console) -> None:
    # Given the plan broken: its first instalment (1 December) not paid by the end of its grace
    assert console.post_json(THREE).status == 201
    [old] = plans()
    world.run(utc(2026, 11, 24, 7), utc(2026, 12, 9, 12))
    assert plans()[0].status == "broken"
    # When Cora, signed in on 10 December, agrees 4 instalments in its place
    console.browser.at = utc(2026, 12, 10, 9)
    console.browser.cookies.clear()
    form = console.browser.get("/staff/sign-in")
    signed_in = console.browser.post(
        "/staff/sign-in",
        {"username": "cora", "password": STAFF_PASSWORD, "csrf_token": hidden(form.text, "csrf_token")},
    )
    assert signed_in.status == 303, signed_in.text
    body = {
        "invoice_numbers": [FIRST, SECOND], "count": 4, "first_due": "2026-12-15", "every_days": 30,
        "replaces": old.plan_id, "reason": "neue Vereinbarung nach versäumter Rate",
    }  # fmt: skip
    made = _json(console, _api(), body)
    assert made.status == 201, made.text
    new_id = json.loads(made.text)["plan_id"]
    # Then the broken plan keeps its status (and the customer's broken count), the new one stands
    by_id = {p.plan_id: p for p in plans()}
    assert (by_id[old.plan_id].status, by_id[new_id].status) == ("broken", "open")
    assert {invoice(n).promise_id for n in (FIRST, SECOND)} == {new_id}
    assert {invoice(n).promised_until for n in (FIRST, SECOND)} == {date(2026, 12, 15)}
    [entry] = timeline(world, "plan_cancelled")
    assert "cancelled the payment plan (broken)" in entry and f"replaced by plan {new_id}" in entry
    # And dunning reminds the new plan's first instalment, the new plan's own way
    world.run(utc(2026, 12, 10, 10), utc(2026, 12, 14, 12))
    assert [e.step for e in emails_to(MUELLER) if new_id in e.step] == [f"instalment#{new_id}#1#before"]
