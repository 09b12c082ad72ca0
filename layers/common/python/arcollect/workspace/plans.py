"""Payment plans a collector agrees with a customer (on a call, or on their own): checked by the rules
the portal shares (``arcollect.plans``) without the policy's limits for customers (a collector may
agree more), recorded once with their invoices, timeline entry and the ERP's change."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from arcollect import changes
from arcollect.calendar import resolve_zone
from arcollect.inputs import InputError
from arcollect.plans import (
    PaymentPlan,
    RequestedInstalment,
    Standing,
    agreed_activity,
    checked_plan,
    first_look,
    limits_of,
    standing,
)
from arcollect.staff import StaffUser
from arcollect.store.plan_book import PlanBook
from arcollect.workspace.desk import Desk
from arcollect.workspace.model import WorkspaceConflict, WorkspaceInputError

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
) -> PaymentPlan:
    """Agree a plan for the customer's ``invoice_numbers``: the explicit ``instalments``, or ``count``
    equal ones every ``every_days`` days from ``first_due``. The same request again (a retry, a double
    click) returns the plan it made."""
    customer = desk.customer(customer_id)
    policies = desk.policies()
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
        )
    except InputError as error:
        raise WorkspaceInputError(error.field, error.message) from None
    existing = book.plan(customer.customer_id, plan.plan_id)
    if existing is not None:
        return existing
    activity = agreed_activity(plan, by=by.name)
    limits = limits_of(policies)
    look = desk.calendar.day_start(first_look(plan, limits=limits), _zone(desk, customer.time_zone))
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
