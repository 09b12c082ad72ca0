"""Delimited text, streamed: bytes in chunks -> records with the line number each one starts on.

Nothing here holds more than one chunk of the file (plus one record): the ERP's files can be larger
than a function's memory. UTF-8 is checked as the bytes flow, so a bad byte is reported with its line.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final

DELIMITERS: Final = (",", ";", "\t", "|")
_DELIMITER_NAMES: Final = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_READ_BUFFER: Final = 64 * 1024


class FileProblem(ValueError):
    """The file as a whole cannot be read as a table: nothing of it is loaded."""


@dataclass(frozen=True)
class Record:
    """One record of the file: ``line`` is the 1-based line it starts on (the header is line 1)."""

    line: int
    values: list[str]

    @property
    def blank(self) -> bool:
        return not any(value.strip() for value in self.values)


@dataclass(frozen=True)
class Table:
    header: Record
    delimiter: str
    records: Iterator[Record]

    @property
    def delimiter_name(self) -> str:
        return _DELIMITER_NAMES[self.delimiter]


class _Utf8Chunks(io.RawIOBase):
    """A readable stream over byte chunks that fails, naming the line, on bytes that are not UTF-8."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._view = memoryview(b"")
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._lines_before = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._view:
            chunk = next(self._chunks, None)
            if chunk is None:
                self._check(b"", final=True)
                return 0
            self._check(chunk, final=False)
            self._view = memoryview(chunk)
        size = min(len(buffer), len(self._view))
        buffer[:size] = self._view[:size]
        self._view = self._view[size:]
        return size

    def _check(self, chunk: bytes, *, final: bool) -> None:
        try:
            self._decoder.decode(chunk, final)
        except UnicodeDecodeError as error:
            # The decoder's input is its buffered partial character (never a newline) plus this chunk.
            line = self._lines_before + error.object[: error.start].count(b"\n") + 1
            bad = error.object[error.start : error.start + 4].hex(" ")
            hint = (
                " (it looks like UTF-16: save it as UTF-8)"
                if error.object[:2] in {b"\xff\xfe", b"\xfe\xff"}
                else ""
            )
            raise FileProblem(
                f"line {line}: bytes {bad} are not UTF-8; save the file as UTF-8{hint}"
            ) from error
        self._lines_before += chunk.count(b"\n")


def sniff_delimiter(header_line: str) -> str:
    """The delimiter among , ; tab | that occurs most often in the header (outside quotes); ',' if none."""
    unquoted = "".join(part for index, part in enumerate(header_line.split('"')) if index % 2 == 0)
    counts = {delimiter: unquoted.count(delimiter) for delimiter in DELIMITERS}
    best = max(DELIMITERS, key=lambda delimiter: counts[delimiter])  # ties go to the earlier one
    return best if counts[best] else ","


def read_table(chunks: Iterable[bytes]) -> Table:
    """Open a delimited text file: UTF-8 with or without BOM, header first, quoted fields allowed.

    Leading blank lines are passed over; an empty file raises ``FileProblem``. The records are read
    lazily as the caller iterates, so errors in the body surface then (also as ``FileProblem``).
    """
    text = io.TextIOWrapper(
        io.BufferedReader(_Utf8Chunks(chunks), buffer_size=_READ_BUFFER),
        encoding="utf-8-sig",
        newline="",  # keep line breaks as they are: quoted fields may hold them
    )
    lines = iter(text)
    skipped = 0
    for line in lines:
        if line.strip():
            first = line
            break
        skipped += 1
    else:
        raise FileProblem("the file is empty: expected a header row naming the columns")
    delimiter = sniff_delimiter(first)
    reader = csv.reader(itertools.chain([first], lines), delimiter=delimiter, quotechar='"', doublequote=True)
    records = _records(reader, offset=skipped)
    header = next(records)
    return Table(header=header, delimiter=delimiter, records=records)


def _records(reader: Iterator[list[str]], *, offset: int) -> Iterator[Record]:
    consumed = 0
    while True:
        start = offset + consumed + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise FileProblem(f"line {start}: {error}") from error
        consumed = reader.line_num  # type: ignore[attr-defined]
        yield Record(line=start, values=values)
