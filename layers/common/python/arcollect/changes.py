"""The outbound change feed: what arcollect decided that the ERP must book or know.

arcollect is the book of record for collections decisions (disputes, agreed credits, promises, credit
holds and agency referrals, contact details customers changed in the portal, addresses that bounced and
mobile numbers that cannot receive texts, cash a collector applied to invoices);
the ERP is the book of record for documents. Each decision becomes a ``Change`` with a stable id, and
the ERP imports the changes from the drop bucket instead of someone re-typing them:

``outgoing/changes/<day>/<change id>.json``
    one change as it happens (its JSON Lines record), written right after the decision is committed;
``outgoing/daily/<day>.csv`` and ``outgoing/daily/<day>.jsonl``
    every change of the day (UTC), sorted by time then id, written by the next morning's daily run;
``outgoing/daily/<day>/<kind>.csv``
    the day's changes of one kind: what one ERP import takes (credit memos, customer updates, notes).

Where a change is kept, and why there: it is written to the table in the same transaction as the
decision itself (next to its timeline entry), so there is never a decision without its change nor a
change without its decision, and a retried request or handler finds the decision made and writes
nothing new. The per-change object is written after that commit and may fail (S3 unavailable, a crash
in between): the daily files are rebuilt from the table, never from those objects, so a lost object
delays a change by a day at most and loses nothing.

The id is a digest of the kind, the customer and what the change is about (the dispute, the promise,
the task and its attempt, the bounced message and address): the same decision always has the same id,
in its own object, its day's files and any later rewrite of them. An ERP import keyed on it (NetSuite's
External ID, a Business Central document number) books a change once however often a file is imported.
It is 20 characters of ``A-Z0-9``: it fits Business Central's Code[20] numbers and an S3 key unquoted.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final, Protocol

from arcollect.cells import CSV_CONTENT_TYPE, neutralise
from arcollect.clock import format_instant
from arcollect.contract import DropPrefix
from arcollect.entities import Customer, Promise

# Bumped when a column changes meaning or is removed; new columns are added at the end without a bump.
SCHEMA_VERSION: Final = 1

CHANGES_PREFIX: Final = f"{DropPrefix.OUTGOING}changes/"
DAILY_PREFIX: Final = f"{DropPrefix.OUTGOING}daily/"

JSONL_CONTENT_TYPE: Final = "application/x-ndjson"
JSON_CONTENT_TYPE: Final = "application/json"

# Several invoice numbers in one cell (a promise covers several invoices).
INVOICE_SEPARATOR: Final = ";"

if TYPE_CHECKING:
    # A type only: the ingest function writes changes without loading the charges' rules.
    from arcollect.interest import Charges


class ChangeKind(StrEnum):
    DISPUTE_OPENED = "dispute_opened"
    DISPUTE_RESOLVED = "dispute_resolved"
    CREDIT_AGREED = "credit_agreed"
    PROMISE_MADE = "promise_made"
    PROMISE_KEPT = "promise_kept"
    PROMISE_BROKEN = "promise_broken"
    CREDIT_HOLD = "credit_hold"
    AGENCY_REFERRAL = "agency_referral"
    CONTACT_CHANGED = "contact_changed"
    EMAIL_BOUNCED = "email_bounced"
    # The carrier said the customer's mobile number cannot receive texts (a delivery receipt).
    MOBILE_UNDELIVERABLE = "mobile_undeliverable"
    CASH_APPLIED = "cash_applied"
    LATE_INTEREST = "late_interest"
    LATE_COMPENSATION = "late_compensation"
    # Payment plans (arcollect/plans.py): agreed, then completed or broken.
    PLAN_AGREED = "plan_agreed"
    PLAN_COMPLETED = "plan_completed"
    PLAN_BROKEN = "plan_broken"
    DEDUCTION_CODED = "deduction_coded"
    DEDUCTION_RESOLVED = "deduction_resolved"
    CREDIT_HOLD_LIFTED = "credit_hold_lifted"
    AGENCY_RECALLED = "agency_recalled"
    AGENCY_COLLECTED = "agency_collected"
    # A disputed invoice leaves its payment plan; a plan cancelled by a collector (arcollect/plans.py).
    PLAN_INVOICE_WITHDRAWN = "plan_invoice_withdrawn"
    PLAN_CANCELLED = "plan_cancelled"


# The columns of the CSV files, in order; the keys of every JSON Lines record, in the same order.
COLUMNS: Final = (
    "change_id",
    "schema_version",
    "kind",
    "occurred_at",
    "customer_id",
    "invoice_number",
    "amount",
    "currency",
    "promised_date",
    "reason",
    "email",
    "other_emails",
    "phone",
    "language",
    "note",
    "actor",
    "reference",
)
# Written by arcollect itself (ids, codes, instants, amounts, dates): never a formula, never altered.
# Every other column holds text from the ERP, the customer or a collector and is neutralised in CSV.
_OWN_COLUMNS: Final = frozenset(
    {"change_id", "schema_version", "kind", "occurred_at", "amount", "promised_date"}
)

Record = dict[str, str]


class ChangeRecordError(ValueError):
    """A stored or downloaded change record that is not one (the message says what is wrong)."""


def change_id(kind: str, customer_id: str, key: Sequence[str]) -> str:
    """The stable id of a change: the same kind, customer and subject always give the same id."""
    material = "\x1f".join([kind, customer_id, *key]).encode()
    return "AR" + hashlib.sha256(material).hexdigest()[:18].upper()


def _amount(value: Decimal | None) -> str:
    """A plain decimal, at least two places (``120.50``, ``1000.00``; ``0.125`` as it is)."""
    if value is None:
        return ""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        value = value.quantize(Decimal("0.01"))
    return format(value, "f")


@dataclass(frozen=True)
class Change:
    """One decision the ERP must book or know. ``key`` is what it is about (its first part is the
    ``reference`` column: the dispute, promise, task or message id); with ``kind`` and ``customer_id``
    it makes the ``change_id``."""

    kind: ChangeKind
    occurred_at: datetime
    customer_id: str
    key: tuple[str, ...]
    invoice_numbers: tuple[str, ...] = ()
    amount: Decimal | None = None
    currency: str = ""
    promised_date: date | None = None
    reason: str = ""
    email: str = ""
    other_emails: str = ""
    phone: str = ""
    language: str = ""
    note: str = ""
    actor: str = ""

    @property
    def change_id(self) -> str:
        return change_id(self.kind, self.customer_id, self.key)

    @property
    def day(self) -> date:
        """The UTC day the change belongs to (its daily files)."""
        return self.occurred_at.astimezone(UTC).date()

    def record(self) -> Record:
        """The change as its CSV row and JSON Lines record: column -> text ("" when it has none)."""
        return {
            "change_id": self.change_id,
            "schema_version": str(SCHEMA_VERSION),
            "kind": self.kind.value,
            "occurred_at": format_instant(self.occurred_at),
            "customer_id": self.customer_id,
            "invoice_number": INVOICE_SEPARATOR.join(self.invoice_numbers),
            "amount": _amount(self.amount),
            "currency": self.currency,
            "promised_date": self.promised_date.isoformat() if self.promised_date else "",
            "reason": self.reason,
            "email": self.email,
            "other_emails": self.other_emails,
            "phone": self.phone,
            "language": self.language,
            "note": self.note,
            "actor": self.actor,
            "reference": self.key[0] if self.key else "",
        }


# --- the changes each decision makes ----------------------------------------------------------------


def dispute_opened(
    *,
    customer_id: str,
    dispute_id: str,
    invoice_number: str,
    open_amount: Decimal,
    currency: str,
    reason: str,
    comment: str,
    opened_by: str,
    at: datetime,
) -> Change:
    """An invoice is disputed (in the portal or by a collector): the ERP marks it, e.g. a dispute
    status on the ledger entry, so its own reminders and reports leave it out."""
    return Change(
        ChangeKind.DISPUTE_OPENED,
        at,
        customer_id,
        (dispute_id,),
        invoice_numbers=(invoice_number,),
        amount=open_amount,
        currency=currency,
        reason=reason,
        note=comment,
        actor=opened_by,
    )


def dispute_resolved(
    *,
    customer_id: str,
    dispute_id: str,
    invoice_number: str,
    dispute_reason: str,
    credit: Decimal | None,
    currency: str,
    note: str,
    by: str,
    at: datetime,
    erp_credit_note: str | None = None,
) -> tuple[Change, ...]:
    """A dispute resolved: valid (the invoice stands) or with a credit. A credit is also a
    ``credit_agreed`` change for the ERP to book as a credit memo, unless the ERP's own credit note for
    it was already matched here (``erp_credit_note``): it is booked, and booking it again would count
    it twice."""
    resolution = "credit" if credit is not None else "valid"
    resolved = Change(
        ChangeKind.DISPUTE_RESOLVED,
        at,
        customer_id,
        (dispute_id,),
        invoice_numbers=(invoice_number,),
        amount=credit,
        currency=currency if credit is not None else "",
        reason=resolution,
        note=_naming_erp_credit_note(note, erp_credit_note),
        actor=by,
    )
    return _with_credit_agreed(resolved, credit, dispute_reason, note, erp_credit_note)


def _naming_erp_credit_note(note: str, erp_credit_note: str | None) -> str:
    return note + (f" (the ERP's credit note {erp_credit_note})" if erp_credit_note else "")


def _with_credit_agreed(
    resolved: Change, credit: Decimal | None, reason: str, note: str, erp_credit_note: str | None
) -> tuple[Change, ...]:
    """``resolved``, and the credit memo for the ERP to book (a ``credit_agreed`` change of the same
    dispute, invoice and amount) when it agreed a credit whose ERP credit note was not matched already:
    booking that one again would count the credit twice."""
    if credit is None or erp_credit_note:
        return (resolved,)
    return (
        resolved,
        replace(resolved, kind=ChangeKind.CREDIT_AGREED, amount=credit, reason=reason, note=note),
    )


def deduction_coded(
    *,
    customer_id: str,
    dispute_id: str,
    invoice_number: str,
    amount: Decimal,
    currency: str,
    reason: str,
    comment: str,
    payment_ids: Sequence[str],
    by: str,
    at: datetime,
) -> Change:
    """A short payment's residual coded as a deduction (``reason``: pricing, shortage, damage,
    promotion, unauthorized): the ERP marks the residual item with the reason code, e.g. a deduction
    case or a reason code on the residual line. ``note`` names the payments that paid the rest."""
    paid_by = f"paid short by {', '.join(payment_ids)}" if payment_ids else ""
    return Change(
        ChangeKind.DEDUCTION_CODED,
        at,
        customer_id,
        (dispute_id,),
        invoice_numbers=(invoice_number,),
        amount=amount,
        currency=currency,
        reason=reason,
        note="; ".join(part for part in (comment, paid_by) if part),
        actor=by,
    )


def deduction_resolved(
    *,
    customer_id: str,
    dispute_id: str,
    invoice_number: str,
    deduction_reason: str,
    credit: Decimal | None,
    residual: Decimal,
    currency: str,
    note: str,
    by: str,
    at: datetime,
    erp_credit_note: str | None = None,
) -> tuple[Change, ...]:
    """A deduction resolved: ``credit`` (agreed, the residual written off: also a ``credit_agreed``
    change, the credit memo the ERP books, unless its own credit note was matched already) or
    ``rebill`` (the residual is owed: the ERP takes the reason code off and collects it again). The
    outcome is the ``reason`` column; ``amount`` is the credit, or the residual collected again."""
    outcome = "credit" if credit is not None else "rebill"
    resolved = Change(
        ChangeKind.DEDUCTION_RESOLVED,
        at,
        customer_id,
        (dispute_id,),
        invoice_numbers=(invoice_number,),
        amount=credit if credit is not None else residual,
        currency=currency,
        reason=outcome,
        note=_naming_erp_credit_note(note, erp_credit_note),
        actor=by,
    )
    return _with_credit_agreed(resolved, credit, f"deduction:{deduction_reason}", note, erp_credit_note)


def credit_hold(*, customer_id: str, on: bool, reason: str, by: str, at: datetime) -> Change:
    """The customer put on credit hold (``credit_hold``: no further deliveries on credit; the ERP
    blocks its sales orders) or the hold lifted (``credit_hold_lifted``). ``note`` says why."""
    return Change(
        ChangeKind.CREDIT_HOLD if on else ChangeKind.CREDIT_HOLD_LIFTED,
        at,
        customer_id,
        (f"credit-hold-{'on' if on else 'off'}-{format_instant(at)}",),
        note=reason,
        actor=by,
    )


def agency_placement(
    kind: ChangeKind,
    *,
    customer_id: str,
    placement_id: str,
    agency: str,
    invoice_number: str,
    amount: Decimal,
    currency: str,
    note: str,
    by: str,
    at: datetime,
) -> Change:
    """One invoice of an agency placement: placed (``agency_referral``: the ERP flags it as with the
    agency, or books the transfer) or recalled (``agency_recalled``: back with the company). ``reason``
    is the agency, ``amount`` the open amount placed or recalled, ``reference`` the placement."""
    if kind not in (ChangeKind.AGENCY_REFERRAL, ChangeKind.AGENCY_RECALLED):
        raise ValueError(f"{kind} is not a placement change")
    return Change(
        kind,
        at,
        customer_id,
        (placement_id, invoice_number),
        invoice_numbers=(invoice_number,),
        amount=amount,
        currency=currency,
        reason=agency,
        note=note,
        actor=by,
    )


def agency_collected(
    *,
    customer_id: str,
    payment_id: str,
    agency: str,
    invoice_number: str,
    amount: Decimal,
    currency: str,
    note: str,
    by: str,
    at: datetime,
) -> Change:
    """The agency collected ``amount`` of a placed invoice (``reference`` = the payment arcollect
    recorded for it): the ERP books the receipt from the agency against the invoice."""
    return Change(
        ChangeKind.AGENCY_COLLECTED,
        at,
        customer_id,
        (payment_id,),
        invoice_numbers=(invoice_number,),
        amount=amount,
        currency=currency,
        reason=agency,
        note=note,
        actor=by,
    )


def promise_made(promise: Promise) -> Change:
    """A promise to pay ``promise.amount`` by ``promise.promised_until`` (the portal's or a call's)."""
    return Change(
        ChangeKind.PROMISE_MADE,
        promise.created_at,
        promise.customer_id,
        (promise.promise_id,),
        invoice_numbers=promise.invoice_numbers,
        amount=promise.amount,
        currency=promise.currency or "",
        promised_date=promise.promised_until,
        actor=promise.source,
    )


def promise_settled(promise: Promise, *, kept: bool, paid: Decimal, at: datetime) -> Change:
    """The promise kept or broken, settled from the payments; the note says what was paid towards it."""
    currency = promise.currency or ""
    return Change(
        ChangeKind.PROMISE_KEPT if kept else ChangeKind.PROMISE_BROKEN,
        at,
        promise.customer_id,
        (promise.promise_id,),
        invoice_numbers=promise.invoice_numbers,
        amount=promise.amount,
        currency=currency,
        promised_date=promise.promised_until,
        note=f"paid towards it: {_amount(paid)} {currency}".rstrip(),
        actor="dunning",
    )


def collector_decision(
    kind: ChangeKind,
    *,
    customer_id: str,
    task_id: str,
    attempt: int,
    invoice_numbers: Sequence[str],
    note: str,
    by: str,
    at: datetime,
) -> Change:
    """A credit hold or an agency referral decided while working a task (the policy's decision task)."""
    if kind not in (ChangeKind.CREDIT_HOLD, ChangeKind.AGENCY_REFERRAL):
        raise ValueError(f"{kind} is not a collector's decision")
    return Change(
        kind,
        at,
        customer_id,
        (task_id, str(attempt)),
        invoice_numbers=tuple(invoice_numbers),
        note=note,
        actor=by,
    )


def contact_changed(after: Customer, *, changed: Iterable[str], activity_id: str, at: datetime) -> Change:
    """The customer changed its contact details in the portal: the new ones, all of them (an import
    setting each field leaves none stale), and in ``reason`` the names of those that changed."""
    return Change(
        ChangeKind.CONTACT_CHANGED,
        at,
        after.customer_id,
        (activity_id,),
        reason=",".join(changed),
        email=after.email or "",
        other_emails=INVOICE_SEPARATOR.join(after.other_emails),
        phone=after.phone or "",
        language=after.language or "",
        actor="portal",
    )


def email_bounced(
    *, customer_id: str, message_id: str, address: str, bounce_type: str, at: datetime
) -> Change:
    """SES reports a permanent bounce of ``address``: arcollect stops mailing it, and the ERP's master
    data should be corrected."""
    return Change(
        ChangeKind.EMAIL_BOUNCED,
        at,
        customer_id,
        (message_id, address.lower()),
        reason=bounce_type,
        email=address,
        actor="ses",
    )


def mobile_undeliverable(
    *, customer_id: str, message_id: str, number: str, event_type: str, at: datetime
) -> Change:
    """The carrier's final receipt that ``number`` cannot receive texts (``TEXT_INVALID``,
    ``TEXT_BLOCKED``): arcollect stops texting it, and the ERP's master data should be corrected."""
    return Change(
        ChangeKind.MOBILE_UNDELIVERABLE,
        at,
        customer_id,
        (message_id, number),
        reason=event_type,
        phone=number,
        actor="sms",
    )


def cash_applied(
    *,
    customer_id: str,
    payment_id: str,
    decision: int,
    invoice_number: str,
    amount: Decimal,
    currency: str,
    note: str,
    by: str,
    at: datetime,
) -> Change:
    """A collector applied part of a payment's unapplied cash to an invoice (``Workspace.apply_cash``,
    one change per invoice of the decision): the ERP applies the payment (``reference``) to the invoice
    for ``amount``. ``decision`` counts the payment's decisions (1, 2, ...), so a second decision about
    the same payment and invoice is a change of its own."""
    return Change(
        ChangeKind.CASH_APPLIED,
        at,
        customer_id,
        (payment_id, str(decision), invoice_number),
        invoice_numbers=(invoice_number,),
        amount=amount,
        currency=currency,
        note=note,
        actor=by,
    )


def late_charges(
    *, customer_id: str, touch_id: str, invoice_number: str, charges: Charges, added: bool, at: datetime
) -> tuple[Change, ...]:
    """The statutory late-payment charges the final notice (``touch_id``) listed for one invoice, for
    the ERP to book if the company claims them: a ``late_interest`` change (the interest to date) and a
    ``late_compensation`` change (the fixed compensation), each with an amount (none when zero), so
    each kind is one import to its own account. ``reason`` says whether arcollect added them to the
    open amount it asks for (``added``) or not (``not_added``, the default)."""
    note = (
        f"{charges.days_late} days late as of {charges.as_of.isoformat()}; computed by arcollect, "
        "the company decides whether to claim it"
    )
    found = []
    for kind, amount in (
        (ChangeKind.LATE_INTEREST, charges.interest),
        (ChangeKind.LATE_COMPENSATION, charges.compensation),
    ):
        if amount > 0:
            found.append(
                Change(
                    kind,
                    at,
                    customer_id,
                    (touch_id, invoice_number),
                    invoice_numbers=(invoice_number,),
                    amount=amount,
                    currency=charges.currency,
                    reason="added" if added else "not_added",
                    note=note,
                    actor="dunning",
                )
            )
    return tuple(found)


# --- records and files -----------------------------------------------------------------------------


def json_line(record: Mapping[str, str]) -> str:
    """One JSON Lines record (no newline): every column in order, "" as null, the schema version a
    number. Not neutralised: JSON is read by programs, and they get the exact values."""
    document: dict[str, Any] = {column: record.get(column) or None for column in COLUMNS}
    document["schema_version"] = int(record.get("schema_version") or SCHEMA_VERSION)
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def record_from_json(text: str) -> Record:
    """A record from its JSON Lines line (a stored change, a per-change object)."""
    try:
        document = json.loads(text)
    except ValueError as error:
        raise ChangeRecordError(f"not JSON: {error}") from error
    if not isinstance(document, dict):
        raise ChangeRecordError("a change record is a JSON object")
    record: Record = {}
    for column in COLUMNS:
        value = document.get(column)
        if value is not None and not isinstance(value, str | int):
            raise ChangeRecordError(f"{column} is not text")
        record[column] = "" if value is None else str(value)
    if not record["change_id"] or not record["kind"] or not record["occurred_at"]:
        raise ChangeRecordError("a change record needs change_id, kind and occurred_at")
    return record


def ordered(records: Iterable[Mapping[str, str]]) -> list[Record]:
    """One record per change id, by time then id: the order of every file, so the same changes always
    give the same bytes."""
    unique = {record["change_id"]: dict(record) for record in records}
    return sorted(unique.values(), key=lambda r: (r["occurred_at"], r["change_id"]))


def csv_bytes(records: Iterable[Mapping[str, str]]) -> bytes:
    """UTF-8 CSV (no byte-order mark: ERP importers read it as data), a header row, CRLF line ends,
    quoted where a value holds a comma, quote or line break; text from outside neutralised."""
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for record in records:
        writer.writerow([record[c] if c in _OWN_COLUMNS else neutralise(record[c]) for c in COLUMNS])
    return text.getvalue().encode("utf-8")


def jsonl_bytes(records: Iterable[Mapping[str, str]]) -> bytes:
    return "".join(json_line(record) + "\n" for record in records).encode("utf-8")


def change_key(change: Change) -> str:
    """Where the change's own object goes (the id is ``A-Z0-9``: safe in a key as it is)."""
    return f"{CHANGES_PREFIX}{change.day.isoformat()}/{change.change_id}.json"


def change_object(change: Change) -> bytes:
    """The per-change object: the change's JSON Lines record (a one-line JSON Lines file)."""
    return (json_line(change.record()) + "\n").encode("utf-8")


def day_files(
    day: date, records: Iterable[Mapping[str, str]], *, name: str | None = None
) -> dict[str, tuple[bytes, str]]:
    """A day's files, file name -> (content, content type): ``<name>.csv`` and ``<name>.jsonl`` with
    every change (written even for a day without any: an empty day is a finished day), and
    ``<name>/<kind>.csv`` for each kind that happened. ``name`` defaults to the day."""
    base = name or day.isoformat()
    rows = ordered(records)
    files = {
        f"{base}.csv": (csv_bytes(rows), CSV_CONTENT_TYPE),
        f"{base}.jsonl": (jsonl_bytes(rows), JSONL_CONTENT_TYPE),
    }
    for kind in sorted({row["kind"] for row in rows}):
        files[f"{base}/{kind}.csv"] = (
            csv_bytes(row for row in rows if row["kind"] == kind),
            CSV_CONTENT_TYPE,
        )
    return files


# --- publishing ------------------------------------------------------------------------------------


class ChangeFeed(Protocol):
    """Writes each change's own object once its decision is committed; never raises (see the module's
    docstring: the change is in the table already)."""

    def publish(self, changes: Sequence[Change]) -> None: ...


class ChangeLog(Protocol):
    """The changes of a day, as recorded in the table with their decisions."""

    def records_of(self, day: date) -> list[Record]: ...


class Files(Protocol):
    def put_bytes(self, bucket: str, key: str, body: bytes, content_type: str) -> None: ...


def publish(feed: ChangeFeed | None, changes: Sequence[Change]) -> None:
    """Hand the committed ``changes`` to ``feed`` (none in tests and tools that do not publish)."""
    if feed is not None and changes:
        feed.publish(changes)


def days_to_roll_up(as_of: date) -> tuple[date, date]:
    """The days a daily run as of ``as_of`` writes: the day before, finished by then, and the day
    before that again, so a change recorded late for its day (an SES event EventBridge retried for
    hours) still reaches its day's files. The second writing is byte for byte the first unless one did."""
    return as_of - timedelta(days=1), as_of - timedelta(days=2)


def roll_up(day: date, *, log: ChangeLog, files: Files, bucket: str) -> list[str]:
    """Write ``day``'s files under ``outgoing/daily/`` from the table; returns the keys written."""
    written = []
    for name, (body, content_type) in day_files(day, log.records_of(day)).items():
        key = f"{DAILY_PREFIX}{name}"
        files.put_bytes(bucket, key, body, content_type)
        written.append(key)
    return written


__all__ = [
    "COLUMNS",
    "SCHEMA_VERSION",
    "Change",
    "ChangeFeed",
    "ChangeKind",
    "ChangeLog",
    "ChangeRecordError",
    "change_id",
    "csv_bytes",
    "day_files",
    "jsonl_bytes",
    "record_from_json",
    "roll_up",
]
