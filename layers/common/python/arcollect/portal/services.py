"""What the customer self-service portal can do, behind the HTML pages and the JSON API alike.

Every entry point takes the customer id from the caller's session (never from the request), the time
from the request, and returns plain values; every change lands in the customer's timeline and changes
dunning at once (a promise pauses its invoices, a dispute takes its invoice out of dunning and gives a
collector a task). Bad input raises ``PortalInputError`` naming the field and what is wrong.

THIS MODULE IS THE CONTRACT between the domain services (implemented here) and the web layer
(functions/portal/handler.py and arcollect/portal/web/): names and signatures are fixed.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from arcollect import changes
from arcollect.calendar import Calendar, local_today
from arcollect.cells import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE
from arcollect.changes import ChangeFeed
from arcollect.contract import DropPrefix, attachment_keys, document_key
from arcollect.entities import Activity, Customer, Dispute, DisputeReason, DocumentType, Invoice
from arcollect.inputs import InputError, amount_text
from arcollect.mailing import Mailer
from arcollect.portal.account import (
    currency_totals,
    days_overdue,
    invoice_status,
    open_items,
)
from arcollect.portal.link_email import (
    CONTACT_NOTICE_KIND,
    FRESH_LINK_KIND,
    render_contact_notice,
    render_fresh_link,
)
from arcollect.portal.links import DEFAULT_LINK_DAYS, LinkClaims, LinkInvalid, portal_link, read_token
from arcollect.portal.statements import FORMATS as STATEMENT_FORMATS
from arcollect.portal.statements import statement_csv, statement_filename, statement_xlsx
from arcollect.portal.uploads import MAX_ATTACHMENT_BYTES, SNIFF_BYTES, TYPE_NAMES, content_problem, is_text
from arcollect.promises import MAX_PROMISE_DAYS, checked_promise, promise_to_pay
from arcollect.store.dunning import DunningStore
from arcollect.store.errors import StoreError
from arcollect.store.mail import MailRejected, customer_tags, tag_value
from arcollect.store.portal import ContactConflict, PortalObjects, PortalStore, StoredSession
from arcollect.store.portal import index_contacts as store_index_contacts
from arcollect.store.repositories import Activities, Customers, Invoices

if TYPE_CHECKING:
    from email.message import EmailMessage

    from arcollect.policy import PolicySet

# --- limits a finance team expects ----------------------------------------------------------------

SESSION_IDLE_MINUTES = 30
SESSION_ABSOLUTE_HOURS = 8
# "Send me a fresh link": at most this many requests per address and per client per hour.
LINK_REQUESTS_PER_HOUR = 5
# Dispute attachments: at most this size (arcollect.portal.uploads, the presigned POST's bound).
ATTACHMENT_MAX_BYTES = MAX_ATTACHMENT_BYTES
ATTACHMENT_TYPES = ("application/pdf", "image/png", "image/jpeg", "text/plain")


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


# Input the portal cannot take; ``field`` names the form field / JSON property. The domain's input
# error: the rules the portal shares with the staff console (a promise to pay) raise it too.
PortalInputError = InputError


class LinkRevoked(ValueError):
    """The link was issued before the customer's links were revoked."""


class RateLimited(RuntimeError):
    """Too many requests of one kind from one client or for one address; try again later."""


class NotFound(LookupError):
    """No such invoice on this customer's account (also what another customer's invoice looks like)."""


@dataclass(frozen=True)
class Session:
    session_id: str
    customer_id: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime  # the absolute limit
    csrf_token: str


@dataclass(frozen=True)
class CurrencyTotals:
    currency: str
    total_due: Decimal
    overdue: Decimal
    aging: dict[str, Decimal]  # current, d1_30, d31_60, d61_90, d91_plus


@dataclass(frozen=True)
class InvoiceView:
    invoice: Invoice
    days_overdue: int  # 0 when not overdue
    status: str  # "overdue" | "due" | "disputed" | "promised"
    pay_url: str | None  # the invoice's pay link, else the configured payment URL template filled in


@dataclass(frozen=True)
class AccountView:
    customer: Customer
    totals: list[CurrencyTotals]
    invoices: list[InvoiceView]


@dataclass(frozen=True)
class InvoiceDetail:
    view: InvoiceView
    document_url: (
        str | None
    )  # presigned GET of the invoice's PDF (contract.document_key), if the ERP dropped one
    promises: list[dict[str, str]] = field(default_factory=list)
    disputes: list[dict[str, str]] = field(default_factory=list)


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


# --- input validation (pure: the unit tests call these directly) ------------------------------------

_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
_PHONE = re.compile(r"^[+0-9 ()-]*$")
LANGUAGES = ("en", "de", "fr", "es", "nl", "it")
MAX_OTHER_EMAILS = 10
MAX_COMMENT_CHARS = 2000
_ATTACHMENT_EXTENSIONS = {
    "application/pdf": (".pdf",),
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
    "text/plain": (".txt",),
}


def normalise_email(text: str, field_name: str = "email") -> str:
    """The address without surrounding blanks (as typed otherwise); PortalInputError if malformed."""
    address = (text or "").strip()
    if not address:
        raise PortalInputError(field_name, "enter an email address")
    if len(address) > 254 or ".." in address or not _EMAIL.match(address):
        raise PortalInputError(field_name, f"{address!r} is not a valid email address (e.g. ap@example.com)")
    return address


def parse_email_list(text: str, field_name: str = "other_emails") -> tuple[str, ...]:
    """Addresses separated by ``;`` or ``,`` (or new lines), each valid, without repeats."""
    found: list[str] = []
    for part in re.split(r"[;,\s]+", text or ""):
        if not part:
            continue
        address = normalise_email(part, field_name)
        if address.lower() not in (a.lower() for a in found):
            found.append(address)
    if len(found) > MAX_OTHER_EMAILS:
        raise PortalInputError(field_name, f"at most {MAX_OTHER_EMAILS} further addresses")
    return tuple(found)


def parse_phone(text: str) -> str | None:
    phone = (text or "").strip()
    if len(phone) > 40:
        raise PortalInputError("phone", "at most 40 characters")
    if not _PHONE.match(phone):
        raise PortalInputError("phone", "use digits, spaces, +, - and brackets only")
    return phone or None


def parse_language(text: str) -> str | None:
    language = (text or "").strip().lower()
    if language and language not in LANGUAGES:
        raise PortalInputError("language", f"choose one of {', '.join(LANGUAGES)}")
    return language or None


def parse_dispute(reason: str, comment: str) -> tuple[DisputeReason, str]:
    try:
        why = DisputeReason((reason or "").strip())
    except ValueError as error:
        choices = ", ".join(r.value for r in DisputeReason)
        raise PortalInputError("reason", f"choose one of: {choices}") from error
    text = (comment or "").strip()
    if len(text) > MAX_COMMENT_CHARS:
        raise PortalInputError("comment", f"at most {MAX_COMMENT_CHARS} characters ({len(text)} given)")
    if why is DisputeReason.OTHER and not text:
        raise PortalInputError("comment", "describe the problem when the reason is 'other'")
    return why, text


def safe_file_name(name: str, content_type: str) -> str:
    """A file name safe as the last part of an S3 key (no path, no odd characters), whose extension
    matches ``content_type`` (the canonical one is appended when it has none)."""
    base = re.split(r"[/\\]", (name or "").strip())[-1]
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._") or "attachment"
    allowed = _ATTACHMENT_EXTENSIONS[content_type]
    stem, dot, extension = base.rpartition(".")
    if dot and f".{extension.lower()}" in allowed:
        stem, suffix = stem, f".{extension.lower()}"
    elif dot and 1 <= len(extension) <= 5 and extension.isalnum():
        raise PortalInputError(
            "attachment",
            f"a .{extension} file cannot be uploaded as {content_type} (use {', '.join(allowed)})",
        )
    else:
        stem, suffix = base, allowed[0]
    return f"{(stem.strip('._') or 'attachment')[:100]}{suffix}"


def parse_attachment(attachment: tuple[str, str, int] | None) -> tuple[str, str, int] | None:
    """(safe file name, content type, size) of a declared attachment, validated."""
    if attachment is None:
        return None
    name, content_type, size = attachment
    content_type = (content_type or "").split(";")[0].strip().lower()
    if content_type not in ATTACHMENT_TYPES:
        raise PortalInputError("attachment", "attach a PDF, PNG, JPEG or plain-text file")
    if not isinstance(size, int) or size <= 0:
        raise PortalInputError("attachment", "the file is empty")
    if size > ATTACHMENT_MAX_BYTES:
        raise PortalInputError(
            "attachment", f"the file is larger than {ATTACHMENT_MAX_BYTES // (1024 * 1024)} MB"
        )
    return safe_file_name(name, content_type), content_type, size


# --- the services -------------------------------------------------------------------------------------

DOCUMENT_URL_LIFETIME = timedelta(minutes=5)
UPLOAD_URL_LIFETIME = timedelta(minutes=15)
ATTACHMENTS_PREFIX = DropPrefix.ATTACHMENTS
# Timeline kinds the portal writes (messages() shows the fresh-link ones beside dunning's email_*).
KIND_FRESH_LINK = "fresh_link_sent"
KIND_FRESH_LINK_FAILED = "fresh_link_failed"
KIND_PROMISE = "promise_made"
KIND_DISPUTE = "dispute_opened"
KIND_CONTACT = "contact_updated"
KIND_CONTACT_NOTICE = "contact_notice_sent"
KIND_LINKS_REVOKED = "links_revoked"
KIND_PORTAL_OPENED = "portal_opened"
KIND_ATTACHMENT = "dispute_attachment_added"
KIND_ATTACHMENT_REFUSED = "dispute_attachment_refused"
_MESSAGE_KINDS = (KIND_FRESH_LINK, KIND_FRESH_LINK_FAILED)


def _new_id() -> str:
    return secrets.token_hex(8)


def _hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


_SORT_KEYS: dict[InvoiceSort, Callable[[Invoice], tuple[object, ...]]] = {
    InvoiceSort.DUE_DATE: lambda i: (i.due_date, i.invoice_number),
    InvoiceSort.INVOICE_DATE: lambda i: (i.invoice_date, i.invoice_number),
    InvoiceSort.AMOUNT: lambda i: (i.signed_open_amount, i.invoice_number),
    InvoiceSort.NUMBER: lambda i: (i.invoice_number,),
}


class Portal:
    """The portal's services. Constructed once per process by the handler with its dependencies.

    Signatures are the contract with the web layer; the domain helper implements the bodies.
    """

    def __init__(
        self,
        *,
        link_key: Callable[[], bytes],
        policies: Callable[[], PolicySet],
        mailer: Mailer,
        sender: str,
        portal_base_url: str,
        drop_bucket: str,
        payment_url_template: str | None = None,
        link_days: int = DEFAULT_LINK_DAYS,
        s3_client: Any | None = None,
        calendar: Calendar | None = None,
        store: PortalStore | None = None,
        dunning: DunningStore | None = None,
        change_feed: ChangeFeed | None = None,
        previous_link_keys: Callable[[datetime], Sequence[bytes]] = lambda now: (),
    ) -> None:
        if payment_url_template:
            try:
                payment_url_template.format(invoice_number="", open_amount="", currency="", customer_id="")
            except (KeyError, IndexError, ValueError) as error:
                raise ValueError(
                    "payment_url_template may name {invoice_number}, {open_amount}, {currency} and "
                    f"{{customer_id}} only: {error}"
                ) from error
        self._link_key = link_key
        # The key a rotation replaced still opens the links signed with it, while they can be live.
        self._previous_link_keys = previous_link_keys
        self._policies = policies
        self._mailer = mailer
        self._sender = sender
        self._base_url = portal_base_url
        self._bucket = drop_bucket
        self._payment_url_template = payment_url_template or None
        self._link_days = link_days
        self._objects = PortalObjects(s3_client)
        self._calendar = calendar or Calendar()
        self._store = store or PortalStore()
        self._dunning = dunning or DunningStore()
        self._customers = Customers()
        self._invoices = Invoices()
        self._activities = Activities()
        # Writes each decision's change for the ERP (disputes, promises, contact details) once committed.
        self._change_feed = change_feed

    # --- access ----------------------------------------------------------------------------------

    def check_link(self, token: str, *, now: datetime) -> None:
        """Whether a link from an email would open a session, without opening one: reads only (no
        session, no timeline entry, no counter), so a mail scanner prefetching the link changes
        nothing. Raises what ``open_link`` raises."""
        self._link_claims(token, now)

    def _link_claims(self, token: str, now: datetime) -> LinkClaims:
        claims = read_token(token, key=self._link_key(), now=now, also=self._previous_link_keys(now))
        found = self._store.customer_and_links_valid_from(claims.customer_id)
        if found is None:
            raise LinkInvalid("this link is not valid")
        _, valid_from = found
        if claims.revoked_by(valid_from):
            raise LinkRevoked("this link has been replaced: ask for a fresh one")
        return claims

    def open_link(self, token: str, *, now: datetime) -> Session:
        """Exchange a link from an email for a new session (the landing page's POST, never the GET a
        scanner prefetches). Raises portal.links.LinkInvalid, LinkExpired, or LinkRevoked."""
        claims = self._link_claims(token, now)
        stored = StoredSession(
            session_id=secrets.token_urlsafe(32),
            customer_id=claims.customer_id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=SESSION_ABSOLUTE_HOURS),
            csrf_token=secrets.token_urlsafe(32),
        )
        self._store.create_session(stored)
        self._activities.record(
            Activity(
                customer_id=claims.customer_id,
                at=now,
                activity_id=_new_id(),
                kind=KIND_PORTAL_OPENED,
                summary="Customer opened the portal from a link",
                detail={"link_issued_at": claims.issued_at.isoformat()},
            )
        )
        return _session(stored)

    def resume(self, session_id: str, *, now: datetime) -> Session | None:
        """The live session (its last-seen time moved to ``now``), or None when unknown, idle for more
        than SESSION_IDLE_MINUTES or older than SESSION_ABSOLUTE_HOURS."""
        if not session_id or len(session_id) > 128:
            return None
        stored = self._store.session(session_id)
        if stored is None:
            return None
        idle = now - stored.last_seen_at > timedelta(minutes=SESSION_IDLE_MINUTES)
        if idle or now >= stored.expires_at:
            self._store.delete_session(session_id)
            return None
        if not self._store.touch_session(stored, now):
            return None
        return _session(replace(stored, last_seen_at=now))

    def end(self, session_id: str) -> None:
        if session_id and len(session_id) <= 128:
            self._store.delete_session(session_id)

    def request_link(self, email: str, *, now: datetime, client: str) -> None:
        """Email a fresh link to ``email`` if it is a customer's AP address on file; the same outcome
        either way. PortalInputError for a malformed address, RateLimited past the hourly limit."""
        address = normalise_email(email).lower()
        window = _hour(now)
        # The client's allowance first: a client over it never spends the address's, or anyone could
        # block a customer's own address for the hour from one machine.
        by_client = self._store.count("link_client", client or "unknown", window, timedelta(hours=1))
        if by_client > LINK_REQUESTS_PER_HOUR:
            raise RateLimited("too many link requests: try again in an hour")
        by_address = self._store.count("link_address", address, window, timedelta(hours=1))
        if by_address > LINK_REQUESTS_PER_HOUR:
            raise RateLimited("too many link requests: try again in an hour")
        for customer_id in self._store.customers_by_email(address):
            customer = self._store.customer(customer_id)
            if customer is None:
                continue
            on_file = next(
                (a for a in (customer.email, *customer.other_emails) if a and a.strip().lower() == address),
                None,
            )
            suppressed = {a.lower() for a in customer.suppressed_emails}
            if on_file is None or address in suppressed:
                continue  # a stale lookup, or an address SES told us not to mail
            self._send_fresh_link(customer, on_file.strip(), now)

    def _send_fresh_link(self, customer: Customer, to: str, now: datetime) -> None:
        touch_id = f"fresh-link-{_new_id()}"
        link = portal_link(
            self._base_url, customer.customer_id, key=self._link_key(), now=now, days=self._link_days
        )
        message = render_fresh_link(
            customer,
            to=to,
            link=link,
            days=self._link_days,
            sender=self._sender,
            sender_name=self._policies().settings.sender_name,
            now=now,
            touch_id=touch_id,
        )
        self._send_and_record(
            customer,
            to,
            message,
            kind=FRESH_LINK_KIND,
            touch_id=touch_id,
            now=now,
            sent=(KIND_FRESH_LINK, f"Fresh portal link sent to {to} (on request)"),
            refused=(KIND_FRESH_LINK_FAILED, f"Fresh portal link to {to} was refused by the mail service"),
        )

    def _send_and_record(
        self,
        customer: Customer,
        to: str,
        message: EmailMessage,
        *,
        kind: str,
        touch_id: str,
        now: datetime,
        sent: tuple[str, str],
        refused: tuple[str, str],
    ) -> None:
        """Send one of the portal's own emails and say in the timeline what came of it (the caller's
        response stays the same either way: a refusal is recorded, not raised)."""
        # SES refuses a tag value outside [A-Za-z0-9_-]: the id travels encoded, as dunning's does.
        tags = {"kind": kind, "touch_id": tag_value(touch_id), **customer_tags(customer.customer_id)}
        try:
            message_id = self._mailer.send(sender=self._sender, to=[to], raw=message.as_bytes(), tags=tags)
        except MailRejected as error:
            (activity_kind, summary), detail = refused, {"to": to, "error": str(error)}
        else:
            (activity_kind, summary), detail = (
                sent,
                {"to": to, "message_id": message_id, "touch_id": touch_id},
            )
        self._activities.record(
            Activity(
                customer_id=customer.customer_id,
                at=now,
                activity_id=_new_id(),
                kind=activity_kind,
                summary=summary,
                detail=detail,
            )
        )

    def revoke_links(self, customer_id: str, *, now: datetime) -> None:
        """Every link issued before ``now`` for this customer stops working, and its sessions end."""
        revoke_links(customer_id, now=now, store=self._store)

    # --- reading the account ---------------------------------------------------------------------

    def _customer(self, customer_id: str) -> Customer:
        customer = self._customers.get(customer_id)
        if customer is None:
            raise NotFound(f"no customer {customer_id}")
        return customer

    def _view(self, invoice: Invoice, today: date) -> InvoiceView:
        status = invoice_status(invoice, today) if invoice.is_open else "closed"
        return InvoiceView(
            invoice=invoice,
            days_overdue=days_overdue(invoice, today) if invoice.is_open else 0,
            status=status,
            pay_url=self._pay_link(invoice) if invoice.is_open else None,
        )

    def _pay_link(self, invoice: Invoice) -> str | None:
        if invoice.document_type != DocumentType.INVOICE.value:
            return None
        if invoice.pay_url:
            return invoice.pay_url
        if not self._payment_url_template:
            return None
        values = {
            "invoice_number": invoice.invoice_number,
            "open_amount": amount_text(invoice.open_amount),
            "currency": invoice.currency,
            "customer_id": invoice.customer_id,
        }
        return self._payment_url_template.format(**{k: quote(v, safe="") for k, v in values.items()})

    def account(
        self,
        customer_id: str,
        *,
        today: date,
        sort: InvoiceSort = InvoiceSort.DUE_DATE,
        descending: bool = False,
        show: InvoiceFilter = InvoiceFilter.ALL,
    ) -> AccountView:
        customer = self._customer(customer_id)
        items = open_items(self._invoices.for_customer(customer_id))
        totals = [
            CurrencyTotals(currency=t.currency, total_due=t.total_due, overdue=t.overdue, aging=t.aging)
            for t in currency_totals(items, today)
        ]
        views = [self._view(invoice, today) for invoice in items]
        if show is not InvoiceFilter.ALL:
            views = [view for view in views if view.status == show.value]
        key = _SORT_KEYS[InvoiceSort(sort)]
        views.sort(key=lambda view: key(view.invoice), reverse=descending)
        return AccountView(customer=customer, totals=totals, invoices=views)

    def _own_invoice(self, customer_id: str, invoice_number: str) -> Invoice:
        number = (invoice_number or "").strip()
        invoice = self._invoices.get(customer_id, number) if number else None
        if invoice is None or invoice.customer_id != customer_id:
            raise NotFound(f"no invoice {number} on this account")
        return invoice

    def invoice(self, customer_id: str, invoice_number: str, *, today: date) -> InvoiceDetail:
        """Raises NotFound for an invoice that is not this customer's."""
        invoice = self._own_invoice(customer_id, invoice_number)
        key = document_key(invoice.customer_id, invoice.invoice_number, invoice.company_code)
        document_url = (
            self._objects.presigned_get(
                self._bucket,
                key,
                expires=DOCUMENT_URL_LIFETIME,
                filename=statement_filename(invoice.invoice_number, invoice.invoice_date, "pdf"),
            )
            if self._objects.exists(self._bucket, key)
            else None
        )
        promises = [
            {
                "promise_id": p.promise_id,
                "promised_until": p.promised_until.isoformat(),
                "amount": "" if p.amount is None else amount_text(p.amount),
                "currency": p.currency or "",
                "status": p.status,
                "created_at": p.created_at.isoformat(),
                "invoice_numbers": ", ".join(p.invoice_numbers),
            }
            for p in self._store.promises(customer_id)
            if invoice.invoice_number in p.invoice_numbers
        ]
        disputes = [
            {
                "dispute_id": d.dispute_id,
                "reason": d.reason,
                "comment": d.comment,
                "status": d.status,
                "created_at": d.created_at.isoformat(),
                "attachment": d.attachment_key.rsplit("/", 1)[-1] if d.attachment_key else "",
            }
            for d in self._store.disputes(customer_id)
            if d.invoice_number == invoice.invoice_number
        ]
        return InvoiceDetail(
            view=self._view(invoice, today), document_url=document_url, promises=promises, disputes=disputes
        )

    def statement(self, customer_id: str, *, today: date, fmt: str) -> Statement:
        """``fmt`` is "csv" or "xlsx"; cells starting with = + - @ are neutralised."""
        kind = (fmt or "").strip().lower()
        if kind not in STATEMENT_FORMATS:
            raise PortalInputError("format", "choose csv or xlsx")
        customer = self._customer(customer_id)
        items = open_items(self._invoices.for_customer(customer_id))
        if kind == "csv":
            body, content_type = statement_csv(customer, items, today), CSV_CONTENT_TYPE
        else:
            body, content_type = statement_xlsx(customer, items, today), XLSX_CONTENT_TYPE
        return Statement(
            body=body, content_type=content_type, filename=statement_filename(customer_id, today, kind)
        )

    def pay_url(self, customer_id: str, invoice_number: str) -> str:
        """Where to pay one invoice. NotFound, or PortalInputError when there is nowhere to pay online."""
        invoice = self._own_invoice(customer_id, invoice_number)
        if not invoice.is_open:
            raise PortalInputError("invoice_number", f"invoice {invoice.invoice_number} is already settled")
        url = self._pay_link(invoice)
        if url is None:
            raise PortalInputError(
                "invoice_number",
                f"invoice {invoice.invoice_number} cannot be paid online: see the bank details on it",
            )
        return url

    def messages(self, customer_id: str) -> list[Message]:
        found = [
            Message(at=a.at, summary=a.summary, kind=a.kind, detail=dict(a.detail))
            for a in self._activities.timeline(customer_id)
            if a.kind.startswith("email_") or a.kind in _MESSAGE_KINDS
        ]
        return sorted(found, key=lambda m: m.at, reverse=True)

    # --- changes ---------------------------------------------------------------------------------

    def _today(self, customer: Customer, now: datetime) -> date:
        return local_today(customer.time_zone, now, self._policies().settings.time_zone)

    def promise(
        self,
        customer_id: str,
        *,
        invoice_numbers: list[str],
        amount: str,
        promised_until: str,
        now: datetime,
    ) -> PromiseReceipt:
        customer = self._customer(customer_id)
        policies = self._policies()
        promise = checked_promise(
            customer_id,
            invoice_numbers=invoice_numbers,
            lookup=lambda number: self._invoices.get(customer_id, number),
            amount=amount,
            promised_until=promised_until,
            today=self._today(customer, now),
            policies=policies,
            promise_id=f"portal-{_new_id()}",
            now=now,
            source="portal",
        )
        numbers, value, currency, until = (
            list(promise.invoice_numbers),
            promise.amount or Decimal(0),
            promise.currency or "",
            promise.promised_until,
        )
        next_at = promise_to_pay(
            promise, policies=policies, calendar=self._calendar, zone_name=customer.time_zone
        )
        activity = Activity(
            customer_id=customer_id,
            at=now,
            activity_id=_new_id(),
            kind=KIND_PROMISE,
            summary=(
                f"Customer promised to pay {amount_text(value)} {currency} by {until.isoformat()} "
                f"for {', '.join(numbers)} (portal)"
            ),
            detail={
                "promise_id": promise.promise_id,
                "amount": amount_text(value),
                "currency": currency,
                "promised_until": until.isoformat(),
                "invoices": ", ".join(numbers),
                "source": "portal",
            },
            changes=(changes.promise_made(promise),),
        )
        # One transaction: the promise, its invoices paused, its timeline entry and its change.
        if not self._dunning.make_promise(promise, next_at, activity):
            raise StoreError(f"promise {promise.promise_id} exists already")
        changes.publish(self._change_feed, activity.changes)
        return PromiseReceipt(
            promise_id=promise.promise_id,
            invoice_numbers=tuple(numbers),
            promised_until=until,
            amount=value,
            currency=currency,
        )

    def dispute(
        self,
        customer_id: str,
        *,
        invoice_number: str,
        reason: str,
        comment: str,
        attachment: tuple[str, str, int] | None,
        now: datetime,
    ) -> DisputeReceipt:
        """``attachment`` is (file name, content type, size in bytes) of a file to upload next."""
        why, text = parse_dispute(reason, comment)
        upload = parse_attachment(attachment)
        invoice = self._own_invoice(customer_id, invoice_number)
        number = invoice.invoice_number
        if not invoice.is_open:
            raise PortalInputError("invoice_number", f"invoice {number} is already settled")
        if invoice.disputed:
            raise PortalInputError("invoice_number", f"invoice {number} is already disputed")
        customer = self._customer(customer_id)
        dispute_id = _new_id()
        # The file goes to a pending key first: the dispute names it an attachment only once checked.
        pending = attachment_keys(customer_id, dispute_id, upload[0])[0] if upload else None
        # The dispute workflow (routing, SLAs, the department's notice) loads with the first dispute.
        from arcollect.disputes import new_dispute, notify_department

        policies = self._policies()
        dispute, task, activity = new_dispute(
            customer,
            invoice,
            reason=why.value,
            comment=text,
            dispute_id=dispute_id,
            now=now,
            policies=policies,
            opened_by="portal",
        )
        if upload and pending:
            dispute = replace(dispute, upload_key=pending, upload_type=upload[1], upload_size=upload[2])
        if not self._store.open_dispute(dispute, task, activity):
            raise PortalInputError(
                "invoice_number", f"invoice {number} changed meanwhile: reload and try again"
            )
        changes.publish(self._change_feed, activity.changes)
        notify_department(
            dispute,
            customer,
            invoice,
            policies=policies,
            mailer=self._mailer,
            sender=self._sender,
            store=self._store,
        )
        upload_url = None
        fields: dict[str, str] = {}
        if upload and pending:
            upload_url, fields = self._objects.presigned_post(
                self._bucket,
                pending,
                content_type=upload[1],
                max_bytes=upload[2],
                expires=UPLOAD_URL_LIFETIME,
            )
        return DisputeReceipt(
            dispute_id=dispute_id, invoice_number=number, upload_url=upload_url, upload_fields=fields
        )

    def confirm_attachment(self, customer_id: str, dispute_id: str, *, now: datetime) -> AttachmentReceipt:
        """Check the file uploaded for the customer's dispute and link it: it must be there, at most the
        declared size, and of the declared type by its content. A file that fails is deleted and the
        timeline says why (PortalInputError on "attachment"); a repeated confirmation answers the same
        receipt. Another customer's dispute id is NotFound."""
        dispute = self._store.dispute(customer_id, dispute_id)
        if dispute is None:
            raise NotFound(dispute_id)
        if dispute.attachment_key:
            return _attachment_receipt(dispute)
        if not dispute.upload_key or not dispute.upload_type or not dispute.upload_size:
            raise PortalInputError(
                "attachment", f"dispute {dispute_id} is not waiting for a file: start a new upload"
            )
        pending = dispute.upload_key
        name = pending.rsplit("/", 1)[-1]
        final = attachment_keys(customer_id, dispute_id, name)[1]
        found = self._objects.stat(self._bucket, pending)
        if found is None:
            if self._objects.stat(self._bucket, final) is None:
                raise PortalInputError(
                    "attachment", f"we have not received {name} yet: upload it, then confirm again"
                )
            # Checked and moved by an earlier confirmation that stopped before linking it.
            moved = self._objects.stat(self._bucket, final)
            return self._link(dispute, final, moved[0] if moved else dispute.upload_size, now)
        size, version = found
        problem = self._upload_problem(dispute, pending, size, version)
        if problem:
            self._objects.delete(self._bucket, pending, version=version)
            self._store.refuse_upload(
                dispute,
                Activity(
                    customer_id=customer_id,
                    at=now,
                    activity_id=_new_id(),
                    kind=KIND_ATTACHMENT_REFUSED,
                    summary=f"Attachment {name} to dispute {dispute_id} refused: {problem}",
                    detail={"dispute_id": dispute_id, "file": name, "reason": problem},
                ),
            )
            raise PortalInputError("attachment", f"{name} was not accepted: {problem}. It has been deleted.")
        self._objects.move(self._bucket, pending, final, version=version)
        return self._link(dispute, final, size, now)

    def _upload_problem(self, dispute: Dispute, key: str, size: int, version: str | None) -> str | None:
        declared_type = dispute.upload_type or ""
        declared_size = dispute.upload_size or 0
        if size <= 0:
            return "the file is empty"
        if size > min(declared_size, ATTACHMENT_MAX_BYTES):
            return f"it is {size} bytes, more than the {declared_size} declared"
        start = None if is_text(declared_type) else SNIFF_BYTES
        return content_problem(
            declared_type, self._objects.read(self._bucket, key, version=version, first=start)
        )

    def _link(self, dispute: Dispute, final: str, size: int, now: datetime) -> AttachmentReceipt:
        content_type = dispute.upload_type or ""
        name = final.rsplit("/", 1)[-1]
        linked = self._store.link_attachment(
            dispute,
            final,
            content_type,
            size,
            Activity(
                customer_id=dispute.customer_id,
                at=now,
                activity_id=_new_id(),
                kind=KIND_ATTACHMENT,
                summary=f"Customer attached {name} ({TYPE_NAMES.get(content_type, content_type)}, "
                f"{size} bytes) to dispute {dispute.dispute_id}",
                detail={"dispute_id": dispute.dispute_id, "attachment": final, "size": str(size)},
            ),
        )
        if not linked:
            again = self._store.dispute(dispute.customer_id, dispute.dispute_id)
            if again is None or not again.attachment_key:
                raise PortalInputError(
                    "attachment", f"dispute {dispute.dispute_id} changed meanwhile: reload and try again"
                )
            return _attachment_receipt(again)
        return AttachmentReceipt(dispute.dispute_id, name, content_type, size)

    def update_contact(
        self,
        customer_id: str,
        *,
        email: str,
        other_emails: str,
        phone: str,
        language: str,
        now: datetime,
    ) -> Customer:
        primary = normalise_email(email, "email")
        others = tuple(a for a in parse_email_list(other_emails) if a.lower() != primary.lower())
        new_phone = parse_phone(phone)
        new_language = parse_language(language)
        for _ in range(3):
            before = self._store.customer(customer_id)
            if before is None:
                raise NotFound(f"no customer {customer_id}")
            after = replace(
                before, email=primary, other_emails=others, phone=new_phone, language=new_language
            )
            changed = {
                name: f"{_shown(old)} -> {_shown(new)}"
                for name, old, new in (
                    ("email", before.email, after.email),
                    ("other_emails", ", ".join(before.other_emails), ", ".join(after.other_emails)),
                    ("phone", before.phone, after.phone),
                    ("language", before.language, after.language),
                )
                if (old or "") != (new or "")
            }
            if not changed:
                return before
            activity_id = _new_id()
            activity = Activity(
                customer_id=customer_id,
                at=now,
                activity_id=activity_id,
                kind=KIND_CONTACT,
                summary="Customer updated contact details in the portal: "
                + "; ".join(f"{name}: {change}" for name, change in changed.items()),
                detail=changed,
                changes=(changes.contact_changed(after, changed=changed, activity_id=activity_id, at=now),),
            )
            try:
                self._store.update_contact(before, after, activity)
            except ContactConflict:
                continue
            changes.publish(self._change_feed, activity.changes)
            if "email" in changed or "other_emails" in changed:
                self._addresses_replaced(before, after, changed, now)
            return after
        raise StoreError(f"the profile of {customer_id} keeps changing; try again")

    def _addresses_replaced(
        self, before: Customer, after: Customer, changed: dict[str, str], now: datetime
    ) -> None:
        """Whoever holds a portal link can change the AP address, and fresh links then go to the new
        one: so the links sent before stop working (the session making the change goes on), and each
        address that was replaced is told, without a link."""
        revoked = Activity(
            customer_id=after.customer_id,
            at=now,
            activity_id=_new_id(),
            kind=KIND_LINKS_REVOKED,
            summary="Portal links sent before the address change stop working (new ones go to the new "
            "address)",
        )
        self._store.revoke_links(after.customer_id, now, revoked)
        change = "; ".join(
            f"{name}: {value}" for name, value in changed.items() if name in {"email", "other_emails"}
        )
        for address in _replaced_addresses(before, after):
            touch_id = f"contact-notice-{_new_id()}"
            message = render_contact_notice(
                after,
                to=address,
                change=change,
                sender=self._sender,
                sender_name=self._policies().settings.sender_name,
                now=now,
                touch_id=touch_id,
            )
            self._send_and_record(
                after,
                address,
                message,
                kind=CONTACT_NOTICE_KIND,
                touch_id=touch_id,
                now=now,
                sent=(KIND_CONTACT_NOTICE, f"The replaced address {address} was told of the change"),
                refused=(
                    KIND_CONTACT_NOTICE,
                    f"The notice of the address change to {address} was refused by the mail service",
                ),
            )


def _replaced_addresses(before: Customer, after: Customer) -> list[str]:
    """The AP addresses ``before`` had that ``after`` no longer has (as written before)."""
    kept = {a.lower() for a in (after.email, *after.other_emails) if a}
    suppressed = {a.lower() for a in before.suppressed_emails}
    found: dict[str, str] = {}
    for address in (before.email, *before.other_emails):
        if address and address.lower() not in kept | suppressed:
            found.setdefault(address.lower(), address)
    return list(found.values())


def _shown(value: str | None) -> str:
    return value if value else "(none)"


def _attachment_receipt(dispute: Dispute) -> AttachmentReceipt:
    key = dispute.attachment_key or ""
    return AttachmentReceipt(
        dispute.dispute_id,
        key.rsplit("/", 1)[-1],
        dispute.attachment_type or "",
        dispute.attachment_size or 0,
    )


def _session(stored: StoredSession) -> Session:
    return Session(
        session_id=stored.session_id,
        customer_id=stored.customer_id,
        created_at=stored.created_at,
        last_seen_at=stored.last_seen_at,
        expires_at=stored.expires_at,
        csrf_token=stored.csrf_token,
    )


def revoke_links(customer_id: str, *, now: datetime, store: PortalStore) -> None:
    """Every link issued before ``now`` for this customer stops working, and its sessions end (also
    what `arcollect portal-revoke` runs, for a link that went to the wrong person)."""
    activity = Activity(
        customer_id=customer_id,
        at=now,
        activity_id=_new_id(),
        kind=KIND_LINKS_REVOKED,
        summary="Portal links revoked: earlier links stop working and open sessions end",
    )
    if not store.revoke_links(customer_id, now, activity):
        raise NotFound(f"no customer {customer_id}")
    store.delete_customer_sessions(customer_id)


def index_contacts(customers: Iterable[Customer]) -> int:
    """Make ``customers``' AP addresses findable by "send me a fresh link" (ingest may call this
    after loading customers). See arcollect.store.portal for the lookup items."""
    return store_index_contacts(customers)


__all__ = [
    "ATTACHMENT_MAX_BYTES",
    "ATTACHMENT_TYPES",
    "LINK_REQUESTS_PER_HOUR",
    "MAX_PROMISE_DAYS",
    "SESSION_ABSOLUTE_HOURS",
    "SESSION_IDLE_MINUTES",
    "AccountView",
    "Activity",
    "AttachmentReceipt",
    "CurrencyTotals",
    "DisputeReason",
    "DisputeReceipt",
    "InvoiceDetail",
    "InvoiceFilter",
    "InvoiceSort",
    "InvoiceView",
    "LinkRevoked",
    "Mailer",
    "Message",
    "NotFound",
    "Portal",
    "PortalInputError",
    "PromiseReceipt",
    "RateLimited",
    "Session",
    "Statement",
    "index_contacts",
    "revoke_links",
]
