"""Dunning: hourly schedule -> dunning function -> SES; SES events come back to the same function."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as event_targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ses as ses
from constructs import Construct

from arcollect.contract import EnvVar, FunctionName
from infra.constructs.data import DataStore
from infra.constructs.queues import dead_letter_queue
from infra.constructs.runtime import FunctionRuntime
from infra.constructs.schedule import ScheduledTick

# The SES events that change what dunning does next (suppress an address, record a delivery).
EMAIL_EVENTS = {
    ses.EmailSendingEvent.BOUNCE: "Email Bounced",
    ses.EmailSendingEvent.COMPLAINT: "Email Complaint Received",
    ses.EmailSendingEvent.DELIVERY: "Email Delivered",
    ses.EmailSendingEvent.REJECT: "Email Rejected",
    ses.EmailSendingEvent.DELIVERY_DELAY: "Email Delivery Delayed",
    ses.EmailSendingEvent.RENDERING_FAILURE: "Email Rendering Failed",
    ses.EmailSendingEvent.OPEN: "Email Opened",
    ses.EmailSendingEvent.CLICK: "Email Clicked",
}


class Dunning(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        runtime: FunctionRuntime,
        data: DataStore,
        environment_name: str,
        sender_email: str,
        schedule_expression: str,
        schedule_time_zone: str,
        portal_base_url: str,
        link_secret: secretsmanager.ISecret,
    ) -> None:
        super().__init__(scope, id)
        self.sender_identity = ses.EmailIdentity(
            self, "SenderIdentity", identity=ses.Identity.email(sender_email)
        )
        self.configuration_set = ses.ConfigurationSet(
            self,
            "ConfigurationSet",
            reputation_metrics=True,
            sending_enabled=True,
            suppression_reasons=ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
        )
        # SES can publish to the default event bus only.
        default_bus = events.EventBus.from_event_bus_name(self, "DefaultBus", "default")
        self.configuration_set.add_event_destination(
            "ToEventBridge",
            destination=ses.EventDestination.event_bus(default_bus),
            events=list(EMAIL_EVENTS),
        )
        self.dead_letter_queue = dead_letter_queue(self, "DeadLetterQueue")
        self.function = runtime.function(
            self,
            FunctionName.DUNNING,
            description="Runs the reminder policy over due invoices and records SES email events",
            timeout=Duration.minutes(5),
            memory_size=1024,
            environment={
                EnvVar.ENVIRONMENT_NAME: environment_name,
                EnvVar.TABLE_NAME: data.table.table_name,
                EnvVar.SENDER_EMAIL: sender_email,
                EnvVar.SES_CONFIGURATION_SET: self.configuration_set.configuration_set_name,
                EnvVar.PORTAL_BASE_URL: portal_base_url,
                EnvVar.LINK_SECRET_ARN: link_secret.secret_arn,
            },
            # Scheduler and EventBridge invoke asynchronously: failed invocations land in the DLQ.
            dead_letter_queue=self.dead_letter_queue,
            retry_attempts=2,
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
                detail={
                    "mail": {
                        "tags": {"ses:configuration-set": [self.configuration_set.configuration_set_name]}
                    }
                },
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
        link_secret.grant_read(self.function)
        self.sender_identity.grant_send_email(self.function)
        # SES authorises a send against the configuration set too, and the set has no grant method.
        iam.Grant.add_to_principal(
            grantee=self.function,
            actions=["ses:SendEmail", "ses:SendRawEmail"],
            resource_arns=[
                Stack.of(self).format_arn(
                    service="ses",
                    resource="configuration-set",
                    resource_name=self.configuration_set.configuration_set_name,
                )
            ],
        )
