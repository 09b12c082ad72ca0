"""A schedule that invokes a function with an EventBridge-shaped "Scheduled Event"."""

from __future__ import annotations

from aws_cdk import Duration, TimeZone
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from arcollect.contract import scheduled_event


class ScheduledTick(Construct):
    """EventBridge Scheduler -> function, retried for up to an hour, undeliverable ticks kept in a DLQ."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        function: lambda_.IFunction,
        expression: str,
        time_zone: str,
        description: str,
        dead_letter_queue: sqs.IQueue,
        detail: dict[str, str] | None = None,
    ) -> None:
        """``detail``: the event's ``detail``, which tells the function which of its schedules fired."""
        super().__init__(scope, id)
        event = scheduled_event(
            execution_id=scheduler.ContextAttribute.execution_id,
            scheduled_time=scheduler.ContextAttribute.scheduled_time,
            schedule_arn=scheduler.ContextAttribute.schedule_arn,
            detail=detail,
        )
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            schedule=scheduler.ScheduleExpression.expression(expression, TimeZone.of(time_zone)),
            description=description,
            target=targets.LambdaInvoke(
                function,
                input=scheduler.ScheduleTargetInput.from_object(event),
                retry_attempts=3,
                # A tick older than an hour is superseded by the next one; the sweep catches up by design.
                max_event_age=Duration.hours(1),
                dead_letter_queue=dead_letter_queue,
            ),
        )
