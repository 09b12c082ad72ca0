"""The engine waits for the customer's learned send slot (settings.send_times, issue 19, item 5):
inside the widened window, on working days that are not holidays; the preview says which hour and why."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest

from arcollect.calendar import Calendar
from arcollect.dunning.engine import CustomerPlan, Outcome, evaluate
from arcollect.dunning.sweep import plan_as_dict
from arcollect.entities import Customer, Invoice
from arcollect.policy import SHIPPED_POLICY, PolicyError, parse_policy, shipped_policy
from arcollect.send_times import SendRecord, SendTimes, SlotStats

MANAGER = "  manager: collections-manager   # whose worklist gets escalations\n"
LEARNING = parse_policy(
    SHIPPED_POLICY.read_text().replace(
        MANAGER,
        MANAGER + '  send_times: {learn: true, window: "08:00-17:00", exploration: 0, prior_strength: 2}\n',
    ),
    source="learning.yaml",
)
# Three responses after four reminders at 14:00 Berlin time; none after three at 09:00.
RECORD = SendRecord(
    own={14: SlotStats(4, 3), 9: SlotStats(3, 0)},
    portfolio={9: SlotStats(300, 60), 14: SlotStats(300, 45)},
)


def customer() -> Customer:
    return Customer("C-1", "Acme GmbH", "ap@acme.example", country="DE", time_zone="Europe/Berlin")


def invoice(due: date) -> Invoice:
    return Invoice("C-1", "INV-1", "EUR", Decimal(1000), Decimal(1000), date(2026, 10, 1), due)


def plan_at(at: datetime, due: date, *, policies: object = LEARNING) -> CustomerPlan:
    return evaluate(
        customer_id="C-1",
        customer=customer(),
        invoices=[invoice(due)],
        now=at,
        policies=policies,  # type: ignore[arg-type]
        calendar=Calendar(),
        send_record=RECORD,
    )


def test_learning_is_off_unless_the_policy_says_so() -> None:
    send_times = shipped_policy().settings.send_times
    assert isinstance(send_times, SendTimes) and send_times.learn is False
    plan = plan_at(datetime(2026, 11, 2, 9, tzinfo=UTC), date(2026, 11, 1), policies=shipped_policy())
    # The shipped window (09:00-11:00 Berlin) is open at 10:00: the email goes, no slot involved
    assert plan.email is not None and plan.send_slot is None
    assert plan_as_dict(plan)["send_slot"] is None


def test_the_email_waits_for_the_learned_hour_and_the_preview_says_why() -> None:
    # Monday 10:00 in Berlin: the due step falls, the customer's hour is 14:00
    plan = plan_at(datetime(2026, 11, 2, 9, tzinfo=UTC), date(2026, 11, 1))
    assert plan.email is None
    assert plan.reschedules[0].next_action_at == datetime(2026, 11, 2, 13, tzinfo=UTC)
    deferred = [n for n in plan.notes if n.outcome is Outcome.DEFERRED]
    assert deferred and "waiting for the customer's send slot 14:00" in deferred[0].reason
    slot = plan_as_dict(plan)["send_slot"]
    assert slot["hour"] == "14:00" and slot["exploring"] is False
    assert slot["why"].startswith(
        "replies, portal visits or payments came after 3 of 4 reminders sent at 14:00"
    )
    # At 14:00 Berlin it goes
    sent = plan_at(datetime(2026, 11, 2, 13, tzinfo=UTC), date(2026, 11, 1))
    assert sent.email is not None and sent.send_slot is not None and sent.send_slot.hour == 14


def test_weekends_still_hold() -> None:
    # Saturday 14:00 Berlin: the slot's hour, but no send day; Monday 14:00 it is
    plan = plan_at(datetime(2026, 11, 7, 13, tzinfo=UTC), date(2026, 11, 6))
    assert plan.email is None
    assert plan.reschedules[0].next_action_at == datetime(2026, 11, 9, 13, tzinfo=UTC)
    reason = next(n.reason for n in plan.notes if n.outcome is Outcome.DEFERRED)
    assert "weekend (Saturday)" in reason


def test_public_holidays_still_hold() -> None:
    # Christmas Day (Friday) 14:00 Berlin: a German public holiday; then the weekend; Monday 28th
    plan = plan_at(datetime(2026, 12, 25, 13, tzinfo=UTC), date(2026, 12, 24))
    assert plan.email is None
    assert plan.reschedules[0].next_action_at == datetime(2026, 12, 28, 13, tzinfo=UTC)
    reason = next(n.reason for n in plan.notes if n.outcome is Outcome.DEFERRED)
    assert "public holiday" in reason


def test_settings_problems_are_named() -> None:
    text = SHIPPED_POLICY.read_text().replace(
        MANAGER,
        MANAGER
        + '  send_times: {learn: maybe, window: "17:00-08:00", exploration: 1.5, prior_strength: 0, x: 1}\n',
    )
    with pytest.raises(PolicyError) as error:
        parse_policy(text, source="bad.yaml")
    message = str(error.value)
    for key in ("learn", "window", "exploration", "prior_strength", "x"):
        assert f"settings.send_times.{key}:" in message
    parsed = parse_policy(
        SHIPPED_POLICY.read_text().replace(
            MANAGER, MANAGER + '  send_times: {learn: true, window: "08:30-12:00"}\n'
        ),
        source="ok.yaml",
    )
    assert parsed.settings.send_times == replace(SendTimes(), learn=True, start=time(8, 30), end=time(12))
    assert parsed.settings.send_times.hours == (9, 10, 11)
