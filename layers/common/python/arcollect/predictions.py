"""Predicted pay dates that explain themselves (issue 19).

For every invoice open at an as-of day: the day it is expected to be paid, an 80% interval, the
probability that it is paid more than 30 days late, and the factors behind it as additive contributions
in days ("customer paid its last 6 invoices 12 days late on average (+9 d)").

The model is additive and pure Python (no numpy: the layer stays small, cold starts unaffected). Days
late (pay day minus due day) are predicted as

    the baseline: the portfolio's median days late
    + the customer's recent median days late, shrunk toward the portfolio by how many invoices it paid
      (n / (n + k), k chosen on the training set): with fewer than MIN_HISTORY the portfolio's delay
      stands in, and the factor says so
    + one learned adjustment per feature (amount against the customer's usual, terms, month or quarter
      end, trend, share paid late, spread, size of the history): the median residual of its bin in
      training, shrunk toward 0 by the bin's size, fitted by backfitting
    + activity at the as-of day: an open promise moves the day to the promised day, an open dispute
      adds DISPUTE_DAYS (rules: the histories carry no promises or disputes to learn from)
    + "still unpaid": what knowing the invoice is still open at the as-of day implies. Not yet due, for
      a customer with MIN_HISTORY paid invoices still unpaid as close to their due date: the median
      days late of those (its own habit, read from up to ALIKE_HISTORY of them, not its last RECENT).
      Else, not yet past its predicted day: the training residuals above the days already waited.
      Past it: the Kaplan-Meier waits of invoices as far past theirs in weekly snapshots of the
      training period (an invoice still open when training ends counts as waiting at least that long;
      told apart by whether the customer's payment runs already passed it over, and for the day, not
      the interval, read within its company code), blended with the customer's own late payments
      beyond this lateness when it has some. The day is read among the invoices that were paid: of a
      cell followed PAID_FOLLOW_UP days or more, those still unpaid then count as never paid (the
      interval and P(> 30 days late) still count them).

Each term IS a contribution: with the baseline they add up to the predicted offset from the due day
exactly (``Prediction.offset_days``). The 80% interval and P(> 30 days late) come from the same
distributions (the residuals' empirical quantiles per size of history, or the waits).

Nothing looks past the as-of day: the history is the invoices issued and paid on or before it
(``known_by``: a document whose payment date is before its document date counts from the day it was
issued, when it came to exist), the activity what was created on or before it; an invoice's own paid
day is never read when it is predicted. Training reads each paid invoice as its customer's history stood
the day before its invoice date, by the same rule.
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from arcollect.entities import Dispute, Invoice, Promise
from arcollect.outlook import listed

MODEL_VERSION = 2
LATE_DAYS = 30  # "paid more than 30 days late"
RECENT = 12  # the customer's last paid invoices that make its recent figures
MIN_HISTORY = 3  # fewer paid invoices: the portfolio's delay, said so in the factors
TREND_HISTORY = 6  # paid invoices needed before a trend is read
BIN_PRIOR = 50  # a bin's adjustment is shrunk by n / (n + BIN_PRIOR)
SHRINK_CHOICES = (0.5, 1.0, 2.0, 4.0, 8.0)  # the customer's weight n / (n + k): k chosen on training
BACKFIT_ROUNDS = 3
QUANTILES = 200  # the residual distribution is kept as this many quantile steps
TAIL_FROM = 0.9  # beyond this quantile the residual's excess is read from the tail
DISPUTE_DAYS = 14.0  # an open dispute delays payment (a rule: histories carry no disputes to learn from)
# A dispute the ERP flags (``Invoice.erp_disputed``), not one recorded here: the ``opened_by`` of the
# Dispute the reports function passes for it (the flag has no day of its own, see reports/predicted.py).
ERP_DISPUTE = "erp"
# Fewer paid invoices known (issued and paid on or before the day, ``paid_known``): no model is trained,
# neither for the reports (the customer-average rule stands in) nor to be measured (``evaluate`` refuses).
MIN_TRAINING = 20
COVERAGE = 0.8
SNAPSHOT_DAYS = 7  # the waits are read from weekly snapshots of the open invoices
WAIT_EDGES = (-5, 0, 5, 15, 30, 60, 120)  # days past the predicted day: the waits' bins
RECENT_PAYMENT = 14  # days: a customer that paid within them is paying (the waits tell it apart)
MIN_WAITS = 30  # snapshot rows a cell of the waits needs to stand apart from its bin's pooled one
LATER_THAN = 24  # the customer's own late payments read for an invoice already late
OWN_WEIGHT = 3.0  # their weight n / (n + OWN_WEIGHT) against the portfolio's waits
# An invoice not yet due is predicted on the customer's own paid invoices that were still unpaid as close to
# their due date (paid later than this one can be), read from its last ALIKE_HISTORY, once it has
# MIN_HISTORY of them. Chosen on 23 rolling splits (docs/predictions.md, "A seventh round").
ALIKE_HISTORY = 1000
# A cell of the waits followed this many days or more (its longest wait, paid or not) says what share of
# its invoices is ever paid: the predicted day is the median wait of those (an invoice is predicted the
# day it is paid, if it is), not a median the never-paid pull out to the end of the history. Followed
# less, an invoice still open may yet be paid, and the day reads every wait. Chosen on 23 rolling splits
# (docs/predictions.md, "An eighth round").
PAID_FOLLOW_UP = 150


@dataclass(frozen=True)
class Factor:
    """One additive contribution to a prediction, in days (positive: later)."""

    name: str
    days: float
    sentence: str


@dataclass(frozen=True)
class Prediction:
    customer_id: str
    invoice_number: str
    as_of: date
    due_date: date
    pay_date: date
    low: date  # the 80% interval: paid on or after low and on or before high 8 times in 10
    high: date
    probability_over_30_days_late: float
    # pay_date = due_date + round(offset_days); offset_days = baseline_days + the contributions' days.
    offset_days: float
    baseline_days: float
    contributions: tuple[Factor, ...]
    fallback: bool  # too little history: the portfolio's delay stands in for the customer's

    @property
    def factors(self) -> tuple[Factor, ...]:
        """The top three contributions, largest effect first: those that show at least a whole day as a
        collector reads them, and the customer's history always (``outlook.listed``)."""
        ranked = sorted(self.contributions, key=lambda f: (-abs(f.days), f.name))
        return tuple(f for f in ranked if listed(f.name, f.days))[:3]


@dataclass(frozen=True)
class History:
    """A customer's payment record as of a day: the invoices issued and paid on or before it."""

    paid: int
    recent_median: float
    recent_mean: float
    recent_count: int
    spread: float  # median absolute deviation of the recent days late
    share_late: float
    trend: float | None  # the last three against the ones before (days late; positive: getting later)
    usual_amount: dict[str, Decimal]  # per currency, the median of the recent amounts
    last_paid: date


def known_on(invoice: Invoice) -> date | None:
    """The day a paid document enters its customer's history: the later of its paid day and its issue
    day (None: not paid). The SAP extract has documents whose payment date is before their document
    date; they did not exist before they were issued, so no history before then may read them. An
    invoice still open is not paid, whatever paid date it carries (``Invoice.paid_in_full_on``)."""
    paid = invoice.paid_in_full_on
    return None if paid is None else max(paid, invoice.invoice_date)


def settled(invoices: Iterable[Invoice]) -> list[Invoice]:
    """The invoices as the model reads them: each paid date only once nothing is left open
    (``Invoice.paid_in_full_on``). An invoice partly paid is predicted, not learned from, and counts
    in no history or baseline."""
    return [i if i.paid_date == i.paid_in_full_on else replace(i, paid_date=None) for i in invoices]


def known_by(invoice: Invoice, day: date) -> bool:
    """Whether a document counts in any history or baseline as of the end of ``day``: issued on or
    before it AND paid on or before it. The one rule for the model, its training and the baselines."""
    known = known_on(invoice)
    return known is not None and known <= day


def paid_known(invoices: Iterable[Invoice], day: date) -> int:
    """How many paid invoices (credit notes aside) a model trained as of the end of ``day`` learns from:
    the count held against ``MIN_TRAINING``."""
    return sum(1 for i in settled(invoices) if known_by(i, day) and not i.is_credit_note)


class Ledger:
    """The paid invoices of every customer, in the order they became known (``known_on``), read as of
    any day without looking past it: as of a day, exactly the invoices ``known_by`` it."""

    def __init__(self, invoices: Iterable[Invoice]) -> None:
        # (known on, days late, currency, amount, paid on, due on)
        rows: dict[str, list[tuple[date, int, str, Decimal, date, date]]] = defaultdict(list)
        for invoice in invoices:
            known = known_on(invoice)
            if known is None or invoice.paid_date is None or invoice.is_credit_note:
                continue
            days = (invoice.paid_date - invoice.due_date).days
            rows[invoice.customer_id].append(
                (known, days, invoice.currency, invoice.amount, invoice.paid_date, invoice.due_date)
            )
        self._rows = {customer: sorted(r) for customer, r in rows.items()}
        self._days = {customer: [r[0] for r in rs] for customer, rs in self._rows.items()}
        self._late = {
            customer: _running([1 if r[1] > 0 else 0 for r in rs]) for customer, rs in self._rows.items()
        }
        # The latest due day and the latest paid day (as ordinals) among each customer's first n known
        # invoices.
        self._latest_due: dict[str, list[int]] = {}
        self._latest_paid: dict[str, list[int]] = {}
        for customer, rs in self._rows.items():
            due, paid = [0], [0]
            for r in rs:
                due.append(max(due[-1], r[5].toordinal()))
                paid.append(max(paid[-1], r[4].toordinal()))
            self._latest_due[customer] = due
            self._latest_paid[customer] = paid

    def history(self, customer_id: str, as_of: date) -> History | None:
        days = self._days.get(customer_id)
        if not days:
            return None
        n = bisect.bisect_right(days, as_of)
        if n == 0:
            return None
        rows = self._rows[customer_id]
        recent = rows[max(0, n - RECENT) : n]
        late = [r[1] for r in recent]
        median = statistics.median(late)
        trend = None
        if n >= TREND_HISTORY:
            last, before = late[-3:], late[:-3]
            trend = statistics.fmean(last) - statistics.fmean(before)
        amounts: dict[str, list[Decimal]] = defaultdict(list)
        for r in recent:
            amounts[r[2]].append(r[3])
        return History(
            paid=n,
            recent_median=float(median),
            recent_mean=statistics.fmean(late),
            recent_count=len(recent),
            spread=float(statistics.median(abs(d - median) for d in late)),
            share_late=self._late[customer_id][n] / n,
            trend=trend,
            usual_amount={c: statistics.median(a) for c, a in amounts.items()},
            last_paid=date.fromordinal(self._latest_paid[customer_id][n]),
        )

    def passed_over(self, customer_id: str, as_of: date, due_date: date) -> bool:
        """Whether the customer paid, on or before ``as_of``, an invoice issued by then and due on or after
        ``due_date`` (an open invoice due then was passed over by its payment runs)."""
        days = self._days.get(customer_id)
        if not days:
            return False
        n = bisect.bisect_right(days, as_of)
        return self._latest_due[customer_id][n] >= due_date.toordinal()

    def later_than(self, customer_id: str, as_of: date, days: int, limit: int = LATER_THAN) -> list[int]:
        """The days late of the customer's invoices issued and paid on or before ``as_of`` more than
        ``days`` late (the last ``limit`` of them)."""
        rows = self._rows.get(customer_id)
        if not rows:
            return []
        n = bisect.bisect_right(self._days[customer_id], as_of)
        return [r[1] for r in rows[:n] if r[1] > days][-limit:]

    def average_days_late(self, customer_id: str, as_of: date) -> float | None:
        """The customer's mean days late over every invoice issued and paid on or before ``as_of``."""
        days = self._days.get(customer_id)
        n = bisect.bisect_right(days, as_of) if days else 0
        if n == 0:
            return None
        return statistics.fmean(r[1] for r in self._rows[customer_id][:n])


def _running(values: list[int]) -> list[int]:
    out = [0]
    for value in values:
        out.append(out[-1] + value)
    return out


# -- the features: each maps what is known to a bin (None: the feature says nothing) -----------------


def _amount_bin(invoice: Invoice, history: History | None) -> int | None:
    usual = history.usual_amount.get(invoice.currency) if history else None
    if not usual or usual <= 0 or invoice.amount <= 0:
        return None
    ratio = math.log2(float(invoice.amount / usual))
    return _cut(ratio, (-2.0, -1.0, -0.35, 0.35, 1.0, 2.0))


def _terms_bin(invoice: Invoice, history: History | None) -> int | None:
    return _cut((invoice.due_date - invoice.invoice_date).days, (0, 7, 14, 30, 45, 60))


def _period_bin(invoice: Invoice, history: History | None) -> int | None:
    due = invoice.due_date
    last = (date(due.year + due.month // 12, due.month % 12 + 1, 1) - timedelta(days=1)).day
    if last - due.day >= 5:
        return 0
    return 2 if due.month % 3 == 0 else 1


def _trend_bin(invoice: Invoice, history: History | None) -> int | None:
    if history is None or history.trend is None:
        return None
    return _cut(history.trend, (-10.0, -3.0, 3.0, 10.0))


def _share_bin(invoice: Invoice, history: History | None) -> int | None:
    if history is None or history.paid < MIN_HISTORY:
        return None
    return _cut(history.share_late, (0.0, 0.25, 0.5, 0.75, 0.99))


def _spread_bin(invoice: Invoice, history: History | None) -> int | None:
    if history is None or history.paid < MIN_HISTORY:
        return None
    return _cut(history.spread, (0.5, 2.0, 5.0, 10.0, 20.0))


def _size_bin(invoice: Invoice, history: History | None) -> int | None:
    return _size_group(history.paid if history else 0)


def _size_group(paid: int) -> int:
    return _cut(paid, (0, 2, 5, 20))


def _cut(value: float, edges: Sequence[float]) -> int:
    return bisect.bisect_left(edges, value)


FEATURES: dict[str, Callable[[Invoice, History | None], int | str | None]] = {
    "amount": _amount_bin,
    "terms": _terms_bin,
    "period_end": _period_bin,
    "trend": _trend_bin,
    "share_late": _share_bin,
    "spread": _spread_bin,
    "history_size": _size_bin,
}


# -- the model -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Residuals:
    """An empirical distribution of residuals (days), kept as quantiles, with its right tail's excess."""

    quantiles: tuple[float, ...]  # QUANTILES + 1 values, the 0th to the 100th percentile
    tail: tuple[float, ...]  # quantiles of (r - the TAIL_FROM quantile) for the residuals above it

    @classmethod
    def of(cls, values: Sequence[float]) -> Residuals:
        ordered = sorted(values)
        grid = tuple(_quantile(ordered, i / QUANTILES) for i in range(QUANTILES + 1))
        edge = _quantile(ordered, TAIL_FROM)
        excess = [v - edge for v in ordered if v > edge] or [0.0]
        return cls(grid, tuple(_quantile(excess, i / QUANTILES) for i in range(QUANTILES + 1)))

    def cdf(self, value: float) -> float:
        """The share of residuals below ``value``."""
        q = self.quantiles
        if value <= q[0]:
            return 0.0
        if value > q[-1]:
            return 1.0
        i = bisect.bisect_left(q, value)
        lo, hi = q[i - 1], q[i]
        within = (value - lo) / (hi - lo) if hi > lo else 1.0
        return (i - 1 + within) / QUANTILES

    def quantile(self, p: float) -> float:
        return _grid(self.quantiles, p)

    def above(self, floor: float, p: float) -> float:
        """The ``p`` quantile of the residuals at or above ``floor`` (the invoice is still unpaid)."""
        start = self.cdf(floor)
        if start < TAIL_FROM:
            return max(floor, self.quantile(start + p * (1 - start)))
        # Beyond the sampled body: the tail's excess, carried over the days already waited.
        return floor + _grid(self.tail, p)

    def survival(self, value: float, floor: float) -> float:
        """P(residual > value | residual >= floor)."""
        if value <= floor:
            return 1.0
        start = self.cdf(floor)
        if start < TAIL_FROM:
            remaining = 1 - start
            return max(0.0, 1 - self.cdf(value)) / remaining if remaining > 0 else 0.0
        # In the tail: the excess over floor against the tail's excess distribution.
        excess = value - floor
        return 1 - _cdf(self.tail, excess)


def _quantile(ordered: Sequence[float], p: float) -> float:
    if not ordered:
        return 0.0
    position = p * (len(ordered) - 1)
    i = int(position)
    if i + 1 >= len(ordered):
        return float(ordered[-1])
    return float(ordered[i] + (ordered[i + 1] - ordered[i]) * (position - i))


def _grid(grid: Sequence[float], p: float) -> float:
    position = min(max(p, 0.0), 1.0) * QUANTILES
    i = int(position)
    if i >= QUANTILES:
        return grid[-1]
    return grid[i] + (grid[i + 1] - grid[i]) * (position - i)


def _cdf(grid: Sequence[float], value: float) -> float:
    if value <= grid[0]:
        return 0.0
    if value > grid[-1]:
        return 1.0
    i = bisect.bisect_left(grid, value)
    lo, hi = grid[i - 1], grid[i]
    return (i - 1 + ((value - lo) / (hi - lo) if hi > lo else 1.0)) / QUANTILES


@dataclass(frozen=True)
class Model:
    """What training learned: the portfolio's delay, the customer's weight, the features' adjustments
    and the residuals (per size of history)."""

    trained_as_of: date
    examples: int
    portfolio_days_late: float
    shrink: float
    adjustments: dict[str, dict[int | str, float]]
    residuals: dict[int, Residuals]
    # Kaplan-Meier waits of the invoices still unpaid past their predicted day, by how far past it they
    # were (a bin of WAIT_EDGES) and the customer's history (_wait_group; -1: every group together).
    waits: dict[tuple[int, int], Waits] = field(default_factory=dict)
    # The same per company code (the portfolio's segment), read for the predicted day only: the
    # interval keeps the wider cell's spread, which a small segment would understate.
    segment_waits: dict[tuple[int, int, str], Waits] = field(default_factory=dict)
    version: int = MODEL_VERSION

    def to_document(self) -> dict[str, object]:
        """The model as JSON-ready data: the versioned artefact a scheduled training run can keep."""
        return {
            "version": self.version,
            "trained_as_of": self.trained_as_of.isoformat(),
            "examples": self.examples,
            "portfolio_days_late": self.portfolio_days_late,
            "shrink": self.shrink,
            "adjustments": {name: sorted(bins.items(), key=str) for name, bins in self.adjustments.items()},
            "residuals": [[g, list(r.quantiles), list(r.tail)] for g, r in sorted(self.residuals.items())],
            "waits": [
                [b, g, list(w.quantiles), w.snapshots, w.paid_share]
                for (b, g), w in sorted(self.waits.items())
            ],
            "segment_waits": [
                [b, g, s, list(w.quantiles), w.snapshots, w.paid_share]
                for (b, g, s), w in sorted(self.segment_waits.items())
            ],
        }

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> Model:
        if document.get("version") != MODEL_VERSION:
            raise PredictionError(
                f"model version {document.get('version')!r}: this code reads {MODEL_VERSION}"
            )
        return cls(
            trained_as_of=date.fromisoformat(document["trained_as_of"]),
            examples=int(document["examples"]),
            portfolio_days_late=float(document["portfolio_days_late"]),
            shrink=float(document["shrink"]),
            adjustments={
                name: {value: float(days) for value, days in bins}
                for name, bins in document["adjustments"].items()
            },
            residuals={int(g): Residuals(tuple(q), tuple(t)) for g, q, t in document["residuals"]},
            waits={
                (int(b), int(g)): Waits(tuple(q), int(n), float(paid))
                for b, g, q, n, paid in document["waits"]
            },
            segment_waits={
                (int(b), int(g), str(s)): Waits(tuple(q), int(n), float(paid))
                for b, g, s, q, n, paid in document.get("segment_waits", [])
            },
        )

    def customer_term(self, history: History | None) -> float:
        if history is None:
            return 0.0
        weight = history.paid / (history.paid + self.shrink)
        return weight * (history.recent_median - self.portfolio_days_late)

    def residuals_for(self, history: History | None) -> Residuals:
        group = _size_group(history.paid if history else 0)
        return self.residuals.get(group) or self.residuals[-1]

    def core(self, invoice: Invoice, history: History | None) -> tuple[float, list[Factor]]:
        """The days late predicted from the history and the invoice alone: the baseline and its parts."""
        centre = self.residuals_for(history).quantile(0.5)
        parts = [Factor("customer_history", self.customer_term(history), _history_sentence(history))]
        for name, feature in FEATURES.items():
            value = feature(invoice, history)
            if value is not None:
                days = self.adjustments.get(name, {}).get(value, 0.0)
                parts.append(Factor(name, days, _sentence(name, invoice, history, value)))
        return self.portfolio_days_late + centre, parts

    def waits_for(
        self, past: int, history: History | None, as_of: date, passed_over: bool = False, segment: str = ""
    ) -> tuple[Waits, Waits] | None:
        """How long an invoice still unpaid ``past`` days after its predicted day waits yet: the waits
        of its cell (for the interval) and of its cell in its company code when that has enough rows
        (for the predicted day; else the cell's). None: not past it enough for the waits to tell more
        than the residuals."""
        if past < WAIT_EDGES[0]:
            return None
        group = _wait_group(history, as_of, passed_over)
        bin_ = _cut(past, WAIT_EDGES)
        waits = self.waits.get((bin_, group)) or self.waits.get((bin_, -1))
        if waits is None:
            return None
        return waits, self.segment_waits.get((bin_, group, segment), waits)


def _wait_group(history: History | None, as_of: date, passed_over: bool = False) -> int:
    """0, 1: too little history; 2, 3: enough. Odd: the customer paid something in the RECENT_PAYMENT
    days to ``as_of`` (it is paying, but not this one). Plus 4: its payment runs passed this invoice
    over (it paid one due on or after this one's due day)."""
    if history is None:
        return 0
    recent = (as_of - history.last_paid).days < RECENT_PAYMENT
    return (0 if history.paid < MIN_HISTORY else 2) + (1 if recent else 0) + (4 if passed_over else 0)


@dataclass(frozen=True)
class Waits:
    """The days from the as-of day to payment (at least 1), as Kaplan-Meier quantiles over weekly
    snapshots of the invoices open then: an invoice still unpaid when training ends counts as waiting
    at least that long (censored), never as paid. A quantile the data never reaches holds the longest
    wait seen: a floor, not an estimate. ``paid_share``: the share of the cell the curve ends at, once its
    longest wait is PAID_FOLLOW_UP days or more (the rest is never paid); 1.0 when followed less."""

    quantiles: tuple[float, ...]
    snapshots: int
    paid_share: float = 1.0

    @classmethod
    def of(cls, rows: list[tuple[int, bool]]) -> Waits:
        rows = sorted(rows, key=lambda r: (r[0], not r[1]))
        at_risk, survival, curve, i = len(rows), 1.0, [], 0
        while i < len(rows):
            t, events, leaving = rows[i][0], 0, 0
            while i < len(rows) and rows[i][0] == t:
                events += rows[i][1]
                leaving += 1
                i += 1
            if events:
                survival *= 1 - events / at_risk
                curve.append((t, 1 - survival))
            at_risk -= leaving
        longest = float(rows[-1][0]) if rows else 1.0
        grid = []
        for k in range(QUANTILES + 1):
            p = k / QUANTILES
            grid.append(next((float(t) for t, done in curve if done >= p - 1e-12), longest))
        paid_share = curve[-1][1] if curve and longest >= PAID_FOLLOW_UP else 1.0
        return cls(tuple(grid), len(rows), paid_share)

    def quantile(self, p: float) -> float:
        return _grid(self.quantiles, p)

    def if_paid(self, p: float) -> float:
        """The ``p`` quantile of the waits of the invoices that are paid (``paid_share`` of the cell)."""
        return _grid(self.quantiles, p * self.paid_share)

    def survival(self, days: float) -> float:
        """P(the wait is longer than ``days``)."""
        return 1 - _cdf(self.quantiles, days + 0.5)


@dataclass
class _Example:
    invoice: Invoice
    history: History | None
    days_late: float
    bins: dict[str, int | str | None] = field(default_factory=dict)


def train(invoices: Iterable[Invoice], as_of: date) -> Model:
    """Learn from what was known at the end of ``as_of``: the invoices issued and paid on or before it
    (``known_by``), each as it stood the day before it was issued (its customer's history then, by the
    same rule), and the invoices issued on or before it that were still open, as open. A payment after
    ``as_of`` is never read."""
    visible = [i for i in settled(invoices) if i.invoice_date <= as_of and not i.is_credit_note]
    known = [i for i in visible if known_by(i, as_of)]
    if not known:
        raise PredictionError(f"nothing was paid on or before {as_of.isoformat()}: nothing to learn from")
    ledger = Ledger(known)
    examples = []
    for invoice in known:
        assert invoice.paid_date is not None
        history = ledger.history(invoice.customer_id, invoice.invoice_date - timedelta(days=1))
        example = _Example(invoice, history, float((invoice.paid_date - invoice.due_date).days))
        example.bins = {name: feature(invoice, history) for name, feature in FEATURES.items()}
        examples.append(example)
    portfolio = float(statistics.median(e.days_late for e in examples))

    def base_error(shrink: float) -> float:
        model = Model(as_of, len(examples), portfolio, shrink, {}, {})
        return statistics.fmean(
            abs(e.days_late - portfolio - model.customer_term(e.history)) for e in examples
        )

    shrink = min(SHRINK_CHOICES, key=base_error)
    model = Model(as_of, len(examples), portfolio, shrink, {}, {})
    base = [portfolio + model.customer_term(e.history) for e in examples]
    adjustments: dict[str, dict[int | str, float]] = {name: {} for name in FEATURES}
    total = [0.0] * len(examples)
    for _ in range(BACKFIT_ROUNDS):
        for name in FEATURES:
            old = adjustments[name]
            groups: dict[int | str, list[float]] = defaultdict(list)
            for i, e in enumerate(examples):
                value = e.bins[name]
                if value is not None:
                    total[i] -= old.get(value, 0.0)
                    groups[value].append(e.days_late - base[i] - total[i])
            new = {value: statistics.median(r) * len(r) / (len(r) + BIN_PRIOR) for value, r in groups.items()}
            for i, e in enumerate(examples):
                value = e.bins[name]
                if value is not None:
                    total[i] += new.get(value, 0.0)
            adjustments[name] = new
    residuals = [e.days_late - b - t for e, b, t in zip(examples, base, total, strict=True)]
    by_size: dict[int, list[float]] = defaultdict(list)
    for e, r in zip(examples, residuals, strict=True):
        by_size[_size_group(e.history.paid if e.history else 0)].append(r)
    by_group = {g: Residuals.of(r) for g, r in by_size.items() if len(r) >= 30}
    by_group[-1] = Residuals.of(residuals)  # every example: for a group too small to stand on its own
    model = Model(as_of, len(examples), portfolio, shrink, adjustments, by_group)
    waits, segment_waits = _waits(model, visible, ledger, as_of)
    return replace(model, waits=waits, segment_waits=segment_waits)


def _waits(
    model: Model, visible: list[Invoice], ledger: Ledger, as_of: date
) -> tuple[dict[tuple[int, int], Waits], dict[tuple[int, int, str], Waits]]:
    """Weekly snapshots from the history's first payment (before it, which invoices were open is not
    known) to ``as_of``: every invoice open at a snapshot and past its predicted day is a row of its
    bin, with the days it waited yet (or, still open at ``as_of``, at least the days to ``as_of``).
    The cells, and the cells per company code that have MIN_WAITS rows."""
    paid_days = [i.paid_date for i in visible if i.paid_date is not None and i.paid_date <= as_of]
    if not paid_days:
        return {}, {}
    start = min(paid_days)
    rows: dict[tuple[int, int], list[tuple[int, bool]]] = defaultdict(list)
    segments: dict[tuple[int, int, str], list[tuple[int, bool]]] = defaultdict(list)
    histories: dict[tuple[str, date], History | None] = {}
    for invoice in visible:
        paid = invoice.paid_date if invoice.paid_date is not None and invoice.paid_date <= as_of else None
        if paid is None and invoice.paid_date is None and not invoice.is_open:
            continue
        first = max(start, invoice.invoice_date)
        first += timedelta(days=(-(first - start).days) % SNAPSHOT_DAYS)
        last = min(as_of, paid) - timedelta(days=1) if paid is not None else as_of - timedelta(days=1)
        t = first
        while t <= last:
            key = (invoice.customer_id, t)
            if key not in histories:
                histories[key] = ledger.history(invoice.customer_id, t)
            history = histories[key]
            baseline, parts = model.core(invoice, history)
            predicted = invoice.due_date + timedelta(days=round(baseline + sum(p.days for p in parts)))
            past = (t - predicted).days
            if past >= WAIT_EDGES[0]:
                group = _wait_group(history, t, ledger.passed_over(invoice.customer_id, t, invoice.due_date))
                row = ((paid - t).days, True) if paid is not None else ((as_of - t).days, False)
                rows[(_cut(past, WAIT_EDGES), group)].append(row)
                segments[(_cut(past, WAIT_EDGES), group, invoice.company_code or "")].append(row)
            t += timedelta(days=SNAPSHOT_DAYS)
    waits = {key: Waits.of(r) for key, r in rows.items() if len(r) >= MIN_WAITS}
    pooled: dict[int, list[tuple[int, bool]]] = defaultdict(list)
    for (bin_, _), r in rows.items():
        pooled[bin_].extend(r)
    waits.update({(bin_, -1): Waits.of(r) for bin_, r in pooled.items() if r})
    return waits, {key: Waits.of(r) for key, r in segments.items() if len(r) >= MIN_WAITS}


class PredictionError(ValueError):
    """The history cannot give a prediction (nothing paid to learn from)."""


PERIODS: dict[int | str, str] = {0: "due mid-month", 1: "due at a month end", 2: "due at a quarter end"}


def _sentence(name: str, invoice: Invoice, history: History | None, value: int | str) -> str:
    if name == "amount" and history is not None:
        usual = history.usual_amount[invoice.currency]
        word = "above" if invoice.amount > usual else "below" if invoice.amount < usual else "at"
        return f"amount {word} this customer's usual ({invoice.amount} against {usual} {invoice.currency})"
    if name == "terms":
        return f"{(invoice.due_date - invoice.invoice_date).days} days' terms"
    if name == "period_end":
        return PERIODS.get(value, "")
    if name == "trend" and history is not None and history.trend is not None:
        word = "later" if history.trend > 0 else "earlier"
        return f"its last 3 payments came {abs(history.trend):.0f} days {word} than the ones before"
    if name == "share_late" and history is not None:
        return f"paid {history.share_late:.0%} of its {history.paid} invoices late"
    if name == "spread" and history is not None:
        return f"its payments vary by about {history.spread:.0f} days around its usual"
    paid = history.paid if history else 0
    return f"customers with a record this size ({paid or 'no'} paid invoice{'' if paid == 1 else 's'})"


def predict(
    model: Model,
    invoices: Iterable[Invoice],
    as_of: date,
    *,
    promises: Iterable[Promise] = (),
    disputes: Iterable[Dispute] = (),
    ledger: Ledger | None = None,
) -> list[Prediction]:
    """A prediction for every invoice open at the end of ``as_of`` (issued on or before it, not paid on
    or before it). The customer's history is every invoice of ``invoices`` issued and paid on or before
    ``as_of`` (``known_by``; or the ``ledger`` given, read as of ``as_of`` by the same rule); promises and
    disputes count if they were made on or before it. Only the disputes given count: an invoice's own
    ``disputed`` flag is never read (in a history file it is the invoice's final state, which would look
    past ``as_of``); the reports function passes the ERP's flags as disputes (``ERP_DISPUTE``)."""
    invoices = settled(invoices)
    ledger = ledger or Ledger(i for i in invoices if known_by(i, as_of))
    open_promises: dict[tuple[str, str], Promise] = {}
    for promise in promises:
        if promise.created_at.date() > as_of or promise.promised_until <= as_of:
            continue
        if promise.settled_at is not None and promise.settled_at.date() <= as_of:
            continue
        for number in promise.invoice_numbers:
            open_promises[(promise.customer_id, number)] = promise
    open_disputes: dict[tuple[str, str], Dispute] = {}
    for d in disputes:
        if (
            d.created_at.date() <= as_of
            and (d.closed_at is None or d.closed_at.date() > as_of)
            and (d.resolved_at is None or d.resolved_at.date() > as_of)
        ):
            open_disputes.setdefault((d.customer_id, d.invoice_number), d)  # the first given says why
    out = []
    for invoice in invoices:
        if invoice.is_credit_note or invoice.invoice_date > as_of:
            continue
        if invoice.paid_date is not None and invoice.paid_date <= as_of:
            continue
        closed = invoice.paid_date is None and not invoice.is_open
        if closed and (invoice.closed_on is None or invoice.closed_on <= as_of):
            continue  # closed without a payment we know of: nothing to predict
        key = (invoice.customer_id, invoice.invoice_number)
        waited = (as_of - invoice.due_date).days
        out.append(
            _one(
                model,
                invoice,
                as_of,
                ledger.history(invoice.customer_id, as_of),
                open_promises.get(key),
                open_disputes.get(key),
                ledger.later_than(invoice.customer_id, as_of, max(0, waited)),
                ledger.passed_over(invoice.customer_id, as_of, invoice.due_date),
                ledger.later_than(invoice.customer_id, as_of, waited, ALIKE_HISTORY) if waited < 0 else [],
            )
        )
    return out


def predict_open(
    invoices: Sequence[Invoice],
    as_of: date,
    *,
    promises: Iterable[Promise] = (),
    disputes: Iterable[Dispute] = (),
) -> list[Prediction]:
    """Train on what was known at the end of ``as_of`` and predict every invoice open then: the whole
    use in one call (the reports function may keep the trained ``Model`` instead, see ``to_document``)."""
    return predict(train(invoices, as_of), invoices, as_of, promises=promises, disputes=disputes)


def _one(
    model: Model,
    invoice: Invoice,
    as_of: date,
    history: History | None,
    promise: Promise | None,
    dispute: Dispute | None,
    own: list[int],
    passed_over: bool = False,
    alike: Sequence[int] = (),
) -> Prediction:
    residuals = model.residuals_for(history)
    centre = residuals.quantile(0.5)
    baseline, parts = model.core(invoice, history)
    fallback = history is None or history.paid < MIN_HISTORY
    disputed = dispute is not None
    if dispute is not None:
        parts.append(Factor("dispute", DISPUTE_DAYS, _dispute_sentence(dispute)))
    core = baseline + sum(p.days for p in parts)
    earliest = as_of + timedelta(days=1)
    waited = (as_of - invoice.due_date).days
    still = (
        f"still unpaid {_days(waited)} after its due date"
        if waited > 0
        else "still unpaid on its due date"
        if waited == 0
        else f"not paid yet, {_days(-waited)} before its due date"
    )
    if promise is not None:
        promised = float((max(promise.promised_until, earliest) - invoice.due_date).days)
        parts.append(Factor("promise", promised - core, f"open promise to pay on {promise.promised_until}"))
        low_days = promised
        high_days = promised + max(0.0, residuals.quantile(1 - (1 - COVERAGE) / 2) - centre)
        over = 1.0 if promised > LATE_DAYS else 0.0
    else:
        # Not yet due, and the customer has paid enough invoices that were still unpaid this close to
        # their due date: they say when this one will be paid better than the portfolio's residuals or
        # waits (an open dispute keeps its days: the habit was learned without one).
        habit = waited < 0 and not disputed and len(alike) >= MIN_HISTORY
        past = (as_of - (invoice.due_date + timedelta(days=round(core)))).days
        found = (
            None if habit else model.waits_for(past, history, as_of, passed_over, invoice.company_code or "")
        )
        if found is not None:
            # Past its predicted day and unpaid: how long invoices as far past theirs waited yet (the
            # day from those of its company code, the interval from them all).
            waits, segment = found

            def at(p: float) -> float:
                return waited + waits.quantile(p)

            shift = waited + segment.if_paid(0.5) - core
            if passed_over:
                still += ", though one of the customer's invoices due on or after it was paid"
            if segment.paid_share < 0.995:
                still += (
                    f"; {1 - segment.paid_share:.0%} of invoices as far past theirs were still unpaid "
                    f"{segment.quantiles[-1]:.0f} days on: this is the day it is paid, if it is"
                )
            if own:
                weight = len(own) / (len(own) + OWN_WEIGHT)
                mine = float(statistics.median(own)) - core
                parts.append(
                    Factor(
                        "own_late_payments",
                        weight * (mine - shift),
                        _own_sentence(own, waited),
                    )
                )
            low_days, high_days = at((1 - COVERAGE) / 2), at(1 - (1 - COVERAGE) / 2)
            over = waits.survival(LATE_DAYS - waited)
        else:
            # Not yet past it: the training residuals, knowing the invoice is unpaid at the end of as_of.
            floor = waited + 1 - (core - centre)
            shift = residuals.above(floor, 0.5) - centre
            low_days = core - centre + residuals.above(floor, (1 - COVERAGE) / 2)
            high_days = core - centre + residuals.above(floor, 1 - (1 - COVERAGE) / 2)
            over = residuals.survival(LATE_DAYS - (core - centre), floor)
            if habit:
                shift = float(statistics.median(alike)) - core
                still = _alike_sentence(alike, waited)
        if abs(shift) >= 0.05:
            parts.append(Factor("still_open", shift, still))
    offset = baseline + sum(p.days for p in parts)
    pay = max(invoice.due_date + timedelta(days=round(offset)), earliest)
    low = max(invoice.due_date + timedelta(days=math.floor(low_days)), earliest)
    high = max(invoice.due_date + timedelta(days=math.ceil(high_days)), pay)
    return Prediction(
        customer_id=invoice.customer_id,
        invoice_number=invoice.invoice_number,
        as_of=as_of,
        due_date=invoice.due_date,
        pay_date=pay,
        low=min(low, pay),
        high=high,
        probability_over_30_days_late=round(min(1.0, max(0.0, over)), 4),
        offset_days=offset,
        baseline_days=baseline,
        contributions=tuple(parts),
        fallback=fallback,
    )


def _dispute_sentence(dispute: Dispute) -> str:
    if dispute.opened_by == ERP_DISPUTE:
        return "the ERP flags this invoice as disputed: an open dispute (a rule, not learned)"
    return "an open dispute on this invoice (a rule, not learned)"


def _history_sentence(history: History | None) -> str:
    if history is None:
        return "no paid invoice of this customer yet: the portfolio's usual delay stands in"
    if history.paid < MIN_HISTORY:
        return (
            f"only {history.paid} paid invoice{'' if history.paid == 1 else 's'} of this customer "
            f"({_late(history.recent_median)}): mostly the portfolio's usual delay stands in"
        )
    return (
        f"customer paid its last {history.recent_count} invoices {_late(history.recent_median)} "
        f"(median; mean {history.recent_mean:+.0f})"
    )


def _late(days: float) -> str:
    if abs(days) < 0.5:
        return "on their due dates"
    return f"{_days(abs(days))} {'late' if days > 0 else 'early'}"


def _days(days: float) -> str:
    return f"{days:.0f} day{'' if round(days) == 1 else 's'}"


def _alike_sentence(alike: Sequence[int], waited: int) -> str:
    return (
        f"not paid yet, {_days(-waited)} before its due date, like {len(alike)} of the customer's paid "
        f"invoices at that point: they were paid {_late(statistics.median(alike))} (median)"
    )


def _own_sentence(own: list[int], waited: int) -> str:
    which = f"paid more than {_days(waited)} late" if waited > 0 else "paid late"
    many = len(own) > 1
    return (
        f"its {len(own)} invoice{'s' if many else ''} {which} {'were' if many else 'was'} paid "
        f"{'a median ' if many else ''}{_days(statistics.median(own))} late"
    )


# -- measured honestly ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    """A model trained on what was known before ``split`` and scored on the invoices open then that
    were paid later, beside two baselines from the same run."""

    split: date
    trained_on: int
    invoices_scored: int
    mae_model: float
    mae_due_date: float
    mae_due_plus_customer_average: float
    interval_coverage_80: float
    auc_30_days_late: float | None  # None: every scored invoice on the same side of 30 days late
    paid_over_30_days_late: int
    fallbacks: int

    def document(self) -> dict[str, object]:
        return {
            "invoices_scored": self.invoices_scored,
            "mae_days": {
                "model": round(self.mae_model, 3),
                "due_date": round(self.mae_due_date, 3),
                "due_plus_customer_average": round(self.mae_due_plus_customer_average, 3),
            },
            "interval_coverage_80": round(self.interval_coverage_80, 4),
            "auc_30_days_late": None if self.auc_30_days_late is None else round(self.auc_30_days_late, 4),
        }


def evaluate(invoices: Iterable[Invoice], split: date) -> Evaluation:
    """Train on the invoices paid before ``split`` (each as of its own invoice date), predict as of the
    day before it, and score the invoices open then whose pay day the history knows.

    The baselines: the due date; the due date plus the customer's mean days late over the invoices
    issued and paid before the split (the portfolio's mean for a customer with none). Both are read as
    of the same day from the same documents as the model (``known_by``), and like the model never put a
    still-open invoice's payment before the split. With fewer than ``MIN_TRAINING`` paid invoices known
    before the split it refuses, as the reports function trains no model then. No invoice's ``disputed``
    flag is read: in a history it is the final state, known only after the split."""
    invoices = [i for i in settled(invoices) if not i.is_credit_note]
    as_of = split - timedelta(days=1)
    learned = paid_known(invoices, as_of)
    if 0 < learned < MIN_TRAINING:  # (none at all: training says there is nothing to learn from)
        were = "invoice was" if learned == 1 else "invoices were"
        raise PredictionError(
            f"split {split.isoformat()}: {learned} paid {were} known before "
            f"it (issued and paid on or before {as_of.isoformat()}), {MIN_TRAINING} are needed to train the "
            "model (as in the reports function): pick a later split or a longer history"
        )
    model = train(invoices, as_of)
    known = [i for i in invoices if known_by(i, as_of)]
    ledger = Ledger(known)
    portfolio_mean = statistics.fmean((i.paid_date - i.due_date).days for i in known if i.paid_date)
    truth = {
        (i.customer_id, i.invoice_number): i.paid_date
        for i in invoices
        if i.invoice_date <= as_of and i.paid_date is not None and i.paid_date > as_of
    }
    if not truth:
        raise PredictionError(
            f"no invoice was open at {split.isoformat()} and paid later: nothing to score "
            "(pick a split inside the history)"
        )
    scored = [i for i in invoices if (i.customer_id, i.invoice_number) in truth]
    predictions = predict(model, scored, as_of, ledger=ledger)
    earliest = split
    errors_model, errors_due, errors_average, covered = [], [], [], 0
    scores: list[tuple[float, bool]] = []
    for invoice, prediction in zip(scored, predictions, strict=True):
        paid = truth[(invoice.customer_id, invoice.invoice_number)]
        assert paid is not None
        errors_model.append(abs((prediction.pay_date - paid).days))
        errors_due.append(abs((max(invoice.due_date, earliest) - paid).days))
        average = ledger.average_days_late(invoice.customer_id, as_of)
        guess = invoice.due_date + timedelta(days=round(portfolio_mean if average is None else average))
        errors_average.append(abs((max(guess, earliest) - paid).days))
        covered += prediction.low <= paid <= prediction.high
        scores.append((prediction.probability_over_30_days_late, (paid - invoice.due_date).days > LATE_DAYS))
    n = len(scored)
    return Evaluation(
        split=split,
        trained_on=model.examples,
        invoices_scored=n,
        mae_model=statistics.fmean(errors_model),
        mae_due_date=statistics.fmean(errors_due),
        mae_due_plus_customer_average=statistics.fmean(errors_average),
        interval_coverage_80=covered / n,
        auc_30_days_late=auc(scores),
        paid_over_30_days_late=sum(1 for _, late in scores if late),
        fallbacks=sum(1 for p in predictions if p.fallback),
    )


def auc(scores: Sequence[tuple[float, bool]]) -> float | None:
    """The area under the ROC curve: the chance a positive scores above a negative (ties count half)."""
    positives = sum(1 for _, positive in scores if positive)
    negatives = len(scores) - positives
    if positives == 0 or negatives == 0:
        return None
    ordered = sorted(scores, key=lambda s: s[0])
    rank_sum, i = 0.0, 0
    while i < len(ordered):
        j = i
        while j < len(ordered) and ordered[j][0] == ordered[i][0]:
            j += 1
        mean_rank = (i + 1 + j) / 2
        rank_sum += mean_rank * sum(1 for k in range(i, j) if ordered[k][1])
        i = j
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)
