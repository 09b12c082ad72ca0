"""What every use case of the collector workspace works with: the ``Desk`` (the policy in force, the
store, the mailer, the calendar, the change feed) and the input checks the use cases share."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from arcollect.calendar import Calendar, local_today
from arcollect.changes import ChangeFeed
from arcollect.entities import Customer, Invoice, Task
from arcollect.mailing import Mailer
from arcollect.policy import PolicySet
from arcollect.staff import StaffUser
from arcollect.store.touch_ledger import TouchLedger
from arcollect.store.workspace import WorkspaceStore
from arcollect.workspace.model import NotAllowed, WorkspaceInputError, WorkspaceNotFound

NOTE_MAX = 2000


@dataclass(frozen=True)
class Desk:
    """``policies`` gives the dunning policy in force (its team, segments' collectors and dispute
    routing); ``mailer``/``sender`` send dispute notifications; ``change_feed`` writes each decision's
    change for the ERP once it is committed."""

    policies: Callable[[], PolicySet]
    mailer: Mailer
    sender: str
    store: WorkspaceStore
    calendar: Calendar
    change_feed: ChangeFeed | None
    # A collector's one-off emails (workspace/one_off.py): the touch ledger they are reserved in, like
    # dunning's reminders, and the customer's signed portal link, ``link_for(customer id, now, the
    # portal's URL as the console's request came in)`` (the wiring signs it, preferring the stack's
    # configured portal URL: the workspace holds no link key); ``link_days``: how long such a link works.
    touches: TouchLedger = field(default_factory=TouchLedger)
    link_for: Callable[[str, datetime, str], str] | None = None
    link_days: int = 30

    def today(self, now: datetime, customer: Customer | None = None) -> date:
        """The customer's day at ``now`` (else the policy's time zone's)."""
        zone_name = customer.time_zone if customer else None
        return local_today(zone_name, now, self.policies().settings.time_zone)

    def customer(self, customer_id: str) -> Customer:
        customer = self.store.customer(customer_id)
        if customer is None:
            raise WorkspaceNotFound(f"no customer {customer_id}")
        return customer

    def open_invoice(self, customer_id: str, number: str, field: str) -> Invoice:
        invoice = self.store.invoice(customer_id, (number or "").strip())
        if invoice is None:
            raise WorkspaceInputError(field, f"invoice {number!r} is not on this customer's account")
        if not invoice.is_open:
            raise WorkspaceInputError(field, f"invoice {invoice.invoice_number} is already settled")
        return invoice


def new_id() -> str:
    return secrets.token_hex(8)


def checked_text(value: str, field: str, *, required: bool = False, limit: int = NOTE_MAX) -> str:
    text = (value or "").strip()
    if required and not text:
        raise WorkspaceInputError(field, "is required")
    if len(text) > limit:
        raise WorkspaceInputError(field, f"at most {limit} characters ({len(text)} given)")
    return text


def manager_only(by: StaffUser) -> None:
    if not by.is_manager:
        raise NotAllowed(f"{by.username} is not a manager")


def parsed_amount(text: str, field: str) -> Decimal:
    try:
        return Decimal(text.strip().replace(",", ""))
    except InvalidOperation:
        raise WorkspaceInputError(field, f"{text!r} is not an amount") from None


def task_invoices(task: Task) -> tuple[str, ...]:
    """The invoices a task is about (its detail's ``invoices`` or ``invoice_number``)."""
    text = task.detail.get("invoices") or task.detail.get("invoice_number") or ""
    return tuple(n for n in (part.strip() for part in text.split(",")) if n)
