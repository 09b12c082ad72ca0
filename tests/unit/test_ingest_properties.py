"""Property-based: malformed rows and files thrown at the whole ingest path never crash it, and every
row is accounted for (accepted, rejected with its reasons listed, or skipped), in every format."""

from __future__ import annotations

import csv
import gzip
import io
import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arcollect.entities import FileStatus
from arcollect.ingest.drops import Drop, receive_drop
from tests.unit.fakes import Reader, Register, Table

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
COLUMNS = ["customer_id", "invoice_number", "invoice_date", "due_date", "amount", "currency"]
OPTIONAL = ["open_amount", "paid_date", "document_type", "disputed", "pay_url", "description"]
GOOD = {
    "customer_id": st.sampled_from(["C-1", "C-2", " C-3 ", "Müller & Söhne"]),
    "invoice_number": st.text(min_size=1, max_size=12).filter(lambda s: s.strip()),
    "invoice_date": st.dates().map(str),
    "due_date": st.dates().map(str),
    "amount": st.decimals(min_value=-10, max_value=10**9, places=2).map(str),
    "currency": st.sampled_from(["EUR", "usd", "XXX", ""]),
    "open_amount": st.one_of(st.just(""), st.decimals(min_value=-5, max_value=10**6, places=2).map(str)),
    "paid_date": st.one_of(st.just(""), st.dates().map(str), st.text(max_size=5)),
    "document_type": st.sampled_from(["", "invoice", "credit_note", "receipt"]),
    "disputed": st.sampled_from(["", "yes", "no", "maybe"]),
    "pay_url": st.sampled_from(["", "https://pay.example.com/1", "javascript:alert(1)"]),
    "description": st.text(max_size=30),
}
# Anything at all in a cell: delimiters, quotes, line breaks, non-ASCII, formula starts, NULs excluded
# (a NUL is a file-level problem of CSV, covered by the sources tests).
CELL = st.text(alphabet=st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=20)


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    header = COLUMNS + draw(st.lists(st.sampled_from(OPTIONAL), unique=True, max_size=len(OPTIONAL)))
    rows = []
    for _ in range(draw(st.integers(min_value=0, max_value=12))):
        cells = [draw(st.one_of(GOOD[column], CELL)) for column in header]
        # Some rows are short or long, as hand-edited exports are.
        cells = (
            cells[: draw(st.integers(min_value=1, max_value=len(cells)))] if draw(st.booleans()) else cells
        )
        if draw(st.integers(0, 9)) == 0:
            cells.append(draw(CELL))
        rows.append(cells)
    return header, rows


def encode(header: list[str], rows: list[list[str]], delimiter: str, encoding: str, fmt: str) -> bytes:
    if fmt == "jsonl":
        text = "".join(json.dumps(dict(zip(header, row, strict=False))) + "\n" for row in [header, *rows][1:])
        text = json.dumps(dict.fromkeys(header, "")) + "\n" + text if not rows else text
    else:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)
        text = buffer.getvalue()
    return text.encode(encoding, errors="replace")


def ingest(content: bytes, key: str = "incoming/invoices/p.csv") -> tuple[Any, dict[str, Any], bytes]:
    outputs: dict[str, bytes] = {}

    class Outputs:
        def put_json(self, bucket: str, key: str, document: Any) -> None:
            outputs[key] = json.dumps(document).encode()

        def put_file(self, bucket: str, key: str, body: Any, content_type: str) -> None:
            outputs[key] = body.read()

    table = Table()
    outcome = receive_drop(
        Drop("drop", key, "v1", len(content), "e", NOW),
        reader=Reader(content, chunk=5),
        register=Register(),
        now=NOW,
        accounts=table,
        outputs=Outputs(),
    )
    rejected = next((body for name, body in outputs.items() if name.endswith(".errors.csv")), b"")
    return outcome.file, outcome.summary, rejected


def accounted(summary: dict[str, Any], rejected_csv: bytes) -> None:
    assert summary["rows_read"] == summary["accepted"] + summary["rejected"] + summary["skipped"]
    listed = {row["row"] for row in csv.DictReader(io.StringIO(rejected_csv.decode())) if row["row"]}
    assert len(listed) == summary["rejected"]  # every rejected row is in the errors CSV, with a reason


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tables(),
    st.sampled_from([",", ";", "\t", "|"]),
    st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]),
    st.sampled_from(["csv", "jsonl"]),
    st.booleans(),
)
def test_malformed_rows_never_crash_and_every_row_is_accounted_for(
    table: tuple[list[str], list[list[str]]], delimiter: str, encoding: str, fmt: str, gzipped: bool
) -> None:
    header, rows = table
    content = encode(header, rows, delimiter, encoding, fmt)
    content = gzip.compress(content, mtime=0) if gzipped else content
    file, summary, rejected_csv = ingest(content)
    if file.status is FileStatus.REJECTED:
        # Only the file as a whole may be refused, with a reason, and then nothing is loaded.
        assert summary["errors"] and summary["accepted"] == 0
        return
    accounted(summary, rejected_csv)
    non_blank = [row for row in rows if any(cell.strip() for cell in row)]
    if fmt == "csv" and encoding != "cp1252":  # cp1252 replaced unencodable characters with '?'
        assert summary["rows_read"] == len(non_blank)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400), st.sampled_from(["", "xero-invoices/", "quickbooks-ar-aging/"]))
def test_arbitrary_bytes_are_refused_or_accounted_for_never_a_crash(content: bytes, folder: str) -> None:
    file, summary, rejected_csv = ingest(content, key=f"incoming/invoices/{folder}junk.bin")
    if file.status is FileStatus.REJECTED:
        assert summary["errors"]
    else:
        accounted(summary, rejected_csv)


@settings(max_examples=80, deadline=None)
@given(tables(), st.data())
def test_a_truncated_or_corrupted_file_is_refused_or_accounted_for(
    table: tuple[list[str], list[list[str]]], data: st.DataObject
) -> None:
    header, rows = table
    content = encode(header, rows, ",", "utf-8", "csv")
    compressed = data.draw(st.booleans())
    if compressed:
        content = gzip.compress(content, mtime=0)
    cut = data.draw(st.integers(min_value=0, max_value=len(content)))
    flipped = bytearray(content[:cut])
    for _ in range(data.draw(st.integers(0, 3))):
        if flipped:
            flipped[data.draw(st.integers(0, len(flipped) - 1))] = data.draw(st.integers(0, 255))
    file, summary, rejected_csv = ingest(bytes(flipped))
    if file.status is FileStatus.REJECTED:
        assert summary["errors"]
        if compressed and cut < len(content) and bytes(flipped[:2]) == b"\x1f\x8b":
            # Still recognisably gzip (a flipped byte may have erased the magic number): the reason
            # names the broken stream.
            assert any("gzip" in error or "empty" in error for error in summary["errors"]), summary["errors"]
    else:
        accounted(summary, rejected_csv)
