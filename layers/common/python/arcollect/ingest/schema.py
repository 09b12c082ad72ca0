"""Our side of every mapping: the fields of invoices, payments and customers, and how a row becomes one.

A mapping (``mappings.py``) says where each of these fields comes from in a system's export; this module
says what each field is (its type, whether it is required) and builds the entity from the typed values,
checking what involves several fields at once (a due date before the invoice date, an open amount above
the amount). Auxiliary fields (``terms_days``, ``paid_amount``, ``customer_name``, ...) are not generic
columns: they exist so a mapping can derive ours from what an ERP writes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, Protocol, TypeVar

from arcollect import cash
from arcollect.entities import Customer, DocumentType, DropKind, Invoice, InvoiceStatus, Payment
from arcollect.ingest import fields as f
from arcollect.reference import SINGLE_ZONE_COUNTRIES

Entity = Customer | Invoice | Payment
# Phone numbers as people write them: digits, spaces, +, -, dots, parentheses and an extension.
_PHONE: Final = re.compile(r"\+?[\d\s().\-/]{6,}(\s*(x|ext\.?)\s*\d{1,6})?", flags=re.IGNORECASE)
# Tax ids whose format is known: EU VAT numbers (with their country prefix) and a few others.
TAX_ID_FORMATS: Final[dict[str, re.Pattern[str]]] = {
    country: re.compile(pattern)
    for country, pattern in {
        "AT": r"ATU\d{8}",
        "BE": r"BE[01]\d{9}",
        "DE": r"DE\d{9}",
        "DK": r"DK\d{8}",
        "ES": r"ES[0-9A-Z]\d{7}[0-9A-Z]",
        "FI": r"FI\d{8}",
        "FR": r"FR[0-9A-Z]{2}\d{9}",
        "GB": r"GB(\d{9}|\d{12}|GD\d{3}|HA\d{3})",
        "IE": r"IE\d[0-9A-Z+*]\d{5}[A-Z]{1,2}",
        "IT": r"IT\d{11}",
        "LU": r"LU\d{8}",
        "NL": r"NL\d{9}B\d{2}",
        "PL": r"PL\d{10}",
        "PT": r"PT\d{9}",
        "SE": r"SE\d{12}",
        "CH": r"CHE-?\d{3}\.?\d{3}\.?\d{3}( ?(MWST|TVA|IVA))?",
        "US": r"\d{2}-?\d{7}",
        "AU": r"\d{2} ?\d{3} ?\d{3} ?\d{3}",
    }.items()
}


@dataclass(frozen=True)
class FieldSpec:
    """One of our fields: its type decides its converter; ``generic`` fields are the generic columns."""

    name: str
    type: str
    required: bool = False  # the column must be in the header (of the generic layout, of a mapping)
    generic: bool = True
    # A required column whose cells may be empty: an empty AP email is a data-quality issue, not a reject.
    may_be_empty: bool = False
    max_length: int = f.MAX_TEXT_LENGTH


def _specs(*specs: FieldSpec) -> dict[str, FieldSpec]:
    return {spec.name: spec for spec in specs}


FIELDS: Final[dict[DropKind, dict[str, FieldSpec]]] = {
    DropKind.INVOICES: _specs(
        FieldSpec("customer_id", "id", required=True),
        FieldSpec("invoice_number", "id", required=True),
        FieldSpec("invoice_date", "date", required=True),
        FieldSpec("due_date", "date", required=True),
        FieldSpec("amount", "money", required=True),
        FieldSpec("currency", "currency"),  # absent or empty: the home currency
        FieldSpec("open_amount", "money"),
        FieldSpec("paid_date", "date"),
        FieldSpec("document_type", "document_type"),
        FieldSpec("disputed", "flag"),
        FieldSpec("pay_url", "url"),
        FieldSpec("po_number", "text"),
        FieldSpec("description", "text"),
        FieldSpec("company_code", "text", max_length=100),
        FieldSpec("terms_days", "integer", generic=False),
        FieldSpec("paid_amount", "money", generic=False),
        FieldSpec("customer_name", "text", generic=False),
        FieldSpec("customer_email", "email", generic=False),
    ),
    DropKind.PAYMENTS: _specs(
        FieldSpec("customer_id", "id", required=True),
        FieldSpec("payment_id", "id", required=True),
        FieldSpec("payment_date", "date", required=True),
        FieldSpec("amount", "money", required=True),
        FieldSpec("currency", "currency"),  # absent or empty: the home currency
        # One invoice number, or several (arcollect/cash.py says how a cell is read).
        FieldSpec("invoice_number", "ids", max_length=f.MAX_ID_LENGTH * 5),
        FieldSpec("reference", "text"),
        # A remittance line's part for its invoice; ``amount`` is then the payment's total.
        FieldSpec("applied_amount", "money"),
    ),
    DropKind.CUSTOMERS: _specs(
        FieldSpec("customer_id", "id", required=True),
        FieldSpec("name", "text", required=True),
        FieldSpec("email", "email", required=True, may_be_empty=True),
        FieldSpec("phone", "text", max_length=100),
        FieldSpec("country", "country"),
        FieldSpec("time_zone", "time_zone"),
        FieldSpec("language", "text", max_length=35),
        FieldSpec("industry_code", "text", max_length=100),
        FieldSpec("annual_sales", "money"),
        FieldSpec("customer_since", "date"),
        FieldSpec("owner", "text", max_length=200),
        FieldSpec("tax_id", "text", max_length=100),
        FieldSpec("credit_limit", "money"),
        FieldSpec("birthday_or_anniversary", "text", max_length=100),
        # Dunning: more AP addresses (separated by ; or ,), the customer's risk class and explicit
        # dunning segment, a dunning block (SAP's "Mahnsperre") and do-not-contact.
        FieldSpec("other_emails", "text", max_length=1000),
        FieldSpec("risk_class", "text", max_length=20),
        FieldSpec("dunning_segment", "text", max_length=100),
        FieldSpec("dunning_hold", "flag"),
        FieldSpec("do_not_contact", "flag"),
        # The mobile number a dunning text goes to (docs/sms.md): E.164, or national with the country.
        FieldSpec("mobile", "text", max_length=100),
        # The postal address a dunning letter goes to (docs/letters.md).
        FieldSpec("address_line1", "text", max_length=200),
        FieldSpec("address_line2", "text", max_length=200),
        FieldSpec("postal_code", "text", max_length=20),
        FieldSpec("city", "text", max_length=100),
    ),
}


def generic_columns(kind: DropKind) -> tuple[list[str], list[str]]:
    """(required, optional) columns of the generic layout of ``kind``."""
    specs = [spec for spec in FIELDS[kind].values() if spec.generic]
    return [s.name for s in specs if s.required], [s.name for s in specs if not s.required]


def converter_for(spec: FieldSpec, formats: f.Formats, date_patterns: tuple[str, ...] = ()) -> f.Converter:
    """The converter of one field under one system's formats."""
    kind = spec.type
    if kind == "id":
        return f.id_converter(f.MAX_ID_LENGTH)
    if kind == "ids":  # several ids in one cell (a payment naming several invoices)
        return f.id_converter(spec.max_length)
    if kind == "text":
        return f.text_converter(spec.max_length)
    if kind == "date":
        return f.date_converter(formats, date_patterns or None)
    if kind == "money":
        return f.money_converter(formats)
    if kind == "integer":
        return f.integer_converter(formats)
    if kind == "currency":
        return f.currency_converter()
    if kind == "country":
        return f.country_converter()
    if kind == "time_zone":
        return f.time_zone_converter()
    if kind == "flag":
        return f.flag_converter()
    if kind == "url":
        return f.url_converter()
    if kind == "email":
        return f.email_text_converter()
    if kind == "document_type":
        return f.choice_converter([t.value for t in DocumentType])
    raise ValueError(f"no converter for field type {kind}")  # pragma: no cover - FIELDS is fixed


class RowProblems(Protocol):
    """Where a builder reports: by our field name; the mapping turns that into the source column."""

    def reject(self, field: str, reason: str) -> None: ...

    def note(self, field: str, reason: str) -> None: ...


Builder = Callable[[dict[str, Any], RowProblems, bool], Entity | None]


E = TypeVar("E", Invoice, Payment, Customer)


def _validated(cls: type[E], **values: Any) -> E:
    """An entity from values already checked here, every field given. A frozen dataclass's ``__init__``
    sets each field through ``object.__setattr__`` (about 2.5 µs for an invoice, the largest cost of a
    row); filling the instance dictionary directly makes the same, equal object in a fifth of that.
    Callers pass every field (a unit test compares with the ``__init__``-made object)."""
    entity = object.__new__(cls)
    entity.__dict__.update(values)
    return entity


def build_invoice(v: dict[str, Any], row: RowProblems, signed: bool) -> Invoice | None:
    """An invoice (or credit note, or write-off). With ``signed`` amounts (a ledger's view), a negative
    amount is a credit and is stored positive with its document type saying so."""
    amount: Decimal | None = v["amount"]
    open_amount: Decimal | None = v.get("open_amount")
    document_type = v.get("document_type") or DocumentType.INVOICE.value
    if signed and amount is not None and amount < 0:
        amount = -amount
        open_amount = -open_amount if open_amount is not None else None
        if document_type == DocumentType.INVOICE:
            document_type = DocumentType.CREDIT_NOTE.value
    elif signed and open_amount is not None and open_amount < 0 and document_type != DocumentType.INVOICE:
        open_amount = -open_amount
    if amount is not None and amount <= 0:
        row.reject("amount", "must be greater than 0")
        return None
    paid_date = v.get("paid_date")
    if open_amount is None:
        paid = v.get("paid_amount")
        if amount is not None and paid is not None:
            open_amount = amount - abs(paid)
        elif paid_date is not None and document_type == DocumentType.INVOICE:
            open_amount = Decimal(0)  # a paid date and no open amount: paid in full on that date
    stated = open_amount
    if amount is not None and open_amount is not None and not Decimal(0) <= open_amount <= amount:
        row.reject("open_amount", f"must be between 0 and amount ({amount})")
    elif (
        paid_date is not None
        and amount is not None
        and open_amount == amount
        and document_type == DocumentType.INVOICE
    ):
        row.reject(
            "paid_date",
            f"says the invoice was paid on {paid_date.isoformat()}, yet open_amount says all of it is open",
        )
    invoice_date, due_date = v["invoice_date"], v["due_date"]
    if invoice_date and due_date and due_date < invoice_date:
        # Implausible, but the money is still owed (prepayment terms, a back-dated due date, an ERP that
        # only keeps the document month): keep the invoice and say so rather than lose a receivable.
        row.note("due_date", f"is before invoice_date ({invoice_date.isoformat()}): kept as given")
    if amount is None or due_date is None or invoice_date is None:
        return None
    # Without a stated open amount the row says nothing of it: loading keeps what payments and credits
    # established (ingest/precedence.py); a new invoice is then open for its whole amount.
    open_amount = amount if stated is None else stated
    return _validated(
        Invoice,
        customer_id=v["customer_id"],
        invoice_number=v["invoice_number"],
        currency=v["currency"],
        amount=amount,
        open_amount=open_amount,
        invoice_date=invoice_date,
        due_date=due_date,
        status=InvoiceStatus.OPEN.value if open_amount > 0 else InvoiceStatus.CLOSED.value,
        document_type=document_type,
        disputed=bool(v.get("disputed")),
        pay_url=v.get("pay_url"),
        paid_date=paid_date,
        po_number=v.get("po_number"),
        description=v.get("description"),
        company_code=v.get("company_code"),
        next_action_at=None,
        source_as_of=None,
        closed_on=None,
        steps_done=(),
        bounced_steps=(),
        last_touch_at=None,
        promised_until=None,
        promise_id=None,
        erp_open_amount=stated,
        erp_disputed=bool(v.get("disputed")),
        dispute_id=None,
        credit_agreed=_ZERO,
        credit_match=None,
        agency=None,
        agency_placement=None,
        agency_placed_on=None,
    )


def build_payment(v: dict[str, Any], row: RowProblems, signed: bool) -> Payment | None:
    """A payment as received (a line of one, with ``applied_amount``); what it settles is decided when
    it is loaded (arcollect/cash.py)."""
    amount: Decimal | None = v["amount"]
    applied: Decimal | None = v.get("applied_amount")
    if signed and amount is not None and amount < 0:
        amount = -amount  # a ledger writes money received as a credit
    if signed and applied is not None and applied < 0:
        applied = -applied
    if amount is not None and amount <= 0:
        row.reject("amount", "must be greater than 0")
        return None
    if applied is not None and applied <= 0:
        row.reject("applied_amount", "must be greater than 0")
        return None
    if amount is None:
        return None
    if applied is not None and applied > amount:
        row.reject("applied_amount", f"is more than amount ({amount}), the payment's total")
        return None
    invoice_number, reference = v.get("invoice_number"), v.get("reference")
    return Payment(
        customer_id=v["customer_id"],
        payment_id=v["payment_id"],
        payment_date=v["payment_date"],
        amount=amount,
        currency=v["currency"],
        invoice_number=invoice_number,
        reference=reference,
        applied_amount=Decimal(0),
        unapplied_amount=amount,
        remittance=cash.line_remittance(invoice_number, reference, applied),
    )


def customer_data_quality(v: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Master-data checks that do not reject the row: (field, what is wrong). A customer with a missing
    or broken AP email is still loaded (its name, owner and terms matter) but cannot be emailed."""
    issues: list[tuple[str, str]] = []
    email = v.get("email")
    if not email:
        issues.append(("email", "is missing: reminders cannot be emailed"))
    elif not f.EMAIL.fullmatch(email):
        issues.append(("email", "is not one address of the form name@domain.tld"))
    phone = v.get("phone")
    if phone and not _PHONE.fullmatch(phone):
        issues.append(("phone", "does not look like a phone number"))
    if v.get("mobile"):
        from arcollect.sms import NumberError, normalise_number  # customers' files alone need it

        try:
            normalise_number(v["mobile"], v.get("country"))
        except NumberError as error:
            issues.append(("mobile", f"cannot be texted: {error}"))
    country, tax_id = v.get("country"), v.get("tax_id")
    if country and tax_id:
        pattern = TAX_ID_FORMATS.get(country)
        compact = tax_id.replace(" ", "").upper() if country != "CH" else tax_id.upper()
        if pattern and not pattern.fullmatch(compact):
            issues.append(("tax_id", f"is not a tax id of the format used in {country}"))
    if not country:
        issues.append(("country", "is missing: holidays and the time zone cannot be derived"))
    return issues


def build_customer(v: dict[str, Any], row: RowProblems, signed: bool) -> Customer | None:
    """A customer's master data; the time zone follows from a single-zone country when not given."""
    del signed
    for money_field in ("annual_sales", "credit_limit"):
        if v.get(money_field) is not None and v[money_field] < 0:
            row.reject(money_field, "must not be negative")
    issues = customer_data_quality(v)
    for field_name, issue in issues:
        row.note(field_name, issue)
    country, time_zone = v.get("country"), v.get("time_zone")
    if country and not time_zone:
        time_zone = SINGLE_ZONE_COUNTRIES.get(country)
        if time_zone is None:
            row.note("time_zone", f"left empty: country {country} has several time zones")
            issues.append(("time_zone", f"is missing and country {country} has several time zones"))
    email = v.get("email") or ""
    other_emails: list[str] = []
    for address in re.split(r"[;,\s]+", v.get("other_emails") or ""):
        if not address:
            continue
        if f.EMAIL.fullmatch(address):
            other_emails.append(address)
        else:
            row.note("other_emails", f"{address!r} is not an email address and is not used")
            issues.append(("other_emails", f"holds {address!r}, which is not an email address"))
    return Customer(
        customer_id=v["customer_id"],
        name=v["name"],
        email=email if f.EMAIL.fullmatch(email) else "",
        phone=v.get("phone"),
        country=country,
        time_zone=time_zone,
        language=v.get("language"),
        industry_code=v.get("industry_code"),
        annual_sales=v.get("annual_sales"),
        customer_since=v.get("customer_since"),
        owner=v.get("owner"),
        tax_id=v.get("tax_id"),
        credit_limit=v.get("credit_limit"),
        anniversary=v.get("birthday_or_anniversary"),
        data_quality=tuple(f"{field_name} {issue}" for field_name, issue in issues),
        other_emails=tuple(other_emails),
        risk=(v.get("risk_class") or "").lower() or None,
        segment=v.get("dunning_segment"),
        dunning_hold=bool(v.get("dunning_hold")),
        do_not_contact=bool(v.get("do_not_contact")),
        mobile=_mobile(v.get("mobile"), country),
        postal_address=postal_address(v, country),
    )


# Countries that write the postal code after the city (on its own line, or on the city's line).
_CODE_OWN_LINE = frozenset({"GB", "IE"})
_CODE_AFTER_CITY = frozenset({"US", "CA", "AU"})


def postal_address(v: Mapping[str, Any], country: str | None) -> tuple[str, ...]:
    """The address lines below the name, as the country writes them (``Hauptstr. 1`` / ``10115
    Berlin``; ``10 Downing St`` / ``LONDON`` / ``SW1A 2AA``); empty without a street or a city (a
    letter needs both: no letter is better than one the post returns)."""
    street = [" ".join(str(v.get(n) or "").split()) for n in ("address_line1", "address_line2")]
    code, city = " ".join(str(v.get("postal_code") or "").split()), " ".join(str(v.get("city") or "").split())
    if not street[0] or not city:
        return ()
    if country in _CODE_OWN_LINE:
        place = [city.upper(), *([code] if code else [])]
    elif country in _CODE_AFTER_CITY:
        place = [f"{city} {code}".strip()]
    else:
        place = [f"{code} {city}".strip()]
    return tuple(line for line in (*street, *place) if line)


def _mobile(raw: str | None, country: str | None) -> str | None:
    """The mobile number in E.164 when it is one; as written otherwise (its data-quality line says why
    it cannot be texted, and the 360 view shows what the ERP holds)."""
    if not raw:
        return None
    from arcollect.sms import NumberError, normalise_number  # customers' files alone need it

    try:
        return normalise_number(raw, country)
    except NumberError:
        return raw


# --- the same builders over columns ----------------------------------------------------------------------

# A column builder gets every field's typed column and the rows already settled elsewhere (``slow``); it
# returns one entity per row (None for slow rows) and adds to ``slow`` each row its one-row builder would
# reject or annotate, so that ``map`` gives those rows their reasons and notes.
ColumnBuilder = Callable[[dict[str, list[Any]], int, bool, set[int]], list[Entity | None]]

_new: Final = object.__new__
_INVOICE: Final = DocumentType.INVOICE.value
_CREDIT_NOTE: Final = DocumentType.CREDIT_NOTE.value
_OPEN: Final = InvoiceStatus.OPEN.value
_CLOSED: Final = InvoiceStatus.CLOSED.value
_ZERO: Final = Decimal(0)
_copy: Final = dict.copy
_set: Final = object.__setattr__
# An invoice's instance dictionary as ``invoice_columns`` starts it, every field in the dataclass's order:
# those ingest never sets at their defaults, the others stored over for each row (the dispute flags when
# set). A copy of it and a store per field costs less than the instance's own dictionary updated by
# keyword.
_INVOICE_FIELDS: Final[dict[str, Any]] = {
    "customer_id": None,
    "invoice_number": None,
    "currency": None,
    "amount": None,
    "open_amount": None,
    "invoice_date": None,
    "due_date": None,
    "status": None,
    "document_type": None,
    "disputed": False,
    "pay_url": None,
    "paid_date": None,
    "po_number": None,
    "description": None,
    "company_code": None,
    "next_action_at": None,
    "source_as_of": None,
    "closed_on": None,
    "steps_done": (),
    "bounced_steps": (),
    "last_touch_at": None,
    "promised_until": None,
    "promise_id": None,
    "erp_open_amount": None,
    "erp_disputed": False,
    "dispute_id": None,
    "credit_agreed": _ZERO,
    "credit_match": None,
    "agency": None,
    "agency_placement": None,
    "agency_placed_on": None,
}


def invoice_columns(v: dict[str, list[Any]], count: int, signed: bool, slow: set[int]) -> list[Entity | None]:
    """``build_invoice`` row by row over columns, for the rows it would build without a word."""
    entities: list[Entity | None] = [None] * count
    paid_amounts = v["paid_amount"]
    columns = zip(
        v["customer_id"],
        v["invoice_number"],
        v["currency"],
        v["amount"],
        v["open_amount"],
        v["invoice_date"],
        v["due_date"],
        v["pay_url"],
        v["paid_date"],
        v["po_number"],
        v["description"],
        v["company_code"],
        v["document_type"],
        v["disputed"],
        strict=True,
    )
    for i, (
        customer,
        number,
        currency,
        amount,
        open_amount,
        issued,
        due,
        url,
        paid,
        po,
        text,
        code,
        document_type,
        disputed,
    ) in enumerate(columns):
        if i in slow:
            continue
        document_type = document_type or _INVOICE
        if signed and amount < 0:
            amount = -amount
            open_amount = -open_amount if open_amount is not None else None
            if document_type == _INVOICE:
                document_type = _CREDIT_NOTE
        elif signed and open_amount is not None and open_amount < 0 and document_type != _INVOICE:
            open_amount = -open_amount
        if amount <= _ZERO:  # Decimal against Decimal: half the cost of against int
            slow.add(i)
            continue
        if open_amount is None:
            paid_amount = paid_amounts[i]
            if paid_amount is not None:
                open_amount = amount - abs(paid_amount)
            elif paid is not None and document_type == _INVOICE:
                open_amount = _ZERO  # a paid date and no open amount: paid in full on that date
        stated = open_amount
        if open_amount is None:
            open_amount = amount
        elif not _ZERO <= open_amount <= amount or (
            paid is not None and open_amount == amount and document_type == _INVOICE
        ):
            slow.add(i)  # build_invoice says why
            continue
        if due < issued:
            slow.add(i)
            continue
        fields = _copy(_INVOICE_FIELDS)
        fields["customer_id"] = customer
        fields["invoice_number"] = number
        fields["currency"] = currency
        fields["amount"] = amount
        fields["open_amount"] = open_amount
        fields["invoice_date"] = issued
        fields["due_date"] = due
        fields["status"] = _OPEN if open_amount > _ZERO else _CLOSED
        fields["document_type"] = document_type
        if disputed:  # a flag: True, False or None (empty), and most invoices are not disputed
            fields["disputed"] = fields["erp_disputed"] = True
        fields["pay_url"] = url
        fields["paid_date"] = paid
        fields["po_number"] = po
        fields["description"] = text
        fields["company_code"] = code
        fields["erp_open_amount"] = stated
        entity = _new(Invoice)
        _set(entity, "__dict__", fields)
        entities[i] = entity
    return entities


def payment_columns(v: dict[str, list[Any]], count: int, signed: bool, slow: set[int]) -> list[Entity | None]:
    """``build_payment`` row by row over columns, for the rows it would build without a word."""
    entities: list[Entity | None] = [None] * count
    columns = zip(
        v["customer_id"],
        v["payment_id"],
        v["payment_date"],
        v["amount"],
        v["currency"],
        v["invoice_number"],
        v["reference"],
        v["applied_amount"],
        strict=True,
    )
    for i, (customer, payment_id, paid_on, amount, currency, number, reference, applied) in enumerate(
        columns
    ):
        if i in slow:
            continue
        if signed and amount < 0:
            amount = -amount
        if signed and applied is not None and applied < 0:
            applied = -applied
        if amount <= 0 or (applied is not None and not _ZERO < applied <= amount):
            slow.add(i)  # build_payment says why
            continue
        entities[i] = Payment(
            customer_id=customer,
            payment_id=payment_id,
            payment_date=paid_on,
            amount=amount,
            currency=currency,
            invoice_number=number,
            reference=reference,
            applied_amount=_ZERO,
            unapplied_amount=amount,
            remittance=cash.line_remittance(number, reference, applied),
        )
    return entities


COLUMN_BUILDERS: Final[dict[DropKind, ColumnBuilder]] = {
    DropKind.INVOICES: invoice_columns,
    DropKind.PAYMENTS: payment_columns,
}


BUILDERS: Final[dict[DropKind, Builder]] = {
    DropKind.INVOICES: build_invoice,
    DropKind.PAYMENTS: build_payment,
    DropKind.CUSTOMERS: build_customer,
}
