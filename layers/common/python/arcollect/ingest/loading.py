"""Loading mapped rows into the customers' accounts, a chunk of rows at a time.

Per chunk: one batched read of what is stored for the chunk's keys, a comparison row by row (a row
that says what the table says writes nothing), then batched puts of new items and updates of changed
ones. Payments are the exception: each is recorded with a conditional write, in one transaction with
what it does to its invoices and its apply-cash task, so a payment id is applied once however often its
file is delivered. Which invoices a payment settles is ``arcollect/cash.py``'s rule; the consecutive
lines of one payment id (a remittance advice, one line per invoice) are one payment.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from datetime import date as date_type
from decimal import Decimal
from typing import Any, Final, Protocol, TypeVar

from arcollect import cash, credits
from arcollect.cash import closed_next_action, first_look_at
from arcollect.clock import format_instant, next_anniversary
from arcollect.entities import (
    Customer,
    DocumentType,
    DropKind,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentWrite,
    Task,
    TaskKind,
)
from arcollect.ingest.fields import FieldError
from arcollect.ingest.precedence import Merged, Review, closing_review, merge_contact, merge_invoice
from arcollect.ingest.results import IngestReport, Lines
from arcollect.ingest.schema import Entity
from arcollect.observability import logger

_SETTLE_ATTEMPTS: Final = 3

E = TypeVar("E", Customer, Invoice, Payment)
T = TypeVar("T")
InvoiceKey = tuple[str, str]
PaymentKey = tuple[str, str]
# A customer's documents by number, as far as they were read (all of them once ``complete``).
Book = dict[str, Invoice]


class AccountsStore(Protocol):
    """What loading needs of the table (``arcollect.store.repositories.Accounts`` in Lambda)."""

    def customers(self, customer_ids: Iterable[str]) -> dict[str, Customer]: ...

    def invoices(self, invoice_keys: Iterable[InvoiceKey]) -> dict[InvoiceKey, Invoice]: ...

    def payments(self, payment_keys: Iterable[PaymentKey]) -> dict[PaymentKey, Payment]: ...

    def add_customers(self, customers: Sequence[Customer]) -> None: ...

    def index_contacts(self, customers: Sequence[Customer]) -> int:
        """Make the customers' addresses findable by the portal's "send me a fresh link"."""
        ...

    def add_placeholder(self, customer: Customer, task: Task) -> bool: ...

    def open_invoices(self) -> list[Invoice]: ...

    def update_customer(self, customer: Customer) -> None: ...

    def add_invoices(self, invoices: Sequence[Invoice]) -> None: ...

    def add_payments(self, payments: Sequence[Payment]) -> None: ...

    def update_invoice(self, invoice: Invoice, before: Invoice) -> bool:
        """Write ``invoice`` over ``before``, provided the table still holds ``before``'s open amount and
        decisions (False: someone changed them meanwhile; read again and merge again)."""
        ...

    def add_task(self, task: Task) -> bool: ...

    def customer_invoices(self, customer_id: str) -> list[Invoice]: ...

    def record_payment(
        self,
        payment: Payment,
        settles: Sequence[tuple[Invoice, Invoice]] = (),
        task: Task | None = None,
    ) -> PaymentWrite:
        """Record ``payment`` once with what it does to its invoices (each as read, and after) and its
        apply-cash task, in one transaction; ``CONFLICT`` when an invoice changed since it was read."""
        ...


@dataclass
class LoadContext:
    """What every chunk of one file shares: the file's as-of time (which file is newer), when it is
    loaded, and, for a snapshot, the open items it lists (to close the ones it no longer lists).

    A snapshot's refused row still lists its item: the ERP has it open, only this row of it could not
    be loaded. Its key, when it can be read, keeps that item open (``refused``: the key and its row);
    a refused row whose key cannot be read might be any item, so then nothing is closed
    (``unreadable``: how many, and the first one's row)."""

    as_of: datetime
    now: datetime
    source: str
    snapshot: bool = False
    seen: set[InvoiceKey] = field(default_factory=set)
    company_codes: set[str | None] = field(default_factory=set)
    refused: dict[InvoiceKey, int] = field(default_factory=dict)
    unreadable: int = 0
    first_unreadable: int | None = None
    # The invoices the file has stated so far (its first row of each, and what that row says): a later
    # row of the same invoice is counted once when it repeats it, and refused when it says otherwise.
    stated: dict[InvoiceKey, tuple[int, tuple[object, ...]]] = field(default_factory=dict)

    def refused_row(self, line: int, key: InvoiceKey | None) -> None:
        """A snapshot's row that was rejected, with its customer id and invoice number if they read."""
        if key is not None:
            self.refused.setdefault(key, line)
            return
        self.unreadable += 1
        if self.first_unreadable is None or line < self.first_unreadable:
            self.first_unreadable = line


class SettlementConflict(RuntimeError):
    """An invoice kept changing under a payment being applied to it; the message is retried."""


class DryRun:
    """An empty table that keeps nothing: validation and counting without loading."""

    def customers(self, customer_ids: Iterable[str]) -> dict[str, Customer]:
        return {}

    def invoices(self, invoice_keys: Iterable[InvoiceKey]) -> dict[InvoiceKey, Invoice]:
        return {}

    def payments(self, payment_keys: Iterable[PaymentKey]) -> dict[PaymentKey, Payment]:
        return {}

    def add_customers(self, customers: Sequence[Customer]) -> None:
        return None

    def index_contacts(self, customers: Sequence[Customer]) -> int:
        return 0

    def add_placeholder(self, customer: Customer, task: Task) -> bool:
        return True

    def open_invoices(self) -> list[Invoice]:
        return []

    def update_customer(self, customer: Customer) -> None:
        return None

    def add_invoices(self, invoices: Sequence[Invoice]) -> None:
        return None

    def add_payments(self, payments: Sequence[Payment]) -> None:
        return None

    def update_invoice(self, invoice: Invoice, before: Invoice) -> bool:
        return True

    def add_task(self, task: Task) -> bool:
        return True

    def customer_invoices(self, customer_id: str) -> list[Invoice]:
        return []

    def record_payment(
        self,
        payment: Payment,
        settles: Sequence[tuple[Invoice, Invoice]] = (),
        task: Task | None = None,
    ) -> PaymentWrite:
        return PaymentWrite.RECORDED


def with_next_action(invoice: Invoice, stored: Invoice | None) -> Invoice:
    """Place an invoice in the sweep's index.

    Open invoices (not credit notes or write-offs) are in the index; closed ones leave it. Once the
    engine has scheduled an open invoice, a row with the same due date leaves the schedule be; a new due
    date (terms extended) has the engine look again at the next sweep.
    """
    if not invoice.is_open or invoice.document_type != DocumentType.INVOICE:
        return replace(invoice, next_action_at=closed_next_action(invoice))
    if stored is not None and stored.is_open and stored.due_date == invoice.due_date:
        return replace(invoice, next_action_at=stored.next_action_at)
    return replace(invoice, next_action_at=first_look_at(invoice))


def with_customer_state(customer: Customer, stored: Customer | None, today: date_type) -> Customer:
    """Keep what the dunning function owns on the profile (SES feedback, the last email) and put the
    customer in the sweep's index for the anniversary of its first day with us."""
    if stored is not None:
        # ... and what collectors own (a hold or pause, the promises settled).
        customer = replace(
            customer,
            suppressed_emails=stored.suppressed_emails,
            last_emailed_at=stored.last_emailed_at,
            collector_hold=stored.collector_hold,
            paused_until=stored.paused_until,
            hold_reason=stored.hold_reason,
            promises_kept=stored.promises_kept,
            promises_broken=stored.promises_broken,
            assigned_owner=stored.assigned_owner,
            cover=stored.cover,
            cover_until=stored.cover_until,
        )
    if customer.customer_since is None:
        return replace(customer, next_action_at=None)
    if stored is not None and stored.customer_since == customer.customer_since and stored.next_action_at:
        return replace(customer, next_action_at=stored.next_action_at)
    day = next_anniversary(customer.customer_since, max(today, customer.customer_since + timedelta(days=1)))
    return replace(customer, next_action_at=datetime.combine(day, time(0), tzinfo=UTC))


def settle(payment: Payment, invoice: Invoice) -> tuple[Payment, Invoice]:
    """Apply as much of ``payment`` as ``invoice`` has open; the rest stays unapplied."""
    planned = cash.plan(
        replace(payment, invoice_number=invoice.invoice_number, remittance=()),
        {invoice.invoice_number: invoice},
    )
    after = planned.settles[0][1] if planned.settles else invoice
    return replace(planned.payment, applied_to=invoice.invoice_number), after


def payment_target(payment: Payment, invoices: dict[InvoiceKey, Invoice]) -> tuple[Invoice | None, str]:
    """The first open invoice a payment settles (``arcollect/cash.py``'s rule), or None and why."""
    book = {
        number: invoice for (customer, number), invoice in invoices.items() if customer == payment.customer_id
    }
    planned = cash.plan(payment, book)
    if planned.settles:
        return planned.settles[0][0], ""
    return None, planned.note


def _received_as(payment: Payment) -> tuple[object, ...]:
    return (
        payment.payment_date,
        payment.amount,
        payment.currency,
        payment.invoice_number,
        payment.reference,
        payment.remittance,
    )


# What an invoice row states, by the column it is stated in: what two rows of one invoice are compared on.
_STATED: Final = (
    ("currency", "currency"),
    ("amount", "amount"),
    ("open_amount", "erp_open_amount"),
    ("invoice_date", "invoice_date"),
    ("due_date", "due_date"),
    ("document_type", "document_type"),
    ("disputed", "erp_disputed"),
    ("pay_url", "pay_url"),
    ("paid_date", "paid_date"),
    ("po_number", "po_number"),
    ("description", "description"),
    ("company_code", "company_code"),
)


def _stated(invoice: Invoice) -> tuple[object, ...]:
    return tuple(getattr(invoice, attribute) for _, attribute in _STATED)


def _shown(value: object) -> str:
    if value is None:
        return "(empty)"
    if isinstance(value, date_type):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def stated_digest(values: tuple[object, ...]) -> str:
    """What a row states, as a short digest that is equal for equal values (400.00 and 400 alike): how
    the chunks of a file loaded in parallel compare their rows of one invoice when they are merged."""
    text = repr(tuple(v.normalize() if isinstance(v, Decimal) else v for v in values))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def stated_elsewhere(parts: Sequence[Sequence[Sequence[Any]]], report: IngestReport) -> None:
    """Note each invoice that rows in two chunks of one file state (``[customer, number, line, digest]``
    per part, in the file's order). The chunks loaded at the same time, so the later row was not refused
    as one in the same chunk is: the notes say which rows, and whether they said the same."""
    first: dict[InvoiceKey, tuple[int, str]] = {}
    for stated in parts:
        later: list[tuple[InvoiceKey, int, str]] = []
        for customer_id, number, line, digest in stated:
            key = (str(customer_id), str(number))
            if key in first:
                later.append((key, int(line), str(digest)))
        for key, line, digest in later:
            row, earlier = first[key]
            reason = (
                f"the same line as row {row}: counted once"
                if digest == earlier
                else f"invoice {key[1]} is on row {row} too, with other values, in a part of this file "
                "loaded at the same time: which of the two rows stands is not certain; a file states an "
                "invoice once: send it again with one row of it"
            )
            report.note(line, [FieldError("invoice_number", key[1], reason)])
        for customer_id, number, line, digest in stated:
            first.setdefault((str(customer_id), str(number)), (int(line), str(digest)))


def counted_once(report: IngestReport, lines: Lines, column: str, value: str, twin: int) -> None:
    """A row that repeats an earlier row of its file exactly (an export that wrote a row twice): accepted,
    loaded once, and noted."""
    report.accept(lines, changed=False)
    report.note(lines, [FieldError(column, value, f"the same line as row {twin}: counted once")])


def repeated_invoice(context: LoadContext, report: IngestReport, lines: Lines, invoice: Invoice) -> bool:
    """Whether the row (or the collapsed rows) ``lines`` of ``invoice`` were answered for already, as a
    repeat of an earlier row of the file: an exact repeat is counted once; one that says otherwise is
    refused, naming the earlier row and what differs (neither row is silently the one that stands: the
    earlier row is loaded, the later refused, and the ERP team sees both). Otherwise the row is recorded
    as the invoice's first and False returned, for the caller to load it."""
    key = (invoice.customer_id, invoice.invoice_number)
    first = lines if isinstance(lines, int) else lines[0]
    earlier = context.stated.get(key)
    if earlier is None:
        context.stated[key] = (first, _stated(invoice))
        return False
    line, values = earlier
    now = _stated(invoice)
    if now == values:
        counted_once(report, lines, "invoice_number", invoice.invoice_number, line)
        return True
    report.reject(
        lines,
        [
            FieldError(
                column,
                _shown(mine),
                f"invoice {invoice.invoice_number} already on row {line} with {column} {_shown(theirs)}: "
                f"a file states an invoice once (row {line} is loaded, this row is not)",
            )
            for (column, _), theirs, mine in zip(_STATED, values, now, strict=True)
            if theirs != mine
        ],
    )
    return True


def complete_master_data_task(customer_id: str, context: LoadContext) -> Task:
    return Task(
        customer_id=customer_id,
        # One per customer: a second file naming the same unknown customer adds no second task.
        task_id=TaskKind.COMPLETE_MASTER_DATA.value,
        kind=TaskKind.COMPLETE_MASTER_DATA.value,
        title=f"Complete the master data of customer {customer_id}: no customer record came from the ERP",
        created_at=context.now,
        detail={"source": context.source, "as_of": format_instant(context.as_of)},
    )


def ensure_customers(
    store: AccountsStore, customer_ids: Iterable[str], report: IngestReport, context: LoadContext
) -> dict[str, Customer]:
    """Create a placeholder, with a "complete master data" task, for every customer id the table does
    not know: an invoice or a payment is never dropped for want of master data. Returns the customers
    the table knew."""
    wanted = set(customer_ids)
    known = store.customers(wanted)
    for customer_id in sorted(wanted - known.keys()):
        placeholder = Customer(
            customer_id=customer_id,
            name=customer_id,
            email="",
            placeholder=True,
            data_quality=("customer master data missing: only the id is known",),
        )
        if store.add_placeholder(placeholder, complete_master_data_task(customer_id, context)):
            report.placeholders_created += 1
            logger.debug("placeholder customer created", extra={"customer_id": customer_id})
    return known


def load_customers(
    store: AccountsStore, rows: Sequence[tuple[int, Customer]], report: IngestReport, context: LoadContext
) -> None:
    # Master data has no as-of: the latest file says how the customer is.
    today = context.now.date()
    stored = store.customers({customer.customer_id for _, customer in rows})
    view = dict(stored)
    new: dict[str, Customer] = {}
    changed: dict[str, Customer] = {}
    reviews: dict[str, Task] = {}
    for line, customer in rows:
        key = customer.customer_id
        customer, review = merge_contact(customer, view.get(key))
        if review is not None:
            reviews[f"{key}/{review.task_id}"] = review_task(key, review, context)
        customer = with_customer_state(customer, view.get(key), today)
        if view.get(key) == customer:
            report.accept(line, changed=False)
            continue
        (changed if key in stored else new)[key] = customer
        view[key] = customer
        report.accept(line, changed=True)
    store.add_customers(list(new.values()))
    for customer in changed.values():
        store.update_customer(customer)
    # The portal's "send me a fresh link" finds a customer by the addresses written here.
    store.index_contacts([*new.values(), *changed.values()])
    for task in reviews.values():
        store.add_task(task)


def load_invoices(
    store: AccountsStore, rows: Sequence[tuple[int, Invoice]], report: IngestReport, context: LoadContext
) -> None:
    """Apply the rows by the precedence rules (``ingest/precedence.py``): what the file states, over
    what payments recorded and decisions made here established."""
    ensure_customers(store, (invoice.customer_id for _, invoice in rows), report, context)
    stored = store.invoices({(i.customer_id, i.invoice_number) for _, i in rows})
    view = dict(stored)
    new: dict[InvoiceKey, Invoice] = {}
    changed: dict[InvoiceKey, tuple[int, Invoice]] = {}
    merged_payments: dict[PaymentKey, Payment] = {}
    reviews: dict[str, Task] = {}
    for line, row in rows:
        key = (row.customer_id, row.invoice_number)
        if context.snapshot:
            context.seen.add(key)
            context.company_codes.add(row.company_code)
        before = view.get(key)
        if before is not None and before.source_as_of is not None and before.source_as_of > context.as_of:
            # Files can arrive out of order: the newer file's word on this invoice stands.
            report.superseded += 1
            report.accept(line, changed=False)
            continue
        merged = _merge(row, before, context)
        invoice = merged.invoice
        row_changed = not invoice.same_content(before)
        if row_changed and credits.unmatched_credit_note(invoice):
            invoice = _match_credit_note(store, invoice, view, new, changed, stored, report, line)
        if row_changed:
            if key in stored:
                changed[key] = (line, invoice)
            else:
                new[key] = invoice
            view[key] = invoice
            if before is not None and before.is_open and not invoice.is_open:
                report.invoices_closed += 1
        if merged.payment is not None:
            merged_payments[(merged.payment.customer_id, merged.payment.payment_id)] = merged.payment
        if merged.review is not None:
            reviews[merged.review.task_id] = review_task(invoice, merged.review, context)
            report.note(
                line, [FieldError("open_amount", str(row.erp_open_amount or ""), merged.review.reason)]
            )
        report.accept(line, changed=row_changed or merged.payment is not None)
    store.add_invoices(list(new.values()))
    for key, (line, invoice) in changed.items():
        if not store.update_invoice(invoice, stored[key]):
            _merge_again(store, key, line, rows, report, context, merged_payments, reviews)
    # The payments a paid date implies settle nothing further (the row itself set its invoice's open
    # amount), and their ids derive from the invoice: a batched put of one again rewrites the same item,
    # so they need no conditional write each (which matters for a 266k-row history).
    known = store.payments(merged_payments)
    fresh = [payment for key, payment in merged_payments.items() if key not in known]
    store.add_payments(fresh)
    report.payments_applied += len(fresh)
    for task in reviews.values():
        store.add_task(task)


def _match_credit_note(
    store: AccountsStore,
    note: Invoice,
    view: dict[InvoiceKey, Invoice],
    new: dict[InvoiceKey, Invoice],
    changed: dict[InvoiceKey, tuple[int, Invoice]],
    stored: dict[InvoiceKey, Invoice],
    report: IngestReport,
    line: int,
) -> Invoice:
    """A new (or newly open) ERP credit note that books a credit agreed here: matched to it and kept
    closed, so the credit is counted once (``arcollect/credits.py``). Only a note the file changes is
    looked at (a file sent again reads nothing more); the other order, a note first and the credit
    agreed later, is matched when the credit is agreed."""
    documents = {(i.customer_id, i.invoice_number): i for i in store.customer_invoices(note.customer_id)}
    documents.update({key: i for key, i in view.items() if key[0] == note.customer_id})
    invoice = credits.invoice_for_note(note, documents.values())
    if invoice is None:
        return note
    note_after, invoice_after = credits.matched(note, invoice)
    key = (invoice.customer_id, invoice.invoice_number)
    if key in new:
        new[key] = invoice_after
    elif key in changed:
        changed[key] = (changed[key][0], invoice_after)
    elif store.update_invoice(invoice_after, documents[key]):
        stored[key] = invoice_after  # what the table holds now, for a later row of this chunk
    else:
        # The invoice changed meanwhile: the note stays open for now, and a later file matches it.
        logger.info("credit note not matched: its invoice changed meanwhile", extra={"key": list(key)})
        return note
    view[key] = invoice_after
    report.note(
        line,
        [
            FieldError(
                "open_amount",
                str(note.open_amount),
                f"credit note matched to the credit agreed on invoice {invoice.invoice_number}: "
                "kept closed, the credit is off that invoice already",
            )
        ],
    )
    return note_after


def _merge(row: Invoice, before: Invoice | None, context: LoadContext) -> Merged:
    merged = merge_invoice(row, before)
    invoice = replace(with_next_action(merged.invoice, before), source_as_of=context.as_of)
    return replace(merged, invoice=invoice)


def _merge_again(
    store: AccountsStore,
    key: InvoiceKey,
    line: int,
    rows: Sequence[tuple[int, Invoice]],
    report: IngestReport,
    context: LoadContext,
    payments: dict[PaymentKey, Payment],
    reviews: dict[str, Task],
) -> None:
    """A payment, a dispute or a credit changed the invoice between the read and the write: read it
    again and apply the row to what it is now."""
    row = next(invoice for number, invoice in rows if number == line)
    for _ in range(_SETTLE_ATTEMPTS):
        before = store.invoices([key]).get(key)
        merged = _merge(row, before, context)
        if before is None:
            store.add_invoices([merged.invoice])
        elif merged.invoice.same_content(before) or not store.update_invoice(merged.invoice, before):
            if merged.invoice.same_content(before):
                return
            continue
        if merged.payment is not None:
            payments[(merged.payment.customer_id, merged.payment.payment_id)] = merged.payment
        if merged.review is not None:
            reviews[merged.review.task_id] = review_task(merged.invoice, merged.review, context)
        return
    raise SettlementConflict(f"invoice {key[1]} of customer {key[0]} kept changing while its file loaded")


def review_task(about: Invoice | str, review: Review, context: LoadContext) -> Task:
    """The collector's task for a file that disagrees with what was recorded or decided here: one per
    invoice (or customer, given its id) and disagreement (the same file sent again adds none)."""
    invoice = about if isinstance(about, Invoice) else None
    return Task(
        customer_id=invoice.customer_id if invoice else str(about),
        task_id=review.task_id,
        kind=TaskKind.REVIEW_ERP.value,
        title=review.title,
        created_at=context.now,
        detail={
            "reason": review.reason,
            **({"invoice_number": invoice.invoice_number} if invoice else {}),
            "source": context.source,
            "as_of": format_instant(context.as_of),
        },
    )


def load_payments(
    store: AccountsStore, rows: Sequence[tuple[int, Payment]], report: IngestReport, context: LoadContext
) -> None:
    """Record each payment once (the consecutive lines of one payment id are one payment) and apply it
    by ``arcollect/cash.py``'s rules; cash nothing took makes an apply-cash task."""
    customers = ensure_customers(store, (payment.customer_id for _, payment in rows), report, context)
    payments = _payments_of(rows, report)
    known = store.payments({(p.customer_id, p.payment_id) for _, p in payments})
    books = _books(store.invoices({key for _, p in payments for key in _named_keys(p)}))
    complete: set[str] = set()
    for lines, payment in payments:
        key = (payment.customer_id, payment.payment_id)
        earlier = known.get(key)
        if earlier is not None:
            if _received_as(earlier) == _received_as(payment):
                report.accept(lines, changed=False)
            else:
                report.reject(lines, [_changed_payment(earlier)])
            continue
        customer = customers.get(payment.customer_id)
        recorded, note, written = _record_payment(
            store,
            payment,
            books,
            complete,
            report,
            context,
            customer.owner_on(context.now.date()) if customer else None,
        )
        known[key] = recorded
        if note:
            report.note(lines, [FieldError(_named_column(payment), _named_text(payment), note)])
        report.accept(lines, changed=written)


def _payments_of(rows: Sequence[tuple[int, Payment]], report: IngestReport) -> list[tuple[Lines, Payment]]:
    """The payments of a chunk's rows: consecutive rows of one payment id are the lines of one payment
    (``cash.from_lines``). A line that repeats an earlier line of its payment exactly is counted once
    (an export that wrote a row twice, as payment ids were always read); lines that do not make one
    payment are rejected together, the row and column at fault first."""
    found: list[tuple[Lines, Payment]] = []
    for group in _runs(rows, lambda payment: (payment.customer_id, payment.payment_id)):
        lines: list[tuple[int, Payment]] = []
        for line, payment in group:
            twin = next((first for first, seen in lines if _same_line(seen, payment)), None)
            if twin is None:
                lines.append((line, payment))
                continue
            counted_once(report, line, "payment_id", payment.payment_id, twin)
        numbers = tuple(line for line, _ in lines)
        try:
            payment = cash.from_lines([payment for _, payment in lines])
        except cash.RemittanceProblem as problem:
            at, line_payment = lines[problem.line]
            others = ", ".join(str(n) for n in numbers if n != at)
            report.reject(
                (at, *(n for n in numbers if n != at)),
                [
                    FieldError(
                        problem.field,
                        _value_of(line_payment, problem.field),
                        f"row {at}: {problem.message} (payment {line_payment.payment_id}; its rows "
                        f"{others} are rejected with it)",
                    )
                ],
            )
            continue
        found.append((numbers if len(numbers) > 1 else numbers[0], payment))
    return found


def _runs(rows: Sequence[tuple[int, T]], key: Callable[[T], object]) -> list[list[tuple[int, T]]]:
    """``rows`` cut into runs of consecutive rows with the same ``key``."""
    runs: list[list[tuple[int, T]]] = []
    for line, item in rows:
        if runs and key(runs[-1][-1][1]) == key(item):
            runs[-1].append((line, item))
        else:
            runs.append([(line, item)])
    return runs


def _same_line(a: Payment, b: Payment) -> bool:
    return _received_as(a) == _received_as(b)


def _value_of(payment: Payment, field_name: str) -> str:
    if field_name == "applied_amount":
        return " ".join(str(a.amount) for a in payment.remittance)
    value = getattr(payment, field_name, "")
    return "" if value is None else str(value)


def _named_column(payment: Payment) -> str:
    return "applied_amount" if payment.remittance else "invoice_number"


def _named_text(payment: Payment) -> str:
    if payment.remittance:
        return "; ".join(f"{a.invoice_number or '?'} {a.amount}" for a in payment.remittance)
    return payment.invoice_number or payment.reference or ""


def _named_keys(payment: Payment) -> set[InvoiceKey]:
    """The invoices a payment names outright (a cell or a line that is one number): read in one batch
    with the chunk's others; lists and references are looked up in the customer's documents."""
    texts = [payment.invoice_number, payment.reference, *(a.invoice_number for a in payment.remittance)]
    return {(payment.customer_id, text.strip()) for text in texts if text and text.strip()}


def _books(invoices: dict[InvoiceKey, Invoice]) -> dict[str, Book]:
    books: dict[str, Book] = {}
    for (customer_id, number), invoice in invoices.items():
        books.setdefault(customer_id, {})[number] = invoice
    return books


def split_for_load(kind: DropKind | None, batch: list[tuple[T, Entity]]) -> tuple[list[Any], list[Any]]:
    """The rows of a full ``batch`` to load now, and those to keep for the next chunk: the trailing lines
    of a payment id, which may go on in the next rows (up to ``cash.MAX_REMITTANCE_LINES``)."""
    if kind is not DropKind.PAYMENTS or not batch:
        return batch, []
    last = batch[-1][1]
    if not isinstance(last, Payment):
        return batch, []
    run = 0
    for _, entity in reversed(batch):
        if not (
            isinstance(entity, Payment)
            and (entity.customer_id, entity.payment_id) == (last.customer_id, last.payment_id)
        ):
            break
        run += 1
    if run >= cash.MAX_REMITTANCE_LINES:
        return batch, []
    return batch[:-run], batch[-run:]


def _record_payment(
    store: AccountsStore,
    payment: Payment,
    books: dict[str, Book],
    complete: set[str],
    report: IngestReport,
    context: LoadContext,
    owner: str | None,
) -> tuple[Payment, str, bool]:
    """Record one payment, settling the invoices it names, and make its apply-cash task for what none
    took; (as recorded, a note, whether written). The customer's documents are read whole (once per
    chunk) only when a payment names something the batched read did not find, or leaves cash over."""
    customer_id = payment.customer_id
    for _ in range(_SETTLE_ATTEMPTS):
        book = books.setdefault(customer_id, {})
        planned = cash.plan(payment, book)
        if planned.payment.unapplied_amount > 0 and customer_id not in complete:
            for invoice in store.customer_invoices(customer_id):
                book.setdefault(invoice.invoice_number, invoice)
            complete.add(customer_id)
            planned = cash.plan(payment, book)
        recorded = planned.payment
        task = None
        if recorded.unapplied_amount > 0:
            after = {**book, **{a.invoice_number: a for _, a in planned.settles}}
            task = cash.apply_cash_task(
                recorded, after.values(), now=context.now, assignee=owner, source=context.source
            )
        outcome = store.record_payment(recorded, planned.settles, task)
        if outcome is PaymentWrite.CONFLICT:
            fresh = store.invoices({(customer_id, before.invoice_number) for before, _ in planned.settles})
            book.update({number: invoice for (_, number), invoice in fresh.items()})
            continue
        if outcome is PaymentWrite.RECORDED:
            for _, after_invoice in planned.settles:
                book[after_invoice.invoice_number] = after_invoice
                if not after_invoice.is_open:
                    report.invoices_closed += 1
            if planned.settles:
                report.payments_applied += 1
        return recorded, planned.note, outcome is PaymentWrite.RECORDED
    raise SettlementConflict(
        f"payment {payment.payment_id} of customer {customer_id}: its invoices kept changing"
    )


def _changed_payment(earlier: Payment) -> FieldError:
    return FieldError(
        "payment_id",
        earlier.payment_id,
        f"was recorded before as {earlier.amount} {earlier.currency} on {earlier.payment_date.isoformat()}"
        " with other values; a recorded payment is never changed (send a new payment_id)",
    )


def load_chunk(
    kind: DropKind,
    store: AccountsStore,
    rows: Sequence[tuple[int, Entity]],
    report: IngestReport,
    context: LoadContext,
) -> None:
    """Load one chunk of mapped rows of a file of ``kind``."""
    if not rows:
        return
    if kind is DropKind.CUSTOMERS:
        load_customers(store, _of_type(Customer, rows), report, context)
    elif kind is DropKind.INVOICES:
        load_invoices(store, _of_type(Invoice, rows), report, context)
    else:
        load_payments(store, _of_type(Payment, rows), report, context)


def close_missing(store: AccountsStore, context: LoadContext, report: IngestReport) -> None:
    """Reconcile an open-items snapshot: an open item the snapshot no longer lists was settled or
    cleared in the ERP, so it is closed on the snapshot's date. Only items of the company codes the
    snapshot covers, and only those no newer file has touched, are closed; an empty snapshot closes
    nothing (an empty export is far more often a broken export than a fully paid ledger)."""
    seen, company_codes = context.seen, context.company_codes
    if context.unreadable:
        # A refused row whose key cannot be read may be any of the open items: closing one that is
        # on it would settle an invoice the ERP still lists.
        line = context.first_unreadable or 0
        rows = "a refused row" if context.unreadable == 1 else f"{context.unreadable} refused rows"
        report.note(
            line,
            [
                FieldError(
                    "",
                    "",
                    f"{rows} (the first on row {line}) without a readable customer id and invoice number "
                    "may list any open item: no open item was closed; fix the rows and send the "
                    "snapshot again",
                )
            ],
        )
        return
    if not seen:
        why = (
            "no row of the snapshot was accepted (its rows were refused): no open item was closed"
            if context.refused
            else "an empty snapshot: no open item was closed"
        )
        report.note_file(
            f"{why}, and the invoices feed is not counted as current by it (the freshness hold counts "
            "from the last snapshot that listed open items)"
        )
        report.unconfirmed_snapshot = True
        return
    closed_on = context.as_of.date()
    for invoice in store.open_invoices():
        key = (invoice.customer_id, invoice.invoice_number)
        if key in seen or invoice.company_code not in company_codes:
            continue
        if invoice.source_as_of is not None and invoice.source_as_of > context.as_of:
            continue
        if invoice.invoice_date > closed_on:
            continue
        if key in context.refused:
            # Listed, on a row that was refused: the ERP still has it open.
            report.note(
                context.refused[key],
                [
                    FieldError(
                        "invoice_number",
                        invoice.invoice_number,
                        f"kept open: the snapshot lists invoice {invoice.invoice_number} of customer "
                        f"{invoice.customer_id}, on this row, which was refused",
                    )
                ],
            )
            continue
        after = replace(
            invoice,
            status=InvoiceStatus.CLOSED.value,
            open_amount=Decimal(0),
            erp_open_amount=Decimal(0),
            closed_on=closed_on,
            next_action_at=closed_next_action(invoice),
            source_as_of=context.as_of,
        )
        if not store.update_invoice(after, invoice):
            continue  # changed meanwhile (a payment, a dispute): the next snapshot decides again
        review = closing_review(invoice, f"the snapshot of {closed_on.isoformat()} no longer lists it")
        if review is not None:
            store.add_task(review_task(after, review, context))
        report.invoices_closed += 1


def _of_type(cls: type[E], rows: Sequence[tuple[int, Entity]]) -> list[tuple[int, E]]:
    typed = [(line, entity) for line, entity in rows if isinstance(entity, cls)]
    if len(typed) != len(rows):
        # A layout that maps a row to the wrong entity would lose rows silently: fail loudly instead.
        raise TypeError(f"a {cls.__name__} layout produced another kind of entity")
    return typed
