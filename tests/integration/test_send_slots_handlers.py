"""Send times learned per customer through the handlers (issue 19, item 5): the reports run counts each
customer's reminders and what followed them per local hour and keeps the record; the dunning tick reads
it and waits for the customer's hour, and the decision says why."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3

from arcollect.contract import DropPrefix
from arcollect.entities import Activity, Customer, Invoice
from arcollect.policy import SHIPPED_POLICY
from arcollect.send_times import SlotStats
from arcollect.store.repositories import Activities, Customers, Invoices
from arcollect.store.send_slots import SendSlotBook
from arcollect.store.workspace import WorkspaceStore
from tests.integration.conftest import invoke, load_event

MANAGER = "  manager: collections-manager   # whose worklist gets escalations\n"
LEARNING = '  send_times: {learn: true, window: "08:00-17:00", exploration: 0, prior_strength: 1}\n'


def utc(day: int, hour: int, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def world() -> None:
    policy = SHIPPED_POLICY.read_text().replace(MANAGER, MANAGER + LEARNING)
    boto3.client("s3").put_object(
        Bucket=os.environ["DROP_BUCKET"], Key=DropPrefix.DUNNING_POLICY, Body=policy.encode()
    )
    activities = Activities()
    for customer_id in ("C-1", "C-2"):
        Customers().save(
            Customer(
                customer_id,
                customer_id,
                f"ap@{customer_id.lower()}.example",
                country="DE",
                time_zone="Europe/Berlin",
            )
        )
        Invoices().save(
            Invoice(
                customer_id=customer_id,
                invoice_number="RE-1",
                currency="EUR",
                amount=Decimal("100.00"),
                open_amount=Decimal("100.00"),
                invoice_date=date(2026, 10, 23),
                due_date=date(2026, 11, 22),  # the due step falls on Monday 23 November
                next_action_at=utc(23, 8),
                steps_done=("outreach", "courtesy"),
            )
        )

    def entry(customer_id: str, at: datetime, kind: str) -> None:
        activities.record(Activity(customer_id, at, f"{kind}-{at.isoformat()}", kind, kind))

    # C-1: reminders at 14:00 Berlin (13:00 UTC) opened in the portal within hours, three times of four;
    # at 09:00 Berlin (08:00 UTC) three reminders and nothing after them.
    for day in (2, 5, 9, 12):
        entry("C-1", utc(day, 13), "email_sent")
    for day in (2, 5, 12):
        entry("C-1", utc(day, 13) + timedelta(hours=3), "portal_opened")
    for day in (3, 6, 10):
        entry("C-1", utc(day, 8), "email_sent")


def tick(at: datetime) -> dict[str, Any]:
    return dict(invoke("dunning", dict(load_event("scheduler_tick.json"), time=at.isoformat())))


def emails(customer_id: str) -> list[Activity]:
    return [a for a in Activities().timeline(customer_id) if a.kind == "email_sent" and a.at >= utc(23, 0)]


def test_the_reports_run_keeps_the_record_and_the_sweep_waits_for_the_customers_hour(aws: None) -> None:
    world()
    report = invoke("reports", dict(load_event("scheduler_tick.json"), time="2026-11-23T05:00:00Z"))
    assert report["send_slots_kept"] == 1
    record = SendSlotBook().send_record("C-1")
    assert record is not None
    assert record.own == {14: SlotStats(4, 3), 9: SlotStats(3, 0)}
    assert SendSlotBook().send_record("C-2") is None
    # The 360's one query of the partition reads it too
    assert WorkspaceStore().account("C-1").send_record == record

    # Monday 09:00 Berlin: C-1 waits for 14:00; C-2 (no record: the window's first hour, 08:00) for
    # Tuesday 08:00
    tick(utc(23, 8))
    assert emails("C-1") == [] and emails("C-2") == []
    assert Invoices().get("C-2", "RE-1").next_action_at == utc(24, 7)
    decisions = [a.detail["decisions"] for a in Activities().timeline("C-1") if a.kind == "dunning_decisions"]
    assert decisions and "waiting for the customer's send slot 14:00" in decisions[-1]
    assert "came after 3 of 4 reminders sent at 14:00" in decisions[-1]
    assert Invoices().get("C-1", "RE-1").next_action_at == utc(23, 13)

    tick(utc(23, 13))
    sent = emails("C-1")
    assert len(sent) == 1 and sent[0].at == utc(23, 13)
    tick(utc(24, 7))
    assert [a.at for a in emails("C-2")] == [utc(24, 7)]


def test_the_report_keeps_the_learners_timeline_in_memory_only_while_the_policy_learns(aws: None) -> None:
    from arcollect.store.reports import ReportReader

    timeline = Activities()
    for n, kind in enumerate(("email_sent", "portal_opened", "email_delivery")):
        timeline.record(
            Activity(customer_id="C 1", at=utc(3, 9 + n), activity_id=f"a{n}", kind=kind, summary="")
        )
    assert {a.kind for a in ReportReader().read().activities} == {"email_delivery"}
    learning = {a.kind for a in ReportReader().read(send_times=True).activities}
    assert learning == {"email_sent", "portal_opened", "email_delivery"}
