"""Monitoring: alarms that page ops (function errors, dead letters, SES reputation) and one dashboard."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from arcollect.contract import (
    EXPORTS_FAILED_METRIC,
    METRICS_NAMESPACE,
    REMINDERS_REFUSED_METRIC,
    FunctionName,
    service_name,
)

# SES reviews an account at 5% bounces and 0.1% complaints; alarm well before that.
BOUNCE_RATE_THRESHOLD = 0.04
COMPLAINT_RATE_THRESHOLD = 0.0008


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        functions: Mapping[str, lambda_.IFunction],
        dead_letter_queues: Mapping[str, sqs.IQueue],
        configuration_set_name: str,
        api: apigw.RestApi,
        alarm_email: str | None,
    ) -> None:
        super().__init__(scope, id)
        key = kms.Key(
            self, "AlarmTopicKey", enable_key_rotation=True, description="arcollect alarm topic encryption"
        )
        # CloudWatch must be able to publish to the encrypted topic.
        key.grant_encrypt_decrypt(iam.ServicePrincipal("cloudwatch.amazonaws.com"))
        self.alarm_topic = sns.Topic(self, "AlarmTopic", master_key=key, enforce_ssl=True)
        if alarm_email:
            self.alarm_topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        action = actions.SnsAction(self.alarm_topic)
        self.alarms: list[cloudwatch.Alarm] = []

        def alarm(id: str, metric: cloudwatch.IMetric, threshold: float, description: str) -> None:
            created = metric.create_alarm(
                self,
                id,
                threshold=threshold,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=description,
            )
            created.add_alarm_action(action)
            self.alarms.append(created)

        for name, function in functions.items():
            alarm(
                f"{name.title()}Errors",
                function.metric_errors(period=Duration.minutes(5), statistic="Sum"),
                1,
                f"The {name} function failed at least once in 5 minutes",
            )
        for name, queue in dead_letter_queues.items():
            alarm(
                f"{name.title()}DeadLetters",
                queue.metric_approximate_number_of_messages_visible(
                    period=Duration.minutes(5), statistic="Maximum"
                ),
                1,
                f"Messages are waiting in the {name} dead-letter queue: inspect and redrive them",
            )
        dimensions = {"ses:configuration-set": configuration_set_name}
        bounce_rate = cloudwatch.Metric(
            namespace="AWS/SES",
            metric_name="Reputation.BounceRate",
            dimensions_map=dimensions,
            statistic="Maximum",
            period=Duration.hours(1),
        )
        complaint_rate = cloudwatch.Metric(
            namespace="AWS/SES",
            metric_name="Reputation.ComplaintRate",
            dimensions_map=dimensions,
            statistic="Maximum",
            period=Duration.hours(1),
        )
        alarm(
            "SesBounceRate",
            bounce_rate,
            BOUNCE_RATE_THRESHOLD,
            "Reminder bounce rate is near SES's review threshold (5%): clean the customer contacts",
        )
        alarm(
            "SesComplaintRate",
            complaint_rate,
            COMPLAINT_RATE_THRESHOLD,
            "Reminder complaint rate is near SES's review threshold (0.1%): "
            "review the policy's tone and cadence",
        )

        # A reminder SES refused for good never goes until someone fixes its data (its fix-and-resend
        # task says what SES said): one is enough to page, since it is usually a whole class of them.
        refused = cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=REMINDERS_REFUSED_METRIC,
            dimensions_map={"service": service_name(FunctionName.DUNNING)},
            statistic="Sum",
            period=Duration.hours(1),
        )
        alarm(
            "RemindersRefused",
            refused,
            1,
            "SES refused a reminder for good (an address, a tag, the size): "
            "see the fix-and-resend tasks in the staff console",
        )

        # A failed export of the table (reports/exports.py) is started again by the next run; until one
        # succeeds the reports' Parquet is a day older, and after three failures it waits for a person.
        exports_failed = cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=EXPORTS_FAILED_METRIC,
            dimensions_map={"service": service_name(FunctionName.REPORTS)},
            statistic="Sum",
            period=Duration.hours(1),
        )
        alarm(
            "ExportsFailed",
            exports_failed,
            1,
            "A DynamoDB export of the table to the reports bucket failed: it is retried by the next run; "
            "see the reports function's log and warehouse/_exports/ in the reports bucket",
        )

        self.dashboard = cloudwatch.Dashboard(
            self, "Dashboard", period_override=cloudwatch.PeriodOverride.AUTO
        )
        self.dashboard.add_widgets(*self._function_widgets(functions))
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Dead-letter queues",
                left=[
                    q.metric_approximate_number_of_messages_visible(label=n)
                    for n, q in dead_letter_queues.items()
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="SES reputation", left=[bounce_rate, complaint_rate], right=[refused], width=8
            ),
            cloudwatch.GraphWidget(
                title="Portal API",
                left=[api.metric_client_error(), api.metric_server_error()],
                right=[api.metric_latency(statistic="p95")],
                width=8,
            ),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=24),
        )

    @staticmethod
    def _function_widgets(functions: Mapping[str, lambda_.IFunction]) -> Sequence[cloudwatch.IWidget]:
        return [
            cloudwatch.GraphWidget(
                title=f"{name} function",
                left=[function.metric_invocations(), function.metric_errors(), function.metric_throttles()],
                right=[function.metric_duration(statistic="p95")],
                width=6,
            )
            for name, function in functions.items()
        ]
