"""What operators look at besides the table: dead-letter queue depths and the newest KPI report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from arcollect.contract import ReportPrefix
from arcollect.store.clients import LazyClient
from arcollect.store.errors import StoreError, StoreUnavailable

# Messages a dead-letter queue holds: waiting, and received but not yet deleted (someone redriving).
_DEPTH = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")


@dataclass(frozen=True)
class ReportRun:
    """The newest report: the day it is as of, its folder, and when its last file was written."""

    as_of: date
    folder: str
    written_at: datetime
    files: int


class QueueDepths:
    def __init__(self, client: Any | None = None) -> None:
        self._sqs = client if client is not None else LazyClient("sqs")

    def depth(self, queue_url: str) -> int:
        """How many messages the queue holds (SQS's approximate counts: exact on the local stack)."""
        try:
            attributes = self._sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=list(_DEPTH))
        except ClientError as error:
            raise StoreError(f"reading {queue_url}: {error}") from error
        except BotoCoreError as error:
            raise StoreUnavailable(f"reading {queue_url}: {error}") from error
        return sum(int(attributes["Attributes"].get(name, 0)) for name in _DEPTH)


class ReportIndex:
    def __init__(self, client: Any | None = None) -> None:
        self._s3 = client if client is not None else LazyClient("s3")

    def newest(self, bucket: str) -> ReportRun | None:
        """The newest dated report folder (``kpi/<day>/``) and its files' last write; None before the
        first report. Two listings: the day folders (one entry a day), then the newest one's files."""
        try:
            days: list[str] = []
            paginator = self._s3.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=bucket, Prefix=ReportPrefix.KPI, Delimiter="/"):
                days += [str(entry["Prefix"]) for entry in page.get("CommonPrefixes", [])]
            for folder in sorted(days, reverse=True):
                try:
                    as_of = date.fromisoformat(folder.removeprefix(ReportPrefix.KPI).rstrip("/"))
                except ValueError:
                    continue  # not a report's folder
                listed = self._s3.list_objects_v2(Bucket=bucket, Prefix=folder).get("Contents", [])
                if listed:
                    written = max(entry["LastModified"] for entry in listed)
                    return ReportRun(as_of, folder, written, len(listed))
        except ClientError as error:
            raise StoreError(f"listing s3://{bucket}/{ReportPrefix.KPI}: {error}") from error
        except BotoCoreError as error:
            raise StoreUnavailable(f"listing s3://{bucket}/{ReportPrefix.KPI}: {error}") from error
        return None
