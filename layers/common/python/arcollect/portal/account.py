"""What a customer sees of their account: open items, totals and aging per currency."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol

from arcollect.entities import Customer, Invoice
from arcollect.reports.kpis import aging_bucket


class CustomerSource(Protocol):
    def get(self, customer_id: str) -> Customer | None: ...


class InvoiceSource(Protocol):
    def for_customer(self, customer_id: str) -> list[Invoice]: ...


@dataclass(frozen=True)
class CurrencySummary:
    currency: str
    total_due: Decimal
    overdue: Decimal
    aging: dict[str, Decimal]


@dataclass(frozen=True)
class AccountSummary:
    customer: Customer
    open_invoices: list[Invoice]
    by_currency: list[CurrencySummary]


def account_summary(
    customer_id: str, *, customers: CustomerSource, invoices: InvoiceSource, today: date
) -> AccountSummary | None:
    customer = customers.get(customer_id)
    if customer is None:
        return None
    open_items = sorted(
        (i for i in invoices.for_customer(customer_id) if i.status == "open" and i.open_amount > 0),
        key=lambda i: (i.due_date, i.invoice_number),
    )
    totals: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for invoice in open_items:
        line = totals[invoice.currency]
        sign = -1 if invoice.document_type == "credit_note" else 1
        days = (today - invoice.due_date).days
        line["total"] += sign * invoice.open_amount
        if days > 0:
            line["overdue"] += sign * invoice.open_amount
        line[aging_bucket(days)] += sign * invoice.open_amount
    by_currency = [
        CurrencySummary(
            currency=currency,
            total_due=line["total"],
            overdue=line["overdue"],
            aging={bucket: line[bucket] for bucket in ("current", "d1_30", "d31_60", "d61_90", "d91_plus")},
        )
        for currency, line in sorted(totals.items())
    ]
    return AccountSummary(customer=customer, open_invoices=open_items, by_currency=by_currency)
