"""Agreeing a payment plan in Debian's Chromium, against `arcollect local up` (issue 20, item 3): a
collector on the customer 360 is told what is missing, then agrees three instalments for two late
invoices; the 360 lists them, the table's invoices carry the plan, the timeline says who agreed what;
axe-core checks the 360 with the plan form's errors.

The generated company gets one more customer, shaped like real master data ("Müller & Söhne, GmbH",
invoices "INV/2026/0042" and "INV/2026/0043"), appended to its files before they are ingested. What the
tests compare the pages with comes from `arcollect show customer`, never from the pages themselves.
Each step leaves a screenshot in .artifacts/screenshots/."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from arcollect_cli.generate import CUSTOMER_COLUMNS, INVOICE_COLUMNS
from arcollect_cli.local.spec import DEMO_COLLECTORS
from tests.e2e.browser.conftest import (
    TICK_AT,
    Shot,
    run_axe,
    save_axe_report,
    serious_violations,
    staff_sign_in,
)
from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e

MUELLER = "Müller & Söhne, GmbH"
FIRST, SECOND = "INV/2026/0042", "INV/2026/0043"
OWNER = DEMO_COLLECTORS[2]
TICK_DAY = datetime.fromisoformat(TICK_AT.replace("Z", "+00:00")).date()


@pytest.fixture(scope="module")
def ingested(local_stack: RunningStack, company: Path) -> dict[str, Any]:
    """The generated company with Müller & Söhne added (two late invoices, 1,800.00 EUR open, owned by a
    seeded collector), ingested as the ERP's files."""
    customer = dict.fromkeys(CUSTOMER_COLUMNS, "")
    customer.update(
        customer_id=MUELLER, name="Müller & Söhne GmbH", email="kreditoren@mueller-soehne.example",
        phone="+49 30 1234567", country="DE", time_zone="Europe/Berlin", language="de", owner=OWNER,
    )  # fmt: skip
    rows = []
    for number, amount, days in ((FIRST, "1200.00", 40), (SECOND, "600.00", 30)):
        invoice = dict.fromkeys(INVOICE_COLUMNS, "")
        invoice.update(
            customer_id=MUELLER, invoice_number=number, currency="EUR",
            invoice_date=(TICK_DAY - timedelta(days=days + 30)).isoformat(),
            due_date=(TICK_DAY - timedelta(days=days)).isoformat(), amount=amount,
            open_amount=amount, document_type="invoice",
        )  # fmt: skip
        rows.append(invoice)
    for kind, kind_rows in (("customers", [customer]), ("invoices", rows)):
        with (company / f"{kind}.csv").open("a", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(kind_rows[0]))
            writer.writerows(kind_rows)
    return {
        kind: local_stack.json("ingest", str(company / f"{kind}.csv"), "--kind", kind)
        for kind in ("customers", "invoices")
    }


def customer_url(staff_url: str) -> str:
    return f"{staff_url}/customers/{quote(MUELLER, safe='')}"


def test_a_collector_agrees_a_payment_plan_on_the_360(
    local_stack: RunningStack, page: Any, shot: Shot, staff_url: str, ingested: dict[str, Any]
) -> None:
    first_due = datetime.now(UTC).date() + timedelta(days=7)  # the console's "today" is the real one
    staff_sign_in(page, staff_url, OWNER)
    page.goto(customer_url(staff_url))
    expect(page.get_by_role("heading", level=1)).to_have_text("Müller & Söhne GmbH")
    expect(page.get_by_role("region", name="Payment plans")).to_contain_text("No payment plans.")

    # When the collector asks for a plan without choosing its invoices, the form says what is missing
    form = page.get_by_role("form", name="Agree a payment plan")
    form.get_by_label("Number of instalments").fill("3")
    form.get_by_label("First instalment due").fill(first_due.isoformat())
    form.get_by_role("button", name="Agree plan").click()
    expect(page.locator("#plan-invoice_numbers-error")).to_contain_text("choose at least one invoice")
    form = page.get_by_role("form", name="Agree a payment plan")
    expect(form.get_by_label("Number of instalments")).to_have_value("3")
    shot("1-plan-error")

    # And with both invoices, three instalments a month apart are agreed
    form.get_by_role("checkbox", name=f"{FIRST}:").check()
    form.get_by_role("checkbox", name=f"{SECOND}:").check()
    form.get_by_label("First instalment due").fill(first_due.isoformat())
    form.get_by_label("Days between instalments").fill("30")
    form.get_by_role("button", name="Agree plan").click()
    expect(page.get_by_role("status")).to_have_text("The payment plan was agreed.")

    # Then the table's invoices carry the plan, paused until the first instalment
    shown = local_stack.json("show", "customer", MUELLER)
    planned = {i["invoice_number"]: i for i in shown["invoices"] if i["invoice_number"] in (FIRST, SECOND)}
    plan_ids = {i["promise_id"] for i in planned.values()}
    assert len(plan_ids) == 1 and next(iter(plan_ids)).startswith("plan-"), planned
    assert {i["promised_until"] for i in planned.values()} == {first_due.isoformat()}, planned
    [plan] = shown["payment_plans"]
    assert (plan["plan_id"], plan["status"], plan["source"]) == (next(iter(plan_ids)), "open", OWNER), plan
    assert [(i["due_date"], i["amount"]) for i in plan["instalments"]] == [
        ((first_due + timedelta(days=30 * n)).isoformat(), "600.00") for n in range(3)
    ]
    # And the 360 lists its three instalments of 600.00 EUR, the last 60 days after the first
    plans = page.get_by_role("region", name="Payment plans")
    expect(plans).to_contain_text("1,800.00 EUR in 3 instalments")
    instalments = plans.get_by_role("table")
    expect(instalments.locator("tbody tr")).to_have_count(3)
    expect(instalments.locator("tbody tr").nth(2)).to_contain_text(
        (first_due + timedelta(days=60)).isoformat()
    )
    expect(instalments).to_contain_text("600.00 EUR")
    # And the timeline says who agreed what, as the table's timeline does
    [agreed] = [a for a in shown["timeline"] if a["kind"] == "plan_agreed"]
    expect(page.get_by_role("region", name="Timeline")).to_contain_text(agreed["summary"])
    shot("2-plan-agreed")


def test_the_plan_form_has_no_serious_or_critical_accessibility_violations(
    request: pytest.FixtureRequest, browser: Any, staff_url: str, ingested: dict[str, Any]
) -> None:
    # axe-core is a script: the staff pages' CSP refuses it, so this context (only) bypasses the CSP.
    ctx = browser.new_context(bypass_csp=True)
    try:
        axe_page = ctx.new_page()
        staff_sign_in(axe_page, staff_url, OWNER)
        axe_page.goto(customer_url(staff_url))
        form = axe_page.get_by_role("form", name="Agree a payment plan")
        form.get_by_role("button", name="Agree plan").click()
        expect(axe_page.locator("#plan-invoice_numbers-error")).to_be_visible()
        results = run_axe(axe_page)
        save_axe_report(request, results)
        assert serious_violations(results) == [], serious_violations(results)
    finally:
        ctx.close()


def test_a_collector_cancels_the_plan_with_a_reason_and_the_form_passes_axe(
    request: pytest.FixtureRequest,
    browser: Any,
    local_stack: RunningStack,
    staff_url: str,
    ingested: dict[str, Any],
) -> None:
    # Given the plan agreed above (axe-core needs the CSP bypassed: this context only)
    ctx = browser.new_context(bypass_csp=True)
    try:
        page = ctx.new_page()
        staff_sign_in(page, staff_url, OWNER)
        page.goto(customer_url(staff_url))
        [plan] = local_stack.json("show", "customer", MUELLER)["payment_plans"]
        # When the collector cancels it without a reason, the form says what is missing
        form = page.get_by_role("form", name="Cancel a payment plan")
        form.get_by_role("button", name="Cancel plan").click()
        expect(page.locator("#plan-cancel-reason-error")).to_contain_text("is required")
        results = run_axe(page)
        save_axe_report(request, results)
        assert serious_violations(results) == [], serious_violations(results)
        # And with one, the plan is cancelled and its invoices are back in the regular reminders
        form = page.get_by_role("form", name="Cancel a payment plan")
        form.get_by_label("Why (on the timeline and to the ERP)").fill("Kunde zahlt per Sammelüberweisung")
        form.get_by_role("button", name="Cancel plan").click()
        expect(page.get_by_role("status")).to_contain_text("The payment plan was cancelled")
        shown = local_stack.json("show", "customer", MUELLER)
        assert [p["status"] for p in shown["payment_plans"]] == ["cancelled"], shown["payment_plans"]
        planned = [i for i in shown["invoices"] if i["invoice_number"] in (FIRST, SECOND)]
        assert [i["promise_id"] for i in planned] == [None, None], planned
        [cancelled] = [a for a in shown["timeline"] if a["kind"] == "plan_cancelled"]
        assert "Kunde zahlt per Sammelüberweisung" in cancelled["summary"] and plan["plan_id"]
        expect(page.get_by_role("region", name="Timeline")).to_contain_text(cancelled["summary"])
        expect(page.get_by_role("form", name="Cancel a payment plan")).to_have_count(0)
    finally:
        ctx.close()
