"""Predicted pay dates that explain themselves (issue 19).

For every invoice open at an as-of day: the day it is expected to be paid, an 80% interval, the
probability that it is paid more than 30 days late, and the factors behind it as additive contributions
in days ("customer paid its last 6 invoices 12 days late on average (+9 d)").

The model is additive and pure Python (no numpy: the layer stays small, cold starts unaffected). Days
late (pay day minus due day) are predicted as

    the portfolio's median days late
    + the customer's recent median days late, shrunk toward the portfolio by how many invoices it paid
    + one learned adjustment per feature (amount against the customer's usual, terms, month or quarter
      end, trend, share paid late, size of the history): the median residual of its bin in training
    + activity at the as-of day (an open promise, an open dispute): rules, since histories carry none
    + "still unpaid": the shift that knowing the invoice is still open at the as-of day implies, read
      from the training residuals above the days it is already past its predicted day.

Each term IS a contribution: they add up to the predicted offset from the due day exactly. The interval
and P(> 30 days late) come from the same residual distribution (empirical quantiles of the training
residuals, per size of the customer's history), conditioned on the invoice being unpaid at the as-of day.

Nothing looks past the as-of day: the history is the invoices paid on or before it, the activity what
was created on or before it; an invoice's own paid day is never read when it is predicted. Training
reads each paid invoice as it stood the day before its invoice date.
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from arcollect.entities import Dispute, Invoice, Promise

MODEL_VERSION = 1
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
COVERAGE = 0.8


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
        """The top three contributions, largest effect first."""
        ranked = sorted(self.contributions, key=lambda f: (-abs(f.days), f.name))
        return tuple(f for f in ranked if round(f.days) != 0 or f.name == "customer_history")[:3]


@dataclass(frozen=True)
class History:
    """A customer's payment record as of a day: the invoices it paid on or before it."""

    paid: int
    recent_median: float
    recent_mean: float
    recent_count: int
    spread: float  # median absolute deviation of the recent days late
    share_late: float
    trend: float | None  # the last three against the ones before (days late; positive: getting later)
    usual_amount: dict[str, Decimal]  # per currency, the median of the recent amounts


class Ledger:
    """The paid invoices of every customer, by paid day, read as of any day without looking past it."""

    def __init__(self, invoices: Iterable[Invoice]) -> None:
        rows: dict[str, list[tuple[date, int, str, Decimal]]] = defaultdict(list)
        for invoice in invoices:
            if invoice.paid_date is None or invoice.is_credit_note:
                continue
            days = (invoice.paid_date - invoice.due_date).days
            rows[invoice.customer_id].append((invoice.paid_date, days, invoice.currency, invoice.amount))
        self._rows = {customer: sorted(r) for customer, r in rows.items()}
        self._days = {customer: [r[0] for r in rs] for customer, rs in self._rows.items()}
        self._late = {
            customer: _running([1 if r[1] > 0 else 0 for r in rs]) for customer, rs in self._rows.items()
        }

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
        )

    def average_days_late(self, customer_id: str, as_of: date) -> float | None:
        """The customer's mean days late over every invoice it paid on or before ``as_of``."""
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


FEATURES: dict[str, Callable[[Invoice, History | None], int | None]] = {
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
    adjustments: dict[str, dict[int, float]]
    residuals: dict[int, Residuals]
    version: int = MODEL_VERSION

    def customer_term(self, history: History | None) -> float:
        if history is None:
            return 0.0
        weight = history.paid / (history.paid + self.shrink)
        return weight * (history.recent_median - self.portfolio_days_late)

    def residuals_for(self, history: History | None) -> Residuals:
        group = _size_group(history.paid if history else 0)
        return self.residuals.get(group) or self.residuals[-1]


@dataclass
class _Example:
    invoice: Invoice
    history: History | None
    days_late: float
    bins: dict[str, int | None] = field(default_factory=dict)


def train(invoices: Iterable[Invoice], as_of: date) -> Model:
    """Learn from the invoices paid on or before ``as_of``, each as it stood the day before it was
    issued (its customer's history then). Nothing paid after ``as_of`` is read."""
    known = [i for i in invoices if i.paid_date is not None and i.paid_date <= as_of and not i.is_credit_note]
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
    adjustments: dict[str, dict[int, float]] = {name: {} for name in FEATURES}
    total = [0.0] * len(examples)
    for _ in range(BACKFIT_ROUNDS):
        for name in FEATURES:
            old = adjustments[name]
            groups: dict[int, list[float]] = defaultdict(list)
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
    return Model(as_of, len(examples), portfolio, shrink, adjustments, by_group)


class PredictionError(ValueError):
    """The history cannot give a prediction (nothing paid to learn from)."""


def _sentence(name: str, invoice: Invoice, history: History | None, value: int) -> str:
    if name == "amount" and history is not None:
        usual = history.usual_amount[invoice.currency]
        word = "above" if invoice.amount > usual else "below" if invoice.amount < usual else "at"
        return f"amount {word} this customer's usual ({invoice.amount} against {usual} {invoice.currency})"
    if name == "terms":
        return f"{(invoice.due_date - invoice.invoice_date).days} days' terms"
    if name == "period_end":
        return {0: "due mid-month", 1: "due at a month end", 2: "due at a quarter end"}[value]
    if name == "trend" and history is not None and history.trend is not None:
        word = "later" if history.trend > 0 else "earlier"
        return f"its last 3 payments came {abs(history.trend):.0f} days {word} than the ones before"
    if name == "share_late" and history is not None:
        return f"paid {history.share_late:.0%} of its {history.paid} invoices late"
    if name == "spread" and history is not None:
        return f"its payments vary by about {history.spread:.0f} days around its usual"
    paid = history.paid if history else 0
    return f"{paid} paid invoice{'' if paid == 1 else 's'} on record"


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
    or before it). The customer's history is every invoice of ``invoices`` paid on or before ``as_of``
    (or the ``ledger`` given); promises and disputes count if they were made on or before it."""
    invoices = list(invoices)
    ledger = ledger or Ledger(i for i in invoices if i.paid_date is not None and i.paid_date <= as_of)
    open_promises: dict[tuple[str, str], Promise] = {}
    for promise in promises:
        if promise.created_at.date() > as_of or promise.promised_until <= as_of:
            continue
        if promise.settled_at is not None and promise.settled_at.date() <= as_of:
            continue
        for number in promise.invoice_numbers:
            open_promises[(promise.customer_id, number)] = promise
    open_disputes = {
        (d.customer_id, d.invoice_number)
        for d in disputes
        if d.created_at.date() <= as_of
        and (d.closed_at is None or d.closed_at.date() > as_of)
        and (d.resolved_at is None or d.resolved_at.date() > as_of)
    }
    out = []
    for invoice in invoices:
        if invoice.is_credit_note or invoice.invoice_date > as_of:
            continue
        if invoice.paid_date is not None and invoice.paid_date <= as_of:
            continue
        if invoice.paid_date is None and not invoice.is_open:
            continue
        key = (invoice.customer_id, invoice.invoice_number)
        out.append(
            _one(
                model,
                invoice,
                as_of,
                ledger.history(invoice.customer_id, as_of),
                open_promises.get(key),
                key in open_disputes,
            )
        )
    return out


def _one(
    model: Model,
    invoice: Invoice,
    as_of: date,
    history: History | None,
    promise: Promise | None,
    disputed: bool,
) -> Prediction:
    residuals = model.residuals_for(history)
    centre = residuals.quantile(0.5)
    baseline = model.portfolio_days_late + centre
    parts: list[Factor] = []
    fallback = history is None or history.paid < MIN_HISTORY
    customer = model.customer_term(history)
    if history is None:
        sentence = "no paid invoice of this customer yet: the portfolio's usual delay stands in"
    elif fallback:
        sentence = (
            f"only {history.paid} paid invoice{'' if history.paid == 1 else 's'} of this customer "
            f"({history.recent_median:+.0f} days late): mostly the portfolio's usual delay"
        )
    else:
        sentence = (
            f"customer paid its last {history.recent_count} invoices {_late(history.recent_median)} "
            f"(median; mean {history.recent_mean:+.0f})"
        )
    parts.append(Factor("customer_history", customer, sentence))
    for name, feature in FEATURES.items():
        value = feature(invoice, history)
        if value is None:
            continue
        days = model.adjustments.get(name, {}).get(value, 0.0)
        parts.append(Factor(name, days, _sentence(name, invoice, history, value)))
    if disputed:
        parts.append(Factor("dispute", DISPUTE_DAYS, "an open dispute on this invoice"))
    so_far = baseline + sum(p.days for p in parts)
    if promise is not None:
        promised = float((promise.promised_until - invoice.due_date).days)
        parts.append(
            Factor(
                "promise",
                promised - so_far,
                f"open promise to pay on {promise.promised_until.isoformat()}",
            )
        )
        so_far = promised
    # Still unpaid at the end of as_of: the residual is at least the days the invoice has already waited
    # beyond the day predicted so far.
    floor = (as_of - invoice.due_date).days + 1 - so_far
    if promise is None:
        shifted = residuals.above(floor, 0.5) - centre
        if shifted > 0:
            waited = (as_of - invoice.due_date).days
            parts.append(
                Factor(
                    "still_open",
                    shifted,
                    f"still unpaid {waited} days after its due date" if waited > 0 else "still unpaid",
                )
            )
    offset = baseline + sum(p.days for p in parts)
    core = offset - centre - sum(p.days for p in parts if p.name == "still_open")
    if promise is not None:
        low_days, high_days = max(offset, floor + core), offset + max(0.0, residuals.quantile(0.75) - centre)
        low_days = max(low_days, core + floor)
    else:
        low_days = core + residuals.above(floor, (1 - COVERAGE) / 2)
        high_days = core + residuals.above(floor, 1 - (1 - COVERAGE) / 2)
    over = residuals.survival(LATE_DAYS - core, floor)
    earliest = as_of + timedelta(days=1)
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
        contributions=tuple(p for p in parts),
        fallback=fallback,
    )


def _late(days: float) -> str:
    if abs(days) < 0.5:
        return "on their due dates"
    return f"{abs(days):.0f} days {'late' if days > 0 else 'early'}"


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

    The baselines: the due date; the due date plus the customer's mean days late over the invoices it
    paid before the split (the portfolio's mean for a customer with none). Both are read as of the same
    day, and like the model never put a still-open invoice's payment before the split."""
    invoices = [i for i in invoices if not i.is_credit_note]
    as_of = split - timedelta(days=1)
    model = train(invoices, as_of)
    known = [i for i in invoices if i.paid_date is not None and i.paid_date <= as_of]
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
