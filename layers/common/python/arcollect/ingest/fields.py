"""Typed values from the text of one cell: converters compiled once per file, applied to every row.

A mapping names, for each of our fields, the source column and how that system writes dates and numbers.
When a file is opened, each field gets one converter (a closure) built for exactly those formats; a row
is then a loop over precompiled converters. That is what keeps parsing at a good fraction of plain
``csv.reader`` speed: no per-row lookups of formats, caches for the values that repeat in every ERP file
(dates, currencies, codes), and no regular expression on the hot path of amounts.

A converter returns the value (None when the cell is empty) or raises ``Invalid`` with the reason; the
row collects every reason, so the ERP team can fix a rejected row in one go.

Each converter also converts a whole column at once (``convert_column``): many rows' cells of one field,
stripped, in one call. Values that repeat (dates, codes) are converted once per distinct text and the
column is then read through that table at C speed; amounts and texts are checked with one pass over
the joined column (a translate, a regular expression). A cell that fails comes back marked ``BAD``, and
the caller converts that row the one-cell way, so every reason stays the converter's own.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, Inexact, InvalidOperation, localcontext
from itertools import compress, repeat
from operator import is_
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from arcollect.money import minor_unit, unit_refusal
from arcollect.reference import COUNTRIES, CURRENCIES

ISO_DATE: Final = "iso"
EPOCH_SECONDS: Final = "epoch_seconds"
EPOCH_MILLISECONDS: Final = "epoch_milliseconds"
EPOCH_MICROSECONDS: Final = "epoch_microseconds"
_EPOCH_DIVISORS: Final = {EPOCH_SECONDS: 1, EPOCH_MILLISECONDS: 1_000, EPOCH_MICROSECONDS: 1_000_000}
# Deliberately simple: one address, something@domain.tld, no spaces. Deliverability is SES's business.
EMAIL: Final = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>.]{2,}")
_URL: Final = re.compile(r"https?://[^\s/$.?#][^\s]*", flags=re.IGNORECASE)
MAX_ID_LENGTH: Final = 200
MAX_TEXT_LENGTH: Final = 2000
# European exports write flags in their own language (SAP's German "ja"/"X", a French "oui"): a
# "do_not_contact: ja" refused as not yes/no would lose the customer's wish with its row.
TRUE_WORDS: Final = frozenset(
    {"yes", "y", "true", "1", "x", "ja", "j", "wahr", "oui", "vrai", "sí", "si", "verdadero", "waar", "sim"}
)
FALSE_WORDS: Final = frozenset(
    {"no", "n", "false", "0", "", "nein", "falsch", "non", "faux", "falso", "nee", "onwaar", "não", "nao"}
)
_CURRENCY_SYMBOLS: Final = "$€£¥₹"
# strptime directives a date pattern may use, as regular-expression groups (the fast path below).
_DATE_DIRECTIVES: Final = {
    "%d": r"(?P<d>\d{1,2})",
    "%m": r"(?P<m>\d{1,2})",
    "%Y": r"(?P<Y>\d{4})",
    "%y": r"(?P<y>\d{2})",
}
# A time of day after a date (``31.01.2024 00:00:00``, as SAP and Excel write date-times): read and left
# out, as an ISO date's is (a due date is a day). A time that is no time of day is refused with the date.
TIME_OF_DAY: Final = r"[ T]+(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:[.,]\d{1,9})?)?"
_TRAILING_TIME: Final = re.compile(TIME_OF_DAY + r"\Z")
# How the directives of a date pattern are shown in a reason: what a person would write.
_SHOWN_DIRECTIVES: Final = {"%d": "DD", "%m": "MM", "%Y": "YYYY", "%y": "YY", "%b": "Mon", "%B": "Month"}
_CACHE_LIMIT: Final = 50_000
# The longest IANA zone name is 32 characters (America/Argentina/ComodRivadavia); 64 leaves room.
_MAX_ZONE_NAME: Final = 64


@dataclass(frozen=True)
class FieldError:
    """Why a row was rejected, or (as a note) what was inferred about it: one per column concerned."""

    column: str
    value: str
    reason: str


def normalise_column(name: str) -> str:
    """Header cells compare case-insensitively, with runs of spaces, dashes and dots read as one '_'."""
    return re.sub(r"[\s\-.]+", "_", name.strip().lower()).strip("_")


class Invalid(ValueError):
    """A cell's text is not a value of its field; the message completes "<column> ..."."""


Converter = Callable[[str], Any]
# What a column converter gives a cell that the cell-by-cell converter refuses (``Invalid``).
BAD: Final = object()
# A column's values, and the positions of its refused cells.
Column = tuple[list[Any], list[int]]
ColumnConverter = Callable[[list[str]], Column]


@dataclass(frozen=True)
class Formats:
    """How one system writes dates and numbers."""

    dates: tuple[str, ...] = (ISO_DATE,)  # "iso", "epoch_*", or strptime patterns, tried in order
    decimal_point: str = "."
    thousands_separator: str = ""
    currency_symbols: bool = False  # "$1,234.00" -> 1234.00
    trailing_minus: bool = False  # SAP writes negative amounts as "1.234,56-"
    # Whether a file's values may decide its date order and number separators (ingest/conventions.py),
    # and which of these formats the mapping stated (what the values leave open, it settles).
    detect: bool = True
    declared: frozenset[str] = frozenset()

    def describe_number(self) -> str:
        sep = f", '{self.thousands_separator}' between thousands" if self.thousands_separator else ""
        return f"a number with '{self.decimal_point}' as the decimal point{sep}"

    def describe_date(self, patterns: Sequence[str] | None = None) -> str:
        """The formats a date converter of these patterns reads, as a person would write them (ISO is
        always read too: spreadsheet cells that are dates arrive in that form)."""
        chosen = list(patterns or self.dates)
        if ISO_DATE not in chosen:
            chosen.append(ISO_DATE)
        shown = dict.fromkeys(_shown_date_pattern(pattern) for pattern in chosen)
        return "a date like " + " or ".join(shown) + ", with or without a time of day (HH:MM[:SS]) after it"


def _shown_date_pattern(pattern: str) -> str:
    if pattern == ISO_DATE:
        return "YYYY-MM-DD"
    if pattern in _EPOCH_DIVISORS:
        return pattern.replace("_", " ")
    return re.sub(r"%[a-zA-Z]", lambda match: _SHOWN_DIRECTIVES.get(match[0], match[0]), pattern)


class _Refused:
    """A cached refusal: the reason only. A cached ``Invalid`` would be raised again and again, and each
    raise adds to its traceback, whose frames keep whatever the rows around them held (a whole block of
    rows, for the column converters) alive until the cycle collector finds them."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _memoised(convert: Converter) -> Converter:
    """Cache a pure converter's results (and its rejections) by cell text: ERP files repeat dates,
    currencies and codes on every row. The cache is bounded so a column of unique values costs nothing."""
    cache: dict[str, Any] = {}

    def cached(text: str) -> Any:
        try:
            outcome = cache[text]
        except KeyError:
            try:
                outcome = convert(text)
            except Invalid as invalid:
                outcome = _Refused(str(invalid))
            if len(cache) < _CACHE_LIMIT:
                cache[text] = outcome
        if outcome.__class__ is _Refused:
            raise Invalid(outcome.reason)
        return outcome

    def column(texts: list[str]) -> Column:
        table: dict[str, Any] = {"": None}
        refused = False
        for text in set(texts):
            if text and text not in table:
                try:
                    table[text] = cached(text)
                except Invalid:
                    table[text] = BAD
                    refused = True
        values = list(map(table.__getitem__, texts))
        return values, _refused(values) if refused else []

    def raw_column(cells: Sequence[str], empty: str) -> Column:
        """``column`` of the cells as read, unstripped, an empty one standing for ``empty``: the table is
        keyed by the cell as read, so only its distinct values are stripped."""
        table: dict[str, Any] = {}
        refused = False
        for cell in set(cells):
            text = cell.strip() or empty
            if not text:
                table[cell] = None
                continue
            try:
                table[cell] = cached(text)
            except Invalid:
                table[cell] = BAD
                refused = True
        values = list(map(table.__getitem__, cells))
        return values, _refused(values) if refused else []

    cached.column = column  # type: ignore[attr-defined]
    cached.raw_column = raw_column  # type: ignore[attr-defined]
    return cached


def _refused(values: list[Any]) -> list[int]:
    """Where a column's ``BAD`` cells are, found at C speed."""
    return list(compress(range(len(values)), map(is_, values, repeat(BAD))))


def _date_pattern(pattern: str) -> Callable[[str], date | None]:
    """One date pattern as a parser returning None when the text does not fit it."""
    if pattern == ISO_DATE:

        def iso(text: str) -> date | None:
            # fromisoformat alone would also take "20261102" and week dates since Python 3.11.
            if (
                len(text) >= 10
                and text[4] == "-"
                and text[7] == "-"
                and (len(text) == 10 or text[10] in "T ")
            ):
                try:
                    return date.fromisoformat(text[:10])
                except ValueError:
                    return None
            return None

        return iso
    if pattern in _EPOCH_DIVISORS:
        divisor = _EPOCH_DIVISORS[pattern]

        def epoch(text: str) -> date | None:
            try:
                seconds = Decimal(text) / divisor
                return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=float(seconds))).date()
            except (InvalidOperation, OverflowError, ValueError):
                return None

        return epoch
    # Numeric day-month-year patterns get a regular expression (strptime is ten times slower).
    rest = re.sub(r"%[dmYy]", "", pattern)
    if "%" not in rest:
        regex = re.compile(
            "".join(
                _DATE_DIRECTIVES.get(token, re.escape(token)) for token in re.split(r"(%[dmYy])", pattern)
            )
            + f"(?:{TIME_OF_DAY})?"
        )

        def numeric(text: str) -> date | None:
            match = regex.fullmatch(text)
            if not match:
                return None
            groups = match.groupdict()
            if groups.get("Y") is not None:
                year = int(groups["Y"])
            elif groups.get("y") is not None:
                # strptime's reading of a two-digit year: 69-99 are 1969-1999, 00-68 are 2000-2068.
                short = int(groups["y"])
                year = short + (1900 if short >= 69 else 2000)
            else:
                return None  # a pattern without a year names no day
            try:
                return date(year, int(match["m"]), int(match["d"]))
            except ValueError:
                return None

        return numeric

    def strptime(text: str) -> date | None:
        for candidate in (text, _TRAILING_TIME.sub("", text)):
            try:
                return datetime.strptime(candidate, pattern).date()  # noqa: DTZ007 (a calendar date)
            except ValueError:
                continue
        return None

    return strptime


def date_converter(formats: Formats, patterns: Sequence[str] | None = None) -> Converter:
    """Dates in any of ``patterns`` (default: the system's); an ISO date is always understood too, since
    spreadsheet cells that are real dates arrive in that form."""
    chosen = list(patterns or formats.dates)
    parsers = [_date_pattern(pattern) for pattern in chosen]
    if ISO_DATE not in chosen:
        parsers.append(_date_pattern(ISO_DATE))
    reason = f"is not {formats.describe_date(chosen)}"

    def convert(text: str) -> date:
        for parse in parsers:
            value = parse(text)
            if value is not None:
                return value
        raise Invalid(reason)

    return _memoised(convert)


def money_converter(formats: Formats) -> Converter:
    """Exact decimal amounts (never floats) in the system's number style; the sign is kept."""
    decimal_point = formats.decimal_point
    thousands = formats.thousands_separator
    reason = f"is not {formats.describe_number()}"
    symbols = _CURRENCY_SYMBOLS if formats.currency_symbols else ""
    # Thousands are groups of three: "1,2,3.4" or "12,5" with ',' between thousands is no number, and
    # reading it as 123.4 or 125 would be a silent misreading.
    grouped = (
        re.compile(r"\d{1,3}(?:" + re.escape(thousands) + r"\d{3})+(?:" + re.escape(decimal_point) + r"\d*)?")
        if thousands
        else None
    )

    def convert(text: str) -> Decimal:
        negative = False
        if formats.trailing_minus and text.endswith("-"):
            negative, text = True, text[:-1]
        if symbols:
            text = text.replace(" ", "")
            if text.startswith("-"):
                negative, text = not negative, text[1:]
            text = text.strip(symbols)
        if text.startswith("(") and text.endswith(")"):  # accounting style for negatives: (1,234.00)
            negative, text = not negative, text[1:-1]
        if grouped is not None and thousands in text:
            if not grouped.fullmatch(text):
                raise Invalid(reason)
            text = text.replace(thousands, "")
        if decimal_point != ".":
            if "." in text:
                raise Invalid(reason)
            text = text.replace(decimal_point, ".")
        # Decimal() also takes exponents, underscores, NaN, Infinity and non-ASCII digits: none is an amount.
        if not text.isascii() or "_" in text or "e" in text or "E" in text:
            raise Invalid(reason)
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise Invalid(reason) from None
        if not value.is_finite():
            raise Invalid(reason)
        return -value if negative else value

    if decimal_point == "." and not thousands and not symbols and not formats.trailing_minus:
        convert.column = _plain_amounts(convert)  # type: ignore[attr-defined]
    return convert


def _plain_amounts(convert: Converter) -> ColumnConverter:
    def column(texts: list[str]) -> Column:
        values: list[Any] = []
        refused: list[int] = []
        _amounts(convert, texts, 0, len(texts), values, refused)
        return values, refused

    return column


# What a plain amount is made of: a cell of nothing else is read by ``Decimal`` exactly as the converter
# reads it (no exponent, underscore, NaN, Infinity or other script's digit can hide in it), and a cell
# ``Decimal`` refuses ("1.2.3", "-") the converter refuses too.
_AMOUNT_CHARACTERS: Final = str.maketrans("", "", "0123456789.+-")


def _plain_decimals(run: list[str]) -> list[Decimal | None] | None:
    """The run's amounts when every cell is a plain amount or empty, else None. One translate over the
    joined cells tells it; an amount that repeats (an open amount of 0.00) is read once."""
    if "".join(run).translate(_AMOUNT_CHARACTERS):
        return None
    distinct = set(run)
    try:
        if len(distinct) * 2 <= len(run):
            table: dict[str, Decimal | None] = {text: Decimal(text) for text in distinct if text}
            table[""] = None
            return list(map(table.__getitem__, run))
        if "" in distinct:
            return [Decimal(text) if text else None for text in run]
        return list(map(Decimal, run))
    except InvalidOperation:
        return None


def _amounts(
    convert: Converter, texts: list[str], start: int, end: int, values: list[Any], refused: list[int]
) -> None:
    """Cells ``start:end`` as amounts: a run of plain amounts at once, else its halves, so a few odd
    cells in a block cost a few checks of their run, not a Python step per cell."""
    run = texts[start:end]
    plain = _plain_decimals(run)
    if plain is not None:
        values.extend(plain)
    elif end - start <= 8:
        for i, text in enumerate(run, start):
            if not text:
                values.append(None)
                continue
            try:
                values.append(convert(text))
            except Invalid:
                values.append(BAD)
                refused.append(i)
    else:
        middle = (start + end) // 2
        _amounts(convert, texts, start, middle, values, refused)
        _amounts(convert, texts, middle, end, values, refused)


# --- amounts at their currency's smallest unit ---------------------------------------------------------
#
# 100.001 GBP is no amount anyone can owe or pay: a payment of 100.00 would leave 0.001 open forever (an
# invoice that never closes, reminded as "0.00 GBP"). An amount is refused when it has a non-zero digit
# past its currency's ISO 4217 minor unit (2 decimals for most, 0 for JPY, 3 for KWD); the zeros an export
# pads with (SAP's 100.0000) are no digits of it, and are dropped (100.00). Checked on the amount as
# read, so a decimal comma (1.234,567 in a German file) is judged as the 1234.567 it is.

# Exact arithmetic whatever the digits: a rounding raises instead of happening.
_EXACT: Final = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[Inexact, InvalidOperation])
_is_decimal: Final = Decimal.__instancecheck__


def at_unit(amount: Decimal, places: int) -> Decimal | None:
    """``amount`` with at most ``places`` decimals: as it is when it has no more; without the zeros past
    them (100.0000 is 100.00 for 2); None when a digit past them is not zero (100.001 for 2)."""
    _, digits, exponent = amount.as_tuple()
    if not isinstance(exponent, int):  # pragma: no cover - the converters refuse NaN and Infinity
        return amount
    beyond = -places - exponent  # the digits written past the unit
    if beyond <= 0:
        return amount
    if any(digits[-beyond:]):
        return None
    return amount.quantize(Decimal(1).scaleb(-places), context=_EXACT)


def finer_than_unit_reason(amount: Decimal, currency: str, home: bool = False) -> str:
    """Why ``amount`` (finer than its currency's unit) is no amount of ``currency``, in the words the
    portal and the console use too (``money.unit_refusal``); ``home``: the file names no currency, its
    amounts are the home currency's."""
    where = "; the file's amounts are in the home currency" if home else ""
    return unit_refusal(amount, currency, where)


def amounts_at_units(amounts: list[Any], currencies: Sequence[Any]) -> list[int]:
    """``at_unit`` over a column: each amount (a Decimal; None and ``BAD`` are passed over) at the unit
    of the currency at its position (a code; None or ``BAD`` where it is not known: passed over), in
    place; the positions of the amounts finer than their unit, which are left as they are.

    At C speed for nearly every file: an exact sum has the finest decimal place of its addends, so when
    the column's sum is within the unit of each of its currencies, no amount can be finer or padded, and
    none is looked at on its own."""
    codes = {code for code in set(currencies) if isinstance(code, str)}
    if not codes:
        return []
    places = {code: minor_unit(code) for code in codes}
    try:
        with localcontext(_EXACT):
            try:  # nearly always every cell is an amount: summed as they are
                total = sum(amounts, Decimal(0))
            except TypeError:  # a None or BAD among them: the amounts alone, still at C speed
                total = sum(filter(_is_decimal, amounts), Decimal(0))
        exponent = total.as_tuple().exponent
        if isinstance(exponent, int) and exponent >= -min(places.values()):
            return []
    except ArithmeticError:  # pragma: no cover - not at this precision; should it be, each is looked at
        pass
    refused: list[int] = []
    for i, (amount, code) in enumerate(zip(amounts, currencies, strict=True)):
        if amount.__class__ is Decimal and code in places:
            unit_amount = at_unit(amount, places[code])
            if unit_amount is None:
                refused.append(i)
            elif unit_amount is not amount:
                amounts[i] = unit_amount
    return refused


def integer_converter(formats: Formats) -> Converter:
    money = money_converter(formats)

    def convert(text: str) -> int:
        value = money(text)
        if value != value.to_integral_value():
            raise Invalid("is not a whole number")
        return int(value)

    return _memoised(convert)


def text_converter(max_length: int = MAX_TEXT_LENGTH) -> Converter:
    reason = f"is longer than {max_length} characters"

    def convert(text: str) -> str:
        if len(text) > max_length:
            raise Invalid(reason)
        return text

    def column(texts: list[str]) -> Column:
        if max(map(len, texts), default=0) <= max_length:
            return ([text or None for text in texts] if "" in texts else texts), []
        return _one_by_one(convert, texts)

    convert.column = column  # type: ignore[attr-defined]
    return convert


def id_converter(max_length: int = MAX_ID_LENGTH) -> Converter:
    """An id (a customer id, an invoice number) in Unicode's composed form (NFC): "Société" typed on one
    system and exported decomposed (e + U+0301, as macOS tools write it) by another is one customer, not
    a second one that looks the same."""
    text_only = text_converter(max_length)

    def convert(text: str) -> str:
        return str(text_only(text if text.isascii() else unicodedata.normalize("NFC", text)))

    def column(texts: list[str]) -> Column:
        if not all(map(str.isascii, texts)):
            texts = [unicodedata.normalize("NFC", text) for text in texts]
        return text_only.column(texts)  # type: ignore[attr-defined, no-any-return]

    convert.column = column  # type: ignore[attr-defined]
    return convert


def currency_converter() -> Converter:
    def convert(text: str) -> str:
        code = text.upper()
        if code not in CURRENCIES:
            raise Invalid("is not an ISO 4217 currency code (such as EUR, USD, GBP)")
        return code

    return _memoised(convert)


def country_converter() -> Converter:
    def convert(text: str) -> str:
        code = text.upper()
        if code not in COUNTRIES:
            raise Invalid("is not an ISO 3166 alpha-2 country code (such as DE, US, GB)")
        return code

    return _memoised(convert)


def time_zone_converter() -> Converter:
    reason = "is not an IANA time zone (such as Europe/Berlin, America/New_York)"

    def convert(text: str) -> str:
        # ZoneInfo looks the name up as a file: a name no zone has (too long for a file name, say)
        # must be refused here, not surface as an OSError.
        if len(text) > _MAX_ZONE_NAME:
            raise Invalid(reason)
        try:
            ZoneInfo(text)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise Invalid(reason) from None
        return text

    return _memoised(convert)


def flag_converter() -> Converter:
    def convert(text: str) -> bool:
        word = text.lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise Invalid("must be yes or no (also true/false, 1/0, x, ja/nein, oui/non, sí/no)")

    return _memoised(convert)


def choice_converter(options: Sequence[str]) -> Converter:
    allowed = frozenset(options)
    reason = f"must be one of {', '.join(options)}"

    def convert(text: str) -> str:
        word = text.lower()
        if word not in allowed:
            raise Invalid(reason)
        return word

    return _memoised(convert)


def url_converter() -> Converter:
    """A link shown to customers: only http(s), so no ``javascript:`` can reach the portal."""

    def convert(text: str) -> str:
        if len(text) > MAX_TEXT_LENGTH or not _URL.fullmatch(text):
            raise Invalid("must be an http:// or https:// URL")
        return text

    def column(texts: list[str]) -> Column:
        # No cell holds a space (so each is one of the joined lines, and [^\s]* reaches its end), and
        # every line is empty or starts as a URL must: then each cell is what ``_URL`` matches whole.
        joined = "\n" + "\n".join(texts)
        if (
            max(map(len, texts), default=0) <= MAX_TEXT_LENGTH
            and len(joined.split()) == len(texts) - texts.count("")
            and _NOT_A_URL_LINE.search(joined) is None
        ):
            return [text or None for text in texts], []
        return _one_by_one(convert, texts)

    convert.column = column  # type: ignore[attr-defined]
    return convert


# A line (after its \n) that is neither empty nor the start of a URL; the leading \n lets the search
# jump from line to line instead of trying every character.
_NOT_A_URL_LINE: Final = re.compile(r"\n(?!\n|\Z|https?://[^\s/$.?#])", flags=re.IGNORECASE)


def email_text_converter() -> Converter:
    """Email addresses are checked as master-data quality (see ``schema``), so the cell is kept as text."""
    return text_converter(320)


def _one_by_one(convert: Converter, texts: list[str]) -> Column:
    values: list[Any] = []
    refused: list[int] = []
    for i, text in enumerate(texts):
        if not text:
            values.append(None)
            continue
        try:
            values.append(convert(text))
        except Invalid:
            values.append(BAD)
            refused.append(i)
    return values, refused


def convert_column(convert: Converter, texts: list[str]) -> Column:
    """``convert`` over many stripped cells: the value of each (None for an empty cell, ``BAD`` for a
    cell the converter refuses), and the positions of the refused cells: those rows then get the
    refusal from the converter itself."""
    column: ColumnConverter | None = getattr(convert, "column", None)
    return column(texts) if column is not None else _one_by_one(convert, texts)
