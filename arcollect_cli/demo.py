"""``make demo``: a generated company run through the local stack as the schedules would run it."""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

from rich.console import Console

from arcollect.clock import format_instant
from arcollect.contract import DIGEST_HOUR_UTC, Output
from arcollect.store.dunning import DunningStore
from arcollect.store.repositories import Tasks
from arcollect.store.worklist import TaskBook
from arcollect_cli.ingest import ingest_file
from arcollect_cli.links import portal_link
from arcollect_cli.outbox import read_outbox
from arcollect_cli.output import progress
from arcollect_cli.target import FUNCTION_OUTPUTS, Target

# When the daily schedules fire in the simulation (UTC): reports at 05:00 as in cdk.json, and the
# ERP's files of the day land at 06:00.
REPORTS_HOUR = 5
ERP_FILES_HOUR = 6


# The order the ERP's files of one day are loaded in: masters first, then invoices, so that the day's
# payments find them.
FILE_ORDER = {"customers": 0, "invoices": 1, "payments": 2}

# Progress bars on standard error, beside the progress lines; plain lines when it is not a terminal.
_CONSOLE = Console(stderr=True, highlight=False, soft_wrap=True)


@dataclass
class DemoStats:
    files: int = 0
    rows: Counter[str] = field(default_factory=Counter)
    hours: int = 0
    ticks: int = 0
    reminders: int = 0


def _ingest(target: Target, stats: DemoStats, path: Path, kind: str, as_of: str) -> dict[str, Any]:
    # The file says which day it describes, as an ERP's scheduled export would: the local stack's
    # clock is the machine's, not the simulated day's, and the freshness hold counts from this.
    result = ingest_file(target, path, kind, None, timeout=300, show_progress=False, as_of=as_of)
    stats.files += 1
    for key in ("rows_read", "accepted", "rejected", "unchanged", "skipped"):
        stats.rows[key] += int(result.get(key, 0))
    return result


def run_demo(
    root: Path,
    *,
    serve: bool,
    customers: int,
    months: int,
    days: int,
    seed: int,
    every_hour: bool = False,
) -> int:
    """Start the local stack, generate a company, ingest its files, simulate ``days`` of schedules, print
    a summary and serve the portal. Returns the exit code."""
    from arcollect_cli.generate import generate_company
    from arcollect_cli.local.stack import LocalStack

    started = time.monotonic()
    stack = LocalStack(root)
    stack.start(progress)
    try:
        target = Target.resolve(None, root)
        company = root / ".local" / "demo" / "company"
        shutil.rmtree(company, ignore_errors=True)
        progress(f"generating a company: {customers} customers, {months} months of invoices, seed {seed}")
        generate_company(
            customers=customers,
            months=months,
            seed=seed,
            as_of=_default_as_of(),
            simulate_days=days,
            out=company,
        )
        manifest = json.loads((company / "manifest.json").read_text())
        as_of = date.fromisoformat(manifest["as_of"])
        stats = DemoStats()

        progress("ingesting the ERP's files through the drop bucket")
        initial = [f for f in manifest["files"] if date.fromisoformat(f["arrives_on"]) <= as_of]
        for entry in sorted(initial, key=lambda f: FILE_ORDER[f["kind"]]):
            result = _ingest(target, stats, company / entry["path"], entry["kind"], entry["arrives_on"])
            progress(
                f"  {entry['path']}: {result.get('accepted', 0)} accepted, "
                f"{result.get('rejected', 0)} rejected, {result.get('unchanged', 0)} unchanged"
            )

        arrivals: dict[date, list[dict[str, Any]]] = {}
        for entry in manifest["files"]:
            day = date.fromisoformat(entry["arrives_on"])
            if day > as_of:
                arrivals.setdefault(day, []).append(entry)

        progress(
            f"simulating {days} days from {as_of + timedelta(days=1)}: the ERP's daily files, daily "
            + (
                "reports and hourly dunning ticks"
                if every_hour
                else "reports, and the dunning ticks that can act"
            )
        )
        last_report = _simulate(target, stats, company, as_of, days, arrivals, every_hour=every_hour)

        reports_dir = root / ".local" / "reports"
        shutil.rmtree(reports_dir, ignore_errors=True)
        _fetch_reports(target, reports_dir)
        _print_summary(
            target, stats, reports_dir, last_report, as_of + timedelta(days=days), time.monotonic() - started
        )
        print("\n".join(f"  {line}" for line in stack.staff_sign_in()), file=sys.stdout, flush=True)
        if serve:
            progress(
                f"serving the portal {target.output(Output.PORTAL_URL)} until Ctrl-C, "
                f"{time.monotonic() - started:.0f} s after the start (other commands work meanwhile)"
            )
            import signal

            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, lambda *_: stack.request_stop())
            stack.wait()
    finally:
        stack.stop()
    return 0


def _simulate(
    target: Target,
    stats: DemoStats,
    company: Path,
    as_of: date,
    days: int,
    arrivals: dict[date, list[dict[str, Any]]],
    *,
    every_hour: bool,
    on_hour: Callable[[datetime], None] | None = None,
) -> Any:
    """Run the schedules hour by hour, as EventBridge Scheduler would, and return the last report.
    ``on_hour`` is told each simulated hour as it starts (the cost benchmark attributes the functions'
    log to the hours).

    Every hour is an hourly dunning tick on AWS. A tick acts only on what the sparse index says is due by
    then, so an hour with nothing due changes nothing but the run register, and is skipped unless
    ``every_hour``: after each tick the index's earliest next look says which hour acts next. The reports
    hour and the files' hour (also the digests' hour) always run.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    target.bind_table()
    index = DunningStore()
    outbox = Path(target.outputs["Local"]["Outbox"])
    next_due = index.next_due_at()
    last_report: Any = None
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=_CONSOLE, transient=False) as bar:
        hours = bar.add_task("simulated hours", total=days * 24)
        for offset in range(1, days + 1):
            day = as_of + timedelta(days=offset)
            for hour in range(24):
                at = datetime.combine(day, clock_time(hour), tzinfo=UTC)
                bar.update(hours, advance=1, description=f"day {offset}/{days} {at:%a %d %b %H}:00")
                if on_hour is not None:
                    on_hour(at)
                scheduled = hour in (REPORTS_HOUR, ERP_FILES_HOUR, DIGEST_HOUR_UTC)
                if hour == ERP_FILES_HOUR:
                    # The ERP's nightly export: new invoices first, so that the day's payments find them.
                    for entry in sorted(arrivals.get(day, []), key=lambda f: FILE_ORDER[f["kind"]]):
                        _ingest(target, stats, company / entry["path"], entry["kind"], entry["arrives_on"])
                    next_due = index.next_due_at()  # the files may have brought something due at once
                if hour == REPORTS_HOUR:
                    last_report = target.tick(FUNCTION_OUTPUTS["reports"], format_instant(at))
                stats.hours += 1
                if not (every_hour or scheduled or (next_due is not None and next_due <= at)):
                    continue
                result = target.tick(FUNCTION_OUTPUTS["dunning"], format_instant(at))
                stats.ticks += 1
                if result.get("fanned_out"):
                    # The sweep handed customers to the dunning queue: let the workers finish first.
                    target.wait_until_drained(Output.DUNNING_QUEUE_URL)
                next_due = index.next_due_at()
            stats.reminders = sum(1 for _ in outbox.glob("*.eml"))
            bar.console.print(
                f"arcollect:   day {offset}/{days} ({day}): {stats.reminders} emails so far, "
                f"{stats.files} files ingested, {stats.ticks} dunning ticks"
            )
    return last_report


def _default_as_of() -> date:
    from arcollect_cli.generate import DEFAULT_AS_OF

    return DEFAULT_AS_OF


def _fetch_reports(target: Target, destination: Path) -> None:
    import boto3

    s3 = boto3.client("s3")
    bucket = target.output(Output.REPORTS_BUCKET)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="latest/"):
        for obj in page.get("Contents", []):
            local = destination / obj["Key"].removeprefix("latest/")
            local.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, obj["Key"], str(local))


def _print_summary(
    target: Target, stats: DemoStats, reports_dir: Path, report: Any, end: date, seconds: float
) -> None:
    emails = read_outbox(Path(target.outputs["Local"]["Outbox"]))
    kpis = json.loads((reports_dir / "kpis.json").read_text()) if (reports_dir / "kpis.json").exists() else {}
    most_overdue = _most_overdue_customer(emails)
    target.bind_table()
    tasks = Tasks().count_by_kind()
    by_kind = ", ".join(f"{kind} {count}" for kind, count in tasks.items())
    worklists = Counter(task.assignee or "unassigned" for task in TaskBook().all_open_tasks())
    open_by = ", ".join(f"{who} {count}" for who, count in sorted(worklists.items()))
    digests = sum(1 for e in emails if str(e.get("subject", "")).startswith("Your collections worklist"))
    lines = [
        "",
        f"arcollect demo — simulated up to {end}, {seconds:.0f} s",
        f"  files ingested:    {stats.files} ({stats.rows['rows_read']} rows: "
        f"{stats.rows['accepted']} accepted, "
        f"{stats.rows['rejected']} rejected with reasons, {stats.rows['unchanged']} unchanged)",
        f"  dunning ticks:     {stats.ticks}"
        + (
            f" of {stats.hours} simulated hours (nothing was due in the others)"
            if stats.ticks < stats.hours
            else ""
        ),
        f"  emails sent:       {len(emails)} (in {target.outputs['Local']['Outbox']})",
        f"  tasks created:     {sum(tasks.values())}" + (f" ({by_kind})" if by_kind else ""),
        f"  open worklists:    {sum(worklists.values())}" + (f" ({open_by})" if open_by else ""),
        f"  daily digests:     {digests} emailed to collectors",
        f"  reports:           {reports_dir} (and s3://{target.output(Output.REPORTS_BUCKET)}/kpi/)",
    ]
    for currency, figures in sorted((kpis.get("by_currency") or {}).items()):
        aging = figures.get("aging", {})
        lines.append(
            f"  {currency}: AR {figures['ar_total']}, past due {figures['ar_past_due']}, "
            f"DSO {figures.get('dso_days', 'n/a')} days; aging current {aging.get('current')}, "
            f"1-30 {aging.get('d1_30')}, 31-60 {aging.get('d31_60')}, 61-90 {aging.get('d61_90')}, "
            f"90+ {aging.get('d91_plus')}"
        )
    if most_overdue:
        lines.append(f"  portal link for {most_overdue}: {portal_link(target, most_overdue)}")
    print("\n".join(lines), file=sys.stdout, flush=True)


def _most_overdue_customer(emails: list[dict[str, Any]]) -> str | None:
    counts = Counter(e["customer_id"] for e in emails if e.get("customer_id"))
    return counts.most_common(1)[0][0] if counts else None
