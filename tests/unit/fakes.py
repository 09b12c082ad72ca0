"""In-memory stand-ins for the store's file register and S3 reader, shared by the unit tests."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from arcollect.entities import Customer, IngestFile, Invoice, Payment, PaymentWrite, Task


class Register:
    """The file register's contract: the first record of an object version wins."""

    def __init__(self) -> None:
        self.files: dict[tuple[str, str], IngestFile] = {}
        self.chunks: dict[tuple[str, str], set[int]] = {}

    def record(self, file: IngestFile) -> bool:
        return self.files.setdefault((file.key, file.version_id), file) is file

    def get(self, key: str, version_id: str) -> IngestFile | None:
        return self.files.get((key, version_id))

    def chunk_done(self, key: str, version_id: str, index: int) -> int:
        done = self.chunks.setdefault((key, version_id), set())
        done.add(index)
        return len(done)


class Reader:
    """Streams ``content`` in ``chunk``-byte pieces (small by default, to cross every boundary) and
    counts how often the object was read."""

    def __init__(
        self,
        content: bytes,
        chunk: int = 7,
        *,
        metadata: dict[str, str] | None = None,
        texts: dict[str, str] | None = None,
    ) -> None:
        self.content, self.chunk = content, chunk
        self.reads = 0
        self.object_metadata = metadata or {}
        self.texts = texts or {}

    def metadata(self, bucket: str, key: str, version_id: str | None = None) -> dict[str, str]:
        return dict(self.object_metadata)

    def read_text(self, bucket: str, key: str) -> str | None:
        """Other objects of the bucket (``config/mappings/...``) by key."""
        return self.texts.get(key)

    def iter_bytes(self, bucket: str, key: str, version_id: str | None = None) -> Iterator[bytes]:
        self.reads += 1
        for start in range(0, len(self.content), self.chunk):
            yield self.content[start : start + self.chunk]


class Table:
    """The accounts as a dict, counting writes."""

    def __init__(self) -> None:
        self.customers_: dict[str, Customer] = {}
        self.invoices_: dict[tuple[str, str], Invoice] = {}
        self.payments_: dict[tuple[str, str], Payment] = {}
        self.tasks: list[Task] = []
        self.writes = 0
        # The customers whose addresses were indexed (``index_contacts``), in order.
        self.indexed: list[str] = []

    def customers(self, customer_ids: Iterable[str]) -> dict[str, Customer]:
        return {c: self.customers_[c] for c in customer_ids if c in self.customers_}

    def invoices(self, invoice_keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Invoice]:
        return {k: self.invoices_[k] for k in invoice_keys if k in self.invoices_}

    def payments(self, payment_keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Payment]:
        return {k: self.payments_[k] for k in payment_keys if k in self.payments_}

    def add_customers(self, customers: Sequence[Customer]) -> None:
        for customer in customers:
            self.update_customer(customer)

    def index_contacts(self, customers: Sequence[Customer]) -> int:
        self.indexed.extend(customer.customer_id for customer in customers)
        return len(customers)

    def add_placeholder(self, customer: Customer, task: Task) -> bool:
        if customer.customer_id in self.customers_:
            return False
        self.update_customer(customer)
        self.tasks.append(task)
        return True

    def open_invoices(self) -> list[Invoice]:
        return [invoice for invoice in self.invoices_.values() if invoice.status == "open"]

    def update_customer(self, customer: Customer) -> None:
        self.writes += 1
        self.customers_[customer.customer_id] = customer

    def add_invoices(self, invoices: Sequence[Invoice]) -> None:
        for invoice in invoices:
            self._write_invoice(invoice)

    def add_task(self, task: Task) -> bool:
        if any(t.task_id == task.task_id and t.customer_id == task.customer_id for t in self.tasks):
            return False
        self.tasks.append(task)
        return True

    def add_payments(self, payments: Sequence[Payment]) -> None:
        for payment in payments:
            self.writes += 1
            self.payments_[(payment.customer_id, payment.payment_id)] = payment

    def update_invoice(self, invoice: Invoice, before: Invoice) -> bool:
        """The store's condition: the open amount, disputed flag and decisions still as read."""
        current = self.invoices_.get((invoice.customer_id, invoice.invoice_number))
        if current is None or _as_read(current) != _as_read(before):
            return False
        self._write_invoice(invoice)
        return True

    def customer_invoices(self, customer_id: str) -> list[Invoice]:
        return [invoice for (customer, _), invoice in self.invoices_.items() if customer == customer_id]

    def _write_invoice(self, invoice: Invoice) -> None:
        self.writes += 1
        self.invoices_[(invoice.customer_id, invoice.invoice_number)] = invoice

    def record_payment(
        self,
        payment: Payment,
        settles: Sequence[tuple[Invoice, Invoice]] = (),
        task: Task | None = None,
    ) -> PaymentWrite:
        if (payment.customer_id, payment.payment_id) in self.payments_:
            return PaymentWrite.DUPLICATE
        for before, _ in settles:
            stored = self.invoices_.get((before.customer_id, before.invoice_number))
            if stored is None or _as_read(stored) != _as_read(before):
                return PaymentWrite.CONFLICT
        self.writes += 1
        self.payments_[(payment.customer_id, payment.payment_id)] = payment
        for _, after in settles:
            self._write_invoice(after)
        if task is not None:
            self.tasks = [
                t for t in self.tasks if (t.customer_id, t.task_id) != (task.customer_id, task.task_id)
            ]
            self.tasks.append(task)
        return PaymentWrite.RECORDED


def _as_read(invoice: Invoice) -> tuple[object, ...]:
    return (
        invoice.open_amount,
        invoice.disputed,
        invoice.dispute_id,
        invoice.credit_agreed,
        invoice.credit_match,
    )
