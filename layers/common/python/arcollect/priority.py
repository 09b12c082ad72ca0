"""The worklist's priority score: which task a collector should do first, and why.

A score from 0 to 100 (capped), the sum of seven capped factors (each shown to the collector as a
reason):

=====================  ======  ==================================================================
factor                 points  how
=====================  ======  ==================================================================
amount past due        0-30    logarithmic: 100 -> 12, 1,000 -> 18, 10,000 -> 24, 100,000+ -> 30
days past due          0-25    linear up to 90 days past due of the oldest late invoice
broken promises        0-15    8 per promise to pay the customer broke (two or more: 15)
risk                   0-15    high 15, medium 8, low 0 (see ``risk_class``)
customer value         0-10    logarithmic in annual sales: 100,000 -> 4, 10,000,000+ -> 10
kind of task           0-5     a broken promise or dispute 5, a call or escalation 3, others 0
expected to pay late   0-10    10 x the chance the task's likeliest-late invoice is paid more than
                               30 days late, as the newest report run predicted it (``outlook.py``);
                               under the customer-average rule (no model), 10 if it is expected more
                               than 30 days late; explained by its day, interval and top factor
=====================  ======  ==================================================================

Amounts in different currencies are not converted: the largest currency's amount counts (a score
orders work, it is not a valuation). The factors are stored on the task when it is created; the
worklist scores again as of today, with the open amounts of its invoices as they are now and their
predictions as the reports run left them in the table (the sweep creates tasks without them: its read
path does not change). The sweep scores the tasks it creates and the workspace those a collector
creates, so the rule is domain.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from arcollect.entities import Customer, DocumentType, Invoice
from arcollect.money import written
from arcollect.outlook import PayOutlook

LATE_DAYS = 30  # "expected to pay late": paid more than 30 days after the due date

MAX_SCORE = 100
_URGENT_KINDS = frozenset({"dispute", "review_touch"})
_CALL_KINDS = frozenset({"call", "escalation", "credit_hold", "agency", "fix_contact"})


@dataclass(frozen=True)
class PriorityReason:
    """One factor of a task's priority score and the points it contributed (shown beside the task)."""

    factor: str
    points: int
    text: str


@dataclass(frozen=True)
class Factors:
    """What a task's score is made of; ``as_detail``/``from_detail`` keep it on the task."""

    kind: str
    past_due_amount: Decimal = Decimal(0)
    currency: str = ""
    oldest_due_on: date | None = None
    broken_promises: int = 0
    customer_value: Decimal | None = None
    risk: str = "low"
    # Expected to pay late: the chance (0-1) the task's likeliest-late invoice is paid more than 30 days
    # late, and what to show for it (None: no prediction of its invoices).
    late_chance: Decimal | None = None
    late_text: str = ""

    def as_detail(self) -> dict[str, str]:
        detail = {
            "past_due_amount": str(self.past_due_amount),
            "currency": self.currency,
            "broken_promises": str(self.broken_promises),
            "risk": self.risk,
        }
        if self.oldest_due_on:
            detail["oldest_due_on"] = self.oldest_due_on.isoformat()
        if self.customer_value is not None:
            detail["customer_value"] = str(self.customer_value)
        if self.late_chance is not None:
            detail["late_chance"] = str(self.late_chance)
            detail["late_text"] = self.late_text
        return detail

    @classmethod
    def from_detail(cls, kind: str, detail: Mapping[str, str]) -> Factors:
        def decimal(name: str) -> Decimal | None:
            try:
                return Decimal(detail[name]) if detail.get(name) else None
            except (ArithmeticError, InvalidOperation):
                return None

        oldest = detail.get("oldest_due_on")
        try:
            oldest_day = date.fromisoformat(oldest) if oldest else None
        except ValueError:
            oldest_day = None
        broken = detail.get("broken_promises", "0")
        return cls(
            kind=kind,
            past_due_amount=decimal("past_due_amount") or Decimal(0),
            currency=detail.get("currency", ""),
            oldest_due_on=oldest_day,
            broken_promises=int(broken) if broken.isdigit() else 0,
            customer_value=decimal("customer_value"),
            risk=detail.get("risk") or "low",
            late_chance=decimal("late_chance"),
            late_text=detail.get("late_text", ""),
        )


def risk_class(customer: Customer | None) -> str:
    """low | medium | high: the ERP's class when it has one (A/B/C, 1-5 or words), raised by how the
    customer keeps promises (at least two settled: under half kept is high, under 80 % medium)."""
    erp = _erp_risk(customer.risk if customer else None)
    behaviour = "low"
    if customer is not None:
        settled = customer.promises_kept + customer.promises_broken
        if settled >= 2:
            rate = customer.promises_kept / settled
            behaviour = "high" if rate < 0.5 else "medium" if rate < 0.8 else "low"
    order = ("low", "medium", "high")
    return max(erp or "low", behaviour, key=order.index)


def _erp_risk(value: str | None) -> str | None:
    text = (value or "").strip().lower()
    if not text:
        return None
    if text in {"high", "h", "c", "d", "4", "5", "red"} or "high" in text:
        return "high"
    if text in {"medium", "med", "m", "b", "3", "amber", "yellow"} or "medium" in text:
        return "medium"
    return "low"


def factors_for(
    kind: str,
    invoices: Iterable[Invoice],
    customer: Customer | None,
    today: date,
    broken_promises: int | None = None,
    outlooks: Mapping[str, PayOutlook] | None = None,
) -> Factors:
    """The factors of a task about ``invoices`` of ``customer`` as of ``today``; ``outlooks``: the
    predictions of the customer's invoices (by number) the reports run left, if any."""
    invoices = list(invoices)
    late = [
        invoice
        for invoice in invoices
        if invoice.is_open and invoice.document_type == DocumentType.INVOICE and invoice.due_date < today
    ]
    by_currency: dict[str, Decimal] = {}
    for invoice in late:
        by_currency[invoice.currency] = by_currency.get(invoice.currency, Decimal(0)) + invoice.open_amount
    # Past due is net: the customer's open credit notes among ``invoices`` lower it, in their currency.
    for invoice in invoices:
        if invoice.is_open and invoice.is_credit_note and invoice.currency in by_currency:
            by_currency[invoice.currency] = max(
                Decimal(0), by_currency[invoice.currency] - invoice.open_amount
            )
    currency, amount = max(by_currency.items(), key=lambda item: item[1], default=("", Decimal(0)))
    chance, text = expected_late(invoices, outlooks or {})
    return Factors(
        kind=kind,
        past_due_amount=amount,
        currency=currency,
        oldest_due_on=min((invoice.due_date for invoice in late), default=None),
        broken_promises=broken_promises if broken_promises is not None else _broken(customer),
        customer_value=customer.annual_sales if customer else None,
        risk=risk_class(customer),
        late_chance=chance,
        late_text=text,
    )


def late_chance(outlook: PayOutlook) -> Decimal:
    """The chance an invoice is paid more than 30 days late: the model's, or under the customer-average
    rule (no chance given) 1 when it is expected more than 30 days late, else 0."""
    if outlook.probability_over_30_days_late is not None:
        return outlook.probability_over_30_days_late
    return Decimal(1) if outlook.days_late > LATE_DAYS else Decimal(0)


def expected_late(
    invoices: Iterable[Invoice], outlooks: Mapping[str, PayOutlook]
) -> tuple[Decimal | None, str]:
    """The chance that the likeliest-late of the open ``invoices`` is paid more than 30 days late, and
    the reason's text: ``INV-7 expected on 2027-01-14, 45 days late, as the report of 2026-12-01
    predicted (80%: 2027-01-02 to 2027-02-10), a 72% chance of over 30 days late; customer paid its last 6
    invoices 40 days late (+35 d)``. None
    without a prediction of any of them."""
    predicted = [
        outlooks[invoice.invoice_number]
        for invoice in invoices
        if invoice.is_open and not invoice.is_credit_note and invoice.invoice_number in outlooks
    ]
    if not predicted:
        return None, ""
    worst = max(predicted, key=lambda o: (late_chance(o), o.days_late, o.invoice_number))
    chance = late_chance(worst)
    days = worst.days_late
    when = f"{abs(days)} day{'' if abs(days) == 1 else 's'} {'late' if days >= 0 else 'early'}"
    # The report's day beside the date: a prediction read days later may name a day already past.
    text = (
        f"{worst.invoice_number} expected on {worst.pay_date.isoformat()}, {when}, as the report of"
        f" {worst.as_of.isoformat()} predicted"
    )
    if worst.probability_over_30_days_late is not None:
        text += (
            f" (80%: {worst.interval_text()}), a {worst.probability_over_30_days_late * 100:.0f}% chance of"
            f" over {LATE_DAYS} days late"
        )
    else:
        text += " (the customer-average rule: too little history for the model)"
    if worst.factors:
        text += f"; {worst.factors[0].sentence()}"
    return chance, text


def _broken(customer: Customer | None) -> int:
    return customer.promises_broken if customer else 0


def _log_points(value: Decimal | float, *, full_at: float, points: int) -> int:
    if value <= 0:
        return 0
    return round(min(1.0, math.log10(1 + float(value)) / math.log10(1 + full_at)) * points)


def score(factors: Factors, today: date) -> tuple[int, tuple[PriorityReason, ...]]:
    """The score as of ``today`` and its reasons (only factors that gave points), largest first."""
    days = (today - factors.oldest_due_on).days if factors.oldest_due_on else 0
    days = max(0, days)
    reasons = [
        PriorityReason(
            "amount",
            _log_points(factors.past_due_amount, full_at=100_000, points=30),
            f"{written(factors.past_due_amount, factors.currency).strip()} past due",
        ),
        PriorityReason("days", min(25, round(days * 25 / 90)), f"{days} days past due"),
        PriorityReason(
            "promises",
            min(15, 8 * factors.broken_promises),
            f"{factors.broken_promises} broken promise{'s' if factors.broken_promises != 1 else ''} to pay",
        ),
        PriorityReason("risk", {"high": 15, "medium": 8}.get(factors.risk, 0), f"{factors.risk} risk"),
        PriorityReason(
            "value",
            _log_points(factors.customer_value or 0, full_at=10_000_000, points=10),
            f"annual sales {factors.customer_value:,.0f}" if factors.customer_value else "customer value",
        ),
        PriorityReason(
            "kind",
            5 if factors.kind in _URGENT_KINDS else 3 if factors.kind in _CALL_KINDS else 0,
            f"a {factors.kind.replace('_', ' ')} task",
        ),
        PriorityReason(
            "late",
            round(min(Decimal(1), max(Decimal(0), factors.late_chance or Decimal(0))) * 10),
            f"expected to pay late: {factors.late_text}" if factors.late_text else "expected to pay late",
        ),
    ]
    given = sorted((r for r in reasons if r.points > 0), key=lambda r: -r.points)
    return min(MAX_SCORE, sum(r.points for r in given)), tuple(given)
