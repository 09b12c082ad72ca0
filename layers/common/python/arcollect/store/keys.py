"""Key formats of the single table (see the data model in the README)."""

from __future__ import annotations

import zlib
from datetime import datetime

from arcollect.clock import format_instant
from arcollect.contract import TableSchema

# The timeline of ingested files (one entry per file version), beside the customers' own timelines.
INGEST_TIMELINE_PK = "TIMELINE#ingest"


def customer_pk(customer_id: str) -> str:
    return f"CUST#{customer_id}"


def invoice_sk(invoice_number: str) -> str:
    return f"INV#{invoice_number}"


def activity_sk(at: datetime, activity_id: str) -> str:
    return f"ACT#{format_instant(at)}#{activity_id}"


def ingest_file_pk(key: str) -> str:
    return f"FILE#{key}"


def ingest_file_sk(version_id: str) -> str:
    return f"VER#{version_id}"


def sweep_run_pk(function: str) -> str:
    return f"RUN#{function}"


def sweep_run_sk(scheduled_at: datetime) -> str:
    return f"AT#{format_instant(scheduled_at)}"


def next_action_shard(partition_key: str) -> str:
    """A stable shard for an item, so one customer's items always land on the same shard."""
    return f"DUE#{zlib.crc32(partition_key.encode()) % TableSchema.NEXT_ACTION_SHARDS}"


def all_next_action_shards() -> list[str]:
    return [f"DUE#{shard}" for shard in range(TableSchema.NEXT_ACTION_SHARDS)]
