"""The KPI report's SQL on Athena, over the exported Parquet in S3 (the Glue tables of
infra/constructs/warehouse.py): the ``athena`` engine of ``reports/engines.py``.

One run, one as-of date:

1. the customers' segments (the policy's rule, in Python) are written as JSON lines to
   ``warehouse/segments/run=<run id>/segments.json``, which the Glue table ``report_segments`` reads with
   its ``run`` partition injected by the query (no crawler, no partition to add);
2. ``lines.sql`` is materialized once by a CTAS, ``report_lines_<run id>``, Parquet partitioned by the
   line's state (open, paid, settled): Athena writes it under the workgroup's enforced results location
   (``tables/<query id>/``, expired with the results), and every other query reads it instead of the
   exported tables, the open-document queries only its open partition;
3. the other queries run in turn, their rows typed by the columns' types (``store/athena.py``);
4. at the end the CTAS table is dropped (its files expire with the results bucket's lifecycle), and so
   is a failed run's.

Athena bills the bytes each query scans, at least 10 MB a query; ``scanned`` adds them up. The run's
queries share one time budget (``BUDGET_SECONDS``, inside Lambda's 15 minutes): a query still running
when it is spent is cancelled and the run fails with ``QueryTimedOut``, its table dropped, rather than
the function being stopped halfway.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from arcollect.observability import logger
from arcollect.reports.exports import WAREHOUSE_PREFIX
from arcollect.reports.warehouse.engine import SqlReport, bound, segments_json_lines, sql_text
from arcollect.store.athena import AthenaQueries, QueryTimedOut
from arcollect.store.errors import StoreError

# The Glue table over the runs' segment files (infra/constructs/warehouse.py), and where they go.
SEGMENTS_TABLE = "report_segments"
SEGMENTS_PREFIX = f"{WAREHOUSE_PREFIX}segments/"
# The CTAS tables a run makes: the reports function may create and drop these names only.
LINES_TABLE_PREFIX = "report_lines_"
# The queries' share of the reports function's 15 minutes: the rest reads the table, writes the files.
BUDGET_SECONDS = 600.0
# A drop gets its own minute, spent budget or not: the catalog is left as it was found.
DROP_SECONDS = 60.0


def new_run_id() -> str:
    """A run's id: 16 hex digits, safe in a Glue table name (lower case, digits, underscores)."""
    return secrets.token_hex(8)


class AthenaReport(SqlReport):
    """The report's queries on Athena. ``put_object(key, body)`` writes one object to the reports bucket
    (the segments' file)."""

    engine = "athena"

    def __init__(
        self,
        queries: AthenaQueries,
        put_object: Callable[[str, bytes], None],
        *,
        run_id: str | None = None,
        budget_seconds: float = BUDGET_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.queries = queries
        self._clock = clock
        self._deadline = clock() + budget_seconds
        self.put_object = put_object
        self.run_id = run_id or new_run_id()
        if not self.run_id.isalnum() or self.run_id.lower() != self.run_id:
            raise ValueError(f"run id {self.run_id!r}: lower-case letters and digits only")
        self.scanned = 0
        self._lines: str | None = None
        self._made = 0

    def _relations(self) -> dict[str, str]:
        # The run id is checked to be letters and digits (the constructor): quoted, never a value sent.
        run = sql_text(self.run_id)
        segments = f"(SELECT customer_id, segment FROM {SEGMENTS_TABLE} WHERE run = {run})"  # noqa: S608
        return {"lines": self._lines or "lines", "segments": segments}

    def _materialize(
        self, as_of: date, window_days: int, segments: Mapping[str, str], no_profile_segment: str
    ) -> None:
        self._drop()
        self.put_object(f"{SEGMENTS_PREFIX}run={self.run_id}/segments.json", segments_json_lines(segments))
        self._made += 1
        table = f"{LINES_TABLE_PREFIX}{self.run_id}_{self._made}"
        select = bound(
            "lines", as_of, window_days, no_profile_segment=no_profile_segment, **self._relations()
        )
        # No external_location: the workgroup enforces its results location, and Athena refuses a CTAS
        # that names another (the Athena user guide, "Considerations and limitations for CTAS queries").
        self._lines = table  # dropped at the end even if the CTAS is cancelled halfway
        self.scanned += self.queries.execute(
            f"CREATE TABLE {table} WITH (format = 'PARQUET', partitioned_by = ARRAY['state']) AS {select}",
            self._remaining(),
        )

    def _rows(self, name: str, as_of: date, window_days: int) -> list[tuple[Any, ...]]:
        outcome = self.queries.run(bound(name, as_of, window_days, **self._relations()), self._remaining())
        self.scanned += outcome.bytes_scanned
        return outcome.rows

    def _drop(self) -> None:
        """Drop the run's CTAS table, if it made one: the catalog is left as it was found. A drop that
        fails is logged, not raised: the table is named by its run and its files expire anyway."""
        if self._lines is None:
            return
        table, self._lines = self._lines, None
        try:
            self.queries.execute(f"DROP TABLE IF EXISTS {table}", DROP_SECONDS)
        except StoreError as error:
            logger.warning(
                "could not drop the report's lines table", extra={"table": table, "error": str(error)}
            )

    def _remaining(self) -> float:
        """What is left of the run's budget for the next query; none left fails the run."""
        remaining = self._deadline - self._clock()
        if remaining <= 0:
            raise QueryTimedOut("the report's Athena queries ran out of their time budget")
        return remaining

    def close(self) -> None:
        self._drop()
        if self.scanned:
            logger.info("report on Athena", extra={"run_id": self.run_id, "bytes_scanned": self.scanned})
