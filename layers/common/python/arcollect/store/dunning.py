"""The dunning engine's storage: the sweep's read path and the writes that make a touch happen once.

Read path: the sparse, sharded ``by_next_action`` index holds only items with a pending look (open
invoices at their next step, customers at their anniversary); the sweep queries each shard up to "now"
and never scans the table.

Write path, per customer:

- a task touch is one transaction: the task, a ledger item per (invoice, step), and each invoice's
  state, conditional on the invoice still being open, undisputed and without that step;
- an email touch is reserved in one transaction before SES is called (an email item for the whole
  message, a ledger item per (invoice, step), the same conditions on each invoice and on the customer's
  hold flags: that is the fresh-state check, done by DynamoDB at the moment of reservation), and
  completed in another after SES accepted it (message id, invoice state, the customer's last email,
  the timeline entry). SES refusing the message for good keeps the touches reserved, marked refused
  with SES's reason, until it may be resent; SES refusing to send at all (the account) releases the
  reservation. A crash between SES accepting and the completion leaves the email item reserved
  without a message id: it is never sent again automatically; the next run reports it for review, and
  SES's own send event completes it when it arrives (the message carries the touch id as a tag).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from arcollect.clock import format_instant, parse_instant
from arcollect.credits import CreditLine, credit_lines
from arcollect.entities import Activity, Customer, Invoice, Payment, Promise, Task, TaskStatus
from arcollect.reminders import Reach
from arcollect.store import keys
from arcollect.store.assignment import Assignments
from arcollect.store.base import (
    TRANSACTION_ITEMS,
    Operation,
    cancellation_reasons,
    commit,
    connection,
    next_action,
    transact,
    translated,
    update_if,
)
from arcollect.store.customers import PROFILE_SK, customer_from_item, customer_from_snapshot, snapshot_of
from arcollect.store.errors import StoreError
from arcollect.store.invoices import invoice_from_item, invoice_key
from arcollect.store.keys import email_sk, ledger_sk
from arcollect.store.models import (
    CustomerItem,
    EmailTouchItem,
    InvoiceItem,
    PaymentItem,
    SendLedgerItem,
    TableItem,
    TaskItem,
)
from arcollect.store.payments import payment_from_item
from arcollect.store.promise_book import PromiseBook
from arcollect.store.tasks import task_item
from arcollect.store.timeline import record_once, timeline_writes
from arcollect.store.touches import (
    EmailTouchRecord,
    InvoiceState,
    Refusal,
    Reservation,
    email_item,
    email_record,
    ledger_item,
    reachable_condition,
    remindable_condition,
    sent,
    state_actions,
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


class StaleCustomer(StoreError):
    """The customer's profile changed under a plan made from an older copy: plan again from a read."""


class DunningStore:
    """Everything the dunning engine reads and writes: the sweep's read path, the touches, the next
    looks; who works a customer and its promises are the ``assignments`` and the ``promise_book`` it
    holds (the same stores the workspace and the portal use)."""

    def __init__(
        self, assignments: Assignments | None = None, promise_book: PromiseBook | None = None
    ) -> None:
        self.assignments = assignments or Assignments()
        self.promise_book = promise_book or PromiseBook()

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

    @translated
    def email_touch(self, customer_id: str, touch_id: str) -> EmailTouchRecord | None:
        try:
            item = EmailTouchItem.get(keys.customer_pk(customer_id), email_sk(touch_id), consistent_read=True)
        except EmailTouchItem.DoesNotExist:
            return None
        return email_record(item)

    @translated
    def ledger_touch(self, customer_id: str, invoice_number: str, step: str) -> str | None:
        """The touch id an existing (invoice, step) reservation went out with; None if there is none."""
        try:
            item = SendLedgerItem.get(
                keys.customer_pk(customer_id), ledger_sk(invoice_number, step), consistent_read=True
            )
        except SendLedgerItem.DoesNotExist:
            return None
        return item.touch_id or ""

    # --- email touches --------------------------------------------------------------------------

    @translated
    def reserve_email(
        self,
        customer_id: str,
        touch_id: str,
        step: str,
        touches: Sequence[tuple[str, str]],
        recipients: Sequence[str],
        promises: dict[str, str],
        at: datetime,
        expected: Customer | None = None,
        clock_at: datetime | None = None,
    ) -> Reservation:
        """Reserve the touches of one email in one transaction, conditional on fresh state. ``at`` is
        the sweep's tick, ``clock_at`` the wall-clock time (the lease runs on it).

        A touch whose invoice changed (paid, disputed, promised) or that exists already is refused and
        the rest is tried again, so one paid invoice does not hold back the others. ``promises`` maps an
        invoice to the promise its touch is about (a missed-promise reminder)."""
        remaining = list(touches)
        refused: list[Refusal] = []
        while remaining:
            if 2 * len(remaining) + 2 > TRANSACTION_ITEMS:
                raise ValueError(
                    f"one email can reserve at most {(TRANSACTION_ITEMS - 2) // 2} invoices at once"
                )
            try:
                with TransactWrite(connection=connection()) as transaction:
                    transaction.condition_check(
                        CustomerItem,
                        keys.customer_pk(customer_id),
                        PROFILE_SK,
                        condition=reachable_condition(expected),
                    )
                    transaction.save(
                        email_item(customer_id, touch_id, step, remaining, recipients, at, clock_at),
                        condition=TableItem.pk.does_not_exist(),
                    )
                    for number, touch_step in remaining:
                        pk, sk = invoice_key(customer_id, number)
                        transaction.condition_check(
                            InvoiceItem,
                            pk,
                            sk,
                            condition=remindable_condition(touch_step, promises.get(number)),
                        )
                        transaction.save(
                            ledger_item(customer_id, number, touch_step, at, touch_id),
                            condition=TableItem.pk.does_not_exist(),
                        )
            except TransactWriteError as error:
                reasons = cancellation_reasons(error)
                if not reasons:
                    raise
                # pynamodb sends a transaction's condition checks first, then its puts (whatever the
                # order of the calls above), and the reasons come in that order: the customer check,
                # one check per invoice, the email item, one ledger item per invoice.
                count = len(remaining)
                if reasons[0] == "ConditionalCheckFailed":
                    # On hold or do-not-contact since the engine read the profile, or the snapshot
                    # the plan came from is out of date: nothing goes out on this plan.
                    refused += [Refusal(n, s, "customer") for n, s in remaining]
                    return Reservation((), tuple(refused))
                if reasons[1 + count] == "ConditionalCheckFailed":
                    # The same email was reserved before: a repeated run. Its record tells the story.
                    refused += [Refusal(n, s, "touched") for n, s in remaining]
                    return Reservation((), tuple(refused))
                still: list[tuple[str, str]] = []
                for index, (number, touch_step) in enumerate(remaining):
                    check, ledger = reasons[1 + index], reasons[2 + count + index]
                    if ledger == "ConditionalCheckFailed":
                        refused.append(Refusal(number, touch_step, "touched"))
                    elif check == "ConditionalCheckFailed":
                        refused.append(Refusal(number, touch_step, "changed"))
                    else:
                        still.append((number, touch_step))
                if len(still) == len(remaining):
                    raise  # not a condition of ours (a conflict, throttling): let the caller retry
                remaining = still
                continue
            return Reservation(tuple(remaining), tuple(refused))
        return Reservation((), tuple(refused))

    @translated
    def complete_email(
        self,
        customer_id: str,
        touch_id: str,
        message_id: str,
        states: Sequence[InvoiceState],
        activity: Activity,
        at: datetime,
    ) -> None:
        """Record what SES accepted: the message id on the email and its ledger items, each invoice's
        state, the customer's last email, the timeline; in one transaction when it fits."""
        touches = [(state.invoice_number, step) for state in states for step in state.steps]
        operations = sent(customer_id, touch_id, message_id, touches, at)
        operations += [
            (
                "update",
                CustomerItem(keys.customer_pk(customer_id), PROFILE_SK),
                [CustomerItem.last_emailed_at.set(format_instant(at))],
            ),
            *timeline_writes(customer_id, activity),
            *(
                (
                    "update",
                    InvoiceItem(*invoice_key(customer_id, state.invoice_number)),
                    state_actions(customer_id, state, at),
                )
                for state in states
            ),
        ]
        transact(operations)

    @translated
    def release_email(self, customer_id: str, touch_id: str, touches: Sequence[tuple[str, str]]) -> None:
        """Undo a reservation whose send definitely failed, so a later run may try again."""
        operations: list[Operation] = [
            ("delete", EmailTouchItem(keys.customer_pk(customer_id), email_sk(touch_id)), None),
            *(
                ("delete", SendLedgerItem(keys.customer_pk(customer_id), ledger_sk(number, step)), None)
                for number, step in touches
            ),
        ]
        transact(operations, condition=SendLedgerItem.message_id.does_not_exist())

    @translated
    def refuse_email(
        self, customer_id: str, touch_id: str, reason: str, at: datetime, task: Task, activity: Activity
    ) -> bool:
        """Record SES's permanent refusal of a reserved email, in one transaction: the email keeps its
        touches reserved (no run sends it again) with the reason; its fix-and-resend ``task`` is
        written open (made, or opened again when the email was refused before); the timeline says so.
        False when the refusal was recorded already (the email is no longer merely reserved)."""
        pk = keys.customer_pk(customer_id)
        operations: list[Operation] = [
            (
                "update_if",
                EmailTouchItem(pk, email_sk(touch_id)),
                (
                    [
                        EmailTouchItem.status.set("refused"),
                        EmailTouchItem.refusal.set(reason),
                        EmailTouchItem.refused_at.set(at),
                    ],
                    (EmailTouchItem.status == "reserved") & EmailTouchItem.message_id.does_not_exist(),
                ),
            ),
            ("save", task_item(task), None),
            *timeline_writes(customer_id, activity),
        ]
        return commit(operations)

    @translated
    def resend_requested(self, customer_id: str, task_id: str, since: datetime) -> bool:
        """Whether someone closed the fix-and-resend task ``task_id`` at or after ``since``."""
        try:
            item = TaskItem.get(keys.customer_pk(customer_id), keys.task_sk(task_id), consistent_read=True)
        except TaskItem.DoesNotExist:
            return False
        return item.status == TaskStatus.DONE and item.closed_at is not None and item.closed_at >= since

    @translated
    def mark_in_doubt(self, customer_id: str, touch_id: str) -> bool:
        """Flag a reservation that outlived its lease without a message id; True the first time."""
        item = EmailTouchItem(keys.customer_pk(customer_id), email_sk(touch_id))
        return update_if(
            item,
            [EmailTouchItem.status.set("in_doubt")],
            (EmailTouchItem.status == "reserved") & EmailTouchItem.message_id.does_not_exist(),
        )

    @translated
    def settle_touches(self, customer_id: str, states: Sequence[InvoiceState], at: datetime) -> None:
        """Mark touches done on their invoices without sending anything: an email SES accepted whose
        completion was lost, or one in doubt (never to be resent; a person reviews it)."""
        operations: list[Operation] = [
            (
                "update",
                InvoiceItem(*invoice_key(customer_id, s.invoice_number)),
                state_actions(customer_id, s, at),
            )
            for s in states
        ]
        if operations:
            transact(operations)

    @translated
    def complete_from_ses(self, customer_id: str, touch_id: str, message_id: str, at: datetime) -> bool:
        """SES's send event for a reservation we never completed: record the message id now."""
        record = self.email_touch(customer_id, touch_id)
        if record is None or record.message_id:
            return False
        operations = sent(customer_id, touch_id, message_id, record.touches, at)
        transact(operations)
        return True

    # --- task touches ---------------------------------------------------------------------------

    @translated
    def create_task(
        self,
        task: Task,
        states: Sequence[InvoiceState],
        promises: dict[str, str],
        at: datetime,
        expected: Customer | None = None,
        reach: Reach = Reach.DUNNING,
    ) -> tuple[bool, tuple[str, ...]]:
        """Create a dunning task with its touches in one transaction; returns (created, refused invoices).

        An invoice that changed since it was read is left out and the rest tried again; a task that
        exists already (a repeated run) is not created twice."""
        remaining = list(states)
        refused: list[str] = []
        while True:
            profile = (CustomerItem, keys.customer_pk(task.customer_id), PROFILE_SK)
            operations: list[Operation] = [
                ("check", profile, reachable_condition(expected, reach)),
                ("save_new", task_item(task), None),
            ]
            for state in remaining:
                for step in state.steps:
                    operations.append(
                        (
                            "save_new",
                            ledger_item(task.customer_id, state.invoice_number, step, at, task.task_id),
                            None,
                        )
                    )
                operations.append(
                    (
                        "update_if",
                        InvoiceItem(*invoice_key(task.customer_id, state.invoice_number)),
                        (
                            state_actions(task.customer_id, state, at),
                            remindable_condition(state.steps[0], promises.get(state.invoice_number)),
                        ),
                    )
                )
            try:
                transact(operations, atomic=True)
            except TransactWriteError as error:
                reasons = cancellation_reasons(error)
                if not reasons:
                    raise
                if reasons[0] == "ConditionalCheckFailed":
                    if expected is not None:
                        raise StaleCustomer(task.customer_id) from error
                    # On hold (or do-not-contact, for a call) since the profile was read: not now.
                    return False, tuple(s.invoice_number for s in remaining)
                if reasons[1] == "ConditionalCheckFailed":
                    return False, tuple(refused)
                # pynamodb sends the condition checks first, then the puts, then the updates: the
                # customer check, the task, every state's ledger items (in order), then one invoice
                # update per state (in order).
                failed_invoices: set[str] = set()
                position = 2
                updates = 2 + sum(len(state.steps) for state in remaining)
                for index, state in enumerate(remaining):
                    span = len(state.steps)
                    ledgers = reasons[position : position + span]
                    if "ConditionalCheckFailed" in [*ledgers, reasons[updates + index]]:
                        failed_invoices.add(state.invoice_number)
                    position += span
                if not failed_invoices:
                    raise
                refused += sorted(failed_invoices)
                remaining = [s for s in remaining if s.invoice_number not in failed_invoices]
                if states and not remaining:
                    return False, tuple(refused)
                continue
            return True, tuple(refused)

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
