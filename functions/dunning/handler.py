"""Dunning: the hourly tick, the per-customer work it fans out, SES email events, and previews.

Events, by shape:
- an EventBridge Scheduler tick: its ``time`` is the sweep's "now";
- SQS records from the dunning queue: one customer's work each (partial failures are reported);
- EventBridge events from ``aws.ses``: bounces, complaints, deliveries... of our configuration set;
- ``{"action": "preview", "at": "<ISO 8601>"}`` (a direct invocation): what a sweep would do, no writes
  (and whether the freshness hold would hold it);
- ``{"action": "digest", "at": "<ISO 8601>"}``: send the day's digests now (the tick of DIGEST_HOUR_UTC
  sends them on its own).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from arcollect.clock import parse_instant
from arcollect.contract import DIGEST_HOUR_UTC, DUNNING_SENDERS, REMINDERS_REFUSED_METRIC
from arcollect.dunning.calendar import Calendar
from arcollect.dunning.delivery import Pacer, RunReport, Services
from arcollect.dunning.email_events import handle_email_event
from arcollect.dunning.freshness import check_feeds
from arcollect.dunning.policy import load_policies
from arcollect.dunning.sweep import parse_work, plan_as_dict, preview, run_sweep, work_customers
from arcollect.events import read_eventbridge
from arcollect.observability import logger, metrics, tracer
from arcollect.portal.links import portal_link
from arcollect.settings import get_settings
from arcollect.store import bind_table
from arcollect.store.changes import ChangeObjects
from arcollect.store.feeds import Feeds
from arcollect.store.mail import SesMailer
from arcollect.store.objects import ObjectStore
from arcollect.store.queues import WorkQueue
from arcollect.store.repositories import Activities, SweepRuns
from arcollect.store.secrets import link_signing_key
from arcollect.store.workspace import WorkspaceStore

settings = get_settings()
bind_table(settings.require("table_name"))
# The dunning store, with the workspace's reads and writes (promises settled, digests claimed).
store = WorkspaceStore()
runs = SweepRuns()
timeline = Activities()
objects = ObjectStore()
calendar = Calendar()
# Promises settled and addresses that bounced for good go to the ERP's change feed as they happen.
change_feed = ChangeObjects(settings.require("drop_bucket"))
mailer = SesMailer(configuration_set=settings.require("ses_configuration_set"))
# The account's SES rate is shared by every sender the queue may run in parallel.
pacer = Pacer(settings.ses_max_send_rate / DUNNING_SENDERS)
queue = WorkQueue(settings.dunning_queue_url) if settings.dunning_queue_url else None
# The ERP feeds' newest files and the freshness hold (dunning/freshness.py).
feeds = Feeds()

SES_SOURCE = "aws.ses"


def services(now_for_links: Any) -> Services:
    return Services(
        store=store,
        mailer=mailer,
        policies=load_policies(objects, settings.drop_bucket),
        calendar=calendar,
        sender=settings.require("sender_email"),
        link_for=lambda customer_id: portal_link(
            settings.require("portal_base_url"),
            customer_id,
            key=link_signing_key(settings.require("link_secret_arn")),
            now=now_for_links,
            days=settings.portal_link_days,
        ),
        pacer=pacer,
        promises=store,
        change_feed=change_feed,
    )


def _digests(at: datetime) -> dict[str, Any]:
    # Only the morning tick sends digests: the worklist machinery is imported for it, not at cold start.
    from arcollect.workspace.digest import DigestsNotSent, send_digests
    from arcollect.workspace.services import Workspace

    policies = load_policies(objects, settings.drop_bucket)
    sender = settings.require("sender_email")
    workspace = Workspace(policies=lambda: policies, mailer=mailer, sender=sender, store=store)
    base = settings.portal_base_url
    report = send_digests(
        now=at,
        store=store,
        worklists=workspace,
        policies=policies,
        mailer=mailer,
        sender=sender,
        console_url=f"{base.rstrip('/')}/staff/worklist" if base else None,
    )
    metrics.add_metric(name="DigestsSent", unit=MetricUnit.Count, value=len(report.sent))
    # Digests SES may have sent (never resent): in the result's ``in_doubt`` and the log.
    metrics.add_metric(name="DigestsInDoubt", unit=MetricUnit.Count, value=len(report.in_doubt))
    if report.not_accepted:
        # Released: the tick's retry (every touch of the sweep is idempotent) sends them, once.
        raise DigestsNotSent(
            f"SES did not take {len(report.not_accepted)} digest(s) (throttled or unreachable): "
            "released for the retry"
        )
    return report.as_dict()


def _console_url(page: str) -> str | None:
    base = settings.portal_base_url
    return f"{base.rstrip('/')}/staff/{page}" if base else None


def _held(at: datetime, services: Services) -> bool:
    """Whether the freshness hold holds at ``at``: a worker checks too, so work a tick handed to the
    queue before a feed went stale does not go out on stale balances (the tick alerts and records)."""
    policies = services.policies
    return check_feeds(
        feeds.state().newest, at=at, freshness=policies.freshness, calendar=services.calendar
    ).held


def _work(records: list[dict[str, Any]]) -> dict[str, Any]:
    """One customer per message; a message that fails is reported and comes back (then the DLQ)."""
    failures: list[dict[str, str]] = []
    report = RunReport()
    holds: dict[datetime, bool] = {}
    for record in records:
        try:
            item = parse_work(json.loads(record["body"]))
            working = services(item.at)
            if item.at not in holds:
                holds[item.at] = _held(item.at, working)
            if work_customers([item], store=store, services=working, report=report, held=holds[item.at]):
                failures.append({"itemIdentifier": record["messageId"]})
        except Exception:
            logger.exception("dunning work item failed", extra={"message_id": record.get("messageId")})
            failures.append({"itemIdentifier": record["messageId"]})
    _count(report)
    return {"batchItemFailures": failures}


def _count(report: RunReport) -> None:
    metrics.add_metric(name="RemindersSent", unit=MetricUnit.Count, value=report.emails_sent)
    metrics.add_metric(name="DunningTasksCreated", unit=MetricUnit.Count, value=report.tasks_created)
    metrics.add_metric(name="RemindersInDoubt", unit=MetricUnit.Count, value=report.in_doubt)
    # Reminders SES refused for good (each has a fix-and-resend task): ops are paged (monitoring.py).
    metrics.add_metric(
        name=REMINDERS_REFUSED_METRIC, unit=MetricUnit.Count, value=report.outcomes["email_refused"]
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if isinstance(event.get("Records"), list):
        return _work(event["Records"])
    if event.get("action") == "preview":
        at = parse_instant(str(event.get("at") or ""), what="at")
        previewing = services(at)
        plans = preview(at=at, store=store, services=previewing)
        check = check_feeds(
            feeds.state().newest, at=at, freshness=previewing.policies.freshness, calendar=calendar
        )
        return {
            "at": at.isoformat(),
            # Held, a sweep at ``at`` would carry out none of these plans but the anniversary check-ins.
            "freshness": check.as_dict(),
            "customers": [plan_as_dict(plan) for plan in plans],
        }
    if event.get("action") == "digest":
        return _digests(parse_instant(str(event.get("at") or ""), what="at"))
    envelope = read_eventbridge(event)
    if envelope.source == SES_SOURCE:
        outcome = handle_email_event(
            dict(envelope.detail),
            timeline=timeline,
            feedback=store,
            received_at=envelope.time,
            change_feed=change_feed,
        )
        metrics.add_metric(name=f"Email{outcome.event_type.replace(' ', '')}", unit=MetricUnit.Count, value=1)
        return {
            "message_id": outcome.message_id,
            "event_type": outcome.event_type,
            "recorded": outcome.recorded,
            "suppressed": list(outcome.suppressed),
            "completed": outcome.completed,
        }
    # A scheduled tick: its "time" is the scheduled time, which is the sweep's "now".
    result = run_sweep(
        scheduled_at=envelope.time,
        store=store,
        runs=runs,
        services=services(envelope.time),
        queue=queue,
        feeds=feeds,
        console_url=_console_url("status"),
    )
    metrics.add_metric(name="DueItems", unit=MetricUnit.Count, value=result.due_items)
    metrics.add_metric(name="DunningHeld", unit=MetricUnit.Count, value=1 if result.held else 0)
    _count(result.report)
    outcome = result.as_dict()
    if envelope.time.astimezone(UTC).hour == DIGEST_HOUR_UTC:
        outcome["digests"] = _digests(envelope.time)
    return outcome
