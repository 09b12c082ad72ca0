"""A quoted field may be as long as a line may be (``MAX_LINE_BYTES``), not csv's 128 KiB default: a long
description is read and answered for by its row; past the line limit, the file is refused in its terms."""

from __future__ import annotations

import csv
import io

from arcollect.entities import FileStatus
from arcollect.ingest.sources import MAX_LINE_BYTES
from tests.unit.fakes import Table
from tests.unit.test_ingest_loading import ingest

HEADER = b"customer_id,invoice_number,invoice_date,due_date,amount,currency,description,remarks\n"


def test_a_500000_character_quoted_field_is_read_and_its_row_answered_for() -> None:
    table = Table()
    long = "x" * 500_000
    content = (
        HEADER
        + (
            # An unmapped column of half a million characters: the row is accepted.
            f'C-1,INV-1,2026-10-01,2026-10-31,10.00,EUR,short,"{long}"\n'
            # A description of half a million characters: the row is refused for its length, not the file.
            f'C-1,INV-2,2026-10-01,2026-10-31,10.00,EUR,"{long}",\n'
        ).encode()
    )
    file, summary, outputs = ingest("incoming/invoices/long.csv", content, table)
    assert (file.status, summary["errors"]) == (FileStatus.INGESTED, [])
    assert (summary["accepted"], summary["rejected"]) == (1, 1)
    assert ("C-1", "INV-1") in table.invoices_
    [_, row] = list(csv.reader(io.StringIO(outputs.files["rejected/invoices/long.csv.errors.csv"].decode())))
    assert (row[0], row[1], row[3]) == ("3", "description", "is longer than 2000 characters")


def test_a_quoted_field_longer_than_a_line_may_be_refuses_the_file_with_the_line_limit() -> None:
    table = Table()
    # On one line: the line limit itself.
    one_line = (
        HEADER + f'C-1,INV-1,2026-10-01,2026-10-31,10.00,EUR,"{"x" * (MAX_LINE_BYTES + 10)}",\n'.encode()
    )
    file, summary, _ = ingest("incoming/invoices/long.csv", one_line, table)
    assert file.status is FileStatus.REJECTED
    assert summary["errors"] == [
        "line 2 is longer than 1 MiB: no export row is; is a quote left unclosed, or the line breaks missing?"
    ]
    # Over several lines, each within the limit: the field is refused in the same terms.
    half = "x" * (MAX_LINE_BYTES // 2)
    many_lines = HEADER + f'C-1,INV-1,2026-10-01,2026-10-31,10.00,EUR,"{half}\n{half}\n{half}",\n'.encode()
    file, summary, _ = ingest("incoming/invoices/long.csv", many_lines, table, version="v2")
    assert file.status is FileStatus.REJECTED
    assert summary["errors"] == [
        "line 2: a quoted field is longer than 1 MiB, the most a line may hold: no export field is; is a "
        "quote left unclosed?"
    ]
    assert table.writes == 0
