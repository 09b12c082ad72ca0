"""The policy lab's backtest over the SAP extract: a year of its history (2018) replayed under the shipped
policy, read from the file as ``arcollect dunning backtest --invoices`` reads it: the time and the peak
memory of one fresh process, and what the policy did (the README quotes them).

The probe is a fresh interpreter (its own peak, ``benchmarks/memory.py``); the extract's CSV is unzipped
to a temporary file first, as a team would have it. The extract has no customer master data, so every
customer is assumed reachable (``--assume-contactable``), and the calls are shared by a stated team.
Target: under 5 minutes on 2 cores.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from benchmarks.datasets import MAPPINGS, REPO, datasets
from benchmarks.memory import PEAK_RSS_SOURCE
from benchmarks.report import bench

START, END = "2018-01-01", "2018-12-31"
TEAM_SIZE = 3  # the README's stated team: three collectors share the calls
TARGET_SECONDS = 300
# The backtest runs on a team member's machine (the CLI), not in a function: bounded well inside a laptop.
TARGET_PEAK_MB = 2048

PROBE = (
    PEAK_RSS_SOURCE
    + """
import json, sys, time
from datetime import date
from pathlib import Path
from arcollect.dunning.backtest import measures, replay
from arcollect.policy import shipped_policy
from arcollect_cli.backtest import history_from_files

path, mapping, start, end, team = sys.argv[1:6]
started = time.perf_counter()
history = history_from_files(Path(path), None, None, [mapping])
loaded = time.perf_counter() - started
result = replay(history, shipped_policy(), start=date.fromisoformat(start), end=date.fromisoformat(end),
                team_size=int(team), contactable=True, policy_name="shipped")
figures = measures(result)
seconds = time.perf_counter() - started
figures.pop("per_day")
print(json.dumps({"documents": len(history.invoices), "load_seconds": loaded, "seconds": seconds,
                  "peak_kb": peak_rss_kb(), "measures": figures}))
"""
)


def run() -> None:
    folder = datasets()
    if folder is None:
        print("# backtest_sap: the shared datasets are not here (set ARCOLLECT_DATASETS)", file=sys.stderr)
        return
    env = {"PYTHONPATH": f"{REPO}:{REPO / 'layers' / 'common' / 'python'}", "POWERTOOLS_LOG_LEVEL": "WARNING"}
    with tempfile.TemporaryDirectory() as scratch:
        extract = Path(scratch) / "sap-ar-extract.csv"
        with zipfile.ZipFile(folder / "sap-ar-extract.zip") as archive:
            extract.write_bytes(archive.read("training_data.csv"))
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                PROBE,
                str(extract),
                str(MAPPINGS / "sap-ar-extract.yaml"),
                START,
                END,
                str(TEAM_SIZE),
            ],
            capture_output=True,
            text=True,
            check=True,
            env=env,
            cwd=REPO,
        )
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["documents"] > 240_000, figures
    m = figures["measures"]
    bench("backtest_sap_year_seconds", figures["seconds"], "s", f"<{TARGET_SECONDS}")
    bench("backtest_sap_peak_rss", figures["peak_kb"] / 1024, "MB", f"<{TARGET_PEAK_MB}")
    bench("backtest_sap_load_seconds", figures["load_seconds"], "s", "info")
    bench("backtest_sap_invoices_30_days_past_due", m["invoices_30_days_past_due"], "invoices", "info")
    bench(
        "backtest_sap_share_with_4_touches_before_30_dpd", m["share_with_4_touches_before_30_dpd"], "", "info"
    )
    per = m["calls_per_collector_per_day"]
    for name in ("p50", "p95", "max"):
        bench(f"backtest_sap_calls_per_collector_per_day_{name}_team_{TEAM_SIZE}", per[name], "calls", "info")
    bench("backtest_sap_emails", m["emails"], "emails", "info")
    bench("backtest_sap_calls", m["calls"], "calls", "info")
    print(f"# backtest_sap measures: {json.dumps(m, sort_keys=True)}", file=sys.stderr)
