"""The staff console in Debian's Chromium, against `arcollect local up` (issue 7: a collector's day).

After the generated company is ingested and one dunning tick has created the policy's call tasks (on the
customers' owners, the seeded collectors), a collector signs in, works the top task of the worklist by
recording a promise to pay on the customer's 360, and the next dunning tick leaves the promised invoices
alone. Another task gets a note and a "no answer"; axe-core checks the pages; a manager sees the team's
workload and downloads a report; a wrong password reveals nothing, a wrong authenticator code signs no
one in, and signing out ends the session.
Each step leaves a screenshot in .artifacts/screenshots/.

What the tests compare the pages with comes from `arcollect` commands (the table as `show customer`
prints it, `dunning preview`, `outbox`), never from the pages themselves. Checks go through roles and
labels, as in test_portal_browser.py."""

from __future__ import annotations

import csv
import json
import re
import urllib.request
import warnings
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from arcollect.calendar import Calendar, SendWindow
from arcollect.policy import shipped_policy
from arcollect.workspace.outcomes import add_working_days
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

SETTINGS = shipped_policy().settings
MANAGER = SETTINGS.manager
PROMISE_DAYS = 7  # the collector's promise: a week from today


# --- what the table holds (through `arcollect`) -----------------------------------------------------


def customer_ids(company: Path) -> list[str]:
    with (company / "customers.csv").open(newline="") as handle:
        return [row["customer_id"] for row in csv.DictReader(handle)]


def open_tasks(local_stack: RunningStack, company: Path) -> list[dict[str, Any]]:
    """Every open task of the generated company, as `arcollect show customer` prints them."""
    tasks: list[dict[str, Any]] = []
    for customer_id in customer_ids(company):
        shown = local_stack.json("show", "customer", customer_id)
        tasks.extend(t for t in shown["tasks"] if t["status"] == "open")
    return tasks


def task_invoices(task: dict[str, Any]) -> list[str]:
    return [n for n in (task["detail"].get("invoices") or "").split(",") if n]


@pytest.fixture(scope="module")
def first_tasks(
    local_stack: RunningStack, company: Path, emails: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The open tasks right after the first dunning tick (`emails` runs it)."""
    tasks = open_tasks(local_stack, company)
    if not any(t["assignee"] in DEMO_COLLECTORS for t in tasks):
        pytest.fail(f"the dunning tick of {TICK_AT} gave no seeded collector a task: {tasks}")
    return tasks


@pytest.fixture(scope="module")
def day_collector(first_tasks: list[dict[str, Any]]) -> str:
    """The seeded collector with the most open tasks: the one whose day test_a_collectors_day is."""
    counts = Counter(t["assignee"] for t in first_tasks if t["assignee"] in DEMO_COLLECTORS)
    return counts.most_common(1)[0][0]


# --- reading the pages -----------------------------------------------------------------------------


def table_rows(table: Any) -> list[dict[str, str]]:
    """The body rows of `table`, each as {column header: the cell's text}, and under "task" the id of
    the task the row's link opens (a worklist row, an open task of the 360), else ""."""
    rows: list[dict[str, str]] = table.evaluate(
        """t => {
            const heads = [...t.tHead.rows[0].cells].map(c => c.innerText.trim());
            return [...t.tBodies[0].rows].map(r => {
                const row = Object.fromEntries([...r.cells].map((c, i) => [heads[i], c.innerText.trim()]));
                const link = r.querySelector("a[href*='task=']");
                row.task = link ? new URL(link.href).searchParams.get("task") : "";
                return row;
            });
        }"""
    )
    return rows


def worklist_table(page: Any) -> Any:
    return page.get_by_role("table", name=re.compile("^Open tasks of"))


def section_table(page: Any, heading: str) -> Any:
    """The table of the 360's section titled `heading`."""
    return page.get_by_role("region", name=heading, exact=True).get_by_role("table")


def task_link(page: Any, task_id: str) -> Any:
    """The links that open `task_id` (the worklist's and the 360's tasks table's)."""
    return page.locator(f"a[href*='?task={task_id}']")


def points(reasons: str) -> list[int]:
    """The points of each reason shown beside a task: "... past due (+27)"."""
    return [int(p) for p in re.findall(r"\(\+(\d+)\)", reasons)]


def today_in(zone: str | None) -> date:
    return datetime.now(ZoneInfo(zone or "UTC")).date()


def outbox_ids(local_stack: RunningStack) -> set[str]:
    return {e["message_id"] for e in local_stack.json("outbox") or []}


def preview_of(local_stack: RunningStack, at: str, customer_id: str) -> dict[str, Any]:
    preview = local_stack.json("dunning", "preview", "--at", at)
    return next((c for c in preview["customers"] if c["customer_id"] == customer_id), {})


def mornings(customer: dict[str, Any], after: datetime, before: date) -> list[str]:
    """10:00 in the customer's time zone (inside the default send window) on each of its working days
    after `after` and before `before`, as `arcollect tick --at` takes them."""
    calendar, window, zone = Calendar(), SendWindow(), ZoneInfo(customer["time_zone"] or "UTC")
    day, found = after.date() + timedelta(days=1), []
    while day < before:
        if calendar.is_send_day(day, customer["country"], window):
            at = datetime.combine(day, time(10), tzinfo=zone).astimezone(UTC)
            found.append(at.strftime("%Y-%m-%dT%H:%M:%SZ"))
        day += timedelta(days=1)
    return found


def dunned_then(local_stack: RunningStack, at: str, customer_id: str, numbers: set[str]) -> set[str]:
    """Which of `numbers` (and which other invoices emailed alongside) a tick at `at` would email or
    task, as `arcollect dunning preview` says."""
    entry = preview_of(local_stack, at, customer_id)
    named = set((entry.get("email") or {}).get("invoice_numbers") or [])
    for task in entry.get("tasks") or []:
        named |= set(task["invoice_numbers"]) & numbers
    return named


# --- 1. a collector's day ----------------------------------------------------------------------------


def test_a_collectors_day_ends_with_a_promise_that_pauses_dunning(
    local_stack: RunningStack,
    page: Any,
    shot: Shot,
    staff_url: str,
    first_tasks: list[dict[str, Any]],
    day_collector: str,
) -> None:
    mine = [t for t in first_tasks if t["assignee"] == day_collector]

    # Given a collector with tasks from the dunning tick, signing in
    page.goto(f"{staff_url}/sign-in")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to the staff console")
    shot("1-sign-in")
    staff_sign_in(page, staff_url, day_collector)

    # Then the worklist has each of their open tasks, due ones first by score, each score the sum of its
    # reasons
    expect(page).to_have_url(re.compile(r"/staff/worklist$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your worklist")
    expect(page.get_by_role("navigation")).to_contain_text(f"Signed in as {day_collector}")
    rows = table_rows(worklist_table(page))
    assert len(rows) == len(mine), f"{day_collector}'s worklist: {rows}, the table: {mine}"
    today = today_in(SETTINGS.time_zone)  # the worklist's "today"
    due = [(date.fromisoformat(r["Due"].split()[0]), int(r["Score"])) for r in rows]
    now_due = [score for day, score in due if day <= today]
    later = [day for day, _ in due if day > today]
    assert due[: len(now_due)] == [(d, s) for d, s in due if d <= today], "due tasks come first"
    assert now_due == sorted(now_due, reverse=True), f"due tasks by score, highest first: {due}"
    assert later == sorted(later), f"later tasks by due day: {due}"
    for row in rows:
        assert row["Why"] and sum(points(row["Why"])) == int(row["Score"]), row
    shot("2-worklist")

    # When they open the top task's customer (the 360, with the task chosen for an outcome)
    task = next(t for t in mine if t["task_id"] == rows[0]["task"])
    shown = local_stack.json("show", "customer", task["customer_id"])
    customer = shown["customer"]
    promised_until = today_in(customer["time_zone"]) + timedelta(days=PROMISE_DAYS)

    # (Before the promise: a later working morning when dunning would have emailed or tasked this
    # customer; the promise covers the task's invoices and whatever that reminder would have named.)
    numbers = set(task_invoices(task))
    assert numbers, f"the top task names no invoice: {task}"
    candidates = mornings(customer, datetime.fromisoformat(TICK_AT.replace("Z", "+00:00")), promised_until)
    # Only mornings while the files ingested today are fresh (the shipped policy holds reminders when a
    # feed is over 2 business days old): later, the tick would send nothing for the freshness hold, not
    # for the promise, and alert the manager, whatever the day of the week the suite runs on
    fresh_until = add_working_days(datetime.now(UTC).date(), 1)
    candidates = [at for at in candidates if date.fromisoformat(at[:10]) <= fresh_until]
    assert candidates, f"no working morning between {TICK_AT} and {min(promised_until, fresh_until)}"
    later_tick, would_dun = candidates[-1], set()
    for at in candidates:
        would_dun = dunned_then(local_stack, at, customer["customer_id"], numbers)
        if would_dun:
            later_tick = at
            break
    if not would_dun:  # still checked below: the tick passes over the promised invoices as paused
        warnings.warn(
            f"no tick before {promised_until} would have dunned {customer['customer_id']}: the check that "
            f"{candidates[-1]} sends no reminder of the promise proves less today",
            stacklevel=1,
        )
    promised = sorted(numbers | would_dun)
    open_amounts = {i["invoice_number"]: Decimal(i["open_amount"]) for i in shown["invoices"]}
    currencies = {i["currency"] for i in shown["invoices"] if i["invoice_number"] in promised}
    assert len(currencies) == 1, f"a promise is in one currency: {currencies}"
    amount = sum((open_amounts[n] for n in promised), Decimal(0))

    task_link(page, task["task_id"]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(customer["name"])
    outcome = page.get_by_role("region", name="Record an outcome")
    expect(outcome).to_contain_text(f"Task: {task['title']}")
    shot("3-customer")

    # And record "promise to pay taken": a date a week ahead, the amount, the invoices ticked
    outcome.get_by_label("Outcome").select_option(label="Promise to pay taken")
    outcome.get_by_label("Note").fill(f"Promised to pay {', '.join(promised)} by {promised_until}.")
    for number in promised:
        outcome.get_by_role("checkbox", name=re.compile("^" + re.escape(number) + ":")).check()
    outcome.get_by_label("Pays by").fill(promised_until.isoformat())
    outcome.get_by_label("Amount").fill(f"{amount:.2f}")
    shot("4-promise-filled")
    outcome.get_by_role("button", name="Record outcome").click()

    # Then the 360 confirms it, the task is done, the promise is listed and dunning is paused for each
    # invoice until the promised date plus the policy's grace
    expect(page.get_by_role("status")).to_have_text("The outcome was recorded.")
    expect(page.get_by_role("heading", level=1)).to_have_text(customer["name"])
    expect(task_link(page, task["task_id"])).to_have_count(0)
    tasks_now = table_rows(section_table(page, "Tasks"))
    assert [t for t in tasks_now if t["Task"] == task["title"] and t["Status"] == "done"], tasks_now
    promises = table_rows(section_table(page, "Promises to pay"))
    listed = [p for p in promises if sorted(p["Invoices"].split(", ")) == promised]
    assert listed, f"the promise of {promised} is not listed: {promises}"
    assert listed[0]["Pay by"] == promised_until.isoformat() and f"via {day_collector}" in listed[0]["Taken"]
    pause_end = promised_until + timedelta(days=SETTINGS.promise_grace_days)
    open_items = {r["Invoice"]: r for r in table_rows(section_table(page, "Open items"))}
    for number in promised:
        assert open_items[number]["Dunning"] == (
            f"paused until {pause_end.isoformat()}: promise to pay by {promised_until.isoformat()}"
        ), open_items[number]
    expect(page.get_by_role("region", name="Timeline")).to_contain_text(f"by {promised_until}")
    shot("5-promised")

    # And the task has left the worklist
    page.get_by_role("navigation").get_by_role("link", name="Worklist").click()
    expect(task_link(page, task["task_id"])).to_have_count(0)
    assert len(table_rows(worklist_table(page))) == len(rows) - 1
    shot("6-worklist-after")

    # When the dunning tick runs on a later working morning before the promised date
    # (the preview agrees: nothing for the promised invoices; any it looks at are suppressed by the promise)
    assert not dunned_then(local_stack, later_tick, customer["customer_id"], set(promised)) & set(promised)
    for decision in preview_of(local_stack, later_tick, customer["customer_id"]).get("decisions", []):
        if decision["invoice"] in promised:
            assert decision["outcome"] == "suppressed", decision
            assert f"promise to pay by {promised_until.isoformat()}" in decision["why"], decision
    sent_before = outbox_ids(local_stack)
    local_stack.json("tick", "dunning", "--at", later_tick)

    # Then no reminder names a promised invoice (and none of them got a task either), though before the
    # promise that tick would have emailed or tasked `would_dun`
    new = [e for e in local_stack.json("outbox") or [] if e["message_id"] not in sent_before]
    for email in new:
        assert not set(email["invoice_numbers"]) & set(promised), (
            f"{later_tick} reminded of a promise: {email}"
        )
    after = local_stack.json("show", "customer", customer["customer_id"])
    created_later = [t for t in after["tasks"] if t["created_at"].startswith(later_tick[:10])]
    assert not [t for t in created_later if set(task_invoices(t)) & set(promised)], created_later


# --- 2. a note and a call nobody answered ------------------------------------------------------------


def test_a_note_and_no_answer_keep_the_task_on_the_worklist_due_the_next_working_day(
    local_stack: RunningStack,
    page: Any,
    shot: Shot,
    staff_url: str,
    first_tasks: list[dict[str, Any]],
    day_collector: str,
) -> None:
    # Given another collector's top task (or, when one collector has them all, their last one)
    others = Counter(t["assignee"] for t in first_tasks if t["assignee"] in DEMO_COLLECTORS)
    others.pop(day_collector, None)
    collector = others.most_common(1)[0][0] if others else day_collector
    staff_sign_in(page, staff_url, collector)
    expect(page).to_have_url(re.compile(r"/staff/worklist$"))
    before = table_rows(worklist_table(page))[0 if others else -1]
    task_id = before["task"]
    assert before["Attempts"] == "0", before
    task_link(page, task_id).click()
    customer_id = urlparse(page.url).path.rsplit("/", 1)[-1]
    customer = local_stack.json("show", "customer", customer_id)["customer"]

    # When the collector adds a note
    note = page.get_by_role("form", name="Add a note")
    note.get_by_label("Note").fill("Asked the AP clerk to check the payment run; calling back.")
    note.get_by_role("button", name="Add note").click()
    expect(page.get_by_role("status")).to_have_text("The note was added to the timeline.")
    expect(page.get_by_role("region", name="Timeline")).to_contain_text("check the payment run")
    shot("1-note")

    # And records that nobody answered the call
    task_link(page, task_id).first.click()
    outcome = page.get_by_role("region", name="Record an outcome")
    expect(outcome).to_contain_text("0 attempts so far")
    outcome.get_by_label("Outcome").select_option(label="No answer")
    outcome.get_by_label("Note").fill("Rang twice, no answer.")
    shot("2-no-answer-filled")
    outcome.get_by_role("button", name="Record outcome").click()
    expect(page.get_by_role("status")).to_have_text("The outcome was recorded.")

    # Then the task stays open, one attempt made, due again on the next working day
    again = add_working_days(today_in(customer["time_zone"]), 1)
    expect(task_link(page, task_id)).to_have_count(1)
    row = next(r for r in table_rows(section_table(page, "Tasks")) if r["task"] == task_id)
    assert (row["Status"], row["Attempts"], row["Due"]) == ("open", "1", again.isoformat()), row
    expect(page.get_by_role("region", name="Timeline")).to_contain_text(f"try again on {again.isoformat()}")
    shot("3-no-answer")

    # And on the worklist, with its attempt and the later due day
    page.get_by_role("navigation").get_by_role("link", name="Worklist").click()
    expect(task_link(page, task_id)).to_have_count(1)
    row = next(r for r in table_rows(worklist_table(page)) if r["task"] == task_id)
    assert row["Attempts"] == "1" and row["Due"].startswith(again.isoformat()), row
    # (never earlier than it was: a task already due tomorrow stays due tomorrow)
    assert date.fromisoformat(row["Due"].split()[0]) >= date.fromisoformat(before["Due"].split()[0])
    shot("4-worklist")


# --- 3. accessibility ----------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["sign-in", "code", "worklist", "customer", "team", "status"])
def test_the_staff_pages_have_no_serious_or_critical_accessibility_violations(
    request: pytest.FixtureRequest,
    browser: Any,
    shot: Shot,
    staff_url: str,
    first_tasks: list[dict[str, Any]],
    day_collector: str,
    which: str,
) -> None:
    # axe-core is a script: the staff pages' CSP refuses it, so this context (only) bypasses the CSP.
    ctx = browser.new_context(bypass_csp=True)
    try:
        axe_page = ctx.new_page()
        if which == "sign-in":
            axe_page.goto(f"{staff_url}/sign-in")
        elif which == "code":  # the authenticator step, with a wrong code's error on it
            code_page(axe_page, staff_url, day_collector)
            axe_page.get_by_label("Code from your authenticator app").fill(wrong_code())
            axe_page.get_by_role("button", name="Sign in").click()
            expect(axe_page.get_by_role("alert")).to_be_visible()
        else:
            staff_sign_in(axe_page, staff_url, MANAGER if which in ("team", "status") else day_collector)
            if which == "customer":  # a 360 with a task chosen: the outcome form is on the page
                task = next(t for t in first_tasks if t["assignee"] == day_collector)
                axe_page.goto(f"{staff_url}/customers/{task['customer_id']}?task={task['task_id']}")
            elif which in ("team", "status"):
                axe_page.goto(f"{staff_url}/{which}")
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


# --- 4. the manager --------------------------------------------------------------------------------------


def test_a_manager_sees_the_teams_workload_and_downloads_a_report(
    local_stack: RunningStack, page: Any, shot: Shot, staff_url: str, company: Path, day_collector: str
) -> None:
    # Given the KPI report of this morning
    written = local_stack.json("tick", "reports", "--at", TICK_AT[:10] + "T05:00:00Z")["written"]
    report_key = next(key for key in written if key.startswith("kpi/"))

    # When the manager signs in, the team page has each collector's open tasks as the table has them
    staff_sign_in(page, staff_url, MANAGER)
    expect(page.get_by_role("navigation")).to_contain_text("(manager)")
    page.get_by_role("navigation").get_by_role("link", name="Team").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Team")
    counts = Counter(t["assignee"] for t in open_tasks(local_stack, company) if t["assignee"])
    team = {r["Collector"]: r for r in table_rows(page.get_by_role("table"))}
    assert {name: int(r["Open tasks"]) for name, r in team.items()} == dict(counts), team
    assert day_collector in team and int(team[day_collector]["Top score"]) > 0
    shot("1-team")

    # And the reports page lists the report, its link a working download from the reports bucket
    page.get_by_role("navigation").get_by_role("link", name="Reports").click()
    link = page.get_by_role("link", name=report_key, exact=True)
    expect(link).to_have_count(1)
    shot("2-reports")
    href = link.get_attribute("href")
    assert href and href.startswith("http") and "Signature" in href, href
    with urllib.request.urlopen(href, timeout=30) as response:  # noqa: S310 (the emulator's presigned URL)
        assert response.status == 200
        kpis = json.loads(response.read())
    assert kpis["as_of"] == TICK_AT[:10]

    # And a collector is refused both pages
    page.get_by_role("button", name="Sign out").click()
    staff_sign_in(page, staff_url, day_collector)
    expect(page.get_by_role("navigation").get_by_role("link", name="Team")).to_have_count(0)
    for path in ("team", "reports"):
        response = page.goto(f"{staff_url}/{path}")
        assert response is not None and response.status == 403, path
        expect(page.get_by_role("heading", level=1)).to_have_text("Managers only")
        expect(page.get_by_role("table")).to_have_count(0)
    shot("3-collector-refused")


def test_a_manager_sees_the_same_status_as_arcollect_status(
    local_stack: RunningStack, page: Any, shot: Shot, staff_url: str
) -> None:
    # Given what `arcollect status --json` says of the stack
    status = local_stack.json("status")
    # When the manager opens the status page
    staff_sign_in(page, staff_url, MANAGER)
    page.get_by_role("navigation").get_by_role("link", name="Status").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Status")
    shot("status")
    # Then it shows the same feeds, hold, dead-letter depths and last report
    feeds = {r["Feed"]: r for r in table_rows(page.locator("table.feeds"))}
    for feed in status["feeds"]:
        row = feeds[feed["kind"]]
        assert row["Newest file"] == (feed["newest_key"] or "no file yet"), row
        if feed["newest_key"]:
            assert row["Age (business days)"] == str(feed["age_business_days"]), row
    holding = page.locator("#dunning-state").get_attribute("data-holding")
    assert holding == ("true" if status["dunning"]["holding"] else "false")
    depths = {r["Queue"]: r["Messages"] for r in table_rows(page.locator("table.dead-letters"))}
    assert depths == {q["name"]: str(q["messages"]) for q in status["dead_letter_queues"]}
    if status["last_report"]:
        expect(page.locator("#last-report")).to_contain_text(status["last_report"]["folder"])


# --- 5. signing in and out -------------------------------------------------------------------------------


def code_page(page: Any, staff_url: str, username: str) -> None:
    """The demo password typed: the console asks for the authenticator's code."""
    from arcollect_cli.local.spec import DEMO_STAFF_PASSWORD

    page.goto(f"{staff_url}/sign-in")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(DEMO_STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_label("Code from your authenticator app")).to_be_visible()


def wrong_code() -> str:
    """A code the demo key does not give now (nor 30 s either side)."""
    import time as clock

    from arcollect_cli.local.cognito import totp
    from arcollect_cli.local.spec import DEMO_STAFF_TOTP_SECRET

    near = {totp(DEMO_STAFF_TOTP_SECRET, clock.time() + step) for step in (-60, -30, 0, 30, 60)}
    return next(
        c for c in ("000000", "111111", "222222", "333333", "444444", "555555", "666666") if c not in near
    )


def test_a_wrong_password_reveals_nothing_and_signing_out_ends_the_session(
    context: Any, page: Any, shot: Shot, staff_url: str, day_collector: str
) -> None:
    def refused(username: str) -> tuple[int, str]:
        with page.expect_response(lambda r: r.request.method == "POST" and "/staff/sign-in" in r.url) as info:
            staff_sign_in(page, staff_url, username, "Not-the-password-1")
        expect(page.get_by_role("alert")).to_be_visible()
        return info.value.status, page.get_by_role("main").inner_text()

    # A wrong password for a real user and any password for nobody: the same answer, word for word
    status, text = refused(day_collector)
    shot("1-wrong-password")
    assert status == 400 and "not right" in text.lower(), text
    assert refused("nobody@yourco.example") == (status, text.replace(day_collector, "nobody@yourco.example"))
    expect(page.get_by_label("Password")).to_have_value("")
    assert not [c for c in context.cookies() if c["name"] == "arc_staff"]

    # The right password asks for the authenticator's code (MFA is required); a wrong code is refused
    # on the form and signs no one in (the local pool checks codes as Cognito does)
    code_page(page, staff_url, day_collector)
    expect(page.get_by_role("heading", name="Enter your authenticator code")).to_be_visible()
    page.get_by_label("Code from your authenticator app").fill(wrong_code())
    with page.expect_response(lambda r: r.request.method == "POST" and "/staff/mfa" in r.url) as info:
        page.get_by_role("button", name="Sign in").click()
    assert info.value.status == 400
    expect(page.get_by_role("alert")).to_contain_text("not right")
    shot("2-wrong-code")
    assert not [c for c in context.cookies() if c["name"] == "arc_staff"]
    challenge = next(c for c in context.cookies() if c["name"] == "arc_staff_challenge")
    assert challenge["httpOnly"] and challenge["secure"] and challenge["sameSite"] == "Strict"
    assert "Session" not in page.url and "session" not in page.url

    # Signed in (password and the code of the demo team's authenticator), then out
    staff_sign_in(page, staff_url, day_collector)
    expect(page).to_have_url(re.compile(r"/staff/worklist$"))
    session = next(c for c in context.cookies() if c["name"] == "arc_staff")
    assert session["httpOnly"] and session["secure"] and session["sameSite"] == "Lax"
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/staff/sign-in\?reason=signed-out$"))
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    shot("3-signed-out")

    # Back and a reload of the worklist land on the sign-in page (the staff pages are never cached)
    page.go_back()
    expect(page).to_have_url(re.compile(r"/staff/sign-in"))
    page.goto(f"{staff_url}/worklist")
    expect(page).to_have_url(re.compile(r"/staff/sign-in\?next=%2Fstaff%2Fworklist$"))
    expect(page.get_by_role("table")).to_have_count(0)

    # And the old session cookie, put back, opens nothing: the session ended on the server
    context.add_cookies([session])
    page.goto(f"{staff_url}/worklist")
    expect(page).to_have_url(re.compile(r"/staff/sign-in"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to the staff console")
    shot("3-old-session-refused")
