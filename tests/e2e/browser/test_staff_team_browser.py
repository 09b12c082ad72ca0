"""The team's day in Debian's Chromium, against `arcollect local up` (issue 20, items 1 and 2): a manager
moves a collector's tasks in bulk and gives a customer to a cover for a holiday; a collector makes a
follow-up of their own and sends a one-off statement, which lands once in the local outbox however
often its form is sent; axe-core checks the pages with these forms (and their errors).

The generated company gets one more customer, shaped like real master data ("Müller & Söhne, GmbH",
invoice "INV/2026/0042"), appended to its files before they are ingested. What the tests compare the
pages with comes from `arcollect` commands (`show customer`, `outbox`), never from the pages themselves.
Each step leaves a screenshot in .artifacts/screenshots/."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from arcollect.policy import shipped_policy
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
from tests.e2e.browser.test_staff_browser import open_tasks, table_rows, worklist_table
from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e

MANAGER = shipped_policy().settings.manager
MUELLER = "Müller & Söhne, GmbH"
INVOICE = "INV/2026/0042"
OWNER = DEMO_COLLECTORS[2]  # maria@yourco.example
COVER = DEMO_COLLECTORS[4]  # sam@yourco.example
TICK_DAY = datetime.fromisoformat(TICK_AT.replace("Z", "+00:00")).date()


@pytest.fixture(scope="module")
def ingested(local_stack: RunningStack, company: Path) -> dict[str, Any]:
    """The generated company with Müller & Söhne added (a late invoice, owned by a seeded collector),
    ingested as the ERP's files."""
    customer = dict.fromkeys(CUSTOMER_COLUMNS, "")
    customer.update(
        customer_id=MUELLER, name="Müller & Söhne GmbH", email="kreditoren@mueller-soehne.example",
        phone="+49 30 1234567", country="DE", time_zone="Europe/Berlin", language="de", owner=OWNER,
    )  # fmt: skip
    invoice = dict.fromkeys(INVOICE_COLUMNS, "")
    invoice.update(
        customer_id=MUELLER, invoice_number=INVOICE, invoice_date=(TICK_DAY - timedelta(days=60)).isoformat(),
        due_date=(TICK_DAY - timedelta(days=30)).isoformat(), amount="1250.00", currency="EUR",
        open_amount="1250.00", document_type="invoice",
    )  # fmt: skip
    for kind, row in (("customers", customer), ("invoices", invoice)):
        with (company / f"{kind}.csv").open("a", newline="", encoding="utf-8") as handle:
            csv.DictWriter(handle, fieldnames=list(row)).writerow(row)
    return {
        kind: local_stack.json("ingest", str(company / f"{kind}.csv"), "--kind", kind)
        for kind in ("customers", "invoices")
    }


def customer_url(staff_url: str, customer_id: str = MUELLER) -> str:
    return f"{staff_url}/customers/{quote(customer_id, safe='')}"


def shown(local_stack: RunningStack, customer_id: str = MUELLER) -> dict[str, Any]:
    found: dict[str, Any] = local_stack.json("show", "customer", customer_id)
    return found


def outbox_to(local_stack: RunningStack, customer_id: str) -> list[dict[str, Any]]:
    return [e for e in local_stack.json("outbox") or [] if e["customer_id"] == customer_id]


# --- 1. reassignment ------------------------------------------------------------------------------------


def test_a_manager_moves_tasks_in_bulk_and_gives_a_customer_to_a_cover_for_a_holiday(
    local_stack: RunningStack, page: Any, shot: Shot, staff_url: str, company: Path, emails: list[Any]
) -> None:
    # Given the open tasks after the dunning tick (`emails` ran it), a collector with at least two
    by_collector: dict[str, list[dict[str, Any]]] = {}
    for task in open_tasks(local_stack, company):
        if task["status"] == "open" and task["assignee"] in DEMO_COLLECTORS:
            by_collector.setdefault(task["assignee"], []).append(task)
    giver = max((c for c in by_collector if c != COVER), key=lambda c: len(by_collector[c]))
    assert len(by_collector[giver]) >= 2, by_collector
    taker = next(c for c in DEMO_COLLECTORS if c not in (giver, COVER))

    # When the manager opens that collector's worklist, ticks two tasks and gives them to another
    staff_sign_in(page, staff_url, MANAGER)
    page.goto(f"{staff_url}/worklist?assignee={quote(giver, safe='')}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Worklist of {giver}")
    rows = table_rows(worklist_table(page))
    boxes = page.locator("input[name=task]")
    expect(boxes).to_have_count(len(rows))
    moved = {rows[0]["task"], rows[1]["task"]}
    boxes.nth(0).check()
    boxes.nth(1).check()
    reassign = page.get_by_role("form", name="Reassign the selected tasks")
    reassign.get_by_label("Give them to (user name)").fill(taker)
    shot("1-tasks-selected")
    reassign.get_by_role("button", name="Reassign").click()

    # Then the page says so, and the table has the two tasks on the other collector
    expect(page.get_by_role("status")).to_have_text("The tasks were reassigned.")
    assert len(table_rows(worklist_table(page))) == len(rows) - 2
    now_open = {t["task_id"]: t["assignee"] for t in open_tasks(local_stack, company)}
    assert {now_open[task_id] for task_id in moved} == {taker}, now_open
    shot("2-tasks-moved")

    # When the manager gives Müller & Söhne to a cover until a day a week ahead (a holiday)
    until = (datetime.now(UTC).date() + timedelta(days=7)).isoformat()
    page.goto(customer_url(staff_url))
    expect(page.get_by_role("heading", level=1)).to_have_text("Müller & Söhne GmbH")
    owner_form = page.get_by_role("form", name="Reassign the customer")
    owner_form.get_by_label("Give the customer to (user name)").fill(COVER)
    owner_form.get_by_label("Cover until (optional)").fill(until)
    owner_form.get_by_role("button", name="Reassign").click()

    # Then the 360 says who works it until when, the table agrees, and the timeline has it
    expect(page.get_by_role("status")).to_have_text("The customer was reassigned.")
    expect(page.locator("p.lead")).to_contain_text(f"owned by {COVER} (cover until {until} for {OWNER})")
    customer = shown(local_stack)["customer"]
    assert (customer["cover"], customer["cover_until"]) == (COVER, until), customer
    expect(page.get_by_role("region", name="Timeline")).to_contain_text(
        f"gave the customer to {COVER} until {until}"
    )
    shot("3-customer-covered")


# --- 2. a collector's own work ------------------------------------------------------------------------


def test_a_collector_makes_a_follow_up_and_a_statement_goes_once_to_the_outbox(
    local_stack: RunningStack, page: Any, shot: Shot, staff_url: str, ingested: dict[str, Any]
) -> None:
    today = datetime.now(UTC).date()  # the console's "today" (Berlin's day at the tests' hours)
    due = today + timedelta(days=2)
    staff_sign_in(page, staff_url, OWNER)
    page.goto(customer_url(staff_url))
    task_form = page.get_by_role("form", name="Make a task or follow-up")

    # When the collector asks for a follow-up in the past, the form says what and where
    task_form.get_by_label("What to do").fill("Call back: Frau Weber checks the remittance")
    task_form.get_by_label("Due on").fill((today - timedelta(days=1)).isoformat())
    task_form.get_by_role("button", name="Make task").click()
    due_field = page.get_by_role("form", name="Make a task or follow-up").get_by_label("Due on")
    expect(due_field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#task-due_on-error")).to_contain_text("is in the past")
    shot("1-task-error")

    # And with a day after tomorrow, the task is made, for themselves, on the worklist by that day
    task_form = page.get_by_role("form", name="Make a task or follow-up")
    expect(task_form.get_by_label("What to do")).to_have_value("Call back: Frau Weber checks the remittance")
    task_form.get_by_label("Due on").fill(due.isoformat())
    task_form.get_by_role("checkbox", name=f"{INVOICE}:").check()
    task_form.get_by_role("button", name="Make task").click()
    expect(page.get_by_role("status")).to_have_text(
        "The task was made: it is on the worklist by its due day."
    )
    [made] = [t for t in shown(local_stack)["tasks"] if t["title"].startswith("Call back: Frau Weber")]
    assert (made["assignee"], made["due_on"], made["status"]) == (OWNER, due.isoformat(), "open"), made
    expect(page.get_by_role("region", name="Timeline")).to_contain_text(f"due {due.isoformat()}: Call back")
    page.get_by_role("navigation").get_by_role("link", name="Worklist").click()
    [row] = [r for r in table_rows(worklist_table(page)) if r["task"] == made["task_id"]]
    assert row["Due"].startswith(due.isoformat()), row
    shot("2-task-on-worklist")

    # When the collector sends the statement, and the same form is sent again (a double click)
    before = outbox_to(local_stack, MUELLER)
    page.goto(customer_url(staff_url))
    email_form = page.get_by_role("form", name="Send an email")
    expect(email_form.get_by_role("radio", name="Statement of the open items")).to_be_checked()
    fields = {
        name: email_form.locator(f"input[name={name}]").input_value()
        for name in ("csrf_token", "idempotency_key")
    }
    email_form.get_by_role("button", name="Send email").click()
    expect(page.get_by_role("status")).to_have_text("The email was sent.")
    # (the browser posts the very same form once more: its fields, its key)
    page.evaluate(
        """([action, fields]) => {
            const form = document.createElement("form");
            form.method = "post";
            form.action = action;
            for (const [name, value] of Object.entries(fields)) {
                const input = document.createElement("input");
                input.type = "hidden";
                input.name = name;
                input.value = value;
                form.append(input);
            }
            document.body.append(form);
            form.submit();
        }""",
        [customer_url(staff_url) + "/emails", {**fields, "template": "statement"}],
    )
    expect(page.get_by_role("status")).to_have_text(
        "This form was sent already: the email went once, nothing was sent again."
    )

    # Then one statement is in the local outbox, listing the invoice, and the timeline has it
    sent = [e for e in outbox_to(local_stack, MUELLER) if e not in before]
    assert [(e["step"], e["to"]) for e in sent] == [("statement", ["kreditoren@mueller-soehne.example"])]
    assert INVOICE in sent[0]["text"] and "/l/" in sent[0]["text"]
    page.reload()
    expect(page.get_by_role("region", name="Timeline")).to_contain_text(
        "sent a statement of the open items to kreditoren@mueller-soehne.example"
    )
    shot("3-statement-sent")


# --- 3. accessibility of the new forms -------------------------------------------------------------------


@pytest.mark.parametrize("which", ["task-error", "email-error", "manager-customer", "manager-worklist"])
def test_the_team_forms_have_no_serious_or_critical_accessibility_violations(
    request: pytest.FixtureRequest,
    browser: Any,
    shot: Shot,
    staff_url: str,
    ingested: dict[str, Any],
    emails: list[Any],
    which: str,
) -> None:
    # axe-core is a script: the staff pages' CSP refuses it, so this context (only) bypasses the CSP.
    ctx = browser.new_context(bypass_csp=True)
    try:
        axe_page = ctx.new_page()
        if which == "task-error":  # the 360 with a refused task form (its errors shown)
            staff_sign_in(axe_page, staff_url, OWNER)
            axe_page.goto(customer_url(staff_url))
            form = axe_page.get_by_role("form", name="Make a task or follow-up")
            form.get_by_role("button", name="Make task").click()
            expect(axe_page.locator("#task-title-error")).to_be_visible()
        elif which == "email-error":  # a payment confirmation without its payment
            staff_sign_in(axe_page, staff_url, OWNER)
            axe_page.goto(customer_url(staff_url))
            form = axe_page.get_by_role("form", name="Send an email")
            form.get_by_role("radio", name="Payment confirmation").check()
            form.get_by_role("button", name="Send email").click()
            expect(axe_page.locator("#email-payment_id-error")).to_be_visible()
        elif which == "manager-customer":  # a manager's 360: the form that reassigns the customer
            staff_sign_in(axe_page, staff_url, MANAGER)
            axe_page.goto(customer_url(staff_url))
            expect(axe_page.get_by_role("form", name="Reassign the customer")).to_be_visible()
        else:  # a manager on a collector's worklist: the bulk reassignment form
            staff_sign_in(axe_page, staff_url, MANAGER)
            axe_page.goto(f"{staff_url}/worklist?assignee={quote(OWNER, safe='')}")
        expect(axe_page.get_by_role("heading", level=1)).to_be_visible()
        results = run_axe(axe_page)
        report = save_axe_report(request, results)
        shot(which, axe_page)
    finally:
        ctx.close()
    bad = serious_violations(results)
    assert not bad, f"axe-core found serious or critical violations (full list: {report}): " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}" for v in bad
    )
