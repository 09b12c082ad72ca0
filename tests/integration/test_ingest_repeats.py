"""Rows of one invoice in different chunks of a large file: the chunks load at the same time, so the
merged result names the rows (within one chunk, a differing repeat is refused: test_ingest_duplicates)."""

from __future__ import annotations

from typing import Any

import pytest

from arcollect.ingest import drops
from tests.integration.ingest_flow import ingest

HEADER = "customer_id,invoice_number,invoice_date,due_date,amount,currency\n"


def test_an_invoice_stated_in_two_chunks_is_noted_with_both_rows(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(drops, "FAN_OUT_LINES", 3)
    rows = [
        "C-1,D-1,2026-10-01,2026-10-31,400.00,EUR",
        "C-1,D-2,2026-10-01,2026-10-31,5.00,EUR",
        "C-1,D-3,2026-10-01,2026-10-31,5.00,EUR",
        "C-1,D-1,2026-10-01,2026-10-31,450.00,EUR",  # line 5: the second chunk
        "C-1,D-2,2026-10-01,2026-10-31,5,EUR",  # the same as line 3
    ]
    summary = ingest("incoming/invoices/big.csv", (HEADER + "\n".join(rows) + "\n").encode())
    assert summary["chunks"] == 2
    notes = {(note["row"], note["value"]): note["note"] for note in summary["notes"]}
    assert notes[(5, "D-1")].startswith("invoice D-1 is on row 2 too, with other values, in a part of this")
    assert notes[(6, "D-2")] == "the same line as row 3: counted once"
