"""The memory benchmarks measure the probe's own peak, not the peak of the process that started it."""

from __future__ import annotations

import json
import subprocess
import sys

from benchmarks.memory import PEAK_RSS_SOURCE

PARENT = """
import subprocess, sys
ballast = bytearray(400 * 1024 * 1024)  # a parent holding 400 MB, like make bench after a big benchmark
for i in range(0, len(ballast), 4096):
    ballast[i] = 1
print(subprocess.run([sys.executable, "-c", sys.argv[1]], capture_output=True, text=True, check=True).stdout)
"""

CHILD = (
    PEAK_RSS_SOURCE
    + """
import json, resource
inherited = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"ru_maxrss_kb": inherited, "peak_kb": peak_rss_kb()}))
"""
)


def test_a_probe_started_by_a_big_process_reports_its_own_peak() -> None:
    output = subprocess.run(
        [sys.executable, "-c", PARENT, CHILD], capture_output=True, text=True, check=True
    ).stdout
    figures = json.loads(output.strip().splitlines()[-1])
    # ru_maxrss carries the parent's 400 MB across fork and exec: the defect the benchmarks had
    assert figures["ru_maxrss_kb"] > 400 * 1024
    # VmHWM is the child's own: a bare interpreter, a few tens of MB
    assert figures["peak_kb"] < 100 * 1024
