"""One report run: read the table, compute the figures as of a day, write every file to the day's
folder and ``latest/``, and (weekly) email the managers where to find it.

A run is a pure function of the table and the as-of day: a repeated or late tick writes the same files
again, and any past day can be run later (``arcollect reports run --as-of``) to backfill history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol

from arcollect.contract import ReportCadence
from arcollect.dunning.policy import PolicySet
from arcollect.observability import logger
from arcollect.reports.activity import activity_figures
from arcollect.reports.kpis import DEFAULT_WINDOW_DAYS, compute_kpis, report_keys
from arcollect.reports.outputs import render_report, weekly_summary_email
from arcollect.store.reports import ReportData


class ReportFiles(Protocol):
    def put_bytes(self, bucket: str, key: str, body: bytes, content_type: str) -> None: ...


class Mailer(Protocol):
    def send(self, *, sender: str, to: list[str], raw: bytes, tags: dict[str, str]) -> str: ...


class SummaryLedger(Protocol):
    def claim_digest(self, day: date, assignee: str, at: datetime, tasks: int) -> bool: ...


@dataclass
class ReportRun:
    as_of: date
    cadence: str
    written: list[str] = field(default_factory=list)
    emailed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "as_of": self.as_of.isoformat(),
            "cadence": self.cadence,
            "written": self.written,
            "emailed": self.emailed,
        }


def as_of_for(cadence: str, scheduled_day: date) -> date:
    """The day a scheduled run reports on: the monthly run covers the month that just ended."""
    if cadence == ReportCadence.MONTHLY:
        return scheduled_day.replace(day=1) - timedelta(days=1)
    return scheduled_day


def run_report(
    *,
    as_of: date,
    cadence: str,
    data: ReportData,
    policies: PolicySet,
    files: ReportFiles,
    bucket: str,
    now: datetime,
    window_days: int = DEFAULT_WINDOW_DAYS,
    mailer: Mailer | None = None,
    sender: str | None = None,
    ledger: SummaryLedger | None = None,
    console_url: str | None = None,
) -> ReportRun:
    run = ReportRun(as_of, cadence)
    document = compute_kpis(
        as_of=as_of,
        invoices=data.invoices,
        payments=data.payments,
        customers=data.customers,
        window_days=window_days,
        segment_of=lambda customer: policies.segment_for(customer, as_of).name,
    )
    document["activity"] = activity_figures(data, as_of=as_of, window_days=window_days)
    for name, (body, content_type) in render_report(document).items():
        for key in report_keys(as_of, name):
            files.put_bytes(bucket, key, body, content_type)
            run.written.append(key)
    if cadence == ReportCadence.WEEKLY and mailer is not None and sender:
        run.emailed = _email_managers(
            document, policies, mailer, sender, ledger, bucket, as_of, now, console_url
        )
    return run


def _email_managers(
    document: dict[str, object],
    policies: PolicySet,
    mailer: Mailer,
    sender: str,
    ledger: SummaryLedger | None,
    bucket: str,
    as_of: date,
    now: datetime,
    console_url: str | None,
) -> list[str]:
    """The weekly summary to the policy's manager (its ``team`` entry's email), once per as-of day."""
    contact = policies.contact(policies.settings.manager)
    if contact is None or not contact.email:
        logger.info("weekly summary not emailed: the policy's manager has no email in `team`")
        return []
    # Rendered before the claim: a rendering failure leaves the summary unclaimed for the retry to send.
    where = f"s3://{bucket}/{report_keys(as_of, '')[0]}" + (f" or {console_url}" if console_url else "")
    raw = weekly_summary_email(document, sender=sender, to=contact.email, download_url_hint=where)
    if ledger is not None and not ledger.claim_digest(as_of, f"weekly-summary:{contact.key}", now, 0):
        return []
    mailer.send(sender=sender, to=[contact.email], raw=raw, tags={"arcollect-kind": "weekly-summary"})
    return [contact.email]
