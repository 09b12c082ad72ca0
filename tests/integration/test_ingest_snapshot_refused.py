"""A snapshot's refused row still lists its invoice: the ERP has it open, only the row could not be
loaded. Through the ingest function against moto, whole and in chunks."""

from __future__ import annotations

from typing import Any

import pytest

from arcollect.ingest import drops
from arcollect.store.models import InvoiceItem
from tests.integration.ingest_flow import ingest, rejected_rows

HEADER = "customer_id,invoice_number,invoice_date,due_date,amount,currency,open_amount\n"
FIRST = "2026-11-01"
SECOND = "2026-11-02"


def snapshot(day: str, *rows: str) -> dict[str, Any]:
    body = (HEADER + "".join(row + "\n" for row in rows)).encode()
    return ingest(
        f"incoming/invoices/open-{day}.csv", body, {"arcollect-mode": "snapshot", "arcollect-as-of": day}
    )


def states() -> dict[str, str]:
    return {item.invoice_number: f"{item.status}:{item.open_amount}" for item in InvoiceItem.scan()}


@pytest.fixture
def three_open(s3: Any) -> None:
    snapshot(
        FIRST,
        "C-1,INV-1,2026-10-01,2026-10-31,100.00,EUR,100.00",
        "C-1,INV-2,2026-10-05,2026-11-04,50.00,EUR,50.00",
        "C-2,INV-3,2026-10-05,2026-11-04,70.00,EUR,70.00",
    )


def test_an_invoice_on_a_refused_row_is_kept_open_and_the_notes_say_why(three_open: None) -> None:
    # When the next snapshot lists INV-1 on a row refused for its due date, and no longer lists INV-3
    summary = snapshot(
        SECOND,
        "C-1,INV-1,2026-10-01,2026-03-32,100.00,EUR,100.00",
        "C-1,INV-2,2026-10-05,2026-11-04,50.00,EUR,50.00",
    )
    # Then INV-1 stays open (the ERP still lists it), INV-3 alone is closed
    assert (summary["accepted"], summary["rejected"], summary["invoices_closed"]) == (1, 1, 1)
    assert states() == {"INV-1": "open:100.00", "INV-2": "open:50.00", "INV-3": "closed:0"}
    assert {
        "row": 2,
        "column": "invoice_number",
        "value": "INV-1",
        "note": (
            "kept open: the snapshot lists invoice INV-1 of customer C-1, on this row, which was refused"
        ),
    } in summary["notes"]
    assert '2,due_date,2026-03-32,"is not a date like YYYY-MM-DD' in rejected_rows(
        "incoming/invoices/open-2026-11-02.csv"
    )


def test_a_refused_row_without_a_readable_key_closes_nothing_and_says_why(three_open: None) -> None:
    # When the next snapshot has a refused row whose customer id is missing, and no longer lists INV-3
    summary = snapshot(
        SECOND,
        ",INV-1,2026-10-01,2026-10-31,100.00,EUR,100.00",
        "C-1,INV-2,2026-10-05,2026-11-04,50.00,EUR,50.00",
    )
    # Then nothing is closed: the refused row might be INV-3's
    assert (summary["accepted"], summary["rejected"], summary["invoices_closed"]) == (1, 1, 0)
    assert states() == {"INV-1": "open:100.00", "INV-2": "open:50.00", "INV-3": "open:70.00"}
    assert summary["notes"][-1] == {
        "row": 2,
        "column": "",
        "value": "",
        "note": "a refused row (the first on row 2) without a readable customer id and invoice number may "
        "list any open item: no open item was closed; fix the rows and send the snapshot again",
    }


def test_refused_rows_of_a_snapshot_loaded_in_chunks_keep_their_invoices_open(
    three_open: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a snapshot long enough to be loaded in chunks, whose last chunk refuses INV-1's row
    monkeypatch.setattr(drops, "FAN_OUT_LINES", 3)
    rows = [f"C-9,X-{n},2026-10-05,2026-11-04,5.00,EUR,5.00" for n in range(5)]
    summary = snapshot(
        SECOND, "C-1,INV-2,2026-10-05,2026-11-04,50.00,EUR,50.00", *rows, "C-1,INV-1,2026-10-01,x,1,EUR,1"
    )
    # Then the merged result keeps INV-1 open and closes INV-3 only
    assert (summary["chunks"], summary["rejected"], summary["invoices_closed"]) == (3, 1, 1)
    assert (states()["INV-1"], states()["INV-3"]) == ("open:100.00", "closed:0")
    assert any(
        note["note"].startswith("kept open: the snapshot lists invoice INV-1") for note in summary["notes"]
    )


def test_an_unreadable_refused_row_in_one_chunk_stops_the_whole_snapshot_closing(
    three_open: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(drops, "FAN_OUT_LINES", 3)
    rows = [f"C-9,X-{n},2026-10-05,2026-11-04,5.00,EUR,5.00" for n in range(5)]
    summary = snapshot(SECOND, "C-1,INV-1,2026-10-01,2026-10-31,100.00,EUR,100.00", *rows, "C-1,,x,x,1,EUR,1")
    assert (summary["chunks"], summary["invoices_closed"]) == (3, 0)
    assert states()["INV-3"] == "open:70.00"
