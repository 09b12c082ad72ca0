"""Promises to pay: the rules the portal, the staff console and the sweep share.

A promise is checked the same way whoever states it (the customer in the portal, a collector on a call):
open, undisputed, unpromised invoices of one customer in one currency, an amount up to their open total,
a date from today up to the policy's limit. Dunning looks at its invoices again the day after the
promised date plus the grace days.

A promise is kept when the payments applied to its invoices from the day it was made until its date
plus the grace days add up to the promised amount (partial payments count towards it), or when every
one of its invoices is settled by then. It is broken when the date and grace pass short of that. The
sweep settles a promise when its invoices come due again at the end of the pause (a closed invoice
with an open promise stays in the sweep's index for this); a kept promise lets its invoices go back to
the regular steps, a broken one gets the missed-promise email and call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from arcollect.calendar import Calendar, resolve_zone
from arcollect.entities import DocumentType, Invoice, Payment, Promise, is_plan_id
from arcollect.inputs import InputError, parse_amount
from arcollect.money import plain

if TYPE_CHECKING:
    from arcollect.policy import PolicySet

# A promise may name a date at most this many days ahead (the policy's `max_promise_days` overrides).
MAX_PROMISE_DAYS = 30
MAX_PROMISE_INVOICES = 50


class PromiseStatus(StrEnum):
    OPEN = "open"
    KEPT = "kept"
    BROKEN = "broken"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Settlement:
    status: PromiseStatus  # OPEN while neither kept nor past its date and grace
    paid_amount: Decimal


def paid_towards(promise: Promise, payments: Iterable[Payment], deadline: date) -> Decimal:
    """What was paid to the promise's invoices between the promise and ``deadline`` (inclusive): of a
    payment of several invoices, the parts applied to the promise's."""
    numbers = set(promise.invoice_numbers)
    start = promise.created_at.date()
    return sum(
        (
            application.amount
            for payment in payments
            if start <= payment.payment_date <= deadline
            for application in payment.applications
            if application.invoice_number in numbers
        ),
        Decimal(0),
    )


def settle(
    promise: Promise,
    *,
    invoices: Iterable[Invoice],
    payments: Iterable[Payment],
    today: date,
    grace_days: int,
) -> Settlement:
    deadline = promise.promised_until + timedelta(days=grace_days)
    paid = paid_towards(promise, payments, min(today, deadline))
    wanted = [invoice for invoice in invoices if invoice.invoice_number in promise.invoice_numbers]
    all_settled = bool(wanted) and all(not invoice.is_open for invoice in wanted)
    promised = promise.amount
    if all_settled or (promised is not None and paid >= promised):
        return Settlement(PromiseStatus.KEPT, paid)
    if today > deadline:
        return Settlement(PromiseStatus.BROKEN, paid)
    return Settlement(PromiseStatus.OPEN, paid)


def kept_rate(kept: int, broken: int) -> float | None:
    settled = kept + broken
    return kept / settled if settled else None


def promise_to_pay(
    promise: Promise, *, policies: PolicySet, calendar: Calendar, zone_name: str | None
) -> datetime:
    """When a promise's invoices are next looked at: the day after the promised date plus grace."""
    zone, _ = resolve_zone(zone_name, policies.settings.time_zone)
    end = promise.promised_until + timedelta(days=policies.settings.promise_grace_days + 1)
    return calendar.day_start(end, zone)


def parse_promise_date(text: str, *, today: date, max_days: int) -> date:
    try:
        day = date.fromisoformat((text or "").strip())
    except ValueError as error:
        raise InputError("promised_until", "enter a date as YYYY-MM-DD") from error
    if day < today:
        raise InputError("promised_until", "the date cannot be in the past")
    latest = today + timedelta(days=max_days)
    if day > latest:
        raise InputError(
            "promised_until", f"the date can be at most {max_days} days ahead ({latest.isoformat()})"
        )
    return day


def checked_promise(
    customer_id: str,
    *,
    invoice_numbers: list[str],
    lookup: Callable[[str], Invoice | None],
    amount: str,
    promised_until: str,
    today: date,
    policies: PolicySet,
    promise_id: str,
    now: datetime,
    source: str,
) -> Promise:
    """A promise to pay as the customer (portal) or a collector (staff console) stated it, checked:
    open, undisputed, unpromised invoices of this customer in one currency, an amount up to their open
    total, a date from today up to the policy's limit. Raises InputError naming the field."""
    numbers = list(dict.fromkeys(n.strip() for n in invoice_numbers or [] if n and n.strip()))
    if not numbers:
        raise InputError("invoice_numbers", "choose at least one invoice")
    if len(numbers) > MAX_PROMISE_INVOICES:
        raise InputError("invoice_numbers", f"at most {MAX_PROMISE_INVOICES} invoices per promise")
    invoices: list[Invoice] = []
    for number in numbers:
        invoice = lookup(number)
        if invoice is None or invoice.customer_id != customer_id:
            raise InputError("invoice_numbers", f"invoice {number} is not on your account")
        if not invoice.is_open:
            raise InputError("invoice_numbers", f"invoice {number} is already settled")
        if invoice.document_type != DocumentType.INVOICE.value:
            raise InputError("invoice_numbers", f"{number} is a credit note: there is nothing to pay")
        if invoice.disputed:
            raise InputError("invoice_numbers", f"invoice {number} is disputed")
        if invoice.agency:
            raise InputError(
                "invoice_numbers", f"invoice {number} is with the collection agency {invoice.agency}"
            )
        if is_plan_id(invoice.promise_id):
            raise InputError("invoice_numbers", f"invoice {number} is in a payment plan: pay its instalments")
        if invoice.promise_id is not None:
            by = invoice.promised_until.isoformat() if invoice.promised_until else "a date"
            raise InputError("invoice_numbers", f"invoice {number} already has a promise to pay by {by}")
        invoices.append(invoice)
    currencies = sorted({invoice.currency for invoice in invoices})
    if len(currencies) > 1:
        raise InputError(
            "invoice_numbers", f"choose invoices in one currency ({', '.join(currencies)} were chosen)"
        )
    currency = currencies[0]
    value = parse_amount(amount, currency)
    total = sum((invoice.open_amount for invoice in invoices), Decimal(0))
    if value > total:
        raise InputError(
            "amount",
            f"the amount is more than the open total of the chosen invoices "
            f"({plain(total, currency)} {currency})",
        )
    max_days = int(getattr(policies.settings, "max_promise_days", None) or MAX_PROMISE_DAYS)
    until = parse_promise_date(promised_until, today=today, max_days=max_days)
    promise = Promise(
        customer_id=customer_id,
        promise_id=promise_id,
        invoice_numbers=tuple(numbers),
        promised_until=until,
        created_at=now,
        amount=value,
        currency=currency,
        source=source,
    )
    return promise
