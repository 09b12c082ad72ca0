"""Properties of the file reader: whatever the bytes, only FileProblem; whatever the table, it round-trips.

The ERP's files come from many writers; examples cannot cover their quoting, encodings and chunk sizes,
so these generate them.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import itertools
import json
from collections.abc import Callable
from typing import Literal
from unittest.mock import patch

import openpyxl  # type: ignore[import-untyped]
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from arcollect.ingest import sources
from arcollect.ingest.sources import FileProblem, Opener, Record, Shape, inspect, read_records

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

MAGICS = [
    b"",
    b"\x1f\x8b",
    b"PK\x03\x04",
    codecs.BOM_UTF8,
    codecs.BOM_UTF16_LE,
    codecs.BOM_UTF16_BE,
    b"{",
    b'{"a": 1}\n',
    b"a,b\n",
    b'"',
]


def split(content: bytes, cuts: list[int]) -> Opener:
    """An opener whose chunks end at ``cuts`` (positions into the content)."""
    edges = sorted({0, len(content), *(cut % (len(content) + 1) for cut in cuts)})
    chunks = [content[start:end] for start, end in itertools.pairwise(edges)]
    return lambda: list(chunks)


def outcome(open_bytes: Opener) -> tuple[Shape, list[Record]] | str:
    """The shape and records, or the FileProblem's message: any other exception fails the test."""
    try:
        shape = inspect(open_bytes)
        return shape, list(read_records(open_bytes, shape))
    except FileProblem as problem:
        return str(problem)


# --- any bytes ---------------------------------------------------------------------------------------


@PROPERTY
@given(prefix=st.sampled_from(MAGICS), body=st.binary(max_size=600), cuts=st.lists(st.integers(0, 700)))
@example(prefix=b"", body=b"\x00" * 40, cuts=[])
@example(prefix=b"{", body=b"[" * 5000, cuts=[])
@example(prefix=b"", body=b"a\x00" * 10 + b"\x00\xd8", cuts=[3])
def test_any_bytes_read_or_raise_file_problem_and_chunking_changes_nothing(
    prefix: bytes, body: bytes, cuts: list[int]
) -> None:
    content = prefix + body
    assert outcome(split(content, cuts)) == outcome(lambda: [content])


@PROPERTY
@given(prefix=st.sampled_from(MAGICS), body=st.binary(max_size=600), cut=st.integers(0, 2000))
def test_any_bytes_gzipped_whole_or_truncated_read_or_raise_file_problem(
    prefix: bytes, body: bytes, cut: int
) -> None:
    compressed = gzip.compress(prefix + body)
    truncated = compressed[: cut % (len(compressed) + 1)]
    outcome(lambda: [compressed])
    outcome(lambda: [truncated])


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_damaged_workbooks_raise_file_problem(data: st.DataObject) -> None:
    workbook = _workbook()
    position = data.draw(st.integers(0, len(workbook) - 1))
    damage = data.draw(st.binary(min_size=1, max_size=64))
    damaged = workbook[:position] + damage + workbook[position + len(damage) :]
    outcome(lambda: [damaged])
    outcome(lambda: [workbook[:position]])


_WORKBOOK: list[bytes] = []


def _workbook() -> bytes:
    if not _WORKBOOK:
        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet("S")
        for number in range(20):
            sheet.append([f"row {number}", number, number / 3, None, "x" * number])
        out = io.BytesIO()
        book.save(out)
        _WORKBOOK.append(out.getvalue())
    return _WORKBOOK[0]


# --- tables round-trip -----------------------------------------------------------------------------


def _text(alphabet: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.text(alphabet, max_size=12)


# Any character a text file holds: no control characters (a file of them is binary), no surrogates
# (no encoding writes them), no U+FEFF (at the start it is a byte order mark, not data) and no U+FFFD.
UNICODE = st.characters(
    blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufeff\ufffd"
) | st.sampled_from([*',;\t|"\r\n ', "é", "€", "ß"])


STRUCTURE = [*',;\t|"\r\n ']
# Every printable character of each 8-bit encoding, and the characters that make a CSV's structure.
CP1252 = st.sampled_from(
    sorted({char for char in bytes(range(256)).decode("cp1252", errors="ignore") if char.isprintable()})
) | st.sampled_from(STRUCTURE)
# Bytes 81 8d 90 are undefined in Windows-1252: only Latin-1 reads them.
LATIN1 = st.sampled_from(
    [*(chr(code) for code in range(256) if chr(code).isprintable()), "\x81", "\x8d", "\x90"]
) | st.sampled_from(STRUCTURE)
# UTF-16 without a byte order mark is told by the NULs of ASCII text: mostly ASCII, some Latin and €.
MOSTLY_ASCII = st.sampled_from([chr(code) for code in range(32, 127)] + list("\r\n\téüß€"))

ENCODINGS: dict[str, tuple[st.SearchStrategy[str], Callable[[str], bytes], str]] = {
    # written as: (its characters, how the text is written, the encoding the reader reports)
    "utf-8": (UNICODE, lambda text: text.encode("utf-8"), "utf-8"),
    "utf-8-sig": (UNICODE, lambda text: text.encode("utf-8-sig"), "utf-8-sig"),
    "utf-16": (UNICODE, lambda text: text.encode("utf-16"), "utf-16"),
    "utf-16-be-bom": (UNICODE, lambda text: codecs.BOM_UTF16_BE + text.encode("utf-16-be"), "utf-16"),
    "utf-16-le": (MOSTLY_ASCII, lambda text: text.encode("utf-16-le"), "utf-16-le"),
    "utf-16-be": (MOSTLY_ASCII, lambda text: text.encode("utf-16-be"), "utf-16-be"),
    "cp1252": (CP1252, lambda text: text.encode("cp1252"), "cp1252"),
    "latin-1": (LATIN1, lambda text: text.encode("latin-1"), "latin-1"),
}
Quoting = Literal[0, 1]  # csv.QUOTE_MINIMAL, csv.QUOTE_ALL
FALLBACKS = ("utf-8", "cp1252", "latin-1")


@st.composite
def tables(draw: st.DrawFn) -> tuple[str, list[list[str]], str, Quoting]:
    name = draw(st.sampled_from(sorted(ENCODINGS)))
    alphabet = ENCODINGS[name][0]
    columns = draw(st.integers(1, 5))
    empty: list[str] = []
    row = st.lists(_text(alphabet), min_size=columns, max_size=columns) | st.just(empty)
    table = draw(st.lists(row, min_size=1, max_size=25))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    quoting: Quoting = draw(st.sampled_from([csv.QUOTE_ALL, csv.QUOTE_MINIMAL]))
    return name, table, delimiter, quoting


def _expected_encoding(name: str, content: bytes) -> str:
    """Text written in an 8-bit encoding reads as the first of UTF-8, Windows-1252, Latin-1 that fits."""
    reported = ENCODINGS[name][2]
    if reported not in FALLBACKS:
        return reported
    for encoding in FALLBACKS:
        try:
            content.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    raise AssertionError("Latin-1 decodes anything")


@PROPERTY
@given(spec=tables(), compress=st.booleans(), cuts=st.lists(st.integers(0, 5000), max_size=8))
@example(spec=("cp1252", [["Caf\xe9", "5\u20ac"]], ";", csv.QUOTE_MINIMAL), compress=False, cuts=[5])
@example(spec=("latin-1", [["\x81", "x"], ["a\r\nb", ""]], "|", csv.QUOTE_ALL), compress=True, cuts=[])
def test_tables_written_by_csv_writer_read_back_whole(
    spec: tuple[str, list[list[str]], str, Quoting], compress: bool, cuts: list[int]
) -> None:
    name, table, delimiter, quoting = spec
    if quoting == csv.QUOTE_MINIMAL:
        # Unquoted, another delimiter in the text could outvote the real one: quoted, it cannot.
        others = str.maketrans("", "", "".join(set(",;\t|") - {delimiter}))
        table = [[value.translate(others) for value in row] for row in table]
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, quoting=quoting, lineterminator="\r\n")
    lines = [1]
    for row in table:
        start = out.tell()
        writer.writerow(row)
        lines.append(lines[-1] + len(io.StringIO(out.getvalue()[start:], newline="").readlines()))
    text = out.getvalue()
    assume(text.strip())  # a table of spaces is an empty file
    assume(text.lstrip()[:1] not in {"{", "[", "<"})  # JSON Lines, a JSON array or markup, not CSV
    content = ENCODINGS[name][1](text)
    data = gzip.compress(content) if compress else content

    result = outcome(split(data, cuts))

    assert not isinstance(result, str), result
    shape, records = result
    encoding = _expected_encoding(name, content)
    assert (shape.format, shape.encoding) == ("csv", encoding)
    assert shape.compression == ("gzip" if compress else None)
    if any(len(row) > 1 for row in table):
        assert shape.delimiter == delimiter
    # When 8-bit text happens to be valid UTF-8 (or Windows-1252), that is how it reads.
    expected = table if encoding == ENCODINGS[name][2] else _reparse(content, encoding, delimiter)
    assert [record.values for record in records] == expected
    assert [record.line for record in records] == lines[:-1]
    assert all(record.problem is None for record in records)


def _reparse(content: bytes, encoding: str, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode(encoding), newline=""), delimiter=delimiter))


@PROPERTY
@given(
    keys=st.lists(st.text(UNICODE, min_size=1, max_size=6), min_size=1, max_size=4, unique=True),
    data=st.data(),
    cuts=st.lists(st.integers(0, 3000), max_size=6),
)
def test_json_lines_read_back_every_value_in_the_first_records_key_order(
    keys: list[str], data: st.DataObject, cuts: list[int]
) -> None:
    value = st.one_of(
        st.text(UNICODE, max_size=10),
        st.integers(-(10**20), 10**20),
        st.floats(allow_nan=False, allow_infinity=False),
        st.none(),
        st.booleans(),
    )
    objects = data.draw(st.lists(st.lists(value, min_size=len(keys), max_size=len(keys)), min_size=1))
    # The first object's keys in order name the fields; the others may hold them in any order.
    lines = [dict(zip(keys, objects[0], strict=True))]
    for values in objects[1:]:
        lines.append(dict(data.draw(st.permutations(list(zip(keys, values, strict=True))))))
    ensure_ascii = data.draw(st.booleans())
    content = "\n".join(json.dumps(line, ensure_ascii=ensure_ascii) for line in lines)

    result = outcome(split(content.encode(), cuts))

    assert not isinstance(result, str), result
    shape, records = result
    assert shape.format == "jsonl"
    assert records[0] == Record(0, keys)

    def text(item: object) -> str:
        return "" if item is None else ("yes" if item else "no") if isinstance(item, bool) else str(item)

    assert [(record.line, record.values) for record in records[1:]] == [
        (number, [text(item) for item in values]) for number, values in enumerate(objects, 1)
    ]


# --- the whole-file CSV check ----------------------------------------------------------------------------


def _check_line_by_line(text: str, delimiter: str) -> str | None:
    """What the whole-file check says, as it said it line by line before it read the text in pieces: its
    FileProblem's message, or None."""
    limit = csv.field_size_limit()
    quoted: list[str] = []
    numbers: list[int] = []
    lines = io.StringIO(text, newline="")
    try:
        for before, line in enumerate(lines):
            if len(line) > limit or ('"' in line and line.count('"') % 2):
                sources._parse_lines(quoted, numbers, delimiter)
                sources._parse_csv(itertools.chain((line,), lines), delimiter, before)
                return None
            if '"' in line:
                quoted.append(line)
                numbers.append(before + 1)
        sources._parse_lines(quoted, numbers, delimiter)
    except FileProblem as problem:
        return str(problem)
    return None


@PROPERTY
@given(
    text=st.lists(st.sampled_from([*'ab,;"\r\n', "\r\n", '""', "é"]), max_size=60).map("".join),
    piece=st.integers(1, 12),
    limit=st.integers(3, 30),
)
@example(text='a,b\r\n"x\r\ny",c\rd\n', piece=4, limit=30)
@example(text='ab\n"a""b",c\n"open\nrest', piece=3, limit=30)
def test_the_csv_check_in_pieces_says_what_it_said_line_by_line(text: str, piece: int, limit: int) -> None:
    # Small pieces and a small field limit put piece edges and over-long lines everywhere.
    stream = lambda: io.TextIOWrapper(io.BytesIO(text.encode()), encoding="utf-8", newline="")  # noqa: E731
    previous = csv.field_size_limit(limit)
    try:
        expected = _check_line_by_line(text, ",")
        with patch.object(sources, "_CHECK_TEXT", piece):
            try:
                sources._check_csv(stream(), ",")
                found = None
            except FileProblem as problem:
                found = str(problem)
    finally:
        csv.field_size_limit(previous)
    assert found == expected
