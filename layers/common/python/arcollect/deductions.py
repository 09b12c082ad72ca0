"""Deductions: what a customer kept back from an invoice when it paid it (a short payment), coded with
a reason, routed like a dispute, and resolved by a credit (the deduction is agreed: the residual is
written off) or a rebill (it is not: the residual is collected again by dunning).

A deduction is a dispute of the short-paid invoice's residual (``arcollect.disputes``): the same
record, the same department routing and SLA from the policy's ``disputes`` section (whose departments
list deduction reasons beside dispute reasons), the same task and the same "never remind an amount
under investigation" (the invoice is disputed while the deduction is open, and what is open on it is
the residual only, so the customer's other invoices are reminded as before). What differs is the
opening rule (an invoice a payment left partly open), the reasons, the two outcomes and the change
feed's kinds (``deduction_coded``, ``deduction_resolved``).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from enum import StrEnum

from arcollect.disputes import DisputeStatus
from arcollect.entities import DeductionReason, Invoice, Payment


class DeductionOutcome(StrEnum):
    """``credit``: the deduction is agreed, a credit writes the residual off (the ERP books it from the
    change feed); ``rebill``: it is not, the residual goes back to dunning."""

    CREDIT = "credit"
    REBILL = "rebill"


REASON_LABELS: dict[DeductionReason, str] = {
    DeductionReason.PRICING: "Pricing: paid at another price",
    DeductionReason.SHORTAGE: "Shortage: fewer goods received",
    DeductionReason.DAMAGE: "Damage: goods damaged",
    DeductionReason.PROMOTION: "Promotion: a trade promotion or allowance",
    DeductionReason.UNAUTHORIZED: "Unauthorized: no reason the seller accepts",
}

# The dispute workflow's resolution for each outcome.
OUTCOME_STATUS: dict[DeductionOutcome, DisputeStatus] = {
    DeductionOutcome.CREDIT: DisputeStatus.RESOLVED_CREDIT,
    DeductionOutcome.REBILL: DisputeStatus.RESOLVED_VALID,
}

DEDUCTION_CODED = "deduction_coded"
DEDUCTION_RESOLVED = "deduction_resolved"
_REASONS = frozenset(reason.value for reason in DeductionReason)


def is_deduction(reason: str) -> bool:
    """Whether a dispute with ``reason`` is a deduction (its reason is a deduction reason)."""
    return reason in _REASONS


def outcome_of(status: str) -> DeductionOutcome | None:
    """The outcome a resolved dispute status stands for (None: not resolved)."""
    for outcome, resolved in OUTCOME_STATUS.items():
        if resolved == status:
            return outcome
    return None


def paid_towards(invoice: Invoice, payments: Iterable[Payment]) -> tuple[Decimal, tuple[str, ...]]:
    """What the customer's payments applied to ``invoice``, and which payments did."""
    total = Decimal(0)
    ids: list[str] = []
    for payment in payments:
        if payment.currency != invoice.currency:
            continue
        for line in payment.applications:
            if line.invoice_number == invoice.invoice_number and line.amount > 0:
                total += line.amount
                if payment.payment_id not in ids:
                    ids.append(payment.payment_id)
    return total, tuple(ids)


def why_not_deductible(invoice: Invoice, payments: Iterable[Payment]) -> str | None:
    """Why ``invoice`` cannot be coded as a deduction now (None: it can). A deduction is what a payment
    left open: an invoice (not a credit note), still open, not under a dispute already, and paid in
    part by a payment recorded here (or with the ERP's open amount below the invoice's amount: the ERP
    applied a payment arcollect has not seen)."""
    if invoice.is_credit_note:
        return "is a credit note: nothing was deducted from it"
    if not invoice.is_open:
        return "is settled: nothing is left open"
    if invoice.disputed:
        return "is disputed already: resolve that first"
    if invoice.agency:
        return f"is with the collection agency {invoice.agency}: it decides what the customer kept back"
    paid, _ = paid_towards(invoice, payments)
    if paid <= 0 and invoice.open_amount >= invoice.amount:
        return "was not paid short: no payment left part of it open"
    return None
