"""The invoice's codec: an ``Invoice`` to its item and back, the attributes each writer owns (ingest's
ERP fields, the decisions made here, the dunning state), the condition that an invoice is as read, and
what each decision changes of a stored invoice (cash applied, a dispute resolved, a credit note
matched)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from arcollect.clock import format_instant, parse_instant
from arcollect.entities import Invoice
from arcollect.store import keys
from arcollect.store.base import day, next_action, parse_day
from arcollect.store.models import InvoiceItem, TableItem


def invoice_key(customer_id: str, invoice_number: str) -> tuple[str, str]:
    return keys.customer_pk(customer_id), keys.invoice_sk(invoice_number)


def invoice_from_item(item: InvoiceItem) -> Invoice:
    return Invoice(
        customer_id=item.customer_id,
        invoice_number=item.invoice_number,
        currency=item.currency,
        amount=item.amount,
        open_amount=item.open_amount,
        invoice_date=date.fromisoformat(item.invoice_date),
        due_date=date.fromisoformat(item.due_date),
        status=item.status,
        document_type=item.document_type or "invoice",
        disputed=bool(item.disputed),
        pay_url=item.pay_url,
        paid_date=parse_day(item.paid_date),
        po_number=item.po_number,
        description=item.description,
        company_code=item.company_code,
        next_action_at=parse_instant(item.next_action_at) if item.next_action_at else None,
        source_as_of=parse_instant(item.source_as_of) if item.source_as_of else None,
        closed_on=parse_day(item.closed_on),
        steps_done=tuple(sorted(item.steps_done or ())),
        bounced_steps=tuple(sorted(item.bounced_steps or ())),
        last_touch_at=parse_instant(item.last_touch_at) if item.last_touch_at else None,
        promised_until=parse_day(item.promised_until),
        promise_id=item.promise_id,
        erp_open_amount=item.erp_open_amount,
        erp_disputed=bool(item.erp_disputed),
        dispute_id=item.dispute_id,
        credit_agreed=item.credit_agreed or Decimal(0),
        credit_match=item.credit_match,
        agency=item.agency,
        agency_placement=item.agency_placement,
        agency_placed_on=parse_day(item.agency_placed_on),
    )


def invoice_fields(invoice: Invoice) -> dict[str, Any]:
    """The attributes ingest writes (what the ERP says), the sparse index pair included (None = absent)."""
    pk = keys.customer_pk(invoice.customer_id)
    return {
        # A credit note is in the customer's credits index for good (few documents are; its status
        # and open amount say whether it is still open).
        "credit_owner": pk if invoice.is_credit_note else None,
        "customer_id": invoice.customer_id,
        "invoice_number": invoice.invoice_number,
        "currency": invoice.currency,
        "amount": invoice.amount,
        "open_amount": invoice.open_amount,
        "invoice_date": invoice.invoice_date.isoformat(),
        "due_date": invoice.due_date.isoformat(),
        "status": invoice.status,
        "document_type": invoice.document_type,
        "disputed": invoice.disputed,
        "pay_url": invoice.pay_url,
        "paid_date": day(invoice.paid_date),
        "po_number": invoice.po_number,
        "description": invoice.description,
        "company_code": invoice.company_code,
        "next_action_shard": keys.next_action_shard(pk) if invoice.next_action_at else None,
        "next_action_at": format_instant(invoice.next_action_at) if invoice.next_action_at else None,
        "source_as_of": format_instant(invoice.source_as_of) if invoice.source_as_of else None,
        "closed_on": day(invoice.closed_on),
        "erp_open_amount": invoice.erp_open_amount,
        "erp_disputed": invoice.erp_disputed or None,
    }


def invoice_decisions(invoice: Invoice) -> dict[str, Any]:
    """The decisions made in arcollect: written whole by ``save`` and by the portal and the staff
    console, carried over by ingest only under a condition that they are as it read them."""
    return {
        "dispute_id": invoice.dispute_id,
        "credit_agreed": invoice.credit_agreed or None,
        "credit_match": invoice.credit_match,
    }


def invoice_placement(invoice: Invoice) -> dict[str, Any]:
    """The agency placement (the staff console's, arcollect/credit_control.py): written whole by
    ``save`` and by the placement's own transactions, never by ingest's updates."""
    return {
        "agency": invoice.agency,
        "agency_placement": invoice.agency_placement,
        "agency_placed_on": day(invoice.agency_placed_on),
    }


def invoice_dunning_fields(invoice: Invoice) -> dict[str, Any]:
    """The dunning state: written whole by ``save``, never by ingest's updates (the engine owns it)."""
    return {
        "steps_done": set(invoice.steps_done) or None,
        "bounced_steps": set(invoice.bounced_steps) or None,
        "last_touch_at": format_instant(invoice.last_touch_at) if invoice.last_touch_at else None,
        "promised_until": day(invoice.promised_until),
        "promise_id": invoice.promise_id,
    }


def invoice_item(invoice: Invoice) -> InvoiceItem:
    pk, sk = invoice_key(invoice.customer_id, invoice.invoice_number)
    return InvoiceItem(
        pk,
        sk,
        **invoice_dunning_fields(invoice),
        **invoice_fields(invoice),
        **invoice_decisions(invoice),
        **invoice_placement(invoice),
    )


def invoice_as_read(before: Invoice) -> Any:
    """The condition that an invoice item still holds ``before``'s open amount, disputed flag and
    decisions: what a write computed from ``before`` may rely on."""
    condition = (InvoiceItem.open_amount == before.open_amount) & (InvoiceItem.disputed == before.disputed)
    condition &= (
        InvoiceItem.dispute_id.does_not_exist()
        if before.dispute_id is None
        else InvoiceItem.dispute_id == before.dispute_id
    )
    condition &= (
        InvoiceItem.credit_agreed.does_not_exist()
        if not before.credit_agreed
        else InvoiceItem.credit_agreed == before.credit_agreed
    )
    condition &= (
        InvoiceItem.credit_match.does_not_exist()
        if before.credit_match is None
        else InvoiceItem.credit_match == before.credit_match
    )
    return condition


def credit_note_matched(note: Invoice) -> list[Any]:
    """What matching a credit note to the credit agreed changes of it: settled, out of the index."""
    return [
        InvoiceItem.open_amount.set(note.open_amount),
        InvoiceItem.status.set(note.status),
        InvoiceItem.credit_match.set(note.credit_match or ""),
        TableItem.next_action_shard.remove(),
        TableItem.next_action_at.remove(),
    ]


def payment_applied(invoice: Invoice) -> list[Any]:
    """What applying cash changes of an invoice: its open amount and status, its paid date when it is
    settled, and its place in the sweep's index (it leaves it when settled, unless a promise is open)."""
    actions: list[Any] = [
        InvoiceItem.open_amount.set(invoice.open_amount),
        InvoiceItem.status.set(invoice.status),
    ]
    if invoice.paid_date is not None:
        actions.append(InvoiceItem.paid_date.set(invoice.paid_date.isoformat()))
    if invoice.next_action_at is None:
        actions += [TableItem.next_action_shard.remove(), TableItem.next_action_at.remove()]
    return actions


def dispute_resolved(invoice: Invoice) -> list[Any]:
    """What resolving its dispute changes of an invoice: disputed as the ERP says again, the credit
    agreed off the open amount, back in the sweep's index while open."""
    actions: list[Any] = [
        # The dispute opened here is over: disputed is what the ERP's files say again.
        InvoiceItem.disputed.set(invoice.disputed),
        InvoiceItem.dispute_id.remove(),
        InvoiceItem.open_amount.set(invoice.open_amount),
        InvoiceItem.status.set(invoice.status),
        InvoiceItem.credit_agreed.set(invoice.credit_agreed)
        if invoice.credit_agreed
        else InvoiceItem.credit_agreed.remove(),
        InvoiceItem.credit_match.set(invoice.credit_match)
        if invoice.credit_match
        else InvoiceItem.credit_match.remove(),
    ]
    at = invoice.next_action_at if invoice.is_open else None
    return actions + next_action(invoice.customer_id, at)
