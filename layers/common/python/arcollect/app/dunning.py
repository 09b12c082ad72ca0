"""The dunning function's wiring (functions/dunning/handler.py): ``build_dunning`` makes its AWS
dependencies once per container, and ``Dunning`` turns each kind of event into its use case: the hourly
tick (``tick``), one customer's work per queued message (``work``), SES's email events
(``email_event``), a preview (``preview``) and the staff digests (``digests``).

The policy in force (``config/dunning-policy.yaml`` in the drop bucket, which ops may replace at any
time) is read once per invocation: a tick, a preview and a batch of queued work each read the current
one, and every message of a batch works under the same one.

Time: each use case takes its "now" once, at the edge, and passes it down under that one name: a tick's
is its event's ``time`` (the scheduled time), a queued customer's is its message's ``at`` (the same
tick's time, ``WorkItem.now`` once parsed), a preview's or a digest's is the invocation's ``at``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from arcollect.app.reply_addresses import ReplyAddresses
from arcollect.calendar import Calendar
from arcollect.clock import parse_instant
from arcollect.contract import DIGEST_HOUR_UTC, DUNNING_SENDERS, REMINDERS_REFUSED_METRIC, FunctionName
from arcollect.dunning.delivery import Pacer, RunReport, Services
from arcollect.dunning.email_events import handle_email_event
from arcollect.dunning.sweep import parse_work, plan_as_dict, preview, run_sweep, work_customers
from arcollect.freshness import check_feeds
from arcollect.observability import count, logger
from arcollect.policy import PolicyError, PolicySet, load_policies, parse_policy
from arcollect.portal.links import portal_link
from arcollect.settings import ConfigurationError, Settings
from arcollect.sms import RECEIPT_SOURCE, DeliveryReceipt, SmsRules
from arcollect.store import bind_table
from arcollect.store.changes import ChangeObjects
from arcollect.store.dunning import DunningStore
from arcollect.store.feeds import Feeds
from arcollect.store.inbox import ReplyBook
from arcollect.store.letters import LetterObjects
from arcollect.store.mail import SesMailer
from arcollect.store.objects import ObjectStore
from arcollect.store.plan_book import PlanBook
from arcollect.store.promise_book import PromiseBook
from arcollect.store.queues import WorkQueue
from arcollect.store.repositories import Activities, SweepRuns
from arcollect.store.secrets import link_signing_key
from arcollect.store.workspace import WorkspaceStore

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch import BatchProcessor
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from arcollect.dunning.texts import Texting
    from arcollect.events import EventEnvelope

SES_SOURCE = "aws.ses"
# Replies to reminder texts come as SNS records (AWS End User Messaging SMS's two-way topic).
SNS_SOURCE = "aws:sns"


class CustomerNotDone(RuntimeError):
    """A queued customer's work did not all go through: its message comes back (then the DLQ)."""


@dataclass
class Dunning:
    """The dunning function's use cases, bound to the AWS resources ``build_dunning`` made."""

    settings: Settings
    # The dunning store, and the workspace's (its promise book settles promises, its worklist and daily
    # claims make the digests): both hold the same promise book.
    store: DunningStore
    workspace: WorkspaceStore
    runs: SweepRuns
    timeline: Activities
    objects: ObjectStore
    calendar: Calendar
    # Promises settled and addresses that bounced for good go to the ERP's change feed as they happen.
    change_feed: ChangeObjects
    mailer: SesMailer
    # The account's SES rate is shared by every sender the queue may run in parallel.
    pacer: Pacer
    queue: WorkQueue | None
    # The ERP feeds' newest files and the freshness hold (dunning/freshness.py).
    feeds: Feeds
    # Reminder texts through AWS End User Messaging SMS (docs/sms.md); None: the stack sends none.
    texting: Texting | None = None

    def policies(self) -> PolicySet:
        """The policy in force, read now."""
        return load_policies(self.objects, self.settings.drop_bucket)

    def services(self, policies: PolicySet) -> Services:
        """What carrying out plans needs; a portal link is signed as of the "now" it is asked with."""
        settings = self.settings
        replies = ReplyAddresses(ReplyBook(), settings.inbound_domain, settings.require("sender_email"))
        return Services(
            store=self.store,
            mailer=self.mailer,
            policies=policies,
            calendar=self.calendar,
            sender=settings.require("sender_email"),
            link_for=lambda customer_id, now: portal_link(
                settings.require("portal_base_url"),
                customer_id,
                key=link_signing_key(settings.require("link_secret_arn")),
                now=now,
                days=settings.portal_link_days,
            ),
            pacer=self.pacer,
            promises=self.workspace.promises,
            change_feed=self.change_feed,
            plans=PlanBook(),
            # Letters go to the print-and-mail service through the drop bucket's outgoing/letters/.
            letters=LetterObjects(settings.require("drop_bucket")),
            reply_to=replies.reply_to,
            threaded=replies.threaded,
            texting=self.texting,
        )

    def tick(self, envelope: EventEnvelope) -> dict[str, Any]:
        """A scheduled tick: its "time" is the scheduled time, which is the sweep's "now"."""
        now = envelope.time
        policies = self.policies()
        result = run_sweep(
            now=now,
            store=self.store,
            runs=self.runs,
            services=self.services(policies),
            queue=self.queue,
            feeds=self.feeds,
            console_url=self._console_url("status"),
        )
        count("DueItems", result.due_items)
        count("DunningHeld", 1 if result.held else 0)
        self._count(result.report)
        outcome = result.as_dict()
        if now.astimezone(UTC).hour == DIGEST_HOUR_UTC:
            outcome["digests"] = self.digests(now, policies)
        return outcome

    def work(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """One customer per message (Powertools' BatchProcessor): a message that fails is reported and
        comes back (then the DLQ); a batch all of whose messages failed is reported, not raised."""
        if records and all(record.get("EventSource") == SNS_SOURCE for record in records):
            return self.text_replies(records)
        batch = _Batch(self)
        processor = _processor()
        with processor(records, batch.work_one):
            processor.process()
        self._count(batch.report)
        return dict(processor.response())

    def preview(self, now: datetime, draft: str | None = None) -> dict[str, Any]:
        """What a sweep at ``now`` would do, with no writes, and whether the freshness hold holds it;
        under ``draft`` (a policy file's text, checked here: a broken one raises PolicyError with every
        problem named) instead of the policy in force, when given."""
        if draft is not None and not isinstance(draft, str):
            raise PolicyError("the preview's policy must be the text of a policy file")
        policies = parse_policy(draft, source="the draft policy") if draft is not None else self.policies()
        previewing = self.services(policies)
        plans = preview(now=now, store=self.store, services=previewing)
        check = check_feeds(
            self.feeds.state().newest, at=now, freshness=previewing.policies.freshness, calendar=self.calendar
        )
        return {
            "at": now.isoformat(),
            # Held, a sweep at ``now`` would carry out none of these plans but the anniversary check-ins.
            "freshness": check.as_dict(),
            "policy": "draft" if draft is not None else previewing.policies.source,
            "customers": [plan_as_dict(plan) for plan in plans],
        }

    def digests(self, now: datetime, policies: PolicySet | None = None) -> dict[str, Any]:
        """The day's digests to each collector (the tick of DIGEST_HOUR_UTC, or asked for)."""
        # Only the morning tick sends digests: the worklist machinery is imported for it, not at cold start.
        from arcollect.workspace.digest import DigestsNotSent, send_digests
        from arcollect.workspace.services import Workspace

        in_force = self.policies() if policies is None else policies
        sender = self.settings.require("sender_email")
        workspace = Workspace(
            policies=lambda: in_force, mailer=self.mailer, sender=sender, store=self.workspace
        )
        report = send_digests(
            now=now,
            claims=self.workspace.digests,
            tasks=self.workspace.tasks,
            worklists=workspace,
            policies=in_force,
            mailer=self.mailer,
            sender=sender,
            console_url=self._console_url("worklist"),
        )
        count("DigestsSent", len(report.sent))
        # Digests SES may have sent (never resent): in the result's ``in_doubt`` and the log.
        count("DigestsInDoubt", len(report.in_doubt))
        if report.not_accepted:
            # Released: the tick's retry (every touch of the sweep is idempotent) sends them, once.
            raise DigestsNotSent(
                f"SES did not take {len(report.not_accepted)} digest(s) (throttled or unreachable): "
                "released for the retry"
            )
        return report.as_dict()

    def on_event(self, envelope: EventEnvelope) -> dict[str, Any]:
        """An EventBridge event, by its source: SES's events of our mail, the carrier's receipts of our
        texts, else a scheduled tick."""
        if envelope.source == SES_SOURCE:
            return self.email_event(envelope)
        if envelope.source == RECEIPT_SOURCE:
            return self.text_receipt(envelope)
        return self.tick(envelope)

    def email_event(self, envelope: EventEnvelope) -> dict[str, Any]:
        """An SES event of our configuration set: a bounce, a complaint, a delivery..."""
        outcome = handle_email_event(
            dict(envelope.detail),
            timeline=self.timeline,
            feedback=self.store,
            received_at=envelope.time,
            change_feed=self.change_feed,
        )
        count(f"Email{outcome.event_type.replace(' ', '')}", 1)
        return {
            "message_id": outcome.message_id,
            "event_type": outcome.event_type,
            "recorded": outcome.recorded,
            "suppressed": list(outcome.suppressed),
            "completed": outcome.completed,
            "fell_back": [list(touch) for touch in outcome.fell_back],
        }

    def text_replies(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """Customers' replies to reminder texts (AWS's two-way SMS, through its SNS topic): an opt-out
        keyword opts the number out (docs/sms.md). A payload that cannot be read raises: SNS retries
        it, then its dead-letter queue keeps it (nothing a customer sent is dropped)."""
        if self.texting is None:
            raise ConfigurationError(
                "a reply to a text arrived but SMS is not set up (no SMS_ORIGINATION_IDENTITY)"
            )
        from arcollect.dunning.texts import InboundText, handle_inbound

        rules = self.policies().settings.sms or SmsRules()
        outcomes = []
        for record in records:
            sns = record.get("Sns") or {}
            try:
                message = InboundText.parse(json.loads(str(sns.get("Message") or "")))
            except (ValueError, TypeError) as error:
                raise ValueError(
                    f"SNS message {sns.get('MessageId')!r} is no two-way SMS payload: {error}"
                ) from error
            at = parse_instant(str(sns.get("Timestamp") or ""), what="Sns.Timestamp")
            outcomes.append(handle_inbound(message, self.texting, rules, at))
        count("TextOptOuts", sum(1 for o in outcomes if o["opt_out"]))
        count("TextOptIns", sum(1 for o in outcomes if o.get("opt_in")))
        return {"replies": outcomes}

    def text_receipt(self, envelope: EventEnvelope) -> dict[str, Any]:
        """The carrier's delivery status of a reminder text (EventBridge, from ``aws.sms-voice``):
        delivered, or not and the step goes by its next channel (docs/sms.md). An event that is not a
        receipt of ours raises (EventBridge retries it, then the dead-letter queue keeps it)."""
        if self.texting is None:
            raise ConfigurationError(
                "a text delivery receipt arrived but SMS is not set up (no SMS_ORIGINATION_IDENTITY)"
            )
        from arcollect.dunning.texts import handle_receipt

        receipt = DeliveryReceipt.parse(dict(envelope.detail))
        outcome = handle_receipt(receipt, self.texting, envelope.time, self.change_feed)
        if outcome["outcome"] == "undelivered" and outcome["recorded"]:
            # Only when one was not delivered: a custom metric is billed for the hours it is published.
            count("TextsUndelivered", 1)
        return outcome

    def _console_url(self, page: str) -> str | None:
        base = self.settings.portal_base_url
        return f"{base.rstrip('/')}/staff/{page}" if base else None

    def _count(self, report: RunReport) -> None:
        count("RemindersSent", report.emails_sent)
        count("DunningTasksCreated", report.tasks_created)
        count("RemindersInDoubt", report.in_doubt)
        # Letters handed to the print-and-mail service (dunning/posting.py): each one costs postage.
        count("LettersPosted", report.outcomes["letter_posted"])
        # Reminders SES refused for good (each has a fix-and-resend task): ops are paged (monitoring.py).
        count(REMINDERS_REFUSED_METRIC, report.outcomes["email_refused"])


@dataclass
class _Batch:
    """One invocation's batch of queued work: the policy is read at the first message that needs it
    (a read that fails is tried again by the next), the freshness hold checked once per tick's "now"
    (a message's ``at``, ``WorkItem.now`` once parsed)."""

    dunning: Dunning
    report: RunReport = field(default_factory=RunReport)
    services: Services | None = None
    holds: dict[datetime, bool] = field(default_factory=dict)

    def work_one(self, record: SQSRecord) -> None:
        dunning = self.dunning
        try:
            item = parse_work(json.loads(record.body))
            if self.services is None:
                self.services = dunning.services(dunning.policies())
            working = self.services
            if item.now not in self.holds:
                # A worker checks too, so work a tick handed to the queue before a feed went stale does
                # not go out on stale balances (the tick alerts and records).
                newest = dunning.feeds.state().newest
                freshness = working.policies.freshness
                self.holds[item.now] = check_feeds(
                    newest, at=item.now, freshness=freshness, calendar=working.calendar
                ).held
            failed = work_customers(
                [item], store=dunning.store, services=working, report=self.report, held=self.holds[item.now]
            )
        except Exception:
            logger.exception("dunning work item failed", extra={"message_id": record.message_id})
            raise
        if failed:
            raise CustomerNotDone(f"customer {item.customer_id}: not all of its work went through")


@cache
def _processor() -> BatchProcessor:
    # Powertools' batch utilities are imported with the first batch, not at cold start: a tick's or an
    # SES event's container never needs them.
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

    return BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def build_dunning(settings: Settings) -> Dunning:
    """The dunning function, once per container: settings checked, table bound, clients made."""
    settings.checked(FunctionName.DUNNING)
    bind_table(settings.require("table_name"))
    promise_book = PromiseBook()
    return Dunning(
        settings=settings,
        store=DunningStore(promise_book=promise_book),
        workspace=WorkspaceStore(promises=promise_book),
        runs=SweepRuns(),
        timeline=Activities(),
        objects=ObjectStore(),
        calendar=Calendar(),
        change_feed=ChangeObjects(settings.require("drop_bucket")),
        mailer=SesMailer(configuration_set=settings.require("ses_configuration_set")),
        pacer=Pacer(settings.ses_max_send_rate / DUNNING_SENDERS),
        queue=WorkQueue(settings.dunning_queue_url) if settings.dunning_queue_url else None,
        feeds=Feeds(),
        texting=_texting(settings),
    )


def _texting(settings: Settings) -> Texting | None:
    """The SMS service and the texts' ledger, when the stack has an origination identity to send from
    (their modules are loaded then only: a stack without texts does not pay for them at cold start)."""
    if not settings.sms_origination_identity:
        return None
    from arcollect.dunning.texts import Texting
    from arcollect.store.sms import SmsSender
    from arcollect.store.text_ledger import TextLedger

    return Texting(
        sender=SmsSender(
            origination_identity=settings.sms_origination_identity,
            configuration_set=settings.sms_configuration_set,
            opt_out_list=settings.sms_opt_out_list,
        ),
        ledger=TextLedger(),
        environment_name=settings.environment_name,
    )
