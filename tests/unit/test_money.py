"""An amount in its currency's minor unit (arcollect/money.py): written for people as the English reminder
writes it, plainly for forms, JSON and files (never rounded), and refused when finer than the unit, in
the words ingest, the portal and the console share."""

from __future__ import annotations

from decimal import Decimal

import pytest

from arcollect.dunning.emails import format_money
from arcollect.money import MINOR_UNITS, finer_than_unit, grouped, plain, unit_refusal, written


@pytest.mark.parametrize("currency", sorted({*MINOR_UNITS, "EUR", "GBP", "USD", "CHF"}))
@pytest.mark.parametrize("amount", ["0", "0.4", "0.5", "1234.5", "150000", "-1.2345", "1234567.891"])
def test_written_is_the_english_reminders_form_for_every_currency(currency: str, amount: str) -> None:
    assert written(Decimal(amount), currency) == format_money(Decimal(amount), currency, "en")


@pytest.mark.parametrize(
    ("amount", "currency", "as_written", "as_plain"),
    [
        ("1250", "EUR", "1,250.00 EUR", "1250.00"),
        ("1250.5", "EUR", "1,250.50 EUR", "1250.50"),
        ("150000.00", "JPY", "150,000 JPY", "150000"),
        ("1.25", "KWD", "1.250 KWD", "1.250"),
        ("100.0000", "GBP", "100.00 GBP", "100.00"),
        ("0.125", "EUR", "0.13 EUR", "0.125"),  # written rounded half up; plain keeps the digit
        ("1.2", "CLF", "1.2000 CLF", "1.2000"),
    ],
)
def test_written_rounds_to_the_unit_and_plain_never_rounds(
    amount: str, currency: str, as_written: str, as_plain: str
) -> None:
    assert written(Decimal(amount), currency) == as_written
    assert grouped(Decimal(amount), currency) == as_written.removesuffix(f" {currency}")
    assert plain(Decimal(amount), currency) == as_plain


@pytest.mark.parametrize(
    ("amount", "currency", "finer"),
    [
        ("10.005", "EUR", True),
        ("10.000", "EUR", False),
        ("100.5", "JPY", True),
        ("100.0", "JPY", False),
        ("1E+3", "JPY", False),
        ("1.234", "KWD", False),
        ("1.2345", "KWD", True),
        ("99999999999999999999999999999999.5", "JPY", True),  # past Decimal's precision: no error
    ],
)
def test_finer_than_unit_looks_at_the_digits_past_it_only(amount: str, currency: str, finer: bool) -> None:
    assert finer_than_unit(Decimal(amount), currency) is finer


def test_the_refusal_says_the_amount_the_currency_and_its_smallest_unit() -> None:
    assert unit_refusal(Decimal("10.005"), "EUR") == (
        "10.005 has more decimal places than EUR's 2 (its smallest unit is 0.01)"
    )
    assert (
        unit_refusal(Decimal("100.5"), "JPY")
        == "100.5 has decimal places, and JPY has none (its smallest unit is 1)"
    )
