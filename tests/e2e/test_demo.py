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


def _demo(workdir: Path, *extra: str) -> subprocess.Popen[str]:
    """`arcollect demo` for a company of 20 customers, without serving afterwards."""
    return subprocess.Popen(
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
            "--seed",
            "11",
            *extra,
        ],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_clean_env(),
    )


def _finished(process: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr[-3000:]
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def test_the_demo_runs_every_stage_and_prints_a_true_summary(tmp_path: Path) -> None:
    # When the demo runs for a small company over 3 simulated days
    result = _finished(_demo(tmp_path, "--days", "3"))
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
    ticks = re.search(r"dunning ticks:\s+(\d+) of 72 simulated hours", summary)
    assert ticks is not None and 0 < int(ticks.group(1)) < 72
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


def _outbox(workdir: Path) -> list[tuple[str, ...]]:
    from arcollect_cli.outbox import read_outbox

    def words(text: str) -> str:
        # Portal links carry the stack's own port and a signature by its own key.
        return re.sub(r"http://127\.0\.0\.1:\d+/\S*", "<link>", text)

    return sorted(
        (
            str(e["sent_at"]),
            str(e["customer_id"]),
            ",".join(e["to"]),
            str(e["subject"]),
            words(str(e["text"])),
        )
        for e in read_outbox(workdir / ".local" / "outbox")
    )


def test_skipping_the_hours_with_nothing_due_changes_no_outcome(tmp_path: Path) -> None:
    # Given the same company simulated twice over 4 days: every hour ticked, and only the hours that act
    (every_hour := tmp_path / "every-hour").mkdir()
    (acting := tmp_path / "acting").mkdir()
    runs = [_demo(every_hour, "--days", "4", "--every-hour"), _demo(acting, "--days", "4")]
    full, skipped = (_finished(run) for run in runs)
    # Then fewer ticks ran
    assert re.search(r"dunning ticks:\s+96\n", full.stdout)
    ticks = re.search(r"dunning ticks:\s+(\d+) of 96 simulated hours", skipped.stdout)
    assert ticks is not None and int(ticks.group(1)) < 96
    # And the same emails went to the same people at the same simulated times, with the same words
    emails = _outbox(every_hour)
    assert emails and _outbox(acting) == emails
    # And the same tasks, worklists and figures came out
    for figure in (
        "files ingested",
        "emails sent",
        "tasks created",
        "open worklists",
        "daily digests",
        "AR ",
    ):
        lines = [line.split(" (in ")[0] for line in full.stdout.splitlines() if figure in line]
        assert lines and lines == [
            line.split(" (in ")[0] for line in skipped.stdout.splitlines() if figure in line
        ]
    kpis = [
        json.loads((run / ".local" / "reports" / "kpis.json").read_text()) for run in (every_hour, acting)
    ]
    assert kpis[0]["by_currency"] == kpis[1]["by_currency"]
    assert kpis[0]["activity"] == kpis[1]["activity"]
