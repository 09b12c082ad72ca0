"""No reminders on stale data: the freshness hold through the real ingest and dunning handlers against
moto, over two weeks of hourly ticks at explicit times.

The ERP drops its files as a user's would (S3 notification -> ingest handler, with the
``arcollect-as-of`` metadata), so each feed's newest file is recorded by ingest itself; the sweep runs
through the dunning function's handler with the policy in the drop bucket."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from arcollect.contract import HEADER_CUSTOMER, HEADER_INVOICES, HEADER_STEP, DropPrefix
from arcollect.dunning.sweep import SweepResult
from arcollect.freshness import STALE_FEED
from arcollect.policy import SHIPPED_POLICY
from arcollect.store.feeds import Feeds
from arcollect.store.repositories import Activities, Tasks
from tests.integration.conftest import invoke, load_event
from tests.integration.dunning_world import World, utc
from tests.integration.ingest_flow import result, upload
from tests.integration.test_ingest_handler import notification, sqs_event

MANAGER = "manager@seller.example"
INVOICE_HEADER = "customer_id,invoice_number,invoice_date,due_date,amount,currency\n"
PAYMENT_HEADER = "customer_id,payment_id,payment_date,amount,currency,invoice_number\n"


# --- the ERP and the clock ------------------------------------------------------------------------------


def policy_text(freshness: str | None = None) -> str:
    """The shipped policy, with the manager's email (the alert goes there) and another freshness
    section when given."""
    text = SHIPPED_POLICY.read_text(encoding="utf-8")
    text = text.replace(
        "collections-manager: {name: Collections Manager}",
        f"collections-manager: {{name: Collections Manager, email: {MANAGER}}}",
    )
    if freshness is not None:
        start = text.index("freshness:\n")
        text = text[:start] + freshness + text[text.index("\n\n", start) :]
    return text


def use_policy(text: str) -> None:
    boto3.client("s3").put_object(
        Bucket=os.environ["DROP_BUCKET"], Key=DropPrefix.DUNNING_POLICY, Body=text.encode()
    )


def drop(kind: str, rows: list[str], *, as_of: date, at: datetime, header: str) -> dict[str, Any]:
    """The ERP drops a file at ``at`` whose data is as of ``as_of``; S3 notifies the ingest function."""
    key = f"incoming/{kind}/erp-{as_of.isoformat()}.csv"
    body = (header + "".join(f"{row}\n" for row in rows)).encode()
    version = upload(key, body, {"arcollect-as-of": as_of.isoformat()})
    event = json.loads(notification(key, version, len(body)))
    event["Records"][0]["eventTime"] = at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    # The ingest function's "now" is when S3's notification reached the queue.
    message = sqs_event(json.dumps(event))
    message["Records"][0]["attributes"] = dict(
        message["Records"][0]["attributes"], SentTimestamp=str(int(at.timestamp() * 1000))
    )
    assert invoke("ingest", message) == {"batchItemFailures": []}
    summary = result(key)
    assert summary["rejected"] == 0, summary
    return summary


def invoices(rows: list[str], day: date, at: datetime) -> dict[str, Any]:
    return drop("invoices", rows, as_of=day, at=at, header=INVOICE_HEADER)


def payments(rows: list[str], day: date, at: datetime) -> dict[str, Any]:
    return drop("payments", rows, as_of=day, at=at, header=PAYMENT_HEADER)


def tick(at: datetime) -> dict[str, Any]:
    return dict(invoke("dunning", dict(load_event("scheduler_tick.json"), time=at.isoformat())))


def hours(start: datetime, end: datetime) -> Iterator[datetime]:
    at = start
    while at < end:
        yield at
        at += timedelta(hours=1)


def raw_emails() -> list[EmailMessage]:
    backend = ses_backends[DEFAULT_ACCOUNT_ID][os.environ["AWS_DEFAULT_REGION"]]
    found = []
    for raw in backend.sent_messages:
        message = message_from_bytes(raw.raw_data.encode(), policy=email_policy.default)
        assert isinstance(message, EmailMessage)
        found.append(message)
    return found


def to_manager() -> list[EmailMessage]:
    """The hold's alerts (the manager's daily worklist digest goes to the same address)."""
    return [
        m
        for m in raw_emails()
        if str(m["To"]) == MANAGER and str(m["Subject"]).startswith("Dunning is on hold")
    ]


def reminders(customer_id: str) -> list[EmailMessage]:
    return [m for m in raw_emails() if str(m.get(HEADER_CUSTOMER, "")) == customer_id]


def invoice_numbers(message: EmailMessage) -> list[str]:
    return [n.strip() for n in str(message.get(HEADER_INVOICES, "")).split(",") if n.strip()]


# --- the portfolio ----------------------------------------------------------------------------------------

# Monday 2 November 2026. C-1 owes two invoices due Wednesday the 4th: the "due" email (the day after)
# falls on Thursday the 5th. C-2 is a customer whose new invoices the ERP sends each day.
MONDAY = date(2026, 11, 2)
FIRST_INVOICES = [
    "C-1,INV-1,2026-10-20,2026-11-04,1000.00,EUR",
    "C-1,INV-2,2026-10-20,2026-11-04,500.00,EUR",
    "C-2,B-20261102,2026-11-02,2026-12-02,200.00,EUR",
]


def day_invoices(day: date) -> list[str]:
    """The day's new invoices (a delta): one for C-2, due in a month."""
    due = day + timedelta(days=30)
    return [f"C-2,B-{day:%Y%m%d},{day},{due},200.00,EUR"]


@pytest.fixture
def world(aws: None) -> World:
    world = World(through_handler=True)
    world.customer("C-1")  # Berlin: its send window is 08:00-10:00 UTC in November
    world.customer("C-2")
    return world


def business_day(day: date) -> bool:
    return day.weekday() < 5


# --- a stale payments feed ----------------------------------------------------------------------------------


def test_a_stale_payments_feed_holds_every_reminder_until_a_current_file_arrives(world: World) -> None:
    # Given the shipped policy (feeds may be 2 business days old), with the manager's email
    use_policy(policy_text())
    # And the ERP's first files on Monday 2 November: invoices and payments as of that day
    invoices(FIRST_INVOICES, MONDAY, utc(2026, 11, 2, 6, 30))
    payments(["C-2,P-0,2026-11-02,200.00,EUR,B-20261102"], MONDAY, utc(2026, 11, 2, 6, 30))

    # When the ERP sends new invoices every business day but its payments file stops after Monday,
    # and the sweep ticks every hour until Monday 9 November 07:00
    results: dict[datetime, dict[str, Any]] = {}
    day = MONDAY
    while day < date(2026, 11, 9):
        if business_day(day) and day != MONDAY:
            invoices(day_invoices(day), day, utc(day.year, day.month, day.day, 6, 30))
        start = utc(day.year, day.month, day.day, 8 if day == MONDAY else 0)
        for at in hours(start, start.replace(hour=0) + timedelta(days=1)):
            results[at] = tick(at)
        day += timedelta(days=1)
    for at in hours(utc(2026, 11, 9), utc(2026, 11, 9, 7)):
        results[at] = tick(at)

    # Then until Wednesday night (2 business days) nothing is held and reminders go as usual
    hold_starts = utc(2026, 11, 5)
    assert all(r["held"] is None for at, r in results.items() if at < hold_starts)
    before = [m for m in reminders("C-1")]
    assert before, "the courtesy reminder went before the hold"
    # And from Thursday every tick holds, naming the stale feed, with C-1's invoices left due
    held = {at: r for at, r in results.items() if at >= hold_starts}
    assert all(
        r["held"] and "stale payments feed (newest file 2026-11-02" in r["held"] for r in held.values()
    )
    assert all(
        r["held_invoices"] >= 1 and r["emails_sent"] == 0 and r["tasks_created"] == 0 for r in held.values()
    )
    # And no reminder and no balance task reached C-1 during the hold, though its "due" email and
    # "late" alert fell due on Thursday
    assert len(reminders("C-1")) == len(before)
    assert [t for t in Tasks().for_customer("C-1") if t.created_at >= hold_starts] == []

    # And the manager got exactly one alert email a day, whatever the number of ticks
    alerts = to_manager()
    days = ["2026-11-05", "2026-11-06", "2026-11-07", "2026-11-08", "2026-11-09"]
    assert [str(m["Subject"]) for m in alerts] == [
        f"Dunning is on hold: the ERP's payments feed is stale ({d})" for d in days
    ]
    body = alerts[0].get_content()
    assert "stale payments feed (newest file 2026-11-02, 3 business days old; max 2)" in body
    assert "incoming/payments/erp-2026-11-02.csv" in body
    # And one task a day on the manager's worklist: today's open, the earlier ones superseded
    tasks = sorted(Feeds().tasks(), key=lambda t: t.task_id)
    assert [t.task_id for t in tasks] == [f"{STALE_FEED}-{d.replace('-', '')}" for d in days]
    assert {t.assignee for t in tasks} == {"collections-manager"}
    assert [t.status for t in tasks] == ["done"] * 4 + ["open"]
    assert {t.outcome for t in tasks[:4]} == {"superseded"}
    worklist = world.workspace.tasks.worklist("collections-manager")
    assert [t.task_id for t in worklist if t.kind == STALE_FEED] == [f"{STALE_FEED}-20261109"]

    # And the hold is recorded: each day it held, and on C-1's timeline why its reminders waited
    record = Feeds().history()
    assert sorted(a.at.date().isoformat() for a in record if a.kind == "dunning.held") == days
    held_entries = [a for a in Activities().timeline("C-1") if a.kind == "dunning_held"]
    assert sorted({a.at.date().isoformat() for a in held_entries}) == days
    assert len(held_entries) < 2 * len(days), "an entry when reminders would have gone, not one a tick"
    assert all("stale payments feed" in a.summary for a in held_entries)
    assert {a.detail["invoices"] for a in held_entries} <= {"INV-1", "INV-2", "INV-1, INV-2"}

    # When the preview is asked during the hold
    preview = invoke("dunning", {"action": "preview", "at": "2026-11-09T06:30:00Z"})
    # Then it says the sweep would hold, and what it holds back
    assert preview["freshness"]["held"] is True
    assert "stale payments feed" in preview["freshness"]["reason"]
    payments_feed = next(f for f in preview["freshness"]["feeds"] if f["kind"] == "payments")
    assert (payments_feed["age_business_days"], payments_feed["stale"]) == (5, True)
    assert any(plan["customer_id"] == "C-1" for plan in preview["customers"])

    # When a current payments file arrives on Monday morning, paying INV-2 in full
    payments(["C-1,P-1,2026-11-06,500.00,EUR,INV-2"], date(2026, 11, 9), utc(2026, 11, 9, 7, 30))
    invoices(day_invoices(date(2026, 11, 9)), date(2026, 11, 9), utc(2026, 11, 9, 7, 30))
    # And the next tick runs (in C-1's send window)
    released = tick(utc(2026, 11, 9, 8))

    # Then it releases the hold and sends what is still due: INV-1, not the INV-2 the file paid
    assert released["held"] is None
    after = reminders("C-1")[len(before) :]
    assert len(after) == 1
    assert invoice_numbers(after[0]) == ["INV-1"]
    # And the late alert held since Thursday is made now
    assert [t.detail.get("step") for t in Tasks().for_customer("C-1") if t.created_at >= hold_starts] == [
        "late_alert"
    ]
    # And the release is recorded and the manager's task closed
    record = Feeds().history()
    assert record[0].kind == "dunning.released"
    assert "held since 2026-11-05T00:00:00Z" in record[0].summary
    assert {t.status for t in Feeds().tasks()} == {"done"}
    assert [
        t.task_id for t in world.workspace.tasks.worklist("collections-manager") if t.kind == STALE_FEED
    ] == []
    # And no more alerts come
    for at in hours(utc(2026, 11, 9, 9), utc(2026, 11, 10, 9)):
        assert tick(at)["held"] is None
    assert len(to_manager()) == len(days)


def test_repeated_ticks_of_one_hour_alert_once(world: World) -> None:
    # Given payments as of Monday and invoices current on Thursday: the payments feed is stale
    use_policy(policy_text())
    invoices(FIRST_INVOICES, MONDAY, utc(2026, 11, 2, 6))
    payments(["C-2,P-0,2026-11-02,200.00,EUR,B-20261102"], MONDAY, utc(2026, 11, 2, 6))
    invoices(day_invoices(date(2026, 11, 5)), date(2026, 11, 5), utc(2026, 11, 5, 6))
    # When the same tick is delivered three times (at-least-once), then the next hour's
    outcomes = [tick(utc(2026, 11, 5, 8)) for _ in range(3)] + [tick(utc(2026, 11, 5, 9))]
    # Then every one holds, and the manager has one email and one task
    assert all(o["held"] for o in outcomes)
    assert len(to_manager()) == 1
    assert [t.task_id for t in Feeds().tasks()] == [f"{STALE_FEED}-20261105"]
    assert reminders("C-1") == []


# --- invoices only ------------------------------------------------------------------------------------


@pytest.mark.parametrize("invoices_only", [True, False], ids=["paid_dates", "separate"])
def test_an_invoices_only_company_is_not_held_for_a_payments_feed_it_does_not_have(
    world: World, invoices_only: bool
) -> None:
    # Given a company whose ERP sends invoices only (paid dates say what is paid), and says so
    freshness = (
        "freshness:\n  invoices_max_age_business_days: 2\n  payments_feed: paid_dates"
        if invoices_only
        else None
    )
    use_policy(policy_text(freshness))
    # When it sends invoices every business day from Monday, and never a payments file
    outcomes: list[SweepResult | dict[str, Any]] = []
    for offset in range(4):
        day = MONDAY + timedelta(days=offset)
        invoices(FIRST_INVOICES if offset == 0 else day_invoices(day), day, utc(2026, 11, day.day, 6))
        for at in hours(utc(2026, 11, day.day, 7), utc(2026, 11, day.day, 11)):
            outcomes.append(tick(at))
    thursday = [o for o in outcomes if isinstance(o, dict) and o["scheduled_at"].startswith("2026-11-05")]
    due_emails = [m for m in reminders("C-1") if str(m[HEADER_STEP]) == "due"]
    if invoices_only:
        # Then nothing holds, and Thursday's "due" email for both invoices goes
        assert all(isinstance(o, dict) and o["held"] is None for o in outcomes)
        assert len(due_emails) == 1 and sorted(invoice_numbers(due_emails[0])) == ["INV-1", "INV-2"]
        assert to_manager() == [] and Feeds().tasks() == []
    else:
        # Whereas with the default (a separate payments feed) the feed that never started holds once
        # the first invoices file is 2 business days behind: from Thursday
        assert all(o["held"] and "payments feed (no file received yet" in o["held"] for o in thursday)
        assert due_emails == []
        assert len(to_manager()) == 1
