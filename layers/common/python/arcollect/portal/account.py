"""What a customer sees of their account: open items, totals and aging per currency.

The pure helpers here (status, days overdue, totals) are shared by ``portal.views`` and
``portal.statements``, so the page, the API and the statement always agree."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol

from arcollect.aging import AGING_BUCKETS, aging_bucket
from arcollect.entities import Customer, Invoice, is_plan_id


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


def days_overdue(invoice: Invoice, today: date) -> int:
    """Days past the due date; a credit note is never late (it is owed to the customer)."""
    if invoice.is_credit_note:
        return 0
    return max(0, (today - invoice.due_date).days)


def invoice_status(invoice: Invoice, today: date) -> str:
    """credit (a credit note: it lowers the balance) > agency (placed with a collection agency: pay
    the agency) > disputed > plan (in a payment plan: pay its instalments) > promised > overdue > due."""
    if invoice.is_credit_note:
        return "credit"
    if invoice.agency:
        return "agency"
    if invoice.disputed:
        return "disputed"
    if is_plan_id(invoice.promise_id):
        return "plan"
    if invoice.promise_id is not None or invoice.promised_until is not None:
        return "promised"
    return "overdue" if days_overdue(invoice, today) > 0 else "due"


def open_items(invoices: list[Invoice]) -> list[Invoice]:
    """The open items, by due date then number."""
    return sorted(
        (i for i in invoices if i.status == "open" and i.open_amount > 0),
        key=lambda i: (i.due_date, i.invoice_number),
    )


def currency_totals(items: list[Invoice], today: date) -> list[CurrencySummary]:
    """Total, overdue and aging per currency of ``items`` (credit notes negative), by currency code."""
    totals: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for invoice in items:
        line = totals[invoice.currency]
        amount = invoice.signed_open_amount
        days = (today - invoice.due_date).days
        line["total"] += amount
        if days > 0:
            line["overdue"] += amount
        line[aging_bucket(days)] += amount
    return [
        CurrencySummary(
            currency=currency,
            total_due=line["total"],
            overdue=line["overdue"],
            aging={bucket: line[bucket] for bucket in AGING_BUCKETS},
        )
        for currency, line in sorted(totals.items())
    ]


def account_summary(
    customer_id: str, *, customers: CustomerSource, invoices: InvoiceSource, today: date
) -> AccountSummary | None:
    customer = customers.get(customer_id)
    if customer is None:
        return None
    items = open_items(invoices.for_customer(customer_id))
    return AccountSummary(customer=customer, open_invoices=items, by_currency=currency_totals(items, today))
