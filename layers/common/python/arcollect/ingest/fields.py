"""Reading one row's fields by column name, collecting every problem rather than stopping at the first.

A row is rejected with all its reasons at once, so the ERP team can fix a row in one go. Formats (date
and number styles) are parameters: the generic layout uses ISO dates and '.' decimals, an ERP preset
may bring its own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from arcollect.ingest.reference import COUNTRIES, CURRENCIES

ISO_DATE: Final = "iso"
_ISO_DATE_SHAPE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
# Deliberately simple: one address, something@domain.tld, no spaces. Deliverability is SES's business.
_EMAIL: Final = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>.]{2,}")
MAX_ID_LENGTH: Final = 200
MAX_TEXT_LENGTH: Final = 2000
_TRUE: Final = frozenset({"yes", "y", "true", "1"})
_FALSE: Final = frozenset({"no", "n", "false", "0", ""})


@dataclass(frozen=True)
class FieldError:
    """Why a row was rejected, or (as a note) what was inferred about it: one per column concerned."""

    column: str
    value: str
    reason: str


@dataclass(frozen=True)
class Formats:
    """How a layout writes dates and numbers."""

    date_format: str = ISO_DATE  # "iso" (YYYY-MM-DD) or a strptime pattern such as "%m/%d/%Y"
    decimal_point: str = "."
    thousands_separator: str = ""

    def describe_number(self) -> str:
        sep = f", '{self.thousands_separator}' between thousands" if self.thousands_separator else ""
        return f"a number with '{self.decimal_point}' as the decimal point{sep}"

    def describe_date(self) -> str:
        return (
            "a date in YYYY-MM-DD form" if self.date_format == ISO_DATE else f"a date like {self.date_format}"
        )


class RowFields:
    """The values of one data row, read by column name through typed accessors.

    Every accessor returns None (or a default) when the value is unusable and records why in
    ``errors``; the caller builds an entity only when ``errors`` stays empty.
    """

    def __init__(self, columns: Mapping[str, int], values: Sequence[str], formats: Formats) -> None:
        self._columns = columns
        self._values = values
        self.formats = formats
        self.errors: list[FieldError] = []
        self.notes: list[FieldError] = []

    def raw(self, column: str) -> str:
        index = self._columns.get(column)
        if index is None or index >= len(self._values):
            return ""
        return self._values[index].strip()

    def reject(self, column: str, reason: str, value: str | None = None) -> None:
        self.errors.append(FieldError(column, self.raw(column) if value is None else value, reason))

    def note(self, column: str, reason: str, value: str | None = None) -> None:
        self.notes.append(FieldError(column, self.raw(column) if value is None else value, reason))

    def text(self, column: str, *, required: bool = False, max_length: int = MAX_TEXT_LENGTH) -> str | None:
        value = self.raw(column)
        if not value:
            if required:
                self.reject(column, "is required")
            return None
        if len(value) > max_length:
            self.reject(column, f"is longer than {max_length} characters")
            return None
        return value

    def identifier(self, column: str) -> str | None:
        """A required key (customer, invoice, payment id): it becomes part of a table key."""
        return self.text(column, required=True, max_length=MAX_ID_LENGTH)

    def day(self, column: str, *, required: bool = False) -> date | None:
        value = self.raw(column)
        if not value:
            if required:
                self.reject(column, "is required")
            return None
        try:
            if self.formats.date_format == ISO_DATE:
                if not _ISO_DATE_SHAPE.fullmatch(value):
                    raise ValueError(value)
                return date.fromisoformat(value)
            return datetime.strptime(value, self.formats.date_format).date()  # noqa: DTZ007 (a date)
        except ValueError:
            self.reject(column, f"is not {self.formats.describe_date()}")
            return None

    def money(self, column: str, *, required: bool = False) -> Decimal | None:
        """An exact decimal amount (never a float)."""
        value = self.raw(column)
        if not value:
            if required:
                self.reject(column, "is required")
            return None
        text = (
            value.replace(self.formats.thousands_separator, "") if self.formats.thousands_separator else value
        )
        if self.formats.decimal_point != ".":
            if "." in text:
                self.reject(column, f"is not {self.formats.describe_number()}")
                return None
            text = text.replace(self.formats.decimal_point, ".")
        if not re.fullmatch(r"[+-]?\d+(\.\d+)?", text):
            self.reject(column, f"is not {self.formats.describe_number()}")
            return None
        try:
            return Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
            self.reject(column, f"is not {self.formats.describe_number()}")
            return None

    def currency(self, column: str) -> str | None:
        value = self.raw(column).upper()
        if not value:
            self.reject(column, "is required")
            return None
        if value not in CURRENCIES:
            self.reject(column, "is not an ISO 4217 currency code (such as EUR, USD, GBP)")
            return None
        return value

    def choice(self, column: str, options: Sequence[str], default: str) -> str:
        value = self.raw(column).lower()
        if not value:
            return default
        if value not in options:
            self.reject(column, f"must be one of {', '.join(options)}")
            return default
        return value

    def flag(self, column: str) -> bool:
        value = self.raw(column).lower()
        if value in _TRUE:
            return True
        if value not in _FALSE:
            self.reject(column, "must be yes or no")
        return False

    def email(self, column: str, *, required: bool = False) -> str | None:
        value = self.raw(column)
        if not value:
            if required:
                self.reject(column, "is required")
            return None
        if not _EMAIL.fullmatch(value):
            self.reject(column, "is not one email address of the form name@domain.tld")
            return None
        return value

    def country(self, column: str) -> str | None:
        value = self.raw(column).upper()
        if not value:
            return None
        if value not in COUNTRIES:
            self.reject(column, "is not an ISO 3166 alpha-2 country code (such as DE, US, GB)")
            return None
        return value

    def time_zone(self, column: str) -> str | None:
        value = self.raw(column)
        if not value:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            self.reject(column, "is not an IANA time zone (such as Europe/Berlin, America/New_York)")
            return None
        return value

    def url(self, column: str) -> str | None:
        """A link shown to customers: only http(s), so no ``javascript:`` can reach the portal."""
        value = self.text(column)
        if value is None:
            return None
        if not re.fullmatch(r"https?://[^\s/$.?#][^\s]*", value, flags=re.IGNORECASE):
            self.reject(column, "must be an http:// or https:// URL")
            return None
        return value
