"""Exports from ERPs set to different locales, through the real ingest handler against moto: each file's
date order and number separators are decided once from all its values (ingest/conventions.py), what the
values leave open comes from the mapping and then the deployment's exportLocale, and a file still open is
refused whole with one reason; the home currency fills a missing currency (arcollect/company.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from arcollect.entities import Invoice
from arcollect.ingest import drops
from arcollect.store.repositories import Invoices
from tests.integration.ingest_flow import ingest, upload_mapping

CUSTOMER = "Société Générale d'Équipement"


def invoices(*rows: str, separator: str = ";") -> bytes:
    header = separator.join(
        ["customer_id", "invoice_number", "invoice_date", "due_date", "amount", "currency"]
    )
    return ("\n".join([header, *rows]) + "\n").encode()


def stored(number: str) -> Invoice:
    found = Invoices().get(CUSTOMER, number)
    assert found is not None, f"invoice {number} was not loaded"
    return found


# Each locale's own way of writing dates and amounts: (separator, 22 July, 21 August, 3 July, 1,234.56,
# 2,500.00, currency). The 3 July row alone could be read either way; the file's other values settle it.
LOCALES = {
    "en-US": (",", "07/22/2026", "08/21/2026", "07/03/2026", '"1,234.56"', '"2,500.00"', "USD"),
    "en-GB": (",", "22/07/2026", "21/08/2026", "03/07/2026", '"1,234.56"', '"2,500.00"', "GBP"),
    "de-DE": (";", "22.07.2026", "21.08.2026", "03.07.2026", "1.234,56", "2.500,00", "EUR"),
    "nl-NL": (";", "22-07-2026", "21-08-2026", "03-07-2026", "1.234,56", "2.500,00", "EUR"),
    "fr-FR": (";", "22/07/2026", "21/08/2026", "03/07/2026", "1\u202f234,56", "2\u202f500,00", "EUR"),
}


@pytest.mark.parametrize("locale", sorted(LOCALES))
def test_each_locales_export_is_read_from_its_own_values(aws: None, locale: str) -> None:
    sep, july_22, august_21, july_3, amount, other_amount, currency = LOCALES[locale]
    rows = [
        sep.join([f'"{CUSTOMER}"', "INV/2026/00187", july_22, august_21, amount, currency]),
        sep.join([f'"{CUSTOMER}"', "INV/2026/00188", july_3, august_21, other_amount, currency]),
    ]
    summary = ingest(f"incoming/invoices/{locale}.csv", invoices(*rows, separator=sep))
    assert (summary["status"], summary["accepted"], summary["rejected"], summary["errors"]) == (
        "ingested",
        2,
        0,
        [],
    )
    one, two = stored("INV/2026/00187"), stored("INV/2026/00188")
    assert (one.invoice_date, one.due_date, one.amount, one.currency) == (
        date(2026, 7, 22),
        date(2026, 8, 21),
        Decimal("1234.56"),
        currency,
    )
    assert (two.invoice_date, two.amount) == (date(2026, 7, 3), Decimal("2500.00"))


# Dinars (three decimals): 1.234 is 1.234 KWD the American way, 1234 KWD the German way. (1.234 EUR is
# no amount: a euro has two decimals, and the row would be refused for it.)
AMBIGUOUS = invoices(
    f'"{CUSTOMER}";INV/1;03/04/2026;05/06/2026;1.234;KWD',
    f'"{CUSTOMER}";INV/2;04/05/2026;06/07/2026;2.500;KWD',
)


def test_an_ambiguous_file_is_refused_whole_with_one_reason_that_says_how_to_settle_it(aws: None) -> None:
    summary = ingest("incoming/invoices/ambiguous.csv", AMBIGUOUS)
    assert (summary["status"], summary["accepted"], summary["rows_read"]) == ("rejected", 0, 0)
    [reason] = summary["errors"]
    for told in (
        "columns invoice_date, due_date have dates such as 03/04/2026",
        "column amount has amounts such as 1.234",
        "1.234",
        "exportLocale",
    ):
        assert told in reason
    assert Invoices().get(CUSTOMER, "INV/1") is None


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("de-DE", (date(2026, 4, 3), Decimal("1234"))), ("en-US", (date(2026, 3, 4), Decimal("1.234")))],
)
def test_the_export_locale_settles_what_the_values_leave_open(
    aws: None, monkeypatch: pytest.MonkeyPatch, locale: str, expected: tuple[date, Decimal]
) -> None:
    monkeypatch.setenv("EXPORT_LOCALE", locale)
    summary = ingest("incoming/invoices/ambiguous.csv", AMBIGUOUS)
    assert (summary["status"], summary["accepted"]) == ("ingested", 2)
    assert (stored("INV/1").invoice_date, stored("INV/1").amount) == expected


def test_a_mapping_settles_what_the_values_leave_open_before_the_locale(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXPORT_LOCALE", "en-US")
    upload_mapping(
        "dutch",
        "name: dutch\nkind: invoices\nformats: {dates: ['%d/%m/%Y'], decimal: ',', thousands: '.'}\n"
        "fields: {customer_id: customer_id, invoice_number: invoice_number, invoice_date: invoice_date,\n"
        "         due_date: due_date, amount: amount, currency: currency}\n",
    )
    summary = ingest("incoming/invoices/dutch/ambiguous.csv", AMBIGUOUS)
    assert (summary["status"], summary["accepted"]) == ("ingested", 2)
    assert (stored("INV/1").invoice_date, stored("INV/1").amount) == (date(2026, 4, 3), Decimal("1234"))


def test_a_file_whose_dates_contradict_each_other_is_refused_naming_both(aws: None) -> None:
    body = invoices(
        f'"{CUSTOMER}";INV/1;22/07/2026;21/08/2026;10,00;EUR',
        f'"{CUSTOMER}";INV/2;07/23/2026;08/22/2026;10,00;EUR',
    )
    summary = ingest("incoming/invoices/mixed.csv", body)
    [reason] = summary["errors"]
    assert summary["status"] == "rejected"
    assert (
        "day-first dates (22/07/2026 on line 2)" in reason
        and "month-first ones (07/23/2026 on line 3)" in reason
    )


def test_a_settling_value_far_down_a_fanned_out_file_decides_every_chunk(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(drops, "FAN_OUT_LINES", 400)
    # Thousands of rows whose dates all read either way, and one near the end that settles day-first:
    # every chunk of the file reads 03/04 as 3 April.
    rows = [f'"{CUSTOMER}";INV/{i:05d};03/04/2026;05/04/2026;10,00;EUR' for i in range(1, 1301)]
    rows.append(f'"{CUSTOMER}";INV/LAST;28/04/2026;05/05/2026;10,00;EUR')
    summary = ingest("incoming/invoices/long.csv", invoices(*rows))
    assert (summary["status"], summary["accepted"], summary["chunks"]) == (
        "ingested",
        1301,
        summary["chunks"],
    )
    assert summary["chunks"] > 1
    assert stored("INV/00001").invoice_date == date(2026, 4, 3)
    assert stored("INV/01300").invoice_date == date(2026, 4, 3)


@pytest.mark.parametrize("home", ["EUR", "CHF"])
def test_a_missing_currency_is_the_home_currency(
    aws: None, monkeypatch: pytest.MonkeyPatch, home: str
) -> None:
    monkeypatch.setenv("HOME_CURRENCY", home)
    body = (
        "customer_id,invoice_number,invoice_date,due_date,amount,currency\n"
        f'"{CUSTOMER}",INV/1,2026-07-22,2026-08-21,10.00,\n'
        f'"{CUSTOMER}",INV/2,2026-07-22,2026-08-21,10.00,USD\n'
    ).encode()
    summary = ingest("incoming/invoices/blank-currency.csv", body)
    assert summary["accepted"] == 2
    assert (stored("INV/1").currency, stored("INV/2").currency) == (home, "USD")
    no_column = "customer_id,invoice_number,invoice_date,due_date,amount\n"
    no_column += f'"{CUSTOMER}",INV/3,2026-07-22,2026-08-21,10.00\n'
    assert ingest("incoming/invoices/no-currency.csv", no_column.encode())["accepted"] == 1
    assert stored("INV/3").currency == home


# A German export in the first days of a month: every date has a day of 12 or less, so none settles the
# order by its numbers; the dots do (no locale writes a month-first date with dots). Its amounts show a
# decimal comma.
FIRST_DAYS = invoices(
    f'"{CUSTOMER}";RE/2026/0201;01.12.2026;10.01.2027;1.500,00;EUR',
    f'"{CUSTOMER}";RE/2026/0202;02.12.2026;11.01.2027;2.750,50;EUR',
)


def test_dates_written_with_dots_read_day_first_without_a_locale_and_the_result_says_why(aws: None) -> None:
    summary = ingest("incoming/invoices/first-days.csv", FIRST_DAYS, {"as-of": "2026-12-14"})
    assert (summary["status"], summary["rows_read"], summary["accepted"], summary["errors"]) == (
        "ingested",
        2,
        2,
        [],
    )
    one, two = stored("RE/2026/0201"), stored("RE/2026/0202")
    assert (one.invoice_date, one.due_date, one.amount) == (
        date(2026, 12, 1),
        date(2027, 1, 10),
        Decimal("1500.00"),
    )
    assert (two.invoice_date, two.due_date, two.amount) == (
        date(2026, 12, 2),
        date(2027, 1, 11),
        Decimal("2750.50"),
    )
    # One note for the file (not one per row), first, with the value and line that show it, and why.
    [note] = [n for n in summary["notes"] if "day-first" in n["note"]]
    assert summary["notes"][0] == note and summary["notes_total"] == 1
    assert (note["row"], note["column"], note["value"]) == (2, "invoice_date", "01.12.2026")
    for told in (
        "dates read day-first, as DD.MM.YYYY (01.12.2026 as 1 December 2026)",
        "columns invoice_date, due_date",
        "no date in the file has a day above 12",
        "every locale that writes dates with dots and a 4-digit year writes them day-first",
        "formats.dates ['%m.%d.%Y']",
    ):
        assert told in note["note"], told


@pytest.mark.parametrize(
    ("issued", "due"),
    [("01/12/2026", "10/01/2027"), ("01-12-2026", "10-01-2027"), ("01.12.26", "10.01.27")],
)
def test_slash_dash_or_two_digit_year_dates_that_read_both_ways_are_still_refused(
    aws: None, issued: str, due: str
) -> None:
    # The decimal comma settles the amounts, not the dates: a spreadsheet's CSV can write one locale's
    # numbers and another's dates, and CLDR has a locale with a decimal comma and M/d/y dates (Anii).
    # Two-digit years with dots could put the year first (26.12.01).
    body = invoices(f'"{CUSTOMER}";RE/1;{issued};{due};1.500,00;EUR')
    summary = ingest("incoming/invoices/open.csv", body)
    assert (summary["status"], summary["rows_read"], summary["notes"]) == ("rejected", 0, [])
    [reason] = summary["errors"]
    assert f"columns invoice_date, due_date have dates such as {issued} (line 2" in reason
    assert "no date in the file has a day above 12 to settle which" in reason and "exportLocale" in reason
    assert Invoices().get(CUSTOMER, "RE/1") is None


def test_a_month_first_export_locale_that_dotted_dates_contradict_refuses_the_file_rather_than_misread_it(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXPORT_LOCALE", "en-US")
    summary = ingest("incoming/invoices/first-days.csv", FIRST_DAYS)
    assert (summary["status"], summary["rows_read"], summary["accepted"]) == ("rejected", 0, 0)
    [reason] = summary["errors"]
    for told in (
        "the file's own values contradict the export locale, so none of it was read",
        "column invoice_date has dates such as 01.12.2026 (line 2) written DD.MM.YYYY",
        "which no locale writes month-first",
        "exportLocale en-US (month-first dates, '.' as the decimal point) would read them month-first",
        "the file was not exported in en-US",
        "formats.dates ['%m.%d.%Y']",
    ):
        assert told in reason, told
    assert Invoices().get(CUSTOMER, "RE/2026/0201") is None


def test_a_day_first_export_locale_reads_dotted_dates_with_no_note_and_a_mapping_may_read_them_month_first(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXPORT_LOCALE", "de-CH")
    summary = ingest("incoming/invoices/first-days.csv", FIRST_DAYS)
    assert (summary["status"], summary["accepted"], summary["notes"]) == ("ingested", 2, [])
    assert stored("RE/2026/0201").invoice_date == date(2026, 12, 1)
    # A team whose ERP does write month-first dates with dots says so in its mapping: the mapping's own
    # dotted pattern comes before the locale and the dots.
    monkeypatch.setenv("EXPORT_LOCALE", "en-US")
    upload_mapping(
        "dotted-us",
        "name: dotted-us\nkind: invoices\nformats: {dates: ['%m.%d.%Y'], decimal: ',', thousands: '.'}\n"
        "fields: {customer_id: customer_id, invoice_number: invoice_number, invoice_date: invoice_date,\n"
        "         due_date: due_date, amount: amount, currency: currency}\n",
    )
    summary = ingest("incoming/invoices/dotted-us/first-days.csv", FIRST_DAYS)
    assert (summary["status"], summary["accepted"], summary["notes"]) == ("ingested", 2, [])
    assert stored("RE/2026/0201").invoice_date == date(2026, 1, 12)


def test_a_mappings_month_first_slash_pattern_does_not_read_a_dotted_export_month_first(aws: None) -> None:
    # A mapping written for an ERP's US default (M/D/YYYY, as several presets read it) meets the same
    # ERP set to German: its month-first slashes say nothing of dotted dates, so the dots decide.
    upload_mapping(
        "us-default",
        "name: us-default\nkind: invoices\nformats: {dates: ['%m/%d/%Y'], decimal: ',', thousands: '.'}\n"
        "fields: {customer_id: customer_id, invoice_number: invoice_number, invoice_date: invoice_date,\n"
        "         due_date: due_date, amount: amount, currency: currency}\n",
    )
    summary = ingest("incoming/invoices/us-default/first-days.csv", FIRST_DAYS)
    assert (summary["status"], summary["accepted"]) == ("ingested", 2), summary
    found = stored("RE/2026/0201")
    assert (found.invoice_date, found.due_date) == (date(2026, 12, 1), date(2027, 1, 10))
    assert "dates read day-first, as DD.MM.YYYY" in summary["notes"][0]["note"]
    # Its slash dates that read both ways are still read as it says: month-first.
    slashes = invoices(f'"{CUSTOMER}";RE/3;03/04/2026;05/06/2026;1.500,00;EUR')
    assert ingest("incoming/invoices/us-default/slashes.csv", slashes)["notes"] == []
    assert stored("RE/3").invoice_date == date(2026, 3, 4)


def test_a_fanned_out_dotted_file_reads_day_first_in_every_chunk_and_notes_it_once(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(drops, "FAN_OUT_LINES", 400)
    rows = [f'"{CUSTOMER}";RE/{i:05d};03.04.2026;05.05.2026;10,00;EUR' for i in range(1, 1001)]
    summary = ingest("incoming/invoices/long-dotted.csv", invoices(*rows))
    assert (summary["status"], summary["accepted"]) == ("ingested", 1000)
    assert summary["chunks"] > 1
    assert stored("RE/00001").invoice_date == date(2026, 4, 3)
    assert stored("RE/01000").invoice_date == date(2026, 4, 3)
    assert summary["notes_total"] == 1 and summary["notes"][0]["value"] == "03.04.2026"
