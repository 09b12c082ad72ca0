"""Accounts-receivable KPIs as of any date, per currency, company code and segment.

``compute_kpis`` is the report's engine: it reads invoices and dated payments (never today's stored open
amounts for a past date), so history can be backfilled and a report reproduced. ``ar_snapshot`` is the
older quick view of today's stored open amounts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

from arcollect.aging import AGING_BUCKETS, aging_bucket
from arcollect.contract import ReportPrefix
from arcollect.entities import Allocation, Customer, DocumentType, Invoice, InvoiceStatus, Payment
from arcollect.outlook import PayOutlook
from arcollect.reports.forecast import DelayHistory, OpenItem, cash_forecast

DEFAULT_WINDOW_DAYS = 90


@dataclass
class _CurrencyTotals:
    ar_total: Decimal = Decimal(0)
    ar_current: Decimal = Decimal(0)
    ar_past_due: Decimal = Decimal(0)
    credit_sales: Decimal = Decimal(0)
    open_invoices: int = 0

    def __post_init__(self) -> None:
        self.aging = {bucket: Decimal(0) for bucket in AGING_BUCKETS}


def _days(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.1")))


def ar_snapshot(
    invoices: Iterable[Invoice], as_of: date, window_days: int = DEFAULT_WINDOW_DAYS
) -> dict[str, Any]:
    """Open receivables at ``as_of`` per currency: totals, aging and DSO (amounts as decimal strings).

    Open amounts are the ones stored now, so this is exact for ``as_of`` = the day of the run.
    - ``credit_sales``: invoices (not credit notes) dated in (as_of - window_days, as_of];
    - ``dso_days`` = ar_total / credit_sales x window_days;
      ``best_possible_dso_days`` = ar_current / credit_sales x window_days.
    Credit notes reduce the balance (their open amount counts negative).
    """
    totals: dict[str, _CurrencyTotals] = defaultdict(_CurrencyTotals)
    window_start = as_of - timedelta(days=window_days)
    for invoice in invoices:
        if invoice.invoice_date > as_of:
            continue
        line = totals[invoice.currency]
        if not invoice.is_credit_note and window_start < invoice.invoice_date <= as_of:
            line.credit_sales += invoice.amount
        if invoice.status != InvoiceStatus.OPEN or invoice.open_amount == 0:
            continue
        amount = invoice.signed_open_amount
        days_past_due = (as_of - invoice.due_date).days
        line.ar_total += amount
        if days_past_due <= 0:
            line.ar_current += amount
        else:
            line.ar_past_due += amount
        line.aging[aging_bucket(days_past_due)] += amount
        line.open_invoices += 1

    def figures(line: _CurrencyTotals) -> dict[str, Any]:
        document: dict[str, Any] = {
            "ar_total": str(line.ar_total),
            "ar_current": str(line.ar_current),
            "ar_past_due": str(line.ar_past_due),
            "aging": {bucket: str(amount) for bucket, amount in line.aging.items()},
            "open_invoices": line.open_invoices,
            "credit_sales": str(line.credit_sales),
            "dso_days": None,
            "best_possible_dso_days": None,
        }
        if line.credit_sales > 0:
            document["dso_days"] = _days(line.ar_total / line.credit_sales * window_days)
            document["best_possible_dso_days"] = _days(line.ar_current / line.credit_sales * window_days)
        return document

    return {
        "as_of": as_of.isoformat(),
        "window_days": window_days,
        "by_currency": {currency: figures(line) for currency, line in sorted(totals.items())},
    }


# -- the KPI engine: any as-of date, from invoices and dated payments ------------------------------

TOP_RISK_CUSTOMERS = 50
NO_COMPANY_CODE = "(none)"
NO_SEGMENT = "(none)"
_ONE_DECIMAL = Decimal("0.1")
_ZERO = Decimal(0)


def default_segment(customer: Customer | None) -> str:
    """A customer's segment for the report: its explicit segment, else ``(none)``."""
    return customer.segment if customer is not None and customer.segment else NO_SEGMENT


def _one_decimal(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(_ONE_DECIMAL, rounding=ROUND_HALF_UP))


def _ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    return None if denominator == 0 else numerator / denominator


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _previous_month(first: date) -> date:
    return (first - timedelta(days=1)).replace(day=1)


class _Figures:
    """The running totals of one group (a currency; a company code or segment in a currency)."""

    __slots__ = (
        "aging",
        "ar_begin",
        "ar_current",
        "ar_past_due",
        "ar_total",
        "collected",
        "credit_sales",
        "days_late",
        "days_to_pay",
        "monthly_sales",
        "open_invoices",
        "paid",
        "write_offs",
    )

    def __init__(self) -> None:
        self.ar_total = _ZERO
        self.ar_current = _ZERO
        self.ar_past_due = _ZERO
        self.aging = dict.fromkeys(AGING_BUCKETS, _ZERO)
        self.open_invoices = 0
        self.credit_sales = _ZERO
        self.ar_begin = _ZERO
        self.write_offs = _ZERO
        self.collected = _ZERO
        self.paid = 0
        self.days_to_pay = 0
        self.days_late = 0
        # Credit sales per calendar month (keyed by its first day), for the countback DSO.
        self.monthly_sales: dict[date, Decimal] = {}

    def countback_days(self, as_of: date) -> Decimal | None:
        """Countback DSO: walk back calendar months from ``as_of`` (the first period is the month to
        date, 1st .. as_of), taking each month's credit sales off ar_total and adding its days while
        something is left; the month that exhausts it adds its days x remaining / its sales."""
        remaining = self.ar_total
        if remaining <= 0:
            return _ZERO
        earliest = min(self.monthly_sales, default=None)
        first = _month_start(as_of)
        period_end = as_of
        days = _ZERO
        while earliest is not None and first >= earliest:
            period_days = (period_end - first).days + 1
            sales = self.monthly_sales.get(first, _ZERO)
            if sales >= remaining:
                return days + remaining / sales * period_days
            remaining -= sales
            days += period_days
            period_end = first - timedelta(days=1)
            first = _previous_month(first)
        return None  # more open than was ever sold on credit: no sales history explains the balance

    def document(self, as_of: date, window_days: int) -> dict[str, Any]:
        window = Decimal(window_days)
        dso = _ratio(self.ar_total * window, self.credit_sales)
        best = _ratio(self.ar_current * window, self.credit_sales)
        cei = _ratio(
            (self.ar_begin + self.credit_sales - self.ar_total) * 100,
            self.ar_begin + self.credit_sales - self.ar_current,
        )
        return {
            "ar_total": str(self.ar_total),
            "ar_current": str(self.ar_current),
            "ar_past_due": str(self.ar_past_due),
            "aging": {bucket: str(amount) for bucket, amount in self.aging.items()},
            "open_invoices": self.open_invoices,
            "credit_sales": str(self.credit_sales),
            "ar_begin": str(self.ar_begin),
            "dso_days": _one_decimal(dso),
            "best_possible_dso_days": _one_decimal(best),
            "average_days_delinquent": _one_decimal(None if dso is None or best is None else dso - best),
            "countback_dso_days": _one_decimal(self.countback_days(as_of)),
            "cei_percent": _one_decimal(cei),
            "write_offs": str(self.write_offs),
            "collected_in_window": str(self.collected),
            "paid_in_window": self.paid,
            "average_days_to_pay": _one_decimal(_ratio(Decimal(self.days_to_pay), Decimal(self.paid))),
            "average_days_late": _one_decimal(_ratio(Decimal(self.days_late), Decimal(self.paid))),
        }


class _Exposure:
    """One customer's open position in one currency at the as-of date."""

    __slots__ = ("ar_past_due", "ar_total", "oldest_days_past_due")

    def __init__(self) -> None:
        self.ar_total = _ZERO
        self.ar_past_due = _ZERO
        self.oldest_days_past_due = 0


def risk_class(oldest_days_past_due: int, average_days_late: Decimal | None) -> str:
    """``high`` when something is over 90 days past due or the customer pays over 30 days late on
    average; ``medium`` over 30 / over 10; ``low`` otherwise."""
    late = average_days_late if average_days_late is not None else _ZERO
    if oldest_days_past_due > 90 or late > 30:
        return "high"
    if oldest_days_past_due > 30 or late > 10:
        return "medium"
    return "low"


@dataclass(frozen=True, slots=True)
class _Timeline:
    """What happened to one document up to the as-of date."""

    paid_by_as_of: Decimal  # payments and explained closures dated on or before as_of
    paid_by_begin: Decimal  # ... on or before the window's start
    collected: Decimal  # payments dated in the window
    settled_on: date | None  # the day the open amount reached 0 (on or before as_of)
    paid_on: date | None  # settled_on when a payment or paid_date settled it (not a silent close)


def _unexplained_closure(invoice: Invoice, paid_ever: Decimal) -> tuple[date, Decimal, bool] | None:
    """What of the stored state no dated payment explains, as one dated reduction: the day, the amount,
    and whether it counts as paid. A closed document without (enough) payments closes on its
    ``closed_on`` (not paid) or ``paid_date`` (paid); an open one whose stored open amount is below
    amount - payments was reduced by the day of the file that said so (``source_as_of``, not paid).
    Without any such date the stored state is not used: only dated payments count."""
    target = _ZERO if invoice.status == InvoiceStatus.CLOSED else invoice.open_amount
    missing = invoice.amount - paid_ever - max(target, _ZERO)
    if missing <= 0:
        return None
    if invoice.status == InvoiceStatus.CLOSED:
        if invoice.closed_on is not None:
            return invoice.closed_on, missing, False
        if invoice.paid_date is not None:
            return invoice.paid_date, missing, True
    if invoice.source_as_of is not None:
        return invoice.source_as_of.date(), missing, False
    return None


def _timeline(
    invoice: Invoice, payments: list[tuple[date, Decimal]], as_of: date, window_start: date
) -> _Timeline:
    paid_ever = sum((amount for _, amount in payments), _ZERO)
    events: list[tuple[date, int, Decimal, bool]] = [(day, 0, amount, True) for day, amount in payments]
    closure = _unexplained_closure(invoice, paid_ever)
    if closure is not None:
        events.append((closure[0], 1, closure[1], closure[2]))  # payments of the same day come first
    if len(events) > 1:
        events.sort()
    paid = begin = collected = _ZERO
    settled_on: date | None = None
    paid_on: date | None = None
    for day, order, amount, counts_as_paid in events:
        if day > as_of:
            break
        paid += amount
        if day <= window_start:
            begin += amount
        elif order == 0:
            collected += amount
        if settled_on is None and paid >= invoice.amount:
            settled_on = day
            paid_on = day if counts_as_paid else None
    return _Timeline(paid, begin, collected, settled_on, paid_on)


def _payments_by_invoice(
    payments: Iterable[Payment], as_of: date
) -> dict[tuple[str, str], list[tuple[date, Decimal]]]:
    """Applied payments by (customer, invoice number), read once. What a payment applied to each
    invoice counts (a payment of several invoices counts for each, on its date); one that names its
    invoice but no applied amount (as built by hand) counts in full."""
    index: dict[tuple[str, str], list[tuple[date, Decimal]]] = defaultdict(list)
    for payment in payments:
        if payment.payment_date > as_of:
            continue
        applications = payment.applications
        if not applications and payment.applied_to is not None:
            applications = (Allocation(payment.applied_to, payment.amount),)
        for application in applications:
            index[(payment.customer_id, application.invoice_number)].append(
                (payment.payment_date, application.amount)
            )
    return index


def compute_kpis(
    *,
    as_of: date,
    invoices: Iterable[Invoice],
    payments: Iterable[Payment],
    customers: Mapping[str, Customer],
    window_days: int = DEFAULT_WINDOW_DAYS,
    segment_of: Callable[[Customer | None], str] | None = None,
    outlooks: Mapping[tuple[str, str], PayOutlook] | None = None,
    forecast_note: str | None = None,
) -> dict[str, Any]:
    """The KPI document as of ``as_of``, from invoices and dated payments only: the same inputs give
    the same document for any as-of date, whatever the stored open amounts say today.

    ``by_currency``, ``by_company_code`` and ``by_segment`` (``segment_of(customer)``, by default the
    customer's segment) hold the figures per currency; ``customers_by_risk`` the 50 customers most past
    due; ``forecast`` the 13-week cash forecast: on the pay-date model's predictions when ``outlooks``
    are given (by customer and invoice number), else on the customer-average rule; ``forecast_basis``
    says which (with ``forecast_note``, what the report's predictions said of it). Every formula is in the
    README (KPI reports). One pass over the invoices evaluates both the as-of date and the window's start
    (for ``ar_begin``).
    """
    if window_days <= 0:
        raise ValueError("window_days must be positive")
    segment = segment_of or default_segment
    window_start = as_of - timedelta(days=window_days)
    paid_to = _payments_by_invoice(payments, as_of)
    by_currency: dict[str, _Figures] = defaultdict(_Figures)
    by_company: dict[tuple[str, str], _Figures] = defaultdict(_Figures)
    by_segment: dict[tuple[str, str], _Figures] = defaultdict(_Figures)
    exposures: dict[tuple[str, str], _Exposure] = defaultdict(_Exposure)
    segments: dict[str, str] = {}
    history = DelayHistory()
    open_items: list[OpenItem] = []
    for invoice in invoices:
        if invoice.invoice_date > as_of:
            continue
        customer_id, currency = invoice.customer_id, invoice.currency
        customer_segment = segments.get(customer_id)
        if customer_segment is None:
            customer_segment = segments[customer_id] = segment(customers.get(customer_id))
        groups = (
            by_currency[currency],
            by_company[(invoice.company_code or NO_COMPANY_CODE, currency)],
            by_segment[(customer_segment, currency)],
        )
        is_sale = invoice.document_type == DocumentType.INVOICE
        in_window = invoice.invoice_date > window_start
        if is_sale:
            month = _month_start(invoice.invoice_date)
            for group in groups:
                group.monthly_sales[month] = group.monthly_sales.get(month, _ZERO) + invoice.amount
                if in_window:
                    group.credit_sales += invoice.amount
        elif invoice.document_type == DocumentType.WRITE_OFF and in_window:
            for group in groups:
                group.write_offs += invoice.amount
        line = _timeline(invoice, paid_to.get((customer_id, invoice.invoice_number), []), as_of, window_start)
        sign = 1 if is_sale else -1
        open_now = max(invoice.amount - line.paid_by_as_of, _ZERO) * sign
        open_then = (
            max(invoice.amount - line.paid_by_begin, _ZERO) * sign
            if invoice.invoice_date <= window_start
            else _ZERO
        )
        days_past_due = (as_of - invoice.due_date).days
        bucket = aging_bucket(days_past_due)
        for group in groups:
            group.ar_begin += open_then
            group.collected += line.collected
            if open_now:
                group.ar_total += open_now
                if days_past_due > 0:
                    group.ar_past_due += open_now
                else:
                    group.ar_current += open_now
                group.aging[bucket] += open_now
                group.open_invoices += 1
        if open_now:
            open_items.append(
                OpenItem(customer_id, currency, invoice.due_date, open_now, invoice.invoice_number)
            )
            exposure = exposures[(customer_id, currency)]
            exposure.ar_total += open_now
            if days_past_due > 0:
                exposure.ar_past_due += open_now
                if open_now > 0:
                    exposure.oldest_days_past_due = max(exposure.oldest_days_past_due, days_past_due)
        if is_sale and line.paid_on is not None:
            days_late = max((line.paid_on - invoice.due_date).days, 0)
            history.add(customer_id, days_late)
            if line.paid_on > window_start:
                days_to_pay = (line.paid_on - invoice.invoice_date).days
                for group in groups:
                    group.paid += 1
                    group.days_to_pay += days_to_pay
                    group.days_late += days_late
    return {
        "as_of": as_of.isoformat(),
        "window_days": window_days,
        "by_currency": {
            currency: figures.document(as_of, window_days)
            for currency, figures in sorted(by_currency.items())
        },
        "by_company_code": _nested(by_company, as_of, window_days),
        "by_segment": _nested(by_segment, as_of, window_days),
        "customers_by_risk": _customers_by_risk(exposures, customers, history),
        "forecast": cash_forecast(as_of=as_of, open_items=open_items, history=history, outlooks=outlooks),
        "forecast_basis": {
            "basis": "predictions" if outlooks is not None else "customer_average",
            "note": forecast_note
            or (
                "each open invoice on its predicted pay date; low and high: the week's 80% interval"
                if outlooks is not None
                else "each open invoice on its due date plus its customer's average days late"
            ),
        },
    }


def open_amounts(
    invoices: Iterable[Invoice], payments: Iterable[Payment], as_of: date
) -> dict[tuple[str, str], tuple[str, Decimal]]:
    """What is open of each document at the end of ``as_of`` (by customer and number: its currency and
    amount, credit notes negative), by the same rule as ``compute_kpis`` (the predictions table's amounts)."""
    paid_to = _payments_by_invoice(payments, as_of)
    found: dict[tuple[str, str], tuple[str, Decimal]] = {}
    for invoice in invoices:
        if invoice.invoice_date > as_of:
            continue
        key = (invoice.customer_id, invoice.invoice_number)
        line = _timeline(invoice, paid_to.get(key, []), as_of, as_of)
        sign = 1 if invoice.document_type == DocumentType.INVOICE else -1
        open_now = max(invoice.amount - line.paid_by_as_of, _ZERO) * sign
        if open_now:
            found[key] = (invoice.currency, open_now)
    return found


def _nested(
    groups: Mapping[tuple[str, str], _Figures], as_of: date, window_days: int
) -> dict[str, dict[str, Any]]:
    nested: dict[str, dict[str, Any]] = {}
    for (name, currency), figures in sorted(groups.items()):
        nested.setdefault(name, {})[currency] = figures.document(as_of, window_days)
    return nested


def _customers_by_risk(
    exposures: Mapping[tuple[str, str], _Exposure], customers: Mapping[str, Customer], history: DelayHistory
) -> list[dict[str, Any]]:
    """The customers (one row per currency) with a positive balance, most past due first (then the
    largest balance, then the customer id), the first 50."""
    ranked = sorted(
        ((key, exposure) for key, exposure in exposures.items() if exposure.ar_total > 0),
        key=lambda entry: (-entry[1].ar_past_due, -entry[1].ar_total, entry[0]),
    )[:TOP_RISK_CUSTOMERS]
    rows = []
    for (customer_id, currency), exposure in ranked:
        customer = customers.get(customer_id)
        late = history.average(customer_id)
        rows.append(
            {
                "customer_id": customer_id,
                "name": customer.name if customer is not None else None,
                "currency": currency,
                "ar_total": str(exposure.ar_total),
                "ar_past_due": str(exposure.ar_past_due),
                "oldest_days_past_due": exposure.oldest_days_past_due,
                "average_days_late": _one_decimal(late),
                "risk": risk_class(exposure.oldest_days_past_due, late),
            }
        )
    return rows


def report_keys(as_of: date, name: str) -> tuple[str, str]:
    """Where a report file goes: its dated folder, and ``latest/`` for the newest run."""
    return f"{ReportPrefix.KPI}{as_of.isoformat()}/{name}", f"{ReportPrefix.LATEST}{name}"


class InvoiceSource(Protocol):
    def all(self) -> Iterable[Invoice]: ...


class ReportSink(Protocol):
    def put_json(self, bucket: str, key: str, document: Any) -> None: ...


def publish_kpis(*, as_of: date, invoices: InvoiceSource, sink: ReportSink, bucket: str) -> list[str]:
    """Compute the figures as of ``as_of`` and write ``kpis.json`` to its dated folder and ``latest/``."""
    document = ar_snapshot(invoices.all(), as_of)
    written = []
    for key in report_keys(as_of, "kpis.json"):
        sink.put_json(bucket, key, document)
        written.append(key)
    return written
