"""Deductions in the workspace: a collector codes a short payment's residual with a reason (routed to
its department with an SLA, like a dispute: it is one, ``arcollect/deductions.py``), and resolves it by
a credit (the residual written off) or a rebill (back to dunning)."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime

from arcollect import changes, deductions, plans
from arcollect import disputes as dispute_rules
from arcollect.deductions import DeductionOutcome
from arcollect.disputes import DisputeStatus
from arcollect.entities import DeductionReason
from arcollect.money import plain, written
from arcollect.staff import StaffUser
from arcollect.workspace import dispute_cases
from arcollect.workspace.desk import Desk, checked_text
from arcollect.workspace.model import DisputeView, WorkspaceConflict, WorkspaceInputError, WorkspaceNotFound
from arcollect.workspace.view import dispute_view


def deduction_id(invoice_number: str, payment_ids: tuple[str, ...], residual: str) -> str:
    """One short payment's deduction id: the invoice, the payments that paid it short and the residual
    they left. A retried request (a double submit, a JSON client's retry) codes the same deduction
    again and finds it made, instead of opening a second one."""
    material = "\x1f".join([invoice_number, *sorted(payment_ids), residual]).encode()
    return "ded-" + hashlib.sha256(material).hexdigest()[:16]


def parse_reason(text: str) -> DeductionReason:
    try:
        return DeductionReason((text or "").strip())
    except ValueError:
        allowed = ", ".join(reason.value for reason in DeductionReason)
        raise WorkspaceInputError("reason", f"{text!r} is not a deduction reason ({allowed})") from None


def parse_outcome(text: str) -> DeductionOutcome:
    try:
        return DeductionOutcome((text or "").strip())
    except ValueError:
        allowed = ", ".join(outcome.value for outcome in DeductionOutcome)
        raise WorkspaceInputError("outcome", f"{text!r} is not an outcome ({allowed})") from None


def code_deduction(
    desk: Desk,
    customer_id: str,
    *,
    invoice_number: str,
    reason: str,
    comment: str,
    by: StaffUser,
    now: datetime,
) -> DisputeView:
    """Code the residual a short payment left on ``invoice_number`` as a deduction with ``reason``:
    routed to the reason's department (task due within its SLA, the department notified), the residual
    no longer reminded, the ``deduction_coded`` change for the ERP. Coding the same short payment again
    returns the deduction made."""
    why = parse_reason(reason)
    text = checked_text(comment, "comment")
    customer = desk.customer(customer_id)
    items = desk.store.account(customer_id)
    number = (invoice_number or "").strip()
    invoice = next((i for i in items.invoices if i.invoice_number == number), None)
    if invoice is None:
        raise WorkspaceInputError(
            "invoice_number", f"invoice {invoice_number!r} is not on this customer's account"
        )
    _, payment_ids = deductions.paid_towards(invoice, items.payments)
    wanted_id = deduction_id(invoice.invoice_number, payment_ids, f"{invoice.open_amount:.2f}")
    policies = desk.policies()
    existing = desk.store.disputes.dispute(customer_id, wanted_id)
    if existing is not None:
        if existing.status in (DisputeStatus.OPEN, DisputeStatus.IN_REVIEW):
            return dispute_view(existing, now, policies)
        raise WorkspaceInputError(
            "invoice_number",
            f"this short payment of {invoice.invoice_number} was coded and resolved already "
            f"({existing.status}): a new payment or dispute changes it",
        )
    why_not = deductions.why_not_deductible(invoice, items.payments)
    if why_not:
        raise WorkspaceInputError("invoice_number", f"invoice {invoice.invoice_number} {why_not}")
    dispute, task, activity = dispute_rules.new_dispute(
        customer, invoice, reason=why.value, comment=text, dispute_id=wanted_id, now=now,
        policies=policies, opened_by=by.username,
    )  # fmt: skip
    residual = invoice.open_amount
    dispute = replace(dispute, amount=residual, payment_ids=payment_ids)
    short = written(residual, invoice.currency)
    task = replace(
        task,
        title=f"Deduction on {invoice.invoice_number}: {why.value} ({short} short)",
        detail={**task.detail, "deduction": why.value},
    )
    routed = f", routed to {dispute.department}" if dispute.department else ""
    paid_by = f" by {', '.join(payment_ids)}" if payment_ids else ""
    activity = replace(
        activity,
        kind=deductions.DEDUCTION_CODED,
        summary=(
            f"{by.name}: {short} left open on {invoice.invoice_number} after the payment{paid_by} coded as "
            f"a {why.value} deduction{routed}; not reminded while it is investigated"
        ),
        detail={
            **activity.detail,
            "deduction": why.value,
            "payments": ",".join(payment_ids),
            "by": by.username,
        },
        changes=(
            changes.deduction_coded(
                customer_id=customer_id,
                dispute_id=wanted_id,
                invoice_number=invoice.invoice_number,
                amount=residual,
                currency=invoice.currency,
                reason=why.value,
                comment=text,
                payment_ids=payment_ids,
                by=by.username,
                at=now,
            ),
        ),
    )
    # Its own summary and change replaced the dispute's: an invoice in a payment plan still leaves it.
    activity = plans.with_withdrawal(activity, invoice, at=now, by=by.username)
    if not desk.store.disputes.open_dispute(dispute, task, activity):
        again = desk.store.disputes.dispute(customer_id, wanted_id)
        if again is not None:  # a concurrent retry of the same request made it
            return dispute_view(again, now, policies, invoice.currency)
        raise WorkspaceConflict(f"invoice {invoice.invoice_number} changed meanwhile: reload and try again")
    changes.publish(desk.change_feed, activity.changes)
    dispute_rules.notify_department(
        dispute, customer, invoice, policies=policies, mailer=desk.mailer, sender=desk.sender,
        store=desk.store.disputes,
    )  # fmt: skip
    return dispute_view(dispute, now, policies, invoice.currency)


def resolve_deduction(
    desk: Desk,
    customer_id: str,
    deduction: str,
    *,
    outcome: str,
    note: str,
    by: StaffUser,
    now: datetime,
) -> DisputeView:
    """Resolve a deduction: ``credit`` writes the residual off (a credit of all that is open on the
    invoice, which settles it; above the policy's collector limit a manager's call), ``rebill`` sends it
    back to dunning. A retry of a resolution made already returns it."""
    chosen = parse_outcome(outcome)
    dispute = desk.store.disputes.dispute(customer_id, deduction)
    if dispute is None or not deductions.is_deduction(dispute.reason):
        raise WorkspaceNotFound(f"no deduction {deduction} on customer {customer_id}")
    wanted = deductions.OUTCOME_STATUS[chosen]
    if dispute.status == wanted:
        return dispute_view(dispute, now, desk.policies())
    credit: str | None = None
    if chosen is DeductionOutcome.CREDIT:
        invoice = desk.store.invoice(customer_id, dispute.invoice_number)
        if invoice is None:
            raise WorkspaceNotFound(f"invoice {dispute.invoice_number} is gone")
        credit = plain(invoice.open_amount, invoice.currency)
    return dispute_cases.move_dispute(
        desk, customer_id, deduction, status=wanted.value, note=note, by=by, now=now, credit_amount=credit
    )


def queue(desk: Desk, *, now: datetime, include_closed: bool = False) -> list[DisputeView]:
    """The deductions not closed, oldest first (the dispute queue's deductions)."""
    return [
        view
        for view in dispute_cases.queue(desk, now=now, include_closed=include_closed)
        if deductions.is_deduction(view.reason)
    ]
