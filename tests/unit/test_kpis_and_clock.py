"""Aging, the AR snapshot and instants: small hand-checked cases."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from arcollect.aging import aging_bucket
from arcollect.clock import InvalidInstant, format_instant, parse_instant
from arcollect.entities import Invoice
from arcollect.reports.kpis import ar_snapshot, report_keys


@pytest.mark.parametrize(
    ("days", "bucket"),
    [
        (-5, "current"),
        (0, "current"),
        (1, "d1_30"),
        (30, "d1_30"),
        (31, "d31_60"),
        (60, "d31_60"),
        (61, "d61_90"),
        (90, "d61_90"),
        (91, "d91_plus"),
    ],
)
def test_aging_bucket_edges(days: int, bucket: str) -> None:
    assert aging_bucket(days) == bucket


def invoice(
    number: str, amount: str, invoice_date: date, due: date, currency: str = "EUR", status: str = "open"
) -> Invoice:
    return Invoice("C-1", number, currency, Decimal(amount), Decimal(amount), invoice_date, due, status)


def test_snapshot_leaves_out_invoices_dated_after_the_as_of_date_and_closed_ones() -> None:
    as_of = date(2026, 11, 23)
    snapshot = ar_snapshot(
        [
            invoice("1", "10.00", date(2026, 11, 1), date(2026, 12, 1)),
            invoice("2", "0.10", date(2026, 10, 1), date(2026, 10, 31)),
            invoice("3", "0.20", date(2026, 10, 1), date(2026, 10, 31)),
            invoice("4", "99", date(2026, 11, 24), date(2026, 12, 24)),
            invoice("5", "99", date(2026, 10, 1), date(2026, 10, 31), status="closed"),
        ],
        as_of,
    )
    eur = snapshot["by_currency"]["EUR"]
    # 0.10 + 0.20 must be exactly 0.30: money never goes through float
    assert eur["ar_past_due"] == "0.30"
    assert eur["ar_total"] == "10.30"
    assert eur["open_invoices"] == 3
    assert eur["aging"] == {
        "current": "10.00",
        "d1_30": "0.30",
        "d31_60": "0",
        "d61_90": "0",
        "d91_plus": "0",
    }


def test_report_keys_are_dated_and_latest() -> None:
    assert report_keys(date(2026, 1, 2), "kpis.json") == ("kpi/2026-01-02/kpis.json", "latest/kpis.json")


def test_instants_are_parsed_to_utc_and_must_carry_a_zone() -> None:
    assert parse_instant("2026-03-29T03:30:00+02:00") == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert format_instant(parse_instant("2026-11-23T09:00:00.123Z")) == "2026-11-23T09:00:00Z"
    with pytest.raises(InvalidInstant, match="no time zone"):
        parse_instant("2026-11-23T09:00:00")
    with pytest.raises(InvalidInstant, match="not an ISO-8601"):
        parse_instant("yesterday")


def test_credit_notes_reduce_ar_and_dso_uses_the_window_sales() -> None:
    # Given 900.00 of sales in the last 90 days, 300.00 of it open, and an open credit note of 30.00
    as_of = date(2026, 11, 23)
    items = [
        invoice("1", "600.00", date(2026, 9, 1), date(2026, 10, 1), status="closed"),
        invoice("2", "300.00", date(2026, 11, 1), date(2026, 12, 1)),
        invoice("3", "999.00", date(2026, 8, 1), date(2026, 8, 31), status="closed"),  # before the window
        Invoice(
            "C-1",
            "CN-1",
            "EUR",
            Decimal("30.00"),
            Decimal("30.00"),
            date(2026, 11, 2),
            date(2026, 11, 2),
            document_type="credit_note",
        ),
    ]
    eur = ar_snapshot(items, as_of)["by_currency"]["EUR"]
    # Then AR is 270.00 and DSO = 270 / 900 x 90 = 27.0 days; the credit note is not a sale
    assert eur["ar_total"] == "270.00"
    assert eur["credit_sales"] == "900.00"
    assert eur["dso_days"] == "27.0"
    assert eur["ar_past_due"] == "-30.00"
