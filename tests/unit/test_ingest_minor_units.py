"""Amounts finer than their currency's smallest unit (ISO 4217's minor unit) are refused, through
``receive_drop``: 100.001 GBP is no amount anyone can owe (a payment of 100.00 would leave 0.001 open and
the invoice reminded as "0.00 GBP" forever). The zeros an export pads with are no digits (100.0000 is
100.00), and the check applies to the amount as read, whatever the file's number format."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from arcollect.contract import EnvVar
from arcollect.ingest.fields import BAD, amounts_at_units, at_unit
from arcollect.money import minor_unit
from arcollect.reference import CURRENCIES
from tests.unit.fakes import Table
from tests.unit.test_ingest_loading import ingest

INVOICES = b"customer_id,invoice_number,invoice_date,due_date,amount,currency\n"
EUR_UNIT = "has more decimal places than EUR's 2 (its smallest unit is 0.01)"
GBP_UNIT = "has more decimal places than GBP's 2 (its smallest unit is 0.01)"


def rejected(outputs: object, key: str) -> list[list[str]]:
    """The rows of a file's errors.csv, its header aside."""
    files: dict[str, bytes] = outputs.files  # type: ignore[attr-defined]
    _, *rows = csv.reader(io.StringIO(files[key].decode()))
    return rows


def test_an_amount_finer_than_its_currency_s_unit_is_refused_naming_the_unit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the tester's file, in a deployment whose exports write amounts the British way (alone, 100.001
    # could be 100,001: the export locale says it is not)
    monkeypatch.setenv(EnvVar.EXPORT_LOCALE, "en-GB")
    table = Table()
    content = INVOICES + b"ACME  Corp 42,B/11,2026-11-01,2026-12-01,100.001,GBP\n"
    # When it is ingested
    _, summary, outputs = ingest("incoming/invoices/b.csv", content, table)
    # Then the row is refused with its line, column, value and why, and nothing is loaded
    assert (summary["errors"], summary["accepted"], summary["rejected"]) == ([], 0, 1)
    assert rejected(outputs, "rejected/invoices/b.csv.errors.csv") == [
        ["2", "amount", "100.001", "100.001 has more decimal places than GBP's 2 (its smallest unit is 0.01)"]
    ]
    assert table.invoices_ == {}


def test_zeros_past_the_unit_are_no_digits_and_the_amount_is_kept_at_the_unit() -> None:
    # Given amounts padded with zeros past their currency's unit, as SAP exports write them
    table = Table()
    content = INVOICES + (
        b"C-1,INV-1,2026-11-01,2026-12-01,100.0000,GBP\n"
        b"C-1,INV-2,2026-11-01,2026-12-01,5000.000,JPY\n"
        b"C-1,INV-3,2026-11-01,2026-12-01,1.2300,KWD\n"
    )
    # When they are ingested
    _, summary, _ = ingest("incoming/invoices/sap.csv", content, table)
    # Then they are accepted, each at its currency's unit
    assert (summary["accepted"], summary["rejected"]) == (3, 0)
    amounts = {number: str(table.invoices_[("C-1", number)].amount) for number in ("INV-1", "INV-2", "INV-3")}
    assert amounts == {"INV-1": "100.00", "INV-2": "5000", "INV-3": "1.230"}
    assert str(table.invoices_[("C-1", "INV-1")].open_amount) == "100.00"


@pytest.mark.parametrize(
    ("currency", "good", "bad", "reason"),
    [
        ("JPY", "1000", "1000.5", "1000.5 has decimal places, and JPY has none (its smallest unit is 1)"),
        (
            "KWD",
            "1.234",
            "1.2345",
            "1.2345 has more decimal places than KWD's 3 (its smallest unit is 0.001)",
        ),
        ("EUR", "12.5", "12.005", f"12.005 {EUR_UNIT}"),
    ],
    ids=["JPY", "KWD", "EUR"],
)
def test_each_currency_has_its_own_unit(currency: str, good: str, bad: str, reason: str) -> None:
    # Given one amount at its currency's unit and one finer, in JPY (0 decimals), KWD (3) or EUR (2)
    table = Table()
    rows = [f"C-1,INV-{i},2026-11-01,2026-12-01,{amount},{currency}\n" for i, amount in ((1, good), (2, bad))]
    content = INVOICES + "".join(rows).encode()
    # When they are ingested
    _, summary, outputs = ingest("incoming/invoices/c.csv", content, table)
    # Then the one at the unit is loaded as written, the finer one refused saying why
    assert (summary["accepted"], summary["rejected"]) == (1, 1)
    assert table.invoices_[("C-1", "INV-1")].amount == Decimal(good)
    assert rejected(outputs, "rejected/invoices/c.csv.errors.csv") == [["3", "amount", bad, reason]]


def test_a_file_of_several_currencies_judges_each_row_by_its_own() -> None:
    # Given a block of rows in EUR (two decimals) and JPY (none), one JPY row with a decimal
    table = Table()
    rows = [f"C-1,E-{i},2026-11-01,2026-12-01,{i}.25,EUR\n" for i in range(1, 40)]
    rows += [f"C-1,J-{i},2026-11-01,2026-12-01,{i}000,JPY\n" for i in range(1, 40)]
    rows.insert(50, "C-1,J-X,2026-11-01,2026-12-01,1500.50,jpy\n")
    # When the file is ingested
    _, summary, outputs = ingest("incoming/invoices/mixed.csv", INVOICES + "".join(rows).encode(), table)
    # Then only the JPY row with decimals is refused: 2 decimals are EUR's, not JPY's
    assert (summary["accepted"], summary["rejected"]) == (78, 1)
    assert rejected(outputs, "rejected/invoices/mixed.csv.errors.csv") == [
        ["52", "amount", "1500.50", "1500.50 has decimal places, and JPY has none (its smallest unit is 1)"]
    ]


def test_a_german_amount_is_judged_as_it_reads() -> None:
    # Given a file written in a German locale: 1.234,56 is 1234.56, and 1.234,567 is 1234.567
    table = Table()
    content = b"customer_id;invoice_number;invoice_date;due_date;amount;currency\n" + (
        b"C-1;RE-1;01.11.2026;01.12.2026;1.234,56;EUR\n"
        b"C-1;RE-2;01.11.2026;01.12.2026;1.234,567;EUR\n"
        b"C-1;RE-3;01.11.2026;01.12.2026;1.234,5000;EUR\n"
    )
    # When it is ingested
    _, summary, outputs = ingest("incoming/invoices/de.csv", content, table)
    # Then 1.234,567 is refused (the value as written, the reason with what it read), the others loaded
    assert (summary["accepted"], summary["rejected"]) == (2, 1)
    assert rejected(outputs, "rejected/invoices/de.csv.errors.csv") == [
        ["3", "amount", "1.234,567", f"1234.567 {EUR_UNIT}"]
    ]
    assert table.invoices_[("C-1", "RE-1")].amount == Decimal("1234.56")
    assert str(table.invoices_[("C-1", "RE-3")].amount) == "1234.50"


def test_every_amount_of_an_invoice_row_is_checked_and_every_reason_listed() -> None:
    # Given an invoice whose amount and open amount are both finer than a cent
    table = Table()
    content = (
        b"customer_id,invoice_number,invoice_date,due_date,amount,currency,open_amount\n"
        b"C-1,INV-1,2026-11-01,2026-12-01,100.001,EUR,50.0001\n"
        b"C-1,INV-2,2026-11-01,2026-12-01,100.00,EUR,50.005\n"
    )
    # When it is ingested
    _, summary, outputs = ingest("incoming/invoices/o.csv", content, table)
    # Then both rows are refused, the first with both reasons
    assert (summary["accepted"], summary["rejected"]) == (0, 2)
    assert rejected(outputs, "rejected/invoices/o.csv.errors.csv") == [
        ["2", "amount", "100.001", f"100.001 {EUR_UNIT}"],
        ["2", "open_amount", "50.0001", f"50.0001 {EUR_UNIT}"],
        ["3", "open_amount", "50.005", f"50.005 {EUR_UNIT}"],
    ]
    assert table.invoices_ == {}


def test_a_payment_finer_than_its_currency_s_unit_is_refused_and_one_at_it_settles_the_invoice() -> None:
    # Given an open invoice of 100.00 GBP (written 100.0000)
    table = Table()
    ingest("incoming/invoices/i.csv", INVOICES + b"C-1,B/11,2026-11-01,2026-12-01,100.0000,GBP\n", table)
    # When payments arrive: one of a tenth of a penny, one line of a remittance with such a part, one of
    # 100.0000
    content = (
        b"customer_id,payment_id,payment_date,amount,currency,invoice_number,applied_amount\n"
        b"C-1,P-1,2026-12-01,0.001,GBP,B/11,\n"
        b"C-1,P-2,2026-12-01,20.00,GBP,B/11,10.005\n"
        b"C-1,P-3,2026-12-02,100.0000,GBP,B/11,100.00\n"
    )
    _, summary, outputs = ingest("incoming/payments/p.csv", content, table)
    # Then the first two are refused, and the last pays the invoice in full: nothing is left open
    assert (summary["accepted"], summary["rejected"]) == (1, 2)
    assert rejected(outputs, "rejected/payments/p.csv.errors.csv") == [
        ["2", "amount", "0.001", f"0.001 {GBP_UNIT}"],
        ["3", "applied_amount", "10.005", f"10.005 {GBP_UNIT}"],
    ]
    invoice = table.invoices_[("C-1", "B/11")]
    assert (invoice.open_amount, invoice.status, invoice.paid_date) == (0, "closed", date(2026, 12, 2))
    assert list(table.payments_) == [("C-1", "P-3")]


def test_a_customer_s_amounts_are_in_the_home_currency(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a deployment in yen, and a customer master whose amounts have no currency column
    monkeypatch.setenv(EnvVar.HOME_CURRENCY, "JPY")
    table = Table()
    content = (
        b"customer_id,name,email,country,credit_limit,annual_sales\n"
        b"C-1,Acme KK,ap@acme.example,JP,500000,120000000.00\n"
        b"C-2,Nippon KK,ap@nippon.example,JP,250000.5,\n"
    )
    # When it is ingested
    _, summary, outputs = ingest("incoming/customers/m.csv", content, table)
    # Then an amount of a fraction of a yen is refused, saying whose currency it is in
    assert (summary["accepted"], summary["rejected"]) == (1, 1)
    assert rejected(outputs, "rejected/customers/m.csv.errors.csv") == [
        [
            "3",
            "credit_limit",
            "250000.5",
            "250000.5 has decimal places, and JPY has none "
            "(its smallest unit is 1; the file's amounts are in the home currency)",
        ]
    ]
    assert str(table.customers_["C-1"].annual_sales) == "120000000"


# --- the pieces ------------------------------------------------------------------------------------------


def test_the_currencies_ingest_reads_have_iso_4217_s_minor_units() -> None:
    # ISO 4217's list one (2026-01-01 edition): the codes ingest accepts without two decimals
    assert {code for code in CURRENCIES if minor_unit(code) == 0} == {
        *("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW"),
        *("PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"),
    }
    assert {code for code in CURRENCIES if minor_unit(code) == 3} == {
        *("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"),
    }
    assert {minor_unit(code) for code in CURRENCIES} == {0, 2, 3}
    assert (minor_unit("gbp"), minor_unit("jpy"), minor_unit("HRK")) == (2, 0, 2)


@pytest.mark.parametrize(
    ("amount", "places", "expected"),
    [
        ("100.001", 2, None),
        ("100.0010", 2, None),
        ("0.0001", 2, None),
        ("-1234.567", 2, None),
        ("100.0000", 2, "100.00"),
        ("0.000", 2, "0.00"),
        ("100.1", 2, "100.1"),
        ("607", 2, "607"),
        ("1000.5", 0, None),
        ("1000.00", 0, "1000"),
        ("1.234", 3, "1.234"),
        ("1" * 40 + ".000", 2, "1" * 40 + ".00"),
    ],
)
def test_at_unit(amount: str, places: int, expected: str | None) -> None:
    result = at_unit(Decimal(amount), places)
    assert (None if result is None else str(result)) == expected


def test_a_column_at_its_units_matches_each_amount_at_its_unit() -> None:
    amounts = [Decimal("1.00"), None, Decimal("2.0000"), BAD, Decimal("3.001"), Decimal("4.5"), Decimal("0")]
    currencies = ["EUR", "EUR", "EUR", "EUR", "EUR", "JPY", BAD]
    assert amounts_at_units(amounts, currencies) == [4, 5]
    assert amounts == [Decimal("1.00"), None, Decimal("2.00"), BAD, Decimal("3.001"), Decimal("4.5"), 0]
    assert str(amounts[2]) == "2.00"
    # A sum too large for the usual precision is still exact
    huge = [Decimal("9" * 40), Decimal("0.001")]
    assert amounts_at_units(huge, ["EUR", "EUR"]) == [1]
