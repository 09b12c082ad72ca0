"""A KPI report over the whole SAP extract (244k documents, 234k payments) in one process: the time to
train the pay-date model and score the open invoices, compute every figure and render every file, and
the peak memory, against the reports function's limits (15 minutes, 3,008 MB).

A fresh interpreter loads the extract as ingest would store it (the table's contents: the report
function reads them with one scan), notes its RSS (the baseline: the data itself, same run), then
computes and renders the report as of four dates and reports the slowest and the peak RSS (the probe's own
high-water mark, ``benchmarks/memory.py``, not the one it inherits from ``make bench``).
"""

from __future__ import annotations

import json
import subprocess
import sys

from benchmarks.datasets import REPO, datasets
from benchmarks.memory import PEAK_RSS_SOURCE
from benchmarks.report import bench

LAMBDA_MEMORY_MB = 3008  # infra/constructs/reports.py
LAMBDA_TIMEOUT_S = 900

PROBE = (
    PEAK_RSS_SOURCE
    + """
import json, sys, time
from datetime import date
from benchmarks.datasets import as_stored, sap_extract_lines
from arcollect.reports.activity import activity_figures
from arcollect.reports.kpis import compute_kpis, open_amounts
from arcollect.reports.outputs import render_report
from arcollect.reports.predicted import predict_portfolio, predictions_table
from arcollect.store.reports import ReportData

invoices, payments = as_stored("".join(sap_extract_lines()).encode(), "sap-ar-extract")
data = ReportData(invoices=invoices, payments=payments)
loaded = peak_rss_kb()
slowest = 0.0
for as_of in (date(2017, 12, 31), date(2018, 6, 30), date(2018, 11, 15), date(2019, 3, 31)):
    started = time.perf_counter()
    # As run_report does: the pay-date model trained and every open invoice scored, the forecast on them.
    predictions = predict_portfolio(data, as_of)
    outlooks = predictions.by_invoice() if predictions.basis == "model" else None
    document = compute_kpis(
        as_of=as_of, invoices=invoices, payments=payments, customers={}, outlooks=outlooks
    )
    document["predictions"] = predictions_table(predictions, open_amounts(invoices, payments, as_of))
    document["activity"] = activity_figures(data, as_of=as_of, window_days=90)
    files = render_report(document)
    slowest = max(slowest, time.perf_counter() - started)
peak = peak_rss_kb()
print(json.dumps({"documents": len(invoices), "loaded_kb": loaded, "peak_kb": peak, "seconds": slowest,
                  "files": sorted(files)}))
"""
)


def run() -> None:
    if datasets() is None:
        print("# reports_sap: the shared datasets are not here (set ARCOLLECT_DATASETS)", file=sys.stderr)
        return
    env = {"PYTHONPATH": f"{REPO}:{REPO / 'layers' / 'common' / 'python'}", "POWERTOOLS_LOG_LEVEL": "WARNING"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, env=env, cwd=REPO
    )
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["documents"] > 240_000, figures
    bench("report_sap_seconds_per_as_of", figures["seconds"], "s", f"<{LAMBDA_TIMEOUT_S}")
    bench("report_sap_peak_rss", figures["peak_kb"] / 1024, "MB", f"<{LAMBDA_MEMORY_MB}")
    bench("report_sap_rss_of_the_data_baseline", figures["loaded_kb"] / 1024, "MB", "info")
