"""The collections vocabulary shared by the domain and the store: plain, immutable values.

The store turns items into these and back; the domain reasons about them. Neither AWS nor pynamodb
appears here, which keeps domain code testable without either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum


class DropKind(StrEnum):
    """What an ERP file under ``incoming/<kind>/`` holds."""

    INVOICES = "invoices"
    PAYMENTS = "payments"
    CUSTOMERS = "customers"


class FileStatus(StrEnum):
    RECEIVED = "received"
    REJECTED = "rejected"


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


@dataclass(frozen=True)
class Activity:
    """An entry of a customer's timeline (emails, calls, portal actions, ingest changes)."""

    customer_id: str
    at: datetime
    activity_id: str
    kind: str
    summary: str
    detail: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SweepRun:
    """One scheduled run of a function at one scheduled time."""

    function: str
    scheduled_at: datetime
    started_at: datetime
    due_items: int
