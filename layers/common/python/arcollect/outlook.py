"""An open invoice's predicted pay date as the rest of the system keeps it (issue 19).

The reports function trains the pay-date model (``arcollect.predictions``) and scores every open invoice
on its schedule; what each prediction says is kept per invoice in the table (``store/predictions.py``)
as a ``PayOutlook``: small, plain data, with no part of the model. The worklist's "expected to pay late"
factor (``priority.py``) and the staff console's 360 view and invoice page read it there, so that neither
the workspace nor the functions that serve it import the model (their cold starts stay as they were),
and the features stay independent of one another.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

# What a pay date was predicted from: the trained model, or (no model could be trained: too little
# history) the customer-average rule, the due date plus the customer's average days late.
MODEL = "model"
CUSTOMER_AVERAGE = "customer_average"
# The factor that says what the prediction stands on (the customer's own history, or under the
# customer-average rule its average): listed even when it shows 0 days. Any other factor is listed only
# when it shows a whole day or more (``shown_days``).
ALWAYS_LISTED = frozenset({"customer_history", CUSTOMER_AVERAGE})
_TENTH = Decimal("0.1")


def kept_days(days: float) -> Decimal:
    """A factor's days as kept (kpis.json, the table's items): to the tenth, half away from zero."""
    return Decimal(str(days)).quantize(_TENTH, rounding=ROUND_HALF_UP)


def shown_days(days: Decimal) -> int:
    """A factor's days as a collector reads them: whole days of the kept tenth, half away from zero
    (-0.5 shows -1, 0.4 shows 0). One rule for what is shown and for which factors are listed."""
    return int(days.to_integral_value(rounding=ROUND_HALF_UP))


def listed(name: str, days: float) -> bool:
    """Whether a factor is listed among a prediction's top factors: it shows at least a whole day, or it
    is the one that says what the prediction stands on (``ALWAYS_LISTED``)."""
    return name in ALWAYS_LISTED or shown_days(kept_days(days)) != 0


@dataclass(frozen=True)
class OutlookFactor:
    """One of a prediction's top three factors: its additive effect in days and what it says."""

    name: str
    days: Decimal  # one decimal; positive: later
    text: str

    def sentence(self) -> str:
        """``customer paid its last 6 invoices 12 days late (+9 d)``: whole days, half away from zero,
        with the sign of the days (-0.5 shows ``-1 d``; only an ``ALWAYS_LISTED`` factor shows 0)."""
        whole = shown_days(self.days)
        return f"{self.text} ({'-' if self.days < 0 else '+'}{abs(whole)} d)"


@dataclass(frozen=True)
class PayOutlook:
    """When one open invoice is expected to be paid, as of the report's day."""

    customer_id: str
    invoice_number: str
    as_of: date
    due_date: date
    pay_date: date
    low: date  # the 80% interval (the model's; under the customer-average rule, the predicted day)
    high: date
    probability_over_30_days_late: Decimal | None  # None under the customer-average rule
    factors: tuple[OutlookFactor, ...]
    basis: str = MODEL
    # The customer has too little history of its own: the portfolio's delay stands in (and says so).
    fallback: bool = False

    @property
    def days_late(self) -> int:
        """Days after the due date it is expected (negative: early)."""
        return (self.pay_date - self.due_date).days

    def interval_text(self) -> str:
        if self.low == self.high:
            return self.pay_date.isoformat()
        return f"{self.low.isoformat()} to {self.high.isoformat()}"

    def factors_text(self) -> str:
        """The top three factors as one line: ``a (+9 d); b (+3 d); c (-5 d)``."""
        return "; ".join(factor.sentence() for factor in self.factors)
