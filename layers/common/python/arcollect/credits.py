"""Agreed credits and the ERP's credit notes: one credit, counted once.

A credit agreed in arcollect (a dispute resolved with a credit) comes off its invoice's open amount at
once and is remembered as ``credit_agreed`` until the ERP shows it. The ERP shows it one of two ways:
its file lowers the invoice's open amount (``ingest/precedence.py`` clears the credit then), or it sends
a credit note document of its own, which balances, statements and KPIs would otherwise count as a second
credit. That credit note is matched to the agreed credit it books, whichever arrives first: the note is
kept closed, marked with the invoice it books, and the invoice is marked with the note.

A note matches a pending agreed credit of the same customer, in the same currency, for exactly the same
amount; when several invoices wait for such a credit, the oldest invoice takes the note (ties by
number), so the same file always matches the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from arcollect.entities import DocumentType, Invoice, InvoiceStatus, Payment

_ZERO = Decimal(0)


def awaits_credit_note(invoice: Invoice) -> bool:
    """An invoice with a credit agreed here that no ERP credit note has booked yet."""
    return (
        invoice.document_type == DocumentType.INVOICE
        and invoice.credit_agreed > 0
        and invoice.credit_match is None
    )


def unmatched_credit_note(note: Invoice) -> bool:
    """An open ERP credit note not yet matched to a credit agreed here."""
    return note.is_credit_note and note.is_open and note.credit_match is None


def books(note: Invoice, invoice: Invoice) -> bool:
    """Whether ``note`` is the ERP's booking of the credit agreed on ``invoice``."""
    return (
        unmatched_credit_note(note)
        and awaits_credit_note(invoice)
        and note.customer_id == invoice.customer_id
        and note.currency == invoice.currency
        and note.open_amount == invoice.credit_agreed
    )


def _oldest_first(invoice: Invoice) -> tuple[object, ...]:
    return (invoice.invoice_date, invoice.invoice_number)


def invoice_for_note(note: Invoice, invoices: Iterable[Invoice]) -> Invoice | None:
    """The invoice whose agreed credit ``note`` books, or None."""
    candidates = sorted((invoice for invoice in invoices if books(note, invoice)), key=_oldest_first)
    return candidates[0] if candidates else None


def note_for_invoice(invoice: Invoice, documents: Iterable[Invoice]) -> Invoice | None:
    """The ERP credit note (already received) that books the credit agreed on ``invoice``, or None."""
    candidates = sorted((note for note in documents if books(note, invoice)), key=_oldest_first)
    return candidates[0] if candidates else None


def matched(note: Invoice, invoice: Invoice) -> tuple[Invoice, Invoice]:
    """``note`` and ``invoice`` once matched: the note closed (its credit is already off the invoice's
    open amount) and each marked with the other."""
    closed = replace(
        note,
        open_amount=_ZERO,
        status=InvoiceStatus.CLOSED.value,
        credit_match=invoice.invoice_number,
        next_action_at=None,
    )
    return closed, replace(invoice, credit_match=note.invoice_number)


# -- what the customer has to its credit -------------------------------------------------------------


@dataclass(frozen=True)
class CreditLine:
    """Money the customer has to its credit in one currency: an open credit note, or cash received and
    not applied to any invoice. A reminder lists these and asks for the rest (net), never the gross."""

    kind: str  # "credit_note" | "unapplied_cash"
    reference: str  # the credit note's number, or the payment's id
    currency: str
    amount: Decimal  # positive: what it lowers the balance by
    on: date


CREDIT_NOTE = "credit_note"
UNAPPLIED_CASH = "unapplied_cash"


def credit_lines(documents: Iterable[Invoice], payments: Iterable[Payment]) -> tuple[CreditLine, ...]:
    """The customer's credits: open credit notes (a matched one is closed: it is already off its
    invoice) and the unapplied part of payments, oldest first."""
    lines = [
        CreditLine(CREDIT_NOTE, note.invoice_number, note.currency, note.open_amount, note.invoice_date)
        for note in documents
        if note.is_credit_note and note.is_open and note.open_amount > 0
    ]
    lines += [
        CreditLine(
            UNAPPLIED_CASH,
            payment.payment_id,
            payment.currency,
            payment.unapplied_amount,
            payment.payment_date,
        )
        for payment in payments
        if payment.unapplied_amount > 0
    ]
    return tuple(sorted(lines, key=lambda line: (line.on, line.reference)))


def credit_by_currency(lines: Iterable[CreditLine]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for line in lines:
        totals[line.currency] = totals.get(line.currency, _ZERO) + line.amount
    return totals
