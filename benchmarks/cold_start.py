"""Cold-start import time of each function's handler, in a fresh interpreter, against `import boto3`.

What a Lambda cold start pays before the first event: importing the handler module (Powertools, pynamodb,
the shared package, client construction). Each figure is the median of several fresh processes; the
baseline is a bare `import boto3` measured the same way in the same run.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from benchmarks.report import bench

REPO = Path(__file__).resolve().parent.parent
RUNS = 5
TARGET_MS = 1500  # a small share of the first request's budget, on a developer machine

PROBE = """
import json, sys, time
start = time.perf_counter()
{statement}
print(json.dumps({{"ms": (time.perf_counter() - start) * 1000}}))
"""


def _median_ms(statement: str) -> float:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "TABLE_NAME": "bench",
        "DROP_BUCKET": "bench",
        "INGEST_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/bench",
        "REPORTS_BUCKET": "bench",
        "SES_CONFIGURATION_SET": "bench",
        "SENDER_EMAIL": "bench@example.com",
        "PORTAL_BASE_URL": "https://bench.example/",
        "LINK_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:000000000000:secret:bench",
        "POWERTOOLS_TRACE_DISABLED": "1",
    }
    samples = []
    for _ in range(RUNS):
        output = subprocess.run(
            [sys.executable, "-c", PROBE.format(statement=statement)],
            capture_output=True,
            text=True,
            check=True,
            env=env,
            cwd=REPO,
        ).stdout
        samples.append(json.loads(output.strip().splitlines()[-1])["ms"])
    return statistics.median(samples)


def run() -> None:
    baseline = _median_ms("import boto3")
    bench("import_boto3_baseline", baseline, "ms", "info")
    for function in ("ingest", "dunning", "portal", "reports"):
        statement = f"from arcollect_cli.lambda_runtime import load_handler; load_handler({function!r})"
        value = _median_ms(statement)
        bench(f"cold_start_import_{function}", value, "ms", f"<{TARGET_MS}")
        bench(f"cold_start_import_{function}_vs_boto3", value / baseline, "x", "info")
