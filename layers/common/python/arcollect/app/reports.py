"""The reports function's wiring (functions/reports/handler.py): ``build_reports`` makes its AWS
dependencies once per container, and ``Reports`` runs a report for a scheduled tick (``tick``) or an
on-demand request (``on_demand``). A daily run also writes the ERP change feed's files of the days before
it (``outgoing/daily/`` in the drop bucket), the feed's one daily job."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from arcollect.changes import days_to_roll_up, roll_up
from arcollect.contract import EXPORTS_FAILED_METRIC, FunctionName, ReportCadence
from arcollect.events import EventEnvelope
from arcollect.observability import count
from arcollect.policy import load_policies
from arcollect.reports.engines import AthenaSource
from arcollect.reports.publish import as_of_for, run_report
from arcollect.settings import Settings
from arcollect.store import bind_table
from arcollect.store.changes import ChangeLog
from arcollect.store.digests import DigestLedger
from arcollect.store.exports import ExportFiles, TableExports
from arcollect.store.mail import SesMailer
from arcollect.store.objects import ObjectStore
from arcollect.store.predictions import PredictionBook
from arcollect.store.reports import ReportReader
from arcollect.store.send_slots import SendSlotBook


class ReportRequestError(ValueError):
    """An on-demand run asked for something that is not a report (a bad date or cadence)."""


@dataclass
class Reports:
    """The reports function's use cases, bound to the AWS resources ``build_reports`` made."""

    settings: Settings
    objects: ObjectStore
    reader: ReportReader
    ledger: DigestLedger
    change_log: ChangeLog
    # The weekly summary's mailer: none when the function has no SES configuration set or sender.
    mailer: SesMailer | None
    # Each open invoice's predicted pay date, kept in the table for the worklist and the 360.
    predictions: PredictionBook
    send_slots: SendSlotBook
    # The table's exports to the reports bucket and their compaction (reports/exports.py).
    exports: TableExports
    export_files: ExportFiles

    def tick(self, tick: EventEnvelope) -> dict[str, Any]:
        """A scheduled tick (``detail.cadence``): the report as of the scheduled day, so a late or
        repeated tick reproduces the same report (the monthly tick: the month that just ended)."""
        if (tick.detail or {}).get("action") == "export":  # the daily export's own schedule
            return self.export(False, tick.time.isoformat())
        cadence = _cadence((tick.detail or {}).get("cadence"))
        return self.run(as_of_for(cadence, tick.time.date()), cadence, now=tick.time)

    def on_demand(self, as_of: object, cadence: object) -> dict[str, Any]:
        """``arcollect reports run``: any day, past days included (backfill); the same table gives the
        same files."""
        try:
            day = date.fromisoformat(str(as_of or ""))
        except ValueError:
            raise ReportRequestError(f"as_of {as_of!r} is not a date (YYYY-MM-DD)") from None
        return self.run(day, _cadence(cadence))

    def run(self, as_of: date, cadence: str, *, now: datetime | None = None) -> dict[str, Any]:
        """The KPI files of ``cadence`` as of ``as_of`` in the reports bucket (weekly: the summary too).
        ``now``: the tick's time, when the weekly summary is sent (its ``Date`` and
        ``X-Arcollect-Sent-At``, and its claim); an on-demand run, which names only a day, sends it at
        the wall clock's."""
        settings = self.settings
        base = settings.portal_base_url
        policies = load_policies(self.objects, settings.drop_bucket)
        learning = policies.settings.send_times
        run = run_report(
            as_of=as_of,
            cadence=cadence,
            # The timeline the send-time learner counts is read only while the policy learns.
            data=self.reader.read(send_times=bool(learning and getattr(learning, "learn", False))),
            policies=policies,
            files=self.objects,
            bucket=settings.require("reports_bucket"),
            now=now or datetime.now(UTC),
            mailer=self.mailer,
            sender=settings.sender_email,
            ledger=self.ledger,
            console_url=f"{base.rstrip('/')}/staff/reports" if base else None,
            keeper=self.predictions,
            slots=self.send_slots,
            engine=settings.reports_engine,
            athena=self._athena(),
        )
        count("ReportFilesWritten", len(run.written))
        count("PredictionsKept", run.predictions_kept)
        # A weekly summary SES may have sent (never resent): a person checks with the manager.
        count("SummariesInDoubt", len(run.summary_in_doubt))
        outcome = run.as_dict()
        if cadence == ReportCadence.DAILY:
            outcome["change_feed"] = self._roll_up_changes(as_of)
        return outcome

    def _athena(self) -> AthenaSource | None:
        """The athena engine's runner and the bucket its segments go to, where the stack set them (the
        engine named, or ``auto`` past its size): the client is made on its first query only."""
        settings = self.settings
        workgroup, database = settings.reports_workgroup, settings.reports_database
        if settings.reports_engine not in ("athena", "auto") or not (workgroup and database):
            return None
        from arcollect.reports.exports import exported_until
        from arcollect.store.athena import AthenaQueries

        bucket = settings.require("reports_bucket")
        return AthenaSource(
            queries=AthenaQueries(workgroup=workgroup, database=database),
            put_object=lambda key, body: self.objects.put_bytes(bucket, key, body, "application/x-ndjson"),
            staleness=lambda: export_staleness(exported_until(self.export_files, bucket), datetime.now(UTC)),
        )

    def export(self, full: object = False, at: object = None) -> dict[str, Any]:
        """``{"action": "export"}`` (a schedule, or ``"full": true`` on demand): one step of the table's
        exports to the reports bucket and their compaction into the reports' Parquet (reports/exports.py);
        ``at`` (an ISO instant) stands for now, for backfills and tests."""
        from arcollect.reports.exports import advance
        from arcollect.reports.warehouse.compaction import merge_changes

        now = datetime.fromisoformat(str(at)) if at else datetime.now(UTC)
        if now.tzinfo is None:
            raise ReportRequestError(f"at {at!r} has no time zone (use an ISO instant with Z or +00:00)")
        run = advance(
            now=now,
            table_arn=self.exports.table_arn(self.settings.require("table_name")),
            bucket=self.settings.require("reports_bucket"),
            exports=self.exports,
            store=self.export_files,
            full=full is True,
            compact=lambda changes, whole, folder: merge_changes(folder, changes, full=whole),
        )
        # A failed export is retried by the next run; the stack alarms on this count (infra/monitoring).
        count(EXPORTS_FAILED_METRIC, len(run.failed))
        return {"exports": run.as_dict()}

    def _roll_up_changes(self, as_of: date) -> list[str]:
        """The ERP change feed's daily files of the days before ``as_of`` (arcollect/changes.py), from the
        table: the same table gives the same bytes, so a repeated or late tick rewrites them harmlessly."""
        bucket = self.settings.require("drop_bucket")
        written = [
            key
            for day in days_to_roll_up(as_of)
            for key in roll_up(day, log=self.change_log, files=self.objects, bucket=bucket)
        ]
        count("ChangeFeedFilesWritten", len(written))
        return written


def _cadence(value: object) -> str:
    cadence = str(value or ReportCadence.DAILY)
    if cadence not in ReportCadence.ALL:
        raise ReportRequestError(f"cadence {cadence!r} is not one of {', '.join(ReportCadence.ALL)}")
    return cadence


def build_reports(settings: Settings) -> Reports:
    """The reports function, once per container: settings checked, table bound, clients made."""
    settings.checked(FunctionName.REPORTS)
    bind_table(settings.require("table_name"))
    mailer = None
    if settings.ses_configuration_set and settings.sender_email:
        mailer = SesMailer(configuration_set=settings.ses_configuration_set)
    return Reports(
        settings=settings,
        objects=ObjectStore(),
        reader=ReportReader(),
        ledger=DigestLedger(),
        change_log=ChangeLog(),
        mailer=mailer,
        predictions=PredictionBook(),
        send_slots=SendSlotBook(),
        exports=TableExports(),
        export_files=ExportFiles(),
    )


# The daily export runs an hour before the daily report: a day and a half without one means it stopped.
EXPORT_STALE_AFTER = timedelta(hours=36)


def export_staleness(until: datetime | None, now: datetime) -> str | None:
    """Why the warehouse's export cannot stand for the table at ``now`` (None when it can)."""
    if until is None:
        return "no export of the table has completed yet"
    if now - until > EXPORT_STALE_AFTER:
        return f"the table's export reaches {until.isoformat()} only: the daily export has not run since"
    return None
