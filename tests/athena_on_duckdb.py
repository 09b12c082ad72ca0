"""Athena's API over DuckDB, for the athena engine's tests: the queries arcollect sends Athena are read in
Athena's dialect (Trino) and run by DuckDB over the exported Parquet, and the answers come back in
Athena's own shapes (``GetQueryExecution``'s states and reasons, ``GetQueryResults``' pages of text cells
with a header row and the columns' Athena types). moto's Athena runs no SQL, so this is what holds the
engine's figures to the reference.

Strict where Athena is: a CTAS must name no ``external_location`` in a workgroup that enforces its
results location, its partition columns must be its last columns, ``report_segments`` is read only with
its injected ``run`` partition named, and a result page holds at most 1,000 rows.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import sqlglot

from arcollect.reports.warehouse.athena import SEGMENTS_PREFIX, SEGMENTS_TABLE
from arcollect.reports.warehouse.compaction import TABLES, parquet_source

PAGE_ROWS = 1000
CTAS = re.compile(r"^\s*CREATE TABLE (\w+) WITH \((.*?)\) AS (.*)$", re.S | re.I)


def athena_type(duckdb_type: str) -> str:
    kind = duckdb_type.upper()
    if kind.startswith("DECIMAL"):
        return "decimal"
    return {
        "BIGINT": "bigint",
        "HUGEINT": "bigint",
        "INTEGER": "integer",
        "DATE": "date",
        "BOOLEAN": "boolean",
        "VARCHAR": "varchar",
        "DOUBLE": "double",
        "TIMESTAMP": "timestamp",
    }.get(kind, "varchar")


def cell(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, bool):
        return {"VarCharValue": "true" if value else "false"}
    if isinstance(value, datetime):
        return {"VarCharValue": value.isoformat(sep=" ")}
    if isinstance(value, date):
        return {"VarCharValue": value.isoformat()}
    if isinstance(value, Decimal):
        return {"VarCharValue": str(value)}
    return {"VarCharValue": str(value)}


class AthenaOnDuckDb:
    """An Athena client (the calls store/athena.py makes) over the Parquet under ``root`` and the objects
    written to the reports bucket (``objects``: key -> bytes)."""

    def __init__(self, root: Path, objects: dict[str, bytes], *, workgroup: str = "wg") -> None:
        self.connection = duckdb.connect()
        self.objects = objects
        self.workgroup = workgroup
        for table in TABLES:
            self.connection.execute(f"CREATE VIEW {table} AS {parquet_source(root, table)}")
        self.executions: dict[str, dict[str, Any]] = {}
        self.statements: list[str] = []
        self.fail_when: str | None = None  # a query containing this text fails, as Athena reports it
        self.stall_when: str | None = None  # ... or runs until it is stopped
        self.stopped: list[str] = []

    # -- the API -------------------------------------------------------------------------------------
    def start_query_execution(self, QueryString: str, WorkGroup: str, QueryExecutionContext: Any) -> Any:
        assert WorkGroup == self.workgroup and QueryExecutionContext.get("Database")
        query_id = f"q-{len(self.executions) + 1}"
        self.statements.append(QueryString)
        if self.stall_when and self.stall_when in QueryString:
            self.executions[query_id] = {"state": "RUNNING"}
            return {"QueryExecutionId": query_id}
        try:
            if self.fail_when and self.fail_when in QueryString:
                raise RuntimeError("HIVE_BAD_DATA: made to fail by the test")
            columns, rows = self._run(QueryString)
            self.executions[query_id] = {"state": "SUCCEEDED", "columns": columns, "rows": rows}
        except (duckdb.Error, RuntimeError, ValueError, sqlglot.errors.ParseError) as error:
            self.executions[query_id] = {"state": "FAILED", "reason": str(error)}
        return {"QueryExecutionId": query_id}

    def get_query_execution(self, QueryExecutionId: str) -> Any:
        execution = self.executions[QueryExecutionId]
        status: dict[str, Any] = {"State": execution["state"]}
        if execution["state"] == "FAILED":
            status["StateChangeReason"] = execution["reason"]
        return {"QueryExecution": {"Status": status, "Statistics": {"DataScannedInBytes": 10_485_760}}}

    def stop_query_execution(self, QueryExecutionId: str) -> Any:
        self.stopped.append(QueryExecutionId)
        self.executions[QueryExecutionId] = {"state": "CANCELLED", "reason": "stopped by the caller"}
        return {}

    def get_paginator(self, name: str) -> Any:
        assert name == "get_query_results"
        return self

    def paginate(self, QueryExecutionId: str) -> Any:
        execution = self.executions[QueryExecutionId]
        columns, rows = execution["columns"], execution["rows"]
        header = {"Data": [{"VarCharValue": name} for name, _ in columns]}
        entries = [header] + [{"Data": [cell(v) for v in row]} for row in rows]
        info = [{"Name": name, "Type": kind} for name, kind in columns]
        for start in range(0, len(entries), PAGE_ROWS):
            yield {
                "ResultSet": {
                    "Rows": entries[start : start + PAGE_ROWS],
                    "ResultSetMetadata": {"ColumnInfo": info},
                }
            }

    # -- running Athena's SQL on DuckDB ----------------------------------------------------------------
    def _duckdb(self, sql: str) -> str:
        return str(sqlglot.transpile(sql, read="trino", write="duckdb")[0])

    def _segments(self, sql: str) -> None:
        """The segments table as Athena sees it: injected ``run``, so a query must name one."""
        if SEGMENTS_TABLE not in sql:
            return
        runs = re.findall(rf"FROM {SEGMENTS_TABLE} WHERE run = '([a-z0-9]+)'", sql)
        if not runs:
            raise RuntimeError(f"CONSTRAINT_VIOLATION: {SEGMENTS_TABLE}'s injected run is not named")
        rows = []
        for run in runs:
            body = self.objects.get(f"{SEGMENTS_PREFIX}run={run}/segments.json", b"")
            rows += [(json.loads(line), run) for line in body.decode("utf-8").splitlines() if line]
        self.connection.execute(
            f"CREATE OR REPLACE TEMP TABLE {SEGMENTS_TABLE} AS SELECT UNNEST(?::VARCHAR[]) AS customer_id, "
            "UNNEST(?::VARCHAR[]) AS segment, UNNEST(?::VARCHAR[]) AS run",
            [[r["customer_id"] for r, _ in rows], [r["segment"] for r, _ in rows], [run for _, run in rows]],
        )

    def _run(self, sql: str) -> tuple[list[tuple[str, str]], list[tuple[Any, ...]]]:
        self._segments(sql)
        if sql.strip().upper().startswith("DROP TABLE"):
            self.connection.execute(sql)
            return [], []
        ctas = CTAS.match(sql)
        if ctas:
            table, properties, select = ctas.groups()
            if "external_location" in properties:
                raise RuntimeError("a CTAS may not name external_location: the workgroup enforces its own")
            listed = re.search(r"partitioned_by\s*=\s*ARRAY\[(.*?)\]", properties)
            partitioned = re.findall(r"'(\w+)'", listed.group(1)) if listed else []
            self.connection.execute(f"CREATE TABLE {table} AS {self._duckdb(select)}")
            names = [row[0] for row in self.connection.execute(f"DESCRIBE {table}").fetchall()]
            if partitioned and names[-len(partitioned) :] != partitioned:
                raise RuntimeError(f"HIVE_COLUMN_ORDER_MISMATCH: partitions {partitioned} must come last")
            return [], []
        result = self.connection.execute(self._duckdb(sql))
        columns = [(d[0], athena_type(str(d[1]))) for d in result.description or ()]
        return columns, result.fetchall()
