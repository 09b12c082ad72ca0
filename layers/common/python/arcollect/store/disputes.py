"""The dispute's codec: a ``Dispute`` to its item and back."""

from __future__ import annotations

from arcollect.entities import Dispute
from arcollect.store import keys
from arcollect.store.models import DisputeItem


def dispute_item(dispute: Dispute) -> DisputeItem:
    """A new dispute as opened (the workflow's later attributes are written as it moves)."""
    return DisputeItem(
        keys.customer_pk(dispute.customer_id),
        keys.dispute_sk(dispute.dispute_id),
        customer_id=dispute.customer_id,
        dispute_id=dispute.dispute_id,
        invoice_number=dispute.invoice_number,
        reason=dispute.reason,
        comment=dispute.comment,
        status=dispute.status,
        created_at=dispute.created_at,
        attachment_key=dispute.attachment_key,
        attachment_type=dispute.attachment_type,
        attachment_size=dispute.attachment_size,
        upload_key=dispute.upload_key,
        upload_type=dispute.upload_type,
        upload_size=dispute.upload_size,
        department=dispute.department,
        sla_days=dispute.sla_days,
        opened_by=dispute.opened_by,
        amount=dispute.amount,
        payment_ids=list(dispute.payment_ids) or None,
    )


def dispute_from_item(item: DisputeItem) -> Dispute:
    return Dispute(
        customer_id=item.customer_id,
        dispute_id=item.dispute_id,
        invoice_number=item.invoice_number,
        reason=item.reason,
        comment=item.comment or "",
        created_at=item.created_at,
        status=item.status,
        attachment_key=item.attachment_key,
        attachment_type=item.attachment_type,
        attachment_size=int(item.attachment_size) if item.attachment_size is not None else None,
        upload_key=item.upload_key,
        upload_type=item.upload_type,
        upload_size=int(item.upload_size) if item.upload_size is not None else None,
        department=item.department,
        sla_days=int(item.sla_days) if item.sla_days is not None else None,
        opened_by=item.opened_by or "portal",
        resolution_note=item.resolution_note,
        credit_amount=item.credit_amount,
        resolved_at=item.resolved_at,
        closed_at=item.closed_at,
        notified_at=item.notified_at,
        amount=item.amount,
        payment_ids=tuple(str(payment) for payment in item.payment_ids or ()),
    )
