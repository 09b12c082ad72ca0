"""Column layouts: how the columns of one kind of file map onto invoices, payments and customers.

A ``Layout`` binds to a file's header (naming any missing columns) and turns each row into an entity or
into reasons for rejecting it. The generic layout is the one documented for any ERP; ERP presets
(column names, date and number styles of a given system) are further ``Layout`` objects registered in
``LAYOUTS`` under their name, chosen by the folder a file is dropped in:
``incoming/<kind>/<preset>/file.csv``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Final, Protocol

from arcollect.entities import Customer, DocumentType, DropKind, Invoice, InvoiceStatus, Payment
from arcollect.ingest.fields import FieldError, Formats, RowFields
from arcollect.ingest.reference import SINGLE_ZONE_COUNTRIES
from arcollect.ingest.tabular import FileProblem

GENERIC: Final = "generic"

Entity = Customer | Invoice | Payment


@dataclass(frozen=True)
class MappedRow:
    """A row after mapping: an entity, or the reasons it was rejected; notes either way."""

    entity: Entity | None
    errors: tuple[FieldError, ...] = ()
    notes: tuple[FieldError, ...] = ()


class BoundLayout(Protocol):
    """A layout applied to one file's header."""

    @property
    def ignored_columns(self) -> tuple[str, ...]: ...

    def map(self, values: Sequence[str]) -> MappedRow: ...


class Layout(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> DropKind: ...

    def bind(self, header: Sequence[str]) -> BoundLayout:
        """Check the header and return the row mapper; ``FileProblem`` names what is missing."""
        ...


def normalise_column(name: str) -> str:
    """Header cells compare case-insensitively, with spaces and dashes read as underscores."""
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


@dataclass(frozen=True)
class _BoundColumns:
    columns: Mapping[str, int]
    width: int
    formats: Formats
    build: Callable[[RowFields], Entity | None]
    ignored_columns: tuple[str, ...]

    def map(self, values: Sequence[str]) -> MappedRow:
        row = RowFields(self.columns, values, self.formats)
        extra = [value for value in values[self.width :] if value.strip()]
        if extra:
            row.reject("", f"the row has {len(values)} fields, the header {self.width}", value=extra[0])
        entity = self.build(row)
        if row.errors:
            return MappedRow(None, tuple(row.errors), tuple(row.notes))
        return MappedRow(entity, (), tuple(row.notes))


@dataclass(frozen=True)
class ColumnLayout:
    """A layout defined by column names: required ones, optional ones, aliases and formats.

    ``build`` reads a ``RowFields`` by the canonical (generic) column names; ``aliases`` maps a
    system's own header names onto them, which is most of what an ERP preset has to say.
    """

    name: str
    kind: DropKind
    required: tuple[str, ...]
    optional: tuple[str, ...]
    build: Callable[[RowFields], Entity | None]
    formats: Formats = field(default_factory=Formats)
    aliases: Mapping[str, str] = field(default_factory=dict)

    def bind(self, header: Sequence[str]) -> BoundLayout:
        known = set(self.required) | set(self.optional)
        aliases = {normalise_column(alias): column for alias, column in self.aliases.items()}
        columns: dict[str, int] = {}
        ignored: list[str] = []
        for index, cell in enumerate(header):
            name = normalise_column(cell)
            name = aliases.get(name, name)
            if not name:
                continue
            if name not in known:
                ignored.append(cell.strip())
                continue
            if name in columns:
                raise FileProblem(
                    f"column {name} appears twice in the header (columns {columns[name] + 1} and {index + 1})"
                )
            columns[name] = index
        if not columns:
            raise FileProblem(
                f"no header row: the first line names none of the {self.kind.value} columns "
                f"({', '.join(self.required)})"
            )
        missing = [column for column in self.required if column not in columns]
        if missing:
            raise FileProblem(
                f"missing required column{'s' if len(missing) > 1 else ''}: {', '.join(missing)} "
                f"(the {self.name} {self.kind.value} layout needs {', '.join(self.required)})"
            )
        return _BoundColumns(columns, len(header), self.formats, self.build, tuple(ignored))


def _positive(row: RowFields, column: str, amount: Decimal | None) -> Decimal | None:
    if amount is not None and amount <= 0:
        row.reject(column, "must be greater than 0")
        return None
    return amount


def _not_negative(row: RowFields, column: str, amount: Decimal | None) -> Decimal | None:
    if amount is not None and amount < 0:
        row.reject(column, "must not be negative")
        return None
    return amount


def build_invoice(row: RowFields) -> Invoice | None:
    """An invoice (or credit note, or write-off) from the generic columns."""
    customer_id = row.identifier("customer_id")
    invoice_number = row.identifier("invoice_number")
    invoice_date = row.day("invoice_date", required=True)
    due_date = row.day("due_date", required=True)
    amount = _positive(row, "amount", row.money("amount", required=True))
    currency = row.currency("currency")
    open_amount = row.money("open_amount")
    paid_date = row.day("paid_date")
    document_type = row.choice("document_type", [t.value for t in DocumentType], DocumentType.INVOICE.value)
    disputed = row.flag("disputed")
    pay_url = row.url("pay_url")
    po_number = row.text("po_number")
    description = row.text("description")
    company_code = row.text("company_code")
    if open_amount is None:
        open_amount = amount
    elif amount is not None and not Decimal(0) <= open_amount <= amount:
        row.reject("open_amount", f"must be between 0 and amount ({amount})")
    if invoice_date and due_date and due_date < invoice_date:
        row.reject("due_date", f"is before invoice_date ({invoice_date.isoformat()})")
    if row.errors:
        return None
    assert customer_id and invoice_number and invoice_date and due_date and amount and currency
    assert open_amount is not None
    return Invoice(
        customer_id=customer_id,
        invoice_number=invoice_number,
        currency=currency,
        amount=amount,
        open_amount=open_amount,
        invoice_date=invoice_date,
        due_date=due_date,
        status=InvoiceStatus.OPEN.value if open_amount > 0 else InvoiceStatus.CLOSED.value,
        document_type=document_type,
        disputed=disputed,
        pay_url=pay_url,
        paid_date=paid_date,
        po_number=po_number,
        description=description,
        company_code=company_code,
    )


def build_payment(row: RowFields) -> Payment | None:
    """A payment as received; what it settles is decided when it is loaded."""
    customer_id = row.identifier("customer_id")
    payment_id = row.identifier("payment_id")
    payment_date = row.day("payment_date", required=True)
    amount = _positive(row, "amount", row.money("amount", required=True))
    currency = row.currency("currency")
    invoice_number = row.text("invoice_number", max_length=200)
    reference = row.text("reference")
    if row.errors:
        return None
    assert customer_id and payment_id and payment_date and amount and currency
    return Payment(
        customer_id=customer_id,
        payment_id=payment_id,
        payment_date=payment_date,
        amount=amount,
        currency=currency,
        invoice_number=invoice_number,
        reference=reference,
        applied_amount=Decimal(0),
        unapplied_amount=amount,
    )


def build_customer(row: RowFields) -> Customer | None:
    """A customer's master data; the time zone follows from a single-zone country when not given."""
    customer_id = row.identifier("customer_id")
    name = row.text("name", required=True)
    email = row.email("email", required=True)
    country = row.country("country")
    time_zone = row.time_zone("time_zone")
    customer = Customer(
        customer_id=customer_id or "",
        name=name or "",
        email=email or "",
        phone=row.text("phone", max_length=100),
        country=country,
        time_zone=time_zone,
        language=row.text("language", max_length=35),
        industry_code=row.text("industry_code", max_length=100),
        annual_sales=_not_negative(row, "annual_sales", row.money("annual_sales")),
        customer_since=row.day("customer_since"),
        owner=row.text("owner", max_length=200),
        tax_id=row.text("tax_id", max_length=100),
        credit_limit=_not_negative(row, "credit_limit", row.money("credit_limit")),
        anniversary=row.text("birthday_or_anniversary", max_length=100),
    )
    if row.errors:
        return None
    if country and not time_zone and not row.raw("time_zone"):
        derived = SINGLE_ZONE_COUNTRIES.get(country)
        if derived:
            return replace(customer, time_zone=derived)
        row.note(
            "time_zone", f"left empty: country {country} has several time zones (or is not in the table)"
        )
    return customer


GENERIC_INVOICES: Final = ColumnLayout(
    name=GENERIC,
    kind=DropKind.INVOICES,
    required=("customer_id", "invoice_number", "invoice_date", "due_date", "amount", "currency"),
    optional=(
        "open_amount",
        "paid_date",
        "document_type",
        "disputed",
        "pay_url",
        "po_number",
        "description",
        "company_code",
    ),
    build=build_invoice,
)
GENERIC_PAYMENTS: Final = ColumnLayout(
    name=GENERIC,
    kind=DropKind.PAYMENTS,
    required=("customer_id", "payment_id", "payment_date", "amount", "currency"),
    optional=("invoice_number", "reference"),
    build=build_payment,
)
GENERIC_CUSTOMERS: Final = ColumnLayout(
    name=GENERIC,
    kind=DropKind.CUSTOMERS,
    required=("customer_id", "name", "email"),
    optional=(
        "phone",
        "country",
        "time_zone",
        "language",
        "industry_code",
        "annual_sales",
        "customer_since",
        "owner",
        "tax_id",
        "credit_limit",
        "birthday_or_anniversary",
    ),
    build=build_customer,
)

# (kind, layout name) -> layout. Presets register here.
LAYOUTS: Final[dict[tuple[DropKind, str], Layout]] = {
    (layout.kind, layout.name): layout for layout in (GENERIC_INVOICES, GENERIC_PAYMENTS, GENERIC_CUSTOMERS)
}


def layout_for(kind: DropKind, key: str) -> Layout:
    """The layout of a dropped file: the preset its folder names (``incoming/<kind>/<preset>/...``) if
    one is registered under that name, else the generic layout."""
    parts = key.split("/")
    preset = parts[2] if len(parts) > 3 else GENERIC
    return LAYOUTS.get((kind, preset)) or LAYOUTS[(kind, GENERIC)]
