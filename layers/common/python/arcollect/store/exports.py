"""DynamoDB's export of the table to S3 (``ExportTableToPointInTime``), its files, and the records that
make the reports' exports happen once (reports/exports.py).

An export reads no table capacity; it needs point-in-time recovery, which the stack turns on. A full
export is the table as of a moment; an incremental one is what changed in a window, each change with its
new image (none: the item was deleted). AWS's limits, from the DynamoDB API reference
(ExportTableToPointInTime, IncrementalExportSpecification): an incremental window is at least 15 minutes
and at most 24 hours, and lies within the point-in-time recovery window; a ``ClientToken`` makes a start
idempotent for 8 hours (the same token with other parameters is an ``ExportConflictException``).

The files: ``<prefix>/AWSDynamoDB/<export id>/data/*.json.gz``, gzip'd DynamoDB JSON, one item a line
(``{"Item": ...}``; incremental: ``{"Keys": ..., "NewImage": ...}``). Each export gets its own prefix, so
its data files are every ``.gz`` under it (moto writes no manifest; AWS's manifests are not needed).
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from arcollect.contract import TableSchema
from arcollect.store.clients import LazyClient
from arcollect.store.errors import StoreError, StoreUnavailable
from arcollect.store.models import TableItem

FULL_EXPORT, INCREMENTAL_EXPORT = "FULL_EXPORT", "INCREMENTAL_EXPORT"
IN_PROGRESS, COMPLETED, FAILED = "IN_PROGRESS", "COMPLETED", "FAILED"
MIN_INCREMENTAL_WINDOW = timedelta(minutes=15)
MAX_INCREMENTAL_WINDOW = timedelta(hours=24)


class ExportRefused(StoreError):
    """DynamoDB refused to start an export (the reason is in the message): a fact to alarm on."""


@dataclass(frozen=True)
class ExportState:
    """What DescribeExport says of one export."""

    arn: str
    status: str
    export_type: str
    item_count: int = 0
    failure: str | None = None


@dataclass(frozen=True)
class ItemChange:
    """One item of an export: its keys and its (new) image, None when the item was deleted."""

    pk: str
    sk: str
    item: TableItem | None


def _state(description: dict[str, Any]) -> ExportState:
    failure = description.get("FailureCode")
    if failure:
        failure = f"{failure}: {description.get('FailureMessage') or ''}".strip(": ")
    return ExportState(
        arn=description["ExportArn"],
        status=description["ExportStatus"],
        export_type=description.get("ExportType") or FULL_EXPORT,
        item_count=int(description.get("ItemCount") or 0),
        failure=failure or None,
    )


class TableExports:
    """Starts and describes the table's exports (a DynamoDB client can be injected)."""

    def __init__(self, client: Any | None = None) -> None:
        self._dynamodb = client if client is not None else LazyClient("dynamodb")

    def table_arn(self, table_name: str) -> str:
        try:
            return str(self._dynamodb.describe_table(TableName=table_name)["Table"]["TableArn"])
        except ClientError as error:
            raise StoreError(f"describing table {table_name}: {error}") from error
        except BotoCoreError as error:
            raise StoreUnavailable(f"describing table {table_name}: {error}") from error

    def start(
        self,
        *,
        table_arn: str,
        bucket: str,
        prefix: str,
        client_token: str,
        window: tuple[datetime, datetime] | None = None,
    ) -> ExportState:
        """Start a full export (``window`` None) or an incremental one of ``window`` [from, to)."""
        request: dict[str, Any] = {
            "TableArn": table_arn,
            "S3Bucket": bucket,
            "S3Prefix": prefix,
            "ExportFormat": "DYNAMODB_JSON",
            "ClientToken": client_token,
        }
        if window is None:
            request["ExportType"] = FULL_EXPORT
        else:
            since, until = window
            if not MIN_INCREMENTAL_WINDOW <= until - since <= MAX_INCREMENTAL_WINDOW:
                raise ExportRefused(
                    f"an incremental export's window is 15 minutes to 24 hours, not {until - since}"
                )
            request["ExportType"] = INCREMENTAL_EXPORT
            request["IncrementalExportSpecification"] = {
                "ExportFromTime": since,
                "ExportToTime": until,
                "ExportViewType": "NEW_IMAGE",
            }
        try:
            return _state(self._dynamodb.export_table_to_point_in_time(**request)["ExportDescription"])
        except ClientError as error:
            raise ExportRefused(f"exporting {table_arn} to s3://{bucket}/{prefix}: {error}") from error
        except BotoCoreError as error:
            raise StoreUnavailable(f"exporting {table_arn}: {error}") from error

    def describe(self, arn: str) -> ExportState:
        try:
            return _state(self._dynamodb.describe_export(ExportArn=arn)["ExportDescription"])
        except ClientError as error:
            raise StoreError(f"describing export {arn}: {error}") from error
        except BotoCoreError as error:
            raise StoreUnavailable(f"describing export {arn}: {error}") from error


class ExportFiles:
    """An export's data files, and the reports bucket's small records and Parquet folders."""

    def __init__(self, client: Any | None = None) -> None:
        self._s3 = client if client is not None else LazyClient("s3")

    def keys(self, bucket: str, prefix: str) -> list[str]:
        """Every object key under ``prefix``, sorted."""
        found: list[str] = []
        try:
            for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                found.extend(entry["Key"] for entry in page.get("Contents", ()))
        except ClientError as error:
            raise StoreError(f"listing s3://{bucket}/{prefix}: {error}") from error
        except BotoCoreError as error:
            raise StoreUnavailable(f"listing s3://{bucket}/{prefix}: {error}") from error
        return sorted(found)

    def changes(self, bucket: str, prefix: str) -> Iterator[ItemChange]:
        """The items of the export written under ``prefix``, one data file at a time (streamed)."""
        for key in self.keys(bucket, prefix):
            if "/data/" not in key or not key.endswith(".gz"):
                continue  # manifests, the _started marker AWS writes
            body = self._get(bucket, key)
            with gzip.open(io.BytesIO(body), "rt", encoding="utf-8") as lines:
                for number, line in enumerate(lines, 1):
                    if line.strip():
                        yield _change(json.loads(line), f"s3://{bucket}/{key} line {number}")

    def _get(self, bucket: str, key: str) -> bytes:
        try:
            return bytes(self._s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        except ClientError as error:
            raise StoreError(f"reading s3://{bucket}/{key}: {error}") from error
        except BotoCoreError as error:
            raise StoreUnavailable(f"reading s3://{bucket}/{key}: {error}") from error

    def read_record(self, bucket: str, key: str) -> dict[str, Any] | None:
        """A small JSON record, or None when there is none."""
        try:
            return dict(json.loads(self._s3.get_object(Bucket=bucket, Key=key)["Body"].read()))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise StoreError(f"reading s3://{bucket}/{key}: {error}") from error

    def claim_record(self, bucket: str, key: str, record: dict[str, Any]) -> bool:
        """Write ``record`` only if there is none at ``key`` (S3's conditional put): whether it took."""
        try:
            self._s3.put_object(
                Bucket=bucket, Key=key, Body=json.dumps(record, sort_keys=True).encode(), IfNoneMatch="*"
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            if code in ("PreconditionFailed", "ConditionalRequestConflict"):
                return False
            raise StoreError(f"claiming s3://{bucket}/{key}: {error}") from error
        return True

    def save_record(self, bucket: str, key: str, record: dict[str, Any]) -> None:
        try:
            self._s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(record, sort_keys=True).encode())
        except ClientError as error:
            raise StoreError(f"writing s3://{bucket}/{key}: {error}") from error

    def download(self, bucket: str, prefix: str, folder: Path) -> int:
        """Every object under ``prefix`` into ``folder`` (the same relative paths); how many."""
        keys = self.keys(bucket, prefix)
        for key in keys:
            target = folder / key[len(prefix) :].lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(self._get(bucket, key))
        return len(keys)

    def upload(self, folder: Path, bucket: str, prefix: str) -> list[str]:
        """Every file under ``folder`` to ``prefix`` (the same relative paths). Nothing is deleted: a
        compaction overwrites the files it rewrote, and blanks those it no longer has (compaction.py)."""
        written = []
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            key = f"{prefix.rstrip('/')}/{path.relative_to(folder).as_posix()}"
            try:
                self._s3.upload_file(str(path), bucket, key)
            except ClientError as error:
                raise StoreError(f"writing s3://{bucket}/{key}: {error}") from error
            except BotoCoreError as error:
                raise StoreUnavailable(f"writing s3://{bucket}/{key}: {error}") from error
            written.append(key)
        return written


def _change(line: dict[str, Any], where: str) -> ItemChange:
    image = line.get("Item", line.get("NewImage"))
    keys = line.get("Keys") or image
    pk, sk = TableSchema.PARTITION_KEY, TableSchema.SORT_KEY
    if not isinstance(keys, dict) or pk not in keys or sk not in keys:
        raise StoreError(f"{where}: an export line without the table's keys")
    item = TableItem.from_raw_data(image) if image else None
    return ItemChange(keys[pk]["S"], keys[sk]["S"], item)
