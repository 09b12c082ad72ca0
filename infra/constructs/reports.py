"""Reports: daily schedule -> reports function -> KPI files in the reports bucket."""

from __future__ import annotations

from aws_cdk import Duration
from constructs import Construct

from arcollect.contract import EnvVar, FunctionName
from infra.constructs.data import DataStore
from infra.constructs.queues import dead_letter_queue
from infra.constructs.runtime import FunctionRuntime
from infra.constructs.schedule import ScheduledTick


class Reports(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        runtime: FunctionRuntime,
        data: DataStore,
        environment_name: str,
        schedule_expression: str,
        schedule_time_zone: str,
    ) -> None:
        super().__init__(scope, id)
        self.dead_letter_queue = dead_letter_queue(self, "DeadLetterQueue")
        self.function = runtime.function(
            self,
            FunctionName.REPORTS,
            description="Computes KPI reports (DSO, CEI, aging, forecast) into the reports bucket",
            # Portfolio-wide: the whole ledger is read, so it gets Lambda's ceiling on time and ample memory.
            timeout=Duration.minutes(15),
            memory_size=3008,
            environment={
                EnvVar.ENVIRONMENT_NAME: environment_name,
                EnvVar.TABLE_NAME: data.table.table_name,
                EnvVar.REPORTS_BUCKET: data.reports_bucket.bucket_name,
            },
            dead_letter_queue=self.dead_letter_queue,
            retry_attempts=2,
        )
        self.tick = ScheduledTick(
            self,
            "DailyTick",
            function=self.function,
            expression=schedule_expression,
            time_zone=schedule_time_zone,
            description="arcollect KPI reports",
            dead_letter_queue=self.dead_letter_queue,
        )
        data.table.grant_read_data(self.function)
        data.reports_bucket.grant_read(self.function)
        data.reports_bucket.grant_put(self.function)
