"""Dunning: the hourly EventBridge Scheduler tick, and SES email events from the default event bus."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from arcollect.dunning.email_events import record_email_event
from arcollect.dunning.reminders import send_due_reminders
from arcollect.dunning.sweep import run_sweep
from arcollect.observability import logger, metrics, tracer
from arcollect.portal.links import portal_link
from arcollect.settings import get_settings
from arcollect.store import bind_table
from arcollect.store.ledger import DueInvoices, SendLedger
from arcollect.store.mail import SesMailer
from arcollect.store.repositories import Activities, Customers, Invoices, SweepRuns
from arcollect.store.secrets import link_signing_key

settings = get_settings()
bind_table(settings.require("table_name"))
runs = SweepRuns()
timeline = Activities()
mailer = SesMailer(configuration_set=settings.require("ses_configuration_set"))

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
    now = envelope.time
    due_index = DueInvoices()
    # The sparse index is read once per tick; the sweep record and the reminders share the result.
    due = due_index.due(now)
    sweep = run_sweep(scheduled_at=now, now=now, due_items=len(due), runs=runs)
    # Sending is idempotent per (invoice, step), so a repeated tick may run it again safely.
    reminders = send_due_reminders(
        now=now,
        due=due,
        index=due_index,
        customers=Customers(),
        invoices=Invoices(),
        ledger=SendLedger(),
        mailer=mailer,
        timeline=timeline,
        sender=settings.require("sender_email"),
        link_for=lambda customer_id: portal_link(
            settings.require("portal_base_url"),
            customer_id,
            key=link_signing_key(settings.require("link_secret_arn")),
            now=now,
        ),
    )
    metrics.add_metric(name="DueItems", unit=MetricUnit.Count, value=sweep.due_items)
    metrics.add_metric(name="RemindersSent", unit=MetricUnit.Count, value=reminders.emails_sent)
    return {
        "scheduled_at": sweep.scheduled_at.isoformat(),
        "due_items": sweep.due_items,
        "duplicate": sweep.duplicate,
        "emails_sent": reminders.emails_sent,
        "invoices_reminded": reminders.invoices_reminded,
        "skipped": dict(reminders.skipped),
    }
