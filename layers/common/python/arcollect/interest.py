"""Statutory late-payment charges: interest on a late invoice and the fixed compensation per invoice.

arcollect computes what the law (or the policy) allows a company to charge; the company decides whether
to claim it. Nothing here adds a charge to what arcollect asks a customer to pay: a policy that wants
that says ``add_to_open_amount: true`` and its callers add it (docs/late-charges.md).

The rules, written once:

- **Interest runs daily**, from the day after the due date up to and including the day it is computed
  for (the "as of" day). Each day earns ``base x annual rate / days in the year``.
- **The base is the open amount of that day**: the invoice's amount less every payment and credit note
  applied to it on or before that day. A payment received on the 15th reduces the base from the 15th;
  the base never goes below zero.
- **The rate is that day's rate**: a fixed ``annual_rate``, or the dated ``reference_rates`` table (the
  rate in force on the day: the last period that starts on or before it) plus the ``margin``. Past days
  use past rates, so a rate change mid-period splits the computation. A day before the table's first
  period has no rate: it earns nothing and is counted in ``Charges.uncovered_days`` (the table needs
  an earlier period).
- **Day count** ``actual/365`` (the default, the convention of the UK Act and of most EU member
  states): every day counts, each as 1/365 of a year, also in a leap year (a late leap year earns 366
  days' interest). ``actual/360`` counts each day as 1/360.
- **Rounding once, at the end**: the days' interest is summed unrounded in ``Decimal``, then rounded
  to the currency's minor unit with ROUND_HALF_UP (cents for EUR, whole yen for JPY, fils for KWD:
  ``money.in_minor_units``). Rounding per period would drift by a cent (the EU example in
  tests/unit/test_interest.py shows it).
- **Compensation, per invoice, in the invoice's currency**: ``eu`` is a flat 40 (Directive 2011/7/EU,
  art. 6); ``uk`` is 40, 70 or 100 by the debt's amount, under 1,000, 1,000 to 9,999.99, 10,000 or more
  (Late Payment of Commercial Debts (Interest) Act 1998, s. 5A). It is owed once the invoice is late,
  and a partial payment or credit note does not change it: the tier is the invoice's amount.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from arcollect.entities import Invoice, Payment
from arcollect.money import in_minor_units

HUNDRED = Decimal(100)

EU_COMPENSATION = Decimal(40)
# (the debt's amount from which the tier applies, the compensation), highest first.
UK_COMPENSATION_TIERS: tuple[tuple[Decimal, Decimal], ...] = (
    (Decimal(10000), Decimal(100)),
    (Decimal(1000), Decimal(70)),
    (Decimal(0), Decimal(40)),
)


class DayCount(StrEnum):
    ACTUAL_365 = "actual/365"
    ACTUAL_360 = "actual/360"

    @property
    def year_days(self) -> Decimal:
        return Decimal(360) if self is DayCount.ACTUAL_360 else Decimal(365)


class Compensation(StrEnum):
    EU = "eu"
    UK = "uk"


@dataclass(frozen=True)
class RatePeriod:
    """A reference rate (percent a year) in force from ``starts`` until the next period starts."""

    starts: date
    rate: Decimal


@dataclass(frozen=True)
class InterestRule:
    """A fixed ``annual_rate`` (percent), or the ``reference_rates`` table plus ``margin`` (points)."""

    annual_rate: Decimal | None = None
    reference_rates: tuple[RatePeriod, ...] = ()
    margin: Decimal = Decimal(0)
    day_count: DayCount = DayCount.ACTUAL_365

    def rate_on(self, day: date) -> Decimal | None:
        """The annual rate in percent on ``day``; None before the table's first period."""
        if self.annual_rate is not None:
            return self.annual_rate
        current = None
        for period in self.reference_rates:  # sorted by start (the policy's parser sorts them)
            if period.starts > day:
                break
            current = period.rate
        return None if current is None else current + self.margin

    def changes_after(self, start: date, end: date) -> list[date]:
        """The days in (start, end] on which the rate changes."""
        if self.annual_rate is not None:
            return []
        return [p.starts for p in self.reference_rates if start < p.starts <= end]


@dataclass(frozen=True)
class LateCharges:
    """A policy's ``late_charges``: interest, compensation, and whether arcollect asks for them."""

    interest: InterestRule | None = None
    compensation: Compensation | None = None
    # False (the default): the charges are shown and fed to the ERP, never added to the open amount.
    add_to_open_amount: bool = False

    @property
    def charges_anything(self) -> bool:
        return self.interest is not None or self.compensation is not None


@dataclass(frozen=True)
class Reduction:
    """Money that lowered the invoice's open amount on a day: a payment, or a credit note applied."""

    on: date
    amount: Decimal
    kind: str = "payment"


@dataclass(frozen=True)
class InterestPeriod:
    """Consecutive days with one base and one rate; ``interest`` unrounded."""

    first_day: date
    last_day: date
    base: Decimal
    rate: Decimal | None
    interest: Decimal

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


@dataclass(frozen=True)
class Charges:
    """One invoice's charges as of a day, rounded to its currency's minor unit (cents for EUR, whole yen
    for JPY, fils for KWD)."""

    currency: str
    as_of: date
    days_late: int
    interest: Decimal
    compensation: Decimal
    periods: tuple[InterestPeriod, ...] = ()
    uncovered_days: int = 0

    @property
    def total(self) -> Decimal:
        return self.interest + self.compensation

    @property
    def any(self) -> bool:
        return self.total > 0


def compensation_for(kind: Compensation | None, debt: Decimal) -> Decimal:
    """The fixed compensation for one late invoice of ``debt`` (its amount, in its currency)."""
    if kind is Compensation.EU:
        return EU_COMPENSATION
    if kind is Compensation.UK:
        for floor, amount in UK_COMPENSATION_TIERS:
            if debt >= floor:
                return amount
    return Decimal(0)


def interest_periods(
    rule: InterestRule,
    amount: Decimal,
    due_date: date,
    as_of: date,
    reductions: Iterable[Reduction] = (),
) -> tuple[InterestPeriod, ...]:
    """The late days from the day after ``due_date`` to ``as_of``, split wherever the base or the rate
    changes, each with its unrounded interest."""
    first = due_date + timedelta(days=1)
    if as_of < first:
        return ()
    reductions = sorted(reductions, key=lambda r: r.on)
    # Days on which the base or the rate changes, after the first late day.
    breaks = sorted(
        {r.on for r in reductions if first < r.on <= as_of} | set(rule.changes_after(first, as_of))
    )
    periods: list[InterestPeriod] = []
    starts = [first, *breaks]
    for index, start in enumerate(starts):
        end = starts[index + 1] - timedelta(days=1) if index + 1 < len(starts) else as_of
        base = max(amount - sum((r.amount for r in reductions if r.on <= start), Decimal(0)), Decimal(0))
        rate = rule.rate_on(start)
        days = Decimal((end - start).days + 1)
        earned = Decimal(0) if rate is None else base * rate / HUNDRED * days / rule.day_count.year_days
        periods.append(InterestPeriod(start, end, base, rate, earned))
    return tuple(periods)


def charges(
    config: LateCharges,
    *,
    amount: Decimal,
    currency: str,
    due_date: date,
    as_of: date,
    reductions: Iterable[Reduction] = (),
) -> Charges:
    """The invoice's interest and compensation as of ``as_of`` (nothing before it is late)."""
    days_late = max((as_of - due_date).days, 0)
    periods: tuple[InterestPeriod, ...] = ()
    if config.interest is not None and days_late:
        periods = interest_periods(config.interest, amount, due_date, as_of, reductions)
    interest = in_minor_units(sum((p.interest for p in periods), Decimal(0)), currency)
    compensation = compensation_for(config.compensation, amount) if days_late else Decimal(0)
    return Charges(
        currency=currency,
        as_of=as_of,
        days_late=days_late,
        interest=interest,
        compensation=in_minor_units(compensation, currency),
        periods=periods,
        uncovered_days=sum(p.days for p in periods if p.rate is None),
    )


def reductions_for(
    invoice: Invoice, payments: Iterable[Payment], documents: Iterable[Invoice]
) -> list[Reduction]:
    """What lowered ``invoice``'s open amount, dated: each payment applied to it (on its payment date),
    each credit note booked against it (on the credit note's date). Whatever the records leave
    unexplained (the ERP's files said the open amount fell, but no dated payment says when) counts from
    the first day, so arcollect never computes more than is owed."""
    found = [
        Reduction(payment.payment_date, applied.amount, "payment")
        for payment in payments
        if payment.currency == invoice.currency
        for applied in payment.applications
        if applied.invoice_number == invoice.invoice_number and applied.amount > 0
    ]
    found += [
        Reduction(note.invoice_date, note.amount, "credit_note")
        for note in documents
        if note.is_credit_note
        and note.credit_match == invoice.invoice_number
        and note.currency == invoice.currency
    ]
    unexplained = (
        invoice.amount - max(invoice.open_amount, Decimal(0)) - sum((r.amount for r in found), Decimal(0))
    )
    if unexplained > 0:
        found.append(Reduction(min(invoice.invoice_date, invoice.due_date), unexplained, "undated"))
    return found


def invoice_charges(
    config: LateCharges,
    invoice: Invoice,
    today: date,
    payments: Iterable[Payment] = (),
    documents: Iterable[Invoice] = (),
) -> Charges | None:
    """An open invoice's charges as of ``today``; None for a credit note, or before it is late."""
    if invoice.is_credit_note or not invoice.is_open or today <= invoice.due_date:
        return None
    return charges(
        config,
        amount=invoice.amount,
        currency=invoice.currency,
        due_date=invoice.due_date,
        as_of=today,
        reductions=reductions_for(invoice, payments, documents),
    )


def describe(config: LateCharges) -> str:
    """One line for ``arcollect dunning policy show``: what the policy charges, and whether it asks it."""
    parts = []
    rule = config.interest
    if rule is not None:
        if rule.annual_rate is not None:
            parts.append(f"interest {rule.annual_rate}% a year")
        else:
            latest = rule.reference_rates[-1]
            parts.append(
                f"interest at the reference rate + {rule.margin} points "
                f"({len(rule.reference_rates)} dated rates, the latest {latest.rate}% "
                f"from {latest.starts.isoformat()})"
            )
        parts[-1] += f", {rule.day_count.value}"
    if config.compensation is not None:
        parts.append(f"{config.compensation.value.upper()} compensation per invoice")
    asked = "added to the open amount" if config.add_to_open_amount else "not added to the open amount"
    return "; ".join(parts) + f"; {asked}"
