"""Deciding a file's date order and number separators from all its values (ingest/conventions.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from arcollect.company import CompanySettings, export_locale
from arcollect.entities import DropKind, Invoice
from arcollect.ingest import fields as f
from arcollect.ingest.conventions import (
    Convention,
    conventions_from_json,
    conventions_json,
    detect,
    inferred,
)
from arcollect.ingest.mappings import GENERIC, PRESETS, BoundMapping, ColumnMapping, choose, load_mapping
from arcollect.ingest.sources import FileProblem, Record

HEADER = ["customer_id", "invoice_number", "invoice_date", "due_date", "amount", "currency", "open_amount"]


def decide(
    rows: list[tuple[str, str, str]],
    *,
    locale: str | None = None,
    mapping: ColumnMapping | None = None,
    block: int = 1000,
) -> dict[str, Convention]:
    """Conventions of a generic invoices file whose rows are (invoice date, due date, amount)."""
    records = [Record(1, HEADER)] + [
        Record(line, ["C-1", f"INV-{line}", issued, due, amount, "EUR", ""])
        for line, (issued, due, amount) in enumerate(rows, start=2)
    ]
    chosen, header = choose(DropKind.INVOICES, records[:1], mapping or PRESETS[(DropKind.INVOICES, GENERIC)])
    blocks = [records[i : i + block] for i in range(0, len(records), block)]
    return detect(chosen, header, blocks, export_locale(locale))


def test_year_first_dates_and_plain_amounts_need_no_deciding() -> None:
    assert decide([("2026-07-22", "2026-08-21", "1234.56"), ("2026-07-03", "2026-08-02", "7")]) == {}


def test_a_strict_file_that_starts_plain_is_read_by_its_mapping_and_a_later_odd_value_refused() -> None:
    # The generic mapping reads ISO dates and '.' decimals only: when the first block of rows is all of
    # that form, the rest of the file is not looked at first. A later 1,234 or 22/07/2026 cannot be
    # misread by those formats: its row is refused with its reason.
    rows = [("2026-07-22", "2026-08-21", "1234.56")] * 3 + [("22/07/2026", "21/08/2026", "1,234")]
    assert decide(rows, block=2) == {}
    # Looked at in one block, the same rows are not plain enough to skip the look: a decision is made.
    assert decide(rows)["amount"] == Convention(decimal_point=".", thousands_separator=",")


def test_a_few_stray_values_do_not_decide_a_file() -> None:
    iso = [("2026-07-22", "2026-08-21", "1234.56")] * 60
    # One hand-typed day-month date and one decimal comma among sixty: refused row by row, not a convention
    found = decide([*iso, ("31/01/2026", "2026-08-21", "12,5")])
    assert (
        "invoice_date" not in found
        and found.get("amount", Convention(decimal_point=".")).decimal_point == "."
    )


@pytest.mark.parametrize(
    ("amounts", "decimal_point", "thousands"),
    [
        (["1,234.56", "12"], ".", ","),
        (["1.234,56", "12"], ",", "."),
        (["1,234,567", "1,234"], ".", ","),  # groups of three twice: thousands; the 1,234 is 1234
        (["1.234.567", "1.234"], ",", "."),
        (["12,5", "1.234"], ",", "."),  # a decimal comma settles it, and 1.234 is then 1234
        (["12.50", "1,234"], ".", ","),
        (["1\u202f234,56", "7,5"], ",", "\u202f"),  # French: narrow no-break space thousands
        (["1 234,56", "7"], ",", " "),
        (["1'234.50", "7.5"], ".", "'"),  # Swiss
        (["1.234,56-", "12,00-"], ",", "."),  # SAP's trailing minus
        (["(1,234.00)", "$12.00"], ".", ","),
        (["1234,567", "1"], ",", ""),  # four digits before the separator: no thousands group either
    ],
)
def test_the_amounts_settle_their_separators(amounts: list[str], decimal_point: str, thousands: str) -> None:
    found = decide([("2026-07-22", "2026-08-21", amount) for amount in amounts])
    assert found["amount"] == Convention(decimal_point=decimal_point, thousands_separator=thousands)


def test_amounts_that_contradict_each_other_are_refused_naming_both() -> None:
    with pytest.raises(FileProblem) as refused:
        decide([("2026-07-22", "2026-08-21", "1.234,56"), ("2026-07-22", "2026-08-21", "1,234.56")])
    reason = str(refused.value)
    assert "column amount has amounts with a decimal comma (1.234,56 on line 2)" in reason
    assert "a decimal point (1,234.56 on line 3)" in reason


@pytest.mark.parametrize(
    ("dates", "patterns"),
    [
        ([("22/07/2026", "21/08/2026"), ("03/07/2026", "02/08/2026")], ("%d/%m/%Y",)),
        ([("07/22/2026", "08/21/2026"), ("07/03/2026", "08/02/2026")], ("%m/%d/%Y",)),
        ([("22.07.26", "21.08.26")], ("%d.%m.%y",)),  # two-digit years
        ([("22-7-2026", "1-8-2026")], ("%d-%m-%Y",)),
        ([("3.7.2026", "28.7.2026")], ("%d.%m.%Y",)),  # the due date settles the invoice date's order
        ([("2026/07/22", "2026/08/21")], ("%Y/%m/%d", "iso")),
    ],
)
def test_the_dates_settle_their_order(dates: list[tuple[str, str]], patterns: tuple[str, ...]) -> None:
    found = decide([(issued, due, "1") for issued, due in dates])
    assert found["invoice_date"].dates[: len(patterns)] == patterns


def test_a_file_with_day_first_and_month_first_dates_is_refused() -> None:
    with pytest.raises(
        FileProblem, match=r"columns invoice_date and due_date have day-first dates \(22/07/2026"
    ):
        decide([("22/07/2026", "08/21/2026", "1")])


def test_what_the_values_leave_open_comes_from_the_mapping_then_the_locale() -> None:
    ambiguous = [("03/04/2026", "05/06/2026", "1,234")]
    with pytest.raises(FileProblem) as refused:
        decide(ambiguous)
    assert "exportLocale" in str(refused.value) and "formats.dates such as" in str(refused.value)
    german = decide(ambiguous, locale="de-DE")
    assert german["invoice_date"].dates[0] == "%d/%m/%Y" and german["amount"].decimal_point == ","
    american = decide(ambiguous, locale="en-US")
    assert american["invoice_date"].dates[0] == "%m/%d/%Y" and american["amount"].thousands_separator == ","
    dutch_mapping = load_mapping(
        "name: nl\nkind: invoices\nformats: {dates: ['%d/%m/%Y'], decimal: ','}\nfields: {customer_id: "
        "customer_id, invoice_number: invoice_number, invoice_date: invoice_date, due_date: due_date, "
        "amount: amount}\n",
        source="test",
    )
    # The mapping before the locale
    dutch = decide(ambiguous, locale="en-US", mapping=dutch_mapping)
    assert dutch["invoice_date"].dates[0] == "%d/%m/%Y" and dutch["amount"].decimal_point == ","


def test_a_mapping_that_fixes_its_formats_is_read_as_it_says() -> None:
    fixed = load_mapping(
        "name: fixed\nkind: invoices\nformats: {dates: ['%m/%d/%Y'], detect: false}\nfields: {customer_id: "
        "customer_id, invoice_number: invoice_number, invoice_date: {column: invoice_date, format: "
        "'%d/%m/%Y'}, due_date: due_date, amount: amount}\n",
        source="test",
    )
    assert decide([("22/07/2026", "08/21/2026", "1,234")], mapping=fixed) == {}
    with pytest.raises(Exception, match=r"formats\.detect: must be true or false"):
        load_mapping(
            "name: x\nkind: invoices\nformats: {detect: maybe}\nfields: {amount: a}\n", source="test"
        )


def test_conventions_travel_with_a_chunk_unchanged() -> None:
    found = decide([("22/07/2026", "21/08/2026", "1.234,56")])
    assert conventions_from_json(conventions_json(found)) == found


def test_a_bound_mapping_reads_the_file_as_its_conventions_say() -> None:
    rows = [("22/07/2026", "21/08/2026", "1.234,56"), ("03/07/2026", "02/08/2026", "2.500")]
    conventions = decide(rows)
    chosen, header = choose(DropKind.INVOICES, [Record(1, HEADER)], PRESETS[(DropKind.INVOICES, GENERIC)])
    bound = BoundMapping(chosen, header, settings=CompanySettings.of("EUR"), conventions=conventions)
    records = [
        Record(line, ["C-1", f"INV-{line}", issued, due, amount, "", ""])
        for line, (issued, due, amount) in enumerate(rows, start=2)
    ]
    mapped = bound.map_many(records)
    assert mapped == [bound.map(record) for record in records]
    first, second = (row.entity for row in mapped)
    assert isinstance(first, Invoice) and isinstance(second, Invoice)
    assert (first.invoice_date, first.amount, first.currency) == (
        date(2026, 7, 22),
        Decimal("1234.56"),
        "EUR",
    )
    assert (second.invoice_date, second.amount) == (date(2026, 7, 3), Decimal("2500"))


@pytest.mark.parametrize("text", ["-", "+", "-\n", "--1"])
def test_a_lone_sign_is_no_amount(text: str) -> None:
    values, refused = f.convert_column(f.money_converter(f.Formats()), [text, "1.00"] * 6)
    assert refused == list(range(0, 12, 2)) and values[1] == Decimal("1.00")


def test_an_unknown_locale_or_currency_is_refused_naming_the_setting() -> None:
    with pytest.raises(ValueError, match="exportLocale='xx-YY' is not a locale arcollect knows"):
        CompanySettings.of("EUR", "xx-YY")
    with pytest.raises(ValueError, match="homeCurrency='EURO' is not an ISO 4217 currency code"):
        CompanySettings.of("EURO")
    assert CompanySettings.of("chf", "de_CH").export_locale == export_locale("de-CH")


def test_dates_written_with_dots_that_read_both_ways_are_day_first_with_a_note_that_travels() -> None:
    found = decide([("01.12.2026", "10.01.2027", "1.500,00"), ("2.12.2026", "11.1.2027", "2.750,50")])
    assert found["invoice_date"].dates[0] == found["due_date"].dates[0] == "%d.%m.%Y"
    note = found["invoice_date"].note
    assert note is not None and (note.column, note.value, note.line) == ("invoice_date", "01.12.2026", 2)
    assert "01.12.2026 as 1 December 2026" in note.reason and found["due_date"].note is None
    # A fanned-out file's chunks carry the note with the conventions; the file's result notes it once.
    assert conventions_from_json(conventions_json(found)) == found
    assert [n.value for n in inferred(found)] == ["01.12.2026"]


@pytest.mark.parametrize(
    ("patterns", "first", "noted"),
    [
        (["%m.%d.%Y"], "%m.%d.%Y", False),  # the mapping's dotted pattern says the order of dotted dates
        (["%m/%d/%Y", "%m.%d.%Y"], "%m.%d.%Y", False),
        (["%m/%d/%Y"], "%d.%m.%Y", True),  # month-first slashes say nothing of dots: the dots decide
        (["%d/%m/%Y"], "%d.%m.%Y", False),  # the mapping's order, as the dots say too
    ],
)
def test_a_mapping_decides_dotted_dates_only_by_a_dotted_pattern_or_a_day_first_one(
    patterns: list[str], first: str, noted: bool
) -> None:
    mapping = load_mapping(
        f"name: m\nkind: invoices\nformats: {{dates: {patterns}}}\nfields: {{customer_id: customer_id, "
        "invoice_number: invoice_number, invoice_date: invoice_date, due_date: due_date, amount: amount}\n",
        source="test",
    )
    found = decide([("01.12.2026", "10.01.2027", "1")], mapping=mapping)
    assert found["invoice_date"].dates[0] == first
    assert (found["invoice_date"].note is not None) is noted


def test_dotted_dates_mixed_with_other_open_dates_or_two_digit_years_are_still_refused() -> None:
    for rows in ([("01.12.2026", "10/01/2027", "1")], [("01.12.26", "10.01.27", "1")]):
        with pytest.raises(FileProblem, match="no date in the file has a day above 12 to settle which"):
            decide(rows)
