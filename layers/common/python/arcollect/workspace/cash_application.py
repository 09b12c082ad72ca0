"""A collector's apply-cash decision (``arcollect/cash.py``): part or all of a payment's unapplied
cash applied to open invoices, in one transaction with the invoices, the apply-cash task and the ERP's
changes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from arcollect import cash, changes
from arcollect.entities import Activity, Invoice, Payment, Task, TaskStatus
from arcollect.money import grouped, written
from arcollect.staff import StaffUser
from arcollect.workspace.desk import Desk, checked_text, parsed_amount
from arcollect.workspace.model import WorkspaceConflict, WorkspaceInputError, WorkspaceNotFound


def apply_cash(
    desk: Desk,
    customer_id: str,
    payment_id: str,
    *,
    allocations: Sequence[tuple[str, str]],
    by: StaffUser,
    now: datetime,
    note: str = "",
    unapplied: str | None = None,
) -> Payment:
    """Apply part or all of a payment's unapplied cash to open invoices (``arcollect/cash.py``):
    ``allocations`` are (invoice number, amount as typed) pairs, those without an amount left out.
    ``unapplied`` is the unapplied amount the form showed: a form sent twice, or after someone else
    applied the cash, is refused (WorkspaceConflict) instead of applied twice.

    One transaction writes the payment, its invoices (settled ones leave dunning), its apply-cash
    task (closed when nothing is left unapplied, else its suggestions brought up to date) and the
    timeline entry with one ``cash_applied`` change per invoice for the ERP."""
    text = checked_text(note, "note")
    payment = desk.store.payment(customer_id, payment_id)
    if payment is None:
        raise WorkspaceNotFound(f"no payment {payment_id} on customer {customer_id}")
    if unapplied is not None and unapplied.strip():
        shown = parsed_amount(unapplied, "unapplied")
        if shown != payment.unapplied_amount:
            raise WorkspaceConflict(
                f"payment {payment_id} changed meanwhile "
                f"({written(payment.unapplied_amount, payment.currency)} unapplied now): reload and try again"
            )
    if payment.unapplied_amount <= 0:
        raise WorkspaceConflict(f"payment {payment_id} has no unapplied cash left")
    try:
        requested = [
            (number.strip(), cash.parse_amount(amount, "allocations", payment.currency))
            for number, amount in allocations
            if (amount or "").strip()
        ]
        invoices = {
            number: invoice
            for number, _ in requested
            if (invoice := desk.store.invoice(customer_id, number)) is not None
        }
        after, settles = cash.decided(payment, requested, invoices)
    except cash.CashApplicationError as error:
        raise WorkspaceInputError(error.field, error.message) from None
    decision = len(payment.applications) + 1
    applied = ", ".join(f"{number} ({grouped(amount, payment.currency)})" for number, amount in requested)
    total = sum((amount for _, amount in requested), Decimal(0))
    left = (
        f"; {written(after.unapplied_amount, after.currency)} left unapplied"
        if after.unapplied_amount > 0
        else "; nothing left unapplied"
    )
    activity = Activity(
        customer_id=customer_id,
        at=now,
        activity_id=f"cash-{payment_id}-{decision}",
        kind="cash_applied",
        summary=f"{by.name} applied {written(total, payment.currency)} of payment {payment_id} to "
        f"{applied}{left}" + (f". Note: {text}" if text else ""),
        detail={
            "payment_id": payment_id,
            "invoices": ", ".join(number for number, _ in requested),
            "amounts": ", ".join(str(amount) for _, amount in requested),
            "currency": payment.currency,
            "unapplied_amount": str(after.unapplied_amount),
            "by": by.username,
            "note": text,
        },
        changes=tuple(
            changes.cash_applied(
                customer_id=customer_id,
                payment_id=payment_id,
                decision=decision,
                invoice_number=number,
                amount=amount,
                currency=payment.currency,
                note=text,
                by=by.username,
                at=now,
            )
            for number, amount in requested
        ),
    )
    task = apply_cash_task(desk, after, settles, now)
    if not desk.store.apply_cash(payment, after, settles, task, activity):
        raise WorkspaceConflict(
            f"payment {payment_id} or one of its invoices changed meanwhile: reload and try again"
        )
    changes.publish(desk.change_feed, activity.changes)
    return after


def apply_cash_task(
    desk: Desk, after: Payment, settles: Sequence[tuple[Invoice, Invoice]], now: datetime
) -> tuple[Task, Task] | None:
    """The payment's open apply-cash task as read and after the decision: done when nothing is left
    unapplied, else with its title and suggestions for what is left."""
    task = desk.store.tasks.task(after.customer_id, cash.apply_cash_task_id(after.payment_id))
    if task is None or task.status != TaskStatus.OPEN:
        return None
    if after.unapplied_amount <= 0:
        done = replace(
            task,
            status=TaskStatus.DONE,
            outcome="cash_applied",
            closed_at=now,
            detail={**task.detail, "unapplied_amount": "0", "applied_to": _applied_numbers(after)},
        )
        return task, done
    settled = {invoice.invoice_number: invoice for _, invoice in settles}
    documents = [
        settled.get(invoice.invoice_number, invoice)
        for invoice in desk.store.customer_invoices(after.customer_id)
    ]
    fresh = cash.apply_cash_task(
        after,
        documents,
        now=task.created_at,
        assignee=task.assignee,
        source=task.detail.get("source", ""),
    )
    return task, replace(task, title=fresh.title, detail={**task.detail, **fresh.detail})


def _applied_numbers(payment: Payment) -> str:
    return ", ".join(dict.fromkeys(a.invoice_number for a in payment.applications))
