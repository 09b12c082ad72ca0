"""The generic mappings: headers, every rejection reason, defaults and derived values, without AWS."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from arcollect.company import CompanySettings
from arcollect.entities import Customer, DropKind, Invoice, Payment
from arcollect.ingest.mappings import GENERIC, PRESETS, BoundMapping, MappedRow, choose
from arcollect.ingest.sources import FileProblem, Record
from arcollect.reference import COUNTRIES, CURRENCIES, SINGLE_ZONE_COUNTRIES


def bind(kind: DropKind, header: list[str]) -> BoundMapping:
    """The generic mapping of ``kind`` bound to a header on line 1."""
    mapping, found = choose(kind, [Record(1, header)], PRESETS[(kind, GENERIC)])
    return BoundMapping(mapping, found)


def row(bound: BoundMapping, values: list[str]) -> MappedRow:
    return bound.map(Record(2, values))


INVOICE_HEADER = [
    "customer_id",
    "invoice_number",
    "invoice_date",
    "due_date",
    "amount",
    "currency",
    "open_amount",
    "paid_date",
    "document_type",
    "disputed",
    "pay_url",
]
GOOD_INVOICE = {
    "customer_id": "C-1",
    "invoice_number": "INV-1",
    "invoice_date": "2026-10-01",
    "due_date": "2026-10-31",
    "amount": "100.00",
    "currency": "EUR",
}


def invoice_row(**changes: str) -> MappedRow:
    values = {**GOOD_INVOICE, **changes}
    return row(bind(DropKind.INVOICES, INVOICE_HEADER), [values.get(column, "") for column in INVOICE_HEADER])


def reasons(mapped: MappedRow) -> dict[str, str]:
    assert mapped.entity is None, "expected the row to be rejected"
    return {error.column: error.reason for error in mapped.errors}


def test_a_minimal_invoice_row_maps_with_its_defaults() -> None:
    invoice = invoice_row().entity
    assert invoice == Invoice(
        customer_id="C-1",
        invoice_number="INV-1",
        currency="EUR",
        amount=Decimal("100.00"),
        open_amount=Decimal("100.00"),  # open_amount defaults to amount
        invoice_date=date(2026, 10, 1),
        due_date=date(2026, 10, 31),
        status="open",
        document_type="invoice",
        disputed=False,
    )
    assert isinstance(invoice.amount, Decimal)


def test_optional_invoice_fields_are_read() -> None:
    invoice = invoice_row(
        open_amount="0",
        paid_date="2026-10-20",
        document_type="Credit_Note",
        disputed="yes",
        pay_url="https://pay.example.com/i/1",
        currency="usd",
    ).entity
    assert isinstance(invoice, Invoice)
    assert (invoice.status, invoice.open_amount, invoice.paid_date) == ("closed", 0, date(2026, 10, 20))
    assert (invoice.document_type, invoice.disputed, invoice.currency) == ("credit_note", True, "USD")
    assert invoice.pay_url == "https://pay.example.com/i/1"


@pytest.mark.parametrize(
    ("changes", "column", "reason"),
    [
        ({"customer_id": ""}, "customer_id", "is required"),
        ({"invoice_number": " "}, "invoice_number", "is required"),
        ({"invoice_number": "X" * 201}, "invoice_number", "is longer than 200 characters"),
        ({"invoice_date": "01/10/2026"}, "invoice_date", "is not a date like YYYY-MM-DD"),
        ({"due_date": "2026-02-30"}, "due_date", "is not a date like YYYY-MM-DD"),
        ({"amount": "0"}, "amount", "must be greater than 0"),
        ({"amount": "-5.00"}, "amount", "must be greater than 0"),
        ({"amount": "1,000.00"}, "amount", "is not a number with '.' as the decimal point"),
        ({"amount": "12,50"}, "amount", "is not a number with '.' as the decimal point"),
        ({"amount": "NaN"}, "amount", "is not a number"),
        ({"currency": "XXX"}, "currency", "is not an ISO 4217 currency code"),
        ({"currency": "EURO"}, "currency", "is not an ISO 4217 currency code"),
        ({"open_amount": "150.00"}, "open_amount", "must be between 0 and amount (100.00)"),
        ({"open_amount": "-1"}, "open_amount", "must be between 0 and amount (100.00)"),
        ({"document_type": "receipt"}, "document_type", "must be one of invoice, credit_note, write_off"),
        ({"disputed": "maybe"}, "disputed", "must be yes or no"),
        ({"pay_url": "javascript:alert(1)"}, "pay_url", "must be an http:// or https:// URL"),
        ({"paid_date": "yesterday"}, "paid_date", "is not a date like YYYY-MM-DD"),
    ],
)
def test_each_invalid_invoice_value_is_rejected_with_its_reason(
    changes: dict[str, str], column: str, reason: str
) -> None:
    # Given a row that is valid but for one value; When it is mapped; Then that column's reason is given
    found = reasons(invoice_row(**changes))
    assert column in found
    assert found[column].startswith(reason)
    assert len(found) == 1


@pytest.mark.parametrize("home", ["USD", "EUR", "CHF"])
def test_an_empty_or_absent_currency_is_the_home_currency(home: str) -> None:
    # Given the deployment's home currency; When a row leaves its currency empty, or the file has no
    # currency column at all; Then the invoice is in the home currency (a stated one stays as stated)
    settings = CompanySettings.of(home)
    mapping, found = choose(
        DropKind.INVOICES, [Record(1, INVOICE_HEADER)], PRESETS[(DropKind.INVOICES, GENERIC)]
    )
    with_column = BoundMapping(mapping, found, settings=settings)
    values = {**GOOD_INVOICE, "currency": ""}
    empty = with_column.map(Record(2, [values.get(c, "") for c in INVOICE_HEADER])).entity
    stated = with_column.map(Record(2, [GOOD_INVOICE.get(c, "") for c in INVOICE_HEADER])).entity
    header = [c for c in INVOICE_HEADER if c != "currency"]
    mapping, found = choose(DropKind.INVOICES, [Record(1, header)], PRESETS[(DropKind.INVOICES, GENERIC)])
    without = BoundMapping(mapping, found, settings=settings)
    absent = without.map(Record(2, [GOOD_INVOICE.get(c, "") for c in header])).entity
    columnar = without.map_many([Record(2, [GOOD_INVOICE.get(c, "") for c in header])])[0].entity
    assert isinstance(empty, Invoice) and isinstance(absent, Invoice) and isinstance(stated, Invoice)
    assert (empty.currency, absent.currency, stated.currency) == (home, home, GOOD_INVOICE["currency"])
    assert columnar == absent


def test_a_due_date_before_the_invoice_date_keeps_the_invoice_with_a_note() -> None:
    mapped = invoice_row(due_date="2026-09-30")
    assert isinstance(mapped.entity, Invoice)
    assert [(n.column, n.reason) for n in mapped.notes] == [
        ("due_date", "is before invoice_date (2026-10-01): kept as given")
    ]


def test_a_row_reports_all_its_problems_at_once_with_the_values() -> None:
    mapped = invoice_row(amount="abc", currency="XXX")
    assert [(e.column, e.value) for e in mapped.errors] == [("amount", "abc"), ("currency", "XXX")]


def test_extra_non_empty_fields_are_rejected_but_trailing_empty_ones_are_not() -> None:
    bound = bind(DropKind.INVOICES, list(GOOD_INVOICE))
    assert row(bound, [*GOOD_INVOICE.values(), "", ""]).entity is not None
    assert (
        "the row has 7 fields, the header 6" in reasons(row(bound, [*GOOD_INVOICE.values(), "surplus"]))[""]
    )


def test_headers_match_case_and_spacing_insensitively_and_unknown_columns_are_ignored() -> None:
    bound = bind(
        DropKind.INVOICES,
        ["Customer ID", "Invoice-Number", "INVOICE_DATE", "due date", "amount", "currency", "Sales Rep"],
    )
    assert bound.ignored_columns == ("Sales Rep",)
    assert row(bound, ["C-1", "INV-1", "2026-10-01", "2026-10-31", "5", "EUR", "Bob"]).entity is not None


def test_missing_required_columns_are_named() -> None:
    with pytest.raises(FileProblem, match="missing required columns: invoice_date, due_date"):
        bind(DropKind.INVOICES, ["customer_id", "invoice_number", "amount"])


def test_without_a_named_mapping_a_header_that_fits_none_says_what_the_generic_one_lacks() -> None:
    with pytest.raises(FileProblem, match=r"no invoices mapping fits the header: .* lacks customer_id"):
        choose(DropKind.INVOICES, [Record(1, ["C-1", "INV-1", "2026-10-01"])], None)


def test_a_payments_file_dropped_as_invoices_is_named_for_what_it_is() -> None:
    header = ["customer_id", "payment_id", "payment_date", "amount", "currency"]
    with pytest.raises(FileProblem, match=r"this is a payments file .* drop it under incoming/payments/"):
        choose(DropKind.INVOICES, [Record(1, header)], None)


def test_a_column_named_twice_is_a_file_problem() -> None:
    with pytest.raises(FileProblem, match="column Amount appears twice"):
        bind(DropKind.INVOICES, [*GOOD_INVOICE, "Amount"])


CUSTOMER_HEADER = ["customer_id", "name", "email", "country", "time_zone", "annual_sales", "credit_limit"]


def customer_row(**values: str) -> MappedRow:
    base = {"customer_id": "C-1", "name": "Acme GmbH", "email": "ap@acme.example"}
    merged = {**base, **values}
    return row(bind(DropKind.CUSTOMERS, CUSTOMER_HEADER), [merged.get(c, "") for c in CUSTOMER_HEADER])


def test_a_single_zone_country_gives_the_customer_its_time_zone() -> None:
    customer = customer_row(country="de").entity
    assert isinstance(customer, Customer)
    assert (customer.country, customer.time_zone, customer.placeholder) == ("DE", "Europe/Berlin", False)


@pytest.mark.parametrize(
    ("country", "zone"),
    [
        ("kw", "Asia/Kuwait"),
        ("SA", "Asia/Riyadh"),
        ("JP", "Asia/Tokyo"),
        ("QA", "Asia/Qatar"),
        ("CN", "Asia/Shanghai"),
    ],
)
def test_every_country_of_one_time_zone_gives_it(country: str, zone: str) -> None:
    """Kuwait has one zone: its customers were left without one, "country KW has several time zones"."""
    customer = customer_row(country=country).entity
    assert isinstance(customer, Customer)
    assert (customer.time_zone, customer.data_quality) == (zone, ())


def test_a_country_with_several_zones_leaves_the_time_zone_empty_with_a_note() -> None:
    mapped = customer_row(country="US")
    assert isinstance(mapped.entity, Customer)
    assert mapped.entity.time_zone is None
    assert [(n.column, n.reason.split(":")[0]) for n in mapped.notes] == [("time_zone", "left empty")]
    assert mapped.entity.data_quality == ("time_zone is missing and country US has several time zones",)


def test_a_given_time_zone_wins_over_the_country() -> None:
    customer = customer_row(country="DE", time_zone="America/New_York").entity
    assert isinstance(customer, Customer)
    assert customer.time_zone == "America/New_York"


@pytest.mark.parametrize(
    ("values", "issue"),
    [
        ({"email": ""}, "email is missing"),
        ({"email": "accounts payable"}, "email is not one address"),
        ({"email": "a@b.example; c@d.example"}, "email is not one address"),
        ({"email": "ap@localhost"}, "email is not one address"),
        ({"country": "DE", "tax_id": "DE12345"}, "tax_id is not a tax id of the format used in DE"),
        ({"country": "DE", "phone": "call me"}, "phone does not look like a phone number"),
    ],
)
def test_master_data_problems_keep_the_customer_and_say_what_to_fix(
    values: dict[str, str], issue: str
) -> None:
    # A customer without a usable AP email is still a customer: loaded, flagged, never emailed.
    base = {"country": "DE"}
    header = [*CUSTOMER_HEADER, "tax_id", "phone"]
    merged = {"customer_id": "C-1", "name": "Acme GmbH", "email": "ap@acme.example", **base, **values}
    mapped = row(bind(DropKind.CUSTOMERS, header), [merged.get(c, "") for c in header])
    assert isinstance(mapped.entity, Customer)
    assert any(line.startswith(issue) for line in mapped.entity.data_quality), mapped.entity.data_quality
    assert mapped.notes
    if "email" in values:
        assert mapped.entity.email == ""


def test_a_valid_eu_vat_id_and_phone_raise_nothing() -> None:
    header = [*CUSTOMER_HEADER, "tax_id", "phone"]
    values = {"customer_id": "C-1", "name": "A", "email": "ap@a.example", "country": "DE"}
    values |= {"tax_id": "DE 123456789", "phone": "+49 (30) 1234-567"}
    mapped = row(bind(DropKind.CUSTOMERS, header), [values.get(c, "") for c in header])
    assert isinstance(mapped.entity, Customer)
    assert mapped.entity.data_quality == ()


@pytest.mark.parametrize(
    ("values", "column", "reason"),
    [
        ({"name": ""}, "name", "is required"),
        ({"customer_id": ""}, "customer_id", "is required"),
        ({"country": "XX"}, "country", "is not an ISO 3166 alpha-2 country code"),
        ({"country": "DEU"}, "country", "is not an ISO 3166 alpha-2 country code"),
        ({"time_zone": "Europe/Atlantis"}, "time_zone", "is not an IANA time zone"),
        ({"time_zone": "../etc/passwd"}, "time_zone", "is not an IANA time zone"),
        ({"annual_sales": "-1"}, "annual_sales", "must not be negative"),
        ({"credit_limit": "lots"}, "credit_limit", "is not a number"),
    ],
)
def test_each_invalid_customer_value_is_rejected_with_its_reason(
    values: dict[str, str], column: str, reason: str
) -> None:
    found = reasons(customer_row(**values))
    assert found[column].startswith(reason)


PAYMENT_HEADER = [
    "customer_id",
    "payment_id",
    "payment_date",
    "amount",
    "currency",
    "invoice_number",
    "reference",
]


def test_a_payment_row_maps_with_nothing_applied_yet() -> None:
    bound = bind(DropKind.PAYMENTS, PAYMENT_HEADER)
    payment = row(bound, ["C-1", "P-1", "2026-11-02", "40.10", "EUR", "INV-1", "remittance 7"]).entity
    assert payment == Payment(
        customer_id="C-1",
        payment_id="P-1",
        payment_date=date(2026, 11, 2),
        amount=Decimal("40.10"),
        currency="EUR",
        invoice_number="INV-1",
        reference="remittance 7",
        applied_amount=Decimal(0),
        unapplied_amount=Decimal("40.10"),
    )


@pytest.mark.parametrize(
    ("values", "column", "reason"),
    [
        (["C-1", "", "2026-11-02", "40", "EUR", "", ""], "payment_id", "is required"),
        (["C-1", "P-1", "2026-11-02", "0", "EUR", "", ""], "amount", "must be greater than 0"),
        (["C-1", "P-1", "2/11/2026", "40", "EUR", "", ""], "payment_date", "is not a date"),
        (["C-1", "P-1", "2026-11-02", "40", "XTS", "", ""], "currency", "is not an ISO 4217"),
    ],
)
def test_each_invalid_payment_value_is_rejected(values: list[str], column: str, reason: str) -> None:
    found = reasons(row(bind(DropKind.PAYMENTS, PAYMENT_HEADER), values))
    assert found[column].startswith(reason)


def test_reference_data_is_sane() -> None:
    assert {"EUR", "USD", "GBP", "JPY", "CHF"} <= CURRENCIES
    assert not {"XXX", "XTS", "XAU"} & CURRENCIES
    assert len(COUNTRIES) == 249
    assert set(SINGLE_ZONE_COUNTRIES) <= COUNTRIES
    assert not {"US", "CA", "AU", "BR", "RU", "MX", "ES", "PT"} & set(SINGLE_ZONE_COUNTRIES)


@pytest.mark.parametrize("by", ["row", "columns"])
def test_the_fast_invoice_construction_equals_the_dataclass_one_field_for_field(by: str) -> None:
    # Both the one-row builder and the column builder fill the instance dictionary themselves.
    values = {**GOOD_INVOICE, "description": "x", "company_code": "DE01", "disputed": "yes"}
    record = Record(2, [values.get(column, "") for column in INVOICE_HEADER])
    bound = bind(DropKind.INVOICES, INVOICE_HEADER)
    invoice = bound.map(record).entity if by == "row" else bound.map_many([record])[0].entity
    assert isinstance(invoice, Invoice)
    assert list(vars(invoice)) == list(Invoice.__dataclass_fields__)  # every field, in the class's order
    rebuilt = Invoice(**{name: getattr(invoice, name) for name in Invoice.__dataclass_fields__})
    assert rebuilt == invoice and hash(rebuilt) == hash(invoice) and vars(rebuilt) == vars(invoice)


@pytest.mark.parametrize("zone", ["x" * 2100, "../../etc/passwd", "/etc/localtime", "Nowhere/Atlantis"])
def test_a_time_zone_no_zone_has_is_refused_with_its_reason_never_a_crash(zone: str) -> None:
    mapped = customer_row(time_zone=zone)
    assert mapped.entity is None
    assert [(e.column, e.reason) for e in mapped.errors] == [
        ("time_zone", "is not an IANA time zone (such as Europe/Berlin, America/New_York)")
    ]
