"""The 266,093-row SAP extract: peak memory of one invocation loading it whole, and its end-to-end
time through the local stack (customer master, then the extract in parallel chunks), counts checked.

Memory: a fresh interpreter streams the extract out of its zip through ``receive_drop`` with the store
left out (a dry run: the table is remote in Lambda, so what counts is the function's own memory), and
reports its peak RSS above the interpreter with everything imported (the baseline, same run). Both are
the probe's own high-water mark (``benchmarks/memory.py``), not the one it inherits from ``make bench``.
End to end: ``arcollect local up`` in its own process and ``arcollect ingest`` from another, as a user
would; the figure is from the upload to the result summary of the last chunk.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.datasets import REPO, datasets, sap_customer_master, sap_expected, sap_extract_lines
from benchmarks.memory import PEAK_RSS_SOURCE
from benchmarks.report import bench

MAPPING = REPO / "tests" / "data" / "mappings" / "sap-ar-extract.yaml"
LAMBDA_MEMORY_MB = 1024  # the ingest function's memory size (infra/constructs/ingest.py)

PROBE = (
    PEAK_RSS_SOURCE
    + """
import json, sys, zipfile
from datetime import UTC, datetime
from pathlib import Path
from arcollect.ingest.drops import Drop, receive_drop
from arcollect.ingest.results import IngestReport
baseline = peak_rss_kb()
archive = zipfile.ZipFile(sys.argv[1])
mapping = Path(sys.argv[2]).read_text()

class Extract:
    def iter_bytes(self, bucket, key, version_id=None):
        with archive.open("training_data.csv") as member:
            while chunk := member.read(1 << 20):
                yield chunk
    def metadata(self, bucket, key, version_id=None):
        return {}
    def read_text(self, bucket, key):
        return mapping if key == "config/mappings/sap-ar-extract.yaml" else None

class Register:
    def get(self, key, version_id): return None
    def record(self, file): return True
    def chunk_done(self, key, version_id, index): return 1

now = datetime(2026, 11, 2, tzinfo=UTC)
drop = Drop("drop", "incoming/invoices/sap-ar-extract/training_data.csv", "v1", 0, "e", now)
outcome = receive_drop(drop, reader=Extract(), register=Register(), now=now)
peak = peak_rss_kb()
print(json.dumps({"rows": outcome.summary["rows_read"], "peak_kb": peak, "baseline_kb": baseline}))
"""
)


def _memory() -> None:
    folder = datasets()
    assert folder is not None
    env = {"PYTHONPATH": f"{REPO}:{REPO / 'layers' / 'common' / 'python'}", "POWERTOOLS_LOG_LEVEL": "WARNING"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(folder / "sap-ar-extract.zip"), str(MAPPING)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["rows"] == 266_093, figures
    bench("ingest_sap_peak_rss", figures["peak_kb"] / 1024, "MB", f"<{LAMBDA_MEMORY_MB}")
    bench(
        "ingest_sap_peak_rss_above_imports",
        (figures["peak_kb"] - figures["baseline_kb"]) / 1024,
        "MB",
        "info",
    )


def _end_to_end() -> None:
    sys.path.insert(0, str(REPO))
    from tests.e2e.conftest import start_stack

    lines = sap_extract_lines()
    expected = sap_expected(lines)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        (work / "master.csv").write_text(sap_customer_master(lines))
        (work / "training_data.csv").write_text("".join(lines))
        stack = start_stack(work)
        try:
            stack.json("ingest", "master.csv", "--kind", "customers")
            started = time.monotonic()
            ingested = stack.arcollect(
                *("ingest", "training_data.csv", "--kind", "invoices", "--mapping", str(MAPPING)),
                *("--timeout", "3600", "--json"),
                timeout=3700,
            )
            summary = json.loads(ingested.stdout)
            seconds = time.monotonic() - started
        finally:
            # The emulator holds the whole table in memory; stopping it may take a while.
            try:
                stack.process.send_signal(signal.SIGTERM)
                stack.process.wait(timeout=300)
            except subprocess.TimeoutExpired:
                stack.process.kill()
    for name in ("rows_read", "accepted", "rejected", "skipped", "unchanged", "payments_applied"):
        assert summary[name] == expected[name], (name, summary[name], expected[name])
    bench("ingest_sap_end_to_end_local_stack", seconds, "s", "info")
    bench("ingest_sap_end_to_end_rows_per_s", expected["rows_read"] / seconds, "rows/s", "info")
    bench("ingest_sap_chunks", summary["chunks"], "invocations", "info")


def run() -> None:
    if datasets() is None:
        print("# ingest_sap: skipped, the shared AR datasets are not here (set ARCOLLECT_DATASETS)")
        return
    _memory()
    _end_to_end()
