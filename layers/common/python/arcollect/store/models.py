"""pynamodb models of the single table.

Every item type shares one table and one key pair (``pk``/``sk``); a discriminator attribute tells the
item types apart so one query over a customer's partition returns typed items (the 360 view).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pynamodb.attributes import (
    Attribute,
    DiscriminatorAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.constants import NUMBER
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from arcollect.contract import TableSchema


class DecimalAttribute(Attribute[Decimal]):
    """Money as an exact DynamoDB number (pynamodb's NumberAttribute would round-trip through float)."""

    attr_type = NUMBER

    def serialize(self, value: Decimal) -> str:
        return str(value)

    def deserialize(self, value: str) -> Decimal:
        return Decimal(value)


class ByNextActionIndex(GlobalSecondaryIndex["TableItem"]):
    """Sparse, sharded: only items with a pending action are in it (the hourly sweep's read path)."""

    class Meta:
        index_name = TableSchema.BY_NEXT_ACTION.name
        projection = AllProjection()

    next_action_shard = UnicodeAttribute(hash_key=True, attr_name=TableSchema.BY_NEXT_ACTION.hash_key)
    next_action_at = UnicodeAttribute(range_key=True, attr_name=TableSchema.BY_NEXT_ACTION.range_key)


class WorklistIndex(GlobalSecondaryIndex["TableItem"]):
    """Collector tasks per owner, ordered by rank (a sortable priority key)."""

    class Meta:
        index_name = TableSchema.WORKLIST.name
        projection = AllProjection()

    worklist_owner = UnicodeAttribute(hash_key=True, attr_name=TableSchema.WORKLIST.hash_key)
    worklist_rank = UnicodeAttribute(range_key=True, attr_name=TableSchema.WORKLIST.range_key)


class TableItem(Model):
    """Base of every item type; ``bind_table`` points all of them at the deployed table."""

    class Meta:
        table_name = "arcollect-unbound"
        # Lambda's botocore retries throttles already; a few more attempts ride out short bursts.
        max_retry_attempts = 5

    pk = UnicodeAttribute(hash_key=True, attr_name=TableSchema.PARTITION_KEY)
    sk = UnicodeAttribute(range_key=True, attr_name=TableSchema.SORT_KEY)
    item_type = DiscriminatorAttribute(attr_name="item_type")

    next_action_shard = UnicodeAttribute(null=True, attr_name=TableSchema.BY_NEXT_ACTION.hash_key)
    next_action_at = UnicodeAttribute(null=True, attr_name=TableSchema.BY_NEXT_ACTION.range_key)
    worklist_owner = UnicodeAttribute(null=True, attr_name=TableSchema.WORKLIST.hash_key)
    worklist_rank = UnicodeAttribute(null=True, attr_name=TableSchema.WORKLIST.range_key)
    expires_at = NumberAttribute(null=True, attr_name=TableSchema.TTL_ATTRIBUTE)

    by_next_action = ByNextActionIndex()
    worklist = WorklistIndex()


class IngestFileItem(TableItem, discriminator="ingest_file"):
    kind = UnicodeAttribute(null=True)
    bucket = UnicodeAttribute()
    key = UnicodeAttribute()
    version_id = UnicodeAttribute()
    size = NumberAttribute()
    etag = UnicodeAttribute()
    event_time = UTCDateTimeAttribute()
    received_at = UTCDateTimeAttribute()
    status = UnicodeAttribute()
    rows_read = NumberAttribute(default=0)
    errors = ListAttribute(of=UnicodeAttribute, default=list)


class InvoiceItem(TableItem, discriminator="invoice"):
    customer_id = UnicodeAttribute()
    invoice_number = UnicodeAttribute()
    currency = UnicodeAttribute()
    amount = DecimalAttribute()
    open_amount = DecimalAttribute()
    invoice_date = UnicodeAttribute()
    due_date = UnicodeAttribute()
    status = UnicodeAttribute(default="open")


class ActivityItem(TableItem, discriminator="activity"):
    customer_id = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    activity_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    summary = UnicodeAttribute()
    detail = MapAttribute[str, Any](default=dict)


class SweepRunItem(TableItem, discriminator="sweep_run"):
    function = UnicodeAttribute()
    scheduled_at = UTCDateTimeAttribute()
    started_at = UTCDateTimeAttribute()
    due_items = NumberAttribute(default=0)


ALL_MODELS: tuple[type[TableItem], ...] = (TableItem, IngestFileItem, InvoiceItem, ActivityItem, SweepRunItem)


def bind_table(table_name: str) -> None:
    """Point every model at ``table_name`` (called once per process from the settings)."""
    for model in ALL_MODELS:
        model.Meta.table_name = table_name
