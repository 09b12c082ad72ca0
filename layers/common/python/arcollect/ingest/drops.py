"""Receiving drops: S3 notifications (via SQS) to recorded files, each object version exactly once."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Protocol
from urllib.parse import unquote_plus

from arcollect.clock import format_instant, parse_instant
from arcollect.contract import DropPrefix
from arcollect.entities import DropKind, FileStatus, IngestFile
from arcollect.ingest.layouts import Entity, Layout, layout_for
from arcollect.ingest.loading import AccountsStore, DryRun, load_chunk
from arcollect.ingest.results import IngestReport, ResultWriter, rejected_rows_key, results_key
from arcollect.ingest.tabular import FileProblem, read_table
from arcollect.observability import logger
from arcollect.store.errors import ObjectMissing


class MalformedNotification(ValueError):
    """An SQS message body that is not an S3 event notification: it cannot be retried into shape."""


@dataclass(frozen=True)
class Drop:
    """One object version named by one S3 ``ObjectCreated`` record."""

    bucket: str
    key: str
    version_id: str
    size: int
    etag: str
    event_time: datetime


@dataclass(frozen=True)
class DropOutcome:
    file: IngestFile
    duplicate: bool
    summary: dict[str, Any] = field(default_factory=dict)


class FileRegister(Protocol):
    def record(self, file: IngestFile) -> bool: ...


class ObjectReader(Protocol):
    def iter_bytes(self, bucket: str, key: str, version_id: str | None = None) -> Iterator[bytes]: ...


def parse_notification(body: str) -> list[Drop]:
    """The drops in an SQS message body; ``[]`` for S3's ``s3:TestEvent`` sent when wiring the bucket."""
    try:
        message = json.loads(body)
    except json.JSONDecodeError as error:
        raise MalformedNotification(
            f"message body is not JSON: {error.msg} at position {error.pos}"
        ) from error
    if not isinstance(message, dict):
        raise MalformedNotification("message body is not a JSON object")
    if message.get("Event") == "s3:TestEvent":
        return []
    records = message.get("Records")
    if not isinstance(records, list):
        raise MalformedNotification("message body has no 'Records' list: not an S3 event notification")
    return [_drop_from_record(index, record) for index, record in enumerate(records)]


def _drop_from_record(index: int, record: Any) -> Drop:
    try:
        s3 = record["s3"]
        obj = s3["object"]
        return Drop(
            bucket=s3["bucket"]["name"],
            # S3 URL-encodes keys in notifications (a space arrives as '+').
            key=unquote_plus(obj["key"]),
            # An unversioned bucket has no versionId; S3 then calls the only version "null".
            version_id=obj.get("versionId") or "null",
            size=int(obj.get("size", 0)),
            etag=str(obj.get("eTag", "")),
            event_time=parse_instant(record["eventTime"], what="eventTime"),
        )
    except (KeyError, TypeError) as error:
        raise MalformedNotification(f"record {index} lacks {error} of an S3 event record") from error


def kind_of(key: str) -> DropKind | None:
    """The kind named by ``incoming/<kind>/...``, or None when the key does not follow the layout."""
    if not key.startswith(DropPrefix.INCOMING):
        return None
    first = key[len(DropPrefix.INCOMING) :].split("/", 1)[0]
    try:
        return DropKind(first)
    except ValueError:
        return None


def count_rows(chunks: Iterable[bytes]) -> int:
    """Data rows of a text file with a header line: line breaks counted while streaming."""
    lines = 0
    last = b"\n"
    for chunk in chunks:
        if chunk:
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    if last != b"\n":
        lines += 1  # a final line without a line break is still a line
    return max(lines - 1, 0)


CHUNK_ROWS: Final = 250


def receive_drop(
    drop: Drop,
    *,
    reader: ObjectReader,
    register: FileRegister,
    now: datetime,
    accounts: AccountsStore | None = None,
    outputs: ResultWriter | None = None,
) -> DropOutcome:
    """Ingest one dropped object version: load its rows into ``accounts``, record the version once in
    ``register``, and write the result summary and the rejected rows to ``outputs``.

    The file is read twice, streamed both times: first to check it as a whole (UTF-8, CSV structure,
    header), so a file-level problem stops it before any row is loaded; then to load it in chunks of
    ``CHUNK_ROWS`` rows. Loading is idempotent (unchanged rows write nothing, payments are recorded
    once), so a run that dies midway is simply run again by the queue's retry; the register is written
    last and makes a repeated notification a duplicate whose outputs are not written again.

    Without ``accounts`` nothing is loaded: the file is checked and its rows counted (a dry run).
    """
    kind = kind_of(drop.key)
    report = IngestReport()
    errors: tuple[str, ...] = ()
    layout: Layout | None = None
    try:
        if kind is None:
            expected = ", ".join(k.value for k in DropKind)
            errors = (f"{drop.key}: not under incoming/<kind>/ with kind one of {expected}",)
        else:
            layout = layout_for(kind, drop.key)
            try:
                _check_file(drop, reader, layout)
            except FileProblem as problem:
                errors = (str(problem),)
            else:
                _load_file(drop, reader, layout, accounts or DryRun(), report)
    except ObjectMissing as error:
        # Deleted before we got to it: retrying cannot help, so record why it was not ingested.
        errors = (f"{error}: deleted from the drop bucket before it could be ingested",)
    if errors:
        status = FileStatus.REJECTED
    else:
        status = FileStatus.INGESTED if accounts is not None else FileStatus.RECEIVED
    file = IngestFile(
        bucket=drop.bucket,
        key=drop.key,
        version_id=drop.version_id,
        kind=kind,
        size=drop.size,
        etag=drop.etag,
        event_time=drop.event_time,
        received_at=now,
        status=status,
        rows_read=report.rows_read,
        errors=errors,
        layout=layout.name if layout else None,
        accepted=report.accepted,
        rejected=report.rejected,
        unchanged=report.unchanged,
        skipped=report.skipped,
        invoices_closed=report.invoices_closed,
        payments_applied=report.payments_applied,
        results_key=results_key(drop.key) if outputs else None,
        rejected_rows_key=rejected_rows_key(drop.key) if outputs else None,
    )
    summary = result_summary(file, report, now=now)
    recorded = register.record(file)
    if recorded and outputs is not None:
        for reason in errors:
            report.reject_file(reason)
        outputs.put_file(drop.bucket, rejected_rows_key(drop.key), report.rejected_rows(), "text/csv")
        outputs.put_json(drop.bucket, results_key(drop.key), summary)
    report.close()
    logger.info(
        "drop received",
        extra={
            "key": drop.key,
            "version_id": drop.version_id,
            "duplicate": not recorded,
            **{name: value for name, value in summary.items() if name not in {"notes", "errors"}},
            "errors": list(errors),
        },
    )
    return DropOutcome(file=file, duplicate=not recorded, summary=summary)


def _check_file(drop: Drop, reader: ObjectReader, layout: Layout) -> None:
    """Read the whole file once without loading it: raises ``FileProblem`` for what stops it."""
    table = read_table(reader.iter_bytes(drop.bucket, drop.key, drop.version_id))
    layout.bind(table.header.values)
    for _ in table.records:
        pass


def _load_file(
    drop: Drop, reader: ObjectReader, layout: Layout, accounts: AccountsStore, report: IngestReport
) -> None:
    try:
        table = read_table(reader.iter_bytes(drop.bucket, drop.key, drop.version_id))
        bound = layout.bind(table.header.values)
        report.delimiter = table.delimiter_name
        report.ignored_columns = bound.ignored_columns
        chunk: list[tuple[int, Entity]] = []
        for record in table.records:
            report.read()
            if record.blank:
                report.skip()
                continue
            mapped = bound.map(record.values)
            if mapped.notes:
                report.note(record.line, mapped.notes)
            if mapped.entity is None:
                report.reject(record.line, mapped.errors)
                continue
            chunk.append((record.line, mapped.entity))
            if len(chunk) >= CHUNK_ROWS:
                load_chunk(layout.kind, accounts, chunk, report)
                chunk = []
        load_chunk(layout.kind, accounts, chunk, report)
    except FileProblem as problem:
        # The first read found the file sound; the version is immutable, so this is not the file's fault.
        raise RuntimeError(
            f"{drop.key} (version {drop.version_id}) read differently the second time"
        ) from problem


def result_summary(file: IngestFile, report: IngestReport, *, now: datetime) -> dict[str, Any]:
    """The ``results/...json`` document of one ingested file version."""
    return {
        "bucket": file.bucket,
        "key": file.key,
        "version": file.version_id,
        "kind": file.kind.value if file.kind else None,
        "layout": file.layout,
        "status": file.status.value,
        # Times come from the notification, never from the sandbox's clock (see clock.py).
        "started_at": format_instant(now),
        "finished_at": format_instant(now),
        "delimiter": report.delimiter,
        **report.counts(),
        "errors": list(file.errors),
        "notes": list(report.notes),
        "notes_total": report.notes_total,
        "ignored_columns": list(report.ignored_columns),
        "rejected_rows_key": file.rejected_rows_key,
    }
