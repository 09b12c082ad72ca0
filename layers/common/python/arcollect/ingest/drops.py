"""Receiving drops: S3 notifications (via SQS) to recorded files, each object version exactly once."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import unquote_plus

from arcollect.clock import parse_instant
from arcollect.contract import DropPrefix
from arcollect.entities import DropKind, FileStatus, IngestFile
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


def receive_drop(drop: Drop, *, reader: ObjectReader, register: FileRegister, now: datetime) -> DropOutcome:
    """Read the dropped object and record it once; a second event for the same version changes nothing."""
    kind = kind_of(drop.key)
    errors: tuple[str, ...] = ()
    rows = 0
    if kind is None:
        expected = ", ".join(k.value for k in DropKind)
        errors = (f"{drop.key}: not under incoming/<kind>/ with kind one of {expected}",)
    else:
        try:
            rows = count_rows(reader.iter_bytes(drop.bucket, drop.key, drop.version_id))
        except ObjectMissing as error:
            # Deleted before we got to it: retrying cannot help, so record why it was not ingested.
            errors = (f"{error}: deleted from the drop bucket before it could be ingested",)
    file = IngestFile(
        bucket=drop.bucket,
        key=drop.key,
        version_id=drop.version_id,
        kind=kind,
        size=drop.size,
        etag=drop.etag,
        event_time=drop.event_time,
        received_at=now,
        status=FileStatus.REJECTED if errors else FileStatus.RECEIVED,
        rows_read=rows,
        errors=errors,
    )
    recorded = register.record(file)
    logger.info(
        "drop received",
        extra={
            "key": drop.key,
            "version_id": drop.version_id,
            "rows_read": rows,
            "duplicate": not recorded,
            "status": file.status.value,
        },
    )
    return DropOutcome(file=file, duplicate=not recorded)
