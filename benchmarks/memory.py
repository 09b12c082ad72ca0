"""Peak memory of a probe process, whatever the process that started it had resident.

``ru_maxrss`` is the wrong figure here: Linux keeps a process's high-water mark across ``fork`` and
``exec`` (the child's copy of the parent's address space counts, and ``exec`` records it), so a probe
started by ``make bench`` after a benchmark that held the SAP extract reported the 4 GB of that
benchmark as its own. ``VmHWM`` in ``/proc/self/status`` is the high-water mark of the current address
space only, which ``exec`` replaces: the probe's own peak. A probe includes ``PEAK_RSS_SOURCE`` and calls
``peak_rss_kb()``.
"""

from __future__ import annotations

PEAK_RSS_SOURCE = '''
def peak_rss_kb():
    """This process's own peak resident size since it started (VmHWM), in KiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status: the memory benchmarks need Linux")
'''
