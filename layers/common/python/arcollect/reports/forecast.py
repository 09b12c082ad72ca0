"""The 13-week cash forecast: when the open receivables are expected to come in, week by week.

With the pay-date model (``reports/predicted.py``: trained on the report's day), each open invoice is
expected on its predicted pay date, and each week has a ``low`` and a ``high``: an 80% interval of what
comes in that week, each invoice spread over its own 80% interval (10% by its low day, half by its
predicted day, 90% by its high day, the rest within as long again), the invoices independent of one
another (the week's mean plus or minus 1.2816 standard deviations, never below 0 nor on the wrong side
of ``expected``). What the model does not predict (credit notes) is placed by the rule below.

Without a model (too little history: the customer-average rule), each open item is expected on its due
date plus its customer's own average delay (days late over the customer's invoices paid on or before the
as-of date; early payment counts as 0 days late); a customer without such history gets the portfolio's
average delay, and the weeks have no interval. Nothing is expected before the day after the as-of date:
what is overdue already lands in week 1. Weeks run as_of+1 .. as_of+7, as_of+8 .. as_of+14, and so on;
what is expected after week 13 is not shown.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from arcollect.money import in_minor_units, minor_unit, plain
from arcollect.outlook import PayOutlook

FORECAST_WEEKS = 13
Z_80 = 1.2816  # the normal distribution's 90th percentile: mean +- Z_80 sd covers 80%


@dataclass(frozen=True, slots=True)
class OpenItem:
    """What is open of one document at the as-of date; credit notes and write-offs are negative."""

    customer_id: str
    currency: str
    due_date: date
    open_amount: Decimal
    invoice_number: str = ""


class DelayHistory:
    """Days late of settled invoices, per customer and over the whole portfolio."""

    __slots__ = ("_by_customer", "_count", "_total")

    def __init__(self) -> None:
        self._by_customer: dict[str, list[int]] = {}
        self._total = 0
        self._count = 0

    def add(self, customer_id: str, days_late: int) -> None:
        """One invoice of ``customer_id`` paid ``days_late`` days after its due date (0 when early)."""
        tally = self._by_customer.get(customer_id)
        if tally is None:
            self._by_customer[customer_id] = [days_late, 1]
        else:
            tally[0] += days_late
            tally[1] += 1
        self._total += days_late
        self._count += 1

    def average(self, customer_id: str) -> Decimal | None:
        """The customer's average days late, or None without history."""
        tally = self._by_customer.get(customer_id)
        return Decimal(tally[0]) / tally[1] if tally else None

    @property
    def portfolio_average(self) -> Decimal:
        """The average days late over every customer's paid invoices (0 when nothing was paid yet)."""
        return Decimal(self._total) / self._count if self._count else Decimal(0)

    def delay_days(self, customer_id: str) -> int:
        """The whole days an item of the customer is expected after its due date (half a day rounds up)."""
        average = self.average(customer_id)
        if average is None:
            average = self.portfolio_average
        return int(average.to_integral_value(rounding=ROUND_HALF_UP))


def expected_on(due_date: date, delay_days: int, as_of: date) -> date:
    """The day an open item is expected: due date + delay, never before the day after ``as_of``."""
    return max(due_date + timedelta(days=delay_days), as_of + timedelta(days=1))


def paid_by(outlook: PayOutlook, day: date) -> float:
    """The chance the invoice is paid on or before ``day``, from its prediction: 0 before its low day,
    0.1 on it, 0.5 on its predicted day, 0.9 on its high day, 1 as long again after it (straight lines
    between; days that coincide take the higher share)."""
    tail = outlook.high + timedelta(days=max(7, (outlook.high - outlook.pay_date).days))
    knots = (
        (outlook.low - timedelta(days=1), 0.0),
        (outlook.low, 0.1),
        (outlook.pay_date, 0.5),
        (outlook.high, 0.9),
        (tail, 1.0),
    )
    share = 0.0
    previous_day, previous_share = knots[0]
    for knot_day, knot_share in knots:
        if day >= knot_day:
            share = knot_share
        elif day > previous_day:
            span = (knot_day - previous_day).days
            share = previous_share + (knot_share - previous_share) * (day - previous_day).days / span
            break
        else:
            break
        previous_day, previous_share = knot_day, knot_share
    return share


def cash_forecast(
    *,
    as_of: date,
    open_items: Iterable[OpenItem],
    history: DelayHistory,
    weeks: int = FORECAST_WEEKS,
    outlooks: Mapping[tuple[str, str], PayOutlook] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Expected receipts per currency and week, amounts as decimal strings with the currency's ISO 4217
    decimals (``money.plain``: ``0.00`` EUR, never ``0``; ``0`` JPY; ``0.000`` KWD); every week is listed
    even when nothing is expected in it. Items expected after the last week are left out. With ``outlooks``
    (the model's predictions, by customer and invoice number) an item is expected on its predicted pay
    date and each week gets ``low`` and ``high``."""
    first_day = as_of + timedelta(days=1)
    expected: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * weeks)
    means: dict[str, list[float]] = defaultdict(lambda: [0.0] * weeks)
    variances: dict[str, list[float]] = defaultdict(lambda: [0.0] * weeks)
    for item in open_items:
        amounts = expected[item.currency]  # a currency with open items is listed even if all fall later
        outlook = outlooks.get((item.customer_id, item.invoice_number)) if outlooks is not None else None
        if outlook is None:
            day = expected_on(item.due_date, history.delay_days(item.customer_id), as_of)
        else:
            day = outlook.pay_date
        week = (day - first_day).days // 7
        if week < weeks:
            amounts[week] += item.open_amount
        if outlooks is None:
            continue
        amount = float(item.open_amount)
        currency_means, currency_variances = means[item.currency], variances[item.currency]
        for index in range(weeks):
            if outlook is None:
                share = 1.0 if index == week else 0.0
            else:
                start = first_day + timedelta(days=7 * index)
                share = paid_by(outlook, start + timedelta(days=6)) - paid_by(
                    outlook, start - timedelta(days=1)
                )
            currency_means[index] += amount * share
            currency_variances[index] += amount * amount * share * (1 - share)
    forecast: dict[str, list[dict[str, Any]]] = {}
    for currency, weekly in sorted(expected.items()):
        lines = []
        for week, total in enumerate(weekly):
            line: dict[str, Any] = {
                "week_start": (first_day + timedelta(days=7 * week)).isoformat(),
                "week_end": (first_day + timedelta(days=7 * week + 6)).isoformat(),
                "expected": plain(total, currency),
            }
            if outlooks is not None:
                mean, spread = means[currency][week], Z_80 * math.sqrt(variances[currency][week])
                low = min(_in_unit(max(0.0, mean - spread), currency), max(total, Decimal(0)))
                line["low"] = plain(low, currency)
                line["high"] = plain(max(_in_unit(mean + spread, currency), total), currency)
            lines.append(line)
        forecast[currency] = lines
    return forecast


def _in_unit(value: float, currency: str) -> Decimal:
    """A week's bound (a float) as an amount of ``currency``: rounded to its minor unit, half up
    (``0.01`` EUR, ``1`` JPY, ``0.001`` KWD)."""
    return in_minor_units(Decimal(repr(round(value, minor_unit(currency)))), currency)
