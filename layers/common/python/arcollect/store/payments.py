"""The payment's codec: a ``Payment`` to its item and back, its allocations, and its place in the
customer's credits index."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from arcollect.entities import Allocation, Payment
from arcollect.store import keys
from arcollect.store.models import AllocationMap, PaymentItem


def payment_from_item(item: PaymentItem) -> Payment:
    return Payment(
        customer_id=item.customer_id,
        payment_id=item.payment_id,
        payment_date=date.fromisoformat(item.payment_date),
        amount=item.amount,
        currency=item.currency,
        invoice_number=item.invoice_number,
        reference=item.reference,
        applied_amount=item.applied_amount,
        unapplied_amount=item.unapplied_amount,
        applied_to=item.applied_to,
        remittance=_allocations_from(item.remittance),
        allocations=_allocations_from(item.allocations),
    )


def _allocations_from(items: Iterable[AllocationMap] | None) -> tuple[Allocation, ...]:
    return tuple(Allocation(item.invoice_number, item.amount) for item in items or ())


def allocation_maps(allocations: Iterable[Allocation]) -> list[AllocationMap] | None:
    """Allocations as the item stores them (None, no attribute, for none)."""
    maps = [AllocationMap(invoice_number=a.invoice_number, amount=a.amount) for a in allocations]
    return maps or None


def payment_item(payment: Payment) -> PaymentItem:
    return PaymentItem(
        keys.customer_pk(payment.customer_id),
        keys.payment_sk(payment.payment_id),
        customer_id=payment.customer_id,
        payment_id=payment.payment_id,
        payment_date=payment.payment_date.isoformat(),
        amount=payment.amount,
        currency=payment.currency,
        invoice_number=payment.invoice_number,
        reference=payment.reference,
        applied_amount=payment.applied_amount,
        unapplied_amount=payment.unapplied_amount,
        applied_to=payment.applied_to,
        remittance=allocation_maps(payment.remittance),
        allocations=allocation_maps(payment.allocations),
        credit_owner=payment_credit_owner(payment),
    )


def payment_credit_owner(payment: Payment) -> str | None:
    """A payment is in its customer's credits index while some of its cash is unapplied."""
    return keys.customer_pk(payment.customer_id) if payment.unapplied_amount > 0 else None
