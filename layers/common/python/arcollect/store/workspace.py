"""Storage of the collector workspace, composed of the focused stores it shares with the sweep and the
portal: the worklist and tasks (``tasks``: store/worklist.py), promises (``promises``:
store/promise_book.py), disputes (``disputes``: store/dispute_book.py) and the daily claims
(``digests``: store/digests.py); and what only staff do here: the 360 read, cash application, holds and
pauses.

Every change that must not half-happen is one DynamoDB transaction, conditional on what was read: a
task worked twice (a double-clicked form, a retried request) or a dispute moved by two people at once
is refused the second time instead of applied twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from pynamodb.exceptions import UpdateError

from arcollect.entities import Activity, Customer, Dispute, Invoice, Payment, Promise, Task, TaskStatus
from arcollect.outlook import PayOutlook
from arcollect.send_times import SendRecord
from arcollect.store import keys
from arcollect.store.base import Operation, commit, translated
from arcollect.store.credit_control import CreditControl
from arcollect.store.customers import PROFILE_SK, customer_from_item
from arcollect.store.digests import DigestLedger
from arcollect.store.dispute_book import DisputeBook
from arcollect.store.disputes import dispute_from_item
from arcollect.store.invoices import invoice_as_read, invoice_from_item, payment_applied
from arcollect.store.models import (
    ActivityItem,
    CustomerItem,
    DisputeItem,
    EmailTouchItem,
    InvoiceItem,
    PaymentItem,
    PredictionItem,
    PromiseItem,
    SendSlotItem,
    TableItem,
    TaskItem,
)
from arcollect.store.payments import allocation_maps, payment_credit_owner, payment_from_item
from arcollect.store.predictions import PredictionBook, outlook_from_item
from arcollect.store.promise_book import PromiseBook
from arcollect.store.promises import promise_from_item
from arcollect.store.send_slots import record_from_item
from arcollect.store.tasks import task_from_item, worklist_actions
from arcollect.store.timeline import activity_from_item, record_once, timeline_writes
from arcollect.store.touches import EmailTouchRecord, email_record
from arcollect.store.worklist import TaskBook, reassign_operations

M = TypeVar("M", bound=TableItem)
V = TypeVar("V")


class ReportObjects(Protocol):
    def list_keys(self, bucket: str, prefix: str) -> list[tuple[str, int, datetime]]: ...

    def presigned_get(self, bucket: str, key: str, *, expires: timedelta, filename: str) -> str: ...


@dataclass
class AccountItems:
    """Everything in one customer's partition, by type (the 360 view's single query)."""

    customer: Customer | None = None
    invoices: list[Invoice] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    promises: list[Promise] = field(default_factory=list)
    disputes: list[Dispute] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    activities: list[Activity] = field(default_factory=list)
    emails: list[EmailTouchRecord] = field(default_factory=list)
    # Each open invoice's predicted pay date, as the newest report run left it.
    predictions: list[PayOutlook] = field(default_factory=list)
    # The customer's send-slot record, as the newest report run left it (store/send_slots.py).
    send_record: SendRecord | None = None


def _read(model: type[M], customer_id: str, sort_key: str, convert: Callable[[M], V]) -> V | None:
    """One item of a customer's partition, read consistently (what a change is about to be based on)."""
    try:
        return convert(model.get(keys.customer_pk(customer_id), sort_key, consistent_read=True))
    except model.DoesNotExist:
        return None


# What the 360 read makes of each type of item in a customer's partition.
_ACCOUNT: tuple[tuple[type[TableItem], str, Callable[[Any], Any]], ...] = (
    (InvoiceItem, "invoices", invoice_from_item),
    (PaymentItem, "payments", payment_from_item),
    (PromiseItem, "promises", promise_from_item),
    (DisputeItem, "disputes", dispute_from_item),
    (TaskItem, "tasks", task_from_item),
    (ActivityItem, "activities", activity_from_item),
    (EmailTouchItem, "emails", email_record),
    (PredictionItem, "predictions", outlook_from_item),
)


class WorkspaceStore:
    """The workspace's storage: the focused stores it holds, and the staff's own reads and writes."""

    def __init__(
        self,
        *,
        tasks: TaskBook | None = None,
        promises: PromiseBook | None = None,
        disputes: DisputeBook | None = None,
        digests: DigestLedger | None = None,
        predictions: PredictionBook | None = None,
    ) -> None:
        self.tasks = tasks or TaskBook()
        self.promises = promises or PromiseBook()
        self.disputes = disputes or DisputeBook()
        self.digests = digests or DigestLedger()
        # Read only: the reports run writes them (store/predictions.py).
        self.predictions = predictions or PredictionBook()
        # Credit holds and agency placements (store/credit_control.py).
        self.credit_control = CreditControl()

    # --- reads ----------------------------------------------------------------------------------

    @translated
    def account(self, customer_id: str) -> AccountItems:
        found = AccountItems()
        for item in TableItem.query(keys.customer_pk(customer_id)):
            if isinstance(item, CustomerItem):
                found.customer = customer_from_item(item)
                continue
            if isinstance(item, SendSlotItem):
                found.send_record = record_from_item(item)
                continue
            for model, name, convert in _ACCOUNT:
                if isinstance(item, model):
                    getattr(found, name).append(convert(item))
                    break
        return found

    @translated
    def customer(self, customer_id: str) -> Customer | None:
        try:
            return customer_from_item(CustomerItem.get(keys.customer_pk(customer_id), PROFILE_SK))
        except CustomerItem.DoesNotExist:
            return None

    @translated
    def customers(self, customer_ids: Iterable[str]) -> dict[str, Customer]:
        wanted = {(keys.customer_pk(c), PROFILE_SK) for c in customer_ids}
        if not wanted:
            return {}
        return {item.customer_id: customer_from_item(item) for item in CustomerItem.batch_get(wanted)}

    @translated
    def invoices_by_key(self, invoice_keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Invoice]:
        wanted = {(keys.customer_pk(c), keys.invoice_sk(n)) for c, n in invoice_keys}
        if not wanted:
            return {}
        return {
            (item.customer_id, item.invoice_number): invoice_from_item(item)
            for item in InvoiceItem.batch_get(wanted)
        }

    @translated
    def customer_invoices(self, customer_id: str) -> list[Invoice]:
        """Every document of one customer, read consistently (a credit agreed looks for the ERP
        credit note that books it)."""
        items = InvoiceItem.query(
            keys.customer_pk(customer_id), InvoiceItem.sk.startswith("INV#"), consistent_read=True
        )
        return [invoice_from_item(item) for item in items]

    @translated
    def invoice(self, customer_id: str, invoice_number: str) -> Invoice | None:
        return _read(InvoiceItem, customer_id, keys.invoice_sk(invoice_number), invoice_from_item)

    @translated
    def payment(self, customer_id: str, payment_id: str) -> Payment | None:
        return _read(PaymentItem, customer_id, keys.payment_sk(payment_id), payment_from_item)

    @translated
    def record(self, activity: Activity) -> bool:
        return record_once(keys.customer_pk(activity.customer_id), activity)

    # --- cash application -----------------------------------------------------------------------

    @translated
    def apply_cash(
        self,
        before: Payment,
        after: Payment,
        settles: Sequence[tuple[Invoice, Invoice]],
        task: tuple[Task, Task] | None,
        activity: Activity,
    ) -> bool:
        """A collector's apply-cash decision, in one transaction: the payment's applied and unapplied
        amounts and allocations, provided they are as read (a second submission of the same form is
        refused); each invoice's open amount, status and paid date, provided its open amount and
        decisions are as read; the apply-cash task (closed when nothing is left), provided it is still
        open; the timeline entry with its changes for the ERP. False: something changed meanwhile."""
        pk = keys.customer_pk(before.customer_id)
        payment_actions: list[Any] = [
            PaymentItem.applied_amount.set(after.applied_amount),
            PaymentItem.unapplied_amount.set(after.unapplied_amount),
            PaymentItem.credit_owner.set(pk)
            if payment_credit_owner(after)
            else PaymentItem.credit_owner.remove(),
            PaymentItem.allocations.set(allocation_maps(after.allocations) or []),
            PaymentItem.applied_to.set(after.applied_to)
            if after.applied_to
            else PaymentItem.applied_to.remove(),
        ]
        operations: list[Operation] = [
            (
                "update_if",
                PaymentItem(pk, keys.payment_sk(before.payment_id)),
                (
                    payment_actions,
                    (PaymentItem.unapplied_amount == before.unapplied_amount)
                    & (PaymentItem.applied_amount == before.applied_amount),
                ),
            )
        ]
        for invoice, invoice_after in settles:
            operations.append(
                (
                    "update_if",
                    InvoiceItem(pk, keys.invoice_sk(invoice.invoice_number)),
                    (payment_applied(invoice_after), invoice_as_read(invoice)),
                )
            )
        if task is not None:
            task_before, task_after = task
            operations.append(
                (
                    "update_if",
                    TaskItem(pk, keys.task_sk(task_before.task_id)),
                    (
                        [
                            TaskItem.status.set(task_after.status),
                            TaskItem.title.set(task_after.title),
                            TaskItem.detail.set(dict(task_after.detail)),
                            TaskItem.outcome.set(task_after.outcome)
                            if task_after.outcome
                            else TaskItem.outcome.remove(),
                            TaskItem.closed_at.set(task_after.closed_at)
                            if task_after.closed_at
                            else TaskItem.closed_at.remove(),
                            *worklist_actions(task_after),
                        ],
                        TaskItem.status == TaskStatus.OPEN,
                    ),
                )
            )
        operations += timeline_writes(before.customer_id, activity)
        return commit(operations)

    # --- holds and pauses -----------------------------------------------------------------------

    @translated
    def set_customer_hold(self, before: Customer, after: Customer, activity: Activity) -> bool:
        """Write a collector's hold or pause (and the fingerprint it moves: the dunning sweep's copies
        of the profile go stale and it reads the profile again), provided the profile is unchanged."""
        pk = keys.customer_pk(before.customer_id)
        actions: list[Any] = [
            CustomerItem.collector_hold.set(True)
            if after.collector_hold
            else CustomerItem.collector_hold.remove(),
            CustomerItem.paused_until.set(after.paused_until.isoformat())
            if after.paused_until
            else CustomerItem.paused_until.remove(),
            CustomerItem.hold_reason.set(after.hold_reason)
            if after.hold_reason
            else CustomerItem.hold_reason.remove(),
            CustomerItem.fingerprint.set(after.fingerprint),
        ]
        return commit(
            [
                (
                    "update_if",
                    CustomerItem(pk, PROFILE_SK),
                    (actions, CustomerItem.fingerprint == before.fingerprint),
                ),
                *timeline_writes(before.customer_id, activity),
            ]
        )

    # --- reassignment ---------------------------------------------------------------------------

    @translated
    def reassign_account(
        self, before: Customer, after: Customer, moves: Sequence[tuple[Task, str]], activity: Activity
    ) -> bool:
        """A manager's reassignment of a customer, in one transaction: the owner the team chose and
        the cover with its end day (and the fingerprint they move: the sweep's copies of the profile go
        stale and it reads the profile again), provided the profile is unchanged; the customer's open
        tasks moved (``store/worklist.py``); the timeline entry. False: something changed meanwhile."""
        pk = keys.customer_pk(before.customer_id)
        actions: list[Any] = [
            CustomerItem.assigned_owner.set(after.assigned_owner)
            if after.assigned_owner
            else CustomerItem.assigned_owner.remove(),
            CustomerItem.cover.set(after.cover) if after.cover else CustomerItem.cover.remove(),
            CustomerItem.cover_until.set(after.cover_until.isoformat())
            if after.cover_until
            else CustomerItem.cover_until.remove(),
            CustomerItem.fingerprint.set(after.fingerprint),
        ]
        return commit(
            [
                (
                    "update_if",
                    CustomerItem(pk, PROFILE_SK),
                    (actions, CustomerItem.fingerprint == before.fingerprint),
                ),
                *reassign_operations(moves),
                *timeline_writes(before.customer_id, activity),
            ]
        )

    @translated
    def flag_contact(self, customer: Customer, line: str) -> None:
        """Add a data-quality line to the profile (a wrong contact reported by a collector)."""
        if line in customer.data_quality:
            return
        item = CustomerItem(keys.customer_pk(customer.customer_id), PROFILE_SK)
        try:
            appended: Any = CustomerItem.data_quality.append([line])
            item.update(actions=[CustomerItem.data_quality.set(appended)])
        except UpdateError:
            item.update(actions=[CustomerItem.data_quality.set([line])])  # type: ignore[list-item]
