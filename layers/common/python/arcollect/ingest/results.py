"""What an ingest run reports: counts, the rejected rows (as a CSV for the ERP team) and notes.

The rejected rows are spooled to a temporary file (in memory up to a megabyte, then on disk), so a file
with a million bad rows is reported in full without holding it in memory.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, Final, Protocol

from arcollect.contract import DropPrefix
from arcollect.ingest.fields import FieldError

# One row's line, or the lines of the rows collapsed into one document.
Lines = int | tuple[int, ...]
REJECTED_COLUMNS: Final = ("row", "column", "value", "reason")
MAX_NOTES: Final = 100
EMPTY_FILE_NOTE: Final = "the file has a header and no rows: nothing was loaded"
# The row of a note about the file as a whole (an empty file, a snapshot that closed nothing).
FILE_NOTE_ROW: Final = 0
_SPOOL_BYTES: Final = 1024 * 1024
# A spreadsheet would run a cell that starts with one of these as a formula.
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


class ResultWriter(Protocol):
    def put_json(self, bucket: str, key: str, document: Any) -> None: ...

    def put_file(self, bucket: str, key: str, body: IO[bytes], content_type: str) -> None: ...


def _relative(key: str) -> str:
    return key[len(DropPrefix.INCOMING) :] if key.startswith(DropPrefix.INCOMING) else key


def results_key(key: str) -> str:
    """``incoming/invoices/a.csv`` -> ``results/invoices/a.csv.json``."""
    return f"{DropPrefix.RESULTS}{_relative(key)}.json"


def rejected_rows_key(key: str) -> str:
    """``incoming/invoices/a.csv`` -> ``rejected/invoices/a.csv.errors.csv``."""
    return f"{DropPrefix.REJECTED}{_relative(key)}.errors.csv"


def neutralise(cell: str) -> str:
    """Keep a cell from being run as a spreadsheet formula when the CSV is opened."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


@dataclass
class IngestReport:
    """Counts and reasons of one run over one file.

    Every data row ends up in exactly one of ``accepted``, ``rejected`` or ``skipped``; ``unchanged``
    counts the accepted rows that wrote nothing because the table already said the same.
    """

    rows_read: int = 0
    accepted: int = 0
    rejected: int = 0
    unchanged: int = 0
    skipped: int = 0
    invoices_closed: int = 0
    payments_applied: int = 0
    placeholders_created: int = 0
    # Rows about invoices a newer file (by as-of time) has already changed: accepted, not applied.
    superseded: int = 0
    skip_reasons: dict[str, int] = field(default_factory=dict)
    notes: list[dict[str, Any]] = field(default_factory=list)
    notes_total: int = 0
    ignored_columns: tuple[str, ...] = ()
    shape: dict[str, Any] | None = None
    # A snapshot that listed no open item (empty, or every row refused): it closes nothing, and it does
    # not make the invoices feed current, so a broken export that keeps coming out empty is held on by
    # the freshness hold instead of dunning on the balances it can no longer confirm.
    unconfirmed_snapshot: bool = False
    _spool: IO[bytes] = field(
        default_factory=lambda: tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES, mode="w+b")  # noqa: SIM115
    )

    def __post_init__(self) -> None:
        self._write_rejected_line(REJECTED_COLUMNS)

    def read(self, rows: int = 1) -> None:
        self.rows_read += rows

    def skip(self, reason: str) -> None:
        """A layout row (a preamble, section, total, void document, further line item...): counted by why."""
        self.skipped += 1
        self.skip_reasons[reason] = self.skip_reasons.get(reason, 0) + 1

    def accept(self, lines: Lines, *, changed: bool) -> None:
        """An accepted row, or the rows of one collapsed document (an invoice's line items)."""
        count = 1 if isinstance(lines, int) else len(lines)
        self.accepted += count
        if not changed:
            self.unchanged += count

    def reject(self, lines: Lines, errors: Sequence[FieldError]) -> None:
        first = lines if isinstance(lines, int) else lines[0]
        self.rejected += 1 if isinstance(lines, int) else len(lines)
        for error in errors:
            self._write_rejected_line((str(first), error.column, error.value, error.reason))

    def reject_file(self, reason: str) -> None:
        """List a file-level problem in the rejected-rows CSV (with no row: it concerns the file)."""
        self._write_rejected_line(("", "", "", reason))

    def note(self, lines: Lines, notes: Sequence[FieldError]) -> None:
        line = lines if isinstance(lines, int) else lines[0]
        for note in notes:
            self.notes_total += 1
            if len(self.notes) < MAX_NOTES:
                self.notes.append(
                    {"row": line, "column": note.column, "value": note.value, "note": note.reason}
                )

    def note_file(self, reason: str) -> None:
        """A note about the file as a whole (row 0): always listed, even past ``MAX_NOTES`` (a row's
        note gives way to it), since it says what became of the whole file."""
        self.notes_total += 1
        if len(self.notes) >= MAX_NOTES:
            rows = [i for i, note in enumerate(self.notes) if note.get("row") != FILE_NOTE_ROW]
            if not rows:
                return
            del self.notes[rows[-1]]
        self.notes.append({"row": FILE_NOTE_ROW, "column": "", "value": "", "note": reason})

    def note_if_nothing_loaded(self) -> None:
        """Say so when the file had no data row to load (a header alone, or layout rows only): the
        count 0 alone is easily read past, and an export that failed upstream often looks like this.
        A note, not an error: a payments file of a day without payments is empty too."""
        if self.accepted or self.rejected:
            return
        if not self.rows_read:
            self.note_file(EMPTY_FILE_NOTE)
            return
        rows = "row" if self.skipped == 1 else "rows"
        self.note_file(
            f"the file has no data rows, only {self.skipped} layout {rows} (skipped): nothing was loaded"
        )

    def _write_rejected_line(self, cells: Sequence[str]) -> None:
        text = io.StringIO()
        csv.writer(text, lineterminator="\r\n").writerow([neutralise(cell) for cell in cells])
        self._spool.write(text.getvalue().encode())

    def rejected_rows(self) -> IO[bytes]:
        """The rejected-rows CSV (header ``row,column,value,reason``), rewound for reading."""
        self._spool.seek(0)
        return self._spool

    def close(self) -> None:
        self._spool.close()

    def part(self) -> dict[str, Any]:
        """This run's counts and notes, for merging with the other chunks of one file (``absorb``)."""
        return {
            **self.counts(),
            "skip_reasons": self.skip_reasons,
            "notes": self.notes,
            "notes_total": self.notes_total,
        }

    def absorb(self, part: dict[str, Any], rejected_csv: Iterable[bytes]) -> None:
        """Add one chunk's part and its rejected-rows CSV (whose header line is dropped)."""
        for name in self.counts():
            setattr(self, name, getattr(self, name) + int(part.get(name, 0)))
        for reason, count in part.get("skip_reasons", {}).items():
            self.skip_reasons[reason] = self.skip_reasons.get(reason, 0) + int(count)
        self.notes.extend(part.get("notes", [])[: MAX_NOTES - len(self.notes)])
        self.notes_total += int(part.get("notes_total", 0))
        header_done = False
        for chunk in rejected_csv:
            if not header_done:
                newline = chunk.find(b"\n")
                if newline < 0:
                    continue
                chunk, header_done = chunk[newline + 1 :], True
            self._spool.write(chunk)

    def counts(self) -> dict[str, int]:
        return {
            "rows_read": self.rows_read,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "invoices_closed": self.invoices_closed,
            "payments_applied": self.payments_applied,
            "placeholders_created": self.placeholders_created,
            "superseded": self.superseded,
        }


def file_notes(notes: Iterable[dict[str, Any]]) -> list[str]:
    """The notes of a result summary that concern the file as a whole, to show beside its counts."""
    return [str(note.get("note", "")) for note in notes if note.get("row") == FILE_NOTE_ROW]
