"""A file with a header and no rows is loaded as nothing, and says so wherever its outcome is shown: the
result summary's notes, the ingest timeline, the log line and `arcollect ingest`. A note, not an error:
a payments file of a day without payments is empty too. An empty snapshot closes nothing. A file of 0
bytes (no header) is refused, named."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from arcollect.entities import Activity, FileStatus, Invoice
from arcollect.ingest.drops import Drop, receive_drop
from arcollect.ingest.fields import FieldError
from arcollect.ingest.results import EMPTY_FILE_NOTE, MAX_NOTES, IngestReport, file_notes
from arcollect_cli import main as cli
from arcollect_cli.ingest import outcome_line
from tests.unit.fakes import Reader, Register, Table
from tests.unit.test_ingest_loading import Outputs

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
HEADERS = {
    "invoices": b"customer_id,invoice_number,invoice_date,due_date,amount,currency\n",
    "payments": b"customer_id,payment_id,payment_date,amount,currency,invoice_number\n",
    "customers": b"customer_id,name,email\n",
}
EMPTY_NOTE = {"row": 0, "column": "", "value": "", "note": EMPTY_FILE_NOTE}
# A QuickBooks A/R aging report (a snapshot) with no open item: its preamble, header, total and timestamp.
EMPTY_AGING = (
    b"Harbor Point Landscaping LLC\n"
    b"A/R Aging Detail\n"
    b'"As of Nov 2, 2026"\n'
    b"\n"
    b",Date,Transaction Type,Num,Customer,Due Date,Past Due,Amount,Open Balance\n"
    b'TOTAL,,,,,,,"0.00","0.00"\n'
    b"\n\n"
    b'"Monday, Nov 02, 2026 09:41:37 AM GMT-8"\n'
)


class Timeline:
    def __init__(self) -> None:
        self.entries: list[Activity] = []

    def record_ingest(self, activity: Activity) -> bool:
        self.entries.append(activity)
        return True


EMPTY_SNAPSHOT_NOTE = (
    "an empty snapshot: no open item was closed, and the invoices feed is not counted as current by it "
    "(the freshness hold counts from the last snapshot that listed open items)"
)


def ingest(
    key: str, content: bytes, table: Table | None = None, metadata: dict[str, str] | None = None
) -> tuple[FileStatus, dict[str, Any], Timeline]:
    timeline = Timeline()
    outcome = receive_drop(
        Drop("drop", key, "v1", len(content), "e", NOW),
        reader=Reader(content, metadata=metadata),
        register=Register(),
        now=NOW,
        accounts=Table() if table is None else table,
        outputs=Outputs(),
        timeline=timeline,
    )
    assert outcome.file is not None
    return outcome.file.status, outcome.summary, timeline


def open_invoice(number: str) -> Invoice:
    return Invoice(
        customer_id="C-1",
        invoice_number=number,
        currency="EUR",
        amount=Decimal("100.00"),
        open_amount=Decimal("100.00"),
        invoice_date=date(2026, 10, 1),
        due_date=date(2026, 10, 31),
    )


@pytest.mark.parametrize("kind", sorted(HEADERS))
def test_a_header_without_rows_is_loaded_as_nothing_and_the_result_says_so(kind: str) -> None:
    # Given a file of each kind with its header and no row (a day without payments is one)
    # When it is ingested
    status, summary, timeline = ingest(f"incoming/{kind}/{kind}-2026-11-23.csv", HEADERS[kind])
    # Then it is ingested, no error (a morning's empty re-send is normal), and the result says nothing
    # was loaded, in the summary's notes and in the ingest timeline's line
    assert status is FileStatus.INGESTED
    assert (summary["rows_read"], summary["accepted"], summary["errors"]) == (0, 0, [])
    assert summary["notes"] == [EMPTY_NOTE]
    assert summary["notes_total"] == 1
    [entry] = timeline.entries
    assert entry.summary.endswith(f"skipped 0; {EMPTY_FILE_NOTE}"), entry.summary


def test_a_file_of_layout_rows_only_says_nothing_was_loaded_and_an_empty_snapshot_closes_nothing() -> None:
    # Given open invoices, and the ERP's open-items snapshot that comes out with no item (its total
    # and timestamp rows only), as a failed export upstream would
    table = Table()
    table.add_invoices([open_invoice("INV-1"), open_invoice("INV-2")])
    # When it is ingested
    status, summary, timeline = ingest("incoming/invoices/aging.csv", EMPTY_AGING, table)
    # Then nothing is closed, and the result says why in notes about the whole file
    assert status is FileStatus.INGESTED
    assert (summary["mode"], summary["rows_read"], summary["skipped"]) == ("snapshot", 2, 2)
    assert summary["invoices_closed"] == 0
    assert {invoice.invoice_number: invoice.open_amount for invoice in table.open_invoices()} == {
        "INV-1": Decimal("100.00"),
        "INV-2": Decimal("100.00"),
    }
    assert file_notes(summary["notes"]) == [
        "the file has no data rows, only 2 layout rows (skipped): nothing was loaded",
        EMPTY_SNAPSHOT_NOTE,
    ]
    [entry] = timeline.entries
    assert "nothing was loaded; an empty snapshot: no open item was closed" in entry.summary


def test_a_header_only_snapshot_closes_nothing() -> None:
    # Given open invoices, and an invoice list with open amounts declared a snapshot, header only
    table = Table()
    table.add_invoices([open_invoice("INV-1")])
    header = HEADERS["invoices"].rstrip(b"\n") + b",open_amount\n"
    # When it is ingested
    status, summary, _ = ingest(
        "incoming/invoices/open.csv", header, table, metadata={"arcollect-mode": "snapshot"}
    )
    # Then the open invoice stays open: an empty export is not a ledger paid in full
    assert (status, summary["mode"], summary["invoices_closed"]) == (FileStatus.INGESTED, "snapshot", 0)
    assert [invoice.invoice_number for invoice in table.open_invoices()] == ["INV-1"]
    assert file_notes(summary["notes"]) == [EMPTY_FILE_NOTE, EMPTY_SNAPSHOT_NOTE]


def test_a_file_with_rows_has_no_such_note() -> None:
    status, summary, timeline = ingest(
        "incoming/invoices/a.csv", HEADERS["invoices"] + b"C-1,INV-1,2026-10-01,2026-10-31,100.00,EUR\n"
    )
    assert (status, summary["accepted"], file_notes(summary["notes"])) == (FileStatus.INGESTED, 1, [])
    assert timeline.entries[0].summary.endswith("skipped 0")


def test_a_file_of_0_bytes_is_refused_and_named() -> None:
    # Given a file with no bytes at all (no header either)
    # When it is ingested
    status, summary, timeline = ingest("incoming/payments/payments-2026-11-23.csv", b"")
    # Then it is refused as a whole, saying it is empty, and the timeline's line names it
    assert status is FileStatus.REJECTED
    assert summary["errors"] == ["the file is empty: it holds no data"]
    [entry] = timeline.entries
    assert entry.summary == (
        "incoming/payments/payments-2026-11-23.csv (no mapping): the file is empty: it holds no data"
    )
    assert outcome_line("payments-2026-11-23.csv", summary).endswith(
        "; errors: the file is empty: it holds no data"
    )
    assert outcome_line("payments-2026-11-23.csv", summary).startswith("payments-2026-11-23.csv: rows_read 0")


def test_a_note_about_the_whole_file_is_kept_past_the_limit_of_notes() -> None:
    report = IngestReport()
    for line in range(2, MAX_NOTES + 12):
        report.note(line, [FieldError("due_date", "x", "is before invoice_date: kept as given")])
    report.note_file("an empty snapshot: no open item was closed")
    assert len(report.notes) == MAX_NOTES
    assert report.notes_total == MAX_NOTES + 11
    assert file_notes(report.notes) == ["an empty snapshot: no open item was closed"]


def test_arcollect_ingest_prints_the_note_and_succeeds(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the result of an empty payments file (a day without payments)
    _, summary, _ = ingest("incoming/payments/payments.csv", HEADERS["payments"])
    monkeypatch.setattr(cli.Target, "resolve", classmethod(lambda cls, stack, root: None))
    monkeypatch.setattr(cli, "ingest_file", lambda *args, **kwargs: summary)
    # When `arcollect ingest` reports it
    code = cli.main(["ingest", "payments.csv", "--kind", "payments"])
    # Then it says nothing was loaded, in the same line as the counts, and succeeds
    assert code == 0
    assert capsys.readouterr().out == (
        "payments.csv: rows_read 0, accepted 0, rejected 0, unchanged 0, skipped 0; "
        f"note: {EMPTY_FILE_NOTE}\n"
    )
