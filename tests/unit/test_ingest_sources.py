"""Reading dropped files of every format: shapes, encodings, delimiters, line numbers, streaming, no AWS."""

from __future__ import annotations

import codecs
import gzip
import io
import json
import re
import tracemalloc
import zipfile
import zlib
from collections.abc import Generator, Iterator
from datetime import date, datetime

import openpyxl  # type: ignore[import-untyped]
import pytest

from arcollect.ingest.sources import (
    MAX_OBJECT_BYTES,
    FileProblem,
    Opener,
    Record,
    Shape,
    check_object_size,
    inspect,
    read_records,
)

Rows = list[tuple[int, list[str]]]


def gz(data: bytes) -> bytes:
    # A fixed mtime keeps the bytes, and so the parametrize ids, the same on every
    # pytest-xdist worker: workers that collect different ids refuse to run.
    return gzip.compress(data, mtime=0)


def opener(content: bytes, chunk: int = 0) -> Opener:
    def open_bytes() -> list[bytes]:
        if not chunk:
            return [content]
        return [content[i : i + chunk] for i in range(0, len(content), chunk)]

    return open_bytes


def read(content: bytes, chunk: int = 0) -> tuple[Shape, list[Record]]:
    shape = inspect(opener(content, chunk))
    return shape, list(read_records(opener(content, chunk), shape))


def rows(content: bytes, chunk: int = 0) -> Rows:
    _, records = read(content, chunk)
    return [(record.line, record.values) for record in records]


def problem(content: bytes, chunk: int = 0) -> str:
    with pytest.raises(FileProblem) as caught:
        read(content, chunk)
    return str(caught.value)


def xlsx(*sheets: tuple[str, list[list[object]]]) -> bytes:
    workbook = openpyxl.Workbook(write_only=True)
    for title, sheet_rows in sheets:
        sheet = workbook.create_sheet(title)
        for row in sheet_rows:
            sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


INVOICES = "customer_id,name,amount\nC-1,Müller,12.50\nC-2,Ørsted €,3\n"
INVOICE_ROWS: Rows = [
    (1, ["customer_id", "name", "amount"]),
    (2, ["C-1", "Müller", "12.50"]),
    (3, ["C-2", "Ørsted €", "3"]),
]


# --- encodings -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "encoding"),
    [
        (INVOICES.encode(), "utf-8"),
        (codecs.BOM_UTF8 + INVOICES.encode(), "utf-8-sig"),
        (INVOICES.encode("utf-16"), "utf-16"),  # with a byte order mark, little-endian here
        (codecs.BOM_UTF16_LE + INVOICES.encode("utf-16-le"), "utf-16"),
        (codecs.BOM_UTF16_BE + INVOICES.encode("utf-16-be"), "utf-16"),
        (INVOICES.encode("utf-16-le"), "utf-16-le"),  # no byte order mark: told by its NUL bytes
        (INVOICES.encode("utf-16-be"), "utf-16-be"),
    ],
)
def test_unicode_encodings_are_recognised_and_a_byte_order_mark_is_not_part_of_the_first_column(
    content: bytes, encoding: str
) -> None:
    shape, records = read(content)
    assert (shape.format, shape.encoding, shape.delimiter, shape.notes) == ("csv", encoding, ",", ())
    assert [(record.line, record.values) for record in records] == INVOICE_ROWS


def test_windows_1252_is_the_fallback_when_the_file_is_not_utf8_and_the_shape_says_where() -> None:
    # Given a file saved by Excel on Windows, é and € in Windows-1252, the first of them on line 3
    content = "id,name\nC-1,plain\nC-2,Café 5€\n".encode("cp1252")
    # When it is read
    shape, records = read(content)
    # Then it reads as Windows-1252 and the shape notes why, naming the first byte that is not UTF-8
    assert shape.encoding == "cp1252"
    assert shape.notes == ("not UTF-8 (line 3, bytes e9 20): read as Windows-1252",)
    assert records[2].values == ["C-2", "Café 5€"]


def test_latin1_is_the_last_fallback_for_bytes_windows_1252_leaves_undefined() -> None:
    # Given a byte (81) that neither UTF-8 nor Windows-1252 can read, and an é before it
    content = b"id,name\nC-1,Caf\xe9\nC-2,x\x81y\n"
    shape, records = read(content)
    assert shape.encoding == "latin-1"
    assert shape.notes == (
        "not UTF-8 (line 2, bytes e9 0a) nor Windows-1252 (line 3, byte 81): read as Latin-1 (ISO-8859-1)",
    )
    assert [record.values for record in records] == [["id", "name"], ["C-1", "Café"], ["C-2", "x\x81y"]]


def test_a_utf8_sequence_cut_off_at_the_end_of_the_file_is_not_utf8() -> None:
    shape, records = read(b"id\nCaf\xc3")
    assert shape.encoding == "cp1252"
    assert shape.notes == ("not UTF-8 (line 2, bytes c3): read as Windows-1252",)
    assert records[1].values == ["CafÃ"]


def test_a_file_that_says_utf8_by_its_byte_order_mark_must_be_utf8() -> None:
    message = problem(codecs.BOM_UTF8 + b"id,name\nC-1,Caf\xe9\n")
    assert message.startswith("line 2: bytes e9 0a are not UTF-8, though the file starts with a UTF-8 byte")


def test_utf16_that_ends_in_half_a_character_is_a_file_problem() -> None:
    assert problem("id\nC-1\n".encode("utf-16") + b"x").startswith("line 3: bytes 78 are not UTF-16-LE")


# --- delimiters, preambles, quoting, line numbers -------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "delimiter"),
    [
        (b"a;b;c\n1;2,5;3\n", ";"),
        (b"a\tb\tc\n1\t2\t3\n", "\t"),
        (b"a|b|c\n1|2|3\n", "|"),
        (b"a,b,c\n1,2,3\n", ","),
        (b'"a;x",b,c\n1,2,3\n', ","),  # a delimiter inside quotes does not count
        (b"single\n1\n", ","),  # none: comma
        (b"a;b,c\n", ","),  # a tie goes to the earlier in , ; tab |
        # Decimal commas as many as the semicolons: a comma between digits is not a delimiter.
        (b"Kunde;Aktuell;1-30\nM\xc3\xbcller GmbH;1.234,50;0,00\n", ";"),
        # A quoted field spanning lines hides its delimiters on every line.
        (b'id;note\n1;"a,b,\nc,d,e,f"\n', ";"),
    ],
)
def test_the_delimiter_is_sniffed_from_the_first_lines(content: bytes, delimiter: str) -> None:
    assert inspect(opener(content)).delimiter == delimiter


def test_semicolon_tab_and_pipe_files_split_into_the_same_fields() -> None:
    expected = [(1, ["a", "b", "c"]), (2, ["1", "x,y", "z"])]
    assert rows(b"a;b;c\n1;x,y;z\n") == rows(b"a\tb\tc\n1\tx,y\tz\n") == rows(b"a|b|c\n1|x,y|z\n") == expected


def test_a_report_preamble_is_read_as_records_and_does_not_decide_the_delimiter() -> None:
    # Given an accounting package's report: a title, a subtitle, a quoted date with a comma, a blank line
    content = (
        b"Craig's Design and Landscaping Services\n"
        b"A/R Aging Detail\n"
        b'"As of November 2, 2026"\n'
        b"\n"
        b"Date;Transaction Type;Num;Customer;Amount\n"
        b"10/01/2026;Invoice;1037;Sonnenschein Family Store;362,07\n"
    )
    # When it is read
    shape, records = read(content)
    # Then the header's delimiter wins and every line comes through, the preamble included
    assert shape.delimiter == ";"
    assert [(record.line, record.values, record.blank) for record in records] == [
        (1, ["Craig's Design and Landscaping Services"], False),
        (2, ["A/R Aging Detail"], False),
        (3, ["As of November 2, 2026"], False),
        (4, [], True),
        (5, ["Date", "Transaction Type", "Num", "Customer", "Amount"], False),
        (6, ["10/01/2026", "Invoice", "1037", "Sonnenschein Family Store", "362,07"], False),
    ]


def test_quoted_fields_keep_delimiters_quotes_and_line_breaks_and_records_keep_their_first_line() -> None:
    # Given a description spanning two lines, with a comma and doubled quotes
    content = b'id,description\n1,"Widgets, large\nsecond line ""quoted"""\n2,plain\r\n3,"a\r\nb\rc"\n4,last'
    # When read in tiny chunks (breaks fall inside quoted fields)
    records = rows(content, chunk=3)
    # Then the fields are intact and the line numbers are where each record starts
    assert records == [
        (1, ["id", "description"]),
        (2, ["1", 'Widgets, large\nsecond line "quoted"']),
        (4, ["2", "plain"]),
        (5, ["3", "a\r\nb\rc"]),
        (8, ["4", "last"]),
    ]


def test_blank_lines_come_through_as_blank_records_with_their_line() -> None:
    _, records = read(b"\na,b\n\n1,2\n,\n  \n")
    assert [(record.line, record.blank) for record in records] == [
        (1, True),
        (2, False),
        (3, True),
        (4, False),
        (5, True),
        (6, True),
    ]


@pytest.mark.parametrize("content", [b"a,b\r\n1,2\r\n3,4\r\n", b"a,b\r1,2\r3,4", b"a,b\n1,2\n3,4"])
def test_every_line_ending_is_handled(content: bytes) -> None:
    assert rows(content) == [(1, ["a", "b"]), (2, ["1", "2"]), (3, ["3", "4"])]


def test_a_quote_left_open_is_a_file_problem_naming_the_line_it_opens_on() -> None:
    assert problem(b'id,note\n1,ok\n2,"never closed\n3,x\n') == (
        "line 3: a quoted field opened here is never closed (the file ends inside it)"
    )


def test_text_after_a_closing_quote_is_a_file_problem_naming_its_line() -> None:
    assert problem(b'id,note\n1,"two\nlines"x\n') == (
        "line 3 (in the record from line 2): ',' expected after '\"'"
    )


def test_a_nul_byte_in_a_text_file_is_a_file_problem_naming_its_line() -> None:
    content = b"id,note\n" + b"1,ok\n" * 200 + b"2,bro\x00ken\n"
    assert problem(content) == "line 202: a NUL byte (00): binary data, not text"


# --- JSON Lines ----------------------------------------------------------------------------------------


def test_json_lines_read_with_a_header_record_from_the_first_objects_keys() -> None:
    # Given objects with exact decimals, booleans, nulls, a missing key and blank lines
    content = (
        b'{"customer_id": "C-1", "amount": 12.50, "paid": false, "note": null}\n'
        b"\n"
        b'{"amount": 1e3, "customer_id": "C-2", "paid": true}\r\n'
        b'  {"customer_id": "C-3", "amount": 7, "paid": false, "note": "M\\u00fcller"}  \n'
    )
    shape, records = read(content)
    assert (shape.format, shape.encoding, shape.delimiter) == ("jsonl", "utf-8", None)
    assert [(record.line, record.values, record.problem) for record in records] == [
        (0, ["customer_id", "amount", "paid", "note"], None),
        (1, ["C-1", "12.50", "no", ""], None),
        (2, [], None),
        (3, ["C-2", "1e3", "yes", ""], None),
        (4, ["C-3", "7", "no", "Müller"], None),
    ]
    assert records[2].blank


def test_json_lines_problems_are_the_records_not_the_files() -> None:
    content = (
        b'{"id": "1", "amount": "5"}\n'
        b'{"id": "2", "amount": {"value": 5}}\n'
        b'{"id": "3", "amount": [5], "extra": 1, "more": 2}\n'
        b'{"id": "4", "amount": "5",\n'
        b'["an", "array"]\n'
        b'{"id": "6", "amount": NaN}\n'
        b'{"id": "7", "amount": "5"}\n'
    )
    _, records = read(content)
    assert records[0].values == ["id", "amount", "extra", "more"]  # every key of every object
    assert [(record.line, record.values, record.problem) for record in records[1:]] == [
        (1, ["1", "5", "", ""], None),
        (2, ["2", "", "", ""], "field 'amount' holds a nested object, not a value"),
        (3, ["3", "", "1", "2"], "field 'amount' holds a nested array, not a value"),
        (4, [], "not a JSON object: Expecting property name enclosed in double quotes at column 28"),
        (5, [], "not a JSON object: a JSON array"),
        (6, [], "not a JSON object: NaN is not a JSON value"),
        (7, ["7", "5", "", ""], None),
    ]
    assert not any(record.blank for record in records[2:7])


def test_keys_missing_from_the_first_record_are_fields_too() -> None:
    # JSON writers leave out null fields: the later records' keys are fields all the same.
    shape, records = read(b'{"a": "1", "b": "2"}\n{"a": "1", "x": "2"}\n')
    assert shape.fields == ("a", "b", "x")
    assert [r.values for r in records] == [["a", "b", "x"], ["1", "2", ""], ["1", "", "2"]]
    assert records[2].problem is None


def test_blank_lines_before_the_first_object_follow_the_header_record() -> None:
    assert rows(b'\n  \n{"a": "1"}\n') == [(0, ["a"]), (1, []), (2, []), (3, ["1"])]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"a": 1\n{"a": 2}\n', "line 1: not a JSON object: Expecting ',' delimiter at column 9"),
        (b'\n{"a": 1} trailing\n', "line 2: not a JSON object: Extra data at column 10"),
        (b"{}\n", "line 1: the first record is {}: it names no fields"),
    ],
)
def test_a_first_record_that_cannot_name_the_fields_is_a_file_problem(content: bytes, message: str) -> None:
    assert problem(content).startswith(message)


def test_json_lines_in_utf16_and_windows_1252_are_read_too() -> None:
    text = '{"name": "Müller €"}\n{"name": "x"}\n'
    for content, encoding in [(text.encode("utf-16"), "utf-16"), (text.encode("cp1252"), "cp1252")]:
        shape, records = read(content)
        assert (shape.format, shape.encoding) == ("jsonl", encoding)
        assert [record.values for record in records] == [["name"], ["Müller €"], ["x"]]


# --- XLSX ----------------------------------------------------------------------------------------------


def test_xlsx_cells_become_the_text_a_csv_export_would_hold_and_rows_keep_their_number() -> None:
    # Given a workbook with a preamble, an empty row, dates, times, floats, ints, booleans, empty cells
    content = xlsx(
        (
            "Open items",
            [
                ["Open items as of", date(2026, 11, 2)],
                [],
                ["customer_id", "due", "amount", "count", "note", "booked", "paid"],
                ["C-1", datetime(2026, 11, 2), 12.0, 7, None, datetime(2026, 11, 2, 14, 30, 5), True],
                ["C-2", date(2026, 1, 5), 1234.5, 3.0, "ok", None, False],
                ["C-3", None, 0.375, 1e-7, None, None, None],
                ["C-4", None, 1e20, -2.5, None, None, None],
            ],
        ),
        ("Second", [["ignored"]]),
    )
    # When it is read
    shape, records = read(content)
    # Then the first worksheet's cells are normalised text, trailing empty cells trimmed
    assert shape == Shape(
        "xlsx",
        sheet="Open items",
        typed_cells=True,
        notes=("the workbook has 2 worksheets: read the first, 'Open items'",),
    )
    assert [(record.line, record.values) for record in records] == [
        (1, ["Open items as of", "2026-11-02"]),
        (2, []),
        (3, ["customer_id", "due", "amount", "count", "note", "booked", "paid"]),
        (4, ["C-1", "2026-11-02", "12", "7", "", "2026-11-02T14:30:05", "yes"]),
        (5, ["C-2", "2026-01-05", "1234.5", "3", "ok", "", "no"]),
        (6, ["C-3", "", "0.375", "0.0000001"]),
        (7, ["C-4", "", "100000000000000000000", "-2.5"]),
    ]
    assert records[1].blank


def test_xlsx_numbers_are_read_to_excels_15_significant_digits() -> None:
    # Given computed cells carrying a formula's float noise, and values that use all 15 digits
    content = xlsx(
        (
            "Open items",
            [
                ["invoice_number", "amount"],
                ["FA/2026/1", 119.00000000000001],
                ["FA/2026/2", 0.1 + 0.2],
                ["FA/2026/3", 1234567.89012345],
                ["FA/2026/4", 100.1 * 3],
            ],
        )
    )
    # When it is read, then each is the number Excel shows, not the float's last binary digits
    _, records = read(content)
    assert [record.values[1] for record in records[1:]] == ["119", "0.3", "1234567.89012345", "300.3"]


def test_xlsx_rows_missing_from_the_sheet_and_a_wrong_dimension_keep_the_row_numbers() -> None:
    # Given a sheet whose XML skips rows 2-4, and whose <dimension> claims A1:A1
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Data"
    sheet["A1"] = "id"
    sheet["C5"] = 3
    out = io.BytesIO()
    workbook.save(out)
    archive_in = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    patched = io.BytesIO()
    with zipfile.ZipFile(patched, "w") as archive_out:
        for item in archive_in.infolist():
            data = archive_in.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data, replaced = re.subn(rb'<dimension ref="A1:C5"\s*/>', b'<dimension ref="A1"/>', data)
                assert replaced == 1
            archive_out.writestr(item, data)
    # When it is read
    records = rows(patched.getvalue())
    # Then row 5 is row 5, whole
    assert records == [(1, ["id"]), (2, []), (3, []), (4, []), (5, ["", "", "3"])]


def test_a_workbook_without_values_is_empty() -> None:
    assert problem(xlsx(("Empty", [[], [None, None]]))) == (
        "the file is empty: the worksheet 'Empty' holds no values"
    )


def test_a_zip_archive_that_is_not_a_workbook_is_a_file_problem() -> None:
    plain = io.BytesIO()
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("invoices.csv", "a,b\n1,2\n")
    document = io.BytesIO()
    with zipfile.ZipFile(document, "w") as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("word/document.xml", "<document/>")
    assert problem(plain.getvalue()) == "a zip archive that is not an XLSX workbook"
    assert problem(document.getvalue()).startswith("a zip archive that is not an XLSX workbook")


def test_a_truncated_workbook_is_a_file_problem() -> None:
    content = xlsx(("S", [["a"], ["b"]]))
    assert problem(content[: len(content) // 2]).startswith("the XLSX workbook is damaged")


# --- gzip ----------------------------------------------------------------------------------------------


GZIP_SAMPLES = [
    INVOICES.encode(),
    INVOICES.encode("utf-16"),
    INVOICES.encode("cp1252"),
    b'{"a": "1"}\n{"a": "2"}\n',
    xlsx(("S", [["a", 1.5], ["b", date(2026, 1, 2)]])),
]


@pytest.mark.parametrize("content", GZIP_SAMPLES)
def test_gzip_of_each_format_reads_as_the_format_itself(content: bytes) -> None:
    plain_shape, plain_records = read(content)
    shape, records = read(gz(content), chunk=5)
    assert shape.compression == "gzip"
    assert shape.describe() == {**plain_shape.describe(), "compression": "gzip"}
    assert records == plain_records


def test_concatenated_gzip_members_and_zero_padding_are_read_as_one_stream() -> None:
    content = gz(b"a,b\n1,") + gz(b"2\n3,4\n") + b"\x00" * 9
    assert rows(content, chunk=1) == rows(content) == [(1, ["a", "b"]), (2, ["1", "2"]), (3, ["3", "4"])]


def test_a_truncated_gzip_stream_is_a_file_problem() -> None:
    content = gz(INVOICES.encode() * 50)
    for chunk in (0, 1, 100):
        assert problem(content[:-12], chunk).startswith(
            f"the gzip stream is truncated: it ends after {len(content) - 12} bytes"
        )


def test_corrupt_gzip_and_data_after_the_gzip_stream_are_file_problems() -> None:
    content = bytearray(gz(INVOICES.encode() * 50))
    content[20:30] = b"\xff" * 10
    assert problem(bytes(content)).startswith("the gzip stream is corrupt: Error -3 while decompressing")
    assert problem(gz(b"a,b\n") + b"junk") == (
        "the gzip stream is followed by data that is not gzip (nor zero padding)"
    )


def test_large_gzip_members_inflate_in_bounded_pieces_without_losing_bytes() -> None:
    # Highly compressible: one small chunk inflates far beyond the piece size.
    content = b"id,note\n" + b"1,xxxxxxxxxx\n" * 300_000 + b"2,y\n"
    shape, records = read(gz(content))
    assert shape.compression == "gzip"
    assert len(records) == 300_002
    assert (records[-1].line, records[-1].values) == (300_002, ["2", "y"])


# --- empty, unknown and binary -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty: it holds no data"),
        (b"\n\n  \r\n\t\n", "the file is empty: it holds only blank lines and spaces"),
        (codecs.BOM_UTF8, "the file is empty: it holds only blank lines and spaces"),
        (codecs.BOM_UTF16_LE + " \n".encode("utf-16-le"), "the file is empty: it holds only blank"),
        (gz(b""), "the file is empty: the gzip stream inflates to nothing"),
        (gz(b"  \n"), "the file is empty: it holds only blank lines and spaces"),
    ],
)
def test_an_empty_file_is_a_file_problem(content: bytes, message: str) -> None:
    assert problem(content).startswith(message)


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (bytes(range(256)) * 4, "binary data (it starts with bytes 00 01 02 03 04 05 06 07)"),
        (b"\x00" * 1000, "binary data"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "a PDF document"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "a PNG image"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "an old-style Excel .xls workbook"),
        (b"<html><body><table><tr><td>1</td></tr></table>", "an HTML or XML document"),
        (b'[{"a": 1}, {"a": 2}]', "a JSON array, not JSON Lines"),
        (gz(gz(b"a,b\n")), "gzip-compressed data inside the gzip stream"),
    ],
)
def test_other_formats_are_unknown(content: bytes, what: str) -> None:
    message = problem(content)
    assert message.startswith(f"unknown format: {what}")
    assert message.endswith("expected CSV, XLSX or JSON Lines (optionally gzip-compressed)")


# --- chunking, streaming, the shape ------------------------------------------------------------------


CHUNKING_SAMPLES = [
    INVOICES.encode(),
    codecs.BOM_UTF8 + b'id;note\r\n1;"a\r\nb"\r\n\r\n2;"x;""y"""\r\n',
    INVOICES.encode("utf-16"),
    INVOICES.encode("utf-16-be"),
    "id,name\nC-1,Café 5€\n".encode("cp1252"),
    b"id,name\nC-1,Caf\xe9\nC-2,x\x81y\n",
    ("id\n" + "Müller\n" * 10).encode(),
    b'{"a": "M\xc3\xbcller", "b": 1.50}\n\n{"a": "x", "c": [1]}\nnope\n',
    gz(b"a|b\n1|2\n") + gz(b"3|4\n"),
    xlsx(("S", [["a", 1.5], [], ["b", date(2026, 1, 2)]])),
    # and failures, whose messages must not depend on the chunking either
    b'id,note\n1,"never closed\n',
    b"id\n1\n" + b"2\x00\n",
    codecs.BOM_UTF8 + b"id\nCaf\xe9\n",
    gz(INVOICES.encode())[:-3],
    b"",
    b"%PDF-1.4",
]


def _outcome(content: bytes, chunk: int) -> object:
    try:
        return read(content, chunk)
    except FileProblem as error:
        return str(error)


@pytest.mark.parametrize("content", CHUNKING_SAMPLES)
def test_chunk_boundaries_anywhere_give_the_same_result(content: bytes) -> None:
    whole = _outcome(content, 0)
    for chunk in (1, 2, 3, 7, 64):
        assert _outcome(content, chunk) == whole, chunk


def test_records_stream_without_reading_ahead() -> None:
    # Given an endless CSV in 64 KiB chunks, counted as they are pulled
    pulled = 0

    def endless() -> Iterator[bytes]:
        nonlocal pulled
        block = b"C-1,Widget,12.50\n" * 4000
        yield b"id,name,amount\n"
        while True:
            pulled += 1
            yield block

    shape = Shape("csv", encoding="utf-8", delimiter=",")
    # When a few records are read
    records = read_records(endless, shape)
    first = [next(records) for _ in range(5)]
    # Then only the first chunk or two were pulled
    assert [record.line for record in first] == [1, 2, 3, 4, 5]
    assert pulled <= 2
    assert isinstance(records, Generator)
    records.close()


@pytest.mark.parametrize("compress", [False, True])
def test_a_large_file_is_inspected_and_read_in_bounded_memory(compress: bool) -> None:
    # Given ~4.5 MB of CSV, produced lazily in 1 MiB chunks (gzip-compressed in one case)
    block = "".join(f"C-{i},INV-{i},2026-11-02,{i}.50,EUR,Müller\n" for i in range(25_000)).encode()

    def chunks() -> Iterator[bytes]:
        yield b"customer_id,invoice,due,amount,currency,name\n"
        for _ in range(4):
            yield block

    def gzipped() -> Iterator[bytes]:
        compressor = gzip.GzipFile(fileobj=(out := io.BytesIO()), mode="wb")
        for chunk in chunks():
            compressor.write(chunk)
            yield out.getvalue()
            out.seek(0)
            out.truncate()
        compressor.close()
        yield out.getvalue()

    source = gzipped if compress else chunks
    # When it is inspected and read, keeping nothing
    tracemalloc.start()
    try:
        shape = inspect(source)
        count = sum(1 for _ in read_records(source, shape))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Then memory stayed near a chunk, not the file
    assert count == 1 + 4 * 25_000
    assert peak < 6 * 1024 * 1024, peak


def test_the_opened_stream_is_closed_when_reading_stops_early() -> None:
    closed: list[bool] = []

    def body() -> Iterator[bytes]:
        try:
            yield b"a,b\n1,2\n3,4\n"
        finally:
            closed.append(True)

    shape = inspect(body)
    records = read_records(body, shape)
    next(records)
    assert isinstance(records, Generator)
    records.close()
    assert closed == [True, True]


def test_the_shape_describes_itself_as_json() -> None:
    shape, _ = read(gz("a;b\n1;é\n".encode("cp1252")))
    description = shape.describe()
    assert json.loads(json.dumps(description)) == {
        "format": "csv",
        "compression": "gzip",
        "encoding": "cp1252",
        "delimiter": "semicolon",
        "sheet": None,
        "typed_cells": False,
        "notes": ["not UTF-8 (line 2, bytes e9 0a): read as Windows-1252"],
    }
    assert Shape("csv", delimiter="\t").describe()["delimiter"] == "tab"


def test_a_record_with_a_problem_is_not_blank() -> None:
    assert Record(3, []).blank
    assert Record(3, ["", " "]).blank
    assert not Record(3, [], "not a JSON object: a JSON array").blank
    assert not Record(3, ["", "x"]).blank


# --- limits: no upload can exhaust the function ---------------------------------------------------------


def streamed_gzip(head: bytes, repeated: bytes, times: int) -> bytes:
    """A gzip of ``head`` and ``repeated`` written ``times`` times, made without holding it inflated."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [compressor.compress(head)]
    parts += [compressor.compress(repeated) for _ in range(times)]
    parts.append(compressor.flush())
    return b"".join(parts)


def test_a_gzip_of_one_huge_line_is_refused_before_it_fills_the_memory() -> None:
    # 300 MiB of one line inflate from a few hundred KiB: the reader would hold the line whole
    bomb = streamed_gzip(b"customer_id,invoice_number\n", b"a" * 1024**2, 300)
    assert len(bomb) < 1024**2
    tracemalloc.start()
    try:
        reason = problem(bomb, chunk=64 * 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert reason.startswith("line 2 is longer than 1 MiB")
    assert peak < 32 * 1024**2


def test_a_gzip_that_inflates_a_thousandfold_is_refused() -> None:
    bomb = streamed_gzip(b"customer_id,invoice_number\n", b"C-1,INV-1\n" * 100_000, 200)
    reason = problem(bomb, chunk=64 * 1024)
    assert "inflates more than 100 times" in reason and "compression bomb" in reason


def test_an_ordinary_gzip_export_is_far_inside_the_limits() -> None:
    lines = b"".join(f"C-{n % 97},INV/2026/{n:06d},{n % 1000}.50\n".encode() for n in range(200_000))
    shape, records = read(gz(b"customer_id,invoice_number,amount\n" + lines), chunk=1024**2)
    assert shape.compression == "gzip" and len(records) == 200_001


def test_a_workbook_whose_shared_strings_explode_is_refused_before_it_is_opened() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/sharedStrings.xml", "w") as part:
            part.write(b"<sst>")
            for _ in range(40):
                part.write(b"<si><t>" + b"x" * 1024**2 + b"</t></si>")
            part.write(b"</sst>")
    reason = problem(buffer.getvalue())
    assert "xl/sharedStrings.xml inflates more than 100 times" in reason


def test_an_upload_over_the_size_limit_is_refused_before_it_is_read() -> None:
    check_object_size(MAX_OBJECT_BYTES)
    with pytest.raises(FileProblem) as caught:
        check_object_size(MAX_OBJECT_BYTES + 1)
    assert "more than the 2,048 MiB a file may be" in str(caught.value)
