"""The arcollect stack: composes one construct per concern and publishes the outputs the CLI reads."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from aws_cdk import aws_logs as logs
from constructs import Construct

from arcollect.contract import DeadLetterQueue, FunctionName, Output, retention_days
from infra.config import StackConfig
from infra.constructs.data import DataStore
from infra.constructs.dunning import Dunning
from infra.constructs.inbox import Inbox
from infra.constructs.ingest import Ingest
from infra.constructs.mail import Mail
from infra.constructs.monitoring import Monitoring
from infra.constructs.portal import Portal
from infra.constructs.reports import Reports
from infra.constructs.runtime import FunctionRuntime
from infra.constructs.staff import StaffDirectory
from infra.constructs.warehouse import Warehouse
from infra.nag import acknowledge_findings

_RETENTION = {
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    731: logs.RetentionDays.TWO_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}


class ArcollectStack(Stack):
    def __init__(self, scope: Construct, id: str, *, config: StackConfig, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        Tags.of(self).add("app", "arcollect")
        Tags.of(self).add("environment", config.environment_name)
        retention = _RETENTION[config.log_retention_days]

        self.data = DataStore(self, "Data", retention_days=retention_days(int(config.retention_years)))
        self.runtime = FunctionRuntime(
            self,
            "Runtime",
            environment_name=config.environment_name,
            log_retention=retention,
            retention_days=retention_days(int(config.retention_years)),
        )
        self.ingest = Ingest(
            self,
            "Ingest",
            runtime=self.runtime,
            data=self.data,
            environment_name=config.environment_name,
            home_currency=config.home_currency,
            export_locale=config.export_locale,
            inbound_domain=config.inbound_domain,
        )
        self.mail = Mail(self, "Mail", sender_email=config.sender_email, sender_domain=config.sender_domain)
        self.staff = StaffDirectory(self, "Staff")
        self.portal = Portal(
            self,
            "Portal",
            runtime=self.runtime,
            data=self.data,
            environment_name=config.environment_name,
            log_retention=retention,
            domain_name=config.portal_domain,
            certificate_arn=config.portal_certificate_arn,
            rate_limit_per_5min=config.portal_rate_limit_per_5min,
            waf=config.portal_waf,
            mail=self.mail,
            staff=self.staff,
            portal_link_days=config.portal_link_days,
            payment_url_template=config.payment_url_template,
        )
        self.data.allow_uploads_from(self.portal.origins)
        self.dunning = Dunning(
            self,
            "Dunning",
            runtime=self.runtime,
            data=self.data,
            environment_name=config.environment_name,
            mail=self.mail,
            ses_max_send_rate=config.ses_max_send_rate,
            portal_link_days=config.portal_link_days,
            schedule_expression=config.dunning_schedule,
            schedule_time_zone=config.schedule_time_zone,
            portal_base_url=self.portal.url,
            link_secret=self.portal.link_secret,
            inbound_domain=config.inbound_domain,
            sms_origination_identity=config.sms_origination_identity,
            sms_configuration_set=config.sms_configuration_set,
            sms_opt_out_list=config.sms_opt_out_list,
        )
        # Customers' replies to the reminders, received by SES on the inbound domain (docs/inbox.md).
        self.inbox = (
            Inbox(
                self,
                "Inbox",
                data=self.data,
                inbound_domain=config.inbound_domain,
                sender_domain=config.sender_domain,
            )
            if config.inbound_domain
            else None
        )
        self.reports = Reports(
            self,
            "Reports",
            runtime=self.runtime,
            data=self.data,
            environment_name=config.environment_name,
            mail=self.mail,
            portal_base_url=self.portal.url,
            schedule_expressions=config.reports_schedules,
            schedule_time_zone=config.schedule_time_zone,
            reports_engine=config.reports_engine,
        )
        # The table exported daily to the reports' Parquet, with Glue tables and an Athena workgroup over it.
        self.warehouse = Warehouse(
            self,
            "Warehouse",
            data=self.data,
            function=self.reports.function,
            environment_name=config.environment_name,
            dead_letter_queue=self.reports.dead_letter_queue,
            schedule_time_zone=config.schedule_time_zone,
        )
        functions = {
            FunctionName.INGEST: self.ingest.function,
            FunctionName.DUNNING: self.dunning.function,
            FunctionName.PORTAL: self.portal.function,
            FunctionName.REPORTS: self.reports.function,
        }
        dead_letter_queues = {
            DeadLetterQueue.INGEST: self.ingest.dead_letter_queue,
            DeadLetterQueue.DUNNING: self.dunning.dead_letter_queue,
            DeadLetterQueue.DUNNING_WORK: self.dunning.queue_dead_letter_queue,
            DeadLetterQueue.REPORTS: self.reports.dead_letter_queue,
        }
        # `arcollect status` (an output) and the staff console's status page show their depths.
        dead_letter_urls = self.to_json_string(
            {name: dead_letter_queues[name].queue_url for name in sorted(dead_letter_queues)}
        )
        self.portal.show_dead_letter_queues(dead_letter_urls, dead_letter_queues)
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            functions=functions,
            dead_letter_queues=dead_letter_queues,
            configuration_set_name=self.mail.configuration_set_name,
            api=self.portal.api,
            alarm_email=config.alarm_email,
        )

        outputs = {
            Output.TABLE_NAME: self.data.table.table_name,
            Output.DROP_BUCKET: self.data.drop_bucket.bucket_name,
            Output.REPORTS_BUCKET: self.data.reports_bucket.bucket_name,
            Output.INGEST_QUEUE_URL: self.ingest.queue.queue_url,
            Output.DUNNING_QUEUE_URL: self.dunning.queue.queue_url,
            Output.PORTAL_URL: self.portal.url,
            Output.SES_CONFIGURATION_SET: self.mail.configuration_set_name,
            Output.LINK_SECRET_ARN: self.portal.link_secret.secret_arn,
            Output.INGEST_FUNCTION: self.ingest.function.function_name,
            Output.DUNNING_FUNCTION: self.dunning.function.function_name,
            Output.PORTAL_FUNCTION: self.portal.function.function_name,
            Output.REPORTS_FUNCTION: self.reports.function.function_name,
            Output.STAFF_USER_POOL_ID: self.staff.user_pool_id,
            Output.STAFF_CLIENT_ID: self.staff.client_id,
            Output.DEAD_LETTER_QUEUES: dead_letter_urls,
        }
        if self.mail.dns_records:
            # `arcollect mail dns` prints them: what to publish before the domain can send.
            outputs[Output.SENDER_DNS_RECORDS] = self.to_json_string(self.mail.dns_records)
        if self.inbox is not None:
            outputs[Output.INBOUND_RULE_SET] = self.inbox.rule_set_name
            outputs[Output.INBOUND_DNS_RECORDS] = self.to_json_string(self.inbox.dns_records)
        if self.dunning.texts is not None:
            # The origination identity's two-way channel is pointed at it (docs/sms.md, "Deploying").
            outputs[Output.SMS_REPLIES_TOPIC] = self.dunning.texts.replies_topic.topic_arn
        for key, value in outputs.items():
            CfnOutput(self, key, value=value)

        acknowledge_findings(self)
