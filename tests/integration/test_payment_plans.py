"""Payment plans through the real handlers against moto (arcollect/plans.py, docs/payment-plans.md): a
collector agrees one on the 360 page or the console's JSON route, a retried request makes one plan; the
dunning function reminds each instalment instead of the invoices; payments from the ingest function go
to the instalments oldest first (one payment across two); a missed instalment breaks the plan like a
broken promise; a credit note on a covered invoice comes off the last instalment and a plan paid in full
is completed; the portal refuses a plan beyond the policy's limits, naming the limit. Every step is on
the timeline and in the ERP's change feed."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import boto3
import pytest

from arcollect.changes import record_from_json
from arcollect.dunning.sweep import preview
from arcollect.entities import Invoice
from arcollect.plans import PaymentPlan, standing
from arcollect.policy import SHIPPED_POLICY
from arcollect.portal.links import sign_token
from arcollect.store.changes import ChangeLog
from arcollect.store.plan_book import PlanBook
from arcollect.store.repositories import Customers, Invoices, Tasks
from tests.integration.dunning_world import Sent, World, sent_emails, utc
from tests.integration.ingest_flow import ingest
from tests.integration.real_world import Browser, Reply, hidden
from tests.integration.staff_console import post_json, signed_in_staff

DROP = os.environ["DROP_BUCKET"]
MUELLER = "Müller & Söhne, GmbH"
CONTROL = "Brennan & Sons, PC"  # the same invoices, no plan: reminded as usual
FIRST, SECOND = "INV/2026/0042", "INV/2026/0043"
CREDIT_NOTE = "GS/2026/0007"
HEADER = "customer_id;invoice_number;invoice_date;due_date;amount;currency;open_amount;document_type"


def _invoices(customer: str, second_open: str = "600,00") -> str:
    return (
        f'"{customer}";{FIRST};01.10.2026;31.10.2026;1.200,00;EUR;1.200,00;invoice\n'
        f'"{customer}";{SECOND};11.10.2026;10.11.2026;600,00;EUR;{second_open};invoice\n'
    )


def _policy() -> bytes:
    """The shipped policy, with feeds that never go stale (the test's ticks run for weeks of simulated
    time without a new file every day: the freshness hold is tested elsewhere)."""
    text = SHIPPED_POLICY.read_text()
    text = re.sub(r"(invoices|payments)_max_age_business_days: 2", r"\1_max_age_business_days: 9999", text)
    return text.encode()


@pytest.fixture
def world(s3: Any) -> World:
    s3.put_object(Bucket=DROP, Key="config/dunning-policy.yaml", Body=_policy())
    world = World(through_handler=True)
    world.customer(
        MUELLER, name="Müller & Söhne GmbH", email="kreditoren@mueller-soehne.example", owner="cora"
    )
    world.customer(CONTROL, email="ap@brennan.example", owner="cora")
    body = f"{HEADER}\n{_invoices(MUELLER)}{_invoices(CONTROL)}".encode()
    summary = ingest("incoming/invoices/offene-posten.csv", body, {"arcollect-as-of": "2026-11-23"})
    assert (summary["accepted"], summary["rejected"]) == (4, 0), summary
    return world


class Console:
    """Cora in the staff console (the portal function's pages with a console on a moto user pool)."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.sent: tuple[str, str] = ("", "")

    def account(self) -> Reply:
        page = self.browser.get(f"/staff/customers/{quote(MUELLER, safe='')}")
        assert page.status == 200, page.text
        return page

    def agree(self, numbers: list[str], count: str, first_due: str, every_days: str) -> Reply:
        page = self.account()
        form = [("csrf_token", hidden(page.text, "csrf_token"))]
        form += [("invoice_numbers", n) for n in numbers]
        form += [("count", count), ("first_due", first_due), ("every_days", every_days)]
        self.sent = (f"/staff/customers/{quote(MUELLER, safe='')}/payment-plans", urlencode(form))
        return self.browser.request("POST", *self.sent)

    def again(self) -> Reply:
        """The last form once more (a double click, a browser's resubmission)."""
        return self.browser.request("POST", *self.sent)

    def post_json(self, body: dict[str, Any], *, csrf: bool = True) -> Reply:
        """The console's JSON route, with the session's CSRF token in X-CSRF-Token."""
        token = hidden(self.account().text, "csrf_token") if csrf else ""
        path = f"/staff/api/customers/{quote(MUELLER, safe='')}/payment-plans"
        return post_json(self.browser, path, body, token)


@pytest.fixture
def console(world: World) -> Iterator[Console]:
    yield Console(signed_in_staff(utc(2026, 11, 23, 10), DROP))


THREE = {
    "invoice_numbers": [FIRST, SECOND],
    "instalments": [
        {"due_date": "2026-12-01", "amount": "600.00"},
        {"due_date": "2027-01-04", "amount": "600.00"},
        {"due_date": "2027-02-01", "amount": "600.00"},
    ],
}


def plans() -> list[PaymentPlan]:
    return PlanBook().plans(MUELLER)


def invoice(number: str, customer: str = MUELLER) -> Invoice:
    found = Invoices().get(customer, number)
    assert found is not None
    return found


def changes_of(kind: str, day: date) -> list[dict[str, str]]:
    return [r for r in ChangeLog().records_of(day) if r["kind"] == kind and r["customer_id"] == MUELLER]


def timeline(world: World, kind: str) -> list[str]:
    return [a.summary for a in world.timeline(MUELLER) if a.kind == kind]


def emails_to(customer: str) -> list[Sent]:
    return [e for e in sent_emails() if e.customer_id == customer]


def pay(payment_id: str, day: str, amount: str, number: str = FIRST) -> None:
    body = (
        "customer_id;payment_id;payment_date;amount;currency;invoice_number;reference\n"
        f'"{MUELLER}";{payment_id};{day};{amount};EUR;{number};Rate\n'
    )
    summary = ingest(f"incoming/payments/zahlungen-{payment_id.replace('/', '-')}.csv", body.encode())
    assert (summary["rejected"], summary["payments_applied"]) == (0, 1), json.dumps(summary)


# --- agreeing a plan in the staff console ---------------------------------------------------------------


def test_a_collector_agrees_a_plan_on_the_360_page_and_a_resubmission_makes_no_second_plan(
    world: World, console: Console
) -> None:
    # When Cora agrees three instalments a month apart for both invoices, and the form goes twice
    done = console.agree([FIRST, SECOND], "3", "2026-12-01", "31")
    assert done.status == 303, done.text
    assert done.header("Location").endswith("?done=plan")
    again = console.again()
    assert again.status == 303, again.text
    # Then there is one plan: 1,800.00 EUR in three equal instalments
    [plan] = plans()
    assert (plan.currency, plan.total, plan.source) == ("EUR", Decimal("1800.00"), "cora")
    assert [(i.due_date, i.amount) for i in plan.instalments] == [
        (date(2026, 12, 1), Decimal("600.00")),
        (date(2027, 1, 1), Decimal("600.00")),
        (date(2027, 2, 1), Decimal("600.00")),
    ]
    # And its invoices carry it, paused until the first instalment
    for number in (FIRST, SECOND):
        assert (invoice(number).promise_id, invoice(number).promised_until) == (
            plan.plan_id,
            date(2026, 12, 1),
        )
    # And it is on the timeline once, and in the ERP's change feed once (the table and its own object)
    [entry] = timeline(world, "plan_agreed")
    assert entry.startswith("cora agreed a payment plan for INV/2026/0042, INV/2026/0043: 3 instalments")
    [change] = changes_of("plan_agreed", date(2026, 11, 23))
    assert (change["invoice_number"], change["amount"], change["currency"], change["reference"]) == (
        f"{FIRST};{SECOND}",
        "1800.00",
        "EUR",
        plan.plan_id,
    )
    assert change["note"] == "instalments: 1) 2026-12-01 600.00; 2) 2027-01-01 600.00; 3) 2027-02-01 600.00"
    s3 = boto3.client("s3")
    listed = s3.list_objects_v2(Bucket=DROP, Prefix="outgoing/changes/2026-11-23/").get("Contents", [])
    objects = [
        record_from_json(s3.get_object(Bucket=DROP, Key=o["Key"])["Body"].read().decode()) for o in listed
    ]
    assert [o["change_id"] for o in objects if o["kind"] == "plan_agreed"] == [change["change_id"]]
    # And the 360 page shows it with its instalments
    page = console.account().text
    assert "Payment plans" in page and "1,800.00 EUR in 3 instalments" in page
    assert page.count("Payment plan: instalment due 2026-12-01") == 2  # the open items say so
    assert "2027-02-01" in page


def test_the_json_route_answers_the_same_plan_to_a_retry_and_names_what_is_wrong(
    world: World, console: Console
) -> None:
    first = console.post_json(THREE)
    assert first.status == 201, first.text
    retried = console.post_json(THREE)
    assert retried.status == 201, retried.text
    assert json.loads(retried.text)["plan_id"] == json.loads(first.text)["plan_id"]
    assert len(plans()) == 1 and len(timeline(world, "plan_agreed")) == 1
    assert json.loads(first.text)["instalments"][1] == {
        "number": 2,
        "due_date": "2027-01-04",
        "amount": "600.00",
    }
    # An invoice of the plan in another plan: refused, naming the field
    other = console.post_json({**THREE, "invoice_numbers": [FIRST]})
    assert other.status == 400
    assert json.loads(other.text) == {
        "error": {
            "message": "invoice INV/2026/0042 is already in a payment plan",
            "field": "invoice_numbers",
        },
    }
    # Without the session's CSRF token: refused
    assert console.post_json(THREE, csrf=False).status == 403


def test_instalments_that_do_not_add_up_are_refused_with_both_figures(world: World, console: Console) -> None:
    body = {
        "invoice_numbers": [FIRST, SECOND],
        "instalments": [
            {"due_date": "2026-12-01", "amount": "600.00"},
            {"due_date": "2027-01-04", "amount": "600"},
        ],
    }
    reply = console.post_json(body)
    assert reply.status == 400
    assert json.loads(reply.text) == {
        "error": {
            "message": "the instalments add up to 1200.00 EUR; the chosen invoices have 1800.00 EUR open",
            "field": "instalments",
        },
    }
    assert plans() == []


# --- dunning and payments ------------------------------------------------------------------------------


def test_dunning_reminds_the_instalments_a_payment_pays_across_two_and_a_missed_one_breaks_the_plan(
    world: World, console: Console
) -> None:
    # Given a plan agreed on Monday 23 November for both overdue invoices
    assert console.post_json(THREE).status == 201
    [plan] = plans()
    # A preview of the first reminder's day says what the sweep will send, and writes nothing
    at = utc(2026, 11, 30, 8)
    previewed = preview(now=at, store=world.store, services=replace(world.services(at), plans=PlanBook()))
    [ahead] = [p for p in previewed if p.customer_id == MUELLER]
    assert ahead.email is not None and ahead.email.template == "instalment_reminder"
    assert sorted(ahead.email.invoice_numbers) == [FIRST, SECOND]
    assert [p.status for p in plans()] == ["open"] and emails_to(MUELLER) == []
    # When the dunning function ticks up to the first instalment's day
    world.run(utc(2026, 11, 24, 7), utc(2026, 11, 30, 22))
    # Then the control customer's same invoices are reminded, the plan's are not: its first instalment is
    instalments = emails_to(MUELLER)
    assert emails_to(CONTROL), "the same invoices without a plan get reminders"
    assert [e.step for e in instalments] == [f"instalment#{plan.plan_id}#1#before"]
    [before] = instalments
    assert before.subject == "Instalment 1 of 3 of your payment plan: 600.00 EUR due 1 Dec 2026"
    assert sorted(before.invoices) == [FIRST, SECOND]
    # When 900.00 arrives through the payments file: instalment 1 and half of instalment 2
    pay("ZE/2026/0901", "2026-11-30", "900.00")
    world.run(utc(2026, 11, 30, 22), utc(2026, 12, 2, 12))
    # Then no reminder of the paid instalment's due day, and the plan moved on to instalment 2
    assert [e.step for e in emails_to(MUELLER)] == [f"instalment#{plan.plan_id}#1#before"]
    for number in (FIRST, SECOND):
        assert invoice(number).promised_until == date(2027, 1, 4)
    state = standing(
        plan, invoices=[invoice(FIRST), invoice(SECOND)], payments=PlanBook().payments(MUELLER),
        today=date(2026, 12, 2), grace_days=3,
    )  # fmt: skip
    assert [(s.paid, s.remaining) for s in state.instalments] == [
        (Decimal("600.00"), Decimal(0)),
        (Decimal("300.00"), Decimal("300.00")),
        (Decimal(0), Decimal("600.00")),
    ]
    # When nothing more is paid and the second instalment's due day and grace pass
    world.run(utc(2026, 12, 2, 12), utc(2027, 1, 14, 12))
    # Then instalment 2 was reminded once, for what is still open of it (its reminder before the day fell
    # on New Year's Day, a holiday in Germany: the one of the due day, Monday 4 January, stands in for it)
    steps = [e.step for e in emails_to(MUELLER)]
    [second] = [e for e in emails_to(MUELLER) if e.step.startswith(f"instalment#{plan.plan_id}#2#")]
    assert second.step.endswith("#due") and second.at.date() == date(2027, 1, 4)
    assert second.subject == "Instalment 2 of 3 of your payment plan: 300.00 EUR due 4 Jan 2027"
    # And the plan is broken: the missed-promise email and a call for the owner, like a broken promise
    [broken] = plans()
    assert (broken.status, broken.missed_instalment) == ("broken", 2)
    profile = Customers().get(MUELLER)
    assert profile is not None and (profile.promises_kept, profile.promises_broken) == (0, 1)  # feeds risk
    assert any(step == f"missed_promise#{plan.plan_id}" for step in steps)
    calls = [t for t in Tasks().for_customer(MUELLER) if t.kind == "call" and "plan broken" in t.title]
    assert [c.assignee for c in calls] == ["cora"]
    [entry] = timeline(world, "plan_broken")
    assert "instalment 2 of 3 (300.00 EUR still open, due 2027-01-04) was not paid" in entry
    [change] = [
        r for day in (7, 8) for r in ChangeLog().records_of(date(2027, 1, day)) if r["kind"] == "plan_broken"
    ]
    assert (change["reference"], change["promised_date"]) == (plan.plan_id, "2027-01-04")
    assert change["note"].startswith("instalment 2 of 3 missed; paid towards it: 900.00 EUR")
    # And the invoices are back in the regular steps
    assert invoice(FIRST).promise_id is None and invoice(SECOND).promise_id is None


def test_a_credit_note_comes_off_the_last_instalment_and_a_plan_paid_in_full_is_completed(
    world: World, console: Console
) -> None:
    assert console.post_json(THREE).status == 201
    [plan] = plans()
    # When the ERP books credit note GS/2026/0007 of 200.00 against INV/2026/0043
    body = (
        f"{HEADER}\n{_invoices(MUELLER, second_open='400,00')}"
        f'"{MUELLER}";{CREDIT_NOTE};20.11.2026;20.11.2026;200,00;EUR;0,00;credit_note\n'
    )
    ingest("incoming/invoices/offene-posten-2.csv", body.encode(), {"arcollect-as-of": "2026-11-24"})
    # Then the plan asks 200.00 less, off its last instalment; the first two stand
    state = standing(
        plan, invoices=[invoice(FIRST), invoice(SECOND)], payments=PlanBook().payments(MUELLER),
        today=date(2026, 11, 24), grace_days=3,
    )  # fmt: skip
    assert [s.remaining for s in state.instalments] == [
        Decimal("600.00"),
        Decimal("600.00"),
        Decimal("400.00"),
    ]
    assert state.credited == Decimal("200.00")
    page = console.account().text
    assert "400.00 EUR" in page
    # When the customer pays everything that is left the next day, across both invoices, before the
    # first instalment's reminder day (28 November)
    pay("ZE/2026/1201", "2026-11-24", "1200.00", FIRST)
    pay("ZE/2026/1202", "2026-11-24", "400.00", SECOND)
    # Then the first tick after the payments arrived completes the plan: no reminder day waited for
    world.tick(utc(2026, 11, 24, 10))
    [completed] = plans()
    assert completed.status == "completed"
    profile = Customers().get(MUELLER)
    assert profile is not None and (profile.promises_kept, profile.promises_broken) == (1, 0)
    assert invoice(FIRST).promise_id is None and invoice(SECOND).promise_id is None
    # And the timeline and the ERP are told, once however many ticks follow
    world.run(utc(2026, 11, 24, 11), utc(2026, 12, 3, 12))
    [entry] = timeline(world, "plan_completed")
    assert entry == (
        "Payment plan completed: 1600.00 EUR paid, 200.00 EUR credited for INV/2026/0042, INV/2026/0043"
    )
    [change] = changes_of("plan_completed", date(2026, 11, 24))
    assert (change["reference"], change["note"]) == (
        plan.plan_id,
        "paid towards it: 1600.00 EUR; credited: 200.00 EUR",
    )
    # And no reminder of any kind went to the customer: nothing is owed
    assert emails_to(MUELLER) == []


def test_an_erp_file_that_says_a_planned_invoice_is_paid_makes_a_review_naming_the_plan(
    world: World, console: Console
) -> None:
    assert console.post_json(THREE).status == 201
    # When the ERP's next open-items file says INV/2026/0042 has nothing open
    body = f"{HEADER}\n{_invoices(MUELLER)}".replace("1.200,00;invoice", "0,00;invoice")
    ingest("incoming/invoices/offene-posten-3.csv", body.encode(), {"arcollect-as-of": "2026-11-24"})
    # Then the file is applied (the document is the ERP's) and a person reviews it against the plan
    assert invoice(FIRST).open_amount == 0
    reviews = [t.detail.get("reason", "") for t in Tasks().for_customer(MUELLER) if t.kind == "review_erp"]
    assert reviews == ["the ERP shows it paid while a payment plan is open here"], reviews


# --- the portal ------------------------------------------------------------------------------------------


LINK_KEY = b"integration-test-link-key"


def _portal_request(method: str, path: str, session: str, *, body: str | None = None, **headers: str) -> Any:
    from tests.integration.test_portal_handler import request

    return request(method, path, cookie=session, body=body, headers=headers or None)


def _session() -> tuple[str, str]:
    from tests.integration.test_portal_handler import get, headers_of, open_link, request_time

    token = sign_token(MUELLER, key=LINK_KEY, now=request_time())
    opened = open_link(token)
    assert opened["statusCode"] == 303, opened
    match = re.match(r"arc_session=([^;]+);", headers_of(opened)["Set-Cookie"][0])
    assert match
    session = match.group(1)
    csrf = json.loads(str(get("/api/v1/account", cookie=session)["body"]))["csrf_token"]
    return session, csrf


def test_the_portal_refuses_a_plan_beyond_the_policys_limits_and_agrees_one_within(world: World) -> None:
    session, csrf = _session()
    page = _portal_request("GET", "/payment-plan", session)
    assert page["statusCode"] == 200
    assert "up to 6 instalments" in page["body"] and "180" in page["body"] and FIRST in page["body"]

    def api(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        reply = _portal_request(
            "POST", "/api/v1/payment-plans", session, body=json.dumps(body),
            **{"Content-Type": "application/json", "X-CSRF-Token": csrf},
        )  # fmt: skip
        return int(reply["statusCode"]), json.loads(str(reply["body"]))

    # Beyond each limit of settings.payment_plans: refused, naming the limit
    status, body = api(
        {"invoice_numbers": [FIRST, SECOND], "count": 8, "first_due": "2026-12-01", "every_days": 14}
    )
    assert status == 400 and "at most 6 instalments (the limit for a plan agreed online)" in str(body)
    status, body = api(
        {"invoice_numbers": [FIRST, SECOND], "count": 3, "first_due": "2026-12-01", "every_days": 120}
    )
    assert status == 400 and "at most 180 days from today (2027-05-22)" in str(body)
    status, body = api(
        {"invoice_numbers": [SECOND], "instalments": [
            {"due_date": "2026-12-01", "amount": "570.00"}, {"due_date": "2027-01-01", "amount": "30.00"}]}
    )  # fmt: skip
    assert status == 400 and "instalment 2 is 30.00 EUR" in str(body) and "at least 50.00 EUR" in str(body)
    assert plans() == [] and invoice(FIRST).promise_id is None
    # Within them, on the page: agreed, and a resubmission is the same plan
    form = urlencode(
        [("csrf_token", csrf), ("invoice_numbers", FIRST), ("invoice_numbers", SECOND), ("count", "6"),
         ("first_due", "2026-12-15"), ("every_days", "30")]
    )  # fmt: skip
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    done = _portal_request("POST", "/payment-plan", session, body=form, **headers)
    assert done["statusCode"] == 200, done["body"]
    assert "Your payment plan for INV/2026/0042, INV/2026/0043 is agreed" in done["body"]
    assert _portal_request("POST", "/payment-plan", session, body=form, **headers)["statusCode"] == 200
    [plan] = plans()
    assert (plan.source, len(plan.instalments), plan.instalments[-1].due_date) == (
        "portal",
        6,
        date(2027, 5, 14),
    )
    assert {i.amount for i in plan.instalments} == {Decimal("300.00")}
    assert timeline(world, "plan_agreed") == [
        "The customer (portal) agreed a payment plan for INV/2026/0042, INV/2026/0043: 6 instalments, "
        "1800.00 EUR in all, from 2026-12-15 to 2027-05-14; dunning reminds its instalments instead of the "
        "invoices"
    ]
    # And the account page says its invoices are in a payment plan; the promise page offers neither
    account = _portal_request("GET", "/account", session)["body"]
    assert account.count('status--plan">In a payment plan') == 2 and "status--promised" not in account
    promise_page = _portal_request("GET", "/promise", session)["body"]
    assert FIRST not in promise_page and SECOND not in promise_page
    # And its invoices take no promise to pay: the plan's instalments are what is due
    promised = _portal_request(
        "POST", "/api/v1/promises", session,
        body=json.dumps({"invoice_numbers": [FIRST], "amount": "100.00", "promised_until": "2026-12-01"}),
        **{"Content-Type": "application/json", "X-CSRF-Token": csrf},
    )  # fmt: skip
    status, body = int(promised["statusCode"]), json.loads(str(promised["body"]))
    assert status == 400 and "invoice INV/2026/0042 is in a payment plan: pay its instalments" in str(body)
    # And the page now lists it
    assert "Your payment plans" in _portal_request("GET", "/payment-plan", session)["body"]


def test_the_shipped_policy_states_the_limits_it_documents() -> None:
    text = Path(SHIPPED_POLICY).read_text()
    assert (
        "payment_plans: {max_instalments: 6, max_days: 180, min_instalment: 50, reminder_days_before: 3}"
        in text
    )
