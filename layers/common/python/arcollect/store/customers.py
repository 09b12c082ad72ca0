"""The customer's codec: a ``Customer`` to its profile item and back, and to the profile copy kept
beside its invoices (``snapshot_of``) and back.

The customer's fields are listed once, in ``FIELDS``: each says how it is stored (``Form``), who writes
it (ingest's master data, the dunning function, the staff console) and whether the copy beside the
invoices carries it. The item, ingest's attribute update, the entity read back and the copy are all
derived from that list.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from arcollect.clock import format_instant, parse_instant
from arcollect.entities import Customer
from arcollect.store import keys
from arcollect.store.base import day, parse_day
from arcollect.store.models import CustomerItem

# The profile's sort key in the customer's partition.
PROFILE_SK = "PROFILE"


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Form:
    """How a field is stored: on the item (``store``/``load``) and in the profile copy's JSON
    (``copy``/``uncopy``: None in, None out)."""

    store: Callable[[Any], Any]
    load: Callable[[Any], Any]
    copy: Callable[[Any], Any] = _same
    uncopy: Callable[[Any], Any] = _same


def _optional(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else parse(value)


TEXT = Form(store=_same, load=_same)
# The AP address: empty for a placeholder (DynamoDB stores empty strings in non-key attributes).
ADDRESS = Form(store=_same, load=lambda value: value or "")
AMOUNT = Form(store=_same, load=_same, copy=_optional(str), uncopy=_optional(Decimal))
DAY = Form(store=day, load=parse_day, copy=day, uncopy=lambda value: parse_day(value) if value else value)
INSTANT = Form(
    store=lambda value: format_instant(value) if value else None,
    load=lambda value: parse_instant(value) if value else None,
    copy=lambda value: format_instant(value) if value else None,
    uncopy=lambda value: parse_instant(value) if value else value,
)
# A flag stored as it is (False included) ...
BOOLEAN = Form(store=_same, load=bool)
# ... and one stored only when set.
FLAG = Form(store=lambda value: value or None, load=bool)
COUNT = Form(store=lambda value: value or None, load=lambda value: int(value or 0))
LINES = Form(
    store=lambda value: list(value) or None,
    load=lambda value: tuple(str(line) for line in value or ()),
    copy=list,
    uncopy=tuple,
)
# A string set: stored as a set, read back sorted.
ADDRESS_SET = Form(
    store=lambda value: set(value) or None,
    load=lambda value: tuple(sorted(value or ())),
    copy=list,
    uncopy=tuple,
)


class Writer(StrEnum):
    """Who writes a field: ingest's master data (its updates set these and leave the rest alone), the
    dunning function (SES feedback, the gap between emails), the staff console (holds, promises)."""

    INGEST = "ingest"
    DUNNING = "dunning"
    STAFF = "staff"


@dataclass(frozen=True)
class Field:
    name: str
    form: Form
    writer: Writer = Writer.INGEST
    # Carried by the profile copy beside the invoices: what the dunning engine decides by.
    copied: bool = True


# Every field of ``Customer`` but ``next_action_at`` (the sweep's index: ``index_fields``), in the
# order the profile copy writes them.
FIELDS: tuple[Field, ...] = (
    Field("customer_id", TEXT),
    Field("name", TEXT),
    Field("email", ADDRESS),
    Field("phone", TEXT, copied=False),
    Field("other_emails", LINES),
    Field("suppressed_emails", ADDRESS_SET, Writer.DUNNING),
    Field("country", TEXT),
    Field("time_zone", TEXT),
    Field("language", TEXT),
    Field("industry_code", TEXT),
    Field("annual_sales", AMOUNT),
    Field("customer_since", DAY),
    Field("owner", TEXT),
    Field("tax_id", TEXT, copied=False),
    Field("credit_limit", AMOUNT, copied=False),
    Field("anniversary", TEXT, copied=False),
    Field("data_quality", LINES, copied=False),
    Field("segment", TEXT),
    Field("risk", TEXT),
    Field("dunning_hold", FLAG),
    Field("do_not_contact", FLAG),
    Field("placeholder", BOOLEAN),
    Field("collector_hold", FLAG, Writer.STAFF),
    Field("paused_until", DAY, Writer.STAFF),
    Field("hold_reason", TEXT, Writer.STAFF, copied=False),
    Field("promises_kept", COUNT, Writer.STAFF),
    Field("promises_broken", COUNT, Writer.STAFF),
    Field("last_emailed_at", INSTANT, Writer.DUNNING),
    Field("assigned_owner", TEXT, Writer.STAFF),
    Field("cover", TEXT, Writer.STAFF),
    Field("cover_until", DAY, Writer.STAFF),
    Field("credit_hold", FLAG, Writer.STAFF, copied=False),
    Field("credit_hold_since", DAY, Writer.STAFF, copied=False),
    Field("credit_hold_reason", TEXT, Writer.STAFF, copied=False),
    Field("postal_address", LINES),
    Field("mobile", TEXT),
    Field("sms_opted_out", FLAG, Writer.DUNNING),
    Field("sms_undeliverable", TEXT, Writer.DUNNING),
    # Set by the portal with the correction, cleared by ingest once the master shows it: both write it.
    Field("contact_corrected", LINES, copied=False),
)


def index_fields(customer: Customer) -> dict[str, Any]:
    """The customer's place in the sweep's sparse index (its anniversary), None when it has none."""
    at = customer.next_action_at
    return {
        "next_action_shard": keys.next_action_shard(keys.customer_pk(customer.customer_id)) if at else None,
        "next_action_at": format_instant(at) if at else None,
    }


def ingest_fields(customer: Customer) -> dict[str, Any]:
    """The attributes ingest writes (its master data, the fingerprint, the index pair; None = absent):
    the dunning function's and the staff console's stay as they are."""
    return {
        **{f.name: f.form.store(getattr(customer, f.name)) for f in FIELDS if f.writer is Writer.INGEST},
        "fingerprint": customer.fingerprint,
        **index_fields(customer),
    }


def customer_item(customer: Customer) -> CustomerItem:
    """The whole item, the dunning function's and the staff console's attributes included."""
    stored = {f.name: f.form.store(getattr(customer, f.name)) for f in FIELDS}
    return CustomerItem(
        keys.customer_pk(customer.customer_id),
        PROFILE_SK,
        **stored,
        fingerprint=customer.fingerprint,
        **index_fields(customer),
    )


def customer_from_item(item: CustomerItem) -> Customer:
    loaded = {f.name: f.form.load(getattr(item, f.name)) for f in FIELDS}
    next_action_at = parse_instant(item.next_action_at) if item.next_action_at else None
    return Customer(**loaded, next_action_at=next_action_at)


def snapshot_of(customer: Customer) -> str:
    """The profile copied beside an invoice: what the engine decides by, and its fingerprint."""
    copied = {f.name: f.form.copy(getattr(customer, f.name)) for f in FIELDS if f.copied}
    return json.dumps({"fingerprint": customer.fingerprint, "customer": copied}, separators=(",", ":"))


def customer_from_snapshot(text: str) -> Customer | None:
    """The copied profile, or None when it cannot be trusted (then the profile is read)."""
    try:
        data = json.loads(text)
        copied = dict(data["customer"])
        fields = {f.name: f.form.uncopy(copied.pop(f.name)) for f in FIELDS if f.copied and f.name in copied}
        customer = Customer(**fields, **copied)
    except (KeyError, TypeError, ValueError):
        return None
    return customer if customer.fingerprint == data.get("fingerprint") else None


def last_emailed(at: datetime | None) -> str | None:
    """The last email's instant as the profile stores it (compared by the touch's condition)."""
    return format_instant(at) if at else None
