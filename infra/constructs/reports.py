"""Reports: daily, weekly and monthly schedules -> reports function -> KPI files in the reports bucket,
and (weekly) a summary email to the managers through SES."""

from __future__ import annotations

from aws_cdk import Duration, Size
from constructs import Construct

from arcollect.changes import DAILY_PREFIX
from arcollect.contract import DropPrefix, EnvVar, FunctionName, ReportCadence
from infra.constructs.data import DataStore
from infra.constructs.mail import Mail
from infra.constructs.queues import dead_letter_queue
from infra.constructs.runtime import FunctionRuntime
from infra.constructs.schedule import ScheduledTick
from infra.constructs.warehouse import glue_name, workgroup_name

# The construct id of each cadence's tick ("DailyTick" is the id the single schedule always had).
TICK_IDS = {
    ReportCadence.DAILY: "DailyTick",
    ReportCadence.WEEKLY: "WeeklyTick",
    ReportCadence.MONTHLY: "MonthlyTick",
}


class Reports(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        runtime: FunctionRuntime,
        data: DataStore,
        environment_name: str,
        mail: Mail,
        portal_base_url: str,
        schedule_expressions: dict[str, str],
        schedule_time_zone: str,
        reports_engine: str = "auto",
    ) -> None:
        """``schedule_expressions``: one expression per ``ReportCadence``, sent as ``detail.cadence``."""
        super().__init__(scope, id)
        missing = set(ReportCadence.ALL) - set(schedule_expressions)
        if missing:
            raise ValueError(f"no schedule expression for the report cadences {sorted(missing)}")
        self.dead_letter_queue = dead_letter_queue(self, "DeadLetterQueue")
        self.function = runtime.function(
            self,
            FunctionName.REPORTS,
            description="Computes KPI reports (DSO, CEI, aging, forecast) into the reports bucket",
            # Portfolio-wide: the whole ledger is read, so it gets Lambda's ceiling on time and ample memory.
            timeout=Duration.minutes(15),
            memory_size=3008,
            # DuckDB, the SQL engine of large reports (reports/engines.py): this function's alone.
            extra_layers=[runtime.reports_layer],
            # The DuckDB engine stages the run's items as JSON lines and Parquet in /tmp, one table at a
            # time: about 0.5 KB a document, past Lambda's default 512 MB above a million documents.
            ephemeral_storage_size=Size.gibibytes(4),
            environment={
                EnvVar.ENVIRONMENT_NAME: environment_name,
                EnvVar.TABLE_NAME: data.table.table_name,
                EnvVar.REPORTS_BUCKET: data.reports_bucket.bucket_name,
                EnvVar.DROP_BUCKET: data.drop_bucket.bucket_name,
                EnvVar.SENDER_EMAIL: mail.sender_email,
                EnvVar.SES_CONFIGURATION_SET: mail.configuration_set_name,
                # The weekly summary links to the reports in the staff console.
                EnvVar.PORTAL_BASE_URL: portal_base_url,
                # The engine of the figures (the reportsEngine context; reports/engines.py).
                EnvVar.REPORTS_ENGINE: reports_engine,
                # Its athena engine's workgroup and database (the warehouse construct makes them).
                EnvVar.REPORTS_WORKGROUP: workgroup_name(environment_name),
                EnvVar.REPORTS_DATABASE: glue_name(environment_name),
            },
            dead_letter_queue=self.dead_letter_queue,
            retry_attempts=2,
        )
        self.ticks = {
            cadence: ScheduledTick(
                self,
                TICK_IDS[cadence],
                function=self.function,
                expression=schedule_expressions[cadence],
                time_zone=schedule_time_zone,
                description=f"arcollect KPI reports ({cadence})",
                dead_letter_queue=self.dead_letter_queue,
                detail={"cadence": cadence},
            )
            for cadence in ReportCadence.ALL
        }
        data.table.grant_read_data(self.function)
        # ... and puts one item: the weekly summary's claim (a conditional put, so a retried tick sends it
        # once); and in batches, each open invoice's predicted pay date (``PRED#<number>`` items, its own:
        # a batch also deletes those of invoices no longer open). Never an update: the reports change
        # nothing other functions own.
        data.table.grant(self.function, "dynamodb:PutItem", "dynamodb:BatchWriteItem")
        # Reads earlier runs and writes this run's files; never deletes (a rerun overwrites the same keys,
        # and the bucket's versions keep what was there), so not grant_read_write's s3:DeleteObject*.
        data.reports_bucket.grant_read(self.function)
        data.reports_bucket.grant_put(self.function)
        # The policy in force names the team (who gets the weekly summary): that one object, nothing else.
        data.drop_bucket.grant_read(self.function, DropPrefix.DUNNING_POLICY)
        # The daily run also writes the ERP change feed's daily files (rebuilt from the table).
        data.drop_bucket.grant_put(self.function, f"{DAILY_PREFIX}*")
        mail.allow_sending(self.function)
