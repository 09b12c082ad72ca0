"""Athena, the reports' SQL past one machine: start a query in the reports' workgroup, wait for it, and
read its rows (the only module that calls Athena).

The workgroup (infra/constructs/warehouse.py) enforces its own result location, encryption and per-query
scan limit, so a query names only its database. A query that fails, is cancelled or is stopped by the
scan limit raises ``QueryFailed`` with Athena's reason; one still running after ``timeout`` seconds is
cancelled and raises ``QueryTimedOut``. Rows come back as text (Athena's ``VarCharValue``) and are typed
by the column types Athena reports (``typed``: decimals as ``Decimal``, never floats); the first row of a
SELECT's first page is its header and is skipped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from itertools import chain
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from arcollect.store.clients import LazyClient
from arcollect.store.errors import StoreError, StoreUnavailable

RUNNING_STATES = ("QUEUED", "RUNNING")
INTEGER_TYPES = ("tinyint", "smallint", "integer", "int", "bigint")

Value = str | int | Decimal | date | datetime | bool | float | None


def typed(value: str | None, kind: str) -> Value:
    """One of Athena's text cells as the Python value of its column type (``ColumnInfo.Type``):
    integers as ``int``, decimals as ``Decimal`` (exact: a report's money is never a float), dates and
    timestamps, booleans; anything else stays text. A NULL has no text (``None``)."""
    if value is None:
        return None
    kind = kind.lower()
    if kind in INTEGER_TYPES:
        return int(value)
    if kind == "decimal":
        return Decimal(value)
    if kind in ("double", "float", "real"):
        return float(value)
    if kind == "boolean":
        return value.lower() == "true"
    if kind == "date":
        return date.fromisoformat(value)
    if kind.startswith("timestamp"):
        return datetime.fromisoformat(value)
    return value


class QueryFailed(StoreError):
    """Athena ran the query and it failed, was cancelled or scanned more than the workgroup allows."""


class QueryTimedOut(StoreError):
    """The query was still running when the caller stopped waiting (it was cancelled)."""


@dataclass(frozen=True)
class QueryOutcome:
    query_id: str
    state: str
    bytes_scanned: int
    columns: tuple[str, ...]
    rows: list[tuple[Value, ...]]


class AthenaQueries:
    """Runs SQL in one workgroup and database (an Athena client and a clock can be injected)."""

    def __init__(
        self,
        *,
        workgroup: str,
        database: str,
        client: Any | None = None,
        sleep: Callable[[float], None] = time.sleep,
        poll_seconds: float = 1.0,
    ) -> None:
        self.workgroup, self.database = workgroup, database
        self._athena = client if client is not None else LazyClient("athena")
        self._sleep, self._poll = sleep, poll_seconds

    def start(self, sql: str) -> str:
        """Start ``sql``; its query execution id."""
        try:
            started = self._athena.start_query_execution(
                QueryString=sql,
                WorkGroup=self.workgroup,
                QueryExecutionContext={"Database": self.database},
            )
        except ClientError as error:
            raise QueryFailed(f"Athena refused the query in workgroup {self.workgroup}: {error}") from error
        except BotoCoreError as error:
            raise StoreUnavailable(f"starting an Athena query: {error}") from error
        return str(started["QueryExecutionId"])

    def wait(self, query_id: str, timeout: float = 600.0) -> tuple[str, int]:
        """Poll until the query ends: its state and the bytes it scanned; failures raise."""
        waited = 0.0
        while True:
            try:
                execution = self._athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
            except ClientError as error:
                raise StoreError(f"reading Athena query {query_id}: {error}") from error
            except BotoCoreError as error:
                raise StoreUnavailable(f"reading Athena query {query_id}: {error}") from error
            status = execution.get("Status", {})
            state = status.get("State", "QUEUED")
            scanned = int(execution.get("Statistics", {}).get("DataScannedInBytes") or 0)
            if state == "SUCCEEDED":
                return state, scanned
            if state not in RUNNING_STATES:
                reason = status.get("StateChangeReason") or status.get("AthenaError", {}).get("ErrorMessage")
                raise QueryFailed(f"Athena query {query_id} {state.lower()}: {reason or 'no reason given'}")
            if waited >= timeout:
                self._athena.stop_query_execution(QueryExecutionId=query_id)
                raise QueryTimedOut(f"Athena query {query_id} still {state.lower()} after {timeout:.0f} s")
            self._sleep(self._poll)
            waited += self._poll

    def results(self, query_id: str) -> tuple[tuple[str, ...], Iterator[tuple[Value, ...]]]:
        """The query's column names and its rows, page by page, typed by the columns' types."""
        pages = iter(self._athena.get_paginator("get_query_results").paginate(QueryExecutionId=query_id))
        try:
            first = next(pages)
        except ClientError as error:
            raise StoreError(f"reading the results of Athena query {query_id}: {error}") from error
        info = first["ResultSet"].get("ResultSetMetadata", {}).get("ColumnInfo", ())
        columns = tuple(c["Name"] for c in info)
        kinds = tuple(c.get("Type", "varchar") for c in info)

        def rows() -> Iterator[tuple[Value, ...]]:
            for number, page in enumerate(chain((first,), pages)):
                entries = page["ResultSet"].get("Rows", [])
                for index, row in enumerate(entries):
                    values = tuple(cell.get("VarCharValue") for cell in row.get("Data", ()))
                    if number == 0 and index == 0 and values == columns:
                        continue  # a SELECT's header row
                    yield tuple(typed(v, k) for v, k in zip(values, kinds, strict=False))

        return columns, rows()

    def execute(self, sql: str, timeout: float = 600.0) -> int:
        """A statement whose rows nobody reads (a CTAS, a DROP TABLE): start it, wait; the bytes scanned."""
        _, scanned = self.wait(self.start(sql), timeout)
        return scanned

    def run(self, sql: str, timeout: float = 600.0) -> QueryOutcome:
        """Start, wait and fetch: the whole outcome of one query."""
        query_id = self.start(sql)
        state, scanned = self.wait(query_id, timeout)
        columns, rows = self.results(query_id)
        return QueryOutcome(query_id, state, scanned, columns, list(rows))
