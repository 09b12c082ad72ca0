"""The table exported to the reports bucket and compacted into the reports' Parquet (reports/warehouse).

Each run (``advance``) moves the exports one step, and any run may die and be repeated:
1. every export in progress is asked about (DescribeExport); a failed one is recorded, counted
   (``ExportsFailed``: the stack alarms on it) and started again for the same window, up to
   ``MAX_ATTEMPTS`` times;
2. the completed exports are folded into the Parquet in order (a full export replaces it, an incremental
   one replaces the items it names), and each is recorded as compacted only after its Parquet is written:
   folding the same export twice gives the same files;
3. the next export starts: a full one on demand or when none was ever made, else the incremental one
   from the last window's end to now (at most 24 hours, at least 15 minutes: DynamoDB's limits).

An export is claimed before it is started, by writing its record only if none exists (S3's conditional
put), and DynamoDB is given the record's name as its idempotency token: two runs at once start it once.
Records live at ``warehouse/_exports/<name>.json``, the export's files under ``exports/<name>/``, the
Parquet under ``warehouse/tables/<table>/`` (the Glue tables' locations).
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from arcollect.reports.warehouse.compaction import blank_missing
from arcollect.store.exports import (
    COMPLETED,
    FAILED,
    IN_PROGRESS,
    MAX_INCREMENTAL_WINDOW,
    MIN_INCREMENTAL_WINDOW,
    ExportState,
    ItemChange,
)

EXPORTS_PREFIX = "exports/"
WAREHOUSE_PREFIX = "warehouse/"
TABLES_PREFIX = "warehouse/tables/"
RECORDS_PREFIX = "warehouse/_exports/"
MAX_ATTEMPTS = 3
# The daily export's schedule (UTC): an hour before the daily report's default 05:00, so that the report
# stands on the night's Parquet. infra/constructs/warehouse.py deploys it; the local stack lists it.
EXPORT_SCHEDULE = "cron(0 4 * * ? *)"
FULL, INCREMENTAL = "full", "incremental"


class Exports(Protocol):
    def start(
        self,
        *,
        table_arn: str,
        bucket: str,
        prefix: str,
        client_token: str,
        window: tuple[datetime, datetime] | None = None,
    ) -> ExportState: ...

    def describe(self, arn: str) -> ExportState: ...


# Folds an export's items into the Parquet in a folder (full: the whole table); each table's rows.
Compactor = Callable[[Iterable[ItemChange], bool, Path], dict[str, int]]


class ExportStore(Protocol):
    def keys(self, bucket: str, prefix: str) -> list[str]: ...
    def changes(self, bucket: str, prefix: str) -> Iterable[ItemChange]: ...
    def read_record(self, bucket: str, key: str) -> dict[str, Any] | None: ...
    def claim_record(self, bucket: str, key: str, record: dict[str, Any]) -> bool: ...
    def save_record(self, bucket: str, key: str, record: dict[str, Any]) -> None: ...
    def download(self, bucket: str, prefix: str, folder: Path) -> int: ...
    def upload(self, folder: Path, bucket: str, prefix: str) -> list[str]: ...


@dataclass
class ExportRun:
    started: list[str] = field(default_factory=list)
    completed: list[str] = field(default_factory=list)
    compacted: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    # Failed for good (MAX_ATTEMPTS): a person looks at the alarm; exports wait until one succeeds.
    abandoned: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "started": self.started,
            "completed": self.completed,
            "compacted": self.compacted,
            "failed": self.failed,
            "abandoned": self.abandoned,
            "rows": self.rows,
        }


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _name(kind: str, until: datetime, attempt: int) -> str:
    return f"{kind}-{_instant(until)}-{attempt}"


def _token(name: str) -> str:
    # DynamoDB's ClientToken: the same name is the same request, whichever run sends it.
    return hashlib.sha256(name.encode()).hexdigest()[:32]


def _record_key(name: str) -> str:
    return f"{RECORDS_PREFIX}{name}.json"


def advance(
    *,
    now: datetime,
    table_arn: str,
    bucket: str,
    exports: Exports,
    store: ExportStore,
    full: bool = False,
    compact: Compactor | None = None,
) -> ExportRun:
    """One step of the exports as of ``now`` (see the module's docstring); ``full`` asks for a full one.
    ``compact(changes, full, folder)`` folds an export into the Parquet in ``folder`` (the warehouse's
    ``merge_changes``, passed in so that this module loads no DuckDB of its own)."""
    run = ExportRun()
    records = _records(store, bucket)
    for record in records:
        if record["status"] == IN_PROGRESS:
            _follow(record, table_arn, bucket, exports, store, run)
    pending = [r for r in records if r["status"] == COMPLETED and not r.get("compacted")]
    if pending and compact is not None:
        _compact(sorted(pending, key=lambda r: r["until"]), bucket, store, compact, run)
    busy = any(r["status"] == IN_PROGRESS for r in _records(store, bucket))
    if not busy:
        _start_next(records, now, table_arn, bucket, exports, store, run, full=full)
    return run


def exported_until(store: ExportStore, bucket: str) -> datetime | None:
    """Up to when the warehouse's Parquet holds the table: the end of the newest export that completed
    and was compacted (None: none yet). Windows follow each other, and after a failure given up on no
    later one is exported, so this is where the exported history stops."""
    ends = [
        datetime.fromisoformat(r["until"])
        for r in _records(store, bucket)
        if r["status"] == COMPLETED and r.get("compacted")
    ]
    return max(ends, default=None)


def _records(store: ExportStore, bucket: str) -> list[dict[str, Any]]:
    found = []
    for key in store.keys(bucket, RECORDS_PREFIX):
        record = store.read_record(bucket, key)
        if record is not None:
            found.append(record)
    return sorted(found, key=lambda r: (r["until"], r["attempt"]))


def _follow(
    record: dict[str, Any],
    table_arn: str,
    bucket: str,
    exports: Exports,
    store: ExportStore,
    run: ExportRun,
) -> None:
    state = exports.describe(record["arn"])
    if state.status == IN_PROGRESS:
        return
    record["status"] = state.status
    record["items"] = state.item_count
    if state.status == COMPLETED:
        run.completed.append(record["name"])
    elif state.status == FAILED:
        record["failure"] = state.failure
        run.failed.append(record["name"])
    store.save_record(bucket, _record_key(record["name"]), record)
    if state.status == FAILED:
        if record["attempt"] >= MAX_ATTEMPTS:
            run.abandoned.append(record["name"])
            return
        window = None
        if record["kind"] == INCREMENTAL:
            window = (datetime.fromisoformat(record["since"]), datetime.fromisoformat(record["until"]))
        _start(
            record["kind"],
            window,
            datetime.fromisoformat(record["until"]),
            record["attempt"] + 1,
            table_arn,
            bucket,
            exports,
            store,
            run,
        )


def _start_next(
    records: list[dict[str, Any]],
    now: datetime,
    table_arn: str,
    bucket: str,
    exports: Exports,
    store: ExportStore,
    run: ExportRun,
    *,
    full: bool,
) -> None:
    done = [r for r in records if r["status"] == COMPLETED]
    last_done = max((r["until"] for r in done), default="")
    given_up = [r for r in records if r["status"] == FAILED and r["attempt"] >= MAX_ATTEMPTS]
    if not full and any(r["until"] > last_done for r in given_up):
        # A window that failed for good is a gap no later incremental export may skip over: only a
        # full export (on demand) starts the exports again.
        return
    if full or not any(r["kind"] == FULL for r in done):
        _start(FULL, None, now, 1, table_arn, bucket, exports, store, run)
        return
    since = datetime.fromisoformat(max(r["until"] for r in done))
    until = min(now, since + MAX_INCREMENTAL_WINDOW)
    if until - since < MIN_INCREMENTAL_WINDOW:
        return  # too soon: DynamoDB refuses a window under 15 minutes
    _start(INCREMENTAL, (since, until), until, 1, table_arn, bucket, exports, store, run)


def _start(
    kind: str,
    window: tuple[datetime, datetime] | None,
    until: datetime,
    attempt: int,
    table_arn: str,
    bucket: str,
    exports: Exports,
    store: ExportStore,
    run: ExportRun,
) -> None:
    name = _name(kind, until, attempt)
    record: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "since": window[0].isoformat() if window else None,
        "until": until.isoformat(),
        "attempt": attempt,
        "status": "CLAIMED",
        "prefix": f"{EXPORTS_PREFIX}{name}",
    }
    key = _record_key(name)
    if not store.claim_record(bucket, key, record):
        existing = store.read_record(bucket, key) or {}
        if existing.get("status") != "CLAIMED":
            return  # another run started it
        # A run claimed it and died before DynamoDB answered: the same token makes this the same request.
    state = exports.start(
        table_arn=table_arn, bucket=bucket, prefix=record["prefix"], client_token=_token(name), window=window
    )
    record.update(arn=state.arn, status=state.status)
    store.save_record(bucket, key, record)
    run.started.append(name)


def _compact(
    pending: list[dict[str, Any]], bucket: str, store: ExportStore, compact: Compactor, run: ExportRun
) -> None:
    """The completed exports folded into the Parquet in the reports bucket, oldest first; a full export
    makes everything before it moot."""
    fulls = [index for index, record in enumerate(pending) if record["kind"] == FULL]
    if fulls:
        for skipped in pending[: fulls[-1]]:
            skipped["compacted"] = "superseded"
            store.save_record(bucket, _record_key(skipped["name"]), skipped)
        pending = pending[fulls[-1] :]
    with tempfile.TemporaryDirectory(prefix="arcollect-warehouse-") as scratch:
        folder = Path(scratch)
        if pending[0]["kind"] != FULL:
            store.download(bucket, TABLES_PREFIX, folder)
        for record in pending:
            run.rows = compact(store.changes(bucket, record["prefix"] + "/"), record["kind"] == FULL, folder)
        # The files a compaction no longer has (a month whose documents all went) are overwritten with
        # no rows, never deleted: the Parquet in the bucket is then exactly the folder's.
        stored = [key[len(TABLES_PREFIX) :] for key in store.keys(bucket, TABLES_PREFIX)]
        blank_missing(folder, stored)
        store.upload(folder, bucket, TABLES_PREFIX)
    for record in pending:
        record["compacted"] = True
        store.save_record(bucket, _record_key(record["name"]), record)
        run.compacted.append(record["name"])
