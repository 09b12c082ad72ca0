"""Every file an ERP drops, streamed: bytes in chunks -> the file's shape -> records with their line.

ERPs export CSV in whatever encoding and delimiter their locale uses, Excel workbooks and JSON Lines,
sometimes gzip-compressed, and the file name says little about which. So the format, compression,
encoding and delimiter are read from the content: ``inspect`` reads the whole file once and either
describes it (a ``Shape``) or raises ``FileProblem`` for what stops the file as a whole; ``read_records``
then streams every record, preamble and header included, because finding the header is the mapping
layer's job, not the reader's.

Text formats never hold more than one chunk of the file (plus one record): the files can be larger
than a function's memory. An XLSX workbook is a zip archive, which can only be read by seeking, so it
is spooled to a temporary file first (Lambda has /tmp).
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import re
import tempfile
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import IO, Any, Final, NamedTuple, TypeAlias

DELIMITERS: Final = (",", ";", "\t", "|")
DELIMITER_NAMES: Final = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
EXPECTED: Final = "expected CSV, XLSX or JSON Lines (optionally gzip-compressed)"

# Enough of the start of the content to tell the format, the encoding and the delimiter.
_HEAD_BYTES: Final = 64 * 1024
_UTF16_PROBE_BYTES: Final = 4096
_SNIFF_LINES: Final = 20
_READ_BUFFER: Final = 64 * 1024
# A gzip stream can expand a thousandfold: inflate it in bounded pieces, never a chunk at a time.
_GUNZIP_PIECE: Final = 256 * 1024
_CHECK_PIECE: Final = 256 * 1024
_GZIP_WBITS: Final = 31  # zlib with a gzip header and trailer
_GZIP_TRAILER: Final = "the gzip stream is followed by data that is not gzip (nor zero padding)"
# Small workbooks stay in memory, large ones go to /tmp.
_SPOOL_IN_MEMORY: Final = 8 * 1024 * 1024

# Limits checked before (and while) a file is parsed: past one the file is refused whole, with the
# limit named, instead of a small upload exhausting the function (a gzip of one 3 GB line inflates
# into memory; a workbook's shared strings inflate whole when it opens) and its healthy neighbours in
# the batch going to the dead-letter queue with it. An ERP export is far inside each: the 266k-row SAP
# extract is 60 MB of text, ten to twenty times its gzip.
MAX_OBJECT_BYTES: Final = 2 * 1024**3  # as uploaded (compressed or not)
MAX_CONTENT_BYTES: Final = 8 * 1024**3  # the text or workbook once inflated
MAX_LINE_BYTES: Final = 1024**2  # one physical line of a text file
# A compressed stream or workbook member this many times smaller than what it inflates to is a bomb,
# not an export (past the first few MiB: small files of repeated rows may compress far better).
MAX_INFLATION_RATIO: Final = 100
_RATIO_CHECKED_FROM: Final = 8 * 1024**2
MAX_XLSX_MEMBER_BYTES: Final = 1024**3  # one part of a workbook (a worksheet, the shared strings)

_GZIP_MAGIC: Final = b"\x1f\x8b"
_ZIP_MAGIC: Final = b"PK\x03\x04"
_OTHER_ZIP_MAGICS: Final = (b"PK\x05\x06", b"PK\x07\x08")  # an empty or a spanned zip archive
_UTF8_BOM: Final = codecs.BOM_UTF8
_BINARY_MAGICS: Final = (
    (b"%PDF-", "a PDF document"),
    (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        "an old-style Excel .xls workbook or a password-protected one (save it as XLSX without a password)",
    ),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"BZh", "bzip2-compressed data (only gzip compression is read)"),
    (b"\xfd7zXZ\x00", "xz-compressed data (only gzip compression is read)"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed data (only gzip compression is read)"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (_GZIP_MAGIC, "gzip-compressed data inside the gzip stream (compressed twice)"),
)
# Bytes no text file holds (tab, line breaks, form feed, vertical tab and the DOS end-of-file mark
# are text). A text file may hold a stray one; a binary file holds many.
_CONTROL_BYTES: Final = re.compile(rb"[\x00-\x08\x0e-\x19\x1b-\x1f\x7f]")
_CONTROL_CHARS: Final = re.compile(r"[\x00-\x08\x0e-\x19\x1b-\x1f\x7f\ufffd]")
_CONTROL_PERCENT: Final = 1
# The five bytes Windows-1252 leaves undefined: a file holding one of them is not Windows-1252.
_CP1252_UNDEFINED: Final = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")
_ASCII_SPACE: Final = " \t\r\n\f\v"
# A comma between digits is a decimal comma ("1234,50"), not a delimiter: in a semicolon file of amounts
# the decimal commas can be as many as the semicolons on a line.
_DECIMAL_COMMA: Final = re.compile(r"(?<=\d),(?=\d)")
_MARKUP: Final = re.compile(r"<(\?xml|!doctype\s+html|html|table)\b", re.IGNORECASE)
_JSON_ARRAY: Final = re.compile(r"\[\s*[{\]]")
_ENCODING_NAMES: Final = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8",
    "utf-16": "UTF-16",
    "utf-16-le": "UTF-16-LE",
    "utf-16-be": "UTF-16-BE",
    "cp1252": "Windows-1252",
    "latin-1": "Latin-1 (ISO-8859-1)",
}

Opener: TypeAlias = Callable[[], Iterable[bytes]]


class FileProblem(ValueError):
    """The file as a whole cannot be read: nothing of it is loaded. The message says what and where."""


class Record(NamedTuple):
    """One record of the file: ``line`` is the 1-based line (or spreadsheet row) it starts on. A named
    tuple: the CSV loop makes one per row at C speed, and a row costs no more than csv takes to parse it
    (the ingest must keep up with csv.DictReader)."""

    line: int
    values: list[str]
    problem: str | None = None  # why the reader could not read this record; the rest of the file is fine

    @property
    def blank(self) -> bool:
        # One join and one strip in C rather than a strip per cell.
        return self.problem is None and not "".join(self.values).strip()


@dataclass(frozen=True)
class Shape:
    """What ``inspect`` found the file to be: enough for ``read_records`` to read it without guessing."""

    format: str  # "csv" | "xlsx" | "jsonl"
    compression: str | None = None  # "gzip" or None
    encoding: str | None = None  # text formats: the codec name Python reads it with
    delimiter: str | None = None  # csv only
    sheet: str | None = None  # xlsx: the worksheet title
    typed_cells: bool = False  # xlsx: numbers and dates are already normalised ('.' decimals, ISO dates)
    notes: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()  # jsonl: every key of every object, in order of first appearance

    def describe(self) -> dict[str, object]:
        """The shape for the results summary: JSON-able, every key always present."""
        return {
            "format": self.format,
            "compression": self.compression,
            "encoding": self.encoding,
            "delimiter": DELIMITER_NAMES.get(self.delimiter, self.delimiter) if self.delimiter else None,
            "sheet": self.sheet,
            "typed_cells": self.typed_cells,
            "notes": list(self.notes),
        }


def _mib(size: int) -> str:
    return f"{size / 1024**2:,.0f} MiB"


def check_object_size(size: int) -> None:
    """``FileProblem`` for an upload larger than ``MAX_OBJECT_BYTES`` (checked before reading it)."""
    if size > MAX_OBJECT_BYTES:
        raise FileProblem(
            f"the file is {_mib(size)}, more than the {_mib(MAX_OBJECT_BYTES)} a file may be: "
            "split the export (by company code or period) or compress it with gzip"
        )


def inspect(open_bytes: Opener) -> Shape:
    """Read the whole stream once and decide its shape; raise ``FileProblem`` for what stops the file.

    Memory stays bounded (about a chunk, plus the first 64 KiB that decide the format), except that an
    XLSX workbook is spooled to a temporary file. For CSV the csv parser runs over the whole text, so
    structural errors surface here with their line; for JSON Lines only the first record is parsed
    (it names the fields), the others' problems are row-level and left to ``read_records``.
    """
    with _closing(open_bytes()) as source:
        compression, content = _content(source, None)
        probe, stream = _probe(content)
        if not probe:
            raise FileProblem(_empty(compression))
        if probe.startswith(_ZIP_MAGIC):
            return _inspect_xlsx(stream, compression)
        if probe.startswith(_OTHER_ZIP_MAGICS):
            raise FileProblem("a zip archive that is not an XLSX workbook (it holds no files)")
        for magic, what in _BINARY_MAGICS:
            if probe.startswith(magic):
                raise FileProblem(f"unknown format: {what}; {EXPECTED}")
        text = _TextEncoding.of(probe)
        return _inspect_text(text, probe[text.bom :], _skip(_bounded_lines(stream), text.bom), compression)


def read_records(open_bytes: Opener, shape: Shape) -> Iterator[Record]:
    """Every record of the file in order, header and preamble included; streaming for text formats.

    ``shape`` is what ``inspect`` returned for the same bytes. CSV and XLSX records carry their physical
    line or row; blank lines come through as blank records so the caller can count them. JSON Lines
    start with a synthetic header record (line 0): the keys of the first object.
    """
    with _closing(open_bytes()) as source:
        _, content = _content(source, shape.compression)
        if shape.format == "xlsx":
            yield from _xlsx_records(content)
            return
        if shape.encoding is None:
            raise ValueError(f"a {shape.format} shape needs an encoding")
        text = _text_stream(_bounded_lines(content), shape.encoding)
        try:
            if shape.format == "csv":
                yield from _csv_records(text, shape.delimiter or ",")
            elif shape.format == "jsonl":
                yield from _jsonl_records(text, shape.fields)
            else:
                raise ValueError(f"unknown format {shape.format!r}")
        except UnicodeDecodeError as error:  # only when the shape is not the one inspect gave these bytes
            raise FileProblem(f"the text is not {shape.encoding} as inspected: {error}") from error


def read_blocks(open_bytes: Opener, shape: Shape, size: int) -> Iterator[list[Record]]:
    """``read_records`` in blocks of up to ``size`` records, the same records in the same order. CSV
    blocks are read at C speed: a block's records are numbered from their count when no record spans
    lines (csv's line count says so), else from the line breaks inside their fields."""
    if shape.format != "csv":
        records = read_records(open_bytes, shape)
        while block := list(itertools.islice(records, size)):
            yield block
        return
    if shape.encoding is None:
        raise ValueError("a csv shape needs an encoding")
    with _closing(open_bytes()) as source:
        _, content = _content(source, shape.compression)
        reader = _csv_reader(_text_stream(_bounded_lines(content), shape.encoding), shape.delimiter or ",")
        start = 1
        try:
            while rows := list(itertools.islice(reader, size)):
                end = reader.line_num
                lines: Iterable[int] = (
                    range(start, end + 1) if end - start + 1 == len(rows) else _record_lines(rows, start)
                )
                yield list(
                    map(_new_record, itertools.repeat(Record), zip(lines, rows, itertools.repeat(None)))
                )
                start = end + 1
        except csv.Error as error:
            raise _csv_problem(error, start, reader.line_num) from error
        except UnicodeDecodeError as error:
            raise FileProblem(f"the text is not {shape.encoding} as inspected: {error}") from error


def _record_lines(rows: list[list[str]], start: int) -> list[int]:
    """The line each record starts on, from the line breaks quoted fields hold (\r\n, \r or \n)."""
    lines = []
    line = start
    for values in rows:
        lines.append(line)
        line += 1 + sum(value.count("\n") + value.count("\r") - value.count("\r\n") for value in values)
    return lines


# --- bytes: the source, gzip, the head --------------------------------------------------------------


@contextmanager
def _closing(source: Iterable[bytes]) -> Iterator[Iterable[bytes]]:
    # An S3 body left half-read keeps its connection: close what the opener gave when we stop early.
    try:
        yield source
    finally:
        close = getattr(source, "close", None)
        if callable(close):
            close()


def _content(source: Iterable[bytes], compression: str | None) -> tuple[str | None, Iterator[bytes]]:
    """The content's bytes, inflated when gzip: from the magic, or from the shape when it is known."""
    head, rest = _split_head(source, len(_GZIP_MAGIC))
    stream = _prepend(head, rest)
    gzip = head.startswith(_GZIP_MAGIC) if compression is None else compression == "gzip"
    if not gzip:
        return None, _bounded_size(stream)
    counted = _Counted(stream)
    return "gzip", _bounded_size(_gunzip(counted), counted)


class _Counted:
    """The compressed bytes read so far (what an inflated size is compared with)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self.seen = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            self.seen += len(chunk)
            yield chunk


def _bounded_size(chunks: Iterable[bytes], compressed: _Counted | None = None) -> Iterator[bytes]:
    """The content, refused past ``MAX_CONTENT_BYTES`` or, inflated, past ``MAX_INFLATION_RATIO``
    times its compressed size."""
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > MAX_CONTENT_BYTES:
            raise FileProblem(f"the content is more than {_mib(MAX_CONTENT_BYTES)}: split the export")
        if (
            compressed is not None
            and total > _RATIO_CHECKED_FROM
            and total > MAX_INFLATION_RATIO * compressed.seen
        ):
            raise FileProblem(
                f"the gzip stream inflates more than {MAX_INFLATION_RATIO} times ({_mib(compressed.seen)} "
                f"to over {_mib(total)}): not an export (a compression bomb?)"
            )
        yield chunk


def _bounded_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The text's bytes, refused when one physical line is longer than ``MAX_LINE_BYTES`` (the reader
    holds a line whole). A line break is a 0x0A byte in every encoding read here (UTF-16's too)."""
    since = 0  # bytes since the last line break
    breaks = 0
    for chunk in chunks:
        last = chunk.rfind(b"\n")
        if last < 0:
            since += len(chunk)
        else:
            # The part before this chunk's first break belongs to the line running into it.
            first = chunk.find(b"\n")
            if since + first > MAX_LINE_BYTES:
                _line_too_long(breaks + 1)
            breaks += chunk.count(b"\n")
            since = len(chunk) - last - 1
        if since > MAX_LINE_BYTES:
            _line_too_long(breaks + 1)
        yield chunk


def _line_too_long(line: int) -> None:
    raise FileProblem(
        f"line {line} is longer than {_mib(MAX_LINE_BYTES)}: no export row is; is a quote left unclosed, "
        "or the line breaks missing?"
    )


def _split_head(chunks: Iterable[bytes], size: int) -> tuple[bytes, Iterator[bytes]]:
    """At least ``size`` bytes from the start (fewer only when the stream ends), and the rest.

    A first chunk as large as ``size`` is the head itself, not a copy of it: chunks are 1 MiB.
    """
    rest = iter(chunks)
    parts: list[bytes] = []
    have = 0
    for chunk in rest:
        parts.append(chunk)
        have += len(chunk)
        if have >= size:
            break
    return (parts[0] if len(parts) == 1 else b"".join(parts)), rest


def _probe(chunks: Iterable[bytes]) -> tuple[bytes, Iterator[bytes]]:
    """The first bytes that decide the format (a copy, so the chunk they came from is not kept while
    the rest of the file is read), and the whole stream."""
    head, rest = _split_head(chunks, _HEAD_BYTES)
    return head[:_HEAD_BYTES], _prepend(head, rest)


def _skip(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    for chunk in chunks:
        if size >= len(chunk):
            size -= len(chunk)
            continue
        yield chunk[size:] if size else chunk
        size = 0


def _prepend(head: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    return itertools.chain((head,), rest) if head else rest


def _gunzip(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Inflate a gzip stream in bounded pieces. Concatenated members are read one after the other (as
    gzip itself does) and zero bytes padding the end are ignored; anything else after the end is not."""
    decompressor = zlib.decompressobj(wbits=_GZIP_WBITS)
    seen = 0
    between = b""  # input after the end of a member, until it shows whether another member follows
    padded = False  # zeros followed the last member (as block devices write): only zeros may follow them
    for chunk in chunks:
        seen += len(chunk)
        data = chunk
        while data:
            if decompressor.eof:
                if padded or (not between and data.startswith(b"\x00")):
                    if data.strip(b"\x00"):
                        raise FileProblem(_GZIP_TRAILER)
                    padded = True
                    break
                between += data
                if len(between) < len(_GZIP_MAGIC):
                    break
                if not between.startswith(_GZIP_MAGIC):
                    raise FileProblem(_GZIP_TRAILER)
                decompressor = zlib.decompressobj(wbits=_GZIP_WBITS)
                data, between = between, b""
            while True:
                piece = _inflate(decompressor, data)
                if piece:
                    yield piece
                if decompressor.eof:
                    data = decompressor.unused_data
                    break
                data = decompressor.unconsumed_tail
                # A full piece may leave more output inside zlib even when all the input is taken.
                if not data and len(piece) < _GUNZIP_PIECE:
                    break
    if not decompressor.eof or between:
        raise FileProblem(
            f"the gzip stream is truncated: it ends after {seen} bytes, before the end of its compressed "
            "data (was the upload cut short?)"
        )


def _inflate(decompressor: Any, data: bytes) -> bytes:
    try:
        piece: bytes = decompressor.decompress(data, _GUNZIP_PIECE)
    except zlib.error as error:
        raise FileProblem(f"the gzip stream is corrupt: {error}") from error
    return piece


def _empty(compression: str | None) -> str:
    what = "the gzip stream inflates to nothing" if compression else "it holds no data"
    return f"the file is empty: {what}"


class _ChunkStream(io.RawIOBase):
    """A readable raw stream over byte chunks, so the C TextIOWrapper and csv reader do the work."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._view = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._view:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._view = memoryview(chunk)
        size = min(len(buffer), len(self._view))
        buffer[:size] = self._view[:size]
        self._view = self._view[size:]
        return size


def _text_stream(chunks: Iterable[bytes], encoding: str, errors: str = "strict") -> io.TextIOWrapper:
    return io.TextIOWrapper(
        io.BufferedReader(_ChunkStream(chunks), buffer_size=_READ_BUFFER),
        encoding=encoding,
        errors=errors,
        newline="",  # keep line breaks as they are: quoted fields may hold them, and \r alone ends a line
    )


# --- text: encodings -----------------------------------------------------------------------------------


def _breaks(data: bytes, after_cr: bool) -> int:
    """Line breaks in ``data`` as Python's text layer counts them: \\r\\n, \\r and \\n each end a line."""
    if b"\r" not in data:  # most files: one count, not three (each a pass over the chunk)
        return data.count(b"\n") - (after_cr and data.startswith(b"\n"))
    count = data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")
    return count - 1 if after_cr and data.startswith(b"\n") else count


def _text_breaks(text: str, after_cr: bool) -> int:
    count = text.count("\n") + text.count("\r") - text.count("\r\n")
    return count - 1 if after_cr and text.startswith("\n") else count


@dataclass(frozen=True)
class _TextEncoding:
    """How the text's bytes are encoded, as far as the head tells."""

    name: str | None  # the encoding read_records uses; None: UTF-8 if all of it is, else a fallback
    codec: str  # what inspect decodes the content after the byte order mark with
    bom: int = 0  # bytes of byte order mark at the start

    @staticmethod
    def of(head: bytes) -> _TextEncoding:
        if head.startswith(_UTF8_BOM):
            return _TextEncoding("utf-8-sig", "utf-8", len(_UTF8_BOM))
        if head.startswith(codecs.BOM_UTF16_LE):
            return _TextEncoding("utf-16", "utf-16-le", 2)
        if head.startswith(codecs.BOM_UTF16_BE):
            return _TextEncoding("utf-16", "utf-16-be", 2)
        # UTF-16 without a byte order mark: the high bytes of ASCII characters are NULs, one in two.
        probe = head[: _UTF16_PROBE_BYTES & ~1]
        pairs = len(probe) // 2
        if pairs:
            even, odd = probe[0::2].count(0), probe[1::2].count(0)
            if odd * 10 >= pairs * 3 and even * 20 <= pairs:
                return _TextEncoding("utf-16-le", "utf-16-le")
            if even * 10 >= pairs * 3 and odd * 20 <= pairs:
                return _TextEncoding("utf-16-be", "utf-16-be")
        return _TextEncoding(None, "utf-8")

    @property
    def utf16(self) -> bool:
        return self.codec.startswith("utf-16")

    def head_text(self, content_head: bytes) -> str:
        """The head as text, for telling the format and the delimiter: approximately decoded is enough,
        since every character that decides them is ASCII (Latin-1 keeps ASCII where UTF-8 keeps it)."""
        if self.utf16:
            return content_head[: len(content_head) & ~1].decode(self.codec, errors="replace")
        return content_head.decode("latin-1")

    def check(self) -> _Utf16Check | _ByteTextCheck:
        return _Utf16Check(self.codec) if self.utf16 else _ByteTextCheck(declared=self.name is not None)


class _ByteTextCheck:
    """Watches an 8-bit-compatible text go by: is all of it UTF-8, else Windows-1252, else Latin-1?

    The decision needs the whole stream, and the csv parse needs no decision (its delimiters, quotes and
    line breaks are ASCII in each of them), so both happen in the one pass.
    """

    def __init__(self, *, declared: bool) -> None:
        self._declared = declared  # a UTF-8 byte order mark said UTF-8: no fallback
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self.not_utf8: str | None = None
        self.not_cp1252: str | None = None
        self.seen_text = False
        self._lines_before = 0
        self._after_cr = False

    def feed(self, chunk: bytes) -> None:
        nul = chunk.find(b"\x00")
        if nul >= 0:
            raise FileProblem(f"line {self._line(chunk[:nul])}: a NUL byte (00): binary data, not text")
        if self.not_utf8 is None:
            try:
                self._utf8.decode(chunk)
            except UnicodeDecodeError as error:
                self._fail_utf8(error)
        if self.not_cp1252 is None:
            found = [index for index in (chunk.find(byte) for byte in _CP1252_UNDEFINED) if index >= 0]
            if found:
                first = min(found)
                self.not_cp1252 = f"line {self._line(chunk[:first])}, byte {chunk[first]:02x}"
        if not self.seen_text and chunk.strip():
            self.seen_text = True
        self._lines_before += _breaks(chunk, self._after_cr)
        self._after_cr = chunk.endswith(b"\r")

    def finish(self) -> None:
        if self.not_utf8 is None:
            try:
                self._utf8.decode(b"", True)
            except UnicodeDecodeError as error:
                self._fail_utf8(error)

    def _fail_utf8(self, error: UnicodeDecodeError) -> None:
        # The decoder's input is its buffered partial character (never a line break) plus this chunk.
        line = self._line(error.object[: error.start])
        bad = error.object[error.start : error.start + 2].hex(" ")
        if self._declared:
            raise FileProblem(
                f"line {line}: bytes {bad} are not UTF-8, though the file starts with a UTF-8 byte order "
                "mark: save it as UTF-8 again"
            ) from error
        self.not_utf8 = f"line {line}, bytes {bad}"

    def _line(self, before: bytes) -> int:
        return self._lines_before + _breaks(before, self._after_cr) + 1

    def encoding(self, declared: str | None) -> tuple[str, tuple[str, ...]]:
        if declared is not None or self.not_utf8 is None:
            return declared or "utf-8", ()
        if self.not_cp1252 is None:
            return "cp1252", (f"not UTF-8 ({self.not_utf8}): read as Windows-1252",)
        return "latin-1", (
            f"not UTF-8 ({self.not_utf8}) nor Windows-1252 ({self.not_cp1252}): read as Latin-1 (ISO-8859-1)",
        )


class _Utf16Check:
    """Watches a UTF-16 text go by: it must be UTF-16 throughout, there is no fallback."""

    def __init__(self, codec: str) -> None:
        self._codec = codec
        self._decoder = codecs.getincrementaldecoder(codec)()
        self.seen_text = False
        self._lines_before = 0
        self._after_cr = False

    def feed(self, chunk: bytes) -> None:
        self._see(self._decode(chunk, final=False))

    def finish(self) -> None:
        self._see(self._decode(b"", final=True))

    def _decode(self, chunk: bytes, *, final: bool) -> str:
        try:
            return self._decoder.decode(chunk, final)
        except UnicodeDecodeError as error:
            before = error.object[: error.start & ~1].decode(self._codec, errors="replace")
            bad = error.object[error.start : error.end].hex(" ")
            raise FileProblem(
                f"line {self._line(before)}: bytes {bad} are not {_ENCODING_NAMES[self._codec]}"
                f" ({error.reason})"
            ) from error

    def _see(self, text: str) -> None:
        nul = text.find("\x00")
        if nul >= 0:
            raise FileProblem(f"line {self._line(text[:nul])}: a NUL character: binary data, not text")
        if not self.seen_text and text.strip():
            self.seen_text = True
        self._lines_before += _text_breaks(text, self._after_cr)
        self._after_cr = text.endswith("\r")

    def _line(self, before: str) -> int:
        return self._lines_before + _text_breaks(before, self._after_cr) + 1

    def encoding(self, declared: str | None) -> tuple[str, tuple[str, ...]]:
        return declared or self._codec, ()


def _checked(chunks: Iterable[bytes], check: _Utf16Check | _ByteTextCheck) -> Iterator[bytes]:
    # The check decodes what it sees: in pieces, so the text it makes and drops is not a chunk's worth.
    for chunk in chunks:
        for start in range(0, len(chunk), _CHECK_PIECE):
            piece = chunk[start : start + _CHECK_PIECE] if len(chunk) > _CHECK_PIECE else chunk
            check.feed(piece)
            yield piece
    check.finish()


# --- text: format, delimiter, the whole-file check ---------------------------------------------------


def _inspect_text(
    encoding: _TextEncoding, content_head: bytes, content: Iterator[bytes], compression: str | None
) -> Shape:
    head_text = encoding.head_text(content_head)
    controls = (
        len(_CONTROL_CHARS.findall(head_text))
        if encoding.utf16
        else len(_CONTROL_BYTES.findall(content_head))
    )
    if controls * 100 > _CONTROL_PERCENT * max(len(head_text), 1):
        sample = content_head[:8].hex(" ")
        raise FileProblem(f"unknown format: binary data (it starts with bytes {sample}); {EXPECTED}")
    start = head_text.lstrip(_ASCII_SPACE)[:200]
    if _MARKUP.match(start):
        raise FileProblem(
            "unknown format: an HTML or XML document (some ERPs save HTML tables under an .xls name); "
            + EXPECTED
        )
    if _JSON_ARRAY.match(start):
        raise FileProblem(f"unknown format: a JSON array, not JSON Lines (one object per line); {EXPECTED}")
    check = encoding.check()
    text = _text_stream(_checked(content, check), encoding.codec, "surrogateescape")
    fields: tuple[str, ...] = ()
    if start.startswith("{"):
        fields = _check_jsonl(text)
        format_, delimiter = "jsonl", None
    else:
        delimiter = sniff_delimiter(_physical_lines(head_text))
        _check_csv(text, delimiter)
        format_ = "csv"
    if not check.seen_text:
        raise FileProblem("the file is empty: it holds only blank lines and spaces")
    name, notes = check.encoding(encoding.name)
    return Shape(format_, compression, name, delimiter, notes=notes, fields=fields)


def _physical_lines(text: str) -> list[str]:
    # str.splitlines would also break at characters such as \x85 that Latin-1 makes of UTF-8 bytes.
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def sniff_delimiter(lines: Iterable[str]) -> str:
    """The delimiter among , ; tab | with the highest count on any of the first 20 non-blank lines.

    Only occurrences outside double quotes count (a quoted field may span lines), and a comma between
    digits is a decimal comma. Ties go to the earlier in that list; none found gives ','.
    """
    best = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    sniffed = 0
    for line in lines:
        if not line.strip(" \r\n"):  # a line of tabs is a row of empty fields in a tab-delimited file
            continue
        parts = line.split('"')
        outside = parts[1::2] if quoted else parts[0::2]
        if len(parts) % 2 == 0:
            quoted = not quoted
        unquoted = _DECIMAL_COMMA.sub("", "\x00".join(outside))
        for delimiter in DELIMITERS:
            best[delimiter] = max(best[delimiter], unquoted.count(delimiter))
        sniffed += 1
        if sniffed == _SNIFF_LINES:
            break
    chosen = max(DELIMITERS, key=best.__getitem__)  # max keeps the first of equals
    return chosen if best[chosen] else ","


# csv refuses a field longer than its field limit, 128 KiB by default: a long quoted description would
# refuse the whole file with csv's own words, though the documented bound is a physical line
# (``MAX_LINE_BYTES``, checked by ``_bounded_lines``). The limit is process-wide, so it is set once, here,
# where ingest's reader is built: ingest is the only csv reader in the Lambda code and the CLI, and nothing
# relies on the smaller default (a limit in characters at least as large as the line bound in bytes only
# lets a record that spans lines reach it, refused by ``_csv_problem`` in the same terms).
csv.field_size_limit(MAX_LINE_BYTES)


def _csv_reader(text: Iterable[str], delimiter: str) -> Any:
    # strict: a quote left open must not swallow the rest of the file into one field without a word.
    return csv.reader(text, delimiter=delimiter, quotechar='"', doublequote=True, strict=True)


def _check_csv(text: io.TextIOWrapper, delimiter: str) -> None:
    """What csv would refuse in the file, with its line, at a fraction of parsing it all.

    Without a quote, the only things csv refuses are a NUL (the encoding check refused those already)
    and a field over its field limit; so lines without quotes only have their length checked. A line
    with an even number of quotes is a record of its own (the lines before it ended outside quotes):
    those are parsed together, on their own. At the first line with an odd number (a quoted field
    that goes on to the next line) or an over-long line, csv parses the rest of the file.

    The text is read in pieces of whole lines. A piece whose lines all end in \\n (or \\r\\n) and are
    all within the limit is looked at only where its quotes are; any other piece (a lone \\r ends a
    line too, a long line) is read line by line. Both find the same lines with the same numbers.
    """
    limit = csv.field_size_limit()
    quoted: list[str] = []
    numbers: list[int] = []
    lines_before = 0
    # Half the field limit at a time: a piece is then rarely longer than the limit, and one that is
    # not cannot hold a line that is.
    pieces = _line_pieces(text, max(1, min(_CHECK_TEXT, limit // 2)))
    for piece in pieces:
        if not _plain_piece(piece, limit):
            rest = io.StringIO(piece, newline="")
            for line in rest:
                if len(line) > limit or ('"' in line and line.count('"') % 2):
                    _parse_lines(quoted, numbers, delimiter)
                    _parse_csv(itertools.chain((line,), rest, _lines_of(pieces)), delimiter, lines_before)
                    return
                lines_before += 1
                if '"' in line:
                    quoted.append(line)
                    numbers.append(lines_before)
            continue
        counted, before = 0, lines_before  # a place in the piece, and the lines before it
        at = piece.find('"')
        while at >= 0:
            start = piece.rfind("\n", 0, at) + 1
            end = piece.find("\n", at) + 1 or len(piece)
            before += piece.count("\n", counted, start)
            counted = start
            line = piece[start:end]
            if line.count('"') % 2:
                _parse_lines(quoted, numbers, delimiter)
                rest = io.StringIO(piece[end:], newline="")
                _parse_csv(itertools.chain((line,), rest, _lines_of(pieces)), delimiter, before)
                return
            quoted.append(line)
            numbers.append(before + 1)
            at = piece.find('"', end)
        lines_before = before + piece.count("\n", counted) + (not piece.endswith("\n"))
    _parse_lines(quoted, numbers, delimiter)


# The text ``_check_csv`` reads at a time (characters).
_CHECK_TEXT: Final = 256 * 1024


def _line_pieces(text: io.TextIOWrapper, size: int) -> Iterator[str]:
    """The text in pieces of whole lines, read ``size`` characters at a time: each ends right after a
    \\n (so no \\r\\n is split), the last one excepted. A longer line makes its piece longer
    (``_bounded_lines`` bounds it)."""
    carry = ""
    while piece := text.read(size):
        if carry:
            piece = carry + piece
        end = piece.rfind("\n") + 1
        if not end:
            carry = piece
            continue
        carry = piece[end:]
        yield piece[:end]
    if carry:
        yield carry


def _lines_of(pieces: Iterator[str]) -> Iterator[str]:
    """The lines of the pieces, as the text stream would give them (universal line breaks, kept)."""
    for piece in pieces:
        yield from io.StringIO(piece, newline="")


def _plain_piece(piece: str, limit: int) -> bool:
    """Whether each of the piece's lines ends in \\n or \\r\\n (no lone \\r) and none is longer than
    ``limit``: a piece no longer than the limit (most, see ``_check_csv``) holds no such line."""
    if "\r" in piece and piece.count("\r") != piece.count("\r\n"):
        return False
    return len(piece) <= limit or max(map(len, piece.split("\n"))) + 1 <= limit


def _parse_lines(lines: list[str], numbers: list[int], delimiter: str) -> None:
    """Parse whole-record ``lines`` (their line numbers in ``numbers``); a problem names its line."""
    reader = _csv_reader(lines, delimiter)
    try:
        for _ in reader:
            pass
    except csv.Error as error:
        line = numbers[reader.line_num - 1]
        raise _csv_problem(error, line, line) from error


def _parse_csv(lines: Iterable[str], delimiter: str, lines_before: int) -> None:
    reader = _csv_reader(lines, delimiter)
    start = 1
    try:
        for _ in reader:
            start = reader.line_num + 1
    except csv.Error as error:
        raise _csv_problem(error, lines_before + start, lines_before + reader.line_num) from error


# A Record from its three fields without the named tuple's own __new__ (a Python function).
_new_record: Final = tuple.__new__


def _csv_records(text: io.TextIOWrapper, delimiter: str) -> Iterator[Record]:
    reader = _csv_reader(text, delimiter)
    start = 1
    try:
        for values in reader:
            yield _new_record(Record, (start, values, None))
            start = reader.line_num + 1
    except csv.Error as error:
        raise _csv_problem(error, start, reader.line_num) from error


def _csv_problem(error: csv.Error, start: int, current: int) -> FileProblem:
    message = str(error)
    if message == "unexpected end of data":
        return FileProblem(
            f"line {start}: a quoted field opened here is never closed (the file ends inside it)"
        )
    if message.startswith("field larger than field limit"):
        # Only a quoted field that runs over several lines gets here (one line is bounded before csv
        # sees it): said as the line limit is said, not in csv's words.
        return FileProblem(
            f"line {start}: a quoted field is longer than {_mib(MAX_LINE_BYTES)}, the most a line may "
            "hold: no export field is; is a quote left unclosed?"
        )
    where = f"line {current}" if current <= start else f"line {current} (in the record from line {start})"
    return FileProblem(f"{where}: {message}")


# --- JSON Lines ----------------------------------------------------------------------------------------


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON value")


def _json_object(line: str) -> tuple[dict[str, Any] | None, str | None]:
    """The line's object, or None and why it is not one."""
    try:
        value = json.loads(line, parse_float=str, parse_int=str, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        # The line holds one record, so the position in it is the column (colno would count the \n).
        return None, f"not a JSON object: {error.msg} at column {error.pos + 1}"
    except ValueError as error:
        return None, f"not a JSON object: {error}"
    except RecursionError:
        return None, "not a JSON object: nested too deeply"
    if not isinstance(value, dict):
        return None, f"not a JSON object: a JSON {_json_kind(value)}"
    return value, None


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string or number"  # numbers were parsed to their text
    return "true, false or null"


def _check_jsonl(text: io.TextIOWrapper) -> tuple[str, ...]:
    """The fields of a JSON Lines file: every key of every object, in the order they first appear (JSON
    writers leave out null fields, so the first record alone may not name them all). A line that is not
    an object is left for ``read_records`` to report as a row."""
    fields: dict[str, None] = {}
    for number, line in enumerate(text, 1):
        if not line.strip():
            continue
        if not fields:
            fields.update(dict.fromkeys(_first_object(line, number)))
            continue
        found, _ = _json_object(line)
        if found:
            fields.update(dict.fromkeys(found))
    return tuple(fields)


def _first_object(line: str, number: int) -> list[str]:
    first, problem = _json_object(line)
    # The first record's keys name the fields: without them no record can be read.
    if first is None:
        raise FileProblem(f"line {number}: {problem} (the first record, whose keys name the fields)")
    if not first:
        raise FileProblem(f"line {number}: the first record is {{}}: it names no fields")
    return list(first)


def _jsonl_records(text: io.TextIOWrapper, fields: tuple[str, ...]) -> Iterator[Record]:
    lines = enumerate(text, 1)
    for number, line in lines:
        if line.strip():
            header = list(fields) or _first_object(line, number)
            positions = {key: index for index, key in enumerate(header)}
            # The header comes first, as if it were a line 0; blank lines before the first object follow.
            yield Record(0, header)
            for blank in range(1, number):
                yield Record(blank, [])
            yield _json_record(number, line, header, positions, number)
            break
    else:
        return
    for later, line in lines:
        if not line.strip():
            yield Record(later, [])
        else:
            yield _json_record(later, line, header, positions, number)


def _json_record(
    number: int, line: str, header: list[str], positions: dict[str, int], header_line: int
) -> Record:
    found, problem = _json_object(line)
    if found is None:
        return Record(number, [], problem)
    values = [""] * len(header)
    problems: list[str] = []
    unknown: list[str] = []
    for key, value in found.items():
        index = positions.get(key)
        if index is None:
            unknown.append(key)
        elif isinstance(value, str):
            values[index] = value
        elif value is None:
            pass
        elif isinstance(value, bool):
            values[index] = "yes" if value else "no"
        else:
            nested = "object" if isinstance(value, dict) else "array"
            problems.append(f"field {key!r} holds a nested {nested}, not a value")
    if unknown:
        named = ", ".join(repr(key) for key in unknown)
        fields = "field" if len(unknown) == 1 else "fields"
        verb = "is" if len(unknown) == 1 else "are"
        problems.insert(
            0,
            f"{fields} {named} {verb} not among the fields the file was inspected with "
            f"(from line {header_line}): " + ", ".join(header),
        )
    return Record(number, values, "; ".join(problems) if problems else None)


# --- XLSX ----------------------------------------------------------------------------------------------


def _inspect_xlsx(chunks: Iterator[bytes], compression: str | None) -> Shape:
    with _first_sheet(chunks) as (sheet, notes):
        title = str(sheet.title)
        if not any(record.values for record in _sheet_records(sheet)):
            raise FileProblem(f"the file is empty: the worksheet {title!r} holds no values")
    return Shape("xlsx", compression, sheet=title, typed_cells=True, notes=notes)


def _xlsx_records(chunks: Iterator[bytes]) -> Iterator[Record]:
    with _first_sheet(chunks) as (sheet, _):
        yield from _sheet_records(sheet)


@contextmanager
def _first_sheet(chunks: Iterable[bytes]) -> Iterator[tuple[Any, tuple[str, ...]]]:
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY) as spool:
        for chunk in chunks:
            spool.write(chunk)
        spool.seek(0)
        _require_workbook(spool)
        try:
            with warnings.catch_warnings():
                # openpyxl warns about styles and extensions it skips: nothing the reader acts on.
                warnings.simplefilter("ignore")
                # Imported here: a cold start that reads no workbook does not pay for openpyxl.
                import openpyxl  # type: ignore[import-untyped]

                workbook = openpyxl.load_workbook(spool, read_only=True, data_only=True)
        except OSError as error:
            if "no valid workbook part" in str(error):
                raise FileProblem(
                    "a zip archive that is not an XLSX workbook (it has no workbook)"
                ) from error
            raise FileProblem(f"the XLSX workbook cannot be read: {error}") from error
        except Exception as error:
            # openpyxl reports damage in many ways (KeyError, XML parse errors, ValueError...).
            raise FileProblem(f"the XLSX workbook cannot be read: {type(error).__name__}: {error}") from error
        try:
            sheets = workbook.worksheets
            if not sheets:
                raise FileProblem("the XLSX workbook has no worksheet")
            sheet = sheets[0]
            notes: tuple[str, ...] = ()
            if len(sheets) > 1:
                notes = (f"the workbook has {len(sheets)} worksheets: read the first, {sheet.title!r}",)
            # Many writers put a wrong <dimension> in the sheet; read-only mode would crop rows to it.
            sheet.reset_dimensions()
            yield sheet, notes
        finally:
            workbook.close()


def _require_workbook(spool: IO[bytes]) -> None:
    try:
        with zipfile.ZipFile(spool) as archive:
            members = archive.infolist()
            names = {member.filename for member in members}
    except Exception as error:  # zipfile raises BadZipFile, EOFError, ValueError... for damaged archives
        raise FileProblem(f"the XLSX workbook is damaged: not a readable zip archive ({error})") from error
    finally:
        spool.seek(0)
    _check_members(members)
    if "xl/workbook.bin" in names:
        hint = " (it is an Excel binary .xlsb workbook: save it as XLSX)"
    elif "mimetype" in names and "content.xml" in names:
        hint = " (it is an OpenDocument file: save it as XLSX)"
    elif "[Content_Types].xml" not in names:
        hint = ""
    else:
        return
    raise FileProblem(f"a zip archive that is not an XLSX workbook{hint}")


def _check_members(members: list[zipfile.ZipInfo]) -> None:
    """``FileProblem`` for a workbook part that inflates past the limits (checked from the archive's
    directory, before anything is inflated: a shared-strings part is read whole when a workbook opens)."""
    total = 0
    for member in members:
        total += member.file_size
        if member.file_size > MAX_XLSX_MEMBER_BYTES:
            raise FileProblem(
                f"the workbook's part {member.filename} inflates to {_mib(member.file_size)}, more than "
                f"{_mib(MAX_XLSX_MEMBER_BYTES)}: export fewer rows per workbook, or CSV"
            )
        if member.file_size > _RATIO_CHECKED_FROM and member.file_size > MAX_INFLATION_RATIO * max(
            member.compress_size, 1
        ):
            raise FileProblem(
                f"the workbook's part {member.filename} inflates more than {MAX_INFLATION_RATIO} times "
                f"({_mib(member.compress_size)} to {_mib(member.file_size)}): not an export "
                "(a compression bomb?)"
            )
    if total > MAX_CONTENT_BYTES:
        raise FileProblem(f"the workbook inflates to {_mib(total)}, more than {_mib(MAX_CONTENT_BYTES)}")


def _sheet_records(sheet: Any) -> Iterator[Record]:
    # openpyxl fills rows missing from the sheet's XML with empty ones, so the count is the row number.
    rows = enumerate(sheet.iter_rows(values_only=True), 1)
    while True:
        try:
            row = next(rows, None)
        except Exception as error:
            raise FileProblem(f"the XLSX workbook is damaged: {type(error).__name__}: {error}") from error
        if row is None:
            return
        number, cells = row
        values = [_cell_text(cell) for cell in cells]
        while values and not values[-1]:
            values.pop()
        yield Record(number, values)


def _cell_text(value: object) -> str:
    """A cell as the text a CSV export would hold, in the one spelling the mapping layer parses."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, datetime):
        moment = _to_second(value)
        return moment.date().isoformat() if moment.time() == time(0) else moment.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return _to_second(datetime.combine(date(2000, 1, 1), value)).time().isoformat()
    return str(value)


def _float_text(value: float) -> str:
    # Excel keeps every number as a float: 12 comes back as 12.0 and 1e-7 must not read as "1e-07".
    # It holds and shows 15 significant digits, so a computed cell written 119.00000000000001 (float
    # noise of a formula) is read as Excel shows it, 119: ingest refuses an amount finer than its
    # currency's unit, and noise past Excel's own precision is not a value the ERP meant.
    if value == 0:
        return "0"
    if value != value or value in (float("inf"), float("-inf")):
        return repr(value)
    return format(Decimal(format(value, ".15g")).normalize(), "f")


def _to_second(value: datetime) -> datetime:
    # Excel keeps a time as a fraction of a day: 14:30 may come back a microsecond short of it.
    if not value.microsecond:
        return value
    return value.replace(microsecond=0) + timedelta(seconds=value.microsecond >= 500_000)
