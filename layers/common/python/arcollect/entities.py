"""The collections vocabulary shared by the domain and the store: plain, immutable values.

The store turns items into these and back; the domain reasons about them. Neither AWS nor pynamodb
appears here, which keeps domain code testable without either.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the change feed builds on these entities; an Activity only carries its changes
    from arcollect.changes import Change


class DropKind(StrEnum):
    """What an ERP file under ``incoming/<kind>/`` holds."""

    INVOICES = "invoices"
    PAYMENTS = "payments"
    CUSTOMERS = "customers"


class FileStatus(StrEnum):
    """Where one dropped file version stands.

    ``received``: read and counted, not loaded (a validation-only run); ``ingested``: every row was
    accepted, rejected with a reason or skipped; ``rejected``: a file-level problem stopped it before any
    row was loaded (the reasons are in ``errors``; the original file is kept).
    """

    RECEIVED = "received"
    INGESTED = "ingested"
    REJECTED = "rejected"


class DocumentType(StrEnum):
    """What an item of the open-items list is; only invoices are collected."""

    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"
    WRITE_OFF = "write_off"


class DisputeReason(StrEnum):
    """Why a customer disputes an invoice (the list the portal offers)."""

    NOT_RECEIVED = "goods_or_services_not_received"
    DAMAGED = "damaged_or_defective"
    WRONG_AMOUNT = "wrong_amount_or_price"
    WRONG_QUANTITY = "wrong_quantity"
    DUPLICATE = "duplicate_invoice"
    ALREADY_PAID = "already_paid"
    NO_PO = "missing_or_wrong_po_number"
    OTHER = "other"


class DeductionReason(StrEnum):
    """Why a customer paid an invoice short (the reason codes of trade deductions: arcollect/deductions.py).
    The policy's dispute departments list them beside the dispute reasons."""

    PRICING = "pricing"
    SHORTAGE = "shortage"
    DAMAGE = "damage"
    PROMOTION = "promotion"
    UNAUTHORIZED = "unauthorized"


class InvoiceStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class IngestFile:
    """One version of one object the ERP dropped: the unit that is ingested exactly once."""

    bucket: str
    key: str
    version_id: str
    kind: DropKind | None
    size: int
    etag: str
    event_time: datetime
    received_at: datetime
    status: FileStatus
    rows_read: int = 0
    errors: tuple[str, ...] = ()
    layout: str | None = None
    accepted: int = 0
    rejected: int = 0
    unchanged: int = 0
    skipped: int = 0
    invoices_closed: int = 0
    payments_applied: int = 0
    results_key: str | None = None
    rejected_rows_key: str | None = None


@dataclass(frozen=True)
class FeedFile:
    """The newest file ingested of one feed (a drop kind): what its data describes (``as_of``) and
    when it arrived. Dunning holds when a feed's newest data is too old (dunning/freshness.py)."""

    kind: str
    key: str
    version_id: str
    as_of: datetime
    received_at: datetime
    # The as-of of the feed's first file: a feed that never delivered is as old as the first file of
    # the feeds that did (the ERP's go-live gives a feed the policy's grace, not an instant hold).
    first_as_of: datetime | None = None


# A payment plan's id, where a promise's would be on an invoice's ``promise_id``: the prefix tells them
# apart (``plans.plan_id`` makes them). Here rather than in ``plans``, which only the features that
# agree or remind plans need: cash application, ingest and the portal's account only ask which it is.
PLAN_PREFIX = "plan-"


def is_plan_id(value: str | None) -> bool:
    """Whether an invoice's ``promise_id`` is a payment plan's (else a promise's, or none)."""
    return bool(value) and str(value).startswith(PLAN_PREFIX)


@dataclass(frozen=True)
class Invoice:
    customer_id: str
    invoice_number: str
    currency: str
    amount: Decimal
    open_amount: Decimal
    invoice_date: date
    due_date: date
    status: str = "open"
    document_type: str = DocumentType.INVOICE.value
    disputed: bool = False
    pay_url: str | None = None
    paid_date: date | None = None
    po_number: str | None = None
    description: str | None = None
    company_code: str | None = None
    # When the sweep should next look at it (the by_next_action index); None keeps it out of the index.
    next_action_at: datetime | None = None
    # The as-of time of the file that last changed it: an older file arriving late does not undo it.
    source_as_of: datetime | None = None
    # The day it was closed without a payment we know of (it left the ERP's open-items snapshot).
    closed_on: date | None = None
    # Dunning state: the policy steps already taken (a repeated step is ``<step>#<n>``), when the last
    # touch was, and an open promise to pay that pauses the invoice until ``promised_until`` + grace.
    steps_done: tuple[str, ...] = ()
    # Steps whose email bounced for good (SES's bounce event): the step is done as an email, and goes
    # again by its next channel (``<step>@bounced`` joins steps_done once that is sent).
    bounced_steps: tuple[str, ...] = ()
    last_touch_at: datetime | None = None
    promised_until: date | None = None
    promise_id: str | None = None
    # What the ERP said, kept beside what arcollect asks (docs/truth rules, "Precedence"): the open
    # amount its last file stated (None: no file stated one; payments and credits set ``open_amount``)
    # and whether its last file marked the invoice disputed.
    erp_open_amount: Decimal | None = None
    erp_disputed: bool = False
    # Decisions made in arcollect, which no ERP file undoes: a dispute opened in the portal or by a
    # collector (open until it is resolved here), and credits agreed here that the ERP has not shown
    # yet (they stay off the open amount until its files show the credit note).
    dispute_id: str | None = None
    credit_agreed: Decimal = Decimal(0)
    # One agreed credit, counted once (arcollect/credits.py): on an invoice, the ERP credit note that
    # books its agreed credit; on that credit note, the invoice whose credit it books.
    credit_match: str | None = None
    # Placed with a collection agency (arcollect/credit_control.py), which no ERP file undoes: the
    # agency, the placement and the day. The agency collects it: dunning never reminds it.
    agency: str | None = None
    agency_placement: str | None = None
    agency_placed_on: date | None = None

    def same_content(self, other: Invoice | None) -> bool:
        """Equal but for where the values came from: a newer file that says the same writes nothing."""
        return other is not None and self == replace(other, source_as_of=self.source_as_of)

    @property
    def is_open(self) -> bool:
        return self.status == InvoiceStatus.OPEN and self.open_amount > 0

    @property
    def paid_in_full_on(self) -> date | None:
        """The day it was paid, once nothing is left open. Ingest keeps the day of a partial payment as
        the paid date of an invoice still open (a file stating ``paid_date`` with an open amount left):
        that invoice is not paid yet, so no history, report or model may read it as paid that day."""
        return None if self.is_open else self.paid_date

    @property
    def is_credit_note(self) -> bool:
        """A credit note: owed to the customer, so it lowers the balance rather than adding to it."""
        return self.document_type == DocumentType.CREDIT_NOTE

    @property
    def signed_open_amount(self) -> Decimal:
        """What the item adds to the balance: a credit note's open amount counts negative."""
        return self._sign * self.open_amount

    @property
    def signed_amount(self) -> Decimal:
        """The document's amount as the balance sees it: a credit note's counts negative."""
        return self._sign * self.amount

    @property
    def _sign(self) -> int:
        return -1 if self.is_credit_note else 1


# The contact details a customer may correct in the portal: what a customer master file must not undo
# until it shows the correction (``Customer.contact_corrected``).
CONTACT_FIELDS: tuple[str, ...] = ("email", "other_emails", "phone", "language")


@dataclass(frozen=True)
class Customer:
    """A customer's master data. A placeholder stands in for a customer an invoice named before the
    customer master arrived: it holds the id only, until a customers file completes it."""

    customer_id: str
    name: str
    email: str
    phone: str | None = None
    country: str | None = None
    time_zone: str | None = None
    language: str | None = None
    industry_code: str | None = None
    annual_sales: Decimal | None = None
    customer_since: date | None = None
    owner: str | None = None
    tax_id: str | None = None
    credit_limit: Decimal | None = None
    anniversary: str | None = None
    placeholder: bool = False
    # What the master data lacks or gets wrong (no AP email, a malformed tax id, ...), one line each.
    data_quality: tuple[str, ...] = ()
    # More AP addresses: a reminder goes to every address that has not bounced or complained.
    other_emails: tuple[str, ...] = ()
    # Addresses SES reported as bounced (permanently) or complaining: never mailed again.
    suppressed_emails: tuple[str, ...] = ()
    # Collections attributes the dunning policy may choose by: an explicit segment, a risk class.
    segment: str | None = None
    risk: str | None = None
    # A dunning hold (no reminders, no dunning tasks) and do-not-contact (no emails, no calls).
    dunning_hold: bool = False
    do_not_contact: bool = False
    # When the last reminder email went out: two emails keep the policy's minimum gap.
    last_emailed_at: datetime | None = None
    # When the sweep next looks at the customer itself (the anniversary check-in).
    next_action_at: datetime | None = None
    # Set by collectors in the staff console (ingest keeps them): a hold until released, a pause until
    # a day (inclusive), and why.
    collector_hold: bool = False
    paused_until: date | None = None
    hold_reason: str | None = None
    # Promises to pay settled so far (the promise-kept rate feeds the customer's risk).
    promises_kept: int = 0
    promises_broken: int = 0
    # Set by a manager in the staff console (ingest keeps them): the owner the team chose over the
    # ERP's, and a cover (a holiday) who works the customer until a day (inclusive).
    assigned_owner: str | None = None
    cover: str | None = None
    cover_until: date | None = None
    # Set by a collector or manager in the staff console (ingest keeps them): a credit hold (no further
    # deliveries on credit: arcollect/credit_control.py), since when and why. Reminders go on.
    credit_hold: bool = False
    credit_hold_since: date | None = None
    credit_hold_reason: str | None = None
    # The postal address a letter goes to (the customer master's address columns), one line each
    # below the name: street lines, then the postal code and city as the country writes them.
    postal_address: tuple[str, ...] = ()
    # The mobile number a text goes to (the customer master's, E.164 when its country made it one), and
    # whether a reply opted it out (written by the dunning function: never texted again).
    mobile: str | None = None
    sms_opted_out: bool = False
    # A mobile number the carrier said cannot receive texts (a delivery receipt: the dunning function's).
    # Only while the customer master still gives that number: a new one is texted again.
    sms_undeliverable: str | None = None
    # Contact details the customer corrected in the portal (``CONTACT_FIELDS``' names) that the ERP's
    # customer master has not shown yet: a master file sent again keeps the correction, and says so in
    # a review task, until it shows the same (ingest/precedence.py, ``merge_contact``).
    contact_corrected: tuple[str, ...] = ()

    def owner_on(self, today: date) -> str | None:
        """Who works the customer's tasks on ``today``: the cover until its end day, else the owner a
        manager chose, else the ERP's."""
        if self.cover and self.cover_until is not None and today <= self.cover_until:
            return self.cover
        return self.assigned_owner or self.owner

    def on_hold(self, today: date) -> bool:
        """No reminders and no dunning tasks today: the ERP's hold, a collector's hold or pause."""
        paused = self.paused_until is not None and today <= self.paused_until
        return self.dunning_hold or self.collector_hold or paused

    @property
    def fingerprint(self) -> str:
        """A digest of what dunning decides by (everything but the last email and the next look): a
        copy of the profile kept beside an invoice is current while the profile's fingerprint matches."""
        decided_by: tuple[object, ...] = (
            self.customer_id, self.name, self.email, self.other_emails, tuple(sorted(self.suppressed_emails)),
            self.country, self.time_zone, self.language, self.industry_code, str(self.annual_sales),
            str(self.customer_since), self.owner, self.segment, self.risk, self.dunning_hold,
            self.do_not_contact, self.placeholder, self.collector_hold, str(self.paused_until),
        )  # fmt: skip
        if self.assigned_owner or self.cover:
            # Only when set, so that the fingerprints of customers nobody reassigned stay as they were.
            decided_by += (self.assigned_owner, self.cover, str(self.cover_until))
        if self.postal_address:
            # Only when set, like the reassignment: a letter channel decides by it.
            decided_by += (self.postal_address,)
        if self.mobile or self.sms_opted_out:
            # Only when set, like the reassignment: the SMS channel decides by them.
            decided_by += (self.mobile, self.sms_opted_out)
        if self.sms_undeliverable:
            decided_by += (self.sms_undeliverable,)
        return hashlib.sha256(repr(decided_by).encode()).hexdigest()[:16]

    @property
    def reachable_emails(self) -> tuple[str, ...]:
        """The addresses a reminder may go to, primary first, without suppressed ones or repeats."""
        suppressed = {address.lower() for address in self.suppressed_emails}
        seen: list[str] = []
        for address in (self.email, *self.other_emails):
            if address and address.lower() not in suppressed and address.lower() not in map(str.lower, seen):
                seen.append(address)
        return tuple(seen)


@dataclass(frozen=True)
class Allocation:
    """Part of a payment for one invoice: a line of the customer's remittance advice (what they say it
    pays; ``invoice_number`` empty for money the line names no invoice for), or what was applied."""

    invoice_number: str
    amount: Decimal


@dataclass(frozen=True)
class Payment:
    """Money received from a customer and what part of it settled which invoice."""

    customer_id: str
    payment_id: str
    payment_date: date
    amount: Decimal
    currency: str
    invoice_number: str | None = None
    reference: str | None = None
    applied_amount: Decimal = Decimal(0)
    unapplied_amount: Decimal = Decimal(0)
    # The invoice the money went to, when it went to exactly one (``allocations`` says it for all).
    applied_to: str | None = None
    # The remittance advice as received (lines of one payment: arcollect/cash.py), and what was applied
    # to which invoice, by ingest and by collectors' apply-cash decisions, in the order it was applied.
    remittance: tuple[Allocation, ...] = ()
    allocations: tuple[Allocation, ...] = ()

    @property
    def applications(self) -> tuple[Allocation, ...]:
        """What of the payment settled which invoice; a payment recorded before allocations were kept
        names its one invoice in ``applied_to``."""
        if self.allocations:
            return self.allocations
        if self.applied_to and self.applied_amount > 0:
            return (Allocation(self.applied_to, self.applied_amount),)
        return ()


class PaymentWrite(StrEnum):
    """What became of one attempt to record a payment."""

    RECORDED = "recorded"
    # The payment id is in the table already: an earlier run recorded it (exactly-once).
    DUPLICATE = "duplicate"
    # The invoice changed between reading it and settling it: read it again and retry.
    CONFLICT = "conflict"


@dataclass(frozen=True)
class Activity:
    """An entry of a customer's timeline (emails, calls, portal actions, ingest changes).

    ``changes`` are what the ERP must learn of it (arcollect/changes.py): the store writes them in the
    same write as the entry, so a decision and its change feed record never part. They are not read
    back with the timeline."""

    customer_id: str
    at: datetime
    activity_id: str
    kind: str
    summary: str
    detail: dict[str, str] = field(default_factory=dict)
    changes: tuple[Change, ...] = ()


class TaskKind(StrEnum):
    """Why a collector has something to do. Dunning steps add their action (``call``, ``owner_alert``,
    ``escalation``, ``credit_hold``, ``agency``) and the engine's own kinds."""

    COMPLETE_MASTER_DATA = "complete_master_data"
    FIX_CONTACT = "fix_contact"
    CHECK_IN = "check_in"
    REVIEW_TOUCH = "review_touch"
    # SES refused a reminder for good (its reason is on the task): fix the data, then it is sent again.
    FIX_AND_RESEND = "fix_and_resend"
    # An ERP file disagrees with a payment recorded or a decision made in arcollect.
    REVIEW_ERP = "review_erp"
    # Cash received that no invoice took (or the rest of it): a collector applies it (arcollect/cash.py).
    APPLY_CASH = "apply_cash"
    DISPUTE = "dispute"
    FOLLOW_UP = "follow_up"


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"


@dataclass(frozen=True)
class Task:
    """A collector's to-do on one customer's account; ``task_id`` makes creating it idempotent."""

    customer_id: str
    task_id: str
    kind: str
    title: str
    created_at: datetime
    status: str = "open"
    detail: dict[str, str] = field(default_factory=dict)
    # Whose worklist it is on (a collector's user name: the customer's owner, a round-robin pick, or
    # the manager), the day it should be done by, and its priority score when it was created (the
    # worklist scores again as of today from the factors in ``detail``).
    assignee: str | None = None
    due_on: date | None = None
    score: int = 0
    # Working it: how many attempts (voicemail, no answer), the last outcome, when it was closed.
    attempts: int = 0
    outcome: str | None = None
    closed_at: datetime | None = None


@dataclass(frozen=True)
class Dispute:
    customer_id: str
    dispute_id: str
    invoice_number: str
    reason: str
    comment: str
    created_at: datetime
    status: str = "open"
    attachment_key: str | None = None
    attachment_type: str | None = None
    attachment_size: int | None = None
    # The upload presigned and not yet checked (pending key, declared type and size): never shown as an
    # attachment until the portal has checked the file and linked it (``link_attachment``).
    upload_key: str | None = None
    upload_type: str | None = None
    upload_size: int | None = None
    # Routing and workflow (see arcollect.disputes): "portal" or the collector who logged it.
    department: str | None = None
    sla_days: int | None = None
    opened_by: str = "portal"
    resolution_note: str | None = None
    credit_amount: Decimal | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    notified_at: datetime | None = None
    # A deduction (arcollect/deductions.py: its reason is a deduction reason): the residual a short
    # payment left open when it was coded, and the payments that paid the rest.
    amount: Decimal | None = None
    payment_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Promise:
    """A customer's promise to pay ``invoice_numbers`` by ``promised_until``."""

    customer_id: str
    promise_id: str
    invoice_numbers: tuple[str, ...]
    promised_until: date
    created_at: datetime
    amount: Decimal | None = None
    currency: str | None = None
    status: str = "open"
    # Who took it: "portal" (the customer) or the collector's user name.
    source: str = "portal"
    # What had been paid towards it when it was settled (kept or broken), and when.
    paid_amount: Decimal | None = None
    settled_at: datetime | None = None


@dataclass(frozen=True)
class SweepRun:
    """One scheduled run of a function at one scheduled time."""

    function: str
    scheduled_at: datetime
    started_at: datetime
    due_items: int
