"""One file states each invoice once: a later row of the same customer id and invoice number is counted
once when it repeats the earlier row, and refused, naming that row and what differs, when it does not.
Through ``receive_drop`` against an in-memory table."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from arcollect.ingest import drops
from tests.unit.fakes import Table
from tests.unit.test_ingest_loading import INVOICES, ingest


def test_a_later_row_of_an_invoice_with_other_values_is_refused_naming_the_earlier_row() -> None:
    table = Table()
    content = INVOICES + (
        b"C-1,D-1,2026-10-01,2026-10-31,400.00,EUR\n"
        b"C-1,D-2,2026-10-01,2026-10-31,10.00,EUR\n"
        b"C-1,D-1,2026-10-01,2026-11-30,450.00,EUR\n"
    )
    _, summary, outputs = ingest("incoming/invoices/d.csv", content, table)
    # The first row stands; the later one is refused with each field it differs in
    assert (summary["rows_read"], summary["accepted"], summary["rejected"]) == (3, 2, 1)
    assert table.invoices_[("C-1", "D-1")].amount == Decimal("400.00")
    rejected = list(csv.reader(io.StringIO(outputs.files["rejected/invoices/d.csv.errors.csv"].decode())))
    assert rejected[1:] == [
        [
            "4",
            "amount",
            "450.00",
            "invoice D-1 already on row 2 with amount 400.00: a file states an invoice once "
            "(row 2 is loaded, this row is not)",
        ],
        [
            "4",
            "due_date",
            "2026-11-30",
            "invoice D-1 already on row 2 with due_date 2026-10-31: a file states an invoice once "
            "(row 2 is loaded, this row is not)",
        ],
    ]


def test_an_exact_repeat_of_an_invoice_row_is_counted_once_with_a_note() -> None:
    table = Table()
    content = INVOICES + (
        b"C-1,D-1,2026-10-01,2026-10-31,400.00,EUR\n"
        b"C-1,D-2,2026-10-01,2026-10-31,10.00,EUR\n"
        b"C-1,D-1,2026-10-01,2026-10-31,400,EUR\n"
    )
    _, summary, _ = ingest("incoming/invoices/d.csv", content, table)
    assert (summary["accepted"], summary["rejected"], summary["unchanged"]) == (3, 0, 1)
    assert summary["notes"] == [
        {"row": 4, "column": "invoice_number", "value": "D-1", "note": "the same line as row 2: counted once"}
    ]


def test_the_same_invoice_number_of_two_customers_is_two_invoices() -> None:
    table = Table()
    content = INVOICES + (
        b"C-1,D-1,2026-10-01,2026-10-31,400.00,EUR\nC-2,D-1,2026-10-01,2026-10-31,5.00,EUR\n"
    )
    _, summary, _ = ingest("incoming/invoices/d.csv", content, table)
    assert (summary["accepted"], summary["rejected"], summary["notes"]) == (2, 0, [])


def test_a_repeat_in_a_later_batch_of_rows_is_still_found() -> None:
    # The file's rows are loaded a batch at a time: what the file stated is kept across batches.
    table = Table()
    rows = b"".join(b"C-1,N-%d,2026-10-01,2026-10-31,5.00,EUR\n" % n for n in range(2 * drops.CHUNK_ROWS))
    content = INVOICES + rows + b"C-1,N-0,2026-10-01,2026-10-31,6.00,EUR\n"
    _, summary, outputs = ingest("incoming/invoices/d.csv", content, table)
    assert (summary["accepted"], summary["rejected"]) == (2 * drops.CHUNK_ROWS, 1)
    assert table.invoices_[("C-1", "N-0")].amount == Decimal("5.00")
    assert (
        "invoice N-0 already on row 2 with amount 5.00"
        in outputs.files["rejected/invoices/d.csv.errors.csv"].decode()
    )
