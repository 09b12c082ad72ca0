"""Date-times where dates are expected (``31.01.2024 00:00:00``, as SAP and Excel exports write them):
read as their day, in every order a file may write its dates, through ``receive_drop``."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from tests.unit.fakes import Table
from tests.unit.test_ingest_loading import ingest

HEADER = b"customer_id;invoice_number;invoice_date;due_date;amount;currency\n"


@pytest.mark.parametrize(
    ("issued", "due"),
    [
        ("31.01.2024 00:00:00", "15.02.2024 00:00:00"),  # day-first, with seconds
        ("31.01.2024 13:45", "15.02.2024 08:00"),  # a time of day that is not midnight: the day counts
        ("01/31/2024 00:00:00", "02/15/2024 00:00:00"),  # month-first
        ("31.01.24 00:00", "15.02.24 00:00"),  # two-digit years
        ("2024-01-31T00:00:00", "2024-02-15 00:00:00"),  # ISO, as before
    ],
)
def test_dates_with_a_time_of_day_are_read_as_their_day(issued: str, due: str) -> None:
    table = Table()
    content = HEADER + f"C-1;INV-1;{issued};{due};1.234,56;EUR\n".encode()
    _, summary, outputs = ingest("incoming/invoices/sap.csv", content, table)
    assert (summary["errors"], summary["accepted"], summary["rejected"]) == ([], 1, 0), outputs.files
    invoice = table.invoices_[("C-1", "INV-1")]
    assert (invoice.invoice_date, invoice.due_date, invoice.amount) == (
        date(2024, 1, 31),
        date(2024, 2, 15),
        Decimal("1234.56"),
    )


def test_a_time_that_is_no_time_of_day_is_refused_naming_the_formats_read() -> None:
    table = Table()
    content = HEADER + (
        b"C-1;INV-1;31.01.2024 00:00:00;15.02.2024 00:00:00;10,00;EUR\n"
        b"C-1;INV-2;31.01.2024 25:00;15.02.2024 00:00:00;10,00;EUR\n"
    )
    _, summary, outputs = ingest("incoming/invoices/sap.csv", content, table)
    assert (summary["accepted"], summary["rejected"]) == (1, 1)
    [_, row] = list(csv.reader(io.StringIO(outputs.files["rejected/invoices/sap.csv.errors.csv"].decode())))
    assert row == [
        "3",
        "invoice_date",
        "31.01.2024 25:00",
        "is not a date like DD.MM.YYYY or YYYY-MM-DD, with or without a time of day (HH:MM[:SS]) after it",
    ]
