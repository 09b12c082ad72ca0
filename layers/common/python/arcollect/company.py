"""The company's settings: its home currency and the locale its ERP exports in.

Both are deployment settings (CDK context ``homeCurrency`` and ``exportLocale``, which the stack passes
to the functions as ``HOME_CURRENCY`` and ``EXPORT_LOCALE``; the local stack takes the same keys:
``arcollect local up -c homeCurrency=EUR``):

- the home currency is the currency of a document whose export carries none (QuickBooks' aging report,
  Business Central's blank local-currency code, a generic file without a currency column);
- the export locale settles what a file's own values cannot: the order of day and month in dates such as
  ``03/04/2026`` and the decimal separator of amounts such as ``1,234`` (``ingest/conventions.py``).
  Unset (the default), a file whose values leave either open is refused with one reason that says how to
  settle it, rather than read one way by guess.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Final

from arcollect.contract import EnvVar
from arcollect.reference import CURRENCIES

DEFAULT_HOME_CURRENCY: Final = "USD"


@dataclass(frozen=True)
class Locale:
    """How an ERP set to one locale writes numbers and dates in its exports."""

    tag: str
    day_first: bool
    decimal_point: str
    thousands_separator: str

    def describe(self) -> str:
        order = "day-first dates" if self.day_first else "month-first dates"
        return f"{self.tag} ({order}, '{self.decimal_point}' as the decimal point)"


def _locale(tag: str, day_first: bool, decimal_point: str, thousands: str) -> tuple[str, Locale]:
    return tag.lower(), Locale(tag, day_first, decimal_point, thousands)


# The locales ERPs commonly export in, as their standard number and short-date formats write them
# (CLDR). A tag not listed is refused at deploy time rather than read as a near neighbour.
LOCALES: Final[dict[str, Locale]] = dict(
    [
        _locale("en-US", False, ".", ","),
        _locale("en-CA", False, ".", ","),
        _locale("en-PH", False, ".", ","),
        _locale("en-GB", True, ".", ","),
        _locale("en-IE", True, ".", ","),
        _locale("en-AU", True, ".", ","),
        _locale("en-NZ", True, ".", ","),
        _locale("en-IN", True, ".", ","),
        _locale("en-ZA", True, ",", "\u00a0"),
        _locale("de-DE", True, ",", "."),
        _locale("de-AT", True, ",", "\u00a0"),
        _locale("de-CH", True, ".", "'"),
        _locale("fr-FR", True, ",", "\u202f"),
        _locale("fr-BE", True, ",", "\u202f"),
        _locale("fr-CH", True, ",", "\u202f"),
        _locale("fr-CA", True, ",", "\u00a0"),
        _locale("nl-NL", True, ",", "."),
        _locale("nl-BE", True, ",", "."),
        _locale("es-ES", True, ",", "."),
        _locale("es-MX", True, ".", ","),
        _locale("it-IT", True, ",", "."),
        _locale("pt-PT", True, ",", "\u00a0"),
        _locale("pt-BR", True, ",", "."),
        _locale("pl-PL", True, ",", "\u00a0"),
        _locale("cs-CZ", True, ",", "\u00a0"),
        _locale("sv-SE", True, ",", "\u00a0"),
        _locale("da-DK", True, ",", "."),
        _locale("nb-NO", True, ",", "\u00a0"),
        _locale("fi-FI", True, ",", "\u00a0"),
        _locale("tr-TR", True, ",", "."),
    ]
)


class SettingsError(ValueError):
    """A company setting that cannot be used; the message names the setting and what it accepts."""


def home_currency(raw: str | None) -> str:
    """A home currency as configured: an ISO 4217 code (default USD)."""
    code = (raw or "").strip().upper() or DEFAULT_HOME_CURRENCY
    if code not in CURRENCIES:
        raise SettingsError(f"homeCurrency={raw!r} is not an ISO 4217 currency code (such as EUR, USD, GBP)")
    return code


def export_locale(raw: str | None) -> Locale | None:
    """An export locale as configured (None: not set, ambiguous files are refused)."""
    tag = (raw or "").strip().replace("_", "-")
    if not tag:
        return None
    found = LOCALES.get(tag.lower())
    if found is None:
        known = ", ".join(locale.tag for locale in LOCALES.values())
        raise SettingsError(f"exportLocale={raw!r} is not a locale arcollect knows ({known})")
    return found


@dataclass(frozen=True)
class CompanySettings:
    home_currency: str = DEFAULT_HOME_CURRENCY
    export_locale: Locale | None = None

    @classmethod
    def of(cls, home: str | None = None, locale: str | None = None) -> CompanySettings:
        return cls(home_currency(home), export_locale(locale))


def company_settings() -> CompanySettings:
    """The settings the function was deployed with (its environment)."""
    return CompanySettings.of(os.environ.get(EnvVar.HOME_CURRENCY), os.environ.get(EnvVar.EXPORT_LOCALE))
