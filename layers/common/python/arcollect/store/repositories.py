"""Repositories over the single table: entities in, entities out, domain errors on failure."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pynamodb.exceptions import (
    TransactWriteError,
)
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from arcollect.changes import Change, json_line
from arcollect.clock import format_instant, parse_instant
from arcollect.entities import (
    Activity,
    Allocation,
    Customer,
    DocumentType,
    DropKind,
    FileStatus,
    IngestFile,
    Invoice,
    Payment,
    PaymentWrite,
    SweepRun,
    Task,
    TaskStatus,
)
from arcollect.settings import get_settings
from arcollect.store import keys
from arcollect.store.base import condition_failed, connection, put_once, transact_if, translated, update_if
from arcollect.store.contacts import index_contacts
from arcollect.store.keys import payment_sk, task_sk
from arcollect.store.models import (
    ActivityItem,
    AllocationMap,
    ChangeItem,
    ChunkProgressItem,
    CustomerItem,
    IngestFileItem,
    InvoiceItem,
    PaymentItem,
    SweepRunItem,
    TableItem,
    TaskItem,
)


class IngestFiles:
    """The register of dropped files, one item per object version."""

    @translated
    def record(self, file: IngestFile) -> bool:
        """Record ``file``; False if this object version was recorded before (a duplicate event)."""
        return put_once(
            IngestFileItem(
                keys.ingest_file_pk(file.key),
                keys.ingest_file_sk(file.version_id),
                kind=file.kind.value if file.kind else None,
                bucket=file.bucket,
                key=file.key,
                version_id=file.version_id,
                size=file.size,
                etag=file.etag,
                event_time=file.event_time,
                received_at=file.received_at,
                status=file.status.value,
                rows_read=file.rows_read,
                errors=list(file.errors),
                layout=file.layout,
                accepted=file.accepted,
                rejected=file.rejected,
                unchanged=file.unchanged,
                skipped=file.skipped,
                invoices_closed=file.invoices_closed,
                payments_applied=file.payments_applied,
                results_key=file.results_key,
                rejected_rows_key=file.rejected_rows_key,
            )
        )

    @translated
    def get(self, key: str, version_id: str) -> IngestFile | None:
        try:
            item = IngestFileItem.get(keys.ingest_file_pk(key), keys.ingest_file_sk(version_id))
        except IngestFileItem.DoesNotExist:
            return None
        return IngestFile(
            bucket=item.bucket,
            key=item.key,
            version_id=item.version_id,
            kind=DropKind(item.kind) if item.kind else None,
            size=int(item.size),
            etag=item.etag,
            event_time=item.event_time,
            received_at=item.received_at,
            status=FileStatus(item.status),
            rows_read=int(item.rows_read),
            errors=tuple(str(error) for error in item.errors or []),
            layout=item.layout,
            accepted=int(item.accepted or 0),
            rejected=int(item.rejected or 0),
            unchanged=int(item.unchanged or 0),
            skipped=int(item.skipped or 0),
            invoices_closed=int(item.invoices_closed or 0),
            payments_applied=int(item.payments_applied or 0),
            results_key=item.results_key,
            rejected_rows_key=item.rejected_rows_key,
        )

    @translated
    def chunk_done(self, key: str, version_id: str, index: int) -> int:
        """Add chunk ``index`` to the set of a fanned-out file's finished chunks (a repeat adds nothing)
        and return how many distinct chunks are done: the one that sees them all finishes the file."""
        item = ChunkProgressItem(keys.ingest_file_pk(key), f"CHUNKS#{version_id}")
        item.update(actions=[ChunkProgressItem.done.add({str(index)})])
        return len(item.done or ())


class SweepRuns:
    """Scheduled runs, keyed by function and scheduled time, so a duplicate tick is recognised."""

    @translated
    def start(self, run: SweepRun) -> bool:
        """Record the run; False if a run for this function and scheduled time exists already."""
        return put_once(
            SweepRunItem(
                keys.sweep_run_pk(run.function),
                keys.sweep_run_sk(run.scheduled_at),
                function=run.function,
                scheduled_at=run.scheduled_at,
                started_at=run.started_at,
                due_items=run.due_items,
            )
        )


def retention_expiry(at: datetime) -> int:
    """When a record of collections activity made at ``at`` expires (the table's TTL, epoch seconds):
    the stack's retention (``retentionYears``, 7 by default) after it."""
    return int((at + timedelta(days=get_settings().retention_days)).timestamp())


def _activity_item(partition: str, activity: Activity) -> ActivityItem:
    return ActivityItem(
        partition,
        keys.activity_sk(activity.at, activity.activity_id),
        customer_id=activity.customer_id,
        at=activity.at,
        activity_id=activity.activity_id,
        kind=activity.kind,
        summary=activity.summary,
        detail=dict(activity.detail),
        expires_at=retention_expiry(activity.at),
    )


def _change_item(change: Change) -> ChangeItem:
    """A change of the ERP feed; saved unconditionally, because the same change always makes the same
    item (its id is derived from what happened), so a repeated write changes nothing."""
    return ChangeItem(
        keys.change_day_pk(change.day.isoformat()),
        keys.change_sk(change.change_id),
        record=json_line(change.record()),
    )


def _timeline_items(partition: str, activity: Activity) -> list[TableItem]:
    """The timeline entry and the change feed records it carries: written together, in one
    transaction, wherever an activity is (so no decision reaches the timeline without its changes).
    Every store writes activities through this or ``_record_once``, never ``_activity_item`` alone."""
    return [_activity_item(partition, activity), *(_change_item(c) for c in activity.changes)]


def _record_once(partition: str, activity: Activity) -> bool:
    """Append ``activity`` unless it is there already (False), with its changes in the same
    transaction; an activity without changes stays the single conditional put it always was."""
    if not activity.changes:
        return put_once(_activity_item(partition, activity))
    item, *changes = _timeline_items(partition, activity)
    try:
        with TransactWrite(connection=connection()) as transaction:
            transaction.save(item, condition=TableItem.pk.does_not_exist())
            for change in changes:
                transaction.save(change)
    except TransactWriteError as error:
        if condition_failed(error):
            return False
        raise
    return True


class Activities:
    """Customers' timelines, and the ingest timeline."""

    @translated
    def record(self, activity: Activity) -> bool:
        """Append to the timeline (with the changes the activity carries); False if this activity (same
        time and id) is there already."""
        return _record_once(keys.customer_pk(activity.customer_id), activity)

    @translated
    def record_ingest(self, activity: Activity) -> bool:
        """Append to the ingest timeline (one entry per file version) that operators read."""
        return _record_once(keys.INGEST_TIMELINE_PK, activity)

    @translated
    def ingest_timeline(self) -> list[Activity]:
        """The ingest timeline, newest first."""
        return self._activities(keys.INGEST_TIMELINE_PK)

    @translated
    def timeline(self, customer_id: str) -> list[Activity]:
        return self._activities(keys.customer_pk(customer_id))

    @staticmethod
    def _activities(partition: str) -> list[Activity]:
        items = ActivityItem.query(
            partition,
            ActivityItem.sk.startswith("ACT#"),
            scan_index_forward=False,
        )
        return [
            Activity(
                customer_id=item.customer_id,
                at=item.at,
                activity_id=item.activity_id,
                kind=item.kind,
                summary=item.summary,
                detail={str(k): str(v) for k, v in item.detail.as_dict().items()} if item.detail else {},
            )
            for item in items
        ]


# Sort keys of the customer partition that keys.py does not name yet.
PROFILE_SK = "PROFILE"


def _task_item(task: Task) -> TaskItem:
    """An open task is on its assignee's worklist (the sparse WORKLIST index); one nobody was given
    (master data of a customer the ERP never described) is on the ``unassigned`` list managers see."""
    listed = task.status == TaskStatus.OPEN
    return TaskItem(
        keys.customer_pk(task.customer_id),
        task_sk(task.task_id),
        customer_id=task.customer_id,
        task_id=task.task_id,
        kind=task.kind,
        title=task.title,
        created_at=task.created_at,
        status=task.status,
        detail=dict(task.detail),
        assignee=task.assignee,
        due_on=_day(task.due_on),
        score=task.score,
        attempts=task.attempts,
        outcome=task.outcome,
        closed_at=task.closed_at,
        worklist_owner=(task.assignee or keys.UNASSIGNED) if listed else None,
        worklist_rank=keys.worklist_rank(task.score, task.due_on, task.task_id) if listed else None,
    )


def _task_from_item(item: TaskItem) -> Task:
    return Task(
        customer_id=item.customer_id,
        task_id=item.task_id,
        kind=item.kind,
        title=item.title,
        created_at=item.created_at,
        status=item.status,
        detail={str(k): str(v) for k, v in item.detail.as_dict().items()} if item.detail else {},
        assignee=item.assignee or (item.worklist_owner if item.worklist_owner else None),
        due_on=_parse_day(item.due_on),
        score=int(item.score or 0),
        attempts=int(item.attempts or 0),
        outcome=item.outcome,
        closed_at=item.closed_at,
    )


class Tasks:
    """Collectors' tasks: dunning steps, disputes, master data, reviews (the worklist reads them)."""

    @translated
    def count_by_kind(self) -> dict[str, int]:
        """How many tasks of each kind the whole table holds (a scan: for summaries, not requests)."""
        counts: dict[str, int] = {}
        for item in TaskItem.scan():  # pynamodb filters a subclass by its discriminator
            counts[item.kind] = counts.get(item.kind, 0) + 1
        return dict(sorted(counts.items()))

    @translated
    def for_customer(self, customer_id: str) -> list[Task]:
        items = TaskItem.query(keys.customer_pk(customer_id), TaskItem.sk.startswith("TASK#"))
        return [_task_from_item(item) for item in items]


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _parse_day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _invoice_from_item(item: InvoiceItem) -> Invoice:
    return Invoice(
        customer_id=item.customer_id,
        invoice_number=item.invoice_number,
        currency=item.currency,
        amount=item.amount,
        open_amount=item.open_amount,
        invoice_date=date.fromisoformat(item.invoice_date),
        due_date=date.fromisoformat(item.due_date),
        status=item.status,
        document_type=item.document_type or "invoice",
        disputed=bool(item.disputed),
        pay_url=item.pay_url,
        paid_date=_parse_day(item.paid_date),
        po_number=item.po_number,
        description=item.description,
        company_code=item.company_code,
        next_action_at=parse_instant(item.next_action_at) if item.next_action_at else None,
        source_as_of=parse_instant(item.source_as_of) if item.source_as_of else None,
        closed_on=_parse_day(item.closed_on),
        steps_done=tuple(sorted(item.steps_done or ())),
        last_touch_at=parse_instant(item.last_touch_at) if item.last_touch_at else None,
        promised_until=_parse_day(item.promised_until),
        promise_id=item.promise_id,
        erp_open_amount=item.erp_open_amount,
        erp_disputed=bool(item.erp_disputed),
        dispute_id=item.dispute_id,
        credit_agreed=item.credit_agreed or Decimal(0),
        credit_match=item.credit_match,
    )


def _invoice_fields(invoice: Invoice) -> dict[str, Any]:
    """The attributes an invoice item holds, the sparse index pair included (None = absent)."""
    pk = keys.customer_pk(invoice.customer_id)
    return {
        # A credit note is in the customer's credits index for good (few documents are; its status
        # and open amount say whether it is still open).
        "credit_owner": pk if invoice.is_credit_note else None,
        "customer_id": invoice.customer_id,
        "invoice_number": invoice.invoice_number,
        "currency": invoice.currency,
        "amount": invoice.amount,
        "open_amount": invoice.open_amount,
        "invoice_date": invoice.invoice_date.isoformat(),
        "due_date": invoice.due_date.isoformat(),
        "status": invoice.status,
        "document_type": invoice.document_type,
        "disputed": invoice.disputed,
        "pay_url": invoice.pay_url,
        "paid_date": _day(invoice.paid_date),
        "po_number": invoice.po_number,
        "description": invoice.description,
        "company_code": invoice.company_code,
        "next_action_shard": keys.next_action_shard(pk) if invoice.next_action_at else None,
        "next_action_at": format_instant(invoice.next_action_at) if invoice.next_action_at else None,
        "source_as_of": format_instant(invoice.source_as_of) if invoice.source_as_of else None,
        "closed_on": _day(invoice.closed_on),
        "erp_open_amount": invoice.erp_open_amount,
        "erp_disputed": invoice.erp_disputed or None,
    }


def invoice_as_read(before: Invoice) -> Any:
    """The condition that an invoice item still holds ``before``'s open amount, disputed flag and
    decisions: what a write computed from ``before`` may rely on."""
    condition = (InvoiceItem.open_amount == before.open_amount) & (InvoiceItem.disputed == before.disputed)
    condition &= (
        InvoiceItem.dispute_id.does_not_exist()
        if before.dispute_id is None
        else InvoiceItem.dispute_id == before.dispute_id
    )
    condition &= (
        InvoiceItem.credit_agreed.does_not_exist()
        if not before.credit_agreed
        else InvoiceItem.credit_agreed == before.credit_agreed
    )
    condition &= (
        InvoiceItem.credit_match.does_not_exist()
        if before.credit_match is None
        else InvoiceItem.credit_match == before.credit_match
    )
    return condition


def _invoice_decisions(invoice: Invoice) -> dict[str, Any]:
    """The decisions made in arcollect: written whole by ``save`` and by the portal and the staff
    console, carried over by ingest only under a condition that they are as it read them."""
    return {
        "dispute_id": invoice.dispute_id,
        "credit_agreed": invoice.credit_agreed or None,
        "credit_match": invoice.credit_match,
    }


def _invoice_dunning_fields(invoice: Invoice) -> dict[str, Any]:
    """The dunning state: written whole by ``save``, never by ingest's updates (the engine owns it)."""
    return {
        "steps_done": set(invoice.steps_done) or None,
        "last_touch_at": format_instant(invoice.last_touch_at) if invoice.last_touch_at else None,
        "promised_until": _day(invoice.promised_until),
        "promise_id": invoice.promise_id,
    }


def _invoice_item(invoice: Invoice) -> InvoiceItem:
    return InvoiceItem(
        keys.customer_pk(invoice.customer_id),
        keys.invoice_sk(invoice.invoice_number),
        **_invoice_dunning_fields(invoice),
        **_invoice_fields(invoice),
        **_invoice_decisions(invoice),
    )


def _customer_from_item(item: CustomerItem) -> Customer:
    return Customer(
        customer_id=item.customer_id,
        name=item.name,
        email=item.email or "",
        phone=item.phone,
        country=item.country,
        time_zone=item.time_zone,
        language=item.language,
        industry_code=item.industry_code,
        annual_sales=item.annual_sales,
        customer_since=_parse_day(item.customer_since),
        owner=item.owner,
        tax_id=item.tax_id,
        credit_limit=item.credit_limit,
        anniversary=item.anniversary,
        placeholder=bool(item.placeholder),
        data_quality=tuple(str(issue) for issue in item.data_quality or ()),
        other_emails=tuple(str(address) for address in item.other_emails or ()),
        segment=item.segment,
        risk=item.risk,
        dunning_hold=bool(item.dunning_hold),
        do_not_contact=bool(item.do_not_contact),
        suppressed_emails=tuple(sorted(item.suppressed_emails or ())),
        last_emailed_at=parse_instant(item.last_emailed_at) if item.last_emailed_at else None,
        next_action_at=parse_instant(item.next_action_at) if item.next_action_at else None,
        collector_hold=bool(item.collector_hold),
        paused_until=_parse_day(item.paused_until),
        hold_reason=item.hold_reason,
        promises_kept=int(item.promises_kept or 0),
        promises_broken=int(item.promises_broken or 0),
    )


def _customer_fields(customer: Customer) -> dict[str, Any]:
    return {
        "customer_id": customer.customer_id,
        "name": customer.name,
        "email": customer.email,
        "phone": customer.phone,
        "country": customer.country,
        "time_zone": customer.time_zone,
        "language": customer.language,
        "industry_code": customer.industry_code,
        "annual_sales": customer.annual_sales,
        "customer_since": _day(customer.customer_since),
        "owner": customer.owner,
        "tax_id": customer.tax_id,
        "credit_limit": customer.credit_limit,
        "anniversary": customer.anniversary,
        "placeholder": customer.placeholder,
        "data_quality": list(customer.data_quality) or None,
        "other_emails": list(customer.other_emails) or None,
        "segment": customer.segment,
        "risk": customer.risk,
        "fingerprint": customer.fingerprint,
        "dunning_hold": customer.dunning_hold or None,
        "do_not_contact": customer.do_not_contact or None,
        "next_action_shard": keys.next_action_shard(keys.customer_pk(customer.customer_id))
        if customer.next_action_at
        else None,
        "next_action_at": format_instant(customer.next_action_at) if customer.next_action_at else None,
    }


def _customer_item(customer: Customer) -> CustomerItem:
    """The whole item, the dunning function's own attributes (SES feedback, last email) included."""
    return CustomerItem(
        keys.customer_pk(customer.customer_id),
        PROFILE_SK,
        **_customer_fields(customer),
        suppressed_emails=set(customer.suppressed_emails) or None,
        last_emailed_at=format_instant(customer.last_emailed_at) if customer.last_emailed_at else None,
        collector_hold=customer.collector_hold or None,
        paused_until=_day(customer.paused_until),
        hold_reason=customer.hold_reason,
        promises_kept=customer.promises_kept or None,
        promises_broken=customer.promises_broken or None,
    )


def _payment_from_item(item: PaymentItem) -> Payment:
    return Payment(
        customer_id=item.customer_id,
        payment_id=item.payment_id,
        payment_date=date.fromisoformat(item.payment_date),
        amount=item.amount,
        currency=item.currency,
        invoice_number=item.invoice_number,
        reference=item.reference,
        applied_amount=item.applied_amount,
        unapplied_amount=item.unapplied_amount,
        applied_to=item.applied_to,
        remittance=_allocations_from(item.remittance),
        allocations=_allocations_from(item.allocations),
    )


def _allocations_from(items: Iterable[AllocationMap] | None) -> tuple[Allocation, ...]:
    return tuple(Allocation(item.invoice_number, item.amount) for item in items or ())


def allocation_maps(allocations: Iterable[Allocation]) -> list[AllocationMap] | None:
    """Allocations as the item stores them (None, no attribute, for none)."""
    maps = [AllocationMap(invoice_number=a.invoice_number, amount=a.amount) for a in allocations]
    return maps or None


def _payment_item(payment: Payment) -> PaymentItem:
    return PaymentItem(
        keys.customer_pk(payment.customer_id),
        payment_sk(payment.payment_id),
        customer_id=payment.customer_id,
        payment_id=payment.payment_id,
        payment_date=payment.payment_date.isoformat(),
        amount=payment.amount,
        currency=payment.currency,
        invoice_number=payment.invoice_number,
        reference=payment.reference,
        applied_amount=payment.applied_amount,
        unapplied_amount=payment.unapplied_amount,
        applied_to=payment.applied_to,
        remittance=allocation_maps(payment.remittance),
        allocations=allocation_maps(payment.allocations),
        credit_owner=payment_credit_owner(payment),
    )


def payment_credit_owner(payment: Payment) -> str | None:
    """A payment is in its customer's credits index while some of its cash is unapplied."""
    return keys.customer_pk(payment.customer_id) if payment.unapplied_amount > 0 else None


def _set_all(model: type[TableItem], fields: dict[str, Any]) -> list[Action]:
    """SET every field, REMOVE the ones that are None: attributes other code owns stay as they are.
    (``set(None)`` would write a NULL value, which exists: ``attribute_not_exists`` conditions on it,
    such as "no dispute opened here", would then fail for ever.)"""
    return [
        getattr(model, name).remove() if value is None else getattr(model, name).set(value)
        for name, value in fields.items()
    ]


class Invoices:
    @translated
    def save(self, invoice: Invoice) -> None:
        """Write the whole invoice item (replacing any item with its key)."""
        _invoice_item(invoice).save()

    @translated
    def all(self) -> Iterator[Invoice]:
        """Every invoice of the portfolio, for portfolio-wide reports (a paginated scan)."""
        for item in InvoiceItem.scan():
            yield _invoice_from_item(item)

    @translated
    def get(self, customer_id: str, invoice_number: str) -> Invoice | None:
        """One invoice of one customer, or None."""
        try:
            item = InvoiceItem.get(keys.customer_pk(customer_id), keys.invoice_sk(invoice_number))
        except InvoiceItem.DoesNotExist:
            return None
        return _invoice_from_item(item)

    @translated
    def for_customer(self, customer_id: str) -> list[Invoice]:
        """Every invoice of one customer (open and closed), by invoice number."""
        items = InvoiceItem.query(keys.customer_pk(customer_id), InvoiceItem.sk.startswith("INV#"))
        return [_invoice_from_item(item) for item in items]


class Customers:
    @translated
    def get(self, customer_id: str) -> Customer | None:
        """A customer's master data (possibly a placeholder), or None."""
        try:
            item = CustomerItem.get(keys.customer_pk(customer_id), PROFILE_SK)
        except CustomerItem.DoesNotExist:
            return None
        return _customer_from_item(item)

    @translated
    def save(self, customer: Customer) -> None:
        """Write the whole customer item (replacing any item with its key)."""
        _customer_item(customer).save()


class Payments:
    @translated
    def for_customer(self, customer_id: str) -> list[Payment]:
        """Every payment received from one customer, by payment id."""
        items = PaymentItem.query(keys.customer_pk(customer_id), PaymentItem.sk.startswith("PAY#"))
        return [_payment_from_item(item) for item in items]


def index_credits() -> int:
    """Put the credit notes and the payments with unapplied cash that lack their ``by_credit`` entry
    (written before the index existed) into it; how many were. One scan of the table: a one-off for a
    stack upgraded from an earlier version (`arcollect reindex-credits`), never on a request's path."""
    indexed = 0
    for item in TableItem.scan(TableItem.credit_owner.does_not_exist()):
        if isinstance(item, InvoiceItem) and item.document_type == DocumentType.CREDIT_NOTE:
            owner: str | None = item.pk
        elif isinstance(item, PaymentItem):
            owner = payment_credit_owner(_payment_from_item(item))
        else:
            continue
        # Only if nobody indexed or rewrote it meanwhile (the condition keeps the newer write).
        unindexed = TableItem.credit_owner.does_not_exist()
        if owner is not None and update_if(item, [TableItem.credit_owner.set(owner)], unindexed):
            indexed += 1
    return indexed


class Accounts:
    """The customer partitions as ingest loads them: batched reads, batched puts of new items, updates
    of changed ones (leaving attributes other code owns alone), and payments recorded exactly once
    together with what they did to their invoice."""

    @translated
    def customers(self, customer_ids: Iterable[str]) -> dict[str, Customer]:
        wanted = {(keys.customer_pk(customer_id), PROFILE_SK) for customer_id in customer_ids}
        return {item.customer_id: _customer_from_item(item) for item in CustomerItem.batch_get(wanted)}

    @translated
    def invoices(self, invoice_keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Invoice]:
        """Invoices by (customer id, invoice number); absent keys are absent from the result."""
        wanted = {(keys.customer_pk(c), keys.invoice_sk(n)) for c, n in invoice_keys}
        found = (_invoice_from_item(item) for item in InvoiceItem.batch_get(wanted))
        return {(invoice.customer_id, invoice.invoice_number): invoice for invoice in found}

    @translated
    def payments(self, payment_keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Payment]:
        """Payments by (customer id, payment id); absent keys are absent from the result."""
        wanted = {(keys.customer_pk(c), payment_sk(p)) for c, p in payment_keys}
        found = (_payment_from_item(item) for item in PaymentItem.batch_get(wanted))
        return {(payment.customer_id, payment.payment_id): payment for payment in found}

    @translated
    def add_customers(self, customers: Sequence[Customer]) -> None:
        """Put new customers, 25 per request (pynamodb resends unprocessed items), and make their AP
        addresses findable by the portal's "send me a fresh link"."""
        with TableItem.batch_write() as batch:
            for customer in customers:
                batch.save(_customer_item(customer))
        index_contacts(customers)

    @translated
    def add_placeholder(self, customer: Customer, task: Task) -> bool:
        """Create a placeholder and its "complete master data" task, together, unless the customer exists
        (a real customer is never overwritten; a crash cannot leave a placeholder without its task)."""

        def write(transaction: TransactWrite) -> None:
            transaction.save(_customer_item(customer), condition=TableItem.pk.does_not_exist())
            transaction.save(_task_item(task), condition=TableItem.pk.does_not_exist())

        return transact_if(write)

    @translated
    def open_invoices(self) -> list[Invoice]:
        """Every open item in the table (the reconciliation of an open-items snapshot): a filtered scan,
        run once per snapshot file."""
        return [_invoice_from_item(item) for item in InvoiceItem.scan(InvoiceItem.status == "open")]

    @translated
    def update_customer(self, customer: Customer) -> None:
        item = CustomerItem(keys.customer_pk(customer.customer_id), PROFILE_SK)
        item.update(actions=_set_all(CustomerItem, _customer_fields(customer)))
        index_contacts([customer])

    @translated
    def add_invoices(self, invoices: Sequence[Invoice]) -> None:
        """Put new invoices, 25 per request (pynamodb resends unprocessed items)."""
        with TableItem.batch_write() as batch:
            for invoice in invoices:
                batch.save(_invoice_item(invoice))

    @translated
    def add_payments(self, payments: Sequence[Payment]) -> None:
        """Put payments whose ids say what they are (implied by an invoice's paid_date), 25 per request."""
        with TableItem.batch_write() as batch:
            for payment in payments:
                batch.save(_payment_item(payment))

    @translated
    def update_invoice(self, invoice: Invoice, before: Invoice) -> bool:
        """Write what ingest owns of ``invoice`` and the decisions as it carried them over (an agreed
        credit the ERP now shows is cleared), provided the table still holds ``before``'s open amount and
        decisions; False when a payment, a dispute or a credit got there first."""
        item = InvoiceItem(keys.customer_pk(invoice.customer_id), keys.invoice_sk(invoice.invoice_number))
        fields = {**_invoice_fields(invoice), **_invoice_decisions(invoice)}
        return update_if(item, _set_all(InvoiceItem, fields), invoice_as_read(before))

    @translated
    def customer_invoices(self, customer_id: str) -> list[Invoice]:
        """Every document of one customer (a credit note looking for the agreed credit it books)."""
        return Invoices().for_customer(customer_id)

    @translated
    def add_task(self, task: Task) -> bool:
        """A task, once: False when a task of that id exists."""
        return put_once(_task_item(task))

    @translated
    def record_payment(
        self,
        payment: Payment,
        settles: Sequence[tuple[Invoice, Invoice]] = (),
        task: Task | None = None,
    ) -> PaymentWrite:
        """Record ``payment`` once, in one transaction with what it does to its invoices (``settles``:
        each invoice as read and after the payment) and its apply-cash ``task``.
        Each invoice is updated provided its open amount and decisions are still the ones read
        (``CONFLICT``: read them again); ``DUPLICATE`` when the payment id is recorded already (a file
        sent again), and then nothing is written."""
        pairs = list(settles)
        if not pairs and task is None:
            return PaymentWrite.RECORDED if put_once(_payment_item(payment)) else PaymentWrite.DUPLICATE
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.save(_payment_item(payment), condition=TableItem.pk.does_not_exist())
                for before, after in pairs:
                    transaction.update(
                        InvoiceItem(
                            keys.customer_pk(after.customer_id), keys.invoice_sk(after.invoice_number)
                        ),
                        actions=_set_all(InvoiceItem, _invoice_fields(after)),
                        condition=invoice_as_read(before),
                    )
                if task is not None:
                    # The task exists only with its payment: a plain put (the same item every time).
                    transaction.save(_task_item(task))
        except TransactWriteError as error:
            if error.cause_response_code != "TransactionCanceledException":
                raise
            reasons = [reason.code if reason else "None" for reason in error.cancellation_reasons]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                return PaymentWrite.DUPLICATE
            if "ConditionalCheckFailed" in reasons[1 : 1 + len(pairs)]:
                return PaymentWrite.CONFLICT
            raise
        return PaymentWrite.RECORDED
