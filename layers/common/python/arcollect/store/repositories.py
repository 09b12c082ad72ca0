"""Repositories over the single table: entities in, entities out, domain errors on failure."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime
from functools import wraps
from typing import ParamSpec, TypeVar

from pynamodb.exceptions import PutError, PynamoDBConnectionError, PynamoDBException

from arcollect.clock import format_instant
from arcollect.entities import Activity, DropKind, FileStatus, IngestFile, Invoice, SweepRun
from arcollect.store import keys
from arcollect.store.errors import StoreError, StoreUnavailable
from arcollect.store.models import ActivityItem, IngestFileItem, InvoiceItem, SweepRunItem, TableItem

P = ParamSpec("P")
R = TypeVar("R")


def _translated(operation: Callable[P, R]) -> Callable[P, R]:
    """Turn pynamodb's exceptions into the store's, so no caller depends on pynamodb."""

    @wraps(operation)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return operation(*args, **kwargs)
        except PynamoDBConnectionError as error:
            raise StoreUnavailable(f"{operation.__qualname__}: {error.msg}") from error
        except PynamoDBException as error:
            raise StoreError(f"{operation.__qualname__}: {error.msg}") from error

    return wrapper


def _is_condition_failure(error: PutError) -> bool:
    return error.cause_response_code == "ConditionalCheckFailedException"


def _put_once(item: TableItem) -> bool:
    """Write ``item`` unless an item with its key exists: the table's exactly-once primitive."""
    try:
        item.save(condition=TableItem.pk.does_not_exist())
    except PutError as error:
        if _is_condition_failure(error):
            return False
        raise
    return True


class IngestFiles:
    """The register of dropped files, one item per object version."""

    @_translated
    def record(self, file: IngestFile) -> bool:
        """Record ``file``; False if this object version was recorded before (a duplicate event)."""
        return _put_once(
            IngestFileItem(
                keys.ingest_file_pk(file.key),
                keys.ingest_file_sk(file.version_id),
                kind=file.kind.value if file.kind else None,
                bucket=file.bucket,
                key=file.key,
                version_id=file.version_id,
                size=file.size,
                etag=file.etag,
                event_time=file.event_time,
                received_at=file.received_at,
                status=file.status.value,
                rows_read=file.rows_read,
                errors=list(file.errors),
            )
        )

    @_translated
    def get(self, key: str, version_id: str) -> IngestFile | None:
        try:
            item = IngestFileItem.get(keys.ingest_file_pk(key), keys.ingest_file_sk(version_id))
        except IngestFileItem.DoesNotExist:
            return None
        return IngestFile(
            bucket=item.bucket,
            key=item.key,
            version_id=item.version_id,
            kind=DropKind(item.kind) if item.kind else None,
            size=int(item.size),
            etag=item.etag,
            event_time=item.event_time,
            received_at=item.received_at,
            status=FileStatus(item.status),
            rows_read=int(item.rows_read),
            errors=tuple(str(error) for error in item.errors or []),
        )


class SweepRuns:
    """Scheduled runs, keyed by function and scheduled time, so a duplicate tick is recognised."""

    @_translated
    def start(self, run: SweepRun) -> bool:
        """Record the run; False if a run for this function and scheduled time exists already."""
        return _put_once(
            SweepRunItem(
                keys.sweep_run_pk(run.function),
                keys.sweep_run_sk(run.scheduled_at),
                function=run.function,
                scheduled_at=run.scheduled_at,
                started_at=run.started_at,
                due_items=run.due_items,
            )
        )


class Activities:
    """Customers' timelines."""

    @_translated
    def record(self, activity: Activity) -> bool:
        """Append to the timeline; False if this activity (same time and id) is there already."""
        return _put_once(
            ActivityItem(
                keys.customer_pk(activity.customer_id),
                keys.activity_sk(activity.at, activity.activity_id),
                customer_id=activity.customer_id,
                at=activity.at,
                activity_id=activity.activity_id,
                kind=activity.kind,
                summary=activity.summary,
                detail=dict(activity.detail),
            )
        )

    @_translated
    def timeline(self, customer_id: str) -> list[Activity]:
        items = ActivityItem.query(
            keys.customer_pk(customer_id),
            ActivityItem.sk.startswith("ACT#"),
            scan_index_forward=False,
        )
        return [
            Activity(
                customer_id=item.customer_id,
                at=item.at,
                activity_id=item.activity_id,
                kind=item.kind,
                summary=item.summary,
                detail={str(k): str(v) for k, v in item.detail.as_dict().items()} if item.detail else {},
            )
            for item in items
        ]


class Invoices:
    @_translated
    def save(self, invoice: Invoice) -> None:
        InvoiceItem(
            keys.customer_pk(invoice.customer_id),
            keys.invoice_sk(invoice.invoice_number),
            customer_id=invoice.customer_id,
            invoice_number=invoice.invoice_number,
            currency=invoice.currency,
            amount=invoice.amount,
            open_amount=invoice.open_amount,
            invoice_date=invoice.invoice_date.isoformat(),
            due_date=invoice.due_date.isoformat(),
            status=invoice.status,
        ).save()

    @_translated
    def all(self) -> Iterator[Invoice]:
        """Every invoice of the portfolio, for portfolio-wide reports (a paginated scan)."""
        for item in InvoiceItem.scan():
            yield Invoice(
                customer_id=item.customer_id,
                invoice_number=item.invoice_number,
                currency=item.currency,
                amount=item.amount,
                open_amount=item.open_amount,
                invoice_date=date.fromisoformat(item.invoice_date),
                due_date=date.fromisoformat(item.due_date),
                status=item.status,
            )


class DueItems:
    """The sweep's read path: items whose next action is due, read from the sparse index only."""

    @_translated
    def count_due(self, now: datetime) -> int:
        cutoff = format_instant(now)
        return sum(
            TableItem.by_next_action.count(shard, TableItem.next_action_at <= cutoff)
            for shard in keys.all_next_action_shards()
        )
