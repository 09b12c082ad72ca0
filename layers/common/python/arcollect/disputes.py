"""Disputes: the workflow open -> in review -> resolved valid / resolved with credit -> closed, each
dispute's age against its department's SLA (see the ``disputes`` section of the policy), opening one
(the portal's customer or a collector) and telling its department. Domain rules: the portal and the
workspace both open disputes; the workspace alone moves them (``workspace.disputes`` parses its input)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage
from enum import StrEnum
from typing import Protocol

from arcollect import changes
from arcollect.entities import (
    Activity,
    Customer,
    DeductionReason,
    Dispute,
    Invoice,
    InvoiceStatus,
    Task,
    TaskKind,
)
from arcollect.mailing import Mailer, stamp_sent
from arcollect.money import grouped, plain, written
from arcollect.observability import logger
from arcollect.plans import with_withdrawal
from arcollect.policy import PolicySet
from arcollect.priority import factors_for, score


class DisputeStatus(StrEnum):
    """open -> in_review -> resolved_valid | resolved_credit -> closed.

    ``resolved_valid``: the invoice stands as billed, so dunning resumes for it; ``resolved_credit``: a
    credit was granted, the invoice's open amount drops by it (dunning resumes for any remainder)."""

    OPEN = "open"
    IN_REVIEW = "in_review"
    RESOLVED_VALID = "resolved_valid"
    RESOLVED_CREDIT = "resolved_credit"
    CLOSED = "closed"


DISPUTE_TRANSITIONS: dict[DisputeStatus, tuple[DisputeStatus, ...]] = {
    DisputeStatus.OPEN: (
        DisputeStatus.IN_REVIEW,
        DisputeStatus.RESOLVED_VALID,
        DisputeStatus.RESOLVED_CREDIT,
    ),
    DisputeStatus.IN_REVIEW: (DisputeStatus.RESOLVED_VALID, DisputeStatus.RESOLVED_CREDIT),
    DisputeStatus.RESOLVED_VALID: (DisputeStatus.CLOSED,),
    DisputeStatus.RESOLVED_CREDIT: (DisputeStatus.CLOSED,),
    DisputeStatus.CLOSED: (),
}


DISPUTE_OPENED = "dispute_opened"
DISPUTE_MOVED = "dispute_moved"
RESOLVED = frozenset({DisputeStatus.RESOLVED_VALID, DisputeStatus.RESOLVED_CREDIT})


def why_not_disputable(invoice: Invoice) -> str | None:
    """Why ``invoice`` cannot be disputed now (None: it can): a dispute is about money still asked for,
    so the document must be an invoice, not a credit note (owed to the customer, it asks for nothing),
    open with something owed, and not disputed already. The portal and the workspace both ask before
    opening one; the store checks open, owed and undisputed again in the dispute's own transaction
    (``store/dispute_book.py``), so an invoice paid or disputed meanwhile is refused there too."""
    if invoice.is_credit_note:
        return "is a credit note: it lowers what is owed, there is nothing to dispute"
    if not invoice.is_open:
        return "is already settled"
    if invoice.disputed:
        return "is already disputed"
    if invoice.agency:
        return f"is with the collection agency {invoice.agency}: contact them about it"
    return None


def age_days(created_at: datetime, now: datetime, resolved_at: datetime | None = None) -> int:
    """Whole days open (until resolution, once resolved)."""
    end = resolved_at or now
    return max(0, (end - created_at).days)


def sla_overdue(status: str, created_at: datetime, now: datetime, sla_days: int) -> bool:
    return status in (DisputeStatus.OPEN, DisputeStatus.IN_REVIEW) and age_days(created_at, now) > sla_days


def new_dispute(
    customer: Customer,
    invoice: Invoice,
    *,
    reason: str,
    comment: str,
    dispute_id: str,
    now: datetime,
    policies: PolicySet,
    opened_by: str,
    attachment: tuple[str, str, int] | None = None,
    attachment_key: str | None = None,
) -> tuple[Dispute, Task, Activity]:
    """The dispute of ``invoice`` routed to its department, the collector's task (scored, due within
    the department's SLA) and the timeline entry: what ``PortalStore.open_dispute`` writes at once."""
    department = policies.disputes.route(reason)
    sla = department.sla_days if department else policies.disputes.sla_days
    today = now.date()
    assignee = customer.owner_on(today) or policies.settings.manager
    factors = factors_for(TaskKind.DISPUTE, [invoice], customer, today)
    points, _ = score(factors, today)
    amount = plain(invoice.open_amount, invoice.currency)
    detail = {
        "assignee": assignee,
        "invoice_number": invoice.invoice_number,
        "invoices": invoice.invoice_number,
        "dispute_id": dispute_id,
        "reason": reason,
        "comment": comment,
        "amount": amount,
        "department": department.name if department else "",
        **factors.as_detail(),
        "currency": invoice.currency,
    }
    if attachment_key:
        detail["attachment"] = attachment_key
    by = "the customer in the portal" if opened_by == "portal" else opened_by
    dispute = Dispute(
        customer_id=customer.customer_id,
        dispute_id=dispute_id,
        invoice_number=invoice.invoice_number,
        reason=reason,
        comment=comment,
        created_at=now,
        attachment_key=attachment_key,
        attachment_type=attachment[1] if attachment else None,
        attachment_size=attachment[2] if attachment else None,
        department=department.name if department else None,
        sla_days=sla,
        opened_by=opened_by,
    )
    task = Task(
        customer_id=customer.customer_id,
        task_id=f"dispute-{dispute_id}",
        kind=TaskKind.DISPUTE,
        title=f"Dispute on {invoice.invoice_number}: {reason.replace('_', ' ')}",
        created_at=now,
        detail=detail,
        assignee=assignee,
        due_on=today + timedelta(days=sla),
        score=points,
    )
    routed = f", routed to {department.name}" if department else ""
    activity = Activity(
        customer_id=customer.customer_id,
        at=now,
        activity_id=f"dispute-{dispute_id}",
        kind=DISPUTE_OPENED,
        summary=(
            f"Dispute of {invoice.invoice_number} ({reason}) logged by {by}{routed}; dunning stopped for it"
        ),
        detail={k: v for k, v in detail.items() if k not in {"assignee", "invoices"}},
        changes=(
            changes.dispute_opened(
                customer_id=customer.customer_id,
                dispute_id=dispute_id,
                invoice_number=invoice.invoice_number,
                open_amount=invoice.open_amount,
                currency=invoice.currency,
                reason=reason,
                comment=comment,
                opened_by=opened_by,
                at=now,
            ),
        ),
    )
    # An invoice in a payment plan leaves it: the customer must never be reminded of what they dispute.
    return dispute, task, with_withdrawal(activity, invoice, at=now, by=opened_by)


def notification(
    dispute: Dispute, customer: Customer, invoice: Invoice, *, policies: PolicySet, sender: str
) -> tuple[str, bytes] | None:
    """The department's email about a new dispute (recipient, raw MIME), or None without an address.
    It is sent as the dispute is opened, by the request that opens it: its send time is the dispute's
    ``created_at`` (that request's "now", as ``notify_department`` records it)."""
    department = policies.disputes.route(dispute.reason)
    if department is None or not department.email:
        return None
    message = EmailMessage()
    message["From"] = sender
    message["To"] = department.email
    # A deduction (a short payment coded with a reason: arcollect/deductions.py) says what was kept back.
    deduction = dispute.reason in {reason.value for reason in DeductionReason}
    message["Subject"] = (
        f"Deduction {dispute.dispute_id}: {customer.name} paid {invoice.invoice_number} short "
        f"({dispute.reason}, {written(invoice.open_amount, invoice.currency)})"
        if deduction
        else f"Dispute {dispute.dispute_id}: {customer.name} disputes {invoice.invoice_number} "
        f"({dispute.reason.replace('_', ' ')})"
    )
    message["X-Arcollect-Dispute"] = dispute.dispute_id
    stamp_sent(message, dispute.created_at)
    due = (dispute.created_at + timedelta(days=dispute.sla_days or department.sla_days)).date()
    message.set_content(
        "\n".join(
            [
                f"{customer.name} ({customer.customer_id}) "
                + (
                    f"paid invoice {invoice.invoice_number} short: a deduction to decide (credit or rebill)."
                    if deduction
                    else f"disputes invoice {invoice.invoice_number}."
                ),
                "",
                f"Reason:   {dispute.reason.replace('_', ' ')}",
                f"Amount:   {written(invoice.open_amount, invoice.currency)} open of "
                f"{grouped(invoice.amount, invoice.currency)}",
                f"Due:      {invoice.due_date.isoformat()}",
                f"Comment:  {dispute.comment or '(none)'}",
                f"Logged:   {dispute.created_at.isoformat(timespec='minutes')} by {dispute.opened_by}",
                f"SLA:      resolve by {due.isoformat()} ({department.name}, {department.sla_days} days)",
                "",
                "Reminders for this invoice are stopped until the dispute is resolved in the staff console.",
            ]
        )
    )
    return department.email, message.as_bytes()


class DisputeNotices(Protocol):
    def mark_notified(self, customer_id: str, dispute_id: str, at: datetime) -> None: ...


def notify_department(
    dispute: Dispute,
    customer: Customer,
    invoice: Invoice,
    *,
    policies: PolicySet,
    mailer: Mailer,
    sender: str,
    store: DisputeNotices,
) -> bool:
    """Email the dispute's department, once the dispute is recorded. A refused or failed send does not
    undo the dispute (the customer's request stands); the dispute shows "not notified" in the console,
    and the collector's task exists either way."""
    message = notification(dispute, customer, invoice, policies=policies, sender=sender)
    if message is None:
        return False
    to, raw = message
    try:
        mailer.send(sender=sender, to=[to], raw=raw, tags={"arcollect-kind": "dispute-notice"})
    except Exception:
        logger.exception("dispute notification failed", extra={"dispute_id": dispute.dispute_id})
        return False
    store.mark_notified(dispute.customer_id, dispute.dispute_id, dispute.created_at)
    return True


def dispute_resolved(invoice: Invoice, credit: Decimal | None) -> Invoice:
    """``invoice`` once its dispute here is resolved: disputed only if the ERP says so, and with a
    credit agreed, that much less open (closed when nothing is left) and the credit kept as agreed until
    the ERP's files show it (ingest/precedence.py)."""
    after = replace(invoice, disputed=invoice.erp_disputed, dispute_id=None)
    if credit is None:
        return after
    left = max(invoice.open_amount - credit, Decimal(0))
    return replace(
        after,
        open_amount=left,
        status=InvoiceStatus.OPEN.value if left > 0 else InvoiceStatus.CLOSED.value,
        credit_agreed=invoice.credit_agreed + min(credit, invoice.open_amount),
    )
