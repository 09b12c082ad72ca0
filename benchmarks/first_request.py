"""First-request time of each function on the local stack: what a customer (or the schedule) waits for.

For each function a fresh `arcollect local up` process is started, so that the function's handler is
imported by the measured request, as on a cold start. The request is the function's everyday one: an
ERP file through the drop bucket (ingest, until its result lands), an hourly tick (dunning), an emailed
link opened in the browser (portal) and a daily tick (reports). The same request is then timed again:
the difference is what the cold start costs. The local stack hosts the functions in its own process,
which has boto3 and the emulator loaded already, so these figures are the handler's own share.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.report import bench

REPO = Path(__file__).resolve().parent.parent
TICK_AT = "2026-11-03T09:00:00Z"
INVOICES = (
    "customer_id,invoice_number,invoice_date,due_date,amount,currency\n"
    "C-1,INV/2026/00001,2026-09-01,2026-10-01,1234.56,EUR\n"
    "C-1,INV/2026/00002,2026-09-15,2026-10-15,99.00,EUR\n"
)


def _environment() -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    return {**keep, "PYTHONPATH": str(REPO)}


def _start(workdir: Path) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    outputs = workdir / ".local" / "outputs.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "arcollect_cli.main", "local", "up"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_environment(),
    )
    deadline = time.monotonic() + 120
    while not outputs.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("the local stack did not start")
        time.sleep(0.05)
    return process, json.loads(outputs.read_text())


def _timed(request: Callable[[], object]) -> float:
    start = time.perf_counter()
    request()
    return (time.perf_counter() - start) * 1000


def _requests(workdir: Path, outputs: dict[str, Any]) -> dict[str, Callable[[], object]]:
    from arcollect_cli.links import portal_link
    from arcollect_cli.target import FUNCTION_OUTPUTS, Target

    target = Target.resolve(None, workdir)
    import boto3

    s3 = boto3.client("s3")
    bucket = outputs["DropBucketName"]
    uploads = iter(range(1_000_000))

    def ingest() -> object:
        key = f"incoming/invoices/bench-{next(uploads)}.csv"
        version = s3.put_object(Bucket=bucket, Key=key, Body=INVOICES.encode())["VersionId"]
        results = key.replace("incoming/", "results/", 1) + ".json"
        while True:
            try:
                result = json.loads(s3.get_object(Bucket=bucket, Key=results)["Body"].read())
                if result.get("version") == version:
                    return result
            except s3.exceptions.NoSuchKey:
                pass
            time.sleep(0.01)

    # A genuine link of a customer the fresh table does not hold: the portal checks the signature,
    # looks the customer up and renders its page (a 403 that offers a fresh link), as for any link.
    link = portal_link(target, "C-1")

    def portal() -> object:
        request = urllib.request.Request(link, headers={"Accept": "text/html"})  # noqa: S310 (http://127.0.0.1)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (the local stack)
                return response.read()
        except urllib.error.HTTPError as error:
            return error.read()

    return {
        "ingest": ingest,
        "dunning": lambda: target.tick(FUNCTION_OUTPUTS["dunning"], TICK_AT),
        "portal": portal,
        "reports": lambda: target.tick(FUNCTION_OUTPUTS["reports"], "2026-11-03T05:00:00Z"),
    }


def measure(function: str) -> tuple[float, float]:
    """(first, second) request time in ms, on a fresh local stack."""
    with tempfile.TemporaryDirectory(prefix="arcollect-first-request-") as folder:
        workdir = Path(folder)
        process, outputs = _start(workdir)
        saved = dict(os.environ)
        try:
            request = _requests(workdir, outputs)[function]
            return _timed(request), _timed(request)
        finally:
            os.environ.clear()
            os.environ.update(saved)
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


def run() -> None:
    for function in ("ingest", "dunning", "portal", "reports"):
        first, second = measure(function)
        bench(f"first_request_{function}_local", first, "ms", "info")
        bench(f"second_request_{function}_local", second, "ms", "info")
