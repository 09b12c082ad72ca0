"""Accounts-receivable figures as of a date, per currency, computed from invoices."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Protocol

from arcollect.contract import ReportPrefix
from arcollect.entities import DocumentType, Invoice, InvoiceStatus

AGING_BUCKETS = ("current", "d1_30", "d31_60", "d61_90", "d91_plus")


def aging_bucket(days_past_due: int) -> str:
    """Aging bucket of an open item by its days past due at the as-of date."""
    if days_past_due <= 0:
        return "current"
    if days_past_due <= 30:
        return "d1_30"
    if days_past_due <= 60:
        return "d31_60"
    if days_past_due <= 90:
        return "d61_90"
    return "d91_plus"


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
        is_credit = invoice.document_type == DocumentType.CREDIT_NOTE
        if not is_credit and window_start < invoice.invoice_date <= as_of:
            line.credit_sales += invoice.amount
        if invoice.status != InvoiceStatus.OPEN or invoice.open_amount == 0:
            continue
        amount = -invoice.open_amount if is_credit else invoice.open_amount
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
