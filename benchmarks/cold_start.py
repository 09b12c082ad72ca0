"""Cold-start import time of each function's handler, in a fresh interpreter, against `import boto3`.

What a Lambda cold start pays before the first event: importing the handler module (Powertools, pynamodb,
the shared package, client construction). Each process is started the way Lambda starts one: the
function's folder on the path and ``import handler``, with Lambda's variables set (``LAMBDA_TASK_ROOT``,
``AWS_LAMBDA_FUNCTION_NAME``), so that the X-Ray SDK and Powertools behave as they do there, and with
tracing on, as deployed. Each figure is the median of several fresh processes; the baseline is a bare
`import boto3` measured the same way, alternating with the handler's processes in the same run. One
`python -X importtime` listing per handler is kept in ``.artifacts/importtime/`` to show where the time
goes.
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
ARTIFACTS = REPO / ".artifacts" / "importtime"
RUNS = 9
TARGET_RATIO = 2.0
FUNCTIONS = ("ingest", "dunning", "portal", "reports")

PROBE = """
import json, sys, time
start = time.perf_counter()
{statement}
print(json.dumps({{"ms": (time.perf_counter() - start) * 1000}}))
"""


# Both sides read compiled bytecode from one cache, warmed before sampling: a handler's own modules
# would otherwise be compiled from source in every sample while boto3's come compiled from site-packages
# (PYTHONDONTWRITEBYTECODE is often set), which measures the compiler rather than the imports.
BYTECODE_CACHE = REPO / ".build" / "bench-pycache"


def lambda_environment(function: str) -> dict[str, str]:
    """The variables a function's sandbox has: Lambda's own, and the ones CDK sets (tracing on)."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "POWERTOOLS_", "_X_AMZN", "PYTHON"))
    }
    environment.update(
        {
            "PYTHONPYCACHEPREFIX": str(BYTECODE_CACHE),
            "PYTHONPATH": str(REPO / "layers" / "common" / "python"),
            "LAMBDA_TASK_ROOT": str(REPO / "functions" / function),
            "AWS_LAMBDA_FUNCTION_NAME": f"arcollect-{function}",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.14",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "TABLE_NAME": "bench",
            "DROP_BUCKET": "bench",
            "INGEST_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/bench",
            "DUNNING_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/bench-dunning",
            "REPORTS_BUCKET": "bench",
            "SES_CONFIGURATION_SET": "bench",
            "SENDER_EMAIL": "bench@example.com",
            "PORTAL_BASE_URL": "https://bench.example/",
            "LINK_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:000000000000:secret:bench",
            "STAFF_USER_POOL_ID": "us-east-1_bench",
            "STAFF_CLIENT_ID": "bench",
            "POWERTOOLS_SERVICE_NAME": f"arcollect-{function}",
            "POWERTOOLS_METRICS_NAMESPACE": "arcollect",
        }
    )
    return environment


def import_statement(function: str) -> str:
    """What Lambda's Python runtime does for handler ``handler.lambda_handler``."""
    return f"import sys\nsys.path.insert(0, {str(REPO / 'functions' / function)!r})\nimport handler"


def _sample_ms(statement: str, environment: dict[str, str]) -> float:
    output = subprocess.run(
        [sys.executable, "-c", PROBE.format(statement=statement)],
        capture_output=True,
        text=True,
        check=True,
        env=environment,
        cwd="/",
    ).stdout
    return float(json.loads(output.strip().splitlines()[-1])["ms"])


def paired_medians(function: str) -> tuple[float, float]:
    """Median import times of ``import boto3`` and of the handler, sampled alternately so that both see
    the same machine (a busy moment slows one pair, not one side)."""
    environment = lambda_environment(function)
    baseline: list[float] = []
    handler: list[float] = []
    _sample_ms(import_statement(function), environment)  # fills the bytecode cache
    for _ in range(RUNS):
        baseline.append(_sample_ms("import boto3", environment))
        handler.append(_sample_ms(import_statement(function), environment))
    return statistics.median(baseline), statistics.median(handler)


def _keep_importtime(function: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    listing = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", import_statement(function)],
        capture_output=True,
        text=True,
        check=True,
        env=lambda_environment(function),
        cwd="/",
    ).stderr
    (ARTIFACTS / f"{function}.txt").write_text(listing)


def run() -> None:
    for function in FUNCTIONS:
        baseline, value = paired_medians(function)
        bench(f"import_boto3_baseline_{function}", baseline, "ms", "info")
        bench(f"cold_start_import_{function}", value, "ms", "info")
        bench(f"cold_start_import_{function}_vs_boto3", value / baseline, "x", f"<={TARGET_RATIO}")
        _keep_importtime(function)
