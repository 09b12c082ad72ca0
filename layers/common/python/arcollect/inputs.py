"""What customers and collectors type, and the error when arcollect cannot take it: shared by the
portal and the staff console, so it lives below both."""

from __future__ import annotations

import re
from decimal import Decimal


class InputError(ValueError):
    """Input arcollect cannot take from a customer (portal) or a collector (staff console); ``field``
    names the form field / JSON property and ``message`` says what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def parse_amount(text: str) -> Decimal:
    """A positive amount with at most two decimals; "1234.50", "1,234.50" and "1234,50" are accepted."""
    raw = (text or "").strip().replace(" ", "").replace("\u00a0", "")
    if "," in raw and "." not in raw and re.fullmatch(r"\d+,\d{1,2}", raw):
        raw = raw.replace(",", ".")
    elif re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", raw):
        raw = raw.replace(",", "")
    if not re.fullmatch(r"\d+(\.\d+)?", raw):
        raise InputError("amount", "enter an amount such as 1250.00")
    amount = Decimal(raw)
    if amount <= 0:
        raise InputError("amount", "the amount must be more than zero")
    if amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise InputError("amount", "at most two decimals")
    return amount


def amount_text(amount: Decimal) -> str:
    """An amount as a plain decimal string: two places unless it has more (``1250.00``, ``0.125``)."""
    return f"{amount:.2f}" if amount == amount.quantize(Decimal("0.01")) else str(amount)
