"""What the portal's pages and its JSON API render: the account (totals and open items, sorted and
filtered), one invoice with its promises and disputes, a statement file, the emails sent, and the
receipt of each change. Built here from records already read (pure: no store, no clock)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from urllib.parse import quote

from arcollect.entities import Activity, Customer, Dispute, DocumentType, Invoice, Promise
from arcollect.interest import Charges
from arcollect.money import plain
from arcollect.portal.account import currency_totals, days_overdue, invoice_status
from arcollect.portal.timeline import MESSAGE_KINDS


class InvoiceSort(StrEnum):
    DUE_DATE = "due_date"
    INVOICE_DATE = "invoice_date"
    AMOUNT = "amount"
    NUMBER = "number"


class InvoiceFilter(StrEnum):
    ALL = "all"
    OVERDUE = "overdue"
    DUE = "due"  # not yet overdue
    DISPUTED = "disputed"
    PROMISED = "promised"


@dataclass(frozen=True)
class CurrencyTotals:
    currency: str
    total_due: Decimal
    overdue: Decimal
    aging: dict[str, Decimal]  # current, d1_30, d31_60, d61_90, d91_plus
    # Statutory late-payment charges to date on the overdue invoices (interest and compensation):
    # part of ``total_due`` only when the policy adds them to the open amount (``AccountView``).
    late_charges: Decimal = Decimal(0)


@dataclass(frozen=True)
class InvoiceView:
    invoice: Invoice
    days_overdue: int  # 0 when not overdue
    status: str  # "overdue" | "due" | "disputed" | "promised"
    pay_url: str | None  # the invoice's pay link, else the configured payment URL template filled in
    # Its statutory late-payment charges to date, when the customer's policy charges them.
    late_charges: Charges | None = None


@dataclass(frozen=True)
class AccountView:
    customer: Customer
    totals: list[CurrencyTotals]
    invoices: list[InvoiceView]
    # Whether the policy adds the late charges to what the customer is asked to pay (off by default).
    charges_added: bool = False


@dataclass(frozen=True)
class InvoiceDetail:
    view: InvoiceView
    document_url: (
        str | None
    )  # presigned GET of the invoice's PDF (contract.document_key), if the ERP dropped one
    promises: list[dict[str, str]] = field(default_factory=list)
    disputes: list[dict[str, str]] = field(default_factory=list)
    # Whether the policy adds the invoice's late charges (``view.late_charges``) to what is asked.
    charges_added: bool = False


@dataclass(frozen=True)
class Statement:
    body: bytes
    content_type: str
    filename: str


@dataclass(frozen=True)
class DisputeReceipt:
    dispute_id: str
    invoice_number: str
    # A presigned POST for the optional attachment: post ``upload_fields`` and then the file (last) as
    # multipart/form-data to ``upload_url``, then confirm it (``Portal.confirm_attachment``).
    upload_url: str | None
    upload_fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AttachmentReceipt:
    """A checked attachment, linked to its dispute."""

    dispute_id: str
    file_name: str
    content_type: str
    size: int


@dataclass(frozen=True)
class PromiseReceipt:
    promise_id: str
    invoice_numbers: tuple[str, ...]
    promised_until: date
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class Message:
    """An email sent to the customer, and what became of it (delivered, bounced, opened...)."""

    at: datetime
    summary: str
    kind: str
    detail: dict[str, str]


class PayLinks:
    """Where an open invoice can be paid online: its own pay link from the ERP, else the configured
    payment URL template filled in (``{invoice_number}``, ``{open_amount}``, ``{currency}``,
    ``{customer_id}``, each URL-encoded); credit notes and the like are never paid."""

    def __init__(self, template: str | None) -> None:
        """ValueError for a template naming anything else, when the portal starts (not per request)."""
        if template:
            try:
                template.format(invoice_number="", open_amount="", currency="", customer_id="")
            except (KeyError, IndexError, ValueError) as error:
                raise ValueError(
                    "payment_url_template may name {invoice_number}, {open_amount}, {currency} and "
                    f"{{customer_id}} only: {error}"
                ) from error
        self._template = template or None

    def for_invoice(self, invoice: Invoice) -> str | None:
        if invoice.document_type != DocumentType.INVOICE.value:
            return None
        if invoice.pay_url:
            return invoice.pay_url
        if not self._template:
            return None
        values = {
            "invoice_number": invoice.invoice_number,
            "open_amount": plain(invoice.open_amount, invoice.currency),
            "currency": invoice.currency,
            "customer_id": invoice.customer_id,
        }
        return self._template.format(**{k: quote(v, safe="") for k, v in values.items()})


_SORT_KEYS: dict[InvoiceSort, Callable[[Invoice], tuple[object, ...]]] = {
    InvoiceSort.DUE_DATE: lambda i: (i.due_date, i.invoice_number),
    InvoiceSort.INVOICE_DATE: lambda i: (i.invoice_date, i.invoice_number),
    InvoiceSort.AMOUNT: lambda i: (i.signed_open_amount, i.invoice_number),
    InvoiceSort.NUMBER: lambda i: (i.invoice_number,),
}


def invoice_view(
    invoice: Invoice, today: date, pay_links: PayLinks, late_charges: Charges | None = None
) -> InvoiceView:
    status = invoice_status(invoice, today) if invoice.is_open else "closed"
    return InvoiceView(
        invoice=invoice,
        days_overdue=days_overdue(invoice, today) if invoice.is_open else 0,
        status=status,
        # Placed with an agency: the customer pays the agency, never us (arcollect/credit_control.py).
        pay_url=pay_links.for_invoice(invoice) if invoice.is_open and not invoice.agency else None,
        late_charges=late_charges if late_charges is not None and late_charges.any else None,
    )


def account_view(
    customer: Customer,
    items: list[Invoice],
    *,
    today: date,
    pay_links: PayLinks,
    sort: InvoiceSort,
    descending: bool,
    show: InvoiceFilter,
    late_charges: Mapping[str, Charges] | None = None,
    charges_added: bool = False,
) -> AccountView:
    """The account of ``customer`` with its open ``items``: totals of them all, the items shown. The
    invoices' ``late_charges`` (by number) are shown beside them and totalled per currency; they are
    added to the total due only when ``charges_added`` (the policy's ``add_to_open_amount``)."""
    charges = late_charges or {}
    per_currency: dict[str, Decimal] = {}
    for invoice in items:
        found = charges.get(invoice.invoice_number)
        if found is not None:
            per_currency[invoice.currency] = per_currency.get(invoice.currency, Decimal(0)) + found.total
    totals = [
        CurrencyTotals(
            currency=t.currency,
            total_due=t.total_due + (per_currency.get(t.currency, Decimal(0)) if charges_added else 0),
            overdue=t.overdue,
            aging=t.aging,
            late_charges=per_currency.get(t.currency, Decimal(0)),
        )
        for t in currency_totals(items, today)
    ]
    views = [
        invoice_view(invoice, today, pay_links, charges.get(invoice.invoice_number)) for invoice in items
    ]
    if show is not InvoiceFilter.ALL:
        views = [view for view in views if view.status == show.value]
    key = _SORT_KEYS[InvoiceSort(sort)]
    views.sort(key=lambda view: key(view.invoice), reverse=descending)
    return AccountView(
        customer=customer, totals=totals, invoices=views, charges_added=charges_added and bool(per_currency)
    )


def promise_lines(promises: Iterable[Promise], invoice_number: str) -> list[dict[str, str]]:
    """The promises that name ``invoice_number``, as the invoice page lists them."""
    return [
        {
            "promise_id": p.promise_id,
            "promised_until": p.promised_until.isoformat(),
            "amount": "" if p.amount is None else plain(p.amount, p.currency or ""),
            "currency": p.currency or "",
            "status": p.status,
            "created_at": p.created_at.isoformat(),
            "invoice_numbers": ", ".join(p.invoice_numbers),
        }
        for p in promises
        if invoice_number in p.invoice_numbers
    ]


def dispute_lines(disputes: Iterable[Dispute], invoice_number: str) -> list[dict[str, str]]:
    """The disputes of ``invoice_number``, as the invoice page lists them."""
    return [
        {
            "dispute_id": d.dispute_id,
            "reason": d.reason,
            "comment": d.comment,
            "status": d.status,
            "created_at": d.created_at.isoformat(),
            "attachment": d.attachment_key.rsplit("/", 1)[-1] if d.attachment_key else "",
        }
        for d in disputes
        if d.invoice_number == invoice_number
    ]


def emails_sent(timeline: Iterable[Activity]) -> list[Message]:
    """The emails in a customer's timeline (dunning's and the portal's own), newest first."""
    found = [
        Message(at=a.at, summary=a.summary, kind=a.kind, detail=dict(a.detail))
        for a in timeline
        if a.kind.startswith("email_") or a.kind in MESSAGE_KINDS
    ]
    return sorted(found, key=lambda m: m.at, reverse=True)


def attachment_receipt(dispute: Dispute) -> AttachmentReceipt:
    """The receipt of the attachment already linked to ``dispute``."""
    key = dispute.attachment_key or ""
    return AttachmentReceipt(
        dispute.dispute_id,
        key.rsplit("/", 1)[-1],
        dispute.attachment_type or "",
        dispute.attachment_size or 0,
    )
