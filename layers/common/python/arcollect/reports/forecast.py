"""The 13-week cash forecast: when the open receivables are expected to come in, week by week.

Each open item is expected on its due date plus its customer's own average delay (days late over the
customer's invoices paid on or before the as-of date; early payment counts as 0 days late). A customer
without such history gets the portfolio's average delay. Nothing is expected before the day after the
as-of date: what is overdue already lands in week 1. Weeks run as_of+1 .. as_of+7, as_of+8 .. as_of+14,
and so on; what is expected after week 13 is not shown.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

FORECAST_WEEKS = 13


@dataclass(frozen=True, slots=True)
class OpenItem:
    """What is open of one document at the as-of date; credit notes and write-offs are negative."""

    customer_id: str
    currency: str
    due_date: date
    open_amount: Decimal


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


def cash_forecast(
    *, as_of: date, open_items: Iterable[OpenItem], history: DelayHistory, weeks: int = FORECAST_WEEKS
) -> dict[str, list[dict[str, Any]]]:
    """Expected receipts per currency and week, amounts as decimal strings; every week is listed even
    when nothing is expected in it. Items expected after the last week are left out."""
    first_day = as_of + timedelta(days=1)
    expected: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * weeks)
    for item in open_items:
        line = expected[item.currency]  # a currency with open items is listed even if all fall later
        day = expected_on(item.due_date, history.delay_days(item.customer_id), as_of)
        week = (day - first_day).days // 7
        if week < weeks:
            line[week] += item.open_amount
    return {
        currency: [
            {
                "week_start": (first_day + timedelta(days=7 * week)).isoformat(),
                "week_end": (first_day + timedelta(days=7 * week + 6)).isoformat(),
                "expected": str(amount),
            }
            for week, amount in enumerate(amounts)
        ]
        for currency, amounts in sorted(expected.items())
    }
