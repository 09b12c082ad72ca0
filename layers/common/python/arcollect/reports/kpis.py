"""Accounts-receivable figures as of a date, per currency, computed from invoices."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from arcollect.contract import ReportPrefix
from arcollect.entities import Invoice

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


@dataclass
class _CurrencyTotals:
    ar_total: Decimal = Decimal(0)
    ar_current: Decimal = Decimal(0)
    ar_past_due: Decimal = Decimal(0)
    open_invoices: int = 0

    def __post_init__(self) -> None:
        self.aging = {bucket: Decimal(0) for bucket in AGING_BUCKETS}


def ar_snapshot(invoices: Iterable[Invoice], as_of: date) -> dict[str, Any]:
    """Open receivables at ``as_of``: totals and aging per currency (amounts as decimal strings)."""
    totals: dict[str, _CurrencyTotals] = defaultdict(_CurrencyTotals)
    for invoice in invoices:
        if invoice.status != "open" or invoice.open_amount == 0 or invoice.invoice_date > as_of:
            continue
        line = totals[invoice.currency]
        days_past_due = (as_of - invoice.due_date).days
        line.ar_total += invoice.open_amount
        if days_past_due <= 0:
            line.ar_current += invoice.open_amount
        else:
            line.ar_past_due += invoice.open_amount
        line.aging[aging_bucket(days_past_due)] += invoice.open_amount
        line.open_invoices += 1
    return {
        "as_of": as_of.isoformat(),
        "by_currency": {
            currency: {
                "ar_total": str(line.ar_total),
                "ar_current": str(line.ar_current),
                "ar_past_due": str(line.ar_past_due),
                "aging": {bucket: str(amount) for bucket, amount in line.aging.items()},
                "open_invoices": line.open_invoices,
            }
            for currency, line in sorted(totals.items())
        },
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
