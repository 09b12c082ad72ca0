"""Column mappings as data: how one system's export becomes our invoices, payments or customers.

A mapping is a small YAML document (the shipped presets live in ``presets/``; a finance team adds its own
under ``config/mappings/NAME.yaml`` in the drop bucket or passes ``arcollect ingest --mapping FILE``)::

    name: quickbooks-ar-aging
    kind: invoices                 # invoices | payments | customers
    mode: snapshot                 # snapshot: open items missing from a newer file are closed; or delta
    signed: true                   # negative amounts are credits (credit notes, money received)
    header: {search_rows: 10}      # the header is the first of these rows naming every required column
    as_of: {pattern: 'As of (?P<date>.+)', format: '%B %d, %Y'}    # read from the lines above the header
    formats: {dates: ['%m/%d/%Y'], decimal: '.', thousands: ',', currency_symbols: true}
    fields:                        # our field: the source column, or a spec
      invoice_number: Num
      customer_id: [Customer ID, Customer]          # the first of these the header has
      invoice_date: {column: Date, format: ['%m/%d/%Y']}
      document_type:
        column: Transaction Type
        values: {Invoice: invoice, Credit Memo: credit_note, Payment: 'skip: a payment, not an open item'}
        otherwise: reject          # a value not listed: reject (default), skip, or keep as written
      currency: {constant: USD}
      open_amount: {column: Amount Due, default: '0'}       # an empty cell means this value
      invoice_number: {join: [BUKRS, KUNNR, BELNR], separator: '-'}
    derive:                        # only when the field is empty or unmapped
      due_date: invoice_date + terms_days
      open_amount: amount - paid_amount
    skip:                          # layout rows: skipped, each with its reason, never silently
      - {column: '#1', matches: '^Total', reason: a total row}
      - {empty: [Date, Num], reason: a section heading}
      - {column: Status, equals: [VOIDED, DRAFT], reason: 'a {value} invoice is not owed'}
    collapse: invoice_number       # consecutive rows with one invoice number are its line items

Everything is checked when the mapping is loaded, so a mistake in a mapping is reported once, naming
the key, rather than as a rejection of every row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from importlib import resources
from itertools import repeat
from operator import is_, is_not, itemgetter
from typing import Any, Final, NamedTuple

from arcollect import yamldoc
from arcollect.company import CompanySettings, company_settings
from arcollect.entities import DropKind
from arcollect.ingest import fields as f
from arcollect.ingest.conventions import Conventions
from arcollect.ingest.fields import normalise_column
from arcollect.ingest.schema import (
    BUILDERS,
    COLUMN_BUILDERS,
    FIELDS,
    ColumnBuilder,
    Entity,
    FieldSpec,
    converter_for,
    generic_columns,
)
from arcollect.ingest.sources import FileProblem, Record
from arcollect.money import minor_unit

GENERIC: Final = "generic"
SNAPSHOT: Final = "snapshot"
DELTA: Final = "delta"
MODES: Final = (SNAPSHOT, DELTA)
_NAME: Final = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
_DERIVATION: Final = re.compile(r"\s*([a-z_]+)\s*([+-])\s*([a-z_]+)\s*")
_SKIP_PREFIX: Final = "skip:"
_OTHERWISE: Final = ("reject", "skip", "keep")
_TOP_LEVEL: Final = frozenset(
    {"name", "kind", "description", "mode", "signed", "header", "as_of", "formats", "fields", "derive"}
    | {"skip", "collapse"}
)


class MappingError(ValueError):
    """A mapping document that cannot be used; the message names the mapping and the key."""


@dataclass(frozen=True)
class FieldSource:
    """Where one of our fields comes from: a column (or its alternatives), a join, or a constant."""

    columns: tuple[str, ...] = ()
    join: tuple[str, ...] = ()
    separator: str = "-"
    constant: str | None = None
    date_formats: tuple[str, ...] = ()
    values: Mapping[str, str] = field(default_factory=dict)  # normalised source text -> ours or "skip:why"
    otherwise: str = "reject"
    default: str | None = None  # used when the cell is empty (Business Central leaves the local currency so)

    @property
    def source_columns(self) -> tuple[str, ...]:
        return self.columns or self.join


@dataclass(frozen=True)
class SkipRule:
    reason: str
    column: str | None = None
    matches: re.Pattern[str] | None = None
    equals: frozenset[str] = frozenset()
    empty: tuple[str, ...] = ()


@dataclass(frozen=True)
class AsOfRule:
    pattern: re.Pattern[str]
    formats: tuple[str, ...]


@dataclass(frozen=True)
class ColumnMapping:
    """A validated mapping document."""

    name: str
    kind: DropKind
    fields: Mapping[str, FieldSource]
    description: str = ""
    mode: str = DELTA
    signed: bool = False
    formats: f.Formats = field(default_factory=f.Formats)
    search_rows: int = 1
    as_of: AsOfRule | None = None
    derive: Mapping[str, tuple[str, str, str]] = field(default_factory=dict)
    skip: tuple[SkipRule, ...] = ()
    collapse: str | None = None
    source: str = "shipped"

    def required_columns(self) -> list[str]:
        """The source columns a header must name for this mapping to fit it."""
        specs = FIELDS[self.kind]
        wanted: list[str] = []
        for name, spec in specs.items():
            source = self.fields.get(name)
            if not spec.required or source is None or name in self.derive or source.constant is not None:
                continue
            if source.columns:
                wanted.append(source.columns[0] if len(source.columns) == 1 else " or ".join(source.columns))
            wanted.extend(source.join)
        return wanted

    def describe(self) -> dict[str, Any]:
        """What ``arcollect mappings`` lists."""
        return {
            "name": self.name,
            "kind": self.kind.value,
            "mode": self.mode,
            "description": self.description,
            "required_columns": self.required_columns(),
            "source": self.source,
        }


# -- loading ---------------------------------------------------------------------------------------


def load_mapping(text: str | bytes, *, source: str) -> ColumnMapping:
    """Parse and check one mapping document; ``MappingError`` says what is wrong and where."""
    try:
        document = yamldoc.safe_load(text)
    except yamldoc.YamlError as error:
        raise MappingError(f"{source}: not valid YAML: {error}") from error
    if not isinstance(document, dict):
        raise MappingError(f"{source}: a mapping is a YAML object with name, kind and fields")
    return _Checker(source, document).mapping()


class _Checker:
    def __init__(self, source: str, document: dict[str, Any]) -> None:
        self.source = source
        self.doc = document

    def fail(self, where: str, message: str) -> MappingError:
        return MappingError(f"{self.source}: {where}: {message}")

    def mapping(self) -> ColumnMapping:
        doc = self.doc
        unknown = sorted(set(doc) - _TOP_LEVEL)
        if unknown:
            raise self.fail(", ".join(unknown), f"unknown key; a mapping has {', '.join(sorted(_TOP_LEVEL))}")
        name = doc.get("name")
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise self.fail("name", "must be lower-case letters, digits, '-' or '_' (at most 63)")
        try:
            kind = DropKind(str(doc.get("kind")))
        except ValueError:
            raise self.fail("kind", f"must be one of {', '.join(k.value for k in DropKind)}") from None
        mode = doc.get("mode", DELTA)
        if mode not in MODES:
            raise self.fail("mode", "must be snapshot or delta")
        if mode == SNAPSHOT and kind is not DropKind.INVOICES:
            raise self.fail("mode", "only an invoices mapping can be a snapshot of open items")
        formats = self.formats(doc.get("formats") or {})
        fields = self.fields(kind, doc.get("fields"), formats)
        derive = self.derivations(kind, doc.get("derive") or {}, fields)
        for name_, spec in FIELDS[kind].items():
            if spec.required and name_ not in fields and name_ not in derive:
                raise self.fail(f"fields.{name_}", "is required: map it to a column, a constant or a join")
        collapse = doc.get("collapse")
        if collapse is not None and collapse not in fields:
            raise self.fail("collapse", "must name a mapped field (such as invoice_number)")
        search_rows = (doc.get("header") or {}).get("search_rows", 1)
        if not isinstance(search_rows, int) or not 1 <= search_rows <= 100:
            raise self.fail("header.search_rows", "must be a whole number from 1 to 100")
        return ColumnMapping(
            name=name,
            kind=kind,
            fields=fields,
            description=str(doc.get("description", "")).strip(),
            mode=mode,
            signed=bool(doc.get("signed", False)),
            formats=formats,
            search_rows=search_rows,
            as_of=self.as_of(doc.get("as_of")),
            derive=derive,
            skip=tuple(self.skip_rule(i, rule) for i, rule in enumerate(doc.get("skip") or [])),
            collapse=collapse,
            source=self.source,
        )

    def formats(self, raw: Any) -> f.Formats:
        if not isinstance(raw, dict):
            raise self.fail("formats", "must be an object")
        unknown = set(raw) - {"dates", "decimal", "thousands", "currency_symbols", "trailing_minus", "detect"}
        if unknown:
            raise self.fail(f"formats.{sorted(unknown)[0]}", "unknown key")
        dates = raw.get("dates", [f.ISO_DATE])
        dates = [dates] if isinstance(dates, str) else dates
        if not isinstance(dates, list) or not dates or not all(isinstance(d, str) for d in dates):
            raise self.fail("formats.dates", "must be a list of date patterns (iso, epoch_*, or %d/%m/%Y)")
        for pattern in dates:
            self.date_pattern("formats.dates", pattern)
        decimal_point = str(raw.get("decimal", "."))
        thousands = str(raw.get("thousands", "") or "")
        if decimal_point not in {".", ","} or thousands not in {"", ",", ".", " ", "'", "\u00a0"}:
            raise self.fail("formats", "decimal must be '.' or ','; thousands '', ',', '.', ' ' or \"'\"")
        if decimal_point == thousands:
            raise self.fail("formats", "decimal and thousands separators must differ")
        return f.Formats(
            dates=tuple(dates),
            decimal_point=decimal_point,
            thousands_separator=thousands,
            currency_symbols=bool(raw.get("currency_symbols", False)),
            trailing_minus=bool(raw.get("trailing_minus", False)),
            detect=self.flag("formats.detect", raw.get("detect", True)),
            declared=frozenset(key for key in ("dates", "decimal", "thousands") if key in raw),
        )

    def flag(self, where: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise self.fail(where, "must be true or false")
        return value

    def date_pattern(self, where: str, pattern: str) -> None:
        if pattern in {f.ISO_DATE, f.EPOCH_SECONDS, f.EPOCH_MILLISECONDS, f.EPOCH_MICROSECONDS}:
            return
        if "%" not in pattern:
            raise self.fail(where, f"{pattern!r} is not iso, epoch_* or a strptime pattern like %d.%m.%Y")
        try:
            date(2026, 11, 2).strftime(pattern)
        except ValueError as error:
            raise self.fail(where, f"{pattern!r}: {error}") from error

    def fields(self, kind: DropKind, raw: Any, formats: f.Formats) -> dict[str, FieldSource]:
        if not isinstance(raw, dict) or not raw:
            raise self.fail("fields", "must map our fields to source columns")
        known = FIELDS[kind]
        result: dict[str, FieldSource] = {}
        for name, spec in raw.items():
            where = f"fields.{name}"
            if name not in known:
                raise self.fail(where, f"not a field of {kind.value}; they are {', '.join(known)}")
            result[name] = self.field_source(where, known[name], spec)
        return result

    def field_source(self, where: str, spec: FieldSpec, raw: Any) -> FieldSource:
        if isinstance(raw, str):
            return FieldSource(columns=(raw,))
        if isinstance(raw, list) and raw and all(isinstance(c, str) for c in raw):
            return FieldSource(columns=tuple(raw))
        if not isinstance(raw, dict):
            raise self.fail(where, "must be a column name, a list of alternative names, or an object")
        unknown = set(raw) - {
            "column",
            "join",
            "separator",
            "constant",
            "format",
            "values",
            "otherwise",
            "default",
        }
        if unknown:
            raise self.fail(f"{where}.{sorted(unknown)[0]}", "unknown key")
        sources = [key for key in ("column", "join", "constant") if key in raw]
        if len(sources) != 1:
            raise self.fail(where, "needs exactly one of column, join or constant")
        column = raw.get("column")
        columns = (column,) if isinstance(column, str) else tuple(column or ())
        join = tuple(raw.get("join") or ())
        if "join" in raw and (len(join) < 2 or not all(isinstance(c, str) for c in join)):
            raise self.fail(f"{where}.join", "must list at least two columns")
        date_formats = raw.get("format", [])
        date_formats = [date_formats] if isinstance(date_formats, str) else list(date_formats)
        if date_formats and spec.type != "date":
            raise self.fail(f"{where}.format", f"only date fields take a format ({spec.name} is {spec.type})")
        for pattern in date_formats:
            self.date_pattern(f"{where}.format", pattern)
        values = raw.get("values") or {}
        if not isinstance(values, dict):
            raise self.fail(f"{where}.values", "must map source values to ours")
        otherwise = raw.get("otherwise", "reject" if values else "keep")
        if otherwise not in _OTHERWISE:
            raise self.fail(f"{where}.otherwise", "must be reject, skip or keep")
        constant = raw.get("constant")
        default = raw.get("default")
        return FieldSource(
            default=None if default is None else str(default),
            columns=columns,
            join=join,
            separator=str(raw.get("separator", "-")),
            constant=None if constant is None else str(constant),
            date_formats=tuple(date_formats),
            values={str(k).strip().lower(): str(v) for k, v in values.items()},
            otherwise=otherwise,
        )

    def derivations(
        self, kind: DropKind, raw: Any, fields: Mapping[str, FieldSource]
    ) -> dict[str, tuple[str, str, str]]:
        if not isinstance(raw, dict):
            raise self.fail("derive", "must map a field to an expression such as invoice_date + terms_days")
        specs = FIELDS[kind]
        result: dict[str, tuple[str, str, str]] = {}
        for target, expression in raw.items():
            where = f"derive.{target}"
            match = _DERIVATION.fullmatch(str(expression))
            if target not in specs or not match:
                raise self.fail(where, "must be '<field> + <field>' or '<field> - <field>' of our fields")
            left, operator, right = match.groups()
            for operand in (left, right):
                if operand not in fields:
                    raise self.fail(where, f"{operand} is not a mapped field")
            types = (specs[target].type, specs[left].type, operator, specs[right].type)
            if types not in {("date", "date", "+", "integer"), ("money", "money", "-", "money")}:
                raise self.fail(
                    where, "supported: date = date + whole days; amount = amount - amount (of our fields)"
                )
            result[target] = (left, operator, right)
        return result

    def as_of(self, raw: Any) -> AsOfRule | None:
        if raw is None:
            return None
        if not isinstance(raw, dict) or "pattern" not in raw:
            raise self.fail("as_of", "needs a pattern with a (?P<date>...) group")
        try:
            pattern = re.compile(raw["pattern"])
        except re.error as error:
            raise self.fail("as_of.pattern", str(error)) from error
        if "date" not in pattern.groupindex:
            raise self.fail("as_of.pattern", "needs a (?P<date>...) group")
        formats = raw.get("format", [f.ISO_DATE])
        formats = [formats] if isinstance(formats, str) else formats
        for pattern_ in formats:
            self.date_pattern("as_of.format", pattern_)
        return AsOfRule(pattern=pattern, formats=tuple(formats))

    def skip_rule(self, index: int, raw: Any) -> SkipRule:
        where = f"skip[{index}]"
        if not isinstance(raw, dict) or not raw.get("reason"):
            raise self.fail(where, "needs a reason and one of matches, equals or empty")
        if "empty" in raw:
            empty = raw["empty"]
            if not isinstance(empty, list) or not empty:
                raise self.fail(f"{where}.empty", "must list the columns that are empty on such rows")
            return SkipRule(reason=str(raw["reason"]), empty=tuple(str(c) for c in empty))
        column = raw.get("column")
        if not isinstance(column, str):
            raise self.fail(f"{where}.column", "names the column the rule looks at ('#1' = the first)")
        if "matches" in raw:
            try:
                matches = re.compile(str(raw["matches"]))
            except re.error as error:
                raise self.fail(f"{where}.matches", str(error)) from error
            return SkipRule(reason=str(raw["reason"]), column=column, matches=matches)
        if "equals" in raw:
            equals = raw["equals"] if isinstance(raw["equals"], list) else [raw["equals"]]
            return SkipRule(
                reason=str(raw["reason"]),
                column=column,
                equals=frozenset(str(v).strip().lower() for v in equals),
            )
        raise self.fail(where, "needs one of matches, equals or empty")


# -- the registry of shipped presets ---------------------------------------------------------------


def _shipped() -> dict[tuple[DropKind, str], ColumnMapping]:
    found: dict[tuple[DropKind, str], ColumnMapping] = {}
    for entry in sorted(resources.files("arcollect.ingest").joinpath("presets").iterdir(), key=str):
        if entry.name.endswith(".yaml"):
            mapping = load_mapping(entry.read_text(encoding="utf-8"), source=f"presets/{entry.name}")
            found[(mapping.kind, mapping.name)] = mapping
    return found


PRESETS: Final = _shipped()


def presets(kind: DropKind | None = None) -> list[ColumnMapping]:
    return [m for (k, _), m in sorted(PRESETS.items()) if kind is None or k is kind]


# -- binding a mapping to a file -------------------------------------------------------------------


class MappedRow(NamedTuple):
    """A row after mapping: an entity, the reasons it was rejected, or why it was skipped; notes too.
    A named tuple: ``map_many`` makes one per row at C speed (``tuple.__new__``)."""

    entity: Entity | None
    errors: tuple[f.FieldError, ...] = ()
    notes: tuple[f.FieldError, ...] = ()
    skipped: str | None = None
    key: str | None = None  # the collapse key (the invoice number of a line item)


@dataclass
class _Problems:
    """Collects a row's problems by our field name, reported under the source column's name."""

    labels: Mapping[str, str]
    raw: Callable[[str], str]
    errors: list[f.FieldError] = field(default_factory=list)
    notes: list[f.FieldError] = field(default_factory=list)

    def reject(self, field_name: str, reason: str) -> None:
        self.errors.append(
            f.FieldError(self.labels.get(field_name, field_name), self.raw(field_name), reason)
        )

    def note(self, field_name: str, reason: str) -> None:
        self.notes.append(f.FieldError(self.labels.get(field_name, field_name), self.raw(field_name), reason))


Getter = Callable[[list[str]], str]


@dataclass(frozen=True)
class Header:
    """Where a mapping found its header in a file, and what it read from the lines above it."""

    line: int
    cells: list[str]
    preamble: list[Record]
    columns: dict[str, int]  # normalised name -> index


def find_header(mapping: ColumnMapping, first_records: Sequence[Record]) -> Header | list[str]:
    """The header row among ``first_records`` (at most ``search_rows`` non-blank ones), or the columns
    missing from the best candidate."""
    best_missing: list[str] | None = None
    candidates = [r for r in first_records if not r.blank and r.problem is None][: mapping.search_rows]
    for record in candidates:
        columns: dict[str, int] = {}
        for index, cell in enumerate(record.values):
            columns.setdefault(normalise_column(cell), index)
        missing = _missing(mapping, columns)
        if not missing:
            preamble = [r for r in first_records if r.line < record.line]
            return Header(line=record.line, cells=record.values, preamble=preamble, columns=columns)
        if best_missing is None or len(missing) < len(best_missing):
            best_missing = missing
    return best_missing if best_missing is not None else mapping.required_columns()


def _missing(mapping: ColumnMapping, columns: Mapping[str, int]) -> list[str]:
    missing = []
    for name, spec in FIELDS[mapping.kind].items():
        source = mapping.fields.get(name)
        if not spec.required or source is None or name in mapping.derive or source.constant is not None:
            continue
        if source.columns and not any(normalise_column(c) in columns for c in source.columns):
            missing.append(" or ".join(source.columns))
        missing.extend(c for c in source.join if normalise_column(c) not in columns)
    # Skip and collapse rules name columns too; a rule whose column is absent would silently never fire.
    for rule in mapping.skip:
        for column in (rule.column, *rule.empty):
            if column and not column.startswith("#") and normalise_column(column) not in columns:
                missing.append(column)
    return missing


class BoundMapping:
    """A mapping applied to one file's header: ``map`` turns each data record into a ``MappedRow``."""

    def __init__(
        self,
        mapping: ColumnMapping,
        header: Header,
        *,
        typed_cells: bool = False,
        settings: CompanySettings | None = None,
        conventions: Conventions | None = None,
    ) -> None:
        """``conventions``: what the file's own values settled of its date and number formats, by field
        (``conventions.detect``); ``settings``: the company's (the home currency), default the
        deployment's."""
        settings = settings or company_settings()
        conventions = conventions or {}
        self.mapping = mapping
        self.header = header
        self.width = len(header.cells)
        self.kind = mapping.kind
        formats = mapping.formats
        if typed_cells:
            # Spreadsheet number and date cells arrive as '.' decimals and ISO dates (see sources.py).
            formats = f.Formats(dates=(f.ISO_DATE, *formats.dates), currency_symbols=formats.currency_symbols)
        self.as_of = self._as_of(header.preamble)
        columns = header.columns
        self._refuse_duplicates(mapping, header)
        specs = FIELDS[mapping.kind]
        # A column converted as it is, with the text an empty cell stands for ("" when none).
        self._plain: list[tuple[str, int, f.Converter, str]] = []
        self._special: list[tuple[str, Getter, f.Converter, FieldSource]] = []
        self._absent: list[str] = []
        labels: dict[str, str] = {}
        self._index_of: dict[str, int] = {}
        used: set[int] = set()
        for name, spec in specs.items():
            source = mapping.fields.get(name)
            convert = converter_for(
                spec,
                conventions[name].applied_to(formats) if name in conventions else formats,
                source.date_formats if source else (),
            )
            index = self._column(source, columns) if source else None
            if spec.type == "currency" and (source is None or (source.columns and index is None)):
                # An export without a currency (QuickBooks' aging, a generic file without the column)
                # is in the company's home currency.
                source = FieldSource(constant=settings.home_currency)
                index = None
            elif spec.type == "currency" and source is not None and source.default is None:
                # An empty currency cell is the home currency (Business Central's blank local currency).
                source = replace(source, default=settings.home_currency)
            if source is None or (source.columns and index is None):
                self._absent.append(name)
                labels[name] = source.columns[0] if source and source.columns else name
                continue
            if index is not None:
                used.add(index)
                self._index_of[name] = index
                labels[name] = header.cells[index].strip() or f"#{index + 1}"
                # "otherwise" only matters with a value map: without one the cell is converted as it is.
                if not source.values:
                    self._plain.append((name, index, convert, source.default or ""))
                    continue
                self._special.append((name, _cell(index), convert, source))
            elif source.join:
                indexes = [columns[normalise_column(c)] for c in source.join]
                used.update(indexes)
                labels[name] = "+".join(source.join)
                self._special.append((name, _joined(indexes, source.separator), convert, source))
            else:
                labels[name] = name
                self._special.append((name, _constant(source.constant or ""), convert, source))
        self._labels = labels
        self._skips = [self._skip_test(rule, columns) for rule in mapping.skip]
        used.update(i for rule in mapping.skip for i in self._rule_columns(rule, columns))
        self.ignored_columns = tuple(
            cell.strip() for index, cell in enumerate(header.cells) if index not in used and cell.strip()
        )
        self._required = [name for name, spec in specs.items() if spec.required and not spec.may_be_empty]
        # The amounts the file states, each checked against its row's currency's smallest unit (a file of
        # customers has no currency: its amounts are the home currency's).
        self._money = tuple(
            name for name, spec in specs.items() if spec.type == "money" and name not in self._absent
        )
        self._home_currency = None if "currency" in specs else settings.home_currency
        self._build = BUILDERS[mapping.kind]
        self._collapse_index = self._index_of.get(mapping.collapse) if mapping.collapse else None

    @staticmethod
    def _refuse_duplicates(mapping: ColumnMapping, header: Header) -> None:
        """A mapped column named twice in the header is ambiguous: which one holds the amount?"""
        wanted = {normalise_column(c) for source in mapping.fields.values() for c in source.source_columns}
        seen: dict[str, int] = {}
        for index, cell in enumerate(header.cells):
            name = normalise_column(cell)
            if name in wanted and name in seen:
                raise FileProblem(
                    f"line {header.line}: column {cell.strip()} appears twice in the header "
                    f"(columns {seen[name] + 1} and {index + 1})"
                )
            seen.setdefault(name, index)

    @staticmethod
    def _column(source: FieldSource, columns: Mapping[str, int]) -> int | None:
        for column in source.columns:
            index = columns.get(normalise_column(column))
            if index is not None:
                return index
        return None

    def _as_of(self, preamble: Sequence[Record]) -> date | None:
        rule = self.mapping.as_of
        if rule is None:
            return None
        convert = f.date_converter(f.Formats(dates=rule.formats))
        for record in preamble:
            for cell in record.values:
                match = rule.pattern.search(cell.strip())
                if match:
                    try:
                        value: date = convert(match["date"].strip())
                        return value
                    except f.Invalid as invalid:
                        raise FileProblem(
                            f"line {record.line}: the as-of date {match['date']!r} {invalid}"
                        ) from None
        raise FileProblem(
            f"the {self.mapping.name} mapping reads the file's as-of date from the lines above the header "
            f"(pattern {rule.pattern.pattern!r}), and none matches"
        )

    def _rule_columns(self, rule: SkipRule, columns: Mapping[str, int]) -> list[int]:
        names = [rule.column] if rule.column else list(rule.empty)
        found = []
        for name in names:
            index = int(name[1:]) - 1 if name.startswith("#") else columns.get(normalise_column(name))
            if index is not None:
                found.append(index)
        return found

    def _skip_test(self, rule: SkipRule, columns: Mapping[str, int]) -> Callable[[list[str]], str | None]:
        indexes = self._rule_columns(rule, columns)
        if rule.empty:

            def all_empty(values: list[str]) -> str | None:
                return rule.reason if all(not values[i].strip() for i in indexes) else None

            return all_empty
        index = indexes[0]
        if rule.matches is not None:
            pattern = rule.matches

            def matching(values: list[str]) -> str | None:
                text = values[index].strip()
                return rule.reason.replace("{value}", text) if pattern.search(text) else None

            return matching

        def equal(values: list[str]) -> str | None:
            text = values[index].strip()
            return rule.reason.replace("{value}", text) if text.lower() in rule.equals else None

        return equal

    def map(self, record: Record) -> MappedRow:
        if record.problem is not None:
            return MappedRow(None, (f.FieldError("", "", record.problem),))
        values = record.values
        width = self.width
        if len(values) != width:
            if len(values) > width and any(v.strip() for v in values[width:]):
                extra = next(v for v in values[width:] if v.strip())
                error = f.FieldError("", extra, f"the row has {len(values)} fields, the header {width}")
                return MappedRow(None, (error,))
            values = (values + [""] * width)[:width]
        for test in self._skips:
            reason = test(values)
            if reason is not None:
                return MappedRow(None, skipped=reason)
        typed: dict[str, Any] = dict.fromkeys(self._absent)
        errors: list[f.FieldError] | None = None
        for name, index, convert, empty in self._plain:
            text = values[index].strip() or empty
            if text:
                try:
                    typed[name] = convert(text)
                except f.Invalid as invalid:
                    typed[name] = None
                    errors = errors or []
                    errors.append(f.FieldError(self._labels[name], text, str(invalid)))
            else:
                typed[name] = None
        for name, get, convert, source in self._special:
            text = get(values).strip() or (source.default or "")
            if source.values:
                mapped = source.values.get(text.lower())
                if mapped is None:
                    if source.otherwise == "skip" and text:
                        return MappedRow(None, skipped=f"{self._labels[name]} is {text!r}")
                    if source.otherwise == "reject" and text:
                        errors = errors or []
                        listed = ", ".join(sorted(source.values))
                        errors.append(f.FieldError(self._labels[name], text, f"must be one of: {listed}"))
                        typed[name] = None
                        continue
                elif mapped.startswith(_SKIP_PREFIX):
                    return MappedRow(
                        None, skipped=mapped[len(_SKIP_PREFIX) :].strip().replace("{value}", text)
                    )
                else:
                    text = mapped
            if text:
                try:
                    typed[name] = convert(text)
                except f.Invalid as invalid:
                    typed[name] = None
                    errors = errors or []
                    errors.append(f.FieldError(self._labels[name], text, str(invalid)))
            else:
                typed[name] = None
        if self._money:
            errors = self._finer_than_units(values, typed, errors)
        for target, (left, operator, right) in self.mapping.derive.items():
            if typed.get(target) is None and typed.get(left) is not None and typed.get(right) is not None:
                if operator == "+":
                    typed[target] = typed[left] + _days(typed[right])
                else:
                    typed[target] = typed[left] - typed[right]
        problems = _Problems(self._labels, lambda name: self._raw(values, name), errors or [])
        for name in self._required:
            if typed[name] is None and not any(e.column == self._labels[name] for e in problems.errors):
                problems.reject(name, "is required")
        entity = None if problems.errors else self._build(typed, problems, self.mapping.signed)
        key = values[self._collapse_index].strip() if self._collapse_index is not None else None
        if problems.errors:
            return MappedRow(None, tuple(problems.errors), tuple(problems.notes), key=key)
        return MappedRow(entity, (), tuple(problems.notes), key=key)

    def map_many(self, records: Sequence[Record]) -> list[MappedRow]:
        """``map`` of every record, worked column by column: the same entities, errors, notes, skips and
        keys (a property test holds it to ``map``), in a fraction of the time.

        Each field's cells are converted as one column (``fields.convert_column``) and each entity is
        built from the columns (``schema.COLUMN_BUILDERS``). A row the columns cannot settle on their own
        (a cell its converter refuses, a skip rule or value map that fires, a required value missing, a
        builder's check or note, a record the reader could not read) is mapped by ``map``: its reasons
        are always ``map``'s own. Customers have no column builder: their rows all go through ``map``.
        """
        build = COLUMN_BUILDERS.get(self.kind)
        width = self.width
        if build is not None and records:
            # Most blocks: every record read and as wide as the header, every row settled by its columns.
            values = list(map(_VALUES, records))
            if not any(map(is_not, map(_PROBLEM, records), repeat(None))) and all(
                map(width.__eq__, map(len, values))
            ):
                mapped, slow = self._map_columns(values, build)
                for i in slow:
                    mapped[i] = self.map(records[i])
                return mapped  # type: ignore[return-value]  # no None left
        results: list[MappedRow | None] = [None] * len(records)
        positions = [i for i, r in enumerate(records) if r.problem is None and len(r.values) == width]
        if build is not None and positions:
            rows = [records[i].values for i in positions]
            for at, row in zip(positions, self._map_columns(rows, build)[0], strict=True):
                results[at] = row
        return [
            row if row is not None else self.map(record) for row, record in zip(results, records, strict=True)
        ]

    def _map_columns(
        self, rows: list[list[str]], build: ColumnBuilder
    ) -> tuple[list[MappedRow | None], set[int]]:
        """The rows' MappedRows, None for each row that ``map`` must settle, and where those are."""
        count = len(rows)
        cells = list(zip(*rows, strict=True))
        slow: set[int] = set()
        if self._skips:
            slow.update(
                i for i, values in enumerate(rows) if any(test(values) is not None for test in self._skips)
            )
        typed: dict[str, list[Any]] = {}
        for name, index, convert, empty in self._plain:
            raw_column = getattr(convert, "raw_column", None)
            if raw_column is not None:  # a converter of few distinct values: strips only those
                values, refused = raw_column(cells[index], empty)
                slow.update(refused)
                typed[name] = values
                continue
            texts = list(map(str.strip, cells[index]))
            if empty and "" in texts:
                texts = [text or empty for text in texts]
            typed[name] = _column(convert, texts, slow)
        for name, get, convert, source in self._special:
            texts = [get(values).strip() or (source.default or "") for values in rows]
            if source.values:
                texts = _value_mapped(texts, source, slow)
            typed[name] = _column(convert, texts, slow)
        for name in self._absent:
            typed[name] = [None] * count
        if self._money:
            currencies = typed["currency"] if self._home_currency is None else [self._home_currency] * count
            for name in self._money:
                slow.update(f.amounts_at_units(typed[name], currencies))
        for target, (left, operator, right) in self.mapping.derive.items():
            _derive_column(typed, target, left, operator, right, slow)
        for name in self._required:
            # Compared by identity: ``None in column`` would ask every Decimal for its __eq__.
            column = typed[name]
            if any(map(is_, column, repeat(None))):
                slow.update(i for i, value in enumerate(column) if value is None)
        entities = build(typed, count, self.mapping.signed, slow)
        keys: Iterable[str | None]
        if self._collapse_index is not None:
            keys = map(str.strip, cells[self._collapse_index])
        else:
            keys = repeat(None)
        nothing = repeat(())
        mapped: list[MappedRow | None] = list(
            map(_new_row, repeat(MappedRow), zip(entities, nothing, nothing, repeat(None), keys))
        )
        for i in slow:
            mapped[i] = None
        return mapped, slow

    def document_key(self, record: Record) -> tuple[str, str] | None:
        """The customer id and invoice number of an invoice row as ``map`` reads them, whatever else
        in it is refused; None when either cannot be read (empty or refused, a record that could not be
        read, or one with more fields than the header: its cells may not be in their columns).

        A snapshot's rejected row is still an item the ERP lists: this is how it stays listed."""
        if self.kind is not DropKind.INVOICES or record.problem is not None:
            return None
        values = record.values
        if len(values) > self.width and any(v.strip() for v in values[self.width :]):
            return None
        values = (values + [""] * self.width)[: self.width]
        customer_id, number = (self._read_one(values, name) for name in ("customer_id", "invoice_number"))
        if not isinstance(customer_id, str) or not isinstance(number, str):
            return None
        return customer_id, number

    def _read_one(self, values: list[str], name: str) -> Any:
        """One field of a row, as ``map`` converts it; None when it is empty or refused."""
        plain = next((p for p in self._plain if p[0] == name), None)
        if plain is not None:
            _, index, convert, empty = plain
            text = values[index].strip() or empty
        else:
            special = next((s for s in self._special if s[0] == name), None)
            if special is None:
                return None
            _, get, convert, source = special
            text = get(values).strip() or (source.default or "")
            if source.values:
                mapped = source.values.get(text.lower())
                if mapped is None:
                    if source.otherwise in ("skip", "reject") and text:
                        return None  # ``map`` skips or refuses the row for this value
                elif mapped.startswith(_SKIP_PREFIX):
                    return None
                else:
                    text = mapped
        if not text:
            return None
        try:
            return convert(text)
        except f.Invalid:
            return None

    def _finer_than_units(
        self, values: list[str], typed: dict[str, Any], errors: list[f.FieldError] | None
    ) -> list[f.FieldError] | None:
        """Each amount of the row at its currency's smallest unit (``fields.at_unit``), in ``typed``; and
        ``errors`` with a reason for each one finer than it (an amount before any derivation: what the
        file states), which is then None, as a refused cell is."""
        currency = typed["currency"] if self._home_currency is None else self._home_currency
        if currency is None:  # refused or missing: the row says so already
            return errors
        places = minor_unit(currency)
        for name in self._money:
            amount = typed[name]
            if amount is None:
                continue
            typed[name] = f.at_unit(amount, places)
            if typed[name] is None:
                home = self._home_currency is not None
                reason = f.finer_than_unit_reason(amount, currency, home=home)
                errors = errors or []
                errors.append(f.FieldError(self._labels[name], self._text(values, name), reason))
        return errors

    def _text(self, values: list[str], name: str) -> str:
        """The text ``map`` converted for a field of the row (before a value map)."""
        for plain, index, _, empty in self._plain:
            if plain == name:
                return values[index].strip() or empty
        for special, get, _, source in self._special:
            if special == name:
                return get(values).strip() or (source.default or "")
        return ""  # pragma: no cover - only fields the row converted are asked for

    def _raw(self, values: list[str], name: str) -> str:
        index = self._index_of.get(name)
        return values[index].strip() if index is not None and index < len(values) else ""


def _column(convert: f.Converter, texts: list[str], slow: set[int]) -> list[Any]:
    """A field's typed column; the rows with a refused cell join ``slow``."""
    values, refused = f.convert_column(convert, texts)
    slow.update(refused)
    return values


def _value_mapped(texts: list[str], source: FieldSource, slow: set[int]) -> list[str]:
    """A column through the field's value map (``values``), as ``map`` applies it to one cell; a row
    that the map skips or rejects joins ``slow`` (``map`` says why)."""
    outcome: dict[str, str | None] = {}
    for text in set(texts):
        mapped = source.values.get(text.lower())
        if mapped is None:
            outcome[text] = None if text and source.otherwise in ("skip", "reject") else text
        elif mapped.startswith(_SKIP_PREFIX):
            outcome[text] = None
        else:
            outcome[text] = mapped
    mapped_texts = list(map(outcome.__getitem__, texts))
    if any(map(is_, mapped_texts, repeat(None))):
        slow.update(i for i, text in enumerate(mapped_texts) if text is None)
        return [text or "" for text in mapped_texts]
    return mapped_texts  # type: ignore[return-value]


def _derive_column(
    typed: dict[str, list[Any]], target: str, left: str, operator: str, right: str, slow: set[int]
) -> None:
    """``derive`` over columns, row by row as ``map`` does it (rows already left to ``map`` aside)."""
    targets, lefts, rights = typed[target], typed[left], typed[right]
    for i, (value, a, b) in enumerate(zip(targets, lefts, rights, strict=True)):
        if value is None and a is not None and b is not None and i not in slow:
            targets[i] = a + _days(b) if operator == "+" else a - b


_VALUES: Final = itemgetter(1)  # a Record's values, at C speed
_PROBLEM: Final = itemgetter(2)  # and its problem
# A MappedRow from its five fields at C speed (what the named tuple's own __new__ does, less its checks).
_new_row: Final = tuple.__new__


def _constant(value: str) -> Getter:
    return lambda _values: value


def _cell(index: int) -> Getter:
    return lambda values: values[index]


def _joined(indexes: Sequence[int], separator: str) -> Getter:
    def join(values: list[str]) -> str:
        parts = [values[i].strip() for i in indexes]
        # Empty parts keep their place (the key stays positional); a key of nothing but empty parts is
        # no key, so it is left empty for "is required" to report.
        return separator.join(parts) if any(parts) else ""

    return join


def _days(value: int) -> timedelta:
    return timedelta(days=value)


# -- choosing the mapping of a file ----------------------------------------------------------------


def choose(
    kind: DropKind,
    first_records: Sequence[Record],
    named: ColumnMapping | None,
    others: Iterable[ColumnMapping] = (),
) -> tuple[ColumnMapping, Header]:
    """The mapping of a file and where its header is: the one named (by folder, ``--mapping`` or the
    bucket's config), else the only preset of its kind whose columns the file has. ``FileProblem``
    explains a header that fits none (naming what is missing), several, or another kind's."""
    if named is not None:
        if named.kind is not kind:
            raise FileProblem(
                f"the {named.name} mapping is for {named.kind.value} files, and this one was dropped under "
                f"incoming/{kind.value}/"
            )
        found = find_header(named, first_records)
        if isinstance(found, Header):
            return named, found
        raise FileProblem(
            f"missing required column{'s' if len(found) > 1 else ''}: {', '.join(found)} "
            f"(the {named.name} {kind.value} mapping needs {', '.join(named.required_columns())})"
        )
    candidates = [*presets(kind), *others]
    fits = [(m, h) for m in candidates if isinstance(h := find_header(m, first_records), Header)]
    if len(fits) > 1:
        # The generic layout is the fallback; a preset that fits too is the more specific reading.
        specific = [(m, h) for m, h in fits if m.name != GENERIC]
        if len(specific) == 1:
            return specific[0]
        names = ", ".join(m.name for m, _ in fits)
        raise FileProblem(
            f"the header fits several {kind.value} mappings ({names}): drop the file under "
            f"incoming/{kind.value}/<mapping>/ to choose"
        )
    if fits:
        return fits[0]
    for other in DropKind:
        if other is kind:
            continue
        for mapping in presets(other):
            if isinstance(find_header(mapping, first_records), Header):
                raise FileProblem(
                    f"this is a {other.value} file (it fits the {mapping.name} {other.value} mapping), "
                    f"dropped under incoming/{kind.value}/: drop it under incoming/{other.value}/"
                )
    if not any(not r.blank for r in first_records):
        raise FileProblem("the file has no rows: expected a header row naming the columns")
    generic = PRESETS[(kind, GENERIC)]
    missing = find_header(generic, first_records)
    required, _ = generic_columns(kind)
    listed = ", ".join(missing) if isinstance(missing, list) else ""
    raise FileProblem(
        f"no {kind.value} mapping fits the header: for the generic layout it lacks {listed} "
        f"(it needs {', '.join(required)}); for an ERP export drop it under incoming/{kind.value}/<mapping>/ "
        f"(arcollect mappings lists them) or upload a mapping to config/mappings/"
    )


def head(records: Iterator[Record], limit: int = 100) -> list[Record]:
    """The first records of a file, enough to find any mapping's header."""
    first: list[Record] = []
    for record in records:
        first.append(record)
        if len(first) >= limit:
            break
    return first
