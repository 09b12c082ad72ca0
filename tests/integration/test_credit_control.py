"""Credit hold and agency placement as states, through the real handlers against moto: the staff
console (the portal function's pages) decides them, the dunning function respects them (a placed
invoice is never reminded, a customer on credit hold still is), the portal shows them, the reports
count them, and the ERP gets each decision and its lifting from the change feed; a placement writes the
agency's hand-off file (invoices, contacts, history, a manifest) beside the feed; what the agency
collects comes back as payments, from the console or a payments file through ingest, and an invoice
collected in full closes its placement (docs/holds.md)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

import boto3
import pytest

from arcollect.store.changes import ChangeLog
from arcollect.store.repositories import Customers, Payments
from tests.integration.conftest import invoke, load_event
from tests.integration.dunning_world import World, utc
from tests.integration.ingest_flow import ingest
from tests.integration.real_world import Browser, hidden
from tests.integration.test_deductions import (
    CUSTOMER,
    CUSTOMER_PATH,
    INVOICES,
    Console,
    invoice,
    signed_in,
    tick,
)

DROP = os.environ["DROP_BUCKET"]
AGENCY = "Inkasso Nord GmbH & Co. KG"
PLACED = ("INV/2026/0042", "INV/2026/0044")
KEPT = "INV/2026/0043"


@pytest.fixture
def world(aws: None) -> World:
    world = World()
    world.customer(CUSTOMER, email="buchhaltung@mueller-soehne.example", owner="morgan", phone="+49 40 123")
    summary = ingest("incoming/invoices/offene-posten.csv", INVOICES)
    assert (summary["accepted"], summary["rejected"]) == (4, 0), summary
    return world


@pytest.fixture
def manager(world: World) -> Iterator[Console]:
    yield signed_in("morgan", manager=True)


def changes_of(kind: str, day: date = date(2026, 11, 23)) -> list[dict[str, str]]:
    return [r for r in ChangeLog().records_of(day) if r["kind"] == kind]


def drop_object(key: str) -> bytes:
    return bytes(boto3.client("s3").get_object(Bucket=DROP, Key=key)["Body"].read())


def rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def place(console: Console, *numbers: str, agency: str = AGENCY, note: str = "two reminders ignored") -> Any:
    fields: list[tuple[str, str]] = [("agency", agency), ("note", note)]
    fields += [("invoice_numbers", n) for n in numbers]
    token = hidden(console.page(), "csrf_token")
    return console.browser.request(
        "POST", f"{CUSTOMER_PATH}/agency", urlencode([("csrf_token", token), *fields])
    )


def placement_id() -> str:
    found = {invoice(n).agency_placement for n in PLACED}
    assert len(found) == 1
    [pid] = found
    assert pid
    return pid


# --- credit hold ---------------------------------------------------------------------------------


def test_a_credit_hold_is_a_state_the_erp_portal_and_reports_learn_and_reminders_go_on(
    world: World, manager: Console
) -> None:
    # When the manager puts the customer on credit hold (the form sent twice: a double click)
    for _ in range(2):
        reply = manager.post(f"{CUSTOMER_PATH}/credit-hold", hold="on", reason="90 days over terms")
        assert reply.status == 303 and reply.header("Location").endswith("?done=credit-hold-on"), reply.text
    # Then the customer is on hold since today, and the ERP learns it once
    customer = Customers().get(CUSTOMER)
    assert customer is not None
    assert (customer.credit_hold, customer.credit_hold_since, customer.credit_hold_reason) == (
        True,
        date(2026, 11, 23),
        "90 days over terms",
    )
    [held] = changes_of("credit_hold")
    assert (held["customer_id"], held["note"], held["actor"]) == (CUSTOMER, "90 days over terms", "morgan")
    assert "On credit hold" in manager.page()
    # And the reminders go on: collecting the overdue balance is what lifts the hold
    assert {"INV/2026/0042", "INV/2026/0043", "INV/2026/0044"} <= tick()
    # And the report counts what the customers on hold owe (the credit note netted)
    invoke("reports", dict(load_event("scheduler_tick.json"), time="2026-11-24T05:00:00Z"))
    document = json.loads(
        boto3.client("s3")
        .get_object(Bucket=os.environ["REPORTS_BUCKET"], Key="latest/kpis.json")["Body"]
        .read()
    )
    assert document["credit_control"]["on_hold"] == [
        {"currency": "EUR", "customers": 1, "open_amount": "1600.00"}
    ]
    # When the hold is lifted
    assert manager.post(f"{CUSTOMER_PATH}/credit-hold", hold="off", reason="paid down").status == 303
    lifted = Customers().get(CUSTOMER)
    assert lifted is not None and not lifted.credit_hold and lifted.credit_hold_since is None
    [off] = changes_of("credit_hold_lifted")
    assert off["note"] == "paid down"


def test_a_credit_hold_needs_a_reason(world: World, manager: Console) -> None:
    reply = manager.post(f"{CUSTOMER_PATH}/credit-hold", hold="on", reason=" ")
    assert reply.status == 400 and "reason: is required" in reply.text
    customer = Customers().get(CUSTOMER)
    assert customer is not None and not customer.credit_hold and changes_of("credit_hold") == []


# --- agency placement ----------------------------------------------------------------------------


def test_a_placement_leaves_dunning_feeds_the_erp_and_writes_the_agencys_hand_off(
    world: World, manager: Console
) -> None:
    # When the manager places two invoices with the agency (the form sent twice)
    for _ in range(2):
        reply = place(manager, *PLACED)
        assert reply.status == 303 and reply.header("Location").endswith("?done=agency"), reply.text
    pid = placement_id()
    # Then both are with the agency since today, out of the sweep's index
    for number in PLACED:
        placed = invoice(number)
        assert (placed.agency, placed.agency_placed_on, placed.next_action_at) == (
            AGENCY,
            date(2026, 11, 23),
            None,
        )
    # And the ERP gets one agency_referral per invoice, once
    referrals = sorted(changes_of("agency_referral"), key=lambda r: r["invoice_number"])
    assert [(r["invoice_number"], r["amount"], r["reason"], r["reference"]) for r in referrals] == [
        ("INV/2026/0042", "1000.00", AGENCY, pid),
        ("INV/2026/0044", "400.00", AGENCY, pid),
    ]
    # And the hand-off: invoices, contacts and history as CSV, and a manifest with each file's digest
    prefix = f"outgoing/agency/{pid}/"
    manifest = json.loads(drop_object(prefix + "manifest.json"))
    assert (manifest["agency"], manifest["customer_id"], manifest["open_amounts"]) == (
        AGENCY,
        CUSTOMER,
        {"EUR": "1400.00"},
    )
    for entry in manifest["files"]:
        body = drop_object(prefix + entry["name"])
        assert hashlib.sha256(body).hexdigest() == entry["sha256"] and len(rows(body)) == entry["rows"]
    handed = rows(drop_object(prefix + "invoices.csv"))
    assert [(r["invoice_number"], r["open_amount"], r["days_past_due"]) for r in handed] == [
        ("INV/2026/0042", "1000.00", "23"),
        ("INV/2026/0044", "400.00", "21"),
    ]
    [contact] = rows(drop_object(prefix + "contacts.csv"))
    # (a cell starting with + is neutralised against spreadsheet formulas, as in every export)
    assert (contact["customer_id"], contact["email"], contact["phone"]) == (
        CUSTOMER,
        "buchhaltung@mueller-soehne.example",
        "'+49 40 123",
    )
    history = rows(drop_object(prefix + "history.csv"))
    assert any("placed 2 invoice(s) with the agency" in r["summary"] for r in history)
    # And dunning reminds the invoice kept, never the placed ones
    reminded = tick()
    assert KEPT in reminded and reminded.isdisjoint(PLACED)
    # And the portal tells the customer to pay the agency (no pay link for those)
    page = manager.page().replace("&amp;", "&")
    assert f"With {AGENCY}" in page and f"not dunned: with the agency {AGENCY}" in page


def test_only_a_manager_places_and_what_an_agency_cannot_take_is_refused(
    world: World, manager: Console
) -> None:
    collector = signed_in("cora", manager=False)
    refused = place(collector, *PLACED)
    assert refused.status == 403
    assert place(manager, "GS/2026/0007").status == 400
    assert "is a credit note" in place(manager, "GS/2026/0007").text
    assert "not on this customer&#39;s account: INV/2026/9999" in place(manager, "INV/2026/9999").text
    assert "agency: is required" in place(manager, *PLACED, agency="").text
    assert changes_of("agency_referral") == [] and all(invoice(n).agency is None for n in PLACED)


def test_agency_collections_come_back_as_payments_and_close_the_placement(
    world: World, manager: Console
) -> None:
    assert place(manager, *PLACED).status == 303
    pid = placement_id()
    path = f"{CUSTOMER_PATH}/agency/{quote(pid, safe='')}/collected"
    # When the agency reports 600.00 of INV/2026/0042 (recorded twice: a retry), then the rest
    for _ in range(2):
        reply = manager.post(path, invoice_number="INV/2026/0042", amount="600.00", reference="IN-77/1")
        assert reply.status == 303, reply.text
    assert invoice("INV/2026/0042").open_amount == Decimal("400.00")
    assert (
        manager.post(path, invoice_number="INV/2026/0042", amount="400.00", reference="IN-77/2").status == 303
    )
    # Then the invoice is settled, each collection a payment applied to it, and a change for the ERP
    settled = invoice("INV/2026/0042")
    assert (settled.status, settled.open_amount, settled.paid_date) == ("closed", 0, date(2026, 11, 23))
    payments = sorted((p.payment_id, p.amount) for p in Payments().for_customer(CUSTOMER))
    assert payments == [(f"{pid}:IN-77/1", Decimal("600.00")), (f"{pid}:IN-77/2", Decimal("400.00"))]
    collected = sorted(changes_of("agency_collected"), key=lambda r: r["amount"])
    assert [(r["amount"], r["invoice_number"], r["reason"]) for r in collected] == [
        ("400.00", "INV/2026/0042", AGENCY),
        ("600.00", "INV/2026/0042", AGENCY),
    ]
    # And more than is open is refused, naming the field
    too_much = manager.post(path, invoice_number="INV/2026/0044", amount="400.01", reference="IN-78")
    assert too_much.status == 400 and "amount:" in too_much.text
    # When the agency's payments file for the other invoice comes through ingest
    body = (
        "customer_id;payment_id;payment_date;amount;currency;invoice_number;reference\n"
        f'"{CUSTOMER}";INK-2026-0099;23.11.2026;400,00;EUR;INV/2026/0044;Inkasso Nord\n'
    )
    summary = ingest("incoming/payments/inkasso-nord.csv", body.encode())
    assert (summary["payments_applied"], summary["invoices_closed"]) == (1, 1), summary
    # Then the placement is closed: everything placed was collected (the invoices keep their agency)
    assert invoice("INV/2026/0044").status == "closed" and invoice("INV/2026/0044").agency == AGENCY
    assert ": collected, closed" in manager.page()


def test_a_recall_puts_the_invoices_back_into_dunning_and_ingest_never_undoes_a_placement(
    world: World, manager: Console
) -> None:
    manager.browser.at = utc(2026, 11, 23, 7)  # before the morning's tick
    assert place(manager, *PLACED).status == 303
    pid = placement_id()
    # When the ERP sends its open items again (the same file, stating open amounts)
    stated = INVOICES.decode().splitlines()
    again = "\n".join([stated[0] + ";open_amount", *(f"{row};{row.split(';')[4]}" for row in stated[1:])])
    ingest("incoming/invoices/offene-posten.csv", again.encode() + b"\n")
    # Then the placement stands
    assert all(invoice(n).agency_placement == pid for n in PLACED)
    # When the manager recalls it (twice)
    recall = f"{CUSTOMER_PATH}/agency/{quote(pid, safe='')}/recall"
    assert manager.post(recall, note="").status == 400  # a recall says why
    for _ in range(2):
        assert manager.post(recall, note="the customer paid a deposit").status == 303
    # Then the invoices are back with the company, the ERP learns it once per invoice, dunning reminds them
    assert all(invoice(n).agency is None for n in PLACED)
    assert sorted(r["invoice_number"] for r in changes_of("agency_recalled")) == list(PLACED)
    assert set(PLACED) <= tick()


def test_the_reports_count_what_is_with_each_agency(world: World, manager: Console) -> None:
    assert place(manager, *PLACED).status == 303
    result = invoke("reports", dict(load_event("scheduler_tick.json"), time="2026-11-24T05:00:00Z"))
    document = json.loads(
        boto3.client("s3")
        .get_object(Bucket=os.environ["REPORTS_BUCKET"], Key="latest/kpis.json")["Body"]
        .read()
    )
    assert document["credit_control"]["with_agency"] == [
        {
            "agency": AGENCY,
            "currency": "EUR",
            "open_invoices": 2,
            "open_amount": "1400.00",
            "collected_invoices": 0,
        }
    ]
    assert "latest/credit-control.csv" in result["written"]


def test_the_portal_shows_the_hold_and_says_to_pay_the_agency(world: World, manager: Console) -> None:
    assert manager.post(f"{CUSTOMER_PATH}/credit-hold", hold="on", reason="over limit").status == 303
    assert place(manager, "INV/2026/0042").status == 303
    # The customer follows a reminder's link into the portal
    portal = Browser(utc(2026, 11, 23, 11))
    token = _portal_token(CUSTOMER)
    opened = portal.follow_link(f"/l/{token}")
    assert opened.status == 303, opened.text
    page = portal.get("/account").text.replace("&amp;", "&")
    assert "Your account is on credit hold." in page
    assert f"INV/2026/0042 ({AGENCY})" in page and "Pay the agency, not us" in page
    [row] = [r for r in page.split("<tr>") if ">INV/2026/0042</a>" in r]
    assert "With a collection agency" in row and "/pay" not in row
    detail = portal.get(f"/invoices/{quote('INV/2026/0042', safe='')}").text.replace("&amp;", "&")
    assert f"This invoice is with the collection agency {AGENCY}." in detail


def _portal_token(customer_id: str) -> str:
    from arcollect.portal.links import sign_token

    # The moto secret the stack's resources hold (tests/integration/conftest.py).
    return sign_token(customer_id, key=b"integration-test-link-key", now=utc(2026, 11, 23, 10))


def test_a_credit_hold_decided_on_a_call_is_the_state_with_the_outcomes_one_change(
    world: World, manager: Console
) -> None:
    from arcollect.entities import Task
    from arcollect.store.repositories import Accounts

    # Given the policy's "decide on a credit hold" task on the manager's worklist
    task = Task(CUSTOMER, "credit-hold-1", "credit_hold", "Decide on a credit hold", utc(2026, 11, 23, 6))
    assert Accounts().add_task(replace(task, assignee="morgan", detail={"invoices": "INV/2026/0042"}))
    # When the call's outcome is the credit hold
    path = f"{CUSTOMER_PATH}/tasks/credit-hold-1/outcome"
    reply = manager.post(path, outcome="credit_hold", note="no payment plan offered")
    assert reply.status == 303, reply.text
    # Then the customer is on credit hold, and the ERP gets the decision once (the outcome's change)
    customer = Customers().get(CUSTOMER)
    assert (
        customer is not None
        and customer.credit_hold
        and customer.credit_hold_reason == "no payment plan offered"
    )
    assert len(changes_of("credit_hold")) == 1
