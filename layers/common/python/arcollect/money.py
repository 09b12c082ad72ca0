"""Amounts in a currency's minor unit (ISO 4217).

Most currencies count two decimals; ISO 4217 gives each currency its own exponent (the number of
decimals of its minor unit): 0 for the yen or the won, 3 for the Bahraini or Kuwaiti dinar. An amount
is written, and asked for, in that unit: ``in_minor_units`` rounds it there (half up, as a reminder
writes it), and ``rounds_to_zero`` says when nothing of it would show (0.001 GBP is "0.00 GBP").

One table for every module that writes or weighs an amount (the reminders, dunning's "anything to ask
for?"), so they agree on what an amount looks like.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 currencies whose minor unit is not two decimals (the list's "minor unit" column, current
# codes and the funds codes beside them). Every other code counts two.
MINOR_UNITS: Mapping[str, int] = {
    # no decimals
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "ISK": 0,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "PYG": 0,
    "RWF": 0,
    "UGX": 0,
    "UYI": 0,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
    # three decimals
    "BHD": 3,
    "IQD": 3,
    "JOD": 3,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "TND": 3,
    # four decimals (units of account)
    "CLF": 4,
    "UYW": 4,
}
DEFAULT_MINOR_UNIT = 2


def minor_unit(currency: str) -> int:
    """The number of decimals of ``currency``'s minor unit: ``EUR`` 2, ``JPY`` 0, ``KWD`` 3."""
    return MINOR_UNITS.get(currency.strip().upper(), DEFAULT_MINOR_UNIT)


def smallest_unit(currency: str) -> Decimal:
    """One minor unit of ``currency``: ``0.01`` for EUR, ``1`` for JPY, ``0.001`` for KWD."""
    return Decimal(1).scaleb(-minor_unit(currency))


def in_minor_units(amount: Decimal, currency: str) -> Decimal:
    """``amount`` rounded to ``currency``'s minor unit, half up (as a reminder writes it)."""
    return amount.quantize(smallest_unit(currency), rounding=ROUND_HALF_UP)


def rounds_to_zero(amount: Decimal, currency: str) -> bool:
    """Whether ``amount`` is written as zero in ``currency`` (0.001 GBP, 0.4 JPY): nothing to ask for."""
    return in_minor_units(amount, currency) == 0


__all__ = [
    "DEFAULT_MINOR_UNIT",
    "MINOR_UNITS",
    "in_minor_units",
    "minor_unit",
    "rounds_to_zero",
    "smallest_unit",
]
