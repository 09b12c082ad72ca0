"""The KPI report on DuckDB over 1 and 10 million documents (``arcollect generate --invoices N``, written
straight to Parquet), on 2 threads: the time and peak memory of the report's figures, and the bytes Athena
would scan for the same report, against Lambda's limits (15 minutes, 10,240 MB) and a 1 GB scan.

Each report runs in a fresh interpreter (its own VmHWM, benchmarks/memory.py): every KPI group, the risk
list, the forecast, the open amounts (the predictions table's) and the activity figures, as of the
history's last day. The pay-date model's training (reports/predicted.py) is not part of it: it reads the
documents in Python, and past a million documents the report runs on the customer-average forecast.

Athena's bytes: what the report reads as the Athena engine runs it (``athena_scan_bytes``), counted from
the Parquet footers, at least 10 MB a query (Athena's minimum charge): ``lines.sql`` materialized once by a
CTAS, which reads the exported tables' columns it names in the month partitions up to the as-of month;
then every other query reads only the columns it names, of the materialized lines in the states its
filters keep (``state = 'open'``: the open documents' partition), or of the exported tables in the months
its filters keep. The CTAS's own Parquet is written here by DuckDB, partitioned by state as Athena
writes it (Athena's writer compresses differently: not verified on Athena). At $5 per TB scanned
(Athena's price in us-east-1) that is the report's cost.
``ARCOLLECT_BENCH_WAREHOUSE=1m`` runs the 1M one only (the 10M one takes a few minutes of 2 CPUs).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

from benchmarks.datasets import REPO
from benchmarks.memory import PEAK_RSS_SOURCE
from benchmarks.report import bench

LAMBDA_TIMEOUT_S = 900
LAMBDA_MAX_MEMORY_MB = 10_240
ATHENA_TARGET_BYTES = 1_000_000_000
ATHENA_MINIMUM_BYTES = 10 * 1024 * 1024  # Athena bills at least 10 MB per query
SIZES = {"1m": 1_000_000, "10m": 10_000_000}
AS_OF = date(2026, 11, 2)  # the generator's default as-of date

PROBE = (
    PEAK_RSS_SOURCE
    + """
import json, sys, time
from datetime import date
from pathlib import Path
from arcollect.reports.warehouse.engine import DuckDbReport

root, as_of = Path(sys.argv[1]), date.fromisoformat(sys.argv[2])
started = time.perf_counter()
with DuckDbReport(root, threads=2) as report:
    document = report.compute_kpis(as_of=as_of, customers={})
    open_now = report.open_amounts(as_of)
    activity = report.activity_figures(as_of=as_of, window_days=90)
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "peak_kb": peak_rss_kb(), "open": len(open_now),
                  "ar_total": document["by_currency"]["EUR"]["ar_total"]}))
"""
)


def history(size: int) -> Path:
    """The generated history of ``size`` documents, made once per machine (kept in the temp folder)."""
    folder = Path(tempfile.gettempdir()) / f"arcollect-bench-history-{size}"
    marker = folder / "complete.json"
    if not marker.exists():
        from arcollect_cli.warehouse_history import write_history

        counts = write_history(folder, size)
        marker.write_text(json.dumps(counts))
    return folder


def _chunks(con: object, files: list[Path]) -> list[tuple[str, str, int]]:
    """Each Parquet column chunk of ``files``: its file, column and compressed bytes (what Athena reads)."""
    return [
        (str(path), str(column), int(size))
        for path, column, size in con.execute(  # type: ignore[attr-defined]
            "SELECT file_name, path_in_schema, total_compressed_size FROM parquet_metadata(?)",
            [[str(f) for f in files]],
        ).fetchall()
    ]


def _read(
    text: str, entries: list[tuple[str, str, int]], columns: set[str], keep: Callable[[str], bool]
) -> int:
    """The bytes of the chunks of ``columns`` in the partitions ``keep(path)`` accepts."""
    words = set(re.findall(r"[a-z_][a-z0-9_]*", text.lower()))
    return sum(size for path, column, size in entries if column in words & columns and keep(path))


def _uncommented(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", sql)


def athena_scan_bytes(root: Path, as_of: date) -> int:
    """The bytes Athena would scan for one report, run as the Athena engine runs it
    (``reports/warehouse/athena.py``): ``lines.sql`` materialized once by a CTAS (reading the exported
    tables' columns it names, in the month partitions up to the as-of month), its Parquet partitioned by
    ``state``; then each query reads the columns it names, of the lines in the states its filters keep
    (``state = 'open'``...), or of the exported tables in the months its filters keep."""
    import duckdb

    from arcollect.reports.warehouse.compaction import TABLES, parquet_source
    from arcollect.reports.warehouse.engine import QUERIES, bound

    total = 0
    with duckdb.connect() as con, tempfile.TemporaryDirectory(prefix="arcollect-lines-") as scratch:
        chunks: dict[str, list[tuple[str, str, int]]] = {}
        for table in TABLES:
            files = list((root / table).rglob("*.parquet"))
            if files:
                chunks[table] = _chunks(con, files)
            con.execute(f"CREATE VIEW {table} AS {parquet_source(root, table)}")

        def in_months(table: str, text: str) -> Callable[[str], bool]:
            """The month partitions the query's bounds on the partition column keep (``<=``, ``>=``)."""
            partition = TABLES[table][1]
            bounds = re.findall(rf"\b{partition}\s*(<=|>=)\s*'([0-9-]+)'", text) if partition else []

            def keep(path: str) -> bool:
                found = re.search(rf"{partition}=([0-9-]+)", path) if partition else None
                if found is None:
                    return True
                value = found.group(1)
                return all(value <= v if op == "<=" else value >= v for op, v in bounds)

            return keep

        def base_tables(text: str) -> int:
            words = set(re.findall(r"[a-z_][a-z0-9_]*", text.lower()))
            scanned = sum(
                _read(text, entries, set(TABLES[table][0]), in_months(table, text))
                for table, entries in chunks.items()
                if table in words
            )
            return max(scanned, ATHENA_MINIMUM_BYTES)

        # The CTAS: lines.sql over the exported tables, written as Athena writes it (Parquet, by state).
        lines_sql = bound("lines", as_of)
        total += base_tables(_uncommented(lines_sql))
        con.execute("CREATE TEMP TABLE segments (customer_id VARCHAR, segment VARCHAR)")
        out = Path(scratch) / "lines"
        con.execute(f"COPY ({lines_sql}) TO '{out}' (FORMAT PARQUET, PARTITION_BY (state))")
        lines = _chunks(con, list(out.rglob("*.parquet")))
        line_columns = {str(row[0]) for row in con.execute(f"DESCRIBE {lines_sql}").fetchall()}
        for name in QUERIES:
            if name == "lines":
                continue
            text = _uncommented(bound(name, as_of))
            if not re.search(r"\blines\b", text):
                total += base_tables(text)
                continue
            states = set(re.findall(r"state = '([a-z]+)'", text))
            reads_all = len(re.findall(r"\blines\b", text)) > len(re.findall(r"state = '", text))

            def keep(path: str, states: set[str] = states, reads_all: bool = reads_all) -> bool:
                found = re.search(r"state=([a-z]+)", path)
                return reads_all or found is None or found.group(1) in states

            total += max(_read(text, lines, line_columns, keep), ATHENA_MINIMUM_BYTES)
    return total


def run() -> None:
    chosen = os.environ.get("ARCOLLECT_BENCH_WAREHOUSE", "1m,10m").split(",")
    env = {
        "PYTHONPATH": f"{REPO}:{REPO / 'layers' / 'common' / 'python'}",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "PATH": os.environ.get("PATH", ""),
    }
    for label in chosen:
        size = SIZES[label.strip()]
        root = history(size)
        result = subprocess.run(
            [sys.executable, "-c", PROBE, str(root), AS_OF.isoformat()],
            capture_output=True,
            text=True,
            check=True,
            env=env,
            cwd=REPO,
        )
        figures = json.loads(result.stdout.strip().splitlines()[-1])
        bench(f"report_duckdb_seconds_{label}", figures["seconds"], "s", f"<{LAMBDA_TIMEOUT_S}")
        bench(f"report_duckdb_peak_rss_{label}", figures["peak_kb"] / 1024, "MB", f"<{LAMBDA_MAX_MEMORY_MB}")
        bench(
            f"athena_scan_bytes_per_report_{label}",
            athena_scan_bytes(root, AS_OF),
            "B",
            f"<{ATHENA_TARGET_BYTES}",
        )


if __name__ == "__main__":
    run()
