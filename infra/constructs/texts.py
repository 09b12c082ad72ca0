"""Reminder texts through AWS End User Messaging SMS (docs/sms.md), only with an origination identity.

The dunning function may send from the stack's identity (with its configuration set) and put numbers on
its opt-out list, and nothing else of the service; customers' replies (a STOP) come back on an encrypted
SNS topic the function is subscribed to: the identity's two-way channel is pointed at it by hand (the
topic's ARN is an output), because the identity itself, its registration and its keywords are made in
the account, not by this stack (phone numbers are bought and registered per country). The carrier's
delivery receipts come by EventBridge (the service sends them to the default bus itself): a rule passes
this environment's to the function (each text carries the environment in its Context).
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as event_targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from arcollect.sms import (
    CONTEXT_SENDER,
    DELIVERED_EVENTS,
    RECEIPT_DETAIL_TYPE,
    RECEIPT_SOURCE,
    UNDELIVERED_EVENTS,
)

# The service that publishes inbound texts to the two-way topic (the user guide's "Two-way SMS").
SMS_SERVICE = "sms-voice.amazonaws.com"


class TextMessages(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        function: lambda_.IFunction,
        origination_identity: str,
        configuration_set: str | None,
        opt_out_list: str | None,
        dead_letter_queue: sqs.IQueue,
        environment_name: str,
    ) -> None:
        super().__init__(scope, id)
        stack = Stack.of(self)

        def arn(kind: str, name: str) -> str:
            return stack.format_arn(
                service="sms-voice",
                resource=kind,
                resource_name=name,
                arn_format=ArnFormat.SLASH_RESOURCE_NAME,
            )

        # No grant_* exists for this service: the statements name the exact resources, no wildcard.
        sending = [origination_identity]
        if configuration_set:
            sending.append(arn("configuration-set", configuration_set))
        function.add_to_role_policy(
            iam.PolicyStatement(actions=["sms-voice:SendTextMessage"], resources=sending)
        )
        if opt_out_list:
            function.add_to_role_policy(
                # Put: a STOP the service did not read as one; Delete: a START (opting back in).
                iam.PolicyStatement(
                    actions=["sms-voice:PutOptedOutNumber", "sms-voice:DeleteOptedOutNumber"],
                    resources=[arn("opt-out-list", opt_out_list)],
                )
            )
        key = kms.Key(
            self,
            "RepliesKey",
            enable_key_rotation=True,
            description="arcollect text replies topic encryption",
        )
        self.replies_topic = sns.Topic(self, "Replies", master_key=key, enforce_ssl=True)
        service = iam.ServicePrincipal(SMS_SERVICE)
        # The service publishes the replies to the encrypted topic.
        self.replies_topic.grant_publish(service)
        key.grant(service, "kms:GenerateDataKey*", "kms:Decrypt")
        # A reply SNS cannot deliver is kept in the dunning function's dead-letter queue, not dropped.
        self.replies_topic.add_subscription(
            subscriptions.LambdaSubscription(function, dead_letter_queue=dead_letter_queue)
        )
        # Final delivery statuses of this environment's texts (the service publishes them to the
        # default bus; not-final ones, queued and pending, are left out). An event the function cannot
        # take is retried, then kept in its dead-letter queue.
        self.receipts_rule = events.Rule(
            self,
            "DeliveryReceiptsRule",
            description="delivery receipts of arcollect's reminder texts -> dunning function",
            event_pattern=events.EventPattern(
                source=[RECEIPT_SOURCE],
                detail_type=[RECEIPT_DETAIL_TYPE],
                detail={
                    "eventType": sorted({*DELIVERED_EVENTS, *UNDELIVERED_EVENTS}),
                    "context": {CONTEXT_SENDER: [environment_name]},
                },
            ),
            targets=[
                event_targets.LambdaFunction(
                    function,
                    dead_letter_queue=dead_letter_queue,
                    retry_attempts=3,
                    max_event_age=Duration.hours(6),
                )
            ],
        )
