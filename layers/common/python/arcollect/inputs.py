"""What customers and collectors type, and the error when arcollect cannot take it: shared by the
portal and the staff console, so it lives below both."""

from __future__ import annotations

import re
from decimal import Decimal

from arcollect.money import finer_than_unit, minor_unit, plain, unit_refusal


class InputError(ValueError):
    """Input arcollect cannot take from a customer (portal) or a collector (staff console); ``field``
    names the form field / JSON property and ``message`` says what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def parse_amount(text: str, currency: str) -> Decimal:
    """A positive amount of ``currency``, at most its minor unit's decimals (ISO 4217: 2 for EUR, none for
    JPY, 3 for KWD; ``arcollect/money.py``); "1234.50", "1,234.50" and "1234,50" are accepted. Finer than
    the unit (10.005 EUR, 100.5 JPY) is refused, saying so as ingest does: no one can owe or pay it."""
    raw = (text or "").strip().replace(" ", "").replace("\u00a0", "")
    if minor_unit(currency) >= 3 and re.fullmatch(r"\d{1,3},\d{3}", raw):
        # "1,500" is 1.500 written with a decimal comma or 1500 with a thousands one, and a currency of
        # three decimals makes both amounts a customer could owe: ask, never guess.
        decimal, whole = raw.replace(",", "."), raw.replace(",", "")
        raise InputError("amount", f"{raw} {currency} could be read two ways: write {decimal} or {whole}")
    if "," in raw and "." not in raw and re.fullmatch(r"\d+,\d{1,2}", raw):
        raw = raw.replace(",", ".")
    elif re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", raw):
        raw = raw.replace(",", "")
    if not re.fullmatch(r"\d+(\.\d+)?", raw):
        raise InputError("amount", f"enter an amount such as {plain(Decimal(1250), currency)}")
    amount = Decimal(raw)
    if amount <= 0:
        raise InputError("amount", "the amount must be more than zero")
    if finer_than_unit(amount, currency):
        raise InputError("amount", unit_refusal(amount, currency))
    if -amount.as_tuple().exponent > minor_unit(currency):  # type: ignore[operator]
        # Zeros past the unit are no digits: 100.000 EUR is taken as 100.00 (as ingest keeps it).
        return Decimal(plain(amount, currency))
    return amount
