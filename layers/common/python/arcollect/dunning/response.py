"""What would change: an estimate of how customers answer touches, learned from the portfolio's history.

The backtest replays what a policy would have asked; it cannot know whether customers would have paid
sooner (``backtest.py``). This module estimates it, and says so: a **response model** fitted on the
touches the portfolio really received (the table's ledger of dunning touches) and the days its invoices
were really paid.

The model: for each kind of touch (an email, a call) and each age at the touch (days past due: not yet
due, 1-30, 31-60, over 60), the share of touched invoices paid within 7 days of the touch, against the
share of the same-age invoices paid within 7 days of a day on which they were not touched (every open
invoice-day of the window without a touch in the 7 days before it). The difference is the touch's
**lift**, with Newcombe's 95% interval. A policy's estimate is the sum of its touches' lifts: the
invoices a week's payment would have come sooner for, with the interval summed from the lifts' bounds
(wide on purpose: the touches of one invoice are not independent, and customers who get more reminders
may differ from those who do not). Without enough touches in the history there is no estimate, and the
output says why.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from arcollect.dunning.engine import GO_LIVE_STATEMENT, MISSED_PROMISE, MISSED_PROMISE_CALL
from arcollect.entities import DocumentType, Invoice
from arcollect.policy import Action, PolicySet
from arcollect.stats import newcombe

RESPONSE_DAYS = 7
# Below this many touches of a kind and age the lift is not estimated (the interval would be noise).
MIN_TOUCHES = 30
AGES = ("not_yet_due", "1_30", "31_60", "over_60")
EMAIL, CALL = "email", "call"


@dataclass(frozen=True)
class PastTouch:
    """A touch the portfolio really received (the ledger of dunning touches)."""

    customer_id: str
    invoice_number: str
    step: str
    at: datetime


def age_of(days_past_due: int) -> str:
    if days_past_due <= 0:
        return AGES[0]
    if days_past_due <= 30:
        return AGES[1]
    if days_past_due <= 60:
        return AGES[2]
    return AGES[3]


def kind_of(step: str, policies: PolicySet) -> str | None:
    """An email or a call, from the step's id as the ledger recorded it (repeats as ``step#n``)."""
    base = step.partition("#")[0]
    if base in (GO_LIVE_STATEMENT, MISSED_PROMISE):
        return EMAIL
    if base == MISSED_PROMISE_CALL:
        return CALL
    for policy in policies.policies.values():
        for candidate in policy.steps:
            if candidate.id == base:
                if candidate.action is Action.EMAIL:
                    return EMAIL
                if candidate.action is Action.CALL:
                    return CALL
                return None
    return None


@dataclass(frozen=True)
class Lift:
    kind: str
    age: str
    touched: int
    paid_after_touch: int
    baseline_days: int
    paid_after_baseline: int
    value: float
    low: float
    high: float


@dataclass(frozen=True)
class ResponseModel:
    lifts: Mapping[tuple[str, str], Lift]
    touches_used: int
    window: tuple[date, date]

    def describe(self) -> list[dict[str, Any]]:
        return [
            {
                "kind": lift.kind,
                "age": lift.age,
                "touches": lift.touched,
                "paid_within_7_days_of_touch": round(lift.paid_after_touch / lift.touched, 4),
                "baseline_days": lift.baseline_days,
                "paid_within_7_days_baseline": round(lift.paid_after_baseline / lift.baseline_days, 4),
                "lift": round(lift.value, 4),
                "lift_low": round(lift.low, 4),
                "lift_high": round(lift.high, 4),
            }
            for lift in sorted(self.lifts.values(), key=lambda lift: (lift.kind, AGES.index(lift.age)))
        ]


def _paid_within(invoice: Invoice, day: date) -> bool:
    return invoice.paid_date is not None and day <= invoice.paid_date <= day + timedelta(days=RESPONSE_DAYS)


def fit(
    invoices: Sequence[Invoice], touches: Iterable[PastTouch], policies: PolicySet, *, start: date, end: date
) -> ResponseModel | str:
    """The model from the history between ``start`` and ``end``, or why there is none."""
    by_key = {
        (i.customer_id, i.invoice_number): i for i in invoices if i.document_type == DocumentType.INVOICE
    }
    touched_days: dict[tuple[str, str], set[date]] = {}
    counts: Counter[tuple[str, str, bool]] = Counter()
    used = 0
    for touch in touches:
        day = touch.at.date()
        invoice = by_key.get((touch.customer_id, touch.invoice_number))
        kind = kind_of(touch.step, policies)
        if invoice is None or kind is None or not start <= day <= end:
            continue
        used += 1
        touched_days.setdefault((touch.customer_id, touch.invoice_number), set()).add(day)
        counts[(kind, age_of((day - invoice.due_date).days), _paid_within(invoice, day))] += 1
    if used < MIN_TOUCHES:
        return (
            f"no estimate: the history has {used} dunning touch(es) in the window to learn from, and the "
            f"model needs at least {MIN_TOUCHES} (ERP files carry no touches; a stack's table does once "
            "arcollect has been reminding for a while)"
        )
    baseline: Counter[tuple[str, bool]] = Counter()
    for key, invoice in by_key.items():
        _count_untouched_days(invoice, touched_days.get(key, set()), start, end, baseline)
    lifts: dict[tuple[str, str], Lift] = {}
    for kind in (EMAIL, CALL):
        for age in AGES:
            paid, unpaid = counts[(kind, age, True)], counts[(kind, age, False)]
            base_paid, base_unpaid = baseline[(age, True)], baseline[(age, False)]
            if paid + unpaid < MIN_TOUCHES or base_paid + base_unpaid == 0:
                continue
            interval = newcombe(base_paid, base_paid + base_unpaid, paid, paid + unpaid)
            if interval is None:
                continue
            value = paid / (paid + unpaid) - base_paid / (base_paid + base_unpaid)
            lifts[(kind, age)] = Lift(
                kind, age, paid + unpaid, paid, base_paid + base_unpaid, base_paid, value, *interval
            )
    return ResponseModel(lifts, used, (start, end))


# The days past due at which the age changes: (first day of the age, the age), oldest last.
_AGE_STARTS = ((-(10**6), AGES[0]), (1, AGES[1]), (31, AGES[2]), (61, AGES[3]))


def _count_untouched_days(
    invoice: Invoice, touched: set[date], start: date, end: date, baseline: Counter[tuple[str, bool]]
) -> None:
    """Add the invoice's open days without a touch in the 7 days before them to ``baseline``, by age and
    by whether it was paid within 7 days: by intervals, not day by day (a year of a large portfolio is
    tens of millions of invoice-days)."""
    first = max(invoice.invoice_date, start)
    last = min(invoice.paid_date - timedelta(days=1) if invoice.paid_date else end, end)
    if last < first:
        return
    excluded = {day + timedelta(days=back) for day in touched for back in range(RESPONSE_DAYS + 1)}
    paid_days = (
        {invoice.paid_date - timedelta(days=back) for back in range(RESPONSE_DAYS + 1)}
        if invoice.paid_date
        else set()
    )
    for index, (from_dpd, age) in enumerate(_AGE_STARTS):
        segment_first = (
            max(first, invoice.due_date + timedelta(days=from_dpd)) if from_dpd > -(10**6) else first
        )
        next_start = _AGE_STARTS[index + 1][0] if index + 1 < len(_AGE_STARTS) else None
        segment_last = (
            min(last, invoice.due_date + timedelta(days=next_start - 1)) if next_start is not None else last
        )
        if segment_last < segment_first:
            continue

        def inside(day: date, low: date = segment_first, high: date = segment_last) -> bool:
            return low <= day <= high

        days = (segment_last - segment_first).days + 1 - sum(1 for day in excluded if inside(day))
        paid = sum(1 for day in paid_days if inside(day) and day not in excluded)
        baseline[(age, True)] += paid
        baseline[(age, False)] += days - paid


def estimate(model: ResponseModel | str, touches: Iterable[tuple[str, int]]) -> dict[str, Any]:
    """A policy's estimate: its touches (kind, days past due) through the model's lifts."""
    if isinstance(model, str):
        return {"label": "estimate", "available": False, "why": model}
    value = low = high = 0.0
    counted = uncounted = 0
    for kind, days_past_due in touches:
        lift = model.lifts.get((kind, age_of(days_past_due)))
        if lift is None:
            uncounted += 1
            continue
        counted += 1
        value, low, high = value + lift.value, low + lift.low, high + lift.high
    return {
        "label": "estimate",
        "available": True,
        "invoices_paid_within_7_days_of_a_touch_beyond_baseline": round(value, 1),
        "low": round(low, 1),
        "high": round(high, 1),
        "touches_with_a_lift": counted,
        "touches_without_a_lift": uncounted,
    }


MODEL_STATEMENT = (
    "response model fitted on the portfolio's own history: for each kind of touch (email, call) and age "
    "(days past due), the share of touched invoices paid within 7 days of the touch minus the share of "
    "same-age invoices paid within 7 days of an untouched day; a policy's estimate sums its touches' lifts"
)
UNCERTAINTY = (
    "95% interval from the lifts' Newcombe bounds, summed: wide on purpose, since touches of one invoice "
    "are not independent and customers who get more reminders may differ from those who do not. An "
    "estimate, not a replay: customers may not answer a new policy as they answered the old one."
)
