"""What an ERP row changes of an invoice arcollect already holds: the precedence rules, field by field.

The ERP is the book of record for its documents (numbers, dates, amounts, terms); arcollect is the book of
record for the decisions made in it (disputes, agreed credits, promises, holds) and for the payments
recorded against an invoice. A file changes only what it states, and a file that contradicts what was
recorded or decided here makes a review task instead of a silent overwrite. The rules, in the order
``merge_invoice`` applies them (the README's "Precedence" table says the same):

- Document fields (amount, currency, dates, numbers, texts, company code, document type): the file's.
- The open amount: a file that states none (no column, an empty cell) leaves the one that payments and
  credits recorded here established. A stated open amount is the ERP's word when nothing was recorded
  here since its last word, or when it is lower (the ERP knows of a payment or credit first). When it is
  higher than what the payments and credits recorded here leave, arcollect keeps asking the lower amount
  and makes a review task: it never asks for money it has recorded as paid.
- A paid date with no open amount means paid in full on that date; with a partial open amount, that part
  paid on that date. Either records a dated payment (its id derives from the invoice, so a file sent again
  records nothing twice), so the KPIs of any day see the invoice open before and paid after. A row
  without a paid date keeps the one a payment recorded here (or an earlier file) set, unless the invoice
  is open for its whole amount again.
- Disputed: disputed when the file says so, and while a dispute opened in arcollect is open, whatever
  the file says.
- An agreed credit stays off the open amount until the ERP's open amount shows it (then it is matched
  and cleared, never taken off twice); an ERP credit note of the same customer, currency and amount is
  matched to it and kept closed (``arcollect/credits.py``), whichever of the two came first.
- Promises, the dunning steps taken and holds are arcollect's and survive every file.
- A file that says an invoice with an open decision here (a dispute, a promise, an agreed credit) is paid,
  or gives it another amount, is applied (the document is the ERP's) and makes a review task.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any, Final

from arcollect.entities import (
    CONTACT_FIELDS,
    Customer,
    DocumentType,
    Invoice,
    InvoiceStatus,
    Payment,
    is_plan_id,
)
from arcollect.languages import base_language

PAID_DATE_PREFIX: Final = "PAIDDATE-"
_ZERO: Final = Decimal(0)


@dataclass(frozen=True)
class Review:
    """Something a person should look at: the file was applied as the rules say, and this is why."""

    task_id: str
    title: str
    reason: str


@dataclass(frozen=True)
class Merged:
    """An invoice as the table should hold it after a row, the payment the row implies, and a review."""

    invoice: Invoice
    payment: Payment | None = None
    review: Review | None = None


def _status(open_amount: Decimal) -> str:
    return InvoiceStatus.OPEN.value if open_amount > 0 else InvoiceStatus.CLOSED.value


def _clamped(value: Decimal, amount: Decimal) -> Decimal:
    return min(max(value, _ZERO), amount)


def implied_payment(invoice: Invoice, paid: Decimal, *, in_full: bool) -> Payment | None:
    """The dated payment a row's paid date implies: ``paid`` on ``invoice.paid_date``."""
    if invoice.paid_date is None or paid <= 0 or invoice.document_type != DocumentType.INVOICE:
        return None
    suffix = "" if in_full else f"-{invoice.paid_date.isoformat()}"
    return Payment(
        customer_id=invoice.customer_id,
        payment_id=f"{PAID_DATE_PREFIX}{invoice.invoice_number}{suffix}",
        payment_date=invoice.paid_date,
        amount=paid,
        currency=invoice.currency,
        invoice_number=invoice.invoice_number,
        reference=None,
        applied_amount=paid,
        unapplied_amount=_ZERO,
        applied_to=invoice.invoice_number,
    )


def open_decisions(invoice: Invoice) -> list[str]:
    """The decisions made here that are still open on ``invoice``, in words."""
    return [
        what
        for what, open_decision in (
            ("a dispute", invoice.dispute_id is not None),
            (
                "a payment plan" if is_plan_id(invoice.promise_id) else "a promise to pay",
                invoice.promise_id is not None,
            ),
            ("an agreed credit", bool(invoice.credit_agreed)),
        )
        if open_decision
    ]


def merge_invoice(row: Invoice, before: Invoice | None) -> Merged:
    """``row`` (what the file says, ``erp_open_amount`` None when it states no open amount) applied to
    ``before`` (what the table holds) by the precedence rules above."""
    stated = row.erp_open_amount
    if before is None:
        open_amount = row.amount if stated is None else _clamped(stated, row.amount)
        invoice = replace(
            row,
            open_amount=open_amount,
            status=_status(open_amount),
            disputed=row.erp_disputed,
            dispute_id=None,
            credit_agreed=_ZERO,
        )
        payment = implied_payment(invoice, row.amount - open_amount, in_full=open_amount == 0)
        return Merged(invoice, payment)

    if before.credit_match is not None and row.is_credit_note:
        return _matched_note(row, before)
    # What payments and credits recorded here leave open, moved by any change of the document's amount.
    view = _clamped(before.open_amount + (row.amount - before.amount), row.amount)
    # The ERP's last word on the open amount, and how much was recorded here since.
    last_word = before.erp_open_amount if before.erp_open_amount is not None else before.amount
    recorded_here = last_word + (row.amount - before.amount) - before.open_amount
    credit = before.credit_agreed
    credit_match = before.credit_match
    reviews: list[str] = []
    if stated is None:
        open_amount = view
    elif recorded_here <= 0 or stated <= view:
        open_amount = _clamped(stated, row.amount)
        if credit and stated <= last_word - credit:
            credit = _ZERO  # the ERP shows the agreed credit: matched, never taken off twice
            credit_match = None
    else:
        open_amount = view
        if not (credit and stated - credit <= view):  # an agreed credit the ERP has not booked yet
            reviews.append(
                f"the ERP states {stated} {row.currency} open, the payments and credits recorded here "
                f"leave {view} {row.currency}: arcollect asks {view} until the ERP shows them"
            )
    decided = open_decisions(before)
    if decided and before.open_amount > 0 and open_amount == 0:
        reviews.append(f"the ERP shows it paid while {' and '.join(decided)} is open here")
    if decided and row.amount != before.amount:
        reviews.append(
            f"the ERP changed its amount from {before.amount} to {row.amount} {row.currency} "
            f"while {' and '.join(decided)} is open here"
        )
    if open_amount == before.open_amount:
        # The same amount however written (0 after a payment, 0.00 from a file): the stored figure stays,
        # so an identical re-send compares unchanged and writes nothing.
        open_amount = before.open_amount
    invoice = replace(
        row,
        paid_date=_paid_date(row, before, open_amount),
        # The dunning engine's state: the steps taken, the last touch, an open promise.
        steps_done=before.steps_done,
        bounced_steps=before.bounced_steps,
        last_touch_at=before.last_touch_at,
        promised_until=before.promised_until,
        promise_id=before.promise_id,
        open_amount=open_amount,
        status=_status(open_amount),
        disputed=row.erp_disputed or before.dispute_id is not None,
        erp_open_amount=stated if stated is not None else before.erp_open_amount,
        dispute_id=before.dispute_id,
        credit_agreed=credit,
        credit_match=credit_match,
        # An agency placement is the team's decision: a file never undoes it (store/invoices.py).
        agency=before.agency,
        agency_placement=before.agency_placement,
        agency_placed_on=before.agency_placed_on,
    )
    # Only the row's own paid date dates a payment: one kept from before was recorded when it was set.
    payment = implied_payment(
        replace(invoice, paid_date=row.paid_date), view - open_amount, in_full=open_amount == 0
    )
    review = None
    if reviews:
        figure = "-".join(str(value) for value in (row.amount, stated, open_amount))
        review = Review(
            task_id=f"review-{row.invoice_number}-{figure}",
            title=f"Review invoice {row.invoice_number}: the ERP's file and arcollect disagree",
            reason="; ".join(reviews),
        )
    return Merged(invoice, payment, review)


def _paid_date(row: Invoice, before: Invoice, open_amount: Decimal) -> date | None:
    """The paid date after ``row``: the row's when it states one. A row without one (no column, an empty
    cell) says nothing of it, so the date a payment recorded here (or an earlier file) set is kept, as
    the open amount is; unless the invoice is open for its whole amount again (the ERP reopened it, its
    word standing as the open amount's rule says): then nothing of it is paid, on any day."""
    if row.paid_date is not None:
        return row.paid_date
    if open_amount >= row.amount:
        return None
    return before.paid_date


def _matched_note(row: Invoice, before: Invoice) -> Merged:
    """A credit note matched to a credit agreed here stays closed whatever the ERP says of its open
    amount: its credit is already off the invoice it books (``arcollect/credits.py``)."""
    note = replace(
        row,
        open_amount=_ZERO,
        status=InvoiceStatus.CLOSED.value,
        disputed=row.erp_disputed,
        erp_open_amount=row.erp_open_amount if row.erp_open_amount is not None else before.erp_open_amount,
        dispute_id=None,
        credit_agreed=_ZERO,
        credit_match=before.credit_match,
    )
    if row.amount == before.amount:
        return Merged(note)
    return Merged(
        note,
        review=Review(
            task_id=f"review-{row.invoice_number}-{row.amount}",
            title=f"Review credit note {row.invoice_number}: the ERP's file and arcollect disagree",
            reason=f"the ERP changed the credit note's amount from {before.amount} to {row.amount} "
            f"{row.currency}; it books the credit agreed on invoice {before.credit_match}",
        ),
    )


def closing_review(invoice: Invoice, why: str) -> Review | None:
    """A review when ``why`` (a snapshot left the invoice out, say) closes an invoice with an open
    decision here."""
    decided = open_decisions(invoice)
    if not decided:
        return None
    return Review(
        task_id=f"review-{invoice.invoice_number}-closed",
        title=f"Review invoice {invoice.invoice_number}: the ERP's file and arcollect disagree",
        reason=f"{why} while {' and '.join(decided)} is open here",
    )


def merge_contact(row: Customer, stored: Customer | None) -> tuple[Customer, Review | None]:
    """The contact details after a customer master row: the row's, except those the customer corrected
    in the portal that the master does not show yet (``Customer.contact_corrected``). Those stay as
    corrected, and a review task says the ERP disagrees (one per customer and disagreement: the same
    file again adds none); a correction the master shows is settled, and the master's word stands from
    then on. The portal sent each correction to the ERP as a ``contact_changed`` row of the change feed."""
    if stored is None or not stored.contact_corrected:
        return row, None
    kept: dict[str, Any] = {}
    for name in stored.contact_corrected:
        if name in CONTACT_FIELDS and not _same_contact(name, getattr(row, name), getattr(stored, name)):
            kept[name] = getattr(stored, name)
    merged = replace(row, **kept, contact_corrected=tuple(kept))
    if not kept:
        return merged, None
    said = "; ".join(
        f"{name} {_shown_contact(getattr(row, name))} (corrected to {_shown_contact(value)})"
        for name, value in kept.items()
    )
    # One task per disagreement: the master's value and the correction it does not show.
    figure = "|".join(
        f"{name}={_shown_contact(getattr(row, name))}>{_shown_contact(v)}" for name, v in kept.items()
    )
    return merged, Review(
        task_id=f"review-erp-contact-{hashlib.sha256(figure.encode()).hexdigest()[:12]}",
        title="The customer master disagrees with the customer's own contact correction",
        reason=(
            f"the customer master says {said}: the customer corrected it in the portal, so arcollect keeps "
            "the correction until the master shows it (the change feed sent it to the ERP as contact_changed)"
        ),
    )


def _same_contact(name: str, erp: Any, ours: Any) -> bool:
    """Whether the master shows the correction: addresses whatever their case, the further addresses in
    any order, a language by its base (``de-DE`` shows a correction to ``de``)."""

    def key(value: Any) -> object:
        if name == "email":
            return str(value or "").strip().lower()
        if name == "other_emails":
            return sorted(str(address).strip().lower() for address in value or ())
        if name == "language":
            return base_language(value)
        return value or None

    return key(erp) == key(ours)


def _shown_contact(value: object) -> str:
    if isinstance(value, tuple):
        return ", ".join(value) if value else "(none)"
    return str(value) if value else "(none)"
