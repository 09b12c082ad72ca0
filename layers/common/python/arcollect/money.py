"""Amounts in a currency's minor unit (ISO 4217).

Most currencies count two decimals; ISO 4217 gives each currency its own exponent (the number of
decimals of its minor unit): 0 for the yen or the won, 3 for the Bahraini or Kuwaiti dinar. An amount
is written, and asked for, in that unit: ``in_minor_units`` rounds it there (half up, as a reminder
writes it), and ``rounds_to_zero`` says when nothing of it would show (0.001 GBP is "0.00 GBP").

How an amount is shown, one rule each: ``written`` for people (``1,234.50 EUR``, ``150,000 JPY``: the
reminders' English form, in the statement email, the portal's and the console's pages; ``grouped`` is
its number without the code), ``plain`` for forms, JSON, files and notes (``1234.50``, ``150000``,
``1.250``: never rounded). An amount typed in (the portal, the console) or read from a file (ingest)
finer than its unit is refused, ``unit_refusal`` saying why (10.005 EUR, 100.5 JPY: no one can owe or
pay it).

One table for every module that writes, weighs or takes an amount (the reminders, dunning's "anything to
ask for?", a payment plan's "is this instalment paid?", the emails, the portal, the console, ingest), so
they agree on what an amount looks like.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, ROUND_HALF_UP, Context, Decimal

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
# Exact whatever the digits (a long amount typed into a form): dropping zeros past the unit never rounds.
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)


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


def finer_than_unit(amount: Decimal, currency: str) -> bool:
    """Whether ``amount`` has a non-zero digit past ``currency``'s minor unit (10.005 EUR, 100.5 JPY);
    zeros past it are no digits (100.000 EUR is 100.00)."""
    _, digits, exponent = amount.as_tuple()
    beyond = -minor_unit(currency) - exponent if isinstance(exponent, int) else 0
    return beyond > 0 and any(digits[-beyond:])


def unit_refusal(amount: Decimal, currency: str, where: str = "") -> str:
    """Why ``amount`` (finer than ``currency``'s minor unit) is no amount of it, as ingest and the forms
    say it: ``10.005 has more decimal places than EUR's 2 (its smallest unit is 0.01)``, ``100.5 has
    decimal places, and JPY has none (its smallest unit is 1)``; ``where`` is added in the brackets."""
    read = format(amount, "f")
    places = minor_unit(currency)
    if places == 0:
        return f"{read} has decimal places, and {currency} has none (its smallest unit is 1{where})"
    unit = format(smallest_unit(currency), "f")
    return f"{read} has more decimal places than {currency}'s {places} (its smallest unit is {unit}{where})"


def plain(amount: Decimal, currency: str) -> str:
    """``amount`` as a plain decimal with ``currency``'s decimals: ``1250.00`` EUR, ``1250`` JPY,
    ``1.250`` KWD; no grouping, no code (forms, JSON, files, notes). Never rounded: zeros past the unit
    are dropped (``1250.00`` JPY is ``1250``), a digit past it is kept (``0.125`` EUR)."""
    if amount.is_finite() and not finer_than_unit(amount, currency):
        amount = amount.quantize(smallest_unit(currency), context=_EXACT)
    return format(amount, "f")


def grouped(amount: Decimal | int | str, currency: str) -> str:
    """``1,234.50`` EUR, ``150,000`` JPY, ``-1.250`` KWD: ``amount`` rounded to ``currency``'s minor unit
    (half up) and grouped, without the code (where the currency is said once for several amounts)."""
    rounded = in_minor_units(Decimal(str(amount)), currency)
    return f"{rounded:,.{minor_unit(currency)}f}"


def written(amount: Decimal | int | str, currency: str) -> str:
    """``1,234.50 EUR``, ``150,000 JPY``, ``-1.250 KWD``: ``grouped`` with the code, as the English
    reminder writes an amount (``dunning.emails.format_money``)."""
    return f"{grouped(amount, currency)} {currency}"


__all__ = [
    "DEFAULT_MINOR_UNIT",
    "MINOR_UNITS",
    "finer_than_unit",
    "grouped",
    "in_minor_units",
    "minor_unit",
    "plain",
    "rounds_to_zero",
    "smallest_unit",
    "unit_refusal",
    "written",
]
