"""Deductions through the real handlers against moto: a multi-invoice remittance pays one invoice
short; a collector codes the residual with a reason in the staff console (the portal function's pages
and its JSON routes), which routes it to the reason's department with an SLA, keeps the residual out of
the dunning function's reminders (the customer's other invoices are reminded) and feeds the ERP; the
outcome is a credit (the residual written off, a credit memo for the ERP) or a rebill (the residual
reminded again). Retried requests code and resolve once (docs/deductions.md)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

import boto3
import pytest

from arcollect.changes import record_from_json
from arcollect.console import StaffConsole
from arcollect.entities import Invoice, TaskKind
from arcollect.portal.web import build_app
from arcollect.store.changes import ChangeLog, ChangeObjects
from arcollect.store.dispute_book import DisputeBook
from arcollect.store.portal import PortalObjects
from arcollect.store.repositories import Invoices, Tasks
from arcollect.store.staff import StaffSessionStore
from arcollect.workspace.services import Workspace
from arcollect_cli.lambda_runtime import LambdaContext, load_handler
from tests.integration.conftest import invoke, load_event
from tests.integration.dunning_world import World, sent_emails, utc
from tests.integration.ingest_flow import ingest
from tests.integration.real_world import STAFF_PASSWORD, Browser, Reply, hidden, staff_directory

DROP = os.environ["DROP_BUCKET"]
CUSTOMER = "Müller & Söhne, GmbH"
SHORT = "INV/2026/0042"  # 1,000.00 paid 880.00: 120.00 short
PAID = "INV/2026/0043"  # paid in full by the same payment
CONTROL = "INV/2026/0044"  # unpaid: the tick reminds it throughout
TICK = "2026-11-23T09:00:00Z"  # Monday, 10:00 in Berlin: inside the send window
CUSTOMER_PATH = f"/staff/customers/{quote(CUSTOMER, safe='')}"

INVOICES = (
    "customer_id;invoice_number;invoice_date;due_date;amount;currency;document_type\n"
    f'"{CUSTOMER}";INV/2026/0042;01.10.2026;31.10.2026;1.000,00;EUR;invoice\n'
    f'"{CUSTOMER}";INV/2026/0043;02.10.2026;01.11.2026;250,00;EUR;invoice\n'
    f'"{CUSTOMER}";INV/2026/0044;03.10.2026;02.11.2026;400,00;EUR;invoice\n'
    f'"{CUSTOMER}";GS/2026/0007;05.10.2026;05.10.2026;50,00;EUR;credit_note\n'
).encode()
# One remittance paying two invoices, the first short (a pricing deduction taken at payment).
PAYMENTS = (
    "customer_id;payment_id;payment_date;amount;currency;invoice_number;reference;applied_amount\n"
    f'"{CUSTOMER}";ZE/2026/77;20.11.2026;1.130,00;EUR;INV/2026/0042;Avis 77;880,00\n'
    f'"{CUSTOMER}";ZE/2026/77;20.11.2026;1.130,00;EUR;INV/2026/0043;Avis 77;250,00\n'
).encode()


@pytest.fixture
def world(aws: None) -> World:
    world = World()
    world.customer(CUSTOMER, email="buchhaltung@mueller-soehne.example", owner="morgan")
    summary = ingest("incoming/invoices/offene-posten.csv", INVOICES)
    assert (summary["accepted"], summary["rejected"]) == (4, 0), summary
    paid = ingest("incoming/payments/zahlungen.csv", PAYMENTS)
    assert (paid["payments_applied"], paid["invoices_closed"]) == (1, 1), paid
    return world


def invoice(number: str) -> Invoice:
    found = Invoices().get(CUSTOMER, number)
    assert found is not None
    return found


def tick(at: str = TICK) -> set[str]:
    """The dunning function's tick; the invoices its emails named."""
    before = len(sent_emails())
    invoke("dunning", dict(load_event("scheduler_tick.json"), time=at))
    return {number for email in sent_emails()[before:] for number in email.invoices}


def changes_of(kind: str) -> list[dict[str, str]]:
    return [r for r in ChangeLog().records_of(date(2026, 11, 23)) if r["kind"] == kind]


def change_objects() -> list[dict[str, str]]:
    s3 = boto3.client("s3")
    listed = s3.list_objects_v2(Bucket=DROP, Prefix="outgoing/changes/").get("Contents", [])
    return [
        record_from_json(s3.get_object(Bucket=DROP, Key=o["Key"])["Body"].read().decode()) for o in listed
    ]


@dataclass
class Console:
    browser: Browser
    extra_headers: dict[str, str]

    def page(self) -> str:
        reply = self.browser.get(CUSTOMER_PATH)
        assert reply.status == 200, reply.text
        return reply.text

    def post(self, path: str, **fields: str) -> Reply:
        form = {"csrf_token": hidden(self.page(), "csrf_token"), **fields}
        return self.browser.request("POST", path, urlencode(form))

    def json(self, method: str, path: str, body: dict[str, Any] | None = None, *, csrf: bool = True) -> Reply:
        token = hidden(self.page(), "csrf_token")
        self.extra_headers.clear()
        self.extra_headers["Content-Type"] = "application/json"
        if csrf:
            self.extra_headers["X-CSRF-Token"] = token
        try:
            return self.browser.request(method, path, json.dumps(body) if body is not None else None)
        finally:
            self.extra_headers.clear()


def signed_in(username: str, *, manager: bool, at: datetime | None = None) -> Console:
    directory = staff_directory(username, f"{username}@seller.example")
    if manager:
        cognito = boto3.client("cognito-idp")
        cognito.create_group(GroupName="manager", UserPoolId=directory._pool)
        cognito.admin_add_user_to_group(UserPoolId=directory._pool, Username=username, GroupName="manager")
    handler = load_handler("portal")
    staff = StaffConsole(
        workspace=Workspace(
            policies=handler.app.policies,
            mailer=handler.app.mailer,
            sender=os.environ["SENDER_EMAIL"],
            reports=PortalObjects(),
            change_feed=ChangeObjects(DROP),
        ),
        directory=directory,
        sessions=StaffSessionStore(),
    )
    app = build_app(handler.app.portal_at, environment_name="test", staff=staff)
    extra: dict[str, str] = {}

    def send(event: dict[str, Any]) -> dict[str, Any]:
        if extra:
            event["headers"] = {**event["headers"], **extra}
            event["multiValueHeaders"] = {name: [value] for name, value in event["headers"].items()}
        return app.resolve(event, LambdaContext("portal"))

    browser = Browser(at or utc(2026, 11, 23, 10), send=send)
    form = browser.get("/staff/sign-in")
    reply = browser.post(
        "/staff/sign-in",
        {"username": username, "password": STAFF_PASSWORD, "csrf_token": hidden(form.text, "csrf_token")},
    )
    assert reply.status == 303, reply.text
    return Console(browser, extra)


@pytest.fixture
def manager(world: World) -> Iterator[Console]:
    yield signed_in("morgan", manager=True)


def test_a_short_payment_coded_is_routed_not_reminded_and_a_credit_writes_it_off(
    world: World, manager: Console
) -> None:
    # Given the remittance left 120.00 open on INV/2026/0042; the 360 offers it to code
    assert invoice(SHORT).open_amount == Decimal("120.00")
    page = manager.page()
    assert "Code a short payment" in page and page.count(" left of ") == 1
    # When the manager codes it as a pricing deduction (and the form is sent twice: a double click)
    form = {"invoice_number": SHORT, "reason": "pricing", "comment": "paid at last year's price list"}
    first = manager.post(f"{CUSTOMER_PATH}/deductions", **form)
    again = manager.post(f"{CUSTOMER_PATH}/deductions", **form)
    assert (first.status, again.status) == (303, 303), again.text
    assert first.header("Location").endswith("?done=deduction")
    # Then one deduction, routed to billing (the shipped policy: pricing) with its 5-day SLA
    [deduction] = DisputeBook().disputes(CUSTOMER)
    assert (deduction.reason, deduction.department, deduction.sla_days) == ("pricing", "billing", 5)
    assert (deduction.amount, deduction.payment_ids) == (Decimal("120.00"), ("ZE/2026/77",))
    [task] = [t for t in Tasks().for_customer(CUSTOMER) if t.kind == TaskKind.DISPUTE]
    assert task.title == "Deduction on INV/2026/0042: pricing (120.00 EUR short)"
    assert task.due_on == date(2026, 11, 28)
    # And the ERP learns it once: a deduction_coded change with the residual and the payment
    [coded] = changes_of("deduction_coded")
    assert (coded["invoice_number"], coded["amount"], coded["reason"], coded["customer_id"]) == (
        SHORT,
        "120.00",
        "pricing",
        CUSTOMER,
    )
    assert "paid short by ZE/2026/77" in coded["note"] and coded["actor"] == "morgan"
    # And the tick reminds the customer's other overdue invoice, never the residual under investigation
    reminded = tick()
    assert CONTROL in reminded and SHORT not in reminded
    # When the deduction is agreed: resolved by a credit (twice: a retry)
    path = f"{CUSTOMER_PATH}/deductions/{quote(deduction.dispute_id, safe='')}/resolve"
    assert manager.post(path, outcome="credit", note="price list error, agreed").status == 303
    assert manager.post(path, outcome="credit", note="price list error, agreed").status == 303
    # Then the residual is written off: the invoice settled, the credit kept until the ERP books it
    settled = invoice(SHORT)
    assert (settled.status, settled.open_amount, settled.credit_agreed) == ("closed", 0, Decimal("120.00"))
    # And the ERP gets the outcome and the credit memo to book, once each, in the table and as objects
    [resolved] = changes_of("deduction_resolved")
    [credit] = changes_of("credit_agreed")
    assert (resolved["reason"], resolved["amount"]) == ("credit", "120.00")
    assert (credit["amount"], credit["reason"], credit["invoice_number"]) == (
        "120.00",
        "deduction:pricing",
        SHORT,
    )
    objects = {r["change_id"] for r in change_objects()}
    assert {coded["change_id"], resolved["change_id"], credit["change_id"]} <= objects
    # And the timeline says what was done
    page = manager.page()
    assert "coded as a pricing deduction, routed to billing" in page
    assert "resolved by credit" in page


def test_a_rebill_puts_the_residual_back_into_dunning(world: World, manager: Console) -> None:
    manager.browser.at = utc(2026, 11, 23, 7)  # before the morning's tick
    manager.post(f"{CUSTOMER_PATH}/deductions", invoice_number=SHORT, reason="unauthorized", comment="")
    [deduction] = DisputeBook().disputes(CUSTOMER)
    assert deduction.department == "collections"
    # When the deduction is refused: rebill
    path = f"{CUSTOMER_PATH}/deductions/{quote(deduction.dispute_id, safe='')}/resolve"
    reply = manager.post(path, outcome="rebill", note="no agreement for this discount")
    assert reply.status == 303, reply.text
    # Then the residual is owed again and the next tick asks for it
    assert (invoice(SHORT).disputed, invoice(SHORT).open_amount) == (False, Decimal("120.00"))
    [resolved] = changes_of("deduction_resolved")
    assert (resolved["reason"], resolved["amount"]) == ("rebill", "120.00")
    assert changes_of("credit_agreed") == []
    assert SHORT in tick()
    # And coding the same short payment again is refused, saying why
    refused = manager.post(f"{CUSTOMER_PATH}/deductions", invoice_number=SHORT, reason="pricing", comment="")
    assert refused.status == 400 and "coded and resolved already" in refused.text


def test_what_is_not_a_short_payment_is_refused_with_the_field_named(world: World, manager: Console) -> None:
    cases = {
        CONTROL: "was not paid short",
        PAID: "is settled",
        "GS/2026/0007": "is a credit note",
        "INV/2026/9999": "is not on this customer's account",
    }
    for number, why in cases.items():
        reply = manager.json(
            "POST",
            f"/staff/api/customers/{quote(CUSTOMER, safe='')}/deductions",
            {"invoice_number": number, "reason": "damage"},
        )
        assert reply.status == 400, reply.text
        error = json.loads(reply.text)["error"]
        assert error["field"] == "invoice_number" and why in error["message"], error
    reply = manager.json(
        "POST",
        f"/staff/api/customers/{quote(CUSTOMER, safe='')}/deductions",
        {"invoice_number": SHORT, "reason": "late"},
    )
    assert json.loads(reply.text)["error"]["field"] == "reason" and "pricing, shortage" in reply.text
    assert DisputeBook().disputes(CUSTOMER) == [] and changes_of("deduction_coded") == []


def test_the_json_routes_code_list_and_resolve_once_and_need_the_csrf_header(
    world: World, manager: Console
) -> None:
    api = f"/staff/api/customers/{quote(CUSTOMER, safe='')}/deductions"
    body = {"invoice_number": SHORT, "reason": "shortage", "comment": "2 cartons missing"}
    # Without the session's CSRF token in the header, nothing is done
    assert manager.json("POST", api, body, csrf=False).status == 403
    assert DisputeBook().disputes(CUSTOMER) == []
    # With it, coded once however often the client retries
    first, second = manager.json("POST", api, body), manager.json("POST", api, body)
    assert (first.status, second.status) == (201, 201)
    made = json.loads(first.text)["deduction"]
    assert json.loads(second.text)["deduction"]["dispute_id"] == made["dispute_id"]
    assert (made["department"], made["amount"], made["sla_days"]) == ("logistics", "120.00", 10)
    listed = json.loads(manager.json("GET", "/staff/api/deductions").text)["deductions"]
    assert [(d["invoice_number"], d["reason"], d["age_days"]) for d in listed] == [(SHORT, "shortage", 0)]
    # Resolving: an unknown outcome is refused naming the field; a credit, once
    resolve = f"{api}/{quote(made['dispute_id'], safe='')}/resolve"
    bad = manager.json("POST", resolve, {"outcome": "maybe", "note": "x"})
    assert bad.status == 400 and json.loads(bad.text)["error"]["field"] == "outcome"
    for _ in range(2):
        done = manager.json("POST", resolve, {"outcome": "credit", "note": "carrier confirmed the shortage"})
        assert done.status == 200 and json.loads(done.text)["deduction"]["status"] == "resolved_credit"
    assert len(changes_of("credit_agreed")) == 1 and invoice(SHORT).open_amount == 0


def test_a_collector_codes_but_a_write_off_above_their_limit_is_a_managers_call(world: World) -> None:
    collector = signed_in("cora", manager=False)
    api = f"/staff/api/customers/{quote(CUSTOMER, safe='')}/deductions"
    made = json.loads(collector.json("POST", api, {"invoice_number": SHORT, "reason": "damage"}).text)[
        "deduction"
    ]
    refused = collector.json(
        "POST", f"{api}/{quote(made['dispute_id'], safe='')}/resolve", {"outcome": "credit", "note": "ok"}
    )
    assert refused.status == 403 and "manager's decision" in refused.text
    assert invoice(SHORT).open_amount == Decimal("120.00") and invoice(SHORT).disputed


def test_the_reports_show_deductions_by_reason_and_age_and_the_resolved_by_outcome(
    world: World, manager: Console
) -> None:
    # Given a second customer short-paying in USD 40 days before the report, and this customer's
    # residual coded today and credited, and a third coded today and still open
    world.customer("Dupont & Fils, SARL", email="compta@dupont.example", owner="morgan")
    usd = (
        "customer_id;invoice_number;invoice_date;due_date;amount;currency\n"
        '"Dupont & Fils, SARL";F/2026/0100;15.09.2026;15.10.2026;2.000,00;USD\n'
    )
    summary = ingest("incoming/invoices/dupont.csv", usd.encode())
    assert summary["accepted"] == 1, json.dumps(summary)[:1500]
    paid = "customer_id;payment_id;payment_date;amount;currency;invoice_number\n"
    ingest(
        "incoming/payments/dupont.csv",
        (paid + '"Dupont & Fils, SARL";P-1;13.10.2026;1.700,00;USD;F/2026/0100\n').encode(),
    )
    early = signed_in("olga", manager=True, at=utc(2026, 10, 14, 10))
    dupont = f"/staff/api/customers/{quote('Dupont & Fils, SARL', safe='')}/deductions"
    assert early.json("POST", dupont, {"invoice_number": "F/2026/0100", "reason": "promotion"}).status == 201
    api = f"/staff/api/customers/{quote(CUSTOMER, safe='')}/deductions"
    made = json.loads(manager.json("POST", api, {"invoice_number": SHORT, "reason": "damage"}).text)[
        "deduction"
    ]
    resolve = f"{api}/{quote(made['dispute_id'], safe='')}/resolve"
    assert manager.json("POST", resolve, {"outcome": "credit", "note": "photos show damage"}).status == 200
    # When the daily report runs on 2026-11-24
    result = invoke("reports", dict(load_event("scheduler_tick.json"), time="2026-11-24T05:00:00Z"))
    # Then kpis.json has the open deduction by reason and age, and the resolved one by outcome
    s3 = boto3.client("s3")
    document = json.loads(
        s3.get_object(Bucket=os.environ["REPORTS_BUCKET"], Key="latest/kpis.json")["Body"].read()
    )
    part = document["deductions"]
    assert part["open"] == [
        {
            "reason": "promotion",
            "currency": "USD",
            "count": 1,
            "amount": "300.00",
            "0-30": "0.00",
            "31-60": "300.00",
            "61-90": "0.00",
            "over 90": "0.00",
            "oldest_days": 41,
        }
    ]
    assert part["resolved"] == [
        {"reason": "damage", "currency": "EUR", "outcome": "credit", "count": 1, "amount": "120.00"}
    ]
    # And the workbook's Deductions sheet is also deductions.csv
    assert "latest/deductions.csv" in result["written"]
    table = (
        s3.get_object(Bucket=os.environ["REPORTS_BUCKET"], Key="latest/deductions.csv")["Body"]
        .read()
        .decode()
    )
    assert "promotion,USD,1,300.00,0.00,300.00,0.00,0.00" in table.replace('"', "")
    assert "damage,EUR,credit,1,120.00" in table.replace('"', "")
