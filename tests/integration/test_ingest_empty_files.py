"""An ERP file with a header and no rows, through the ingest function against moto: what it writes (the
result summary and the ingest timeline) says nothing was loaded; an empty snapshot closes nothing; a
file of 0 bytes is refused. tests/unit/test_ingest_empty_files.py has the rest."""

from __future__ import annotations

from typing import Any

from arcollect.ingest.results import EMPTY_FILE_NOTE, file_notes
from arcollect.store.feeds import Feeds
from arcollect.store.models import InvoiceItem
from arcollect.store.repositories import Activities
from tests.integration.ingest_flow import ingest, rejected_rows

HEADER = "customer_id,invoice_number,invoice_date,due_date,amount,currency,open_amount\n"
SNAPSHOT = {"arcollect-mode": "snapshot", "arcollect-as-of": "2026-11-02"}


def states() -> dict[str, str]:
    return {item.invoice_number: f"{item.status}:{item.open_amount}" for item in InvoiceItem.scan()}


def timeline_line(key: str) -> str:
    [entry] = [a for a in Activities().ingest_timeline() if a.detail["key"] == key]
    return entry.summary


def test_an_empty_snapshot_closes_nothing_and_what_the_function_writes_says_so(s3: Any) -> None:
    # Given open invoices from yesterday's snapshot
    ingest(
        "incoming/invoices/open-2026-11-01.csv",
        (HEADER + "C-1,INV-1,2026-10-01,2026-10-31,100.00,EUR,100.00\n").encode(),
        {**SNAPSHOT, "arcollect-as-of": "2026-11-01"},
    )
    # When today's snapshot arrives with its header and no row (the export failed upstream)
    key = "incoming/invoices/open-2026-11-02.csv"
    summary = ingest(key, HEADER.encode(), SNAPSHOT)
    # Then nothing is closed, the file is ingested (no error), and its result and its timeline entry
    # say that nothing was loaded and nothing closed
    assert states() == {"INV-1": "open:100.00"}
    assert (summary["status"], summary["errors"], summary["invoices_closed"]) == ("ingested", [], 0)
    said = [
        EMPTY_FILE_NOTE,
        "an empty snapshot: no open item was closed, and the invoices feed is not counted as current by it "
        "(the freshness hold counts from the last snapshot that listed open items)",
    ]
    assert file_notes(summary["notes"]) == said
    assert timeline_line(key).endswith("; ".join(said))
    # And the invoices feed stays as old as yesterday's snapshot: a broken export that keeps coming out
    # empty is held on by the freshness hold, not dunned on balances nothing confirms any more
    assert Feeds().state().newest["invoices"].key == "incoming/invoices/open-2026-11-01.csv"


def test_a_snapshot_whose_every_row_is_refused_does_not_make_the_feed_current(s3: Any) -> None:
    ingest(
        "incoming/invoices/open-2026-11-01.csv",
        (HEADER + "C-1,INV-1,2026-10-01,2026-10-31,100.00,EUR,100.00\n").encode(),
        {**SNAPSHOT, "arcollect-as-of": "2026-11-01"},
    )
    summary = ingest(
        "incoming/invoices/open-2026-11-02.csv",
        (HEADER + "C-1,INV-1,not a date,2026-10-31,100.00,EUR,100.00\n").encode(),
        SNAPSHOT,
    )
    assert (summary["status"], summary["rejected"], summary["invoices_closed"]) == ("ingested", 1, 0)
    assert any("its rows were refused" in note for note in file_notes(summary["notes"]))
    assert states() == {"INV-1": "open:100.00"}
    assert Feeds().state().newest["invoices"].key == "incoming/invoices/open-2026-11-01.csv"
    # A snapshot that lists its open items again makes the feed current
    ingest(
        "incoming/invoices/open-2026-11-03.csv",
        (HEADER + "C-1,INV-1,2026-10-01,2026-10-31,100.00,EUR,100.00\n").encode(),
        {**SNAPSHOT, "arcollect-as-of": "2026-11-03"},
    )
    assert Feeds().state().newest["invoices"].key == "incoming/invoices/open-2026-11-03.csv"


def test_a_payments_file_of_a_day_without_payments_is_ingested_with_a_note(s3: Any) -> None:
    key = "incoming/payments/payments-2026-11-02.csv"
    summary = ingest(key, b"customer_id,payment_id,payment_date,amount,currency\n")
    assert (summary["status"], summary["errors"], summary["rows_read"]) == ("ingested", [], 0)
    assert file_notes(summary["notes"]) == [EMPTY_FILE_NOTE]
    assert EMPTY_FILE_NOTE in timeline_line(key)


def test_a_file_of_0_bytes_is_refused_naming_it(s3: Any) -> None:
    key = "incoming/invoices/open-2026-11-02.csv"
    summary = ingest(key, b"")
    assert (summary["status"], summary["key"]) == ("rejected", key)
    assert summary["errors"] == ["the file is empty: it holds no data"]
    assert timeline_line(key) == f"{key} (no mapping): the file is empty: it holds no data"
    assert ",,,the file is empty: it holds no data" in rejected_rows(key)
