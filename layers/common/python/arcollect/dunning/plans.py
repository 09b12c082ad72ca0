"""The sweep's part in payment plans (arcollect/plans.py): before the engine plans a customer, each open
plan its due invoices belong to is settled from the payments and the invoices as they are now.

- Every instalment paid (or nothing open any more): the plan is completed and its invoices released,
  with its timeline entry and the ERP's ``plan_completed`` change, in one transaction.
- The current instalment not paid by its due date plus ``promise_grace_days``: the plan is broken (its
  entry and ``plan_broken`` change); its invoices keep the plan's id with the missed instalment's date,
  which the engine treats as a broken promise: the ``plan_broken`` email (naming the missed instalment's
  date and what is still open of it) and a high-priority call for the owner, once each through the touch
  ledger, then the regular steps from the next day.
- Otherwise the current instalment (the first not paid in full) is what the engine reminds: its
  invoices are moved on to its due date when an earlier one was paid.

Settling is idempotent: the plan's status moves from open once (a conditional write), so a repeated or
parallel tick records it once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Protocol

from arcollect import changes
from arcollect.calendar import local_today
from arcollect.changes import ChangeFeed
from arcollect.entities import Activity, Customer, Invoice, Payment, is_plan_id
from arcollect.plans import (
    InstalmentReminder,
    PaymentPlan,
    PlanStatus,
    limits_of,
    missed_reminder,
    reminder_for,
    settled_activity,
    standing,
)
from arcollect.policy import PolicySet


class PlanLedger(Protocol):
    """The plans' storage (store/plan_book.py)."""

    def plan(self, customer_id: str, plan_id: str) -> PaymentPlan | None: ...

    def payments(self, customer_id: str) -> list[Payment]: ...

    def move_to(self, plan: PaymentPlan, due_date: date, numbers: Sequence[str]) -> None: ...

    def settle_plan(
        self,
        plan: PaymentPlan,
        status: PlanStatus,
        at: datetime,
        numbers: Sequence[str],
        activity: Activity,
        *,
        missed: tuple[int, date] | None = None,
    ) -> bool: ...


def _awaits_broken_email(invoice: Invoice, plan_id: str) -> bool:
    # The engine's missed-promise step of the plan (dunning/engine.py: ``missed_promise#<plan id>``).
    return invoice.promise_id == plan_id and f"missed_promise#{plan_id}" not in invoice.steps_done


def settle_plans(
    customer_id: str,
    customer: Customer | None,
    invoices: Sequence[Invoice],
    *,
    now: datetime,
    policies: PolicySet,
    book: PlanLedger,
    read: Callable[[str, Iterable[str]], list[Invoice]],
    change_feed: ChangeFeed | None,
    outcomes: Counter[str],
    dry_run: bool = False,
) -> tuple[list[Invoice], list[InstalmentReminder]]:
    """Settle the open plans of ``invoices`` (see the module docstring). Returns the invoices as the
    engine should now see them, and the current instalments it reminds. ``read`` reads a customer's
    invoices by number (the plan's invoices that are not due in this tick decide too). ``dry_run``
    (a preview) writes nothing: the same invoices and reminders, nothing settled or moved."""
    plan_ids = sorted({i.promise_id for i in invoices if i.promise_id and is_plan_id(i.promise_id)})
    if not plan_ids:
        return list(invoices), []
    settings = policies.settings
    grace, limits = settings.promise_grace_days, limits_of(policies)
    today = local_today(customer.time_zone if customer else None, now, settings.time_zone)
    payments = book.payments(customer_id)
    seen: dict[str, Invoice] = {}
    reminders: list[InstalmentReminder] = []
    for plan_id in plan_ids:
        plan = book.plan(customer_id, plan_id)
        if plan is None or plan.status not in (PlanStatus.OPEN.value, PlanStatus.BROKEN.value):
            continue  # a completed or cancelled plan's invoices are free
        if plan.status == PlanStatus.BROKEN.value:
            # A broken plan's invoices are the engine's missed promise: its email (``plan_broken``)
            # names the missed instalment, read until every invoice has had it.
            if any(_awaits_broken_email(i, plan_id) for i in invoices):
                covered = read(customer_id, plan.invoice_numbers)
                state = standing(plan, invoices=covered, payments=payments, today=today, grace_days=grace)
                missed_one = missed_reminder(plan, state, grace_days=grace)
                if missed_one is not None:
                    reminders.append(missed_one)
            continue
        covered = read(customer_id, plan.invoice_numbers)
        state = standing(plan, invoices=covered, payments=payments, today=today, grace_days=grace)
        marked = [i.invoice_number for i in covered if i.promise_id == plan.plan_id]
        if state.status is PlanStatus.COMPLETED:
            activity = settled_activity(plan, state, now)
            if not dry_run and book.settle_plan(plan, PlanStatus.COMPLETED, now, marked, activity):
                outcomes["plan_completed"] += 1
                changes.publish(change_feed, activity.changes)
            for invoice in invoices:
                if invoice.promise_id == plan.plan_id:
                    seen[invoice.invoice_number] = replace(invoice, promised_until=None, promise_id=None)
        elif state.status is PlanStatus.BROKEN and state.missed is not None:
            missed = state.missed.instalment
            activity = settled_activity(plan, state, now)
            if not dry_run and book.settle_plan(
                plan, PlanStatus.BROKEN, now, marked, activity, missed=(missed.number, missed.due_date)
            ):
                outcomes["plan_broken"] += 1
                changes.publish(change_feed, activity.changes)
            for invoice in invoices:
                if invoice.promise_id == plan.plan_id:
                    seen[invoice.invoice_number] = replace(invoice, promised_until=missed.due_date)
            missed_one = missed_reminder(
                replace(plan, missed_instalment=missed.number), state, grace_days=grace
            )
            if missed_one is not None:
                reminders.append(missed_one)
        else:
            reminder = reminder_for(plan, state, limits=limits, grace_days=grace)
            if reminder is None:
                continue
            due = reminder.due_date
            if not dry_run and any(i.promised_until != due for i in covered if i.promise_id == plan.plan_id):
                book.move_to(plan, due, marked)
                outcomes["plan_instalment_moved"] += 1
            for invoice in invoices:
                if invoice.promise_id == plan.plan_id:
                    seen[invoice.invoice_number] = replace(invoice, promised_until=due)
            reminders.append(reminder)
    return [seen.get(invoice.invoice_number, invoice) for invoice in invoices], reminders
