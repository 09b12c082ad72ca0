"""The dunning engine's storage: the sweep's read path, the touches and the next looks.

Read path: the sparse, sharded ``by_next_action`` index holds only items with a pending look (open
invoices at their next step, customers at their anniversary); the sweep queries each shard up to "now"
and never scans the table.

Write path, per customer: the touches, each at most once per (invoice, step), are the ledger's
(``store/touch_ledger.py``); who works a customer's tasks is ``store/assignment.py``; promises are
``store/promise_book.py``. ``DunningStore`` holds the three; the engine writes touches through
``store.touches`` itself (no method of the ledger is repeated here), and the store's own operations are
the read path, the next looks and the suppressed addresses.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from arcollect.clock import format_instant, parse_instant
from arcollect.credits import CreditLine, credit_lines
from arcollect.entities import Activity, Customer, Invoice, Payment, Promise
from arcollect.reminders import Reach
from arcollect.send_times import SendRecord
from arcollect.store import keys
from arcollect.store.assignment import Assignments
from arcollect.store.base import (
    next_action,
    translated,
    update_if,
)
from arcollect.store.customers import PROFILE_SK, customer_from_item, customer_from_snapshot, snapshot_of
from arcollect.store.invoices import invoice_from_item, invoice_key
from arcollect.store.models import (
    CustomerItem,
    InvoiceItem,
    PaymentItem,
    TableItem,
)
from arcollect.store.payments import payment_from_item
from arcollect.store.promise_book import PromiseBook
from arcollect.store.send_slots import SendSlotBook
from arcollect.store.timeline import record_once
from arcollect.store.touch_ledger import StaleCustomer, TouchLedger
from arcollect.store.touches import (
    EmailTouchRecord,
    InvoiceState,
    Refusal,
    Reservation,
)

# What the dunning features import from here (the records and the profile copy live with their codecs).
__all__ = [
    "DueWork",
    "DunningStore",
    "EmailTouchRecord",
    "InvoiceState",
    "Reach",
    "Refusal",
    "Reservation",
    "StaleCustomer",
    "customer_from_snapshot",
    "snapshot_of",
]


@dataclass(frozen=True)
class DueWork:
    """What the index says is due: invoices per customer, and customers whose own item is due.

    ``profiles`` holds the customers known without another read: a profile item that came due itself,
    or the snapshot every due invoice of the customer carries (``snapshots`` names those customers)."""

    invoices: dict[str, list[Invoice]] = field(default_factory=dict)
    customers: set[str] = field(default_factory=set)
    items_read: int = 0
    profiles: dict[str, Customer] = field(default_factory=dict)
    snapshots: set[str] = field(default_factory=set)

    @property
    def customer_ids(self) -> list[str]:
        return sorted(set(self.invoices) | self.customers)


class DunningStore:
    """Everything the dunning engine reads and writes: the sweep's read path, the touches, the next
    looks; who works a customer and its promises are the ``assignments`` and the ``promise_book`` it
    holds (the same stores the workspace and the portal use)."""

    def __init__(
        self,
        assignments: Assignments | None = None,
        promise_book: PromiseBook | None = None,
        touches: TouchLedger | None = None,
    ) -> None:
        self.touches = touches or TouchLedger()
        self.assignments = assignments or Assignments()
        self.promise_book = promise_book or PromiseBook()
        self.send_slots = SendSlotBook()

    def send_record(self, customer_id: str) -> SendRecord | None:
        """The customer's send-slot record as the newest report run kept it (store/send_slots.py)."""
        return self.send_slots.send_record(customer_id)

    @translated
    def open_credits(self, customer_id: str) -> tuple[CreditLine, ...]:
        """The customer's open credit notes and unapplied cash, from the credits index (its credit
        notes and its payments with unapplied cash: none of its other items). Read when a reminder or
        a call is about to ask for money, so that it asks for the net amount."""
        notes: list[Invoice] = []
        payments: list[Payment] = []
        for item in TableItem.by_credit.query(keys.customer_pk(customer_id)):
            if isinstance(item, InvoiceItem):
                notes.append(invoice_from_item(item))
            elif isinstance(item, PaymentItem):
                payments.append(payment_from_item(item))
        return credit_lines(notes, payments)

    @translated
    def record_decisions(self, activity: Activity) -> bool:
        """The sweep's decisions about one customer at one tick, in its timeline: once (the same tick
        run again records nothing twice)."""
        return record_once(keys.customer_pk(activity.customer_id), activity)

    # --- read path --------------------------------------------------------------------------------

    @translated
    def due(self, now: datetime, *, limit_per_shard: int | None = None) -> DueWork:
        """Items whose next look is at or before ``now``, from every shard of the sparse index."""
        cutoff = format_instant(now)
        invoices: dict[str, list[Invoice]] = {}
        customers: set[str] = set()
        profiles: dict[str, Customer] = {}
        seen: dict[str, set[str | None]] = {}
        read = 0
        for shard in keys.all_next_action_shards():
            for item in TableItem.by_next_action.query(
                shard, TableItem.next_action_at <= cutoff, limit=limit_per_shard
            ):
                read += 1
                if isinstance(item, InvoiceItem):
                    invoices.setdefault(item.customer_id, []).append(invoice_from_item(item))
                    seen.setdefault(item.customer_id, set()).add(item.customer_snapshot)
                elif isinstance(item, CustomerItem):
                    customers.add(item.customer_id)
                    profiles[item.customer_id] = customer_from_item(item)
        snapshots: set[str] = set()
        for customer_id, texts in seen.items():
            if customer_id in profiles or len(texts) != 1:
                continue  # the profile itself is here, or the invoices disagree: read it
            [text] = texts
            if text is not None and (snapshot := customer_from_snapshot(text)) is not None:
                profiles[customer_id] = snapshot
                snapshots.add(customer_id)
        return DueWork(invoices, customers, read, profiles, snapshots)

    @translated
    def next_due_at(self) -> datetime | None:
        """The earliest next look in the sparse index (None when nothing waits): the first sweep that
        can act is the first one at or after it. One item read per shard."""
        earliest: str | None = None
        for shard in keys.all_next_action_shards():
            for item in TableItem.by_next_action.query(shard, limit=1, scan_index_forward=True):
                if item.next_action_at and (earliest is None or item.next_action_at < earliest):
                    earliest = item.next_action_at
        return parse_instant(earliest, what="next_action_at") if earliest else None

    @translated
    def customers(self, customer_ids: Iterable[str]) -> dict[str, Customer]:
        wanted = {(keys.customer_pk(c), PROFILE_SK) for c in customer_ids}
        if not wanted:
            return {}
        return {item.customer_id: customer_from_item(item) for item in CustomerItem.batch_get(wanted)}

    @translated
    def invoices(self, customer_id: str, numbers: Iterable[str]) -> list[Invoice]:
        """Invoices of one customer by number (consistent reads: for fan-out workers and previews)."""
        wanted = {invoice_key(customer_id, n) for n in numbers}
        return [invoice_from_item(item) for item in InvoiceItem.batch_get(wanted, consistent_read=True)]

    # --- scheduling -----------------------------------------------------------------------------

    @translated
    def reschedule(
        self,
        customer_id: str,
        invoice_number: str,
        at: datetime | None,
        customer_snapshot: str | None = None,
        *,
        read_at: datetime | None,
    ) -> bool:
        """Move an invoice's next look (None takes it out of the index), only while it still exists and
        its next look is still ``read_at``, the one the run's plan was made from. Otherwise another run
        moved it since (a work item delivered twice, a tick repeated, ingest loading a new file): that
        newer decision stands, and this run's plan, made from the older state, would undo it (a step
        passed over). False when it was not moved."""
        item = InvoiceItem(*invoice_key(customer_id, invoice_number))
        actions = next_action(customer_id, at)
        if customer_snapshot is not None and at is not None:
            actions.append(InvoiceItem.customer_snapshot.set(customer_snapshot))
        unchanged = (
            TableItem.next_action_at.does_not_exist()
            if read_at is None
            else TableItem.next_action_at == format_instant(read_at)
        )
        return update_if(item, actions, TableItem.pk.exists() & unchanged)

    @translated
    def reschedule_customer(self, customer_id: str, at: datetime | None) -> None:
        item = CustomerItem(keys.customer_pk(customer_id), PROFILE_SK)
        update_if(item, next_action(customer_id, at), TableItem.pk.exists())

    # --- assignment and promises (store/assignment.py, store/promise_book.py) ---------------------

    def assigned(self, customer_id: str) -> str | None:
        return self.assignments.assigned(customer_id)

    def assign_in_turn(self, customer_id: str, segment: str, collectors: Sequence[str], at: datetime) -> str:
        return self.assignments.assign_in_turn(customer_id, segment, collectors, at)

    def make_promise(
        self, promise: Promise, next_action_at: datetime, activity: Activity | None = None
    ) -> bool:
        return self.promise_book.make_promise(promise, next_action_at, activity)

    def promise_broken(self, customer_id: str, promise_id: str, at: datetime) -> None:
        self.promise_book.promise_broken(customer_id, promise_id, at)

    def promise_status(self, customer_id: str, promise_id: str) -> str | None:
        return self.promise_book.promise_status(customer_id, promise_id)

    def clear_promise(self, customer_id: str, invoice_number: str, promise_id: str) -> None:
        """The promise is broken and reminded: the invoice goes back to the regular steps."""
        self.promise_book.clear_promise(customer_id, invoice_number, promise_id)

    # --- the customer's addresses ----------------------------------------------------------------

    @translated
    def suppress_address(self, customer_id: str, address: str) -> None:
        """Never mail ``address`` again for this customer (SES said it bounced or complained)."""
        for _ in range(3):
            try:
                item = CustomerItem.get(keys.customer_pk(customer_id), PROFILE_SK, consistent_read=True)
            except CustomerItem.DoesNotExist:
                return
            customer = customer_from_item(item)
            if address in customer.suppressed_emails:
                return
            changed = replace(customer, suppressed_emails=(*customer.suppressed_emails, address))
            # The fingerprint moves with the addresses, so snapshots that still use it are stale.
            if update_if(
                item,
                [
                    CustomerItem.suppressed_emails.add({address}),
                    CustomerItem.fingerprint.set(changed.fingerprint),
                ],
                _unchanged(item),
            ):
                return
            # Changed meanwhile (an ingest, another bounce): read again.
        raise StaleCustomer(customer_id)


def _unchanged(item: CustomerItem) -> Any:
    if item.fingerprint is None:
        return CustomerItem.fingerprint.does_not_exist()
    return CustomerItem.fingerprint == item.fingerprint
