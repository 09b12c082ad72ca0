"""The KPI report on DuckDB over 1 and 10 million documents (``arcollect generate --invoices N``, written
straight to Parquet), on 2 threads: the time and peak memory of the report's figures, and the bytes Athena
would scan for the same report, against Lambda's limits (15 minutes, 10,240 MB) and a 1 GB scan.

Each report runs in a fresh interpreter (its own VmHWM, benchmarks/memory.py): every KPI group, the risk
list, the forecast, the open amounts (the predictions table's) and the activity figures, as of the
history's last day. The pay-date model's training (reports/predicted.py) is not part of it: it reads the
documents in Python, and past a million documents the report runs on the customer-average forecast.

Athena's bytes: what the queries would read with the Glue tables' partition projection, counted from the
Parquet footers: each query, with ``lines`` inlined as Athena runs it, reads the column chunks of the
columns it names in the month partitions its filters keep (``invoice_month <= as_of``), at least 10 MB a
query (Athena's minimum charge). At $5 per TB scanned (Athena's price in us-east-1) that is the report's
cost. It is a lower bound: each table is counted once per query, as an engine that materializes a
``WITH`` clause reads it, but Athena's engine (Trino) inlines a ``WITH`` clause at each reference (not
verified on Athena), and ``lines.sql`` names the documents three times and the payments twice.
``ARCOLLECT_BENCH_WAREHOUSE=1m`` runs the 1M one only (the 10M one takes a few minutes of 2 CPUs).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
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


def athena_scan_bytes(root: Path, as_of: date) -> int:
    """The bytes Athena would scan for one report (see the module's docstring)."""
    import duckdb

    from arcollect.reports.warehouse.compaction import TABLES
    from arcollect.reports.warehouse.engine import QUERIES, bound

    lines = bound("lines", as_of)
    month = as_of.isoformat()[:7]
    total = 0
    with duckdb.connect() as con:
        chunks: dict[str, list[tuple[str, str, int]]] = {}
        for table in TABLES:
            files = list((root / table).rglob("*.parquet"))
            if not files:
                continue
            chunks[table] = [
                (str(path), str(column), int(size))
                for path, column, size in con.execute(
                    "SELECT file_name, path_in_schema, total_compressed_size FROM parquet_metadata(?)",
                    [[str(f) for f in files]],
                ).fetchall()
            ]
        for name in QUERIES:
            if name == "lines":
                continue
            text = bound(name, as_of)
            if re.search(r"\blines\b", text):
                text = f"{text} {lines}"  # lines inlined: its tables and columns are read by this query
            words = set(re.findall(r"[a-z_][a-z0-9_]*", text.lower()))
            scanned = 0
            for table, entries in chunks.items():
                if table not in words:
                    continue
                columns = words & set(TABLES[table][0])
                partition = TABLES[table][1]
                pruned = partition in ("invoice_month", "payment_month") and partition in words
                for path, column, size in entries:
                    if column not in columns:
                        continue
                    found = re.search(rf"{partition}=([0-9-]+)", path) if partition else None
                    if pruned and found and found.group(1) > month:
                        continue
                    scanned += size
            total += max(scanned, ATHENA_MINIMUM_BYTES)
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
