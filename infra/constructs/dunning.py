"""Dunning: hourly schedule -> dunning function -> SES; SES events come back to the same function.

A large sweep fans its customers out through the dunning work queue (with its own DLQ), which the same
function consumes a batch at a time, with a small maximum concurrency so that the parallel senders
together stay below SES's send rate.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as event_targets
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from arcollect import policy as dunning_policy
from arcollect.changes import CHANGES_PREFIX
from arcollect.contract import DUNNING_SENDERS, DropPrefix, EnvVar, FunctionName
from infra.constructs.data import DataStore
from infra.constructs.mail import EMAIL_EVENTS, Mail
from infra.constructs.queues import dead_letter_queue, work_queue
from infra.constructs.runtime import FunctionRuntime
from infra.constructs.schedule import ScheduledTick
from infra.constructs.texts import TextMessages

FUNCTION_TIMEOUT = Duration.minutes(5)
QUEUE_MAX_RECEIVE_COUNT = 3


class InvalidDunningPolicy(ValueError):
    """The dunning policy shipped in the common layer does not validate: nothing is deployed."""


def validate_shipped_policy() -> None:
    """Fail the synth, with the policy's own message, when the shipped default policy is wrong."""
    try:
        dunning_policy.validate_shipped_policy()
    except dunning_policy.PolicyError as error:
        raise InvalidDunningPolicy(
            f"the shipped dunning policy (arcollect/dunning) is invalid: {error}"
        ) from error


class Dunning(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        runtime: FunctionRuntime,
        data: DataStore,
        environment_name: str,
        mail: Mail,
        ses_max_send_rate: str,
        portal_link_days: str,
        schedule_expression: str,
        schedule_time_zone: str,
        portal_base_url: str,
        link_secret: secretsmanager.ISecret,
        inbound_domain: str | None = None,
        sms_origination_identity: str | None = None,
        sms_configuration_set: str | None = None,
        sms_opt_out_list: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        validate_shipped_policy()
        # Scheduler and EventBridge invocations that failed (asynchronous invocations).
        self.dead_letter_queue = dead_letter_queue(self, "DeadLetterQueue")
        # Per-customer work of a sweep that failed maxReceiveCount times.
        self.queue_dead_letter_queue = dead_letter_queue(self, "QueueDeadLetterQueue")
        # Visibility six times the function timeout (AWS's guidance for Lambda consumers), so a slow
        # batch is not handed to a second consumer while the first still works on it.
        self.queue = work_queue(
            self,
            "Queue",
            dlq=self.queue_dead_letter_queue,
            visibility_timeout=Duration.seconds(FUNCTION_TIMEOUT.to_seconds() * 6),
            max_receive_count=QUEUE_MAX_RECEIVE_COUNT,
        )
        self.function = runtime.function(
            self,
            FunctionName.DUNNING,
            description="Runs the reminder policy over due invoices and records SES email events",
            timeout=FUNCTION_TIMEOUT,
            memory_size=1024,
            environment={
                EnvVar.ENVIRONMENT_NAME: environment_name,
                EnvVar.TABLE_NAME: data.table.table_name,
                EnvVar.DROP_BUCKET: data.drop_bucket.bucket_name,
                EnvVar.DUNNING_QUEUE_URL: self.queue.queue_url,
                EnvVar.SENDER_EMAIL: mail.sender_email,
                EnvVar.SES_CONFIGURATION_SET: mail.configuration_set_name,
                EnvVar.SES_MAX_SEND_RATE: ses_max_send_rate,
                EnvVar.PORTAL_BASE_URL: portal_base_url,
                EnvVar.LINK_SECRET_ARN: link_secret.secret_arn,
                EnvVar.PORTAL_LINK_DAYS: portal_link_days,
                # Reminders say "reply to reply+<token>@<it>" (none: the owner's mailbox).
                EnvVar.INBOUND_DOMAIN: inbound_domain or "",
                # Reminder texts (docs/sms.md): empty, the function sends none.
                EnvVar.SMS_ORIGINATION_IDENTITY: sms_origination_identity or "",
                EnvVar.SMS_CONFIGURATION_SET: sms_configuration_set or "",
                EnvVar.SMS_OPT_OUT_LIST: sms_opt_out_list or "",
            },
            # Scheduler and EventBridge invoke asynchronously: failed invocations land in the DLQ.
            dead_letter_queue=self.dead_letter_queue,
            retry_attempts=2,
        )
        self.function.add_event_source(
            sources.SqsEventSource(
                self.queue,
                batch_size=10,
                max_batching_window=Duration.seconds(5),
                max_concurrency=DUNNING_SENDERS,
                report_batch_item_failures=True,
            )
        )
        self.tick = ScheduledTick(
            self,
            "HourlyTick",
            function=self.function,
            expression=schedule_expression,
            time_zone=schedule_time_zone,
            description="arcollect dunning sweep",
            dead_letter_queue=self.dead_letter_queue,
        )
        self.email_events_rule = events.Rule(
            self,
            "EmailEventsRule",
            description="SES events of arcollect's configuration set -> dunning function",
            event_pattern=events.EventPattern(
                source=["aws.ses"],
                detail_type=list(EMAIL_EVENTS.values()),
                # Only our mail: SES tags every message with the configuration set it was sent through.
                detail={"mail": {"tags": {"ses:configuration-set": [mail.configuration_set_name]}}},
            ),
            targets=[
                event_targets.LambdaFunction(
                    self.function,
                    dead_letter_queue=self.dead_letter_queue,
                    retry_attempts=3,
                    max_event_age=Duration.hours(6),
                )
            ],
        )
        data.table.grant_read_write_data(self.function)
        self.texts = (
            TextMessages(
                self,
                "Texts",
                function=self.function,
                origination_identity=sms_origination_identity,
                configuration_set=sms_configuration_set,
                opt_out_list=sms_opt_out_list,
                dead_letter_queue=self.dead_letter_queue,
                environment_name=environment_name,
            )
            if sms_origination_identity
            else None
        )
        # The sweep fans customers out to the work queue; the function consumes it too (event source).
        self.queue.grant_send_messages(self.function)
        # An uploaded policy overrides the shipped one: that object only, nothing else of the drop bucket.
        data.drop_bucket.grant_read(self.function, DropPrefix.DUNNING_POLICY)
        # The ERP change feed: promises settled and addresses that bounced, one object each, as they happen.
        data.drop_bucket.grant_put(self.function, f"{CHANGES_PREFIX}*")
        # Letters for the print-and-mail service; a retried run reads a letter's manifest back to
        # tell whether it was handed over (dunning/posting.py).
        data.drop_bucket.grant_put(self.function, f"{DropPrefix.LETTERS}*")
        data.drop_bucket.grant_read(self.function, f"{DropPrefix.LETTERS}*")
        link_secret.grant_read(self.function)
        mail.allow_sending(self.function)
