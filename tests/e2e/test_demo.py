"""`arcollect demo` end to end, small: the same stages `make demo` runs, on a company of 20 customers."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import _clean_env

pytestmark = pytest.mark.e2e


def test_the_demo_runs_every_stage_and_prints_a_true_summary(tmp_path: Path) -> None:
    # When the demo runs for a small company over 3 simulated days, without serving afterwards
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "arcollect_cli.main",
            "demo",
            "--no-serve",
            "--customers",
            "20",
            "--months",
            "1",
            "--days",
            "3",
            "--seed",
            "11",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env=_clean_env(),
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = result.stdout
    # Then each stage reported progress on stderr
    for stage in (
        "starting the AWS emulator",
        "generating a company",
        "ingesting the ERP's files",
        "simulating 3 days",
        "day 3/3",
    ):
        assert stage in result.stderr
    # And the summary's figures are the ones on disk
    emails = int(re.search(r"emails sent:\s+(\d+)", summary).group(1))  # type: ignore[union-attr]
    assert emails > 0
    assert len(list((tmp_path / ".local" / "outbox").glob("*.eml"))) == emails
    assert re.search(r"dunning ticks:\s+72\b", summary)
    # And the tasks the policy gave collectors are counted by kind, adding up to the total
    tasks = re.search(r"tasks created:\s+(\d+)(?: \((.*)\))?", summary)
    assert tasks is not None
    kinds = dict(part.rsplit(" ", 1) for part in tasks.group(2).split(", ")) if tasks.group(2) else {}
    assert sum(int(n) for n in kinds.values()) == int(tasks.group(1))
    # And collectors have worklists, and got their daily digest each morning
    worklists = re.search(r"open worklists:\s+(\d+)(?: \((.*)\))?", summary)
    assert worklists is not None and int(worklists.group(1)) > 0
    owners = dict(part.rsplit(" ", 1) for part in worklists.group(2).split(", "))
    assert sum(int(n) for n in owners.values()) == int(worklists.group(1))
    assert int(re.search(r"daily digests:\s+(\d+)", summary).group(1)) > 0  # type: ignore[union-attr]
    kpis = json.loads((tmp_path / ".local" / "reports" / "kpis.json").read_text())
    for currency, figures in kpis["by_currency"].items():
        assert f"{currency}: AR {figures['ar_total']}" in summary
    assert re.search(r"portal link for C-\d+: http://127\.0\.0\.1:\d+/l/\S+", summary)
    # And the stack shut down cleanly
    assert not (tmp_path / ".local" / "outputs.json").exists()
