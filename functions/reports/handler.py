"""Reports: the daily, weekly and monthly EventBridge Scheduler ticks (``detail.cadence``) and on-demand
runs -> KPI files in the reports bucket (and, weekly, a summary email to the managers).

Events, by shape:
- a scheduled tick: its ``time`` is the day reported on (the monthly tick: the month that just ended);
- ``{"action": "run", "as_of": "YYYY-MM-DD", "cadence": "daily"}`` (``arcollect reports run``): any day,
  past days included (backfill); the same table gives the same files.

A daily run also writes the ERP change feed's files of the days before it (``outgoing/daily/`` in the
drop bucket), the feed's one daily job.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from arcollect.changes import days_to_roll_up, roll_up
from arcollect.contract import ReportCadence
from arcollect.dunning.policy import load_policies
from arcollect.events import read_eventbridge
from arcollect.observability import logger, metrics, tracer
from arcollect.reports.publish import as_of_for, run_report
from arcollect.settings import get_settings
from arcollect.store import bind_table
from arcollect.store.changes import ChangeLog
from arcollect.store.mail import SesMailer
from arcollect.store.objects import ObjectStore
from arcollect.store.reports import ReportReader
from arcollect.store.workspace import WorkspaceStore

settings = get_settings()
bind_table(settings.require("table_name"))
objects = ObjectStore()
reader = ReportReader()
ledger = WorkspaceStore()
change_log = ChangeLog()


class ReportRequestError(ValueError):
    """An on-demand run asked for something that is not a report (a bad date or cadence)."""


def _cadence(value: object) -> str:
    cadence = str(value or ReportCadence.DAILY)
    if cadence not in ReportCadence.ALL:
        raise ReportRequestError(f"cadence {cadence!r} is not one of {', '.join(ReportCadence.ALL)}")
    return cadence


def _run(as_of: date, cadence: str) -> dict[str, Any]:
    mailer = None
    if settings.ses_configuration_set and settings.sender_email:
        mailer = SesMailer(configuration_set=settings.ses_configuration_set)
    base = settings.portal_base_url
    run = run_report(
        as_of=as_of,
        cadence=cadence,
        data=reader.read(),
        policies=load_policies(objects, settings.drop_bucket),
        files=objects,
        bucket=settings.require("reports_bucket"),
        now=datetime.now(UTC),
        mailer=mailer,
        sender=settings.sender_email,
        ledger=ledger,
        console_url=f"{base.rstrip('/')}/staff/reports" if base else None,
    )
    metrics.add_metric(name="ReportFilesWritten", unit=MetricUnit.Count, value=len(run.written))
    # A weekly summary SES may have sent (never resent): a person checks with the manager.
    metrics.add_metric(name="SummariesInDoubt", unit=MetricUnit.Count, value=len(run.summary_in_doubt))
    outcome = run.as_dict()
    if cadence == ReportCadence.DAILY:
        outcome["change_feed"] = _roll_up_changes(as_of)
    return outcome


def _roll_up_changes(as_of: date) -> list[str]:
    """The ERP change feed's daily files of the days before ``as_of`` (arcollect/changes.py), from the
    table: the same table gives the same bytes, so a repeated or late tick rewrites them harmlessly."""
    bucket = settings.require("drop_bucket")
    written = [
        key
        for day in days_to_roll_up(as_of)
        for key in roll_up(day, log=change_log, files=objects, bucket=bucket)
    ]
    metrics.add_metric(name="ChangeFeedFilesWritten", unit=MetricUnit.Count, value=len(written))
    return written


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("action") == "run":
        try:
            as_of = date.fromisoformat(str(event.get("as_of") or ""))
        except ValueError:
            raise ReportRequestError(f"as_of {event.get('as_of')!r} is not a date (YYYY-MM-DD)") from None
        return _run(as_of, _cadence(event.get("cadence")))
    tick = read_eventbridge(event)
    cadence = _cadence((tick.detail or {}).get("cadence"))
    # The report is "as of" the scheduled day: a late or repeated tick reproduces the same report.
    return _run(as_of_for(cadence, tick.time.date()), cadence)
