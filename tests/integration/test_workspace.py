"""The collector workspace against moto: tasks on worklists, outcomes, promises kept or broken from
payments, the dispute workflow, holds and pauses, the 360 view, the daily digest."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
import yaml

from arcollect.entities import Payment, Task
from arcollect.policy import SHIPPED_POLICY, PolicySet, parse_policy, shipped_policy
from arcollect.staff import StaffUser
from arcollect.store.mail import SesMailer
from arcollect.store.portal import PortalObjects
from arcollect.store.repositories import Accounts, Customers
from arcollect.workspace.digest import send_digests
from arcollect.workspace.model import NotAllowed, WorkspaceConflict, WorkspaceInputError
from arcollect.workspace.services import Workspace
from tests.integration.dunning_world import World, sent_emails, utc
from tests.integration.ses_faults import READ_TIMEOUT, THROTTLED, emitted_metric, ses_failing_once

# A Tuesday in March; Berlin is UTC+1, so its 09:00-11:00 send window is 08:00-10:00 UTC.
NOW = utc(2026, 3, 10, 8)
TODAY = NOW.date()
DANA = StaffUser("dana@seller.example", "dana@seller.example", "Dana", frozenset({"collector"}))
MANAGER = StaffUser("collections-manager", "boss@seller.example", "Morgan", frozenset({"manager"}))

ROUTED = """
disputes:
  sla_days: 10
  departments:
    billing: {email: billing@seller.example, reasons: [wrong_amount_or_price, duplicate_invoice], sla_days: 5}
    logistics: {email: logistics@seller.example, reasons: [damaged_or_defective, other]}
team:
  dana@seller.example: {name: Dana, email: dana@seller.example}
  ali: {name: Ali, email: ali@seller.example}
  bo: {name: Bo, email: bo@seller.example}
"""


def policy_with(extra: str, collectors: tuple[str, ...] = ()) -> PolicySet:
    """The shipped policy with ``extra``'s sections instead of its own, and collectors on the catch-all
    segment."""
    document = yaml.safe_load(SHIPPED_POLICY.read_text(encoding="utf-8"))
    document.update(yaml.safe_load(extra))
    if collectors:
        document["segments"][-1]["collectors"] = list(collectors)
    return parse_policy(yaml.safe_dump(document), source="test")


@pytest.fixture
def world(aws: None) -> World:
    world = World(policies=policy_with(ROUTED))
    world.customer("C-1", phone="+49 30 1234")
    # 8 days late on Mar 10: the +7 first call is the latest step due.
    world.invoice("INV-1", invoice_date=date(2026, 2, 1), due_date=date(2026, 3, 2), amount="1200.00")
    world.invoice("INV-2", invoice_date=date(2026, 2, 1), due_date=date(2026, 4, 30), amount="300.00")
    return world


def workspace(world: World) -> Workspace:
    return Workspace(
        policies=lambda: world.policies,
        mailer=SesMailer(configuration_set=os.environ["SES_CONFIGURATION_SET"]),
        sender=os.environ["SENDER_EMAIL"],
        reports=PortalObjects(),
        reports_bucket=os.environ["REPORTS_BUCKET"],
        store=world.workspace,
    )


def call_task(world: World, task_id: str = "call-1", customer_id: str = "C-1", **changes: Any) -> Task:
    task = Task(
        customer_id=customer_id,
        task_id=task_id,
        kind="call",
        title="Call about the late invoice",
        created_at=NOW,
        detail={
            "invoices": "INV-1",
            "past_due_amount": "1200.00",
            "currency": "EUR",
            "oldest_due_on": "2026-03-02",
        },
        assignee=changes.pop("assignee", DANA.username),
        due_on=changes.pop("due_on", TODAY),
        score=changes.pop("score", 40),
        **changes,
    )
    assert world.workspace.tasks.add_task(task)
    return task


def pay(customer_id: str, payment_id: str, number: str, amount: str, day: date) -> None:
    value = Decimal(amount)
    Accounts().add_payments(
        [
            Payment(
                customer_id=customer_id,
                payment_id=payment_id,
                payment_date=day,
                amount=value,
                currency="EUR",
                invoice_number=number,
                applied_amount=value,
                applied_to=number,
            )
        ]
    )


# --- tasks and the worklist ----------------------------------------------------------------------------


def test_a_dunning_task_lands_on_the_owners_worklist_scored_with_reasons_and_a_due_day(world: World) -> None:
    world.tick(NOW)
    [task] = [t for t in world.tasks() if t.kind == "call"]
    assert task.assignee == DANA.username and task.due_on == TODAY + timedelta(days=1) and task.score > 0
    assert task.detail["past_due_amount"] == "1200.00" and task.detail["oldest_due_on"] == "2026-03-02"

    [item] = [i for i in workspace(world).worklist(DANA.username, now=NOW) if i.kind == "call"]
    assert item.customer_name == "Customer C-1" and item.phone == "+49 30 1234"
    assert item.past_due_amount == Decimal("1200.00") and item.days_past_due == 8
    assert {r.factor for r in item.reasons} >= {"amount", "days", "kind"}
    assert item.score == sum(r.points for r in item.reasons)
    assert workspace(world).worklist("somebody-else", now=NOW) == []


def test_the_worklist_puts_what_is_due_first_by_score_and_rescores_with_todays_amounts(world: World) -> None:
    world.customer("C-2", owner=DANA.username, annual_sales=Decimal("50000000"), risk="high")
    world.invoice(
        "B-1", customer_id="C-2", invoice_date=date(2026, 1, 1), due_date=date(2026, 1, 10), amount="90000.00"
    )
    call_task(world, "small")
    big = Task(
        customer_id="C-2", task_id="big", kind="call", title="Call", created_at=NOW,
        detail={"invoices": "B-1"}, assignee=DANA.username, due_on=TODAY, score=0,
    )  # fmt: skip
    later = replace(big, task_id="later", due_on=TODAY + timedelta(days=3))
    assert world.workspace.tasks.add_task(big) and world.workspace.tasks.add_task(later)

    items = workspace(world).worklist(DANA.username, now=NOW)
    assert [i.task_id for i in items] == ["big", "small", "later"]
    assert items[0].score > items[1].score
    # Paid meanwhile: the live invoice says nothing is past due any more, and the task sinks.
    world.change("B-1", customer_id="C-2", open_amount=Decimal(0), status="closed")
    again = {i.task_id: i for i in workspace(world).worklist(DANA.username, now=NOW)}
    dropped = 30 + round(59 * 25 / 90)  # the amount's and the days' points
    assert again["big"].past_due_amount == 0 and again["big"].score == items[0].score - dropped
    assert {r.factor for r in again["big"].reasons} == {"risk", "value", "kind"}


def test_customers_without_an_owner_go_to_the_segments_collectors_in_turn_and_stay_with_one(
    aws: None,
) -> None:
    world = World(policies=policy_with(ROUTED, collectors=("ali", "bo")))
    for n in range(1, 5):
        world.customer(f"C-{n}", owner=None)
        world.invoice(
            f"I-{n}", customer_id=f"C-{n}", invoice_date=date(2026, 2, 1), due_date=date(2026, 3, 2)
        )
    world.tick(NOW)
    assignees = {f"C-{n}": {t.assignee for t in world.tasks(f"C-{n}")} for n in range(1, 5)}
    assert all(len(names) == 1 for names in assignees.values()), assignees
    picked = [next(iter(names)) for names in assignees.values()]
    assert sorted(picked) == ["ali", "ali", "bo", "bo"]
    # Another task later for C-1 goes to the same collector.
    assert world.store.assign_in_turn("C-1", "standard", ("ali", "bo"), NOW) == picked[0]


# --- outcomes ---------------------------------------------------------------------------------------------


def test_reached_closes_the_task_and_writes_the_timeline(world: World) -> None:
    call_task(world)
    receipt = workspace(world).record_outcome(
        "C-1", "call-1", outcome="reached", note="will pay Friday", by=DANA, now=NOW
    )
    assert receipt.task_closed
    task = world.workspace.tasks.task("C-1", "call-1")
    assert task is not None and task.status == "done" and task.outcome == "reached" and task.closed_at == NOW
    assert workspace(world).worklist(DANA.username, now=NOW) == []
    assert any("will pay Friday" in a.summary and a.kind == "call_reached" for a in world.timeline())


def test_voicemail_and_no_answer_retry_on_working_days_and_give_up_after_three_attempts(world: World) -> None:
    call_task(world)
    ws = workspace(world)
    friday = utc(2026, 3, 13, 9)
    first = ws.record_outcome("C-1", "call-1", outcome="voicemail", note="", by=DANA, now=friday)
    assert not first.task_closed and first.follow_up_on == date(2026, 3, 17)  # two working days on
    [item] = ws.worklist(DANA.username, now=friday)
    assert item.attempts == 1 and item.due_on == date(2026, 3, 17)
    second = ws.record_outcome("C-1", "call-1", outcome="no_answer", note="", by=DANA, now=friday)
    assert second.follow_up_on == date(2026, 3, 16)
    third = ws.record_outcome("C-1", "call-1", outcome="no_answer", note="", by=DANA, now=friday)
    assert third.task_closed and ws.worklist(DANA.username, now=friday) == []


def test_a_second_submission_of_the_same_outcome_is_refused_not_applied_twice(world: World) -> None:
    call_task(world)
    ws = workspace(world)
    ws.record_outcome("C-1", "call-1", outcome="reached", note="", by=DANA, now=NOW)
    with pytest.raises(WorkspaceConflict):
        ws.record_outcome("C-1", "call-1", outcome="reached", note="", by=DANA, now=NOW)
    assert sum(1 for a in world.timeline() if a.kind == "call_reached") == 1


def test_promise_taken_on_a_call_pauses_dunning_for_its_invoice(world: World) -> None:
    call_task(world)
    receipt = workspace(world).record_outcome(
        "C-1", "call-1", outcome="promise_taken", note="CFO promised", by=DANA, now=NOW,
        promised_until="2026-03-20", promise_amount="1200.00", invoice_numbers=["INV-1"],
    )  # fmt: skip
    assert receipt.promise is not None and receipt.promise.source == DANA.username
    invoice = world.get("INV-1")
    assert invoice.promise_id == receipt.promise.promise_id and invoice.promised_until == date(2026, 3, 20)
    view = workspace(world).account("C-1", now=NOW)
    assert view.dunning_status["INV-1"].startswith("paused until 2026-03-23")
    # The sweep leaves it alone through the promised date and the grace days.
    world.run(NOW + timedelta(hours=1), utc(2026, 3, 23, 20))
    assert not [e for e in world.emails("C-1") if "INV-1" in e.invoices]


def test_a_crash_after_the_promise_and_before_the_task_is_finished_by_the_retry(world: World) -> None:
    call_task(world)
    ws = workspace(world)
    original = world.workspace.tasks.work_task
    calls = {"n": 0}

    def crash_once(*args: Any) -> bool:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("Lambda timed out")
        return original(*args)

    world.workspace.tasks.work_task = crash_once  # type: ignore[method-assign]
    arguments: dict[str, Any] = {
        "outcome": "promise_taken", "note": "", "by": DANA, "now": NOW,
        "promised_until": "2026-03-20", "promise_amount": "500", "invoice_numbers": ["INV-1"],
    }  # fmt: skip
    with pytest.raises(RuntimeError):
        ws.record_outcome("C-1", "call-1", **arguments)
    receipt = ws.record_outcome("C-1", "call-1", **arguments)
    assert receipt.task_closed
    assert [p.promise_id for p in world.workspace.promises.promises("C-1")] == [receipt.promise.promise_id]  # type: ignore[union-attr]


def test_dispute_logged_on_a_call_stops_dunning_and_notifies_the_department(world: World) -> None:
    call_task(world)
    receipt = workspace(world).record_outcome(
        "C-1", "call-1", outcome="dispute_logged", note="price was 1000, not 1200", by=DANA, now=NOW,
        dispute_reason="wrong_amount_or_price", invoice_numbers=["INV-1"],
    )  # fmt: skip
    assert receipt.dispute_id is not None and world.get("INV-1").disputed
    [dispute] = world.workspace.disputes.disputes("C-1")
    assert dispute.department == "billing" and dispute.sla_days == 5 and dispute.opened_by == DANA.username
    assert dispute.notified_at is not None
    [notice] = [m for m in _raw_sent() if "billing@seller.example" in m]
    assert "price was 1000, not 1200" in notice and "resolve by 2026-03-15" in notice


def test_wrong_contact_flags_the_master_data_and_creates_a_fix_contact_task(world: World) -> None:
    call_task(world)
    receipt = workspace(world).record_outcome(
        "C-1", "call-1", outcome="wrong_contact", note="number is a bakery", by=DANA, now=NOW
    )
    assert receipt.fix_contact_task == "fix-contact-call-1"
    fix = world.workspace.tasks.task("C-1", "fix-contact-call-1")
    assert fix is not None and fix.kind == "fix_contact" and fix.assignee == DANA.username
    customer = Customers().get("C-1")
    assert customer is not None and any("reported wrong by" in line for line in customer.data_quality)


def test_an_outcome_needs_what_it_records(world: World) -> None:
    call_task(world)
    ws = workspace(world)
    with pytest.raises(WorkspaceInputError) as error:
        ws.record_outcome("C-1", "call-1", outcome="sang", note="", by=DANA, now=NOW)
    assert error.value.field == "outcome"
    with pytest.raises(WorkspaceInputError) as error:
        ws.record_outcome(
            "C-1", "call-1", outcome="promise_taken", note="", by=DANA, now=NOW, promise_amount="10"
        )
    assert error.value.field == "promised_until"
    with pytest.raises(WorkspaceInputError) as error:
        ws.record_outcome(
            "C-1", "call-1", outcome="dispute_logged", note="", by=DANA, now=NOW, dispute_reason="bored"
        )
    assert error.value.field == "reason"
    task = world.workspace.tasks.task("C-1", "call-1")
    assert task is not None and task.status == "open" and task.attempts == 0  # nothing half-done


# --- promises kept or broken ----------------------------------------------------------------------------


def test_partial_payments_that_add_up_keep_the_promise_and_dunning_goes_on(world: World) -> None:
    promise = workspace(world).take_promise(
        "C-1", invoice_numbers=["INV-1"], amount="1000.00", promised_until="2026-03-20", by=DANA, now=NOW
    )
    pay("C-1", "P-1", "INV-1", "600.00", date(2026, 3, 15))
    pay("C-1", "P-2", "INV-1", "400.00", date(2026, 3, 19))
    world.change("INV-1", open_amount=Decimal("200.00"))
    world.tick(utc(2026, 3, 24, 8))  # the day after the promised date plus three days' grace
    stored = world.workspace.promises.promise("C-1", promise.promise_id)
    assert stored is not None and stored.status == "kept" and stored.paid_amount == Decimal("1000.00")
    customer = Customers().get("C-1")
    assert customer is not None and customer.promises_kept == 1 and customer.promises_broken == 0
    assert world.get("INV-1").promise_id is None
    assert not [e for e in world.emails("C-1") if e.step.startswith("missed_promise")]


def test_a_promise_short_of_its_amount_is_broken_counted_and_chased(world: World) -> None:
    promise = workspace(world).take_promise(
        "C-1", invoice_numbers=["INV-1"], amount="1000.00", promised_until="2026-03-20", by=DANA, now=NOW
    )
    pay("C-1", "P-1", "INV-1", "300.00", date(2026, 3, 18))
    world.change("INV-1", open_amount=Decimal("900.00"))
    world.tick(utc(2026, 3, 24, 8))
    stored = world.workspace.promises.promise("C-1", promise.promise_id)
    assert stored is not None and stored.status == "broken" and stored.paid_amount == Decimal("300.00")
    customer = Customers().get("C-1")
    assert customer is not None and customer.promises_broken == 1
    assert [e.step for e in world.emails("C-1") if e.step.startswith("missed_promise")]
    risk = workspace(world).account("C-1", now=utc(2026, 3, 24, 9)).risk
    assert risk.promises_broken == 1 and risk.promise_kept_rate == 0.0


def test_a_promised_invoice_paid_in_full_keeps_the_promise_though_it_left_the_open_items(
    world: World,
) -> None:
    promise = workspace(world).take_promise(
        "C-1", invoice_numbers=["INV-1"], amount="1200.00", promised_until="2026-03-20", by=DANA, now=NOW
    )
    from arcollect.ingest.loading import closed_next_action

    paid = replace(world.get("INV-1"), open_amount=Decimal(0), status="closed", paid_date=date(2026, 3, 12))
    world.change("INV-1", open_amount=Decimal(0), status="closed", next_action_at=closed_next_action(paid))
    world.tick(utc(2026, 3, 24, 8))
    stored = world.workspace.promises.promise("C-1", promise.promise_id)
    assert stored is not None and stored.status == "kept"


def test_two_broken_promises_make_the_customer_high_risk_and_raise_the_score(world: World) -> None:
    from arcollect.priority import Factors, risk_class, score

    customer = Customers().get("C-1")
    assert customer is not None and risk_class(customer) == "low"
    risky = replace(customer, promises_kept=0, promises_broken=2)
    assert risk_class(risky) == "high"
    calm, _ = score(Factors("call", Decimal(1000), "EUR", date(2026, 3, 1), 0, None, "low"), TODAY)
    hot, reasons = score(Factors("call", Decimal(1000), "EUR", date(2026, 3, 1), 2, None, "high"), TODAY)
    assert hot - calm == 15 + 15 and {r.factor for r in reasons} >= {"promises", "risk"}


# --- disputes ------------------------------------------------------------------------------------------


def test_the_dispute_workflow_resolved_valid_puts_the_invoice_back_into_dunning(world: World) -> None:
    ws = workspace(world)
    view = ws.log_dispute(
        "C-1", invoice_number="INV-1", reason="damaged_or_defective", comment="crushed", by=DANA, now=NOW
    )
    assert view.department == "logistics" and view.status == "open" and view.sla_days == 10
    assert world.get("INV-1").disputed and world.get("INV-1").next_action_at is None
    with pytest.raises(WorkspaceInputError) as error:
        ws.move_dispute("C-1", view.dispute_id, status="closed", note="", by=DANA, now=NOW)
    assert error.value.field == "status" and "can move to in_review" in error.value.message
    ws.move_dispute("C-1", view.dispute_id, status="in_review", note="asked the warehouse", by=DANA, now=NOW)
    with pytest.raises(WorkspaceInputError) as error:
        ws.move_dispute("C-1", view.dispute_id, status="resolved_valid", note="", by=DANA, now=NOW)
    assert error.value.field == "note"  # a resolution says why
    later = NOW + timedelta(days=2)
    resolved = ws.move_dispute(
        "C-1",
        view.dispute_id,
        status="resolved_valid",
        note="delivered intact, photo on file",
        by=DANA,
        now=later,
    )
    assert resolved.status == "resolved_valid" and resolved.age_days == 2
    invoice = world.get("INV-1")
    assert not invoice.disputed and invoice.next_action_at == later
    dispute_tasks = [t for t in world.tasks() if t.kind == "dispute"]
    assert dispute_tasks and all(t.status == "done" for t in dispute_tasks)
    world.tick(utc(2026, 3, 13, 8))
    assert "first_call" in world.get("INV-1").steps_done  # dunned again: the +7 call is due
    closed = ws.move_dispute("C-1", view.dispute_id, status="closed", note="", by=DANA, now=later)
    assert closed.status == "closed" and ws.disputes(now=later) == []


def test_a_credit_above_the_collectors_limit_is_a_managers_decision(world: World) -> None:
    dispute = workspace(world).log_dispute(
        "C-1", invoice_number="INV-1", reason="wrong_amount_or_price", comment="", by=DANA, now=NOW
    )

    def resolve(ws: Workspace, by: StaffUser, amount: str) -> None:
        ws.move_dispute(
            "C-1",
            dispute.dispute_id,
            status="resolved_credit",
            note="agreed",
            by=by,
            now=NOW,
            credit_amount=amount,
        )

    # With the shipped limit (0), a collector grants no credit at all
    with pytest.raises(NotAllowed, match="manager's decision"):
        resolve(workspace(world), DANA, "50.00")
    # With a limit of 250 in the policy, a collector grants 250 at most; more is refused, nothing written
    world.policies = replace(
        world.policies, settings=replace(world.policies.settings, collector_credit_limit=Decimal("250"))
    )
    with pytest.raises(NotAllowed, match=r"up to 250\.00"):
        resolve(workspace(world), DANA, "250.01")
    assert world.get("INV-1").disputed and world.get("INV-1").open_amount == Decimal("1200.00")
    resolve(workspace(world), DANA, "250.00")
    assert world.get("INV-1").open_amount == Decimal("950.00")


def test_resolved_with_credit_reduces_the_open_amount_and_a_full_credit_settles_it(world: World) -> None:
    ws = workspace(world)
    first = ws.log_dispute(
        "C-1", invoice_number="INV-1", reason="wrong_amount_or_price", comment="", by=DANA, now=NOW
    )
    with pytest.raises(WorkspaceInputError) as error:
        ws.move_dispute(
            "C-1",
            first.dispute_id,
            status="resolved_credit",
            note="agreed",
            by=MANAGER,
            now=NOW,
            credit_amount="5000",
        )
    assert error.value.field == "credit_amount"
    ws.move_dispute(
        "C-1",
        first.dispute_id,
        status="resolved_credit",
        note="agreed 200 off",
        by=MANAGER,
        now=NOW,
        credit_amount="200.00",
    )
    invoice = world.get("INV-1")
    assert invoice.open_amount == Decimal("1000.00") and invoice.is_open and not invoice.disputed
    second = ws.log_dispute(
        "C-1", invoice_number="INV-2", reason="duplicate_invoice", comment="", by=DANA, now=NOW
    )
    ws.move_dispute(
        "C-1",
        second.dispute_id,
        status="resolved_credit",
        note="duplicate",
        by=MANAGER,
        now=NOW,
        credit_amount="300.00",
    )
    settled = world.get("INV-2")
    assert not settled.is_open and settled.next_action_at is None


def test_a_dispute_past_its_sla_is_flagged_overdue_in_the_queue(world: World) -> None:
    ws = workspace(world)
    ws.log_dispute("C-1", invoice_number="INV-1", reason="duplicate_invoice", comment="", by=DANA, now=NOW)
    [fresh] = ws.disputes(now=NOW + timedelta(days=5))
    assert fresh.age_days == 5 and not fresh.overdue
    [late] = ws.disputes(now=NOW + timedelta(days=6))
    assert late.overdue and late.department == "billing"


def test_two_people_moving_one_dispute_at_once_one_wins(world: World) -> None:
    ws = workspace(world)
    view = ws.log_dispute("C-1", invoice_number="INV-1", reason="other", comment="", by=DANA, now=NOW)
    stale = world.workspace.disputes.dispute("C-1", view.dispute_id)
    ws.move_dispute("C-1", view.dispute_id, status="in_review", note="", by=DANA, now=NOW)
    assert stale is not None
    moved = replace(stale, status="resolved_valid")
    assert not world.workspace.disputes.move_dispute(stale, moved, None, None, _activity("x"))


def _activity(activity_id: str) -> Any:
    from arcollect.entities import Activity

    return Activity("C-1", NOW, activity_id, "test", "test")


# --- holds and pauses ------------------------------------------------------------------------------------


def test_a_pause_stops_reminders_until_its_day_and_a_hold_until_released(world: World) -> None:
    ws = workspace(world)
    with pytest.raises(WorkspaceInputError) as error:
        ws.pause("C-1", until="2026-03-01", reason="x", by=DANA, now=NOW)
    assert error.value.field == "until"
    ws.pause("C-1", until="2026-03-16", reason="CFO on holiday", by=DANA, now=NOW)
    world.run(NOW, utc(2026, 3, 16, 20))
    assert world.emails("C-1") == [] and [t for t in world.tasks() if t.kind == "call"] == []
    world.run(utc(2026, 3, 17, 0), utc(2026, 3, 18, 12))
    assert world.emails("C-1")  # the pause ended: dunning resumed

    ws.set_hold("C-1", hold=True, reason="in legal review", by=DANA, now=NOW)
    before = len(world.emails("C-1"))
    world.run(utc(2026, 3, 18, 12), utc(2026, 4, 10, 12))
    assert len(world.emails("C-1")) == before
    customer = Customers().get("C-1")
    assert customer is not None and customer.collector_hold and customer.hold_reason == "in legal review"
    ws.set_hold("C-1", hold=False, reason="", by=DANA, now=NOW)
    assert not Customers().get("C-1").collector_hold  # type: ignore[union-attr]


# --- the 360 view -------------------------------------------------------------------------------------------


def test_the_360_view_has_aging_payments_risk_and_the_whole_timeline(world: World) -> None:
    world.invoice("OLD-1", invoice_date=date(2025, 10, 1), due_date=date(2025, 11, 1), amount="100.00",
                  open_amount="0", status="closed", paid_date=date(2025, 11, 21))  # fmt: skip
    world.invoice("OLD-2", invoice_date=date(2026, 1, 1), due_date=date(2026, 2, 1), amount="100.00",
                  open_amount="0", status="closed", paid_date=date(2026, 3, 3))  # fmt: skip
    pay("C-1", "P-9", "OLD-2", "100.00", date(2026, 3, 3))
    world.tick(NOW)
    ws = workspace(world)
    ws.add_note("C-1", text="Prefers calls after 2pm", by=DANA, now=NOW)
    view = ws.account("C-1", now=NOW)
    assert [i.invoice_number for i in view.open_invoices] == ["INV-1", "INV-2"]
    [eur] = view.aging
    assert eur.buckets["d1_30"] == Decimal("1200.00") and eur.buckets["current"] == Decimal("300.00")
    assert view.risk.average_days_late == 25.0  # 20 and 30 days late
    assert view.risk.recent_average_days_late == 30.0 and view.risk.earlier_average_days_late == 20.0
    assert view.risk.trend == "worsening"
    kinds = {entry.kind for entry in view.timeline}
    assert {
        "note",
        "invoice_issued",
        "payment_received",
        "invoice_settled",
        "task_created",
        "email_sent",
    } <= kinds
    assert view.timeline[0].at >= view.timeline[-1].at
    assert [p.payment_id for p in view.payments] == ["P-9"]
    with pytest.raises(Exception, match="no customer"):
        ws.account("C-404", now=NOW)


# --- managers ---------------------------------------------------------------------------------------


def test_managers_see_the_teams_workload_and_reports_collectors_do_not(world: World) -> None:
    call_task(world)
    call_task(world, "call-2", assignee="ali", due_on=TODAY - timedelta(days=2))
    ws = workspace(world)
    with pytest.raises(NotAllowed):
        ws.team_workload(DANA, now=NOW)
    loads = {load.assignee: load for load in ws.team_workload(MANAGER, now=NOW)}
    assert loads["ali"].overdue_tasks == 1 and loads[DANA.username].due_today == 1
    assert loads["ali"].past_due == {"EUR": Decimal("1200.00")}
    s3 = boto3.client("s3")
    s3.put_object(Bucket=os.environ["REPORTS_BUCKET"], Key="kpi/2026-03-09/kpis.json", Body=b"{}")
    s3.put_object(Bucket=os.environ["REPORTS_BUCKET"], Key="other/x.json", Body=b"{}")
    [report] = ws.reports(MANAGER, now=NOW)
    assert report.key == "kpi/2026-03-09/kpis.json" and "Signature=" in report.url
    with pytest.raises(NotAllowed):
        ws.reports(DANA, now=NOW)


def test_the_daily_digest_goes_once_to_each_collector_with_an_address(world: World) -> None:
    call_task(world)
    call_task(world, "call-2", assignee="nobody-known")
    ws = workspace(world)
    mailer = SesMailer(configuration_set=os.environ["SES_CONFIGURATION_SET"])
    arguments: dict[str, Any] = {
        "claims": world.workspace.digests, "tasks": world.workspace.tasks, "worklists": ws,
        "policies": world.policies, "mailer": mailer,
        "sender": os.environ["SENDER_EMAIL"], "console_url": "https://portal.example.com/staff/worklist",
    }  # fmt: skip
    report = send_digests(now=utc(2026, 3, 10, 6), **arguments)
    assert report.sent == [DANA.username] and report.no_address == ["nobody-known"]
    again = send_digests(now=utc(2026, 3, 10, 7), **arguments)
    assert again.sent == [] and again.already_sent == [DANA.username]
    [digest] = [m for m in _raw_sent() if "worklist for 2026-03-10" in m]
    assert "Customer C-1" in digest and "https://portal.example.com/staff/worklist" in digest


def _digest_arguments(world: World, mailer: SesMailer | None = None) -> dict[str, Any]:
    return {
        "claims": world.workspace.digests, "tasks": world.workspace.tasks, "worklists": workspace(world),
        "policies": world.policies,
        "mailer": mailer or SesMailer(configuration_set=os.environ["SES_CONFIGURATION_SET"]),
        "sender": os.environ["SENDER_EMAIL"], "console_url": None,
    }  # fmt: skip


def _digests_sent() -> int:
    return len([m for m in _raw_sent() if "worklist for 2026-03-10" in m])


def _digest_claim(assignee: str) -> Any:
    from arcollect.store import keys
    from arcollect.store.models import DigestItem

    try:
        return DigestItem.get(keys.digest_pk("2026-03-10"), assignee, consistent_read=True)
    except DigestItem.DoesNotExist:
        return None


def test_a_digest_ses_throttled_after_the_claim_is_released_and_the_retry_sends_it_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given SES throttles the first digest after it was claimed
    call_task(world)
    ses_failing_once(monkeypatch, THROTTLED, accepted=False)
    first = send_digests(now=utc(2026, 3, 10, 6), **_digest_arguments(world))
    # Then nothing went, the claim is released and the tick is told to fail (its retry sends it)
    assert first.failed == [DANA.username] and first.not_accepted == [DANA.username]
    assert _digests_sent() == 0 and _digest_claim(DANA.username) is None
    # When the tick is retried, and repeated once more
    retried = send_digests(now=utc(2026, 3, 10, 6), **_digest_arguments(world))
    again = send_digests(now=utc(2026, 3, 10, 6), **_digest_arguments(world))
    # Then exactly one digest went, its claim completed with SES's message id
    assert retried.sent == [DANA.username] and again.already_sent == [DANA.username]
    assert _digests_sent() == 1
    claim = _digest_claim(DANA.username)
    assert claim.status == "sent" and claim.message_id


def test_a_digest_whose_ses_answer_was_lost_is_in_doubt_and_never_sent_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given SES takes the digest but its answer is lost (a read timeout): it may have gone
    call_task(world)
    ses_failing_once(monkeypatch, READ_TIMEOUT, accepted=True)
    first = send_digests(now=utc(2026, 3, 10, 6), **_digest_arguments(world))
    # Then it is reported in doubt, the claim kept and flagged, and the retry sends nothing
    assert first.in_doubt == [DANA.username] and first.sent == [] and first.not_accepted == []
    assert _digest_claim(DANA.username).status == "in_doubt"
    retried = send_digests(now=utc(2026, 3, 10, 6), **_digest_arguments(world))
    assert retried.sent == [] and retried.already_sent == [DANA.username] and retried.in_doubt == []
    assert _digests_sent() == 1


def test_a_crash_between_the_digests_claim_and_ses_loses_it_and_the_retry_reports_it_in_doubt(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At most once: a run that died after claiming cannot be told from one that SES answered, so the
    digest is not sent again; the retry finds the claim unfinished and reports it in doubt (with no lease
    it cannot tell a dead run from one still sending: that one would still complete or release it)."""
    from arcollect.store.digests import DigestLedger
    from tests.integration.dunning_world import Crash

    call_task(world)
    claim = DigestLedger.claim_digest

    def claim_then_die(self: DigestLedger, *args: Any, **kwargs: Any) -> Any:
        claim(self, *args, **kwargs)
        raise Crash("the process dies after the claim")

    with monkeypatch.context() as patch:
        patch.setattr(DigestLedger, "claim_digest", claim_then_die)
        with pytest.raises(Crash):
            send_digests(now=utc(2026, 3, 10, 6), **_digest_arguments(world))
    retried = send_digests(now=utc(2026, 3, 10, 6), **_digest_arguments(world))
    assert retried.in_doubt == [DANA.username] and retried.sent == []
    assert _digest_claim(DANA.username).status == "in_doubt" and _digests_sent() == 0
    # Reported once: a later run finds it as it was left
    assert send_digests(now=utc(2026, 3, 10, 7), **_digest_arguments(world)).already_sent == [DANA.username]


def _policy_to_drop_bucket(world: World) -> None:
    boto3.client("s3").put_object(
        Bucket=os.environ["DROP_BUCKET"],
        Key="config/dunning-policy.yaml",
        Body=yaml.safe_dump(
            yaml.safe_load(SHIPPED_POLICY.read_text(encoding="utf-8")) | yaml.safe_load(ROUTED)
        ).encode(),
    )


def test_the_dunning_function_fails_a_throttled_digest_run_for_its_retry_and_counts_one_in_doubt(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from arcollect.workspace.digest import DigestsNotSent
    from tests.integration.conftest import invoke

    call_task(world)
    _policy_to_drop_bucket(world)
    event = {"action": "digest", "at": "2026-03-10T06:00:00Z"}
    # A throttled SES fails the invocation (Lambda's retry runs it again), and the retry sends it once
    with monkeypatch.context() as patch:
        ses_failing_once(patch, THROTTLED, accepted=False)
        with pytest.raises(DigestsNotSent):
            invoke("dunning", event)
    assert invoke("dunning", event)["sent"] == [DANA.username]
    assert invoke("dunning", event)["already_sent"] == [DANA.username] and _digests_sent() == 1
    # A lost answer the next day: the result and the DigestsInDoubt metric say so, nothing is resent
    call_task(world, "call-2")
    next_day = {"action": "digest", "at": "2026-03-11T06:00:00Z"}
    capsys.readouterr()
    with monkeypatch.context() as patch:
        ses_failing_once(patch, READ_TIMEOUT, accepted=True)
        result = invoke("dunning", next_day)
    assert result["in_doubt"] == [DANA.username] and result["sent"] == []
    out = capsys.readouterr().out
    assert emitted_metric(out, "DigestsInDoubt") == 1
    [logged] = [r for r in caplog.records if r.getMessage().startswith("digest in doubt")]
    assert DANA.username not in str(vars(logged))  # no address in the log
    assert invoke("dunning", next_day)["in_doubt"] == []
    assert len([m for m in _raw_sent() if "worklist for 2026-03-11" in m]) == 1


def _raw_sent() -> list[str]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    backend = ses_backends[DEFAULT_ACCOUNT_ID][os.environ["AWS_DEFAULT_REGION"]]
    return [raw.raw_data for raw in backend.sent_messages]


def test_the_shipped_policy_routes_every_dispute_reason() -> None:
    from arcollect.entities import DisputeReason

    routing = shipped_policy().disputes
    assert all(routing.route(reason.value) is not None for reason in DisputeReason)


def test_a_task_nobody_was_given_is_on_the_unassigned_list_managers_see(world: World) -> None:
    from arcollect.entities import Customer

    placeholder = Customer(customer_id="C-9", name="C-9", email="", placeholder=True)
    task = Task("C-9", "complete_master_data", "complete_master_data", "Complete the master data", NOW)
    assert Accounts().add_placeholder(placeholder, task)
    [item] = workspace(world).worklist("unassigned", now=NOW)
    assert item.task_id == "complete_master_data" and item.due_on == TODAY
    loads = {load.assignee for load in workspace(world).team_workload(MANAGER, now=NOW)}
    assert "unassigned" in loads


__all__ = ["sent_emails"]
