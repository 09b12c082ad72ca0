"""Disputes in the workspace: logged by a collector, moved along the workflow (a resolution takes the
invoice out of dispute, with a credit above the policy's limit a manager's call, matched to the ERP's
credit note when it was booked first), and the dispute queue."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from arcollect import changes, credits, deductions
from arcollect import disputes as dispute_rules
from arcollect.disputes import DisputeStatus
from arcollect.entities import Activity, Customer, DisputeReason, Invoice, TaskKind
from arcollect.money import grouped, written
from arcollect.staff import StaffUser
from arcollect.workspace import disputes as dispute_flow
from arcollect.workspace.desk import Desk, checked_text, new_id
from arcollect.workspace.model import (
    DisputeView,
    NotAllowed,
    WorkspaceConflict,
    WorkspaceInputError,
    WorkspaceNotFound,
)
from arcollect.workspace.view import dispute_view


def log_dispute(
    desk: Desk,
    customer_id: str,
    *,
    invoice_number: str,
    reason: str,
    comment: str,
    by: StaffUser,
    now: datetime,
) -> DisputeView:
    customer = desk.customer(customer_id)
    return open_case(
        desk,
        customer,
        invoice_number=invoice_number,
        reason=reason,
        comment=checked_text(comment, "comment"),
        by=by,
        now=now,
        dispute_id=new_id(),
    )


def open_case(
    desk: Desk,
    customer: Customer,
    *,
    invoice_number: str,
    reason: str,
    comment: str,
    by: StaffUser,
    now: datetime,
    dispute_id: str,
) -> DisputeView:
    policies = desk.policies()
    existing = desk.store.disputes.dispute(customer.customer_id, dispute_id)
    if existing is not None:
        return dispute_view(existing, now, policies)
    try:
        why = DisputeReason(reason.strip())
    except ValueError:
        allowed = ", ".join(r.value for r in DisputeReason)
        raise WorkspaceInputError("reason", f"{reason!r} is not a dispute reason ({allowed})") from None
    invoice = desk.open_invoice(customer.customer_id, invoice_number, "invoice_number")
    why_not = dispute_rules.why_not_disputable(invoice)
    if why_not:
        raise WorkspaceInputError("invoice_number", f"invoice {invoice.invoice_number} {why_not}")
    dispute, task, activity = dispute_rules.new_dispute(
        customer, invoice, reason=why.value, comment=comment, dispute_id=dispute_id, now=now,
        policies=policies, opened_by=by.username,
    )  # fmt: skip
    if not desk.store.disputes.open_dispute(dispute, task, activity):
        raise WorkspaceConflict(f"invoice {invoice.invoice_number} changed meanwhile: reload and try again")
    changes.publish(desk.change_feed, activity.changes)
    dispute_rules.notify_department(
        dispute,
        customer,
        invoice,
        policies=policies,
        mailer=desk.mailer,
        sender=desk.sender,
        store=desk.store.disputes,
    )
    return dispute_view(dispute, now, policies, invoice.currency)


def move_dispute(
    desk: Desk,
    customer_id: str,
    dispute_id: str,
    *,
    status: str,
    note: str,
    by: StaffUser,
    now: datetime,
    credit_amount: str | None = None,
) -> DisputeView:
    """Move a dispute on. Resolving it takes the invoice out of dispute and back into dunning from
    the next sweep (with a credit, for what is left open; a credit of all of it settles it)."""
    wanted = dispute_flow.parse_status(status)
    text = checked_text(note, "note", required=wanted in dispute_rules.RESOLVED)
    dispute = desk.store.disputes.dispute(customer_id, dispute_id)
    if dispute is None:
        raise WorkspaceNotFound(f"no dispute {dispute_id} on customer {customer_id}")
    dispute_flow.check_transition(dispute.status, wanted)
    invoice: Invoice | None = None
    invoice_after: Invoice | None = None
    credit: Decimal | None = None
    credit_note: tuple[Invoice, Invoice] | None = None
    if wanted in dispute_rules.RESOLVED:
        invoice = desk.store.invoice(customer_id, dispute.invoice_number)
        if invoice is None:
            raise WorkspaceNotFound(f"invoice {dispute.invoice_number} is gone")
        credit = dispute_flow.parse_credit(credit_amount, wanted, invoice.open_amount, invoice.currency)
        limit = desk.policies().settings.collector_credit_limit
        if credit is not None and credit > limit and not by.is_manager:
            # A credit is money given away: above the policy's limit for collectors, a manager's call.
            raise NotAllowed(
                f"a credit of {written(credit, invoice.currency)} is a manager's decision (collectors "
                f"may grant up to {grouped(limit, invoice.currency)}: the policy's "
                "settings.collector_credit_limit)"
            )
        after = dispute_rules.dispute_resolved(invoice, credit)
        invoice_after = replace(after, next_action_at=now if after.is_open else None)
        if credits.awaits_credit_note(invoice_after):
            # The ERP may have booked the credit note before the credit was agreed here.
            booked = credits.note_for_invoice(invoice_after, desk.store.customer_invoices(customer_id))
            if booked is not None:
                booked_after, invoice_after = credits.matched(booked, invoice_after)
                credit_note = (booked, booked_after)
    elif credit_amount and credit_amount.strip():
        raise WorkspaceInputError("credit_amount", "a credit amount goes with 'resolved with credit' only")
    moved = replace(
        dispute,
        status=wanted.value,
        resolution_note=text or dispute.resolution_note,
        credit_amount=credit if credit is not None else dispute.credit_amount,
        resolved_at=now if wanted in dispute_rules.RESOLVED else dispute.resolved_at,
        closed_at=now if wanted is DisputeStatus.CLOSED else dispute.closed_at,
    )
    effect = {
        DisputeStatus.IN_REVIEW: "taken into review",
        DisputeStatus.RESOLVED_VALID: "resolved: the invoice stands, dunning resumes",
        DisputeStatus.RESOLVED_CREDIT: "resolved with a credit of "
        + grouped(credit or 0, invoice.currency if invoice is not None else "")
        + (
            ", dunning resumes for the rest"
            if invoice_after is not None and invoice_after.is_open
            else ", the invoice is settled"
        ),
        DisputeStatus.CLOSED: "closed",
    }[wanted]
    activity = Activity(
        customer_id=customer_id,
        at=now,
        activity_id=f"dispute-{dispute_id}-{wanted.value}",
        kind=dispute_rules.DISPUTE_MOVED,
        summary=f"{by.name}: dispute of {dispute.invoice_number} {effect}" + (f". {text}" if text else ""),
        detail={"dispute_id": dispute_id, "status": wanted.value, "by": by.username, "note": text},
    )
    if credit_note is not None:
        activity = replace(
            activity,
            summary=f"{activity.summary} (matched to the ERP's credit note "
            f"{credit_note[0].invoice_number}, counted once)",
            detail={**activity.detail, "credit_note": credit_note[0].invoice_number},
        )
    if wanted in dispute_rules.RESOLVED and invoice is not None and deductions.is_deduction(dispute.reason):
        # A deduction's resolution: its own change kind (credit or rebill), so the ERP's deduction case
        # closes with the outcome; a credit is a credit memo to book as well.
        outcome = deductions.outcome_of(wanted)
        activity = replace(
            activity,
            kind=deductions.DEDUCTION_RESOLVED,
            summary=f"{by.name}: deduction on {dispute.invoice_number} ({dispute.reason}) resolved by "
            f"{outcome}" + (f". {text}" if text else ""),
            changes=changes.deduction_resolved(
                customer_id=customer_id,
                dispute_id=dispute_id,
                invoice_number=dispute.invoice_number,
                deduction_reason=dispute.reason,
                credit=credit,
                residual=invoice.open_amount,
                currency=invoice.currency,
                note=text,
                by=by.username,
                at=now,
                erp_credit_note=credit_note[0].invoice_number if credit_note else None,
            ),
        )
    elif wanted in dispute_rules.RESOLVED and invoice is not None:
        activity = replace(
            activity,
            changes=changes.dispute_resolved(
                customer_id=customer_id,
                dispute_id=dispute_id,
                invoice_number=dispute.invoice_number,
                dispute_reason=dispute.reason,
                credit=credit,
                currency=invoice.currency,
                note=text,
                by=by.username,
                at=now,
                erp_credit_note=credit_note[0].invoice_number if credit_note else None,
            ),
        )
    if not desk.store.disputes.move_dispute(
        dispute, moved, invoice, invoice_after, activity, credit_note=credit_note
    ):
        raise WorkspaceConflict(
            f"dispute {dispute_id} or its invoice changed meanwhile: reload and try again"
        )
    changes.publish(desk.change_feed, activity.changes)
    if wanted in dispute_rules.RESOLVED:
        desk.store.tasks.close_tasks_about(customer_id, TaskKind.DISPUTE, "dispute_id", dispute_id, now)
    return dispute_view(moved, now, desk.policies(), invoice.currency if invoice is not None else None)


def queue(desk: Desk, *, now: datetime, include_closed: bool = False) -> list[DisputeView]:
    """Every dispute not closed (the dispute queue), oldest first."""
    policies = desk.policies()
    found = desk.store.disputes.open_disputes()
    return sorted(
        (dispute_view(d, now, policies) for d in found if include_closed or d.status != DisputeStatus.CLOSED),
        key=lambda view: view.created_at,
    )
