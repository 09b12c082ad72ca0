"""Reports: the daily, weekly and monthly EventBridge Scheduler ticks (``detail.cadence``) and on-demand
runs -> KPI files in the reports bucket (and, weekly, a summary email to the managers).

Events, by shape:
- a scheduled tick: its ``time`` is the day reported on (the monthly tick: the month that just ended);
- ``{"action": "run", "as_of": "YYYY-MM-DD", "cadence": "daily"}`` (``arcollect reports run``): any day,
  past days included (backfill); the same table gives the same files;
- ``{"action": "export", "full": false}``: one step of the table's exports and their compaction.

A daily run also writes the ERP change feed's files of the days before it (``outgoing/daily/`` in the
drop bucket), the feed's one daily job. The wiring and the use cases: arcollect/app/reports.py.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from arcollect.app.reports import build_reports
from arcollect.events import read_eventbridge
from arcollect.observability import logger, metrics, tracer
from arcollect.settings import get_settings

app = build_reports(get_settings())


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("action") == "run":
        return app.on_demand(event.get("as_of"), event.get("cadence"))
    if event.get("action") == "export":  # the table to the reports' Parquet (reports/exports.py)
        return app.export(event.get("full", False), event.get("at"))
    return app.tick(read_eventbridge(event))
