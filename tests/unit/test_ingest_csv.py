"""Reading dropped CSV files: encodings, delimiters, quoting, line numbers, streaming, without AWS."""

from __future__ import annotations

import pytest

from arcollect.ingest.tabular import FileProblem, read_table, sniff_delimiter


def rows(content: bytes, chunk: int = 0) -> tuple[list[str], list[tuple[int, list[str]]]]:
    chunks = [content[i : i + chunk] for i in range(0, len(content), chunk)] if chunk else [content]
    table = read_table(chunks)
    return table.header.values, [(record.line, record.values) for record in table.records]


def test_a_byte_order_mark_is_not_part_of_the_first_column() -> None:
    # Given a UTF-8 file saved with a BOM (as Excel does)
    header, _ = rows("\ufeffcustomer_id,name\nC-1,Müller\n".encode())
    # Then the first column is named without it
    assert header == ["customer_id", "name"]


@pytest.mark.parametrize(
    ("content", "delimiter"),
    [
        (b"a;b;c\n1;2,5;3\n", ";"),
        (b"a\tb\tc\n1\t2\t3\n", "\t"),
        (b"a|b|c\n1|2|3\n", "|"),
        (b"a,b,c\n1,2,3\n", ","),
        (b'"a;x",b,c\n1,2,3\n', ","),  # a delimiter inside quotes does not count
        (b"single\n1\n", ","),
    ],
)
def test_the_delimiter_is_sniffed_from_the_header(content: bytes, delimiter: str) -> None:
    header_line = content.split(b"\n")[0].decode()
    assert sniff_delimiter(header_line) == delimiter
    assert read_table([content]).delimiter == delimiter


def test_semicolon_and_tab_files_split_into_the_same_fields() -> None:
    _, semicolon = rows(b"a;b\n1;x,y\n")
    _, tab = rows(b"a\tb\n1\tx,y\n")
    assert semicolon == tab == [(2, ["1", "x,y"])]


def test_quoted_fields_keep_commas_quotes_and_line_breaks_and_rows_keep_their_first_line() -> None:
    # Given a description spanning two lines, with a comma and doubled quotes
    content = b'id,description\n1,"Widgets, large\nsecond line ""quoted"""\n2,plain\r\n3,last'
    # When read in tiny chunks (the break falls inside the quoted field)
    _, records = rows(content, chunk=3)
    # Then the fields are intact and the line numbers are where each record starts
    assert records == [
        (2, ["1", 'Widgets, large\nsecond line "quoted"']),
        (4, ["2", "plain"]),
        (5, ["3", "last"]),
    ]


def test_blank_lines_come_through_as_blank_records_with_their_line() -> None:
    table = read_table([b"a,b\n\n1,2\n,\n"])
    records = list(table.records)
    assert [(r.line, r.blank) for r in records] == [(2, True), (3, False), (4, True)]


def test_crlf_line_endings_are_handled() -> None:
    _, records = rows(b"a,b\r\n1,2\r\n3,4\r\n")
    assert records == [(2, ["1", "2"]), (3, ["3", "4"])]


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\n\n  \n"])
def test_an_empty_file_is_a_file_level_problem(content: bytes) -> None:
    with pytest.raises(FileProblem, match="the file is empty"):
        read_table([content])


def test_bytes_that_are_not_utf8_are_reported_with_their_line() -> None:
    # Given Latin-1 bytes on line 3 (a chunk boundary splits the file before them)
    content = b"a,b\n1,ok\n2,M\xfcller\n"
    # When the records are read
    table = read_table([content[:6], content[6:]])
    # Then the problem names the line and asks for UTF-8
    with pytest.raises(FileProblem, match=r"line 3: bytes fc .* are not UTF-8"):
        list(table.records)


def test_a_utf8_character_split_across_chunks_is_fine() -> None:
    content = "name\nMüller\n".encode()
    split = content.index("ü".encode()) + 1  # inside the two-byte character
    table = read_table([content[:split], content[split:]])
    assert [r.values for r in table.records] == [["Müller"]]


def test_utf16_gets_a_hint() -> None:
    with pytest.raises(FileProblem, match="looks like UTF-16"):
        list(read_table(["a,b\n1,2\n".encode("utf-16")]).records)
