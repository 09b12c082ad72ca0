"""Promises to pay a collector takes (on a call or on their own): checked as the portal's are
(``arcollect.promises``), recorded once with their invoices paused and the ERP's change."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from arcollect import changes
from arcollect.entities import Activity, Customer, Promise
from arcollect.inputs import InputError
from arcollect.money import plain, written
from arcollect.promises import checked_promise, promise_to_pay
from arcollect.staff import StaffUser
from arcollect.workspace.desk import Desk, new_id
from arcollect.workspace.model import WorkspaceConflict, WorkspaceInputError


def take_promise(
    desk: Desk,
    customer_id: str,
    *,
    invoice_numbers: list[str],
    amount: str,
    promised_until: str,
    by: StaffUser,
    now: datetime,
) -> Promise:
    customer = desk.customer(customer_id)
    return take(
        desk,
        customer,
        invoice_numbers=invoice_numbers,
        amount=amount,
        promised_until=promised_until,
        by=by,
        now=now,
        promise_id=f"staff-{new_id()}",
    )


def take(
    desk: Desk,
    customer: Customer,
    *,
    invoice_numbers: list[str],
    amount: str,
    promised_until: str,
    by: StaffUser,
    now: datetime,
    promise_id: str,
) -> Promise:
    existing = desk.store.promises.promise(customer.customer_id, promise_id)
    if existing is not None:
        return existing  # a retry of the same call's outcome
    policies = desk.policies()
    try:
        promise = checked_promise(
            customer.customer_id,
            invoice_numbers=invoice_numbers,
            lookup=lambda number: desk.store.invoice(customer.customer_id, number),
            amount=amount,
            promised_until=promised_until,
            today=desk.today(now, customer),
            policies=policies,
            promise_id=promise_id,
            now=now,
            source=by.username,
        )
    except InputError as error:
        raise WorkspaceInputError(error.field, error.message) from None
    next_at = promise_to_pay(promise, policies=policies, calendar=desk.calendar, zone_name=customer.time_zone)
    numbers = ", ".join(promise.invoice_numbers)
    activity = Activity(
        customer_id=customer.customer_id,
        at=now,
        activity_id=f"promise-{promise_id}",
        kind="promise_made",
        summary=(
            f"{by.name} took a promise to pay {written(promise.amount or 0, promise.currency or '')} by "
            f"{promise.promised_until.isoformat()} for {numbers}; dunning paused for it"
        ),
        detail={
            "promise_id": promise_id,
            "amount": plain(promise.amount or Decimal(0), promise.currency or ""),
            "currency": promise.currency or "",
            "promised_until": promise.promised_until.isoformat(),
            "invoices": numbers,
            "source": by.username,
        },
        changes=(changes.promise_made(promise),),
    )
    # The timeline entry and its change go in the promise's own transaction: a crash after it
    # leaves nothing for the retry (which finds the promise) to add.
    if not desk.store.promises.make_promise(promise, next_at, activity):
        raise WorkspaceConflict("one of the invoices changed meanwhile: reload and try again")
    changes.publish(desk.change_feed, activity.changes)
    return promise
