"""Dunning: the hourly EventBridge Scheduler tick, and SES email events from the default event bus."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from arcollect.dunning.email_events import record_email_event
from arcollect.dunning.sweep import run_sweep
from arcollect.observability import logger, metrics, tracer
from arcollect.settings import get_settings
from arcollect.store import bind_table
from arcollect.store.repositories import Activities, DueItems, SweepRuns

bind_table(get_settings().require("table_name"))
due_items = DueItems()
runs = SweepRuns()
timeline = Activities()

SES_SOURCE = "aws.ses"


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    envelope = parse(event=event, model=EventBridgeModel)
    if envelope.source == SES_SOURCE:
        outcome = record_email_event(dict(envelope.detail), timeline=timeline, received_at=envelope.time)
        metrics.add_metric(name=f"Email{outcome.event_type.replace(' ', '')}", unit=MetricUnit.Count, value=1)
        return {
            "message_id": outcome.message_id,
            "event_type": outcome.event_type,
            "recorded": outcome.recorded,
        }
    # A scheduled tick: its "time" is the scheduled time, which is the sweep's "now".
    result = run_sweep(scheduled_at=envelope.time, now=envelope.time, due=due_items, runs=runs)
    metrics.add_metric(name="DueItems", unit=MetricUnit.Count, value=result.due_items)
    return {
        "scheduled_at": result.scheduled_at.isoformat(),
        "due_items": result.due_items,
        "duplicate": result.duplicate,
    }
