"""Repositories over the single table: entities in, entities out, domain errors on failure."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from arcollect.entities import (
    Activity,
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
)
from arcollect.store import keys
from arcollect.store.base import connection, put_once, set_all, transact_if, translated, update_if
from arcollect.store.contacts import index_contacts
from arcollect.store.customers import PROFILE_SK, customer_from_item, customer_item, ingest_fields
from arcollect.store.invoices import (
    invoice_as_read,
    invoice_decisions,
    invoice_fields,
    invoice_from_item,
    invoice_item,
)
from arcollect.store.keys import payment_sk
from arcollect.store.models import (
    ActivityItem,
    ChunkProgressItem,
    CustomerItem,
    IngestFileItem,
    InvoiceItem,
    PaymentItem,
    SweepRunItem,
    TableItem,
    TaskItem,
)
from arcollect.store.payments import payment_credit_owner, payment_from_item, payment_item
from arcollect.store.tasks import task_from_item, task_item
from arcollect.store.timeline import activity_from_item, record_once


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


class Activities:
    """Customers' timelines, and the ingest timeline."""

    @translated
    def record(self, activity: Activity) -> bool:
        """Append to the timeline (with the changes the activity carries); False if this activity (same
        time and id) is there already."""
        return record_once(keys.customer_pk(activity.customer_id), activity)

    @translated
    def record_ingest(self, activity: Activity) -> bool:
        """Append to the ingest timeline (one entry per file version) that operators read."""
        return record_once(keys.INGEST_TIMELINE_PK, activity)

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
        return [activity_from_item(item) for item in items]


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
        return [task_from_item(item) for item in items]


class Invoices:
    @translated
    def save(self, invoice: Invoice) -> None:
        """Write the whole invoice item (replacing any item with its key)."""
        invoice_item(invoice).save()

    @translated
    def all(self) -> Iterator[Invoice]:
        """Every invoice of the portfolio, for portfolio-wide reports (a paginated scan)."""
        for item in InvoiceItem.scan():
            yield invoice_from_item(item)

    @translated
    def get(self, customer_id: str, invoice_number: str) -> Invoice | None:
        """One invoice of one customer, or None."""
        try:
            item = InvoiceItem.get(keys.customer_pk(customer_id), keys.invoice_sk(invoice_number))
        except InvoiceItem.DoesNotExist:
            return None
        return invoice_from_item(item)

    @translated
    def for_customer(self, customer_id: str) -> list[Invoice]:
        """Every invoice of one customer (open and closed), by invoice number."""
        items = InvoiceItem.query(keys.customer_pk(customer_id), InvoiceItem.sk.startswith("INV#"))
        return [invoice_from_item(item) for item in items]


class Customers:
    @translated
    def get(self, customer_id: str) -> Customer | None:
        """A customer's master data (possibly a placeholder), or None."""
        try:
            item = CustomerItem.get(keys.customer_pk(customer_id), PROFILE_SK)
        except CustomerItem.DoesNotExist:
            return None
        return customer_from_item(item)

    @translated
    def save(self, customer: Customer) -> None:
        """Write the whole customer item (replacing any item with its key)."""
        customer_item(customer).save()


class Payments:
    @translated
    def for_customer(self, customer_id: str) -> list[Payment]:
        """Every payment received from one customer, by payment id."""
        items = PaymentItem.query(keys.customer_pk(customer_id), PaymentItem.sk.startswith("PAY#"))
        return [payment_from_item(item) for item in items]


def index_credits() -> int:
    """Put the credit notes and the payments with unapplied cash that lack their ``by_credit`` entry
    (written before the index existed) into it; how many were. One scan of the table: a one-off for a
    stack upgraded from an earlier version (`arcollect reindex-credits`), never on a request's path."""
    indexed = 0
    for item in TableItem.scan(TableItem.credit_owner.does_not_exist()):
        if isinstance(item, InvoiceItem) and item.document_type == DocumentType.CREDIT_NOTE:
            owner: str | None = item.pk
        elif isinstance(item, PaymentItem):
            owner = payment_credit_owner(payment_from_item(item))
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
        return {item.customer_id: customer_from_item(item) for item in CustomerItem.batch_get(wanted)}

    @translated
    def invoices(self, invoice_keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Invoice]:
        """Invoices by (customer id, invoice number); absent keys are absent from the result."""
        wanted = {(keys.customer_pk(c), keys.invoice_sk(n)) for c, n in invoice_keys}
        found = (invoice_from_item(item) for item in InvoiceItem.batch_get(wanted))
        return {(invoice.customer_id, invoice.invoice_number): invoice for invoice in found}

    @translated
    def payments(self, payment_keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Payment]:
        """Payments by (customer id, payment id); absent keys are absent from the result."""
        wanted = {(keys.customer_pk(c), payment_sk(p)) for c, p in payment_keys}
        found = (payment_from_item(item) for item in PaymentItem.batch_get(wanted))
        return {(payment.customer_id, payment.payment_id): payment for payment in found}

    @translated
    def add_customers(self, customers: Sequence[Customer]) -> None:
        """Put new customers, 25 per request (pynamodb resends unprocessed items). Their addresses are
        indexed by a call of their own (``index_contacts``)."""
        with TableItem.batch_write() as batch:
            for customer in customers:
                batch.save(customer_item(customer))

    @translated
    def index_contacts(self, customers: Sequence[Customer]) -> int:
        """Make ``customers``' AP addresses findable by the portal's "send me a fresh link" (the address
        lookup, ``store/contacts.py``; idempotent): how many lookup items were written."""
        return index_contacts(customers)

    @translated
    def add_placeholder(self, customer: Customer, task: Task) -> bool:
        """Create a placeholder and its "complete master data" task, together, unless the customer exists
        (a real customer is never overwritten; a crash cannot leave a placeholder without its task)."""

        def write(transaction: TransactWrite) -> None:
            transaction.save(customer_item(customer), condition=TableItem.pk.does_not_exist())
            transaction.save(task_item(task), condition=TableItem.pk.does_not_exist())

        return transact_if(write)

    @translated
    def open_invoices(self) -> list[Invoice]:
        """Every open item in the table (the reconciliation of an open-items snapshot): a filtered scan,
        run once per snapshot file."""
        return [invoice_from_item(item) for item in InvoiceItem.scan(InvoiceItem.status == "open")]

    @translated
    def update_customer(self, customer: Customer) -> None:
        item = CustomerItem(keys.customer_pk(customer.customer_id), PROFILE_SK)
        item.update(actions=set_all(CustomerItem, ingest_fields(customer)))

    @translated
    def add_invoices(self, invoices: Sequence[Invoice]) -> None:
        """Put new invoices, 25 per request (pynamodb resends unprocessed items)."""
        with TableItem.batch_write() as batch:
            for invoice in invoices:
                batch.save(invoice_item(invoice))

    @translated
    def add_payments(self, payments: Sequence[Payment]) -> None:
        """Put payments whose ids say what they are (implied by an invoice's paid_date), 25 per request."""
        with TableItem.batch_write() as batch:
            for payment in payments:
                batch.save(payment_item(payment))

    @translated
    def update_invoice(self, invoice: Invoice, before: Invoice) -> bool:
        """Write what ingest owns of ``invoice`` and the decisions as it carried them over (an agreed
        credit the ERP now shows is cleared), provided the table still holds ``before``'s open amount and
        decisions; False when a payment, a dispute or a credit got there first."""
        item = InvoiceItem(keys.customer_pk(invoice.customer_id), keys.invoice_sk(invoice.invoice_number))
        fields = {**invoice_fields(invoice), **invoice_decisions(invoice)}
        return update_if(item, set_all(InvoiceItem, fields), invoice_as_read(before))

    @translated
    def customer_invoices(self, customer_id: str) -> list[Invoice]:
        """Every document of one customer (a credit note looking for the agreed credit it books)."""
        return Invoices().for_customer(customer_id)

    @translated
    def add_task(self, task: Task) -> bool:
        """A task, once: False when a task of that id exists."""
        return put_once(task_item(task))

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
            return PaymentWrite.RECORDED if put_once(payment_item(payment)) else PaymentWrite.DUPLICATE
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.save(payment_item(payment), condition=TableItem.pk.does_not_exist())
                for before, after in pairs:
                    transaction.update(
                        InvoiceItem(
                            keys.customer_pk(after.customer_id), keys.invoice_sk(after.invoice_number)
                        ),
                        actions=set_all(InvoiceItem, invoice_fields(after)),
                        condition=invoice_as_read(before),
                    )
                if task is not None:
                    # The task exists only with its payment: a plain put (the same item every time).
                    transaction.save(task_item(task))
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
