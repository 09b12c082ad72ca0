"""Amounts in their currency's minor unit (ISO 4217, arcollect/money.py) through the real handlers against
moto, for a customer billed in yen (no decimals) and one in Kuwaiti dinar (three): the portal's pages and
statement write them as the reminders do ("150,000 JPY", never "150,000.00"; "1.250 KWD"); an amount
typed in the portal or the staff console finer than the unit is refused naming the field and why, as
ingest refuses it in a file, and one with the currency's three decimals is taken; a plan's equal
instalments are in whole yen; and the dunning sweep never reminds an instalment whose remainder rounds to
nothing (a plan split into 333.33 JPY before amounts were held to the unit, paid 333 JPY)."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from arcollect.plans import Instalment, PaymentPlan, agreed_activity, standing
from arcollect.policy import SHIPPED_POLICY
from arcollect.store.plan_book import PlanBook
from arcollect_cli.main import main
from tests.integration.dunning_world import World, sent_emails, through_the_cli, utc
from tests.integration.ingest_flow import ingest
from tests.integration.real_world import Browser, Reply, hidden
from tests.integration.staff_console import post_json, signed_in_staff
from tests.integration.test_dunning_residuals import zeros
from tests.integration.test_portal_handler import call_api, get, sign_in

DROP = os.environ["DROP_BUCKET"]
YEN, DINAR = "C-JP", "C-KW"
YEN_UNIT = "has decimal places, and JPY has none (its smallest unit is 1)"


@pytest.fixture
def world(aws: None) -> World:
    # A customer billed in yen (an overdue invoice and one not yet due) and one in Kuwaiti dinar; the
    # dinar invoice as an ERP writes it with two decimals (1.25 is 1.250 KWD)
    world = World()
    world.customer(YEN, owner="cora")
    world.customer(DINAR, owner="cora")
    world.invoice(
        "JP-1", customer_id=YEN, invoice_date=date(2026, 9, 1), due_date=date(2026, 10, 1), amount="150000",
        currency="JPY",
    )  # fmt: skip
    world.invoice(
        "JP-2", customer_id=YEN, invoice_date=date(2026, 11, 1), due_date=date(2026, 12, 31), amount="1000",
        currency="JPY",
    )  # fmt: skip
    world.invoice(
        "KW-1", customer_id=DINAR, invoice_date=date(2026, 9, 1), due_date=date(2026, 10, 1), amount="1.25",
        currency="KWD",
    )  # fmt: skip
    return world


def statement_rows(session: tuple[str, str]) -> list[list[str]]:
    response = get("/statement.csv", cookie=session[0])
    assert response["statusCode"] == 200, response
    raw = str(response["body"])
    text = base64.b64decode(raw).decode("utf-8-sig") if response.get("isBase64Encoded") else raw
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def promise(session: tuple[str, str], number: str, amount: str) -> tuple[int, Any]:
    return call_api(
        "POST", "/api/v1/promises", session,
        {"invoice_numbers": [number], "amount": amount, "promised_until": "2026-12-01"},
    )  # fmt: skip


# --- the portal -------------------------------------------------------------------------------------------


def test_the_portal_writes_yen_without_decimals_and_refuses_half_a_yen(world: World) -> None:
    session = sign_in(YEN)
    # The account page writes the amounts as the reminders do: no decimals for the yen
    account = str(get("/account", cookie=session[0])["body"])
    assert "150,000 JPY" in account and "151,000 JPY" in account
    assert not re.search(r"\d\.\d\d JPY", account)
    # The statement's lines and totals too: 150000, never 150000.00
    rows = statement_rows(session)
    [line] = [row for row in rows if row and row[0] == "JP-1"]
    assert line[6:9] == ["JPY", "150000", "150000"]
    [totals] = [row for row in rows if row and row[0] == "JPY"]
    assert totals[1:3] == ["151000", "150000"]
    assert not [cell for row in rows for cell in row if re.fullmatch(r"\d+\.\d+", cell)]
    # A promise of half a yen more is refused, naming the field and why, as ingest says it
    status, body = promise(session, "JP-1", "100.5")
    assert (status, body) == (400, {"error": {"field": "amount", "message": f"100.5 {YEN_UNIT}"}})
    # A whole amount is taken, and the API writes it as the page does
    status, body = promise(session, "JP-1", "100000")
    assert status == 201, body
    invoice = json.loads(str(get("/api/v1/invoices/JP-1", cookie=session[0])["body"]))
    assert [p["amount"] for p in invoice["promises"]] == ["100000"]


def test_the_portal_keeps_the_dinars_three_decimals_and_takes_them_typed(world: World) -> None:
    session = sign_in(DINAR)
    account = str(get("/account", cookie=session[0])["body"])
    assert "1.250 KWD" in account and "1.25 KWD" not in account
    [line] = [row for row in statement_rows(session) if row and row[0] == "KW-1"]
    assert line[6:9] == ["KWD", "1.250", "1.250"]
    # A fourth decimal is refused; the dinar's three are an amount
    status, body = promise(session, "KW-1", "1.2345")
    assert status == 400 and body["error"] == {
        "field": "amount",
        "message": "1.2345 has more decimal places than KWD's 3 (its smallest unit is 0.001)",
    }
    status, body = promise(session, "KW-1", "1.234")
    assert status == 201, body


def test_the_portals_api_writes_every_amount_with_its_currencys_decimals(world: World) -> None:
    # Given a dinar invoice as an ERP writes it with one decimal (300.5 is 300.500 KWD), beside KW-1
    world.invoice(
        "KW-2", customer_id=DINAR, invoice_date=date(2026, 9, 1), due_date=date(2026, 10, 1), amount="300.5",
        currency="KWD",
    )  # fmt: skip
    session = sign_in(DINAR)
    # The account's totals, aging buckets and late charges in fils, as the statement writes them: an
    # empty bucket is "0.000", never "0"
    account = json.loads(str(get("/api/v1/account", cookie=session[0])["body"]))
    [kwd] = account["totals"]
    assert (kwd["currency"], kwd["total_due"], kwd["overdue"]) == ("KWD", "301.750", "301.750")
    assert kwd["aging"] == {
        "current": "0.000", "d1_30": "0.000", "d31_60": "301.750", "d61_90": "0.000", "d91_plus": "0.000"
    }  # fmt: skip
    assert kwd["late_charges"] == "0.000"
    # The invoices' amount, open amount and balance too
    invoices = json.loads(str(get("/api/v1/invoices", cookie=session[0])["body"]))["invoices"]
    assert {i["invoice_number"]: (i["amount"], i["open_amount"], i["balance"]) for i in invoices} == {
        "KW-1": ("1.250", "1.250", "1.250"),
        "KW-2": ("300.500", "300.500", "300.500"),
    }
    detail = json.loads(str(get("/api/v1/invoices/KW-2", cookie=session[0])["body"]))["invoice"]
    assert (detail["amount"], detail["open_amount"], detail["balance"]) == ("300.500", "300.500", "300.500")
    # A promise's receipt, and a plan's total and instalments
    status, promised = promise(session, "KW-1", "1.2")
    assert (status, promised["amount"]) == (201, "1.200"), promised
    status, plan = call_api(
        "POST", "/api/v1/payment-plans", session,
        {"invoice_numbers": ["KW-2"], "count": 2, "first_due": "2026-12-01", "every_days": 30},
    )  # fmt: skip
    assert status == 201, plan
    assert (plan["total"], [i["amount"] for i in plan["instalments"]]) == ("300.500", ["150.250", "150.250"])
    # Explicit instalments typed with fewer decimals than the dinar's three are answered with its three
    world.invoice(
        "KW-3", customer_id=DINAR, invoice_date=date(2026, 9, 1), due_date=date(2026, 10, 1), amount="200",
        currency="KWD",
    )  # fmt: skip
    status, plan = call_api(
        "POST", "/api/v1/payment-plans", session,
        {"invoice_numbers": ["KW-3"], "instalments": [
            {"due_date": "2026-12-01", "amount": "100.5"}, {"due_date": "2027-01-01", "amount": "99.5"}
        ]},
    )  # fmt: skip
    assert status == 201, plan
    assert (plan["total"], [i["amount"] for i in plan["instalments"]]) == ("200.000", ["100.500", "99.500"])
    # A customer in yen: no decimals; one in euros: two, "0.00" for an empty bucket
    session = sign_in(YEN)
    [jpy] = json.loads(str(get("/api/v1/account", cookie=session[0])["body"]))["totals"]
    assert (jpy["total_due"], jpy["aging"]["current"], jpy["aging"]["d1_30"]) == ("151000", "1000", "0")
    world.customer("C-EU")
    world.invoice("EU-1", customer_id="C-EU", invoice_date=date(2026, 9, 1), due_date=date(2026, 10, 1))
    session = sign_in("C-EU")
    [eur] = json.loads(str(get("/api/v1/account", cookie=session[0])["body"]))["totals"]
    assert (eur["total_due"], eur["aging"]["current"], eur["late_charges"]) == ("1000.00", "0.00", "0.00")


def test_the_portals_plan_page_writes_the_minimum_and_the_rounding_in_the_accounts_currency(
    world: World,
) -> None:
    # The yen customer's plan page: the policy's minimum (50) in yen, the split rounded to whole yen
    page = str(get("/payment-plan", cookie=sign_in(YEN)[0])["body"])
    assert "each of at least\n50 JPY." in page
    assert "rounded down to the smallest unit of the invoices' currency (1 JPY)" in page
    assert "50.00" not in page and "cents" not in page
    # The dinar customer's: in fils
    page = str(get("/payment-plan", cookie=sign_in(DINAR)[0])["body"])
    assert "each of at least\n50.000 KWD." in page
    assert "rounded down to the smallest unit of the invoices' currency (0.001 KWD)" in page
    assert "50.00 " not in page and "cents" not in page


# --- the staff console ------------------------------------------------------------------------------------


class Console:
    """Cora in the staff console (the portal function's pages with a console on a moto user pool)."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser

    def account(self, customer_id: str = YEN) -> Reply:
        page = self.browser.get(f"/staff/customers/{quote(customer_id, safe='')}")
        assert page.status == 200, page.text
        return page

    def post(self, path: str, form: list[tuple[str, str]], customer_id: str = YEN) -> Reply:
        token = hidden(self.account(customer_id).text, "csrf_token")
        url = f"/staff/customers/{quote(customer_id, safe='')}/{path}"
        return self.browser.request("POST", url, urlencode([("csrf_token", token), *form]))

    def plan_json(self, body: dict[str, Any]) -> tuple[int, Any]:
        """The console's JSON route of payment plans, with the session's CSRF token."""
        token = hidden(self.account().text, "csrf_token")
        reply = post_json(self.browser, f"/staff/api/customers/{YEN}/payment-plans", body, token)
        return reply.status, json.loads(reply.text)


@pytest.fixture
def console(world: World) -> Iterator[Console]:
    yield Console(signed_in_staff(utc(2026, 11, 23, 10), DROP))


def test_the_console_writes_yen_without_decimals_and_splits_a_plan_in_whole_yen(console: Console) -> None:
    # The 360 page writes the customer's amounts as the reminders do
    page = console.account().text
    assert "150,000 JPY" in page and "1,000 JPY" in page
    assert not re.search(r"\d\.\d\d JPY", page)
    # Three equal instalments of 1,000 JPY are whole yen, the last taking the remainder
    status, plan = console.plan_json(
        {"invoice_numbers": ["JP-2"], "count": 3, "first_due": "2026-12-01", "every_days": 31}
    )
    assert status == 201, plan
    assert (plan["total"], [i["amount"] for i in plan["instalments"]]) == ("1000", ["333", "333", "334"])
    [stored] = PlanBook().plans(YEN)
    assert [i.amount for i in stored.instalments] == [Decimal(333), Decimal(333), Decimal(334)]


def test_the_console_plan_form_says_what_equal_instalments_are_rounded_to_in_the_accounts_currency(
    console: Console,
) -> None:
    yen = console.account().text
    assert (
        "rounded down to the smallest unit of its currency (1 JPY); the last takes what is left over" in yen
    )
    dinar = console.account(DINAR).text
    assert "rounded down to the smallest unit of its currency (0.001 KWD)" in dinar
    assert "cents" not in yen and "cents" not in dinar


def test_the_console_refuses_amounts_finer_than_the_currencys_unit_naming_the_field(
    world: World, console: Console
) -> None:
    # Instalments of half a yen (they add up to the open 1,000 JPY): refused, naming the instalment
    status, body = console.plan_json(
        {
            "invoice_numbers": ["JP-2"],
            "instalments": [
                {"due_date": "2026-12-01", "amount": "500.5"},
                {"due_date": "2027-01-04", "amount": "499.5"},
            ],
        }
    )
    assert (status, body) == (
        400,
        {"error": {"field": "instalments", "message": f"instalment 1: 500.5 {YEN_UNIT}"}},
    )
    assert PlanBook().plans(YEN) == []
    # A promise of half a yen on the 360 page: the page again, the message at the amount field
    refused = console.post(
        "promises", [("invoice_numbers", "JP-1"), ("amount", "100.5"), ("promised_until", "2026-12-01")]
    )
    assert refused.status == 400 and f"100.5 {YEN_UNIT}" in refused.text
    assert 'id="promise-amount-error"' in refused.text
    assert world.get("JP-1", YEN).promise_id is None
    # Cash applied in half yen: refused the same way, nothing applied
    payments = (
        "customer_id,payment_id,payment_date,amount,currency,reference\nC-JP,ZE-1,2026-11-20,5000,JPY,?\n"
    )
    assert ingest("incoming/payments/zahlungen.csv", payments.encode())["rejected"] == 0
    applied = console.post(
        "payments/ZE-1/apply", [("invoice_numbers", "JP-1"), ("amounts", "100.5"), ("unapplied", "5000")]
    )
    assert applied.status == 400 and f"100.5 {YEN_UNIT}" in applied.text
    assert world.get("JP-1", YEN).open_amount == Decimal(150000)
    # A dinar amount with its three decimals is taken
    done = console.post(
        "promises",
        [("invoice_numbers", "KW-1"), ("amount", "1.234"), ("promised_until", "2026-12-01")],
        customer_id=DINAR,
    )
    assert done.status == 303, done.text
    assert world.get("KW-1", DINAR).promise_id is not None


# --- dunning: an instalment's remainder that rounds to nothing ---------------------------------------------


def _policy_with_fresh_feeds() -> bytes:
    """The shipped policy, with feeds that never go stale (weeks of ticks without a new file every day:
    the freshness hold is tested elsewhere)."""
    text = SHIPPED_POLICY.read_text()
    return re.sub(
        r"(invoices|payments)_max_age_business_days: 2", r"\1_max_age_business_days: 9999", text
    ).encode()


def test_an_instalment_whose_remainder_rounds_to_nothing_is_paid_and_never_reminded(s3: Any) -> None:
    s3.put_object(Bucket=DROP, Key="config/dunning-policy.yaml", Body=_policy_with_fresh_feeds())
    # Given a plan of 1,000 JPY agreed before amounts were held to the yen: three instalments of 333.33,
    # 333.33 and 333.34 JPY (the old split to the cent), its invoice marked as in it
    world = World(through_handler=True)
    world.customer(YEN, email="ap@c-jp.example", owner="cora")
    world.invoice(
        "JP-9", customer_id=YEN, invoice_date=date(2026, 9, 1), due_date=date(2026, 10, 1), amount="1000",
        currency="JPY",
    )  # fmt: skip
    agreed = datetime(2026, 11, 23, 10, tzinfo=UTC)
    plan = PaymentPlan(
        customer_id=YEN, plan_id="plan-0123456789abcdef", invoice_numbers=("JP-9",), currency="JPY",
        instalments=(
            Instalment(1, date(2026, 12, 1), Decimal("333.33")),
            Instalment(2, date(2027, 1, 4), Decimal("333.33")),
            Instalment(3, date(2027, 2, 1), Decimal("333.34")),
        ),
        created_at=agreed, source="cora",
    )  # fmt: skip
    assert PlanBook().make_plan(plan, utc(2026, 11, 28, 7), agreed_activity(plan, by="Cora"))
    # And the customer paid the first instalment as yen can be paid: 333 JPY (0.33 JPY "left" of it)
    payments = (
        "customer_id,payment_id,payment_date,amount,currency,invoice_number\n"
        "C-JP,ZE-1,2026-11-24,333,JPY,JP-9\n"
    )
    summary = ingest("incoming/payments/zahlungen.csv", payments.encode())
    assert (summary["rejected"], summary["payments_applied"]) == (0, 1), summary
    # When the sweep runs past the first instalment's due day and its grace
    world.run(utc(2026, 11, 24, 7), utc(2026, 12, 10, 12))
    # Then the first instalment is paid: no reminder of it ("0 JPY due 1 Dec 2026"), the plan is not
    # broken by it, and its invoice waits for the second instalment
    assert [e for e in sent_emails() if e.customer_id == YEN] == []
    [still] = PlanBook().plans(YEN)
    assert still.status == "open"
    assert world.get("JP-9", YEN).promised_until == date(2027, 1, 4)
    state = standing(
        still, invoices=[world.get("JP-9", YEN)], payments=PlanBook().payments(YEN), today=date(2026, 12, 10),
        grace_days=3,
    )  # fmt: skip
    assert [s.settled for s in state.instalments] == [True, False, False]
    assert state.current is not None and state.current.instalment.number == 2
    # When the sweep runs on to the second instalment's due day
    world.run(utc(2026, 12, 10, 12), utc(2027, 1, 5, 12))
    # Then the second instalment is reminded, for what it asks in whole yen, and no email writes a zero
    emails = [e for e in sent_emails() if e.customer_id == YEN]
    assert [e.step for e in emails] == [f"instalment#{plan.plan_id}#2#due"]
    assert emails[0].subject == "Instalment 2 of 3 of your payment plan: 333 JPY due 4 Jan 2027"
    text = emails[0].message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert zeros(text) == []


# --- dunning's preview: a condition's reason ----------------------------------------------------------


def test_the_dunning_preview_writes_an_amount_conditions_reason_in_the_invoices_currency(
    aws: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a dinar invoice of 2000.05 KWD (as the ERP writes it) past the large-invoice alert's day (it
    # applies from 10,000 open, in the invoice's currency), and a yen one below it too
    world = World(through_handler=True)
    world.customer(DINAR)
    world.customer(YEN)
    world.invoice(
        "KW-7", customer_id=DINAR, invoice_date=date(2026, 9, 1), due_date=date(2026, 10, 1),
        amount="2000.05", currency="KWD",
    )  # fmt: skip
    world.invoice(
        "JP-7", customer_id=YEN, invoice_date=date(2026, 9, 1), due_date=date(2026, 10, 1), amount="5000",
        currency="JPY",
    )  # fmt: skip
    through_the_cli(monkeypatch)
    # When `arcollect dunning preview` asks what the first send window's tick will do
    capsys.readouterr()
    assert main(["dunning", "preview", "--at", "2026-11-20T08:00:00Z"]) == 0
    lines = capsys.readouterr().out.splitlines()
    # Then the alert's reason writes the amount and the threshold with the currency's decimals, both
    # naming the currency
    alert = [line.strip() for line in lines if "large_invoice_alert" in line and "not_applicable" in line]
    assert sorted(alert) == [
        "JP-7: not_applicable large_invoice_alert - open amount 5000 JPY is below 10000 JPY",
        "KW-7: not_applicable large_invoice_alert - open amount 2000.050 KWD is below 10000.000 KWD",
    ]
