"""Sending due reminders with an exactly-once effect per (invoice, step).

This is the first, single-step slice of the reminder engine: an invoice that became late gets one
"past_due" reminder, consolidated per customer. The policy engine replaces the step choice; the
reserve -> send -> complete protocol below stays.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from arcollect.dunning.messages import compose_reminder
from arcollect.entities import Activity, Customer, Invoice
from arcollect.observability import logger

STEP_PAST_DUE = "past_due"


class DueKey(Protocol):
    @property
    def customer_id(self) -> str: ...

    @property
    def invoice_number(self) -> str: ...


class DueIndex(Protocol):
    def clear(self, customer_id: str, invoice_number: str) -> None: ...


class CustomerSource(Protocol):
    def get(self, customer_id: str) -> Customer | None: ...


class InvoiceSource(Protocol):
    def for_customer(self, customer_id: str) -> list[Invoice]: ...


class Ledger(Protocol):
    def reserve(self, customer_id: str, invoice_number: str, step: str, at: datetime) -> bool: ...

    def complete(
        self, customer_id: str, invoice_number: str, step: str, message_id: str, at: datetime
    ) -> None: ...

    def release(self, customer_id: str, invoice_number: str, step: str) -> None: ...


class Mailer(Protocol):
    def send(self, *, sender: str, to: list[str], raw: bytes, tags: dict[str, str]) -> str: ...


class Timeline(Protocol):
    def record(self, activity: Activity) -> bool: ...


@dataclass
class ReminderRun:
    emails_sent: int = 0
    invoices_reminded: int = 0
    skipped: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def send_due_reminders(
    *,
    now: datetime,
    due: Sequence[DueKey],
    index: DueIndex,
    customers: CustomerSource,
    invoices: InvoiceSource,
    ledger: Ledger,
    mailer: Mailer,
    timeline: Timeline,
    sender: str,
    link_for: Callable[[str], str],
) -> ReminderRun:
    """One consolidated email per customer with invoices due at ``now``; each touch once, ever.

    ``due`` are the invoices the sweep's index lists as due at ``now``; ``index.clear`` takes an invoice
    out of it once nothing more is due. ``link_for(customer_id)`` makes the customer's signed portal link.
    """
    run = ReminderRun()
    by_customer: dict[str, set[str]] = defaultdict(set)
    for key in due:
        by_customer[key.customer_id].add(key.invoice_number)
    for customer_id, numbers in sorted(by_customer.items()):
        # Fresh state, read just before sending: a payment or dispute since the index was written wins.
        current = {
            i.invoice_number: i for i in invoices.for_customer(customer_id) if i.invoice_number in numbers
        }
        remindable = [
            i for i in current.values() if i.status == "open" and i.open_amount > 0 and not i.disputed
        ]
        for number in numbers - {i.invoice_number for i in remindable}:
            run.skipped["closed_or_disputed"] += 1
            index.clear(customer_id, number)
        if not remindable:
            continue
        customer = customers.get(customer_id)
        if customer is None or not customer.email:
            # Left in the index: once the master data has an address, the next sweep reminds.
            run.skipped["no_contact"] += len(remindable)
            logger.warning("no email address to remind", extra={"customer_id": customer_id})
            continue
        reserved = [
            i
            for i in sorted(remindable, key=lambda i: i.due_date)
            if ledger.reserve(customer_id, i.invoice_number, STEP_PAST_DUE, now)
        ]
        if len(reserved) < len(remindable):
            run.skipped["already_touched"] += len(remindable) - len(reserved)
        if reserved:
            _send(run, now, customer, reserved, ledger, mailer, timeline, sender, link_for(customer_id))
        for invoice in remindable:
            index.clear(customer_id, invoice.invoice_number)
    logger.info(
        "reminders",
        extra={
            "emails_sent": run.emails_sent,
            "invoices_reminded": run.invoices_reminded,
            "skipped": dict(run.skipped),
        },
    )
    return run


def _send(
    run: ReminderRun,
    now: datetime,
    customer: Customer,
    reserved: list[Invoice],
    ledger: Ledger,
    mailer: Mailer,
    timeline: Timeline,
    sender: str,
    portal_url: str,
) -> None:
    message = compose_reminder(
        customer=customer,
        invoices=reserved,
        step=STEP_PAST_DUE,
        sender=sender,
        portal_url=portal_url,
        now=now,
    )
    try:
        message_id = mailer.send(
            sender=sender,
            to=[customer.email],
            raw=message.as_bytes(),
            tags={"customer_id": customer.customer_id, "step": STEP_PAST_DUE},
        )
    except Exception:
        # SES did not accept it: free the reservations so the next sweep tries again.
        for invoice in reserved:
            ledger.release(customer.customer_id, invoice.invoice_number, STEP_PAST_DUE)
        raise
    for invoice in reserved:
        ledger.complete(customer.customer_id, invoice.invoice_number, STEP_PAST_DUE, message_id, now)
    timeline.record(
        Activity(
            customer_id=customer.customer_id,
            at=now,
            activity_id=message_id,
            kind="email_sent",
            summary=f"Reminder ({STEP_PAST_DUE}) for {len(reserved)} invoice(s) to {customer.email}",
            detail={
                "message_id": message_id,
                "step": STEP_PAST_DUE,
                "invoices": ",".join(i.invoice_number for i in reserved),
            },
        )
    )
    run.emails_sent += 1
    run.invoices_reminded += len(reserved)
