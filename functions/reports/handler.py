"""Reports: the daily EventBridge Scheduler tick -> KPI files in the reports bucket."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from arcollect.observability import logger, metrics, tracer
from arcollect.reports.kpis import publish_kpis
from arcollect.settings import get_settings
from arcollect.store import bind_table
from arcollect.store.objects import ObjectStore
from arcollect.store.repositories import Invoices

settings = get_settings()
bind_table(settings.require("table_name"))
invoices = Invoices()
objects = ObjectStore()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    tick = parse(event=event, model=EventBridgeModel)
    # The report is "as of" the scheduled day: a late or repeated tick reproduces the same report.
    as_of = tick.time.date()
    keys = publish_kpis(
        as_of=as_of, invoices=invoices, sink=objects, bucket=settings.require("reports_bucket")
    )
    return {"as_of": as_of.isoformat(), "written": keys}
