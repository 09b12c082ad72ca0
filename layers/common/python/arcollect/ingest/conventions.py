"""How one file writes its dates and amounts, decided once for the whole file from all its values.

An ERP set to a European locale exports ``22-07-2018`` and ``1.234,56``; one set to the US exports
``07/22/2018`` and ``1,234.56``. Reading such a file row by row, by guess, would read ``03/04/2018`` as
March in one row and April in the next. So before a text file's first row is loaded, every mapped date and
amount column is read once (``detect``) and each column's convention decided from its values:

- a date column's order: a value whose first number is above 12 (``22-07-2018``) settles day-first, one
  whose second number is above 12 settles month-first; the separators and 2- or 4-digit years are taken
  as they come. Year-first dates (``2018-07-22``, ``2018/07/22``) need no deciding.
- an amount column's separators: ``1.234,56`` or ``12,5`` settles a decimal comma, ``1,234.56`` or
  ``12.5`` a decimal point; groups of three after a space, a no-break space or an apostrophe are
  thousands.

What the values leave open (every date has a day of 12 or less; every amount is like ``1,234``) comes
from the mapping (its ``formats``), then from the company's export locale (``arcollect/company.py``).
Dates left open that are all written with dots and a 4-digit year (``01.12.2026``) are then read
day-first, with a note in the file's result saying so and why: every locale that writes numeric dates
with dots writes them day-first (the German, Swiss, Austrian, Nordic, Slavic, Turkish style; CLDR has
none month-first), so the first days of a month do not stop a European export. An export locale that
writes month-first dates (en-US) does not read such a file month-first: it contradicts the file, which is
refused saying so; a mapping's dotted pattern (``%m.%d.%Y``) is the way to read dots month-first. Slash
and dash dates stay open (``01/02/2026`` is 1 February in London and January 2 in New York). A file still
open after that is refused as a whole, with one reason naming the columns and how to settle them; so is a
column whose values contradict each other (day-first and month-first dates in one column).
A mapping that fixes its formats (``formats: {detect: false}``, or a field's own ``format``) is read as
it says, without looking.

A few stray values (at most one in fifty of those that show a convention: a hand-typed date, a typo) do
not decide a file: the many do, and each stray row is refused by its converter with its reason. Nothing
is ever read the other way: a day-first reading of 07/22 fails, and thousands must be groups of three.
A mapping that reads only ISO dates and '.' decimals (the generic layouts) whose first block of rows is
of that form needs no look at the rest: those formats cannot misread a later value, only refuse it.

Spreadsheet files are not examined: their number and date cells carry their types.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Final, NoReturn

from arcollect.company import Locale
from arcollect.ingest import fields as f
from arcollect.ingest.schema import FIELDS
from arcollect.ingest.sources import FileProblem, Record

if TYPE_CHECKING:  # the mapping module imports this one
    from arcollect.ingest.mappings import ColumnMapping, Header

# Our field types whose text format varies by locale.
DATE: Final = "date"
MONEY: Final = "money"
# A date column has few distinct values (days); one with more is not worth remembering past this.
_MAX_DISTINCT_DATES: Final = 20_000

# A date with an optional time of day after it (``31.01.2024 00:00:00``): the converters read the time and
# leave it out (``fields.TIME_OF_DAY``), so a date-time column decides its order as a date column does.
_DAY_MONTH: Final = re.compile(r"(\d{1,2})([./\- ])(\d{1,2})\2(\d{4}|\d{2})" + f"(?:{f.TIME_OF_DAY})?")
_YEAR_FIRST: Final = re.compile(r"(\d{4})([./\-])(\d{1,2})\2(\d{1,2})" + f"(?:{f.TIME_OF_DAY})?")
# A mapping's numeric day-month patterns (whose order detection decides), as opposed to e.g. %d %b %Y.
_NUMERIC_DAY_MONTH: Final = re.compile(r"%([dm])[./\- ]%([dm])[./\- ]%[yY]")

# Evidence in a column of amounts, one per line. Each pattern's name says what it shows.
_NOT_NUMBER: Final = r"(?<![\d.,])"
_END: Final = r"(?![\d.,])"
_GROUPERS: Final = " \u00a0\u202f'"
_EVIDENCE: Final[tuple[tuple[str, str | None, str | None, re.Pattern[str]], ...]] = (
    # (what it shows, the decimal point it settles, the thousands separator it shows, pattern)
    ("1,234.56", ".", ",", re.compile(r"\d,\d{3}(?:,\d{3})*\.\d")),
    ("1.234,56", ",", ".", re.compile(r"\d\.\d{3}(?:\.\d{3})*,\d")),
    ("1,234,567", ".", ",", re.compile(_NOT_NUMBER + r"\d{1,3}(?:,\d{3}){2,}" + _END)),
    ("1.234.567", ",", ".", re.compile(_NOT_NUMBER + r"\d{1,3}(?:\.\d{3}){2,}" + _END)),
    ("12.5", ".", None, re.compile(_NOT_NUMBER + r"(?:\d+\.(?:\d{1,2}|\d{4,})|\d{4,}\.\d{3})" + _END)),
    ("12,5", ",", None, re.compile(_NOT_NUMBER + r"(?:\d+,(?:\d{1,2}|\d{4,})|\d{4,},\d{3})" + _END)),
)
# Thousands grouped by a space, a no-break space, a narrow no-break space or an apostrophe.
_GROUPED: Final = {c: re.compile(r"\d" + re.escape(c) + r"\d{3}(?!\d)") for c in _GROUPERS}
# "1,234" or "1.234": a thousands separator or a decimal one; only the other values can tell.
_AMBIGUOUS_AMOUNT: Final = re.compile(_NOT_NUMBER + r"\d{1,3}[.,]\d{3}" + _END)
_DIGITS_AS_NINE: Final = str.maketrans("0123456789", "9999999999")


@dataclass(frozen=True)
class Note:
    """Why a convention was chosen when the file's values did not settle it outright, for the file's
    result: a value that shows it (its column and line) and the reason."""

    column: str
    value: str
    line: int
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"column": self.column, "value": self.value, "line": self.line, "reason": self.reason}

    @classmethod
    def from_json(cls, raw: Any) -> Note | None:
        if not isinstance(raw, dict) or not raw.get("reason"):
            return None
        return cls(
            str(raw.get("column") or ""),
            str(raw.get("value") or ""),
            int(raw.get("line") or 0),
            str(raw["reason"]),
        )


@dataclass(frozen=True)
class Convention:
    """What was decided for one field of one file: its date patterns, or its number separators; and,
    when it was inferred rather than shown by a value or given, why (``note``)."""

    dates: tuple[str, ...] = ()
    decimal_point: str = ""
    thousands_separator: str = ""
    note: Note | None = None

    def applied_to(self, formats: f.Formats) -> f.Formats:
        if self.dates:
            return replace(formats, dates=self.dates)
        if self.decimal_point:
            return replace(
                formats, decimal_point=self.decimal_point, thousands_separator=self.thousands_separator
            )
        return formats

    def as_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "dates": list(self.dates),
            "decimal_point": self.decimal_point,
            "thousands_separator": self.thousands_separator,
        }
        if self.note is not None:
            found["note"] = self.note.as_json()
        return found

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Convention:
        return cls(
            dates=tuple(str(p) for p in raw.get("dates") or ()),
            decimal_point=str(raw.get("decimal_point") or ""),
            thousands_separator=str(raw.get("thousands_separator") or ""),
            note=Note.from_json(raw.get("note")),
        )


Conventions = Mapping[str, Convention]


def inferred(conventions: Conventions) -> list[Note]:
    """What the file's result notes about its conventions: those inferred, with why (a file whose
    dates were read day-first for being written DD.MM.YYYY)."""
    return [c.note for _, c in sorted(conventions.items()) if c.note is not None]


def conventions_json(conventions: Conventions) -> dict[str, dict[str, Any]]:
    """A file's conventions as they travel with its chunks (each chunk reads them, not the whole file)."""
    return {name: convention.as_json() for name, convention in sorted(conventions.items())}


def conventions_from_json(raw: Any) -> dict[str, Convention]:
    if not isinstance(raw, dict):
        return {}
    return {str(name): Convention.from_json(value) for name, value in raw.items() if isinstance(value, dict)}


@dataclass
class _Column:
    field: str
    label: str
    index: int
    type: str


@dataclass
class _Dates(_Column):
    first_line: dict[str, int] = field(default_factory=dict)  # each distinct value's first line
    rows: Counter[str] = field(default_factory=Counter)  # how many rows have each value


@dataclass
class _Amounts(_Column):
    # The column's values by shape (every digit written 9: "1.234,56" is "9.999,99"): a column of
    # thousands of amounts has a few dozen shapes, and a shape shows all a value shows of separators.
    shapes: Counter[str] = field(default_factory=Counter)
    first: dict[str, tuple[str, int]] = field(default_factory=dict)  # a shape's first value and line
    # What each kind of evidence first showed (its text and line), and how many values showed it.
    seen: dict[str, tuple[str, int]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    grouped: dict[str, tuple[str, int]] = field(default_factory=dict)  # by grouping character
    ambiguous: tuple[str, int] | None = None

    def weigh(self) -> None:
        """The evidence of the shapes seen, each weighed by how many values had it."""
        for shape, (text, line) in sorted(self.first.items(), key=lambda item: item[1][1]):
            number = self.shapes[shape]
            for name, _decimal, _thousands, pattern in _EVIDENCE:
                if pattern.search(shape):
                    self.counts[name] = self.counts.get(name, 0) + number
                    self.seen.setdefault(name, (text, line))
            for grouper, pattern in _GROUPED.items():
                if pattern.search(shape):
                    self.grouped.setdefault(grouper, (text, line))
            if self.ambiguous is None and _AMBIGUOUS_AMOUNT.search(shape):
                self.ambiguous = (text, line)


def _columns(mapping: ColumnMapping, header: Header) -> list[_Column]:
    """The mapped date and amount columns whose format the values may decide."""
    found: list[_Column] = []
    for name, spec in FIELDS[mapping.kind].items():
        source = mapping.fields.get(name)
        if spec.type not in (DATE, MONEY) or source is None or not source.columns or source.values:
            continue
        if spec.type == DATE and source.date_formats:
            continue  # the mapping fixed this field's format
        index = next(
            (header.columns[c] for c in map(f.normalise_column, source.columns) if c in header.columns), None
        )
        if index is None:
            continue
        label = header.cells[index].strip() or f"#{index + 1}"
        kind = _Dates if spec.type == DATE else _Amounts
        found.append(kind(name, label, index, spec.type))
    return found


def detect(
    mapping: ColumnMapping,
    header: Header,
    blocks: Iterable[Sequence[Record]],
    locale: Locale | None,
) -> dict[str, Convention]:
    """Each mapped date and amount column's convention, from all the file's data rows (``blocks``, as
    ``sources.read_blocks`` reads them); ``FileProblem`` when the file leaves one open or contradicts
    itself. Columns whose values need no deciding (ISO dates, amounts without separators) are left out:
    the mapping's formats read them.

    The order of day and month is the file's, not a column's: an export writes all its dates one way, so
    a due date of 28/04 settles the invoice dates of 03/04 too."""
    if not mapping.formats.detect:
        return {}
    columns = _columns(mapping, header)
    if not columns:
        return {}
    # A row short of the columns looked at (a blank line among them) is refused with its reason anyway.
    width = max(column.index for column in columns) + 1
    strict = _strict(mapping.formats)
    for block in blocks:
        rows = [r for r in block if len(r.values) >= width and r.problem is None and r.line > header.line]
        if rows:
            _observe(columns, rows)
            if strict and _plain_so_far(columns):
                # ISO dates and plain amounts under a mapping that reads nothing else: the rest of the
                # file cannot be read another way (a value in another form is refused with its reason,
                # never misread), so it need not be looked at first.
                return {}
            strict = False
    decided: dict[str, Convention] = {}
    problems: list[str] = []
    contradicted = False
    dates = [_date_evidence(column) for column in columns if isinstance(column, _Dates)]
    try:
        day_first, note = _date_order(dates, mapping.formats, locale)
    except _Unsettled as unsettled:
        problems.append(str(unsettled))
        contradicted = isinstance(unsettled, _Contradicted)
    else:
        for evidence in dates:
            convention = _date_convention(evidence, day_first, mapping.formats)
            if convention is not None:
                if note is not None and note.column == evidence.column.label:
                    convention = replace(convention, note=note)
                decided[evidence.column.field] = convention
    for column in columns:
        if not isinstance(column, _Amounts):
            continue
        column.weigh()
        try:
            convention = _decide_amounts(column, mapping.formats, locale)
        except _Unsettled as unsettled:
            problems.append(str(unsettled))
            continue
        if convention is not None:
            decided[column.field] = convention
    if problems:
        heading = (
            "the file's own values contradict the export locale, so none of it was read: "
            if contradicted
            else "the file's own values do not say how it writes dates or amounts, so none of it was read: "
        )
        raise FileProblem(heading + "; ".join(problems))
    return decided


_PLAIN_SHAPE: Final = re.compile(r"-?9+(?:\.9{1,2}|\.9{4,})?|-?9{4,}\.999")
_ISO_DAY: Final = re.compile(r"\d{4}-\d{2}-\d{2}" + f"(?:{f.TIME_OF_DAY})?")


def _strict(formats: f.Formats) -> bool:
    """A mapping whose formats read ISO dates and '.' decimals only: nothing in another form is read."""
    return (
        formats.dates == (f.ISO_DATE,)
        and formats.decimal_point == "."
        and not formats.thousands_separator
        and not formats.currency_symbols
    )


def _plain_so_far(columns: list[_Column]) -> bool:
    """Whether the values seen are ISO dates and plain amounts (no thousands, no ambiguous 1.234), but
    for a few strays (refused row by row)."""
    for column in columns:
        plain = other = 0
        if isinstance(column, _Dates):
            for text, number in column.rows.items():
                if text.strip():
                    if _ISO_DAY.fullmatch(text.strip()):
                        plain += number
                    else:
                        other += number
        elif isinstance(column, _Amounts):
            for shape, number in column.shapes.items():
                if shape.strip():
                    if _PLAIN_SHAPE.fullmatch(shape.strip()):
                        plain += number
                    else:
                        other += number
        if other * _STRAY > plain:
            return False
    return True


def _observe(columns: list[_Column], rows: list[Record]) -> None:
    lines = [r.line for r in rows]
    # One tuple per column, at C speed (as far as the shortest row: every row reaches the columns).
    cells = list(zip(*[r.values for r in rows]))  # noqa: B905
    for column in columns:
        texts = cells[column.index]
        if isinstance(column, _Dates):
            if len(column.first_line) < _MAX_DISTINCT_DATES:
                column.rows.update(texts)
                # The first line of each distinct value (reversed: a dict keeps the last it is given).
                for text, line in dict(zip(reversed(texts), reversed(lines), strict=True)).items():
                    column.first_line.setdefault(text, line)
        elif isinstance(column, _Amounts):
            shapes = "\n".join(texts).translate(_DIGITS_AS_NINE).split("\n")
            if len(shapes) != len(texts):  # a cell with a line break in it: one shape per cell still
                shapes = [text.translate(_DIGITS_AS_NINE) for text in texts]
            before = len(column.shapes)
            column.shapes.update(shapes)
            if len(column.shapes) != before:
                for shape in column.shapes.keys() - column.first.keys():
                    row = shapes.index(shape)
                    column.first[shape] = (texts[row].strip(), lines[row])


class _Unsettled(Exception):
    """A column the file leaves open or contradicts; the message says which and how to settle it."""


class _Contradicted(_Unsettled):
    """Dates the export locale would read in an order no locale writes them in."""


_HOW: Final = (
    "set the deployment's exportLocale (e.g. en-US, en-GB, de-DE) or give the mapping formats ({formats})"
)


@dataclass
class _DateEvidence:
    column: _Dates
    day_first: tuple[str, int] | None = None  # a date whose first number is above 12
    month_first: tuple[str, int] | None = None  # a date whose second number is above 12
    open_order: tuple[str, int] | None = None  # a date that reads both ways (03/04)
    # The ways the dates that read both ways are written, (separator, year digits), each's first example.
    open_shapes: dict[tuple[str, int], tuple[str, int]] = field(default_factory=dict)
    # Rows with a day-first, a month-first, a year-first, any day-month date.
    counts: dict[str, int] = field(default_factory=lambda: {"day": 0, "month": 0, "year": 0, "d/m": 0})
    shapes: dict[tuple[str, int], None] = field(default_factory=dict)  # (separator, year digits)
    year_first: dict[str, None] = field(default_factory=dict)  # patterns


def _date_evidence(column: _Dates) -> _DateEvidence:
    evidence = _DateEvidence(column)
    for raw, line in sorted(column.first_line.items(), key=lambda item: item[1]):
        text, number = raw.strip(), column.rows[raw]
        match = _DAY_MONTH.fullmatch(text)
        if match:
            first, second = int(match[1]), int(match[3])
            if first > 31 or second > 31 or (first > 12 and second > 12):
                continue  # not a date either way: the row is refused with its reason
            evidence.shapes.setdefault((match[2], len(match[4])), None)
            evidence.counts["d/m"] += number
            if first > 12:
                evidence.day_first = evidence.day_first or (text, line)
                evidence.counts["day"] += number
            elif second > 12:
                evidence.month_first = evidence.month_first or (text, line)
                evidence.counts["month"] += number
            elif first != second:
                evidence.open_order = evidence.open_order or (text, line)
                evidence.open_shapes.setdefault((match[2], len(match[4])), (text, line))
            continue
        match = _YEAR_FIRST.fullmatch(text)
        if match:
            separator = match[2]
            day = match.end(4)  # where the date ends (a time of day may follow)
            pattern = f.ISO_DATE if separator == "-" and day == 10 else f"%Y{separator}%m{separator}%d"
            evidence.year_first.setdefault(pattern, None)
            evidence.counts["year"] += number
    if evidence.counts["d/m"] * _STRAY <= evidence.counts["year"]:
        # A year-first column with a few day-month dates: strays, refused row by row, not a convention.
        evidence.shapes.clear()
        evidence.open_shapes.clear()
        evidence.day_first = evidence.month_first = evidence.open_order = None
    return evidence


def _date_order(
    dates: list[_DateEvidence], formats: f.Formats, locale: Locale | None
) -> tuple[bool, Note | None]:
    """Whether the file writes its dates day-first: from its values, else the mapping, else the locale,
    else (dates written DD.MM.YYYY) the dots; with a note when the dots decided."""
    day_first = next(((e.column, e.day_first) for e in dates if e.day_first), None)
    month_first = next(((e.column, e.month_first) for e in dates if e.month_first), None)
    counts = {side: sum(e.counts[side] for e in dates) for side in ("day", "month")}
    if day_first and month_first and (winner := _majority(counts)) is not None:
        return winner == "day", None  # a few stray dates: their rows are refused, each with its reason
    if day_first and month_first:
        (one, (text, line)), (other, (other_text, other_line)) = day_first, month_first
        where = f"column {one.label} has" if one is other else f"columns {one.label} and {other.label} have"
        raise _Unsettled(
            f"{where} day-first dates ({text} on line {line}) and month-first ones ({other_text} on "
            f"line {other_line}); an export writes one order"
        )
    if day_first or month_first:
        return day_first is not None, None
    unsettled = next(((e.column, e.open_order) for e in dates if e.open_order), None)
    if unsettled is None:
        return True, None  # no date reads two ways (each has its day equal to its month, or none is d/m/y)
    dotted = _dotted(dates)
    hinted = _mapping_order(formats, dotted=dotted is not None)
    if hinted is not None:
        return hinted, None
    if locale is not None:
        if dotted is not None and not locale.day_first:
            _refuse_locale(dotted, locale)
        return locale.day_first, None
    if dotted is not None:
        return True, _dotted_note(dates, dotted)
    column, (text, line) = unsettled
    _refuse_order(dates, column, text, line)


# Numeric dates written with dots (``01.12.2026``, ``1.12.2026``) are day-first in every locale that
# writes them: the German, Swiss, Austrian, Nordic, Slavic, Baltic and Turkish short dates. In CLDR 47
# (as babel 2.18 ships it) every short and medium date pattern with dots is day-month-year (177 of them)
# or year-first (Hungarian and Korean ``2026. 12. 01.``, Mongolian ``2026.12.01``: the 4-digit year
# first, read as such); none is month-day-year. A 4-digit year is required: in ``01.12.26`` the year
# could come first.
_DOTTED: Final = (".", 4)


def _dotted(dates: list[_DateEvidence]) -> tuple[_Dates, tuple[str, int]] | None:
    """The first date that reads both ways, with its column, when every such date of the file is
    written DD.MM.YYYY; else None."""
    shapes = {shape for e in dates for shape in e.open_shapes}
    if shapes != {_DOTTED}:
        return None
    return next((e.column, e.open_shapes[_DOTTED]) for e in dates if _DOTTED in e.open_shapes)


_MONTHS: Final = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def _dotted_note(dates: list[_DateEvidence], dotted: tuple[_Dates, tuple[str, int]]) -> Note:
    column, (text, line) = dotted
    match = _DAY_MONTH.fullmatch(text)
    assert match is not None  # an open date is one
    read = f"{int(match[1])} {_MONTHS[int(match[3]) - 1]} {match[4]}"
    labels = [e.column.label for e in dates if e.open_order]
    where = f"column {labels[0]}" if len(labels) == 1 else "columns " + ", ".join(labels)
    return Note(
        column.label,
        text,
        line,
        f"dates read day-first, as DD.MM.YYYY ({text} as {read}), in {where}: no date in the file has a "
        "day above 12 to settle the order, and every locale that writes dates with dots and a 4-digit "
        "year writes them day-first (the German, Swiss, Austrian, Nordic, Slavic, Turkish style; none "
        "month-first); should the ERP write them month-first, give the mapping formats.dates "
        "['%m.%d.%Y']",
    )


def _refuse_locale(dotted: tuple[_Dates, tuple[str, int]], locale: Locale) -> NoReturn:
    column, (text, line) = dotted
    raise _Contradicted(
        f"column {column.label} has dates such as {text} (line {line}) written DD.MM.YYYY, with dots, "
        "which no locale writes month-first, and no date in the file has a day above 12 to settle the "
        f"order; the deployment's exportLocale {locale.describe()} would read them month-first, a "
        f"misreading: the file was not exported in {locale.tag}. Set exportLocale to the ERP's locale "
        "(e.g. de-DE), or, should the ERP write month-first dates with dots, give the mapping "
        "formats.dates ['%m.%d.%Y']"
    )


def _refuse_order(dates: list[_DateEvidence], column: _Dates, text: str, line: int) -> NoReturn:
    labels = [e.column.label for e in dates if e.open_order]
    columns = f"column {labels[0]} has" if len(labels) == 1 else "columns " + ", ".join(labels) + " have"
    raise _Unsettled(
        f"{columns} dates such as {text} (line {line} of column {column.label}) that read day-first or "
        "month-first, and no date in the file has a day above 12 to settle which; "
        + _HOW.format(formats="formats.dates such as ['%d/%m/%Y']")
    )


def _date_convention(evidence: _DateEvidence, day_first: bool, formats: f.Formats) -> Convention | None:
    if not evidence.shapes:
        extra = [p for p in evidence.year_first if p != f.ISO_DATE]
        return Convention(dates=(*extra, *formats.dates)) if extra else None
    order = ("%d", "%m") if day_first else ("%m", "%d")
    numeric = [
        f"{order[0]}{separator}{order[1]}{separator}{'%Y' if digits == 4 else '%y'}"
        for separator, digits in evidence.shapes
    ]
    # The mapping's other patterns (a month name, say) still apply; its numeric day-month ones do not,
    # since the file decided the order.
    others = [p for p in formats.dates if not _NUMERIC_DAY_MONTH.fullmatch(p)]
    return Convention(dates=tuple(dict.fromkeys([*numeric, *evidence.year_first, *others])))


def _mapping_order(formats: f.Formats, *, dotted: bool = False) -> bool | None:
    """Day-first (True) or month-first (False) as the mapping's own date patterns say, if they do.

    For ``dotted`` dates (DD.MM.YYYY) a dotted pattern says their order; a month-first pattern with
    other separators (a US preset's ``%m/%d/%Y``) describes another way of writing dates, not these."""
    if "dates" not in formats.declared:
        return None
    orders = [
        (match[1] == "d", "." in pattern)
        for pattern in formats.dates
        if (match := _NUMERIC_DAY_MONTH.fullmatch(pattern))
    ]
    if not orders:
        return None
    if dotted:
        with_dots = [day_first for day_first, dots in orders if dots]
        if with_dots:
            return with_dots[0]
        return True if orders[0][0] else None
    return orders[0][0]


def _decide_amounts(column: _Amounts, formats: f.Formats, locale: Locale | None) -> Convention | None:
    votes: dict[str, tuple[str, int]] = {}  # decimal point -> its first example
    counts: dict[str, int] = {}
    # Thousands separators seen: (separator, the decimal point the same value showed, if any, example).
    grouping: list[tuple[str, str | None, tuple[str, int]]] = [
        (grouper, None, example) for grouper, example in column.grouped.items()
    ]
    for name, decimal_point, thousands, _pattern in _EVIDENCE:
        example = column.seen.get(name)
        if example is None:
            continue
        if decimal_point is not None:
            votes.setdefault(decimal_point, example)
            counts[decimal_point] = counts.get(decimal_point, 0) + column.counts[name]
        if thousands is not None:
            grouping.append((thousands, decimal_point, example))
    if len(votes) > 1:
        winner = _majority(counts)
        if winner is None:
            raise _Unsettled(
                f"column {column.label} has amounts with a decimal comma ({_shown(votes[','])}) and "
                f"amounts with a decimal point ({_shown(votes['.'])}); an export writes one"
            )
        votes = {winner: votes[winner]}
    if votes:
        decimal_point = next(iter(votes))
    elif column.ambiguous is None:
        return None  # nothing with a separator, or nothing a default reads wrongly: the mapping's formats
    elif "decimal" in formats.declared:
        decimal_point = formats.decimal_point
    elif locale is not None:
        decimal_point = locale.decimal_point
    else:
        text, line = column.ambiguous
        raise _Unsettled(
            f"column {column.label} has amounts such as {text} (line {line}) that read with a thousands "
            "separator or a decimal one, and none of its amounts settles which; "
            + _HOW.format(formats="formats.decimal and formats.thousands")
        )
    other = "," if decimal_point == "." else "."
    # What stray values of the other convention showed is not the file's (their rows are refused).
    groupers = {
        grouper: example
        for grouper, shown_with, example in grouping
        if grouper != decimal_point and shown_with in (None, decimal_point)
    }
    if column.ambiguous is not None and other in column.ambiguous[0]:
        groupers.setdefault(other, column.ambiguous)
    if len(groupers) > 1:
        shown = ", ".join(_shown(example) for example in groupers.values())
        raise _Unsettled(f"column {column.label} groups thousands in more than one way ({shown})")
    return Convention(decimal_point=decimal_point, thousands_separator=next(iter(groupers), ""))


# A few stray values (a typo, a hand-edited row) do not decide a file: when at most one in fifty of the
# values that show a convention show the other one, the many decide, and each stray row is refused by
# the converter with its reason (never read the other way: a day-first reading of 07/22 fails, and
# thousands are checked to be groups of three).
_STRAY: Final = 50


def _majority(counts: Mapping[str, int]) -> str | None:
    (first, many), (_, few) = sorted(counts.items(), key=lambda item: -item[1])[:2]
    return first if few * _STRAY <= many else None


def _shown(example: tuple[str, int]) -> str:
    return f"{example[0]} on line {example[1]}"
