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

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pynamodb.attributes import ListAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action as UpdateAction
from pynamodb.transactions import TransactWrite

from arcollect.clock import format_instant, parse_instant
from arcollect.credits import CreditLine, credit_lines
from arcollect.entities import Activity, Customer, Invoice, Payment, Promise, Task, TaskStatus
from arcollect.store import keys
from arcollect.store.base import (
    cancellation_reasons,
    condition_failed,
    connection,
    put_once,
    translated,
    update_if,
)
from arcollect.store.errors import StoreError
from arcollect.store.keys import email_sk, ledger_sk, promise_sk
from arcollect.store.models import (
    AssigneeItem,
    CounterItem,
    CustomerItem,
    InvoiceItem,
    PaymentItem,
    PromiseItem,
    TableItem,
    TaskItem,
)
from arcollect.store.repositories import (
    PROFILE_SK,
    Activities,
    _customer_from_item,
    _invoice_from_item,
    _payment_from_item,
    _task_item,
    _timeline_items,
    retention_expiry,
)

# DynamoDB's limit of items per transaction.
TRANSACTION_ITEMS = 100


class SendLedgerItem(TableItem, discriminator="send"):
    """One (invoice, step) touch: it exists once, ever."""

    customer_id = UnicodeAttribute()
    invoice_number = UnicodeAttribute()
    step = UnicodeAttribute()
    reserved_at = UTCDateTimeAttribute()
    # The email (touch id) or task the touch went out with.
    touch_id = UnicodeAttribute(null=True)
    message_id = UnicodeAttribute(null=True)
    sent_at = UTCDateTimeAttribute(null=True)


class EmailTouchItem(TableItem, discriminator="email_touch"):
    """One reminder email: reserved before SES is called, sent once SES accepted it."""

    customer_id = UnicodeAttribute()
    touch_id = UnicodeAttribute()
    step = UnicodeAttribute()
    touches = ListAttribute(of=UnicodeAttribute)  # ["<invoice>", "<step>"] as JSON (_touch_text)
    recipients = ListAttribute(of=UnicodeAttribute)
    reserved_at = UTCDateTimeAttribute()
    # When the reservation was really made (the wall clock; ``reserved_at`` is the sweep's tick): its
    # lease runs on this, so a late or slow tick never finds another run's send in doubt.
    reserved_by_clock = UTCDateTimeAttribute(null=True)
    message_id = UnicodeAttribute(null=True)
    sent_at = UTCDateTimeAttribute(null=True)
    status = UnicodeAttribute(default="reserved")  # reserved | sent | in_doubt | refused
    # SES refused it for good: its reason, and when. The touches stay reserved until it may be resent.
    refusal = UnicodeAttribute(null=True)
    refused_at = UTCDateTimeAttribute(null=True)


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


@dataclass(frozen=True)
class Refusal:
    """Why a touch could not be reserved: the invoice changed, or the touch exists already."""

    invoice_number: str
    step: str
    reason: str  # "changed" | "touched" | "customer"


@dataclass(frozen=True)
class Reservation:
    reserved: tuple[tuple[str, str], ...]
    refused: tuple[Refusal, ...]


@dataclass(frozen=True)
class EmailTouchRecord:
    customer_id: str
    touch_id: str
    step: str
    touches: tuple[tuple[str, str], ...]
    reserved_at: datetime
    message_id: str | None
    status: str
    recipients: tuple[str, ...] = ()
    # The wall-clock time it was reserved (None: reserved before this was kept; the tick time stands in).
    reserved_by_clock: datetime | None = None
    refusal: str | None = None
    refused_at: datetime | None = None


@dataclass(frozen=True)
class InvoiceState:
    """What a touch does to its invoice: the step joins steps_done, the next look moves."""

    invoice_number: str
    steps: tuple[str, ...]
    next_action_at: datetime | None
    clear_promise: bool = False
    # The profile the decision was made with, kept beside the invoice for the next sweep.
    customer_snapshot: str | None = None


def _touch_text(invoice_number: str, step: str) -> str:
    # JSON, because invoice numbers and step ids may both hold any separator we could pick.
    return json.dumps([invoice_number, step])


def _split(text: str) -> tuple[str, str]:
    number, step = json.loads(text)
    return str(number), str(step)


def _invoice_key(customer_id: str, invoice_number: str) -> tuple[str, str]:
    return keys.customer_pk(customer_id), keys.invoice_sk(invoice_number)


def _remindable(step: str, promise_id: str | None) -> Any:
    """The fresh-state check of a touch: open, something owed, undisputed, step not taken, and the
    promise situation unchanged since the engine read it."""
    condition = (
        (InvoiceItem.status == "open")
        & (InvoiceItem.open_amount > 0)
        & (InvoiceItem.disputed == False)  # noqa: E712 (a pynamodb condition, not a comparison)
        & ~InvoiceItem.steps_done.contains(step)
    )
    if promise_id:
        return condition & (InvoiceItem.promise_id == promise_id)
    return condition & InvoiceItem.promise_id.does_not_exist()


class Reach(StrEnum):
    """What a write requires of the customer: ``contact`` (an email or a call: no hold, not
    do-not-contact), ``dunning`` (an internal dunning task: no hold), ``any`` (a review of our own)."""

    CONTACT = "contact"
    DUNNING = "dunning"
    ANY = "any"


def _customer_current(expected: Customer | None, reach: Reach = Reach.CONTACT) -> Any:
    """The customer may be dunned as ``reach`` says; and when the plan was made from a snapshot
    (``expected``), the profile is still the one it copied and no email went out since."""
    condition = CustomerItem.pk.exists()
    if reach is not Reach.ANY:
        condition &= CustomerItem.dunning_hold.does_not_exist() | (CustomerItem.dunning_hold == False)  # noqa: E712
        condition &= CustomerItem.collector_hold.does_not_exist() | (CustomerItem.collector_hold == False)  # noqa: E712
    if reach is Reach.CONTACT:
        condition &= CustomerItem.do_not_contact.does_not_exist() | (CustomerItem.do_not_contact == False)  # noqa: E712
    if expected is None:
        return condition
    condition &= CustomerItem.fingerprint == expected.fingerprint
    if expected.last_emailed_at is None:
        return condition & CustomerItem.last_emailed_at.does_not_exist()
    return condition & (CustomerItem.last_emailed_at == format_instant(expected.last_emailed_at))


def snapshot_of(customer: Customer) -> str:
    """The profile copied beside an invoice: what the engine decides by, and its fingerprint."""
    return json.dumps(
        {
            "fingerprint": customer.fingerprint,
            "customer": {
                "customer_id": customer.customer_id,
                "name": customer.name,
                "email": customer.email,
                "other_emails": list(customer.other_emails),
                "suppressed_emails": list(customer.suppressed_emails),
                "country": customer.country,
                "time_zone": customer.time_zone,
                "language": customer.language,
                "industry_code": customer.industry_code,
                "annual_sales": None if customer.annual_sales is None else str(customer.annual_sales),
                "customer_since": _day(customer.customer_since),
                "owner": customer.owner,
                "segment": customer.segment,
                "risk": customer.risk,
                "dunning_hold": customer.dunning_hold,
                "do_not_contact": customer.do_not_contact,
                "placeholder": customer.placeholder,
                "collector_hold": customer.collector_hold,
                "paused_until": _day(customer.paused_until),
                "promises_kept": customer.promises_kept,
                "promises_broken": customer.promises_broken,
                "last_emailed_at": format_instant(customer.last_emailed_at)
                if customer.last_emailed_at
                else None,
            },
        },
        separators=(",", ":"),
    )


def customer_from_snapshot(text: str) -> Customer | None:
    """The copied profile, or None when it cannot be trusted (then the profile is read)."""
    try:
        data = json.loads(text)
        fields = dict(data["customer"])
        fields["other_emails"] = tuple(fields["other_emails"])
        fields["suppressed_emails"] = tuple(fields["suppressed_emails"])
        if fields["annual_sales"] is not None:
            fields["annual_sales"] = Decimal(fields["annual_sales"])
        for day_field in ("customer_since", "paused_until"):
            if fields.get(day_field):
                fields[day_field] = date.fromisoformat(fields[day_field])
        if fields["last_emailed_at"]:
            fields["last_emailed_at"] = parse_instant(fields["last_emailed_at"])
        customer = Customer(**fields)
    except (KeyError, TypeError, ValueError):
        return None
    return customer if customer.fingerprint == data.get("fingerprint") else None


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _state_actions(customer_id: str, state: InvoiceState, at: datetime) -> list[UpdateAction]:
    actions: list[UpdateAction] = [
        InvoiceItem.steps_done.add(set(state.steps)),
        InvoiceItem.last_touch_at.set(format_instant(at)),
        *_next_action(customer_id, state.next_action_at),
    ]
    if state.customer_snapshot is not None:
        actions.append(InvoiceItem.customer_snapshot.set(state.customer_snapshot))
    if state.clear_promise:
        actions += [InvoiceItem.promised_until.remove(), InvoiceItem.promise_id.remove()]
    return actions


def _next_action(customer_id: str, at: datetime | None) -> list[UpdateAction]:
    """Place an item of the customer's partition in the sparse index at ``at``, or take it out."""
    if at is None:
        return [TableItem.next_action_shard.remove(), TableItem.next_action_at.remove()]
    return [
        TableItem.next_action_shard.set(keys.next_action_shard(keys.customer_pk(customer_id))),
        TableItem.next_action_at.set(format_instant(at)),
    ]


class DunningStore:
    """Everything the dunning engine reads and writes."""

    @translated
    def open_credits(self, customer_id: str) -> tuple[CreditLine, ...]:
        """The customer's open credit notes and unapplied cash, from the credits index (its credit
        notes and its payments with unapplied cash: none of its other items). Read when a reminder or
        a call is about to ask for money, so that it asks for the net amount."""
        notes: list[Invoice] = []
        payments: list[Payment] = []
        for item in TableItem.by_credit.query(keys.customer_pk(customer_id)):
            if isinstance(item, InvoiceItem):
                notes.append(_invoice_from_item(item))
            elif isinstance(item, PaymentItem):
                payments.append(_payment_from_item(item))
        return credit_lines(notes, payments)

    @translated
    def record_decisions(self, activity: Activity) -> bool:
        """The sweep's decisions about one customer at one tick, in its timeline: once (the same tick
        run again records nothing twice)."""
        return Activities().record(activity)

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
                    invoices.setdefault(item.customer_id, []).append(_invoice_from_item(item))
                    seen.setdefault(item.customer_id, set()).add(item.customer_snapshot)
                elif isinstance(item, CustomerItem):
                    customers.add(item.customer_id)
                    profiles[item.customer_id] = _customer_from_item(item)
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
        return {item.customer_id: _customer_from_item(item) for item in CustomerItem.batch_get(wanted)}

    @translated
    def invoices(self, customer_id: str, numbers: Iterable[str]) -> list[Invoice]:
        """Invoices of one customer by number (consistent reads: for fan-out workers and previews)."""
        wanted = {_invoice_key(customer_id, n) for n in numbers}
        return [_invoice_from_item(item) for item in InvoiceItem.batch_get(wanted, consistent_read=True)]

    @translated
    def email_touch(self, customer_id: str, touch_id: str) -> EmailTouchRecord | None:
        try:
            item = EmailTouchItem.get(keys.customer_pk(customer_id), email_sk(touch_id), consistent_read=True)
        except EmailTouchItem.DoesNotExist:
            return None
        return _email_record(item)

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
                        condition=_customer_current(expected),
                    )
                    transaction.save(
                        EmailTouchItem(
                            keys.customer_pk(customer_id),
                            email_sk(touch_id),
                            customer_id=customer_id,
                            touch_id=touch_id,
                            step=step,
                            touches=[_touch_text(n, s) for n, s in remaining],
                            recipients=list(recipients),
                            reserved_at=at,
                            reserved_by_clock=clock_at or at,
                            expires_at=retention_expiry(at),
                        ),
                        condition=TableItem.pk.does_not_exist(),
                    )
                    for number, touch_step in remaining:
                        pk, sk = _invoice_key(customer_id, number)
                        transaction.condition_check(
                            InvoiceItem, pk, sk, condition=_remindable(touch_step, promises.get(number))
                        )
                        transaction.save(
                            _ledger_item(customer_id, number, touch_step, at, touch_id),
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
        operations = _sent(customer_id, touch_id, message_id, touches, at)
        operations += [
            (
                "update",
                CustomerItem(keys.customer_pk(customer_id), PROFILE_SK),
                [CustomerItem.last_emailed_at.set(format_instant(at))],
            ),
            *(("save", item, None) for item in _timeline_items(keys.customer_pk(customer_id), activity)),
            *(
                (
                    "update",
                    InvoiceItem(*_invoice_key(customer_id, state.invoice_number)),
                    _state_actions(customer_id, state, at),
                )
                for state in states
            ),
        ]
        _transact(operations)

    @translated
    def release_email(self, customer_id: str, touch_id: str, touches: Sequence[tuple[str, str]]) -> None:
        """Undo a reservation whose send definitely failed, so a later run may try again."""
        operations: list[tuple[str, Any, Any]] = [
            ("delete", EmailTouchItem(keys.customer_pk(customer_id), email_sk(touch_id)), None),
            *(
                ("delete", SendLedgerItem(keys.customer_pk(customer_id), ledger_sk(number, step)), None)
                for number, step in touches
            ),
        ]
        _transact(operations, condition=SendLedgerItem.message_id.does_not_exist())

    @translated
    def refuse_email(
        self, customer_id: str, touch_id: str, reason: str, at: datetime, task: Task, activity: Activity
    ) -> bool:
        """Record SES's permanent refusal of a reserved email, in one transaction: the email keeps its
        touches reserved (no run sends it again) with the reason; its fix-and-resend ``task`` is
        written open (made, or opened again when the email was refused before); the timeline says so.
        False when the refusal was recorded already (the email is no longer merely reserved)."""
        pk = keys.customer_pk(customer_id)
        operations: list[tuple[str, Any, Any]] = [
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
            ("save", _task_item(task), None),
            *(("save", item, None) for item in _timeline_items(pk, activity)),
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
        operations: list[tuple[str, Any, Any]] = [
            (
                "update",
                InvoiceItem(*_invoice_key(customer_id, s.invoice_number)),
                _state_actions(customer_id, s, at),
            )
            for s in states
        ]
        if operations:
            _transact(operations)

    @translated
    def clear_promise(self, customer_id: str, invoice_number: str, promise_id: str) -> None:
        """The promise is broken and reminded: the invoice goes back to the regular steps."""
        item = InvoiceItem(*_invoice_key(customer_id, invoice_number))
        update_if(
            item,
            [InvoiceItem.promised_until.remove(), InvoiceItem.promise_id.remove()],
            InvoiceItem.promise_id == promise_id,
        )

    @translated
    def complete_from_ses(self, customer_id: str, touch_id: str, message_id: str, at: datetime) -> bool:
        """SES's send event for a reservation we never completed: record the message id now."""
        record = self.email_touch(customer_id, touch_id)
        if record is None or record.message_id:
            return False
        operations = _sent(customer_id, touch_id, message_id, record.touches, at)
        _transact(operations)
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
            operations: list[tuple[str, Any, Any]] = [
                ("check", profile, _customer_current(expected, reach)),
                ("save_new", _task_item(task), None),
            ]
            for state in remaining:
                for step in state.steps:
                    operations.append(
                        (
                            "save_new",
                            _ledger_item(task.customer_id, state.invoice_number, step, at, task.task_id),
                            None,
                        )
                    )
                operations.append(
                    (
                        "update_if",
                        InvoiceItem(*_invoice_key(task.customer_id, state.invoice_number)),
                        (
                            _state_actions(task.customer_id, state, at),
                            _remindable(state.steps[0], promises.get(state.invoice_number)),
                        ),
                    )
                )
            try:
                _transact(operations, atomic=True)
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
        item = InvoiceItem(*_invoice_key(customer_id, invoice_number))
        actions = _next_action(customer_id, at)
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
        update_if(item, _next_action(customer_id, at), TableItem.pk.exists())

    # --- assignment -----------------------------------------------------------------------------

    @translated
    def assigned(self, customer_id: str) -> str | None:
        try:
            item = AssigneeItem.get(keys.customer_pk(customer_id), keys.assignment_sk(), consistent_read=True)
        except AssigneeItem.DoesNotExist:
            return None
        return str(item.assignee)

    @translated
    def assign_in_turn(self, customer_id: str, segment: str, collectors: Sequence[str], at: datetime) -> str:
        """The customer's collector: the one it was given before, else the segment's next in turn
        (kept for the customer, so all of its tasks go to one person)."""
        if (known := self.assigned(customer_id)) is not None:
            return known
        counter = CounterItem(keys.round_robin_pk(segment), "COUNTER")
        counter.update(actions=[CounterItem.value.add(1)])
        pick = collectors[(int(counter.value) - 1) % len(collectors)]
        if put_once(
            AssigneeItem(keys.customer_pk(customer_id), keys.assignment_sk(), assignee=pick, assigned_at=at)
        ):
            return pick
        return self.assigned(customer_id) or pick  # another task of the customer got there first

    # --- promises and contacts ------------------------------------------------------------------

    @translated
    def make_promise(
        self, promise: Promise, next_action_at: datetime, activity: Activity | None = None
    ) -> bool:
        """Record a promise to pay and pause its invoices until the promised date plus grace, with its
        timeline entry (and the change feed's record it carries) when given."""
        operations: list[tuple[str, Any, Any]] = [
            (
                "save_new",
                PromiseItem(
                    keys.customer_pk(promise.customer_id),
                    promise_sk(promise.promise_id),
                    customer_id=promise.customer_id,
                    promise_id=promise.promise_id,
                    invoice_numbers=list(promise.invoice_numbers),
                    promised_until=promise.promised_until.isoformat(),
                    amount=promise.amount,
                    currency=promise.currency,
                    status=promise.status,
                    created_at=promise.created_at,
                    source=promise.source,
                ),
                None,
            ),
            *(
                (
                    "update",
                    InvoiceItem(*_invoice_key(promise.customer_id, number)),
                    [
                        InvoiceItem.promised_until.set(promise.promised_until.isoformat()),
                        InvoiceItem.promise_id.set(promise.promise_id),
                        *_next_action(promise.customer_id, next_action_at),
                    ],
                )
                for number in promise.invoice_numbers
            ),
        ]
        if activity is not None:
            pk = keys.customer_pk(promise.customer_id)
            operations += [("save", item, None) for item in _timeline_items(pk, activity)]
        try:
            _transact(operations, atomic=True)
        except TransactWriteError as error:
            if cancellation_reasons(error)[:1] == ["ConditionalCheckFailed"]:
                return False
            raise
        return True

    @translated
    def promise_broken(self, customer_id: str, promise_id: str, at: datetime) -> None:
        item = PromiseItem(keys.customer_pk(customer_id), promise_sk(promise_id))
        update_if(
            item,
            [PromiseItem.status.set("broken"), PromiseItem.broken_at.set(at)],
            PromiseItem.status == "open",
        )

    @translated
    def promise_status(self, customer_id: str, promise_id: str) -> str | None:
        try:
            return str(PromiseItem.get(keys.customer_pk(customer_id), promise_sk(promise_id)).status)
        except PromiseItem.DoesNotExist:
            return None

    @translated
    def suppress_address(self, customer_id: str, address: str) -> None:
        """Never mail ``address`` again for this customer (SES said it bounced or complained)."""
        for _ in range(3):
            try:
                item = CustomerItem.get(keys.customer_pk(customer_id), PROFILE_SK, consistent_read=True)
            except CustomerItem.DoesNotExist:
                return
            customer = _customer_from_item(item)
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


def _sent(
    customer_id: str, touch_id: str, message_id: str, touches: Sequence[tuple[str, str]], at: datetime
) -> list[tuple[str, Any, Any]]:
    """The writes that record an email SES accepted: its message id on the email and on each touch."""
    pk = keys.customer_pk(customer_id)
    return [
        (
            "update",
            EmailTouchItem(pk, email_sk(touch_id)),
            [
                EmailTouchItem.message_id.set(message_id),
                EmailTouchItem.sent_at.set(at),
                EmailTouchItem.status.set("sent"),
            ],
        ),
        *(
            (
                "update",
                SendLedgerItem(pk, ledger_sk(number, step)),
                [SendLedgerItem.message_id.set(message_id), SendLedgerItem.sent_at.set(at)],
            )
            for number, step in touches
        ),
    ]


def _unchanged(item: CustomerItem) -> Any:
    if item.fingerprint is None:
        return CustomerItem.fingerprint.does_not_exist()
    return CustomerItem.fingerprint == item.fingerprint


def _ledger_item(customer_id: str, number: str, step: str, at: datetime, touch_id: str) -> SendLedgerItem:
    return SendLedgerItem(
        keys.customer_pk(customer_id),
        ledger_sk(number, step),
        customer_id=customer_id,
        invoice_number=number,
        step=step,
        reserved_at=at,
        touch_id=touch_id,
        expires_at=retention_expiry(at),
    )


def _email_record(item: EmailTouchItem) -> EmailTouchRecord:
    return EmailTouchRecord(
        customer_id=item.customer_id,
        touch_id=item.touch_id,
        step=item.step,
        touches=tuple(_split(str(text)) for text in item.touches),
        reserved_at=item.reserved_at,
        message_id=item.message_id,
        status=item.status,
        recipients=tuple(str(address) for address in item.recipients or ()),
        reserved_by_clock=item.reserved_by_clock,
        refusal=item.refusal,
        refused_at=item.refused_at,
    )


def commit(operations: Sequence[tuple[str, Any, Any]]) -> bool:
    """Write ``operations`` (see ``_transact``) in one transaction; False when one of their conditions
    refused it (someone changed what it was based on), never half of it."""
    try:
        _transact(operations, atomic=True)
    except TransactWriteError as error:
        if condition_failed(error):
            return False
        raise
    return True


def _transact(
    operations: Sequence[tuple[str, Any, Any]], *, condition: Condition | None = None, atomic: bool = False
) -> None:
    """Run ``operations`` in transactions of at most 100 items (one, when ``atomic``)."""
    if atomic and len(operations) > TRANSACTION_ITEMS:
        raise ValueError(f"{len(operations)} writes do not fit one transaction ({TRANSACTION_ITEMS} at most)")
    for start in range(0, len(operations), TRANSACTION_ITEMS):
        with TransactWrite(connection=connection()) as transaction:
            for kind, item, extra in operations[start : start + TRANSACTION_ITEMS]:
                if kind == "update":
                    transaction.update(item, actions=extra)
                elif kind == "check":
                    model, hash_key, range_key = item
                    transaction.condition_check(model, hash_key, range_key, condition=extra)
                elif kind == "update_if":
                    actions, update_condition = extra
                    transaction.update(item, actions=actions, condition=update_condition)
                elif kind == "save":
                    transaction.save(item)
                elif kind == "save_new":
                    transaction.save(item, condition=TableItem.pk.does_not_exist())
                elif kind == "delete":
                    transaction.delete(item, condition=condition)
                else:  # pragma: no cover - a programming error
                    raise ValueError(kind)
