"""Payment plans a collector agrees with a customer (on a call, or on their own): checked by the rules
the portal shares (``arcollect.plans``) without the policy's limits for customers (a collector may
agree more), recorded once with their invoices, timeline entry and the ERP's change."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from arcollect import changes
from arcollect.calendar import resolve_zone
from arcollect.entities import Activity
from arcollect.inputs import InputError
from arcollect.plans import (
    PaymentPlan,
    PlanStatus,
    RequestedInstalment,
    Standing,
    agreed_activity,
    cancelled_activity,
    checked_plan,
    first_look,
    limits_of,
    standing,
)
from arcollect.staff import StaffUser
from arcollect.store.plan_book import PlanBook
from arcollect.workspace.desk import Desk, checked_text
from arcollect.workspace.model import WorkspaceConflict, WorkspaceInputError, WorkspaceNotFound

_BOOK = PlanBook()


def agree_plan(
    desk: Desk,
    customer_id: str,
    *,
    invoice_numbers: Sequence[str],
    instalments: Sequence[RequestedInstalment] | None = None,
    count: str | int | None = None,
    first_due: str | None = None,
    every_days: str | int | None = None,
    by: StaffUser,
    now: datetime,
    book: PlanBook = _BOOK,
    replaces: str | None = None,
    reason: str | None = None,
) -> PaymentPlan:
    """Agree a plan for the customer's ``invoice_numbers``: the explicit ``instalments``, or ``count``
    equal ones every ``every_days`` days from ``first_due``. The same request again (a retry, a double
    click) returns the plan it made. ``replaces``: renegotiate that open or broken plan (it is cancelled
    with ``reason`` and the new one agreed in its place, in one transaction)."""
    customer = desk.customer(customer_id)
    policies = desk.policies()
    old: PaymentPlan | None = None
    if replaces and replaces.strip():
        old = book.plan(customer.customer_id, replaces.strip())
        if old is None:
            raise WorkspaceInputError("replaces", f"no payment plan {replaces.strip()} on this account")
    why = checked_text(reason or "", "reason")
    try:
        plan = checked_plan(
            customer.customer_id,
            invoice_numbers=invoice_numbers,
            lookup=lambda number: desk.store.invoice(customer.customer_id, number),
            instalments=instalments,
            count=count,
            first_due=first_due,
            every_days=every_days,
            today=desk.today(now, customer),
            now=now,
            source=by.username,
            limits=None,
            replacing=old.plan_id if old else None,
        )
    except InputError as error:
        raise WorkspaceInputError(error.field, error.message) from None
    existing = book.plan(customer.customer_id, plan.plan_id)
    if existing is not None:
        return existing
    activity = agreed_activity(plan, by=by.name)
    limits = limits_of(policies)
    look = desk.calendar.day_start(first_look(plan, limits=limits), _zone(desk, customer.time_zone))
    if old is not None:
        _renegotiate(desk, old, plan, look, activity, reason=why, by=by, now=now, book=book)
        return plan
    if not book.make_plan(plan, look, activity):
        existing = book.plan(customer.customer_id, plan.plan_id)
        if existing is not None:
            return existing
        raise WorkspaceConflict("one of the invoices changed meanwhile: reload and try again")
    changes.publish(desk.change_feed, activity.changes)
    return plan


def plans_of(desk: Desk, customer_id: str, *, now: datetime, book: PlanBook = _BOOK) -> list[PlanView]:
    """The customer's plans, newest first, each with where it stands today."""
    customer = desk.customer(customer_id)
    policies = desk.policies()
    today = desk.today(now, customer)
    plans = book.plans(customer_id)
    if not plans:
        return []
    payments = book.payments(customer_id)
    views = []
    for plan in reversed(plans):
        invoices = [i for n in plan.invoice_numbers if (i := desk.store.invoice(customer_id, n)) is not None]
        state = standing(
            plan,
            invoices=invoices,
            payments=payments,
            today=today,
            grace_days=policies.settings.promise_grace_days,
        )
        views.append(PlanView(plan, state))
    return views


class PlanView:
    """A plan and where it stands (its status as recorded; the instalments as paid today)."""

    def __init__(self, plan: PaymentPlan, state: Standing) -> None:
        self.plan = plan
        self.state = state

    @property
    def status(self) -> str:
        return self.plan.status


def _zone(desk: Desk, zone_name: str | None) -> ZoneInfo:
    zone, _ = resolve_zone(zone_name, desk.policies().settings.time_zone)
    return zone


# A renegotiation writes the old plan, the new one, both timeline entries with their changes and one
# update per invoice in one DynamoDB transaction: at most 100 writes (TRANSACTION_ITEMS, store/base.py;
# the TransactWriteItems limit in the DynamoDB developer guide). Beyond it: cancel, then agree.
_RENEGOTIATION_WRITES = 100 - 8


def _renegotiate(
    desk: Desk,
    old: PaymentPlan,
    new: PaymentPlan,
    look: datetime,
    activity: Activity,
    *,
    reason: str,
    by: StaffUser,
    now: datetime,
    book: PlanBook,
) -> None:
    if old.status not in (PlanStatus.OPEN.value, PlanStatus.BROKEN.value):
        raise WorkspaceInputError(
            "replaces",
            f"payment plan {old.plan_id} is {old.status}: only an open or broken plan is renegotiated",
        )
    marked = _marked(desk, old)
    if len(set(marked) | set(new.invoice_numbers)) > _RENEGOTIATION_WRITES:
        raise WorkspaceInputError(
            "replaces", "too many invoices to renegotiate at once: cancel the plan, then agree the new one"
        )
    released = [n for n in marked if n not in new.invoice_numbers]
    why = reason or "renegotiated"
    cancelled = cancelled_activity(
        old, at=now, by=by.username, by_name=by.name, reason=f"{why}; replaced by plan {new.plan_id}",
        released=released,
    )  # fmt: skip
    agreed = replace(activity, summary=f"{activity.summary}; it replaces payment plan {old.plan_id}")
    if not book.cancel_plan(old, now, marked, cancelled, replacement=(new, look, agreed)):
        if book.plan(new.customer_id, new.plan_id) is not None:
            return  # a concurrent retry of the same renegotiation made it
        raise WorkspaceConflict("the plan or one of the invoices changed meanwhile: reload and try again")
    changes.publish(desk.change_feed, (*cancelled.changes, *agreed.changes))


def cancel_plan(
    desk: Desk,
    customer_id: str,
    plan_id: str,
    *,
    reason: str,
    by: StaffUser,
    now: datetime,
    book: PlanBook = _BOOK,
) -> PaymentPlan:
    """Cancel the customer's open plan ``plan_id`` with ``reason``: its invoices go back to the regular
    reminders from now, with the timeline entry and the ERP's ``plan_cancelled`` change, at once. The
    same request again (a retry, a double click) returns the plan cancelled."""
    customer = desk.customer(customer_id)
    why = checked_text(reason, "reason", required=True)
    plan = book.plan(customer.customer_id, (plan_id or "").strip())
    if plan is None:
        raise WorkspaceNotFound(f"no payment plan {plan_id} on customer {customer.customer_id}")
    if plan.status == PlanStatus.CANCELLED.value:
        return plan
    if plan.status != PlanStatus.OPEN.value:
        raise WorkspaceInputError(
            "reason",
            f"the plan is {plan.status} already: only an open plan is cancelled (renegotiate it instead)",
        )
    marked = _marked(desk, plan)
    activity = cancelled_activity(plan, at=now, by=by.username, by_name=by.name, reason=why, released=marked)
    if not book.cancel_plan(plan, now, marked, activity):
        again = book.plan(customer.customer_id, plan.plan_id)
        if again is not None and again.status == PlanStatus.CANCELLED.value:
            return again
        raise WorkspaceConflict("the plan or one of its invoices changed meanwhile: reload and try again")
    changes.publish(desk.change_feed, activity.changes)
    return replace(plan, status=PlanStatus.CANCELLED.value, settled_at=now)


def _marked(desk: Desk, plan: PaymentPlan) -> list[str]:
    """The plan's invoices that still carry its id (one that left it disputed, or was settled and
    released, is not the plan's to give up)."""
    return [
        number
        for number in plan.invoice_numbers
        if (invoice := desk.store.invoice(plan.customer_id, number)) is not None
        and invoice.promise_id == plan.plan_id
    ]
