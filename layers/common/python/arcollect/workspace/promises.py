"""Promises to pay, kept or broken, decided from payments.

A promise is kept when the payments applied to its invoices from the day it was made until its date
plus the grace days add up to the promised amount (partial payments count towards it), or when every
one of its invoices is settled by then. It is broken when the date and grace pass short of that. The
sweep settles a promise when its invoices come due again at the end of the pause (a closed invoice
with an open promise stays in the sweep's index for this); a kept promise lets its invoices go back to
the regular steps, a broken one gets the missed-promise email and call.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from arcollect.entities import Invoice, Payment, Promise
from arcollect.workspace.model import PromiseStatus


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
