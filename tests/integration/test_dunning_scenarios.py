"""Dunning scenarios in simulated weeks: every rule of the policy, against moto's DynamoDB and SES.

Times are UTC unless a comment says "local". ``world.log()`` lists what dunning did, oldest first:
``"<UTC time> email <step> <invoices>"`` for a reminder (its send time) and ``"<UTC time> <kind> <step>"``
for a collector task (its creation time). A Berlin customer's 09:00 is 07:00 UTC in summer time and
08:00 UTC in winter time; a task falls due at 00:00 local time.
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from arcollect.dunning.email_events import handle_email_event
from arcollect.dunning.engine import Outcome
from arcollect.dunning.sweep import preview
from arcollect.entities import Promise
from arcollect.promises import promise_to_pay
from arcollect.store.dunning import DunningStore
from arcollect.store.repositories import Activities, Customers
from tests.integration.dunning_world import FaultyLedger, FaultyStore, World, utc

EVENTS = Path(__file__).resolve().parent.parent / "events"

# Steps the first scenarios are past already, so a week-long run starts at the step under test.
BEFORE_DUE = ("outreach", "courtesy")


def bounce(customer_id: str, address: str, message_id: str = "msg-bounce-1") -> dict[str, Any]:
    detail = copy.deepcopy(json.loads((EVENTS / "ses_bounce.json").read_text())["detail"])
    detail["bounce"]["bouncedRecipients"][0]["emailAddress"] = address
    detail["mail"]["destination"] = [address]
    detail["mail"]["messageId"] = message_id
    detail["mail"]["tags"]["customer_id"] = [customer_id]
    return dict(detail)


def feed(detail: dict[str, Any], at: datetime) -> None:
    handle_email_event(detail, timeline=Activities(), feedback=DunningStore(), received_at=at)


def notes(world: World, at: datetime, customer_id: str = "C-1") -> list[tuple[str | None, str, str | None]]:
    plans = [
        p
        for p in preview(now=at, store=world.store, services=world.services())
        if p.customer_id == customer_id
    ]
    return [(n.invoice_number, n.outcome.value, n.step_id) for plan in plans for n in plan.notes]


# --- 1. the standard sequence ----------------------------------------------------------------------


def test_standard_sequence_of_one_invoice_from_outreach_to_the_last_repeat(aws: None) -> None:
    # Given a German customer (Europe/Berlin) and one invoice dated 2026-09-01, net 30 (due 2026-10-01)
    world = World()
    world.customer("C-1")
    world.invoice("INV-1", invoice_date=date(2026, 9, 1), due_date=date(2026, 10, 1))
    # When the hourly sweep runs for nine months
    world.run(utc(2026, 9, 1), utc(2027, 6, 1))
    # Then every step happens once, in order; emails at 09:00 Berlin on working days, tasks at 00:00 Berlin
    assert world.log() == [
        "2026-09-15 07:00 email outreach INV-1",  # invoice date + 14
        "2026-09-28 07:00 email courtesy INV-1",  # due - 3
        "2026-10-02 07:00 email due INV-1",  # due + 1
        "2026-10-02 07:00 owner_alert late_alert",  # with the due email (one stage)
        "2026-10-07 22:00 call first_call",  # due + 7
        "2026-10-15 07:00 email reminder INV-1",  # due + 14
        "2026-10-21 22:00 call second_call",  # due + 21
        "2026-11-02 08:00 email firm INV-1",  # due + 30 is Saturday 10-31: Monday, winter time
        "2026-11-14 23:00 call payment_plan_call",  # due + 45
        "2026-11-30 08:00 email final_notice INV-1",  # due + 60, 8 touches >= 4
        "2026-11-30 08:00 escalation escalate",
        "2026-12-14 23:00 credit_hold credit_hold",  # due + 75
        "2026-12-29 23:00 agency agency_decision",  # due + 90
        "2027-01-28 23:00 agency agency_decision#2",  # then every 30 days, 3 times
        "2027-02-27 23:00 agency agency_decision#3",
        "2027-03-29 22:00 agency agency_decision#4",  # 00:00 Berlin summer time (DST since 03-28)
    ]
    # And the invoice leaves the sweep's index
    assert world.get("INV-1").next_action_at is None
    assert world.tasks()[0].detail["priority"] in {"normal", "high", "low"}


def test_final_notice_and_escalation_need_four_touches(aws: None) -> None:
    # Given an invoice due 2026-08-31 whose outreach went out, then nothing (the sweep was away): with
    # the caught-up call, two touches by day 60
    world = World()
    world.customer("C-1")
    world.invoice(
        "INV-1", invoice_date=date(2026, 8, 1), due_date=date(2026, 8, 31), steps_done=("outreach",)
    )
    # When the sweep runs from 2026-10-28 to 2026-11-20
    world.run(utc(2026, 10, 28), utc(2026, 11, 20))
    # Then the caught-up payment plan call runs; final notice and escalation (day 60) do not apply
    assert world.log() == [
        "2026-10-28 00:00 call payment_plan_call",
        "2026-11-13 23:00 credit_hold credit_hold",  # day 75
    ]
    assert {"final_notice", "escalate"}.isdisjoint(world.get("INV-1").steps_done)


def test_a_go_live_backlog_gets_one_statement_and_the_policy_goes_on_from_its_age(aws: None) -> None:
    # Given an invoice first loaded 58 days late (due 2026-08-31, nothing ever sent: a go-live)
    world = World()
    world.customer("C-1")
    world.invoice("INV-1", invoice_date=date(2026, 8, 1), due_date=date(2026, 8, 31))
    # When the sweep runs from 2026-10-28 (a Wednesday) to 2026-11-20
    world.run(utc(2026, 10, 28), utc(2026, 11, 20))
    # Then the first send window brings the statement of overdue invoices with the call its age implies
    # (day 45); the statement stands in for the eight contact steps it passed over, so the final notice
    # and the escalation (day 60, four touches needed) follow in their turn, three days apart at least
    assert world.log() == [
        "2026-10-28 08:00 email golive_statement INV-1",
        "2026-10-28 08:00 call payment_plan_call",
        "2026-11-02 08:00 email final_notice INV-1",
        "2026-11-02 08:00 escalation escalate",
        "2026-11-13 23:00 credit_hold credit_hold",  # day 75
    ]
    done = world.get("INV-1").steps_done
    assert {"golive_statement", "outreach", "courtesy", "due", "reminder", "firm", "second_call"} <= set(done)


# --- 2. consolidation --------------------------------------------------------------------------------


def test_one_email_lists_every_invoice_due_that_day_in_the_most_severe_tone(aws: None) -> None:
    # Given three invoices whose email steps fall due on Thursday 2026-10-15: INV-1 its reminder
    # (due 10-01), INV-2 (EUR) and INV-3 (USD) their "due" email (due 10-14)
    world = World()
    world.customer("C-1")
    world.invoice(
        "INV-1",
        invoice_date=date(2026, 9, 1),
        due_date=date(2026, 10, 1),
        steps_done=(*BEFORE_DUE, "due", "late_alert", "first_call"),
    )
    world.invoice(
        "INV-2",
        invoice_date=date(2026, 9, 14),
        due_date=date(2026, 10, 14),
        amount="200.00",
        steps_done=BEFORE_DUE,
    )
    world.invoice(
        "INV-3",
        invoice_date=date(2026, 9, 14),
        due_date=date(2026, 10, 14),
        amount="50.00",
        currency="USD",
        steps_done=BEFORE_DUE,
    )
    # When the sweep ticks at 09:00 Berlin
    world.tick(utc(2026, 10, 15, 7))
    # Then one email lists all three, in the tone of the most severe step (reminder)
    [email] = world.emails()
    assert (email.step, sorted(email.invoices)) == ("reminder", ["INV-1", "INV-2", "INV-3"])
    # And the body totals per currency
    body = email.message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert "1,200.00 EUR" in text and "50.00 USD" in text
    # And each invoice has its own step done
    assert "reminder" in world.get("INV-1").steps_done
    assert "due" in world.get("INV-2").steps_done and "due" in world.get("INV-3").steps_done


# --- 3. send window ----------------------------------------------------------------------------------


def _due_email_times(world: World, customer_id: str) -> list[str]:
    return [line for line in world.log(customer_id) if " email " in line]


@pytest.mark.parametrize(
    ("country", "zone", "due", "start", "expected"),
    [
        # The due email's day (due + 1) is Saturday 2026-10-31: Monday 09:00 Berlin (winter time)
        ("DE", "Europe/Berlin", date(2026, 10, 30), utc(2026, 10, 31), "2026-11-02 08:00 email due INV-1"),
        # Christmas (Fri 12-25) and Saturday 12-26 in Germany: Monday 12-28
        ("DE", "Europe/Berlin", date(2026, 12, 24), utc(2026, 12, 25), "2026-12-28 08:00 email due INV-1"),
        # Thanksgiving (Thu 2026-11-26) in the US: Friday 09:00 New York (EST, UTC-5)
        ("US", "America/New_York", date(2026, 11, 25), utc(2026, 11, 26), "2026-11-27 14:00 email due INV-1"),
        # Berlin before the DST change of 2026-10-25: 09:00 CEST = 07:00 UTC (Fri 10-23)
        ("DE", "Europe/Berlin", date(2026, 10, 22), utc(2026, 10, 23), "2026-10-23 07:00 email due INV-1"),
        # ... and after it: 09:00 CET = 08:00 UTC (Mon 10-26)
        ("DE", "Europe/Berlin", date(2026, 10, 25), utc(2026, 10, 26), "2026-10-26 08:00 email due INV-1"),
        # New York before its DST change of 2026-11-01: 09:00 EDT = 13:00 UTC (Fri 10-30)
        ("US", "America/New_York", date(2026, 10, 29), utc(2026, 10, 30), "2026-10-30 13:00 email due INV-1"),
        # ... and after it: 09:00 EST = 14:00 UTC (Mon 11-02)
        ("US", "America/New_York", date(2026, 11, 1), utc(2026, 11, 2), "2026-11-02 14:00 email due INV-1"),
        # Sydney (AEDT, UTC+11): Monday 2026-10-05 09:00 local is Sunday 22:00 UTC
        ("AU", "Australia/Sydney", date(2026, 10, 4), utc(2026, 10, 4), "2026-10-04 22:00 email due INV-1"),
    ],
)
def test_emails_go_out_in_the_customers_send_window(
    aws: None, country: str, zone: str, due: date, start: datetime, expected: str
) -> None:
    # Given a customer in ``zone`` whose invoice's "due" email (due + 1) is next
    world = World()
    world.customer("C-1", country=country, time_zone=zone)
    world.invoice("INV-1", invoice_date=date(2026, 1, 1), due_date=due, steps_done=BEFORE_DUE)
    # When the sweep runs for a week from ``start``
    world.run(start, start + timedelta(days=7))
    # Then the email goes out at the first opening: 09:00 local, on a working day that is no holiday
    assert _due_email_times(world, "C-1") == [expected]


# --- 4. catch-up without a burst ---------------------------------------------------------------------


def test_a_sweep_away_forty_days_sends_only_the_latest_step(aws: None) -> None:
    # Given an invoice due 2026-08-01 that nobody looked at since (the sweep was away 40 days)
    world = World()
    world.customer("C-1")
    world.invoice(
        "INV-1",
        invoice_date=date(2026, 7, 1),
        due_date=date(2026, 8, 1),
        amount="20000.00",
        steps_done=("outreach", "large_invoice_alert", "courtesy"),
    )
    # When the sweep comes back on Thursday 2026-09-10, 09:00 Berlin
    at = utc(2026, 9, 10, 7)
    decided = notes(world, at)
    # Then the preview says: the firm email (day 30) now; every step it passes over is skipped
    skipped = [step for _, outcome, step in decided if outcome == Outcome.SKIPPED.value]
    assert skipped == [
        "due",
        "late_alert",
        "first_call",
        "reminder",
        "second_call",
    ]
    assert [(n, step) for n, outcome, step in decided if outcome == Outcome.EMAIL.value] == [
        ("INV-1", "firm")
    ]
    # And the run sends that one email, then moves on; the skipped steps never come later
    world.run(at, utc(2026, 9, 20))
    assert world.log() == [
        "2026-09-10 07:00 email firm INV-1",
        "2026-09-14 22:00 call payment_plan_call",  # day 45, 00:00 Berlin
    ]


# --- 5. minimum gap ----------------------------------------------------------------------------------


def test_two_emails_to_one_customer_keep_three_days_apart(aws: None) -> None:
    # Given INV-1 whose "due" email is Tuesday 2026-10-06 and INV-2 whose is the next day
    world = World()
    world.customer("C-1")
    world.invoice("INV-1", invoice_date=date(2026, 9, 5), due_date=date(2026, 10, 5), steps_done=BEFORE_DUE)
    world.invoice("INV-2", invoice_date=date(2026, 9, 6), due_date=date(2026, 10, 6), steps_done=BEFORE_DUE)
    # When the sweep runs every hour that week
    world.run(utc(2026, 10, 6), utc(2026, 10, 11))
    # Then INV-2's email (and its late alert, one stage) waits until three days after the first email
    assert world.log() == [
        "2026-10-06 07:00 email due INV-1",
        "2026-10-06 07:00 owner_alert late_alert",
        "2026-10-09 07:00 email due INV-2",
        "2026-10-09 07:00 owner_alert late_alert",
    ]


# --- 6. suppression against fresh state --------------------------------------------------------------


class PaidJustBefore(FaultyLedger):
    """INV-1 is paid between the sweep's index read and the reservation (ingest races the sweep)."""

    def __init__(self, world: World) -> None:
        super().__init__(world.faults)
        self.world = world

    def reserve_email(self, *args: Any, **kwargs: Any) -> Any:
        self.world.change("INV-1", status="closed", open_amount=Decimal("0"))
        return super().reserve_email(*args, **kwargs)


def _two_due_invoices(world: World) -> None:
    world.customer("C-1")
    for number in ("INV-1", "INV-2"):
        world.invoice(
            number, invoice_date=date(2026, 9, 5), due_date=date(2026, 10, 5), steps_done=BEFORE_DUE
        )


def test_an_invoice_paid_after_the_index_read_is_not_reminded(aws: None) -> None:
    # Given two invoices whose "due" email is Tuesday 2026-10-06, and INV-1 is paid mid-sweep
    world = World()
    _two_due_invoices(world)
    world.store = FaultyStore(world.faults, touches=PaidJustBefore(world))
    # When the sweep ticks at 09:00 Berlin
    world.tick(utc(2026, 10, 6, 7))
    # Then the email lists INV-2 only, and INV-1 is never reminded again
    assert [(e.step, e.invoices) for e in world.emails()] == [("due", ["INV-2"])]
    world.store = FaultyStore(world.faults)
    world.run(utc(2026, 10, 6, 8), utc(2026, 11, 1))
    assert all("INV-1" not in e.invoices for e in world.emails())
    assert world.get("INV-1").next_action_at is None


def test_a_disputed_invoice_is_left_out_while_the_others_are_reminded(aws: None) -> None:
    # Given two invoices due the same day, INV-1 disputed
    world = World()
    _two_due_invoices(world)
    world.change("INV-1", disputed=True)
    # When the sweep runs for two weeks
    world.run(utc(2026, 10, 6), utc(2026, 10, 20))
    # Then only INV-2 is reminded, and INV-1 leaves the index
    assert [(e.step, e.invoices) for e in world.emails()] == [("due", ["INV-2"]), ("reminder", ["INV-2"])]
    assert world.get("INV-1").next_action_at is None


def _promise(world: World, until: date, numbers: tuple[str, ...] = ("INV-1",)) -> None:
    promise = Promise("C-1", "P-1", numbers, until, created_at=utc(2026, 10, 3, 10))
    at = promise_to_pay(promise, policies=world.policies, calendar=world.calendar, zone_name="Europe/Berlin")
    assert DunningStore().make_promise(promise, at)


def test_a_broken_promise_is_reminded_once_then_the_steps_continue(aws: None) -> None:
    # Given an invoice due 2026-10-01 whose "due" email went out on 10-02, and a promise (10-03) to pay
    # by Saturday 10-10: paused until 10-13 (3 days' grace)
    world = World()
    world.customer("C-1")
    world.invoice("INV-1", invoice_date=date(2026, 9, 1), due_date=date(2026, 10, 1), steps_done=BEFORE_DUE)
    world.run(utc(2026, 10, 2), utc(2026, 10, 3))
    _promise(world, date(2026, 10, 10))
    # When the sweep runs until the end of October
    world.run(utc(2026, 10, 3), utc(2026, 11, 1))
    # Then nothing happens during the pause (first call on 10-08 included); on Wednesday 10-14 a
    # "missed promise" email and a high-priority call; then the regular steps continue (the reminder
    # waits out the 3-day gap)
    assert world.log() == [
        "2026-10-02 07:00 email due INV-1",
        "2026-10-02 07:00 owner_alert late_alert",
        "2026-10-14 07:00 email missed_promise#P-1 INV-1",
        "2026-10-14 07:00 call missed_promise_call#P-1",
        "2026-10-19 07:00 email reminder INV-1",
        "2026-10-21 22:00 call second_call",
    ]
    [call] = [t for t in world.tasks() if t.kind == "call"][:1]
    assert [t.detail["priority"] for t in world.tasks() if t.detail["step"].startswith("missed")] == ["high"]
    assert call is not None
    assert DunningStore().promise_status("C-1", "P-1") == "broken"
    assert world.get("INV-1").promise_id is None


def test_a_kept_promise_ends_dunning(aws: None) -> None:
    # Given a promise to pay INV-1 by 10-10, and INV-1 paid on 10-09
    world = World()
    world.customer("C-1")
    world.invoice("INV-1", invoice_date=date(2026, 9, 1), due_date=date(2026, 10, 1), steps_done=BEFORE_DUE)
    world.run(utc(2026, 10, 2), utc(2026, 10, 3))
    _promise(world, date(2026, 10, 10))
    world.change("INV-1", status="closed", open_amount=Decimal("0"))
    # When the sweep runs to December
    world.run(utc(2026, 10, 3), utc(2026, 12, 1))
    # Then nothing more happens
    assert world.log() == ["2026-10-02 07:00 email due INV-1", "2026-10-02 07:00 owner_alert late_alert"]
    assert world.get("INV-1").next_action_at is None


def test_dunning_hold_stops_everything(aws: None) -> None:
    # Given a customer on dunning hold with a large invoice
    world = World()
    world.customer("C-1", dunning_hold=True)
    world.invoice("INV-1", invoice_date=date(2026, 9, 1), due_date=date(2026, 10, 1), amount="20000.00")
    # When the sweep runs from two weeks before the due date to the final notice (day 60); the held
    # customer's invoices are looked at daily, to resume when the hold is lifted
    world.run(utc(2026, 9, 17), utc(2026, 12, 1))
    # Then no email and no task at all
    assert world.log() == []


def test_do_not_contact_keeps_internal_tasks_only(aws: None) -> None:
    # Given a do-not-contact customer with a large invoice
    world = World()
    world.customer("C-1", do_not_contact=True)
    world.invoice("INV-1", invoice_date=date(2026, 9, 1), due_date=date(2026, 10, 1), amount="20000.00")
    # When the sweep runs for four months
    world.run(utc(2026, 9, 1), utc(2027, 1, 1))
    # Then no email and no call; owner alerts and the internal decisions are created. (The escalation
    # needs 4 touches, which a customer nobody may contact never gets: it does not come.)
    assert world.emails() == []
    assert world.log() == [
        "2026-09-25 22:00 owner_alert large_invoice_alert",
        "2026-10-01 22:00 owner_alert late_alert",
        "2026-12-14 23:00 credit_hold credit_hold",
        "2026-12-29 23:00 agency agency_decision",
    ]


def test_a_bounced_address_is_not_used_again_and_all_bounced_asks_for_contact_data(aws: None) -> None:
    # Given a customer with two AP addresses; the "due" email (10-06) goes to both
    world = World()
    world.customer("C-1", other_emails=("ar@c-1.example",))
    world.invoice("INV-1", invoice_date=date(2026, 9, 5), due_date=date(2026, 10, 5), steps_done=BEFORE_DUE)
    world.run(utc(2026, 10, 6), utc(2026, 10, 7))
    # When SES reports the first address bounced
    feed(bounce("C-1", "ap@c-1.example"), utc(2026, 10, 6, 8))
    world.run(utc(2026, 10, 7), utc(2026, 10, 20))
    # Then the reminder goes to the other address only
    assert [(e.step, e.to) for e in world.emails()] == [
        ("due", ["ap@c-1.example", "ar@c-1.example"]),
        ("reminder", ["ar@c-1.example"]),
    ]
    # When the other address bounces too
    feed(bounce("C-1", "ar@c-1.example", "msg-bounce-2"), utc(2026, 10, 20, 8))
    world.run(utc(2026, 10, 20), utc(2026, 12, 1))
    # Then no more emails, and one "fix contact" task however many runs find no address
    assert len(world.emails()) == 2
    assert [t.kind for t in world.tasks()].count("fix_contact") == 1


# --- 7. anniversary check-in -------------------------------------------------------------------------


def test_anniversary_check_in_once_then_next_year(aws: None) -> None:
    # Given a customer since 2019-11-24, its profile in the index for 2026-11-24 00:00 Berlin
    world = World()
    customer = world.customer("C-1", customer_since=date(2019, 11, 24))
    Customers().save(replace(customer, next_action_at=utc(2026, 11, 23, 23)))
    # When the sweep runs every hour on the anniversary and the day after
    world.run_every_hour(utc(2026, 11, 23, 22), utc(2026, 11, 24, 2))
    world.run(utc(2026, 11, 24, 2), utc(2026, 11, 27))
    # Then one check-in task on the anniversary
    assert world.log() == ["2026-11-23 23:00 check_in check_in#2026"]
    # And the customer's next look is the 2027 anniversary
    profile = Customers().get("C-1")
    assert profile is not None and profile.next_action_at == utc(2027, 11, 23, 23)


# --- 8. segments -------------------------------------------------------------------------------------


def test_key_account_gets_a_call_before_any_late_email(aws: None) -> None:
    # Given a customer with annual sales of 12M and an invoice due 2026-10-01
    world = World()
    world.customer("C-1", annual_sales=Decimal("12000000"))
    world.invoice(
        "INV-1",
        invoice_date=date(2026, 9, 1),
        due_date=date(2026, 10, 1),
        steps_done=(*BEFORE_DUE, "pre_due_call"),
    )
    # When the sweep runs a week
    world.run(utc(2026, 10, 1), utc(2026, 10, 8))
    # Then a high-priority call on day 1 (no "due" email), the "due" email on day 3 (Sunday -> Monday)
    assert world.log() == ["2026-10-01 22:00 call late_call", "2026-10-05 07:00 email due INV-1"]
    assert world.tasks()[0].detail["policy"] == "key-accounts"


@pytest.mark.parametrize(
    ("attributes", "policy"),
    [
        ({"annual_sales": Decimal("10000000")}, "key-accounts"),
        ({"annual_sales": Decimal("9999999")}, "standard"),
        ({"industry_code": "921110"}, "public-sector"),
        ({"industry_code": "921110", "annual_sales": Decimal("20000000"), "segment": "standard"}, "standard"),
        ({"segment": "public-sector"}, "public-sector"),
    ],
)
def test_segment_chooses_the_policy(aws: None, attributes: dict[str, Any], policy: str) -> None:
    world = World()
    world.customer("C-1", **attributes)
    world.invoice("INV-1", invoice_date=date(2026, 9, 1), due_date=date(2026, 10, 1))
    [plan] = preview(now=utc(2026, 9, 15, 7), store=world.store, services=world.services())
    assert plan.policy == policy


# --- 9. duplicate events -----------------------------------------------------------------------------


def test_the_same_tick_twice_does_nothing_twice(aws: None) -> None:
    # Given the "due" email and late alert due on Tuesday 2026-10-06
    world = World()
    _two_due_invoices(world)
    # When the 09:00 tick is delivered twice
    world.tick(utc(2026, 10, 6, 7))
    again = world.tick(utc(2026, 10, 6, 7))
    # Then one email and one task
    assert again.duplicate
    assert world.log() == [
        "2026-10-06 07:00 email due INV-1,INV-2",
        "2026-10-06 07:00 owner_alert late_alert",
    ]


def test_overlapping_ticks_do_nothing_twice(aws: None) -> None:
    # Given a tick that has read the index (stale work) while another tick carries the same work out
    from arcollect.dunning.delivery import RunReport
    from arcollect.dunning.sweep import WorkItem, work_customers

    world = World()
    _two_due_invoices(world)
    at = utc(2026, 10, 6, 7)
    due = world.store.due(at)
    stale = [WorkItem(at, c, tuple(due.invoices.get(c, ())), c in due.customers) for c in due.customer_ids]
    world.tick(utc(2026, 10, 6, 7, 30))
    # When the stale tick carries its work out afterwards
    failed = work_customers(stale, store=world.store, services=world.services(), report=RunReport())
    # Then nothing is sent or created twice
    assert failed == []
    assert world.log() == [
        "2026-10-06 07:30 email due INV-1,INV-2",
        "2026-10-06 07:30 owner_alert late_alert",
    ]


def test_a_bounce_event_delivered_twice_is_recorded_once(aws: None) -> None:
    world = World()
    world.customer("C-1")
    event = bounce("C-1", "ap@c-1.example")
    feed(event, utc(2026, 10, 6, 8))
    feed(event, utc(2026, 10, 6, 8, 5))
    assert [a.kind for a in world.timeline()] == ["email_bounce"]
    profile = Customers().get("C-1")
    assert profile is not None and profile.suppressed_emails == ("ap@c-1.example",)
