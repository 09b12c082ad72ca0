"""Receiving drops: S3 notifications (via SQS) to loaded files, each object version exactly once.

One dropped object version goes through:

1. **plan** — the kind from the key (``incoming/<kind>/[<mapping>/]<file>``); the shape of the bytes
   (format, compression, encoding, delimiter: ``sources.inspect`` reads the whole file once, so a broken
   file stops here before any row is loaded); the mapping (named by the folder, uploaded to
   ``config/mappings/``, or detected from the header); the mode (snapshot or delta) and the as-of time
   (the mapping's preamble date, the uploader's ``arcollect-as-of`` object metadata, else the drop time).
2. **load** — rows streamed through the bound mapping and loaded a chunk at a time (``loading.py``).
   A file above ``FAN_OUT_LINES`` lines is split into line ranges that run as separate queue messages
   in parallel; each writes a part result, and the last one to finish merges them.
3. **finish** — a snapshot closes the open items it no longer lists; the file version is recorded in
   the register (a repeated notification of it is then a duplicate); the result summary, the rejected
   rows and an entry in the ingest timeline are written.

Loading is idempotent (unchanged rows write nothing, payments are recorded once), so a run that dies
midway is simply run again by the queue's retry.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time
from itertools import compress, repeat
from operator import itemgetter, not_
from typing import IO, Any, Final, Protocol
from urllib.parse import unquote_plus

from arcollect.clock import format_instant, parse_instant
from arcollect.company import CompanySettings, company_settings
from arcollect.contract import DropPrefix, ObjectMetadata
from arcollect.entities import Activity, DropKind, FeedFile, FileStatus, IngestFile, Invoice
from arcollect.ingest.conventions import (
    Conventions,
    conventions_from_json,
    conventions_json,
    detect,
    inferred,
)
from arcollect.ingest.fields import FieldError
from arcollect.ingest.loading import (
    AccountsStore,
    DryRun,
    LoadContext,
    close_missing,
    load_chunk,
    repeated_invoice,
    split_for_load,
    stated_digest,
    stated_elsewhere,
)
from arcollect.ingest.mappings import (
    MODES,
    PRESETS,
    SNAPSHOT,
    BoundMapping,
    ColumnMapping,
    MappedRow,
    MappingError,
    choose,
    head,
    load_mapping,
)
from arcollect.ingest.results import (
    IngestReport,
    Lines,
    ResultWriter,
    file_notes,
    rejected_rows_key,
    results_key,
)
from arcollect.ingest.schema import Entity
from arcollect.ingest.sources import (
    FileProblem,
    Record,
    Shape,
    check_object_size,
    inspect,
    read_blocks,
    read_records,
)
from arcollect.observability import logger
from arcollect.store.errors import ObjectMissing

CHUNK_ROWS: Final = 250


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while rows are mapped, and resume it as it was. Mapping makes no
    reference cycles (a test holds it to that), so nothing is left for the collector afterwards.

    What the block leaves alive (its records and rows, four objects a row, no cycle among them) is then
    moved to the oldest generation, where reference counting frees it when the caller is done with it:
    left young, the collector's next young collection would walk all of it once more (6% of mapping a
    file) and find nothing. ``freeze`` then ``unfreeze`` is that move, done by relinking the lists; it
    is skipped while someone else keeps objects frozen (``unfreeze`` would release theirs too)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        if was_enabled:
            gc.enable()


_VALUES: Final = itemgetter(1)  # a Record's values, at C speed
_FIRST: Final = itemgetter(0)

# Rows mapped together, column by column (``BoundMapping.map_many``): enough to amortise the columns'
# set-up, few enough to keep a block's cells small beside the file.
MAP_ROWS: Final = 1000
# Files longer than this are loaded by several invocations in parallel, each a range of lines.
FAN_OUT_LINES: Final = 40_000
MODE_METADATA: Final = ObjectMetadata.MODE
AS_OF_METADATA: Final = ObjectMetadata.AS_OF
HEAD_RECORDS: Final = 120
MAX_NOTES: Final = 100


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
class Chunk:
    """A range of a large file's lines, loaded by one invocation (``index`` of ``count``)."""

    drop: Drop
    index: int
    count: int
    first_line: int
    last_line: int
    # The file's date and number conventions, decided once from all of it (ingest/conventions.py).
    conventions: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DropOutcome:
    file: IngestFile | None
    duplicate: bool
    summary: dict[str, Any] = field(default_factory=dict)
    chunks: int = 0  # > 0: fanned out; the summary arrives when the last chunk finishes


class FileRegister(Protocol):
    def record(self, file: IngestFile) -> bool: ...

    def get(self, key: str, version_id: str) -> IngestFile | None: ...

    def chunk_done(self, key: str, version_id: str, index: int) -> int:
        """Mark chunk ``index`` of a file version done; the number of distinct chunks done so far."""
        ...


class ObjectReader(Protocol):
    def iter_bytes(self, bucket: str, key: str, version_id: str | None = None) -> Iterator[bytes]: ...

    def metadata(self, bucket: str, key: str, version_id: str | None = None) -> dict[str, str]: ...

    def read_text(self, bucket: str, key: str) -> str | None: ...


class Timeline(Protocol):
    def record_ingest(self, activity: Activity) -> bool: ...


class FeedLog(Protocol):
    """Each feed's newest file: dunning holds while one is too old (dunning/freshness.py)."""

    def delivered(self, file: FeedFile) -> bool: ...


class FanOut(Protocol):
    def send(self, messages: list[dict[str, Any]]) -> None: ...


class PartStore(Protocol):
    """Where chunks leave their partial results for the one that merges them."""

    def put_json(self, bucket: str, key: str, document: Any) -> None: ...

    def put_file(self, bucket: str, key: str, body: IO[bytes], content_type: str) -> None: ...

    def read_json(self, bucket: str, key: str) -> Any: ...

    def iter_bytes(self, bucket: str, key: str, version_id: str | None = None) -> Iterator[bytes]: ...


# -- notifications ---------------------------------------------------------------------------------


def parse_message(body: str) -> list[Drop | Chunk]:
    """The work in one ingest-queue message: S3's notification of drops, or one of our chunk messages.
    ``[]`` for S3's ``s3:TestEvent`` sent when the bucket is wired."""
    try:
        message = json.loads(body)
    except json.JSONDecodeError as error:
        raise MalformedNotification(
            f"message body is not JSON: {error.msg} at position {error.pos}"
        ) from error
    if not isinstance(message, dict):
        raise MalformedNotification("message body is not a JSON object")
    if "arcollect_chunk" in message:
        return [chunk_from_message(message["arcollect_chunk"])]
    if message.get("Event") == "s3:TestEvent":
        return []
    records = message.get("Records")
    if not isinstance(records, list):
        raise MalformedNotification("message body has no 'Records' list: not an S3 event notification")
    return [_drop_from_record(index, record) for index, record in enumerate(records)]


def parse_notification(body: str) -> list[Drop]:
    return [work for work in parse_message(body) if isinstance(work, Drop)]


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


def chunk_message(chunk: Chunk) -> dict[str, Any]:
    drop = asdict(chunk.drop)
    drop["event_time"] = format_instant(chunk.drop.event_time)
    return {"arcollect_chunk": {**asdict(chunk), "drop": drop}}


def chunk_from_message(raw: Any) -> Chunk:
    try:
        drop = dict(raw["drop"])
        drop["event_time"] = parse_instant(drop["event_time"], what="event_time")
        return Chunk(
            drop=Drop(**drop),
            index=int(raw["index"]),
            count=int(raw["count"]),
            first_line=int(raw["first_line"]),
            last_line=int(raw["last_line"]),
            conventions=dict(raw.get("conventions") or {}),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise MalformedNotification(f"a chunk message lacks or garbles {error}") from error


def kind_of(key: str) -> DropKind | None:
    """The kind named by ``incoming/<kind>/...``, or None when the key does not follow the layout."""
    if not key.startswith(DropPrefix.INCOMING):
        return None
    first = key[len(DropPrefix.INCOMING) :].split("/", 1)[0]
    try:
        return DropKind(first)
    except ValueError:
        return None


def mapping_folder(key: str) -> str | None:
    """The mapping named by ``incoming/<kind>/<mapping>/<file>``; None for ``incoming/<kind>/<file>``."""
    parts = key.split("/")
    return parts[2] if len(parts) > 3 else None


# -- planning --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FilePlan:
    """How one file version is read: everything decided before its first row is loaded."""

    kind: DropKind
    shape: Shape
    mapping: ColumnMapping
    bound: BoundMapping
    mode: str
    as_of: datetime
    notes: tuple[str, ...] = ()
    conventions: Conventions = field(default_factory=dict)
    # The file's last line, when the conventions' read of it found it (else ``plan_chunks`` reads it).
    last_line: int | None = None

    def opener(self, reader: ObjectReader, drop: Drop) -> Any:
        return lambda: reader.iter_bytes(drop.bucket, drop.key, drop.version_id)


def named_mapping(kind: DropKind, name: str, reader: ObjectReader, bucket: str) -> ColumnMapping:
    """A mapping by name: the bucket's ``config/mappings/NAME.yaml`` first (a team's own), then presets."""
    source = f"{DropPrefix.MAPPINGS}{name}.yaml"
    text = reader.read_text(bucket, source)
    if text is not None:
        try:
            return load_mapping(text, source=source)
        except MappingError as error:
            raise FileProblem(str(error)) from error
    preset = PRESETS.get((kind, name))
    if preset is not None:
        return preset
    others = [k.value for k in DropKind if (k, name) in PRESETS]
    if others:
        raise FileProblem(
            f"the {name} mapping is for {others[0]} files, and this one was dropped under "
            f"incoming/{kind.value}/"
        )
    shipped = sorted({n for k, n in PRESETS if k is kind})
    raise FileProblem(
        f"no mapping named {name!r}: the {kind.value} presets are {', '.join(shipped)}; "
        f"or upload your own to {source}"
    )


def plan_file(
    drop: Drop,
    kind: DropKind,
    reader: ObjectReader,
    shape: Shape | None = None,
    *,
    conventions: Conventions | None = None,
    settings: CompanySettings | None = None,
) -> FilePlan:
    """Decide how to read a file; ``FileProblem`` for anything that stops it as a whole.

    A text file's date and number conventions are decided here from all its values (one more read of
    it), unless they are given: a chunk of a fanned-out file carries what its file's plan decided."""

    def opener() -> Iterator[bytes]:
        return reader.iter_bytes(drop.bucket, drop.key, drop.version_id)

    shape = shape or inspect(opener)
    first = head(read_records(opener, shape), HEAD_RECORDS)
    folder = mapping_folder(drop.key)
    named = named_mapping(kind, folder, reader, drop.bucket) if folder else None
    mapping, header = choose(kind, first, named)
    settings = settings or company_settings()
    last_line: list[int] = []
    if conventions is None and not shape.typed_cells:
        conventions = detect(
            mapping, header, _noting_last_line(opener, shape, last_line), settings.export_locale
        )
    bound = BoundMapping(
        mapping, header, typed_cells=shape.typed_cells, settings=settings, conventions=conventions
    )
    metadata = {k.lower(): v for k, v in reader.metadata(drop.bucket, drop.key, drop.version_id).items()}
    mode = metadata.get(MODE_METADATA, mapping.mode).strip().lower()
    if mode not in MODES:
        raise FileProblem(f"object metadata {MODE_METADATA}={mode!r}: must be snapshot or delta")
    if mode == SNAPSHOT and kind is not DropKind.INVOICES:
        raise FileProblem(f"only invoice files can be snapshots of open items, not {kind.value}")
    as_of = _as_of(metadata.get(AS_OF_METADATA), bound.as_of, drop.event_time)
    return FilePlan(
        kind=kind,
        shape=shape,
        mapping=mapping,
        bound=bound,
        mode=mode,
        as_of=as_of,
        conventions=conventions or {},
        last_line=last_line[0] if last_line else None,
    )


def _noting_last_line(
    opener: Callable[[], Iterator[bytes]], shape: Shape, last: list[int]
) -> Iterator[list[Record]]:
    """The file's blocks of records; once they are all read, ``last`` holds the last record's line (so
    planning the chunks of a large file needs no read of its own)."""
    line = 0
    for block in read_blocks(opener, shape, MAP_ROWS):
        if block:
            line = block[-1].line
        yield block
    last.append(line)


def _as_of(declared: str | None, from_file: date | None, dropped: datetime) -> datetime:
    """The time the file describes: what the uploader declared, else what the file says (a report's
    "As of" line: the state at the end of that day), else when it was dropped."""
    if declared:
        try:
            if len(declared.strip()) == 10:
                return _end_of(date.fromisoformat(declared.strip()))
            return parse_instant(declared.strip(), what=AS_OF_METADATA)
        except ValueError as error:
            raise FileProblem(
                f"object metadata {AS_OF_METADATA}={declared!r} is not a date or an ISO 8601 instant"
            ) from error
    if from_file is not None:
        return _end_of(from_file)
    return dropped


def _end_of(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


# -- receiving -------------------------------------------------------------------------------------


def receive_drop(
    drop: Drop,
    *,
    reader: ObjectReader,
    register: FileRegister,
    now: datetime,
    accounts: AccountsStore | None = None,
    outputs: ResultWriter | None = None,
    timeline: Timeline | None = None,
    fan_out: FanOut | None = None,
    feeds: FeedLog | None = None,
) -> DropOutcome:
    """Ingest one dropped object version (see the module docstring). Without ``accounts`` nothing is
    loaded: the file is checked and its rows counted (a dry run). With ``fan_out``, a file longer than
    ``FAN_OUT_LINES`` lines is loaded by chunk messages instead (see ``receive_chunk``)."""
    if drop.key.startswith(DropPrefix.DOCUMENTS):
        # An invoice's PDF for the portal (contract.document_key), not an ERP file: nothing to load,
        # and no result or rejected file that would say it failed.
        logger.info("invoice document received", extra={"key": drop.key})
        return DropOutcome(file=None, duplicate=False)
    if register.get(drop.key, drop.version_id) is not None:
        logger.info(
            "drop received", extra={"key": drop.key, "version_id": drop.version_id, "duplicate": True}
        )
        return DropOutcome(file=None, duplicate=True)
    kind = kind_of(drop.key)
    report = IngestReport()
    errors: tuple[str, ...] = ()
    plan: FilePlan | None = None
    try:
        if kind is None:
            expected = ", ".join(k.value for k in DropKind)
            errors = (f"{drop.key}: not under incoming/<kind>/ with kind one of {expected}",)
        else:
            try:
                check_object_size(drop.size)
                plan = plan_file(drop, kind, reader)
            except FileProblem as problem:
                errors = (str(problem),)
            else:
                if accounts is not None and fan_out is not None:
                    chunks = plan_chunks(drop, plan, reader)
                    if len(chunks) > 1:
                        fan_out.send([chunk_message(chunk) for chunk in chunks])
                        logger.info("drop fanned out", extra={"key": drop.key, "chunks": len(chunks)})
                        return DropOutcome(file=None, duplicate=False, chunks=len(chunks))
                context = LoadContext(
                    as_of=plan.as_of, now=now, source=drop.key, snapshot=plan.mode == SNAPSHOT
                )
                note_conventions(plan, report)
                load_lines(drop, plan, reader, accounts or DryRun(), report, context)
                report.note_if_nothing_loaded()
                if context.snapshot and accounts is not None:
                    close_missing(accounts, context, report)
    except ObjectMissing as error:
        # Deleted before we got to it: retrying cannot help, so record why it was not ingested.
        errors = (f"{error}: deleted from the drop bucket before it could be ingested",)
    return finish(
        drop,
        kind=kind,
        plan=plan,
        report=report,
        errors=errors,
        loaded=accounts is not None,
        now=now,
        register=register,
        outputs=outputs,
        timeline=timeline,
        feeds=feeds,
    )


def plan_chunks(drop: Drop, plan: FilePlan, reader: ObjectReader) -> list[Chunk]:
    """Line ranges of about ``FAN_OUT_LINES`` lines after the header; one range for a small file."""
    conventions = conventions_json(plan.conventions)
    if plan.last_line is not None:
        last = max(plan.last_line, plan.bound.header.line)
    else:
        last = plan.bound.header.line
        for record in read_records(plan.opener(reader, drop), plan.shape):
            last = record.line
    first = plan.bound.header.line + 1
    if last - first + 1 <= FAN_OUT_LINES:
        return [Chunk(drop, 0, 1, first, last, conventions)]
    starts = list(range(first, last + 1, FAN_OUT_LINES))
    return [
        Chunk(drop, index, len(starts), start, min(start + FAN_OUT_LINES - 1, last), conventions)
        for index, start in enumerate(starts)
    ]


def note_conventions(plan: FilePlan, report: IngestReport) -> None:
    """Note what the plan inferred of the file's conventions, and why (dates read day-first for being
    written DD.MM.YYYY), first among the file's notes: once per file, not once per chunk."""
    for note in inferred(plan.conventions):
        report.note(note.line, [FieldError(note.column, note.value, note.reason)])


def mapped_blocks(
    plan: FilePlan, reader: ObjectReader, drop: Drop, first_line: int, last_line: int | None = None
) -> Iterator[tuple[list[Record], list[MappedRow]]]:
    """The file's data rows from ``first_line`` to ``last_line`` (blank lines left out) and their mapping,
    a block at a time: read and mapped column by column (``BoundMapping.map_many``).

    The cycle collector is paused while a block is read and mapped (not while the caller loads it): a
    block makes tens of thousands of objects and no reference cycle (a test holds it to that), and the
    collector would walk them again and again for nothing, a third of the mapping's time."""
    blocks = read_blocks(plan.opener(reader, drop), plan.shape, MAP_ROWS)
    while True:
        with cycle_collector_paused():
            block = next(blocks, None)
            if block is None:
                return
            inside = block
            if block[0].line < first_line or (last_line is not None and block[-1].line > last_line):
                inside = [
                    record
                    for record in block
                    if record.line >= first_line and (last_line is None or record.line <= last_line)
                ]
            # An empty line is not a row. A record whose first cell holds text is not blank: that is
            # almost every record, told for the whole block at C speed; ``Record.blank`` (a join of
            # the cells) is asked only of the others.
            records = inside
            values = list(map(_VALUES, inside))
            if all(values):  # every record has a cell (an empty line has none)
                firsts = list(map(str.strip, map(_FIRST, values)))
            else:
                firsts = list(map(str.strip, map(next, map(iter, values), repeat(""))))
            if not all(firsts):
                blank = {i for i in compress(range(len(inside)), map(not_, firsts)) if inside[i].blank}
                if blank:
                    records = [record for i, record in enumerate(inside) if i not in blank]
            rows = plan.bound.map_many(records)
        yield records, rows
        if last_line is not None and block[-1].line > last_line:
            return


def load_lines(
    drop: Drop,
    plan: FilePlan,
    reader: ObjectReader,
    accounts: AccountsStore,
    report: IngestReport,
    context: LoadContext,
    first_line: int | None = None,
    last_line: int | None = None,
) -> None:
    """Map and load the data rows (between ``first_line`` and ``last_line`` when given), a chunk of
    ``CHUNK_ROWS`` at a time; every row read ends up accepted, rejected or skipped."""
    bound = plan.bound
    start = bound.header.line + 1 if first_line is None else first_line
    report.shape = plan.shape.describe()
    report.ignored_columns = bound.ignored_columns
    batch: list[tuple[Any, Entity]] = []
    group: _Group | None = None

    def add(lines: Lines, entity: Entity) -> None:
        # A file states each invoice once: a later row of one is a repeat (counted once) or refused.
        if isinstance(entity, Invoice) and repeated_invoice(context, report, lines, entity):
            return
        batch.append((lines, entity))

    def settle(records: list[Record], rows: list[MappedRow]) -> None:
        nonlocal batch, group
        for record, mapped in zip(records, rows, strict=True):
            if mapped.notes:
                report.note(record.line, mapped.notes)
            if mapped.skipped is not None:
                report.skip(mapped.skipped)
                continue
            if mapped.entity is None:
                report.reject(record.line, mapped.errors)
                if context.snapshot:
                    # Refused, but still listed by the ERP: it must not be closed as no longer listed.
                    context.refused_row(record.line, bound.document_key(record))
                continue
            if plan.mapping.collapse and mapped.key:
                if group is not None and group.absorb(record, mapped, report):
                    continue
                if group is not None:
                    add(group.lines(), group.entity)
                group = _Group(record.line, mapped.key, mapped.entity)
            else:
                add(record.line, mapped.entity)
            if len(batch) >= CHUNK_ROWS:
                # The lines of one payment stay in one chunk: the next rows may go on with it.
                ready, batch = split_for_load(plan.kind, batch)
                load_chunk(plan.kind, accounts, ready, report, context)

    try:
        for records, rows in mapped_blocks(plan, reader, drop, start, last_line):
            report.read(len(records))
            settle(records, rows)
        if group is not None:
            add(group.lines(), group.entity)
        load_chunk(plan.kind, accounts, batch, report, context)
    except FileProblem as problem:
        # The plan found the file sound; the version is immutable, so this is not the file's fault.
        raise RuntimeError(
            f"{drop.key} (version {drop.version_id}) read differently the second time"
        ) from problem


@dataclass
class _Group:
    """Consecutive rows with one collapse key (an invoice's line items): one entity, several lines."""

    first_line: int
    key: str
    entity: Entity
    more: list[int] = field(default_factory=list)

    def absorb(self, record: Record, mapped: MappedRow, report: IngestReport) -> bool:
        if mapped.key != self.key or mapped.entity is None:
            return False
        disagree = [
            name
            for name in ("customer_id", "currency", "amount", "open_amount", "invoice_date", "due_date")
            if getattr(mapped.entity, name, None) != getattr(self.entity, name, None)
        ]
        if disagree:
            report.reject(
                record.line,
                [
                    FieldError(
                        name,
                        str(getattr(mapped.entity, name)),
                        f"differs from line {self.first_line}, the first line item of {self.key}",
                    )
                    for name in disagree
                ],
            )
            return True
        self.more.append(record.line)
        return True

    def lines(self) -> int | tuple[int, ...]:
        return (self.first_line, *self.more) if self.more else self.first_line


# -- chunks of large files -------------------------------------------------------------------------


def _part_key(drop: Drop, index: int, suffix: str) -> str:
    relative = drop.key[len(DropPrefix.INCOMING) :]
    return f"{DropPrefix.WORK}chunks/{relative}/{drop.version_id}/{index:05d}{suffix}"


def _part_written(parts: PartStore, drop: Drop, index: int) -> bool:
    try:
        parts.read_json(drop.bucket, _part_key(drop, index, ".json"))
    except ObjectMissing:
        return False
    return True


def receive_chunk(
    chunk: Chunk,
    *,
    reader: ObjectReader,
    register: FileRegister,
    now: datetime,
    accounts: AccountsStore,
    parts: PartStore,
    outputs: ResultWriter,
    timeline: Timeline | None = None,
    feeds: FeedLog | None = None,
) -> DropOutcome:
    """Load one line range of a fanned-out file and leave its part result; the invocation that completes
    the last range merges the parts and finishes the file. Every step repeats harmlessly: a chunk run
    twice loads nothing new and rewrites the same part."""
    drop = chunk.drop
    if register.get(drop.key, drop.version_id) is not None:
        return DropOutcome(file=None, duplicate=True)
    kind = kind_of(drop.key)
    assert kind is not None  # a chunk is only made of a planned file
    plan = plan_file(drop, kind, reader, conventions=conventions_from_json(chunk.conventions))
    context = LoadContext(as_of=plan.as_of, now=now, source=drop.key, snapshot=plan.mode == SNAPSHOT)
    report = IngestReport()
    if not _part_written(parts, drop, chunk.index):
        # The part is written after the chunk's rows are loaded: if it is there already, this is a
        # repeated delivery, and the first run's counts stand.
        load_lines(drop, plan, reader, accounts, report, context, chunk.first_line, chunk.last_line)
        parts.put_file(
            drop.bucket, _part_key(drop, chunk.index, ".errors.csv"), report.rejected_rows(), "text/csv"
        )
        parts.put_json(
            drop.bucket,
            _part_key(drop, chunk.index, ".json"),
            {
                **report.part(),
                "seen": sorted(context.seen),
                "company_codes": sorted(context.company_codes, key=str),
                "refused": sorted([c, n, line] for (c, n), line in context.refused.items()),
                "unreadable": context.unreadable,
                "first_unreadable": context.first_unreadable,
                # The invoices the chunk stated: one stated by two chunks is noted when they merge.
                "stated": [
                    [c, n, line, stated_digest(values)] for (c, n), (line, values) in context.stated.items()
                ],
            },
        )
    report.close()
    done = register.chunk_done(drop.key, drop.version_id, chunk.index)
    logger.info(
        "chunk loaded", extra={"key": drop.key, "chunk": chunk.index, "done": done, "of": chunk.count}
    )
    if done < chunk.count:
        return DropOutcome(file=None, duplicate=False, chunks=chunk.count)
    merged = IngestReport()
    note_conventions(plan, merged)
    unreadable: list[tuple[int, Any]] = []
    stated: list[list[list[Any]]] = []
    for index in range(chunk.count):
        part = parts.read_json(drop.bucket, _part_key(drop, index, ".json"))
        stated.append(part.get("stated", []))
        merged.absorb(part, parts.iter_bytes(drop.bucket, _part_key(drop, index, ".errors.csv")))
        context.seen.update((c, n) for c, n in part["seen"])
        context.company_codes.update(part["company_codes"])
        for customer_id, number, line in part.get("refused", []):
            context.refused_row(int(line), (customer_id, number))
        unreadable.append((int(part.get("unreadable") or 0), part.get("first_unreadable")))
    # Each part counts its own unreadable rows (this chunk's own among them: counted from its part).
    context.unreadable = sum(count for count, _ in unreadable)
    context.first_unreadable = min((int(line) for count, line in unreadable if count), default=None)
    stated_elsewhere(stated, merged)
    merged.shape = report.shape
    merged.ignored_columns = report.ignored_columns
    merged.note_if_nothing_loaded()
    if context.snapshot:
        close_missing(accounts, context, merged)
    return finish(
        drop,
        kind=kind,
        plan=plan,
        report=merged,
        errors=(),
        loaded=True,
        now=now,
        register=register,
        outputs=outputs,
        timeline=timeline,
        chunks=chunk.count,
        feeds=feeds,
    )


# -- finishing -------------------------------------------------------------------------------------


def finish(
    drop: Drop,
    *,
    kind: DropKind | None,
    plan: FilePlan | None,
    report: IngestReport,
    errors: tuple[str, ...],
    loaded: bool,
    now: datetime,
    register: FileRegister,
    outputs: ResultWriter | None,
    timeline: Timeline | None,
    chunks: int = 0,
    feeds: FeedLog | None = None,
) -> DropOutcome:
    """Write the file version's summary, rejected rows and timeline entry, then record it in the register
    (last: a crash before it repeats the file, never leaves it recorded without its results). A file
    loaded whole makes its feed current first (a crash after it repeats the file, never skips it)."""
    status = FileStatus.REJECTED if errors else (FileStatus.INGESTED if loaded else FileStatus.RECEIVED)
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
        layout=plan.mapping.name if plan else None,
        accepted=report.accepted,
        rejected=report.rejected,
        unchanged=report.unchanged,
        skipped=report.skipped,
        invoices_closed=report.invoices_closed,
        payments_applied=report.payments_applied,
        results_key=results_key(drop.key) if outputs else None,
        rejected_rows_key=rejected_rows_key(drop.key) if outputs else None,
    )
    summary = result_summary(file, report, plan=plan, now=now, chunks=chunks)
    if (
        feeds is not None
        and status is FileStatus.INGESTED
        and kind is not None
        and plan is not None
        and not report.unconfirmed_snapshot
    ):
        feeds.delivered(FeedFile(kind.value, drop.key, drop.version_id, plan.as_of, now))
    # The register entry is the commit: written after the results and the timeline entry, so a crash
    # between them has the redelivered message run the file again (idempotently) and write them, instead
    # of finding the version recorded and leaving it without a summary.
    if outputs is not None:
        for reason in errors:
            report.reject_file(reason)
        outputs.put_file(drop.bucket, rejected_rows_key(drop.key), report.rejected_rows(), "text/csv")
        outputs.put_json(drop.bucket, results_key(drop.key), summary)
    if timeline is not None:
        timeline.record_ingest(
            Activity(
                customer_id="",
                at=now,
                activity_id=f"{drop.key}#{drop.version_id}",
                kind="ingest.file",
                summary=_one_line(summary),
                detail={"key": drop.key, "version": drop.version_id, "status": status.value},
            )
        )
    recorded = register.record(file)
    report.close()
    logger.info(
        "drop received",
        extra={
            "key": drop.key,
            "version_id": drop.version_id,
            "duplicate": not recorded,
            **{k: v for k, v in summary.items() if k not in {"notes", "errors", "skip_reasons"}},
            "errors": list(errors),
            "file_notes": file_notes(summary["notes"]),
        },
    )
    return DropOutcome(file=file, duplicate=not recorded, summary=summary, chunks=chunks)


def _one_line(summary: dict[str, Any]) -> str:
    counts = ", ".join(f"{k} {summary.get(k, 0)}" for k in ("rows_read", "accepted", "rejected", "skipped"))
    errors = "; ".join(summary.get("errors") or [])
    # What became of the file as a whole (nothing loaded; a snapshot that closed nothing) is part of it.
    said = "; ".join([counts, *file_notes(summary.get("notes") or [])])
    return f"{summary['key']} ({summary.get('mapping') or 'no mapping'}): " + (errors or said)


def result_summary(
    file: IngestFile, report: IngestReport, *, plan: FilePlan | None, now: datetime, chunks: int = 0
) -> dict[str, Any]:
    """The ``results/...json`` document of one ingested file version."""
    return {
        "bucket": file.bucket,
        "key": file.key,
        "version": file.version_id,
        "kind": file.kind.value if file.kind else None,
        "mapping": file.layout,
        "mode": plan.mode if plan else None,
        "as_of": format_instant(plan.as_of) if plan else None,
        "status": file.status.value,
        # Times come from the notification, never from the sandbox's clock (see clock.py).
        "finished_at": format_instant(now),
        "source": report.shape or (plan.shape.describe() if plan else None),
        "header_line": plan.bound.header.line if plan else None,
        **report.counts(),
        "skip_reasons": dict(sorted(report.skip_reasons.items())),
        "errors": list(file.errors),
        "notes": list(report.notes),
        "notes_total": report.notes_total,
        "ignored_columns": list(report.ignored_columns),
        "rejected_rows_key": file.rejected_rows_key,
        "chunks": chunks or 1,
    }
