"""Payment plans a customer agrees in the portal: within the policy's limits for customers
(``settings.payment_plans``; beyond one, an InputError that names the limit), checked by the rules the
staff console shares (``arcollect.plans``), recorded once with their invoices, timeline entry and the
ERP's change. The same request again (a double click, a client's retry) answers the plan it made."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING

from arcollect import changes
from arcollect.calendar import Calendar, resolve_zone
from arcollect.changes import ChangeFeed
from arcollect.entities import Customer, Invoice
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
from arcollect.store.plan_book import PlanBook

if TYPE_CHECKING:
    # A type only: the policy is parsed (and its module loaded) by the first request that reads it.
    from arcollect.policy import PolicySet

_BOOK = PlanBook()


def agree(
    customer: Customer,
    *,
    lookup: Callable[[str], Invoice | None],
    policies: PolicySet,
    calendar: Calendar,
    change_feed: ChangeFeed | None,
    invoice_numbers: Sequence[str],
    instalments: Sequence[RequestedInstalment] | None,
    count: str | int | None,
    first_due: str | None,
    every_days: str | int | None,
    today: date,
    now: datetime,
    book: PlanBook = _BOOK,
) -> PaymentPlan:
    """The customer's plan, checked against the policy's limits and recorded (see the module)."""
    limits = limits_of(policies)
    plan = checked_plan(
        customer.customer_id,
        invoice_numbers=invoice_numbers,
        lookup=lookup,
        instalments=instalments,
        count=count,
        first_due=first_due,
        every_days=every_days,
        today=today,
        now=now,
        source="portal",
        limits=limits,
    )
    existing = book.plan(customer.customer_id, plan.plan_id)
    if existing is not None:
        return existing
    activity = agreed_activity(plan, by="The customer (portal)")
    zone, _ = resolve_zone(customer.time_zone, policies.settings.time_zone)
    look = calendar.day_start(first_look(plan, limits=limits), zone)
    if not book.make_plan(plan, look, activity):
        existing = book.plan(customer.customer_id, plan.plan_id)
        if existing is not None:
            return existing
        raise InputError(
            "invoice_numbers", "one of the invoices changed meanwhile: reload the page and try again"
        )
    changes.publish(change_feed, activity.changes)
    return plan


def standings(
    customer_id: str,
    *,
    lookup: Callable[[str], Invoice | None],
    today: date,
    grace_days: int,
    book: PlanBook = _BOOK,
) -> list[tuple[PaymentPlan, Standing]]:
    """The customer's plans, newest first, each with its instalments as paid today."""
    plans = book.plans(customer_id)
    if not plans:
        return []
    payments = book.payments(customer_id)
    found = []
    for plan in reversed(plans):
        invoices = [i for n in plan.invoice_numbers if (i := lookup(n)) is not None]
        found.append(
            (plan, standing(plan, invoices=invoices, payments=payments, today=today, grace_days=grace_days))
        )
    return found
