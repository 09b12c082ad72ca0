"""Storage of the collector workspace: the worklist index, working a task, settling promises, the
dispute workflow, holds and pauses, round-robin assignment, the 360 read, the digest ledger and the
report listing.

Every change that must not half-happen is one DynamoDB transaction, conditional on what was read: a
task worked twice (a double-clicked form, a retried request) or a dispute moved by two people at once
is refused the second time instead of applied twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol, TypeVar
from uuid import uuid4

from pynamodb.exceptions import DeleteError, UpdateError

from arcollect.changes import Change
from arcollect.clock import format_instant
from arcollect.entities import Activity, Customer, Dispute, Invoice, Payment, Promise, Task, TaskStatus
from arcollect.store import keys
from arcollect.store.base import put_once, translated, update_if
from arcollect.store.dunning import (
    DunningStore,
    EmailTouchItem,
    EmailTouchRecord,
    _email_record,
    commit,
)
from arcollect.store.models import (
    ActivityItem,
    CustomerItem,
    DigestItem,
    DisputeItem,
    InvoiceItem,
    PaymentItem,
    PromiseItem,
    TableItem,
    TaskItem,
)
from arcollect.store.portal import PortalStore, dispute_from_item, promise_from_item
from arcollect.store.repositories import (
    PROFILE_SK,
    _change_item,
    _customer_from_item,
    _invoice_from_item,
    _payment_from_item,
    _record_once,
    _task_from_item,
    _task_item,
    _timeline_items,
    allocation_maps,
    invoice_as_read,
    payment_credit_owner,
)

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


def _activity_from_item(item: ActivityItem) -> Activity:
    return Activity(
        customer_id=item.customer_id,
        at=item.at,
        activity_id=item.activity_id,
        kind=item.kind,
        summary=item.summary,
        detail={str(k): str(v) for k, v in item.detail.as_dict().items()} if item.detail else {},
    )


def _read(model: type[M], customer_id: str, sort_key: str, convert: Callable[[M], V]) -> V | None:
    """One item of a customer's partition, read consistently (what a change is about to be based on)."""
    try:
        return convert(model.get(keys.customer_pk(customer_id), sort_key, consistent_read=True))
    except model.DoesNotExist:
        return None


def _worklist_actions(task: Task) -> list[Any]:
    """Keep the task's worklist entry in step with its status, assignee, score and due day."""
    if task.status == TaskStatus.OPEN:
        return [
            TableItem.worklist_owner.set(task.assignee or keys.UNASSIGNED),
            TableItem.worklist_rank.set(keys.worklist_rank(task.score, task.due_on, task.task_id)),
        ]
    return [TableItem.worklist_owner.remove(), TableItem.worklist_rank.remove()]


class WorkspaceStore(PortalStore, DunningStore):
    """The portal's and dunning's stores (disputes, promises) plus what only staff do."""

    # --- reads ----------------------------------------------------------------------------------

    @translated
    def account(self, customer_id: str) -> AccountItems:
        found = AccountItems()
        for item in TableItem.query(keys.customer_pk(customer_id)):
            if isinstance(item, CustomerItem):
                found.customer = _customer_from_item(item)
            elif isinstance(item, InvoiceItem):
                found.invoices.append(_invoice_from_item(item))
            elif isinstance(item, PaymentItem):
                found.payments.append(_payment_from_item(item))
            elif isinstance(item, PromiseItem):
                found.promises.append(promise_from_item(item))
            elif isinstance(item, DisputeItem):
                found.disputes.append(dispute_from_item(item))
            elif isinstance(item, TaskItem):
                found.tasks.append(_task_from_item(item))
            elif isinstance(item, ActivityItem):
                found.activities.append(_activity_from_item(item))
            elif isinstance(item, EmailTouchItem):
                found.emails.append(_email_record(item))
        return found

    @translated
    def customer(self, customer_id: str) -> Customer | None:
        try:
            return _customer_from_item(CustomerItem.get(keys.customer_pk(customer_id), PROFILE_SK))
        except CustomerItem.DoesNotExist:
            return None

    @translated
    def invoices_by_key(self, invoice_keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Invoice]:
        wanted = {(keys.customer_pk(c), keys.invoice_sk(n)) for c, n in invoice_keys}
        if not wanted:
            return {}
        return {
            (item.customer_id, item.invoice_number): _invoice_from_item(item)
            for item in InvoiceItem.batch_get(wanted)
        }

    @translated
    def customer_invoices(self, customer_id: str) -> list[Invoice]:
        """Every document of one customer, read consistently (a credit agreed looks for the ERP
        credit note that books it)."""
        items = InvoiceItem.query(
            keys.customer_pk(customer_id), InvoiceItem.sk.startswith("INV#"), consistent_read=True
        )
        return [_invoice_from_item(item) for item in items]

    @translated
    def invoice(self, customer_id: str, invoice_number: str) -> Invoice | None:
        return _read(InvoiceItem, customer_id, keys.invoice_sk(invoice_number), _invoice_from_item)

    @translated
    def task(self, customer_id: str, task_id: str) -> Task | None:
        return _read(TaskItem, customer_id, keys.task_sk(task_id), _task_from_item)

    @translated
    def dispute(self, customer_id: str, dispute_id: str) -> Dispute | None:
        return _read(DisputeItem, customer_id, keys.dispute_sk(dispute_id), dispute_from_item)

    @translated
    def worklist(self, assignee: str) -> list[Task]:
        """``assignee``'s open tasks, in the index's order (highest score when created first)."""
        return [
            _task_from_item(item) for item in TableItem.worklist.query(assignee) if isinstance(item, TaskItem)
        ]

    @translated
    def all_open_tasks(self) -> list[Task]:
        """Every open, assigned task (a scan of the sparse worklist index: only open tasks are in it)."""
        return [_task_from_item(item) for item in TableItem.worklist.scan() if isinstance(item, TaskItem)]

    @translated
    def open_disputes(self) -> list[Dispute]:
        """Disputes not closed (a filtered scan: the dispute queue is a manager's page, not a hot path)."""
        return [dispute_from_item(item) for item in DisputeItem.scan(DisputeItem.status != "closed")]

    @translated
    def promise(self, customer_id: str, promise_id: str) -> Promise | None:
        return _read(PromiseItem, customer_id, keys.promise_sk(promise_id), promise_from_item)

    @translated
    def payments(self, customer_id: str) -> list[Payment]:
        items = PaymentItem.query(keys.customer_pk(customer_id), PaymentItem.sk.startswith("PAY#"))
        return [_payment_from_item(item) for item in items]

    @translated
    def payment(self, customer_id: str, payment_id: str) -> Payment | None:
        return _read(PaymentItem, customer_id, keys.payment_sk(payment_id), _payment_from_item)

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
        operations: list[tuple[str, Any, Any]] = [
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
                    (_payment_applied(invoice_after), invoice_as_read(invoice)),
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
                            *_worklist_actions(task_after),
                        ],
                        TaskItem.status == TaskStatus.OPEN,
                    ),
                )
            )
        operations += [("save", item, None) for item in _timeline_items(pk, activity)]
        return commit(operations)

    # --- tasks ----------------------------------------------------------------------------------

    @translated
    def add_task(self, task: Task, activity: Activity | None = None) -> bool:
        """Create a task once (False: a task with its id exists)."""
        if activity is None:
            return put_once(_task_item(task))
        return commit(
            [
                ("save_new", _task_item(task), None),
                *(("save", i, None) for i in _timeline_items(keys.customer_pk(task.customer_id), activity)),
            ]
        )

    @translated
    def work_task(self, before: Task, after: Task, activity: Activity) -> bool:
        """Record working a task: its new state and the timeline entry, provided nobody worked it since
        it was read (same status and attempts). False: someone did."""
        item = TaskItem(keys.customer_pk(before.customer_id), keys.task_sk(before.task_id))
        actions = [
            TaskItem.status.set(after.status),
            TaskItem.attempts.set(after.attempts),
            TaskItem.outcome.set(after.outcome) if after.outcome else TaskItem.outcome.remove(),
            TaskItem.due_on.set(after.due_on.isoformat()) if after.due_on else TaskItem.due_on.remove(),
            TaskItem.closed_at.set(after.closed_at) if after.closed_at else TaskItem.closed_at.remove(),
            TaskItem.assignee.set(after.assignee) if after.assignee else TaskItem.assignee.remove(),
            *_worklist_actions(after),
        ]
        condition = (TaskItem.status == before.status) & (
            TaskItem.attempts == before.attempts
            if before.attempts
            else (TaskItem.attempts.does_not_exist() | (TaskItem.attempts == 0))
        )
        return commit(
            [
                ("update_if", item, (actions, condition)),
                *(("save", i, None) for i in _timeline_items(keys.customer_pk(before.customer_id), activity)),
            ]
        )

    @translated
    def close_tasks_about(
        self, customer_id: str, kind: str, detail_key: str, value: str, at: datetime
    ) -> int:
        """Close the open tasks of ``kind`` whose detail names ``value`` (a dispute's task when it is
        resolved). Returns how many were closed."""
        closed = 0
        for item in TaskItem.query(keys.customer_pk(customer_id), TaskItem.sk.startswith("TASK#")):
            detail = item.detail.as_dict() if item.detail else {}
            if item.kind != kind or item.status != TaskStatus.OPEN or str(detail.get(detail_key)) != value:
                continue
            task = replace(_task_from_item(item), status=TaskStatus.DONE, closed_at=at)
            if update_if(
                item,
                [TaskItem.status.set(TaskStatus.DONE), TaskItem.closed_at.set(at), *_worklist_actions(task)],
                TaskItem.status == TaskStatus.OPEN,
            ):
                closed += 1
        return closed

    @translated
    def record(self, activity: Activity) -> bool:
        return _record_once(keys.customer_pk(activity.customer_id), activity)

    # --- promises -------------------------------------------------------------------------------

    @translated
    def settle_promise(
        self,
        promise: Promise,
        status: str,
        paid: Decimal,
        at: datetime,
        release: Sequence[str],
        changes: Sequence[Change] = (),
    ) -> bool:
        """Mark an open promise kept or broken with what was paid towards it, count it on the customer
        (the kept rate feeds risk) and, when kept, take the pause off ``release`` (its invoices), all at
        once, with the ERP's ``changes``. False: it was settled already (a repeated run)."""
        pk = keys.customer_pk(promise.customer_id)
        counter = CustomerItem.promises_kept if status == "kept" else CustomerItem.promises_broken
        settled = [
            PromiseItem.status.set(status),
            PromiseItem.paid_amount.set(paid),
            PromiseItem.settled_at.set(at),
            *([PromiseItem.broken_at.set(at)] if status == "broken" else []),
        ]
        released = [InvoiceItem.promised_until.remove(), InvoiceItem.promise_id.remove()]
        return commit(
            [
                (
                    "update_if",
                    PromiseItem(pk, keys.promise_sk(promise.promise_id)),
                    (settled, PromiseItem.status == "open"),
                ),
                ("update", CustomerItem(pk, PROFILE_SK), [counter.add(1)]),
                *(
                    (
                        "update_if",
                        InvoiceItem(pk, keys.invoice_sk(number)),
                        (released, InvoiceItem.promise_id == promise.promise_id),
                    )
                    for number in release
                ),
                *(("save", _change_item(change), None) for change in changes),
            ]
        )

    # --- disputes -------------------------------------------------------------------------------

    @translated
    def move_dispute(
        self,
        dispute: Dispute,
        after: Dispute,
        invoice: Invoice | None,
        invoice_after: Invoice | None,
        activity: Activity,
        credit_note: tuple[Invoice, Invoice] | None = None,
    ) -> bool:
        """Move a dispute along its workflow, with what the resolution does to its invoice (disputed no
        more, credit off the open amount, back in the sweep's index), in one transaction conditional on
        the dispute's status and the invoice's open amount as read."""
        pk = keys.customer_pk(dispute.customer_id)
        actions: list[Any] = [DisputeItem.status.set(after.status)]
        for name in ("resolution_note", "credit_amount", "resolved_at", "closed_at"):
            value = getattr(after, name)
            if value is not None:
                actions.append(getattr(DisputeItem, name).set(value))
        operations: list[tuple[str, Any, Any]] = [
            (
                "update_if",
                DisputeItem(pk, keys.dispute_sk(dispute.dispute_id)),
                (actions, DisputeItem.status == dispute.status),
            )
        ]
        if invoice is not None and invoice_after is not None:
            operations.append(
                (
                    "update_if",
                    InvoiceItem(pk, keys.invoice_sk(invoice.invoice_number)),
                    (_invoice_resolution(invoice_after), invoice_as_read(invoice)),
                )
            )
        if credit_note is not None:
            # The ERP's credit note for the credit agreed: matched and closed in the same transaction.
            note, note_after = credit_note
            operations.append(
                (
                    "update_if",
                    InvoiceItem(pk, keys.invoice_sk(note.invoice_number)),
                    (_credit_note_matched(note_after), invoice_as_read(note)),
                )
            )
        operations += [("save", item, None) for item in _timeline_items(pk, activity)]
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
                *(("save", item, None) for item in _timeline_items(pk, activity)),
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

    # --- the daily digest -----------------------------------------------------------------------

    @translated
    def claim_digest(self, day: date, assignee: str, at: datetime, tasks: int) -> str | None:
        """Claim the day's digest for ``assignee``: this claim's token, or None when it was claimed
        before (sent, in doubt, or being sent). At most once: only the token's holder releases it (SES
        certainly did not send it) or completes it; a crash after the claim loses that day's digest
        rather than sending it twice (the retry finds the claim unfinished: ``mark_digest_in_doubt``)."""
        claim = uuid4().hex
        item = DigestItem(
            keys.digest_pk(day.isoformat()), assignee, sent_at=at, tasks=tasks, status="claimed", claim=claim
        )
        return claim if put_once(item) else None

    @translated
    def release_digest(self, day: date, assignee: str, claim: str) -> bool:
        """Delete the claim ``claim`` (SES certainly did not send it), for the retry to claim and send it;
        False when it is not this claim or it was completed."""
        item = DigestItem(keys.digest_pk(day.isoformat()), assignee)
        try:
            item.delete(condition=(DigestItem.claim == claim) & DigestItem.message_id.does_not_exist())
        except DeleteError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    @translated
    def complete_digest(self, day: date, assignee: str, claim: str, message_id: str, at: datetime) -> bool:
        """Record that SES accepted the claim ``claim`` (its message id): sent. False when it is not
        this claim or it was completed before."""
        return update_if(
            DigestItem(keys.digest_pk(day.isoformat()), assignee),
            [
                DigestItem.status.set("sent"),
                DigestItem.message_id.set(message_id),
                DigestItem.completed_at.set(at),
            ],
            (DigestItem.claim == claim) & DigestItem.message_id.does_not_exist(),
        )

    @translated
    def mark_digest_in_doubt(self, day: date, assignee: str, claim: str | None = None) -> bool:
        """Flag a claim SES may have sent (``claim``: this run's, whose send's outcome is unknown; None:
        whichever claim is unfinished, a run that died after claiming). True the first time only; never
        sent again. A run still sending its claim later completes or releases it all the same."""
        condition = DigestItem.status == "claimed"
        if claim is not None:
            condition &= DigestItem.claim == claim
        return update_if(
            DigestItem(keys.digest_pk(day.isoformat()), assignee),
            [DigestItem.status.set("in_doubt")],
            condition,
        )


def _credit_note_matched(note: Invoice) -> list[Any]:
    return [
        InvoiceItem.open_amount.set(note.open_amount),
        InvoiceItem.status.set(note.status),
        InvoiceItem.credit_match.set(note.credit_match or ""),
        TableItem.next_action_shard.remove(),
        TableItem.next_action_at.remove(),
    ]


def _payment_applied(invoice: Invoice) -> list[Any]:
    """What applying cash changes of an invoice: its open amount and status, its paid date when it is
    settled, and its place in the sweep's index (it leaves it when settled, unless a promise is open)."""
    actions: list[Any] = [
        InvoiceItem.open_amount.set(invoice.open_amount),
        InvoiceItem.status.set(invoice.status),
    ]
    if invoice.paid_date is not None:
        actions.append(InvoiceItem.paid_date.set(invoice.paid_date.isoformat()))
    if invoice.next_action_at is None:
        actions += [TableItem.next_action_shard.remove(), TableItem.next_action_at.remove()]
    return actions


def _invoice_resolution(invoice: Invoice) -> list[Any]:
    actions: list[Any] = [
        # The dispute opened here is over: disputed is what the ERP's files say again.
        InvoiceItem.disputed.set(invoice.disputed),
        InvoiceItem.dispute_id.remove(),
        InvoiceItem.open_amount.set(invoice.open_amount),
        InvoiceItem.status.set(invoice.status),
        InvoiceItem.credit_agreed.set(invoice.credit_agreed)
        if invoice.credit_agreed
        else InvoiceItem.credit_agreed.remove(),
        InvoiceItem.credit_match.set(invoice.credit_match)
        if invoice.credit_match
        else InvoiceItem.credit_match.remove(),
    ]
    if invoice.is_open and invoice.next_action_at is not None:
        actions += [
            TableItem.next_action_shard.set(keys.next_action_shard(keys.customer_pk(invoice.customer_id))),
            TableItem.next_action_at.set(format_instant(invoice.next_action_at)),
        ]
    else:
        actions += [TableItem.next_action_shard.remove(), TableItem.next_action_at.remove()]
    return actions
