"""Credit control decisions as states: a customer on credit hold, invoices placed with a collection
agency, and the agency's hand-off file (docs/holds.md).

**Credit hold** (a customer): no further deliveries on credit; the ERP learns it from the change feed
and blocks the customer's sales orders. Reminders go on as the policy says: collecting the overdue
balance is what lifts a hold, and a credit hold is the sales side's stop, not a pause of collections.
The portal tells the customer the account is on hold.

**Agency placement** (invoices, or a customer's open invoices): the agency collects them now. Dunning
never reminds a placed invoice (the engine leaves it out, a touch's condition refuses it); the portal
says to pay the agency; the ERP gets one ``agency_referral`` change per invoice and a hand-off file
(invoices, contacts, history, and a JSON manifest) under ``outgoing/agency/<placement id>/`` in the
drop bucket, where it reads the change feed. A recall puts the invoices back into dunning. What the
agency collects comes back as payments (the console's "agency collected", or a payments file through
ingest) and is applied; a placed invoice fully collected is settled, which closes its placement.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Final

from arcollect.cells import CSV_CONTENT_TYPE, neutralise
from arcollect.clock import format_instant
from arcollect.contract import DropPrefix
from arcollect.entities import Activity, Customer, Invoice, is_plan_id
from arcollect.money import plain

AGENCY_PREFIX: Final = f"{DropPrefix.OUTGOING}agency/"
HANDOFF_SCHEMA_VERSION: Final = 1
# One placement is one DynamoDB transaction: per invoice its update and its change, plus the timeline
# entry; TransactWriteItems takes at most 100 items (store/base.py TRANSACTION_ITEMS), so 49 invoices.
MAX_PLACEMENT_INVOICES: Final = 49
AGENCY_MAX = 120

CREDIT_HOLD_SET = "credit_hold_set"
CREDIT_HOLD_LIFTED = "credit_hold_lifted"
AGENCY_PLACED = "agency_placed"
AGENCY_RECALLED = "agency_recalled"
AGENCY_COLLECTED = "agency_collected"


def placement_id(customer_id: str, agency: str, invoice_numbers: Iterable[str]) -> str:
    """A placement's id: the customer, the agency and the invoices. The same placement asked again (a
    double submit, a retry) is the same placement, found made."""
    material = "\x1f".join([customer_id, agency.casefold(), *sorted(invoice_numbers)]).encode()
    return "agy-" + hashlib.sha256(material).hexdigest()[:16]


def why_not_placeable(invoice: Invoice) -> str | None:
    """Why ``invoice`` cannot go to an agency (None: it can): an invoice with something owed, not
    disputed (a dispute is decided here first), not with an agency already, not in a payment plan."""
    if invoice.is_credit_note:
        return "is a credit note: nothing to collect"
    if not invoice.is_open:
        return "is settled: nothing to collect"
    if invoice.disputed:
        return "is disputed: resolve the dispute first"
    if invoice.agency:
        return f"is with the agency {invoice.agency} already"
    if is_plan_id(invoice.promise_id):
        # The plan's instalment reminders would go on asking the customer to pay us what the portal
        # says to pay the agency: the plan ends first (cancel it, or renegotiate without this invoice).
        return "is in a payment plan: cancel or renegotiate the plan first"
    return None


def placeable(invoices: Iterable[Invoice]) -> list[Invoice]:
    """A customer's invoices an agency can take (oldest due first): what "all open invoices" places."""
    return sorted(
        (i for i in invoices if why_not_placeable(i) is None), key=lambda i: (i.due_date, i.invoice_number)
    )


def placed(invoice: Invoice, *, agency: str, placement: str, on: date) -> Invoice:
    """``invoice`` with the agency: out of the sweep's index."""
    return replace(
        invoice, agency=agency, agency_placement=placement, agency_placed_on=on, next_action_at=None
    )


def recalled(invoice: Invoice, now: datetime) -> Invoice:
    """``invoice`` back with the company: the placement gone, dunning looks at it at once."""
    return replace(invoice, agency=None, agency_placement=None, agency_placed_on=None, next_action_at=now)


@dataclass(frozen=True)
class Placement:
    """One placement as the console shows it, from its invoices: the agency, when, what is still open
    with it, and whether everything placed has been collected (the placement closed)."""

    placement_id: str
    agency: str
    placed_on: date | None
    invoices: tuple[Invoice, ...]

    @property
    def open_invoices(self) -> tuple[Invoice, ...]:
        return tuple(i for i in self.invoices if i.is_open)

    @property
    def closed(self) -> bool:
        return not self.open_invoices

    def open_by_currency(self) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = {}
        for invoice in self.open_invoices:
            totals[invoice.currency] = totals.get(invoice.currency, Decimal(0)) + invoice.open_amount
        return dict(sorted(totals.items()))


def placements(invoices: Iterable[Invoice]) -> list[Placement]:
    """The customer's placements, newest first, from the invoices that carry one."""
    grouped: dict[str, list[Invoice]] = {}
    for invoice in invoices:
        if invoice.agency_placement:
            grouped.setdefault(invoice.agency_placement, []).append(invoice)
    found = [
        Placement(
            placement_id=pid,
            agency=members[0].agency or "",
            placed_on=members[0].agency_placed_on,
            invoices=tuple(sorted(members, key=lambda i: i.invoice_number)),
        )
        for pid, members in grouped.items()
    ]
    return sorted(found, key=lambda p: (p.placed_on or date.min, p.placement_id), reverse=True)


# --- the hand-off file ---------------------------------------------------------------------------


INVOICE_COLUMNS: Final = (
    "customer_id",
    "invoice_number",
    "invoice_date",
    "due_date",
    "days_past_due",
    "currency",
    "amount",
    "open_amount",
    "po_number",
    "description",
    "company_code",
)
CONTACT_COLUMNS: Final = (
    "customer_id",
    "name",
    "email",
    "other_emails",
    "phone",
    "mobile",
    "postal_address",
    "country",
    "language",
    "time_zone",
    "tax_id",
)
HISTORY_COLUMNS: Final = ("customer_id", "at", "kind", "summary")
# What arcollect writes itself (ids it made, dates, amounts): never neutralised; the rest is text from
# the ERP, the customer or a collector, neutralised against spreadsheet formulas (cells.py).
_OWN: Final = frozenset(
    {"invoice_date", "due_date", "days_past_due", "currency", "amount", "open_amount", "at"}
)


def _csv(columns: Sequence[str], rows: Iterable[Mapping[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") if c in _OWN else neutralise(row.get(c, "")) for c in columns])
    # UTF-8 with a byte-order mark: Excel opens accents (Müller & Söhne) as they are.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def handoff_files(
    *,
    placement: str,
    agency: str,
    customer: Customer,
    invoices: Sequence[Invoice],
    history: Sequence[Activity],
    placed_at: datetime,
    placed_by: str,
    note: str,
    today: date,
) -> dict[str, tuple[bytes, str]]:
    """The hand-off of one placement, file name -> (content, content type): ``invoices.csv`` (the
    placed invoices, what is open on each and how late), ``contacts.csv`` (the customer's contact
    data), ``history.csv`` (the customer's timeline, oldest first: every reminder, call, promise and
    dispute, so the agency knows what was said) and ``manifest.json`` (what the placement is, each
    file's rows and SHA-256, the totals per currency)."""
    invoice_rows = [
        {
            "customer_id": i.customer_id,
            "invoice_number": i.invoice_number,
            "invoice_date": i.invoice_date.isoformat(),
            "due_date": i.due_date.isoformat(),
            "days_past_due": str(max((today - i.due_date).days, 0)),
            "currency": i.currency,
            "amount": plain(i.amount, i.currency),
            "open_amount": plain(i.open_amount, i.currency),
            "po_number": i.po_number or "",
            "description": i.description or "",
            "company_code": i.company_code or "",
        }
        for i in invoices
    ]
    contact_rows = [
        {
            "customer_id": customer.customer_id,
            "name": customer.name,
            "email": customer.email,
            "other_emails": ";".join(customer.other_emails),
            "phone": customer.phone or "",
            "mobile": customer.mobile or "",
            # The address a letter goes to, one line each (the agency writes first): lines joined by "; ".
            "postal_address": "; ".join(customer.postal_address),
            "country": customer.country or "",
            "language": customer.language or "",
            "time_zone": customer.time_zone or "",
            "tax_id": customer.tax_id or "",
        }
    ]
    history_rows = [
        {"customer_id": a.customer_id, "at": format_instant(a.at), "kind": a.kind, "summary": a.summary}
        for a in sorted(history, key=lambda a: (a.at, a.activity_id))
    ]
    files = {
        "invoices.csv": (_csv(INVOICE_COLUMNS, invoice_rows), CSV_CONTENT_TYPE),
        "contacts.csv": (_csv(CONTACT_COLUMNS, contact_rows), CSV_CONTENT_TYPE),
        "history.csv": (_csv(HISTORY_COLUMNS, history_rows), CSV_CONTENT_TYPE),
    }
    totals: dict[str, Decimal] = {}
    for invoice in invoices:
        totals[invoice.currency] = totals.get(invoice.currency, Decimal(0)) + invoice.open_amount
    counts = {
        "invoices.csv": len(invoice_rows),
        "contacts.csv": len(contact_rows),
        "history.csv": len(history_rows),
    }
    manifest = {
        "schema_version": HANDOFF_SCHEMA_VERSION,
        "placement_id": placement,
        "agency": agency,
        "customer_id": customer.customer_id,
        "customer_name": customer.name,
        "placed_at": format_instant(placed_at),
        "placed_by": placed_by,
        "note": note,
        "open_amounts": {currency: plain(amount, currency) for currency, amount in sorted(totals.items())},
        "files": [
            {
                "name": name,
                "rows": counts[name],
                "sha256": hashlib.sha256(body).hexdigest(),
                "content_type": content_type,
            }
            for name, (body, content_type) in files.items()
        ],
    }
    body = json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8")
    return {**files, "manifest.json": (body, "application/json")}


def handoff_key(placement: str, name: str) -> str:
    """Where a hand-off file goes in the drop bucket (the placement id is ``agy-`` and hex: safe)."""
    return f"{AGENCY_PREFIX}{placement}/{name}"
