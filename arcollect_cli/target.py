"""Which stack a command talks to: the local stack (``.local/outputs.json``) or a deployed one."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from arcollect.contract import Output, scheduled_event
from arcollect.store import bind_table

log = logging.getLogger("arcollect")

# What a queue holds that is not finished: waiting, received but not deleted (in flight), delayed.
QUEUE_COUNTS = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


# The scheduled functions ``arcollect tick`` (and the demo) can fire, by name: the output naming each.
FUNCTION_OUTPUTS = {"dunning": Output.DUNNING_FUNCTION, "reports": Output.REPORTS_FUNCTION}


class CliError(RuntimeError):
    """An error the user can act on; printed as one line, never as a traceback."""


@dataclass(frozen=True)
class DrainWait:
    """How to wait for a queue to drain.

    ``settle``: how long the counts must stay zero. SQS's counts are approximate and may take about a
    minute to become consistent after the last send, so on AWS one zero reading is not enough; the local
    emulator's counts are exact.
    """

    timeout: float
    interval: float
    settle: float


# Lambda's maximum run time (15 minutes) and a margin: how long a synchronous invocation may take.
INVOKE_READ_TIMEOUT = 15 * 60 + 30

LOCAL_DRAIN = DrainWait(timeout=300, interval=0.2, settle=0)
DEPLOYED_DRAIN = DrainWait(timeout=900, interval=5, settle=60)


@dataclass
class Target:
    outputs: dict[str, Any]
    local: bool
    _lambda: Any = field(default=None, init=False, repr=False)

    @classmethod
    def resolve(cls, stack: str | None, root: Path) -> Target:
        if stack:
            return cls(outputs=_stack_outputs(stack), local=False)
        outputs_file = root / ".local" / "outputs.json"
        if not outputs_file.exists():
            raise CliError(
                f"no local stack: {outputs_file} does not exist. Start one with `arcollect local up`, "
                "or name a deployed stack with --stack NAME"
            )
        target = cls(outputs=json.loads(outputs_file.read_text()), local=True)
        local = target.outputs["Local"]
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": local["AwsEndpoint"],
                "AWS_ENDPOINT_URL_LAMBDA": local["LambdaEndpoint"],
                "AWS_DEFAULT_REGION": local["Region"],
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
            }
        )
        os.environ.pop("AWS_PROFILE", None)
        return target

    def output(self, key: str) -> str:
        try:
            return str(self.outputs[key])
        except KeyError as error:
            raise CliError(f"the stack has no output {key!r}: is it an arcollect stack?") from error

    def bind_table(self) -> None:
        bind_table(self.output(Output.TABLE_NAME))

    def invoke(self, function_output: str, event: dict[str, Any]) -> Any:
        """Invoke a function through the Lambda API (the local stack implements it too).

        The call waits as long as a function may run: a portfolio-wide report takes minutes, and at
        botocore's default read timeout (60 s) the client would give up and retry, running it again."""
        if self._lambda is None:
            from botocore.config import Config

            self._lambda = boto3.client("lambda", config=Config(read_timeout=INVOKE_READ_TIMEOUT))
        response = self._lambda.invoke(
            FunctionName=self.output(function_output), Payload=json.dumps(event).encode()
        )
        payload = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError"):
            message = payload.get("errorMessage", "unknown error") if isinstance(payload, dict) else payload
            raise CliError(f"{self.output(function_output)} failed: {message}")
        return payload

    def tick(self, function_output: str, at: str, detail: dict[str, str] | None = None) -> Any:
        """Send the function the event its schedule sends at ``at``; ``detail`` as that schedule's (the
        reports function's cadence)."""
        event = scheduled_event(
            execution_id=f"arcollect-cli-{at}",
            scheduled_time=at,
            schedule_arn=f"arn:aws:scheduler:::schedule/arcollect-cli/{self.output(function_output)}",
            detail=detail,
        )
        return self.invoke(function_output, event)

    def wait_until_drained(
        self,
        queue_output: str,
        *,
        wait: DrainWait | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Return once the queue holds no message, waiting or in flight: the work sent to it is done.

        Raises ``CliError`` when it still holds messages after the timeout.
        """
        if queue_output not in self.outputs:
            log.warning("the stack has no output %s: not waiting for its queue", queue_output)
            return
        wait = wait or (LOCAL_DRAIN if self.local else DEPLOYED_DRAIN)
        queue_url = self.output(queue_output)
        sqs = boto3.client("sqs")
        start = clock()
        empty_since: float | None = None
        while True:
            attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=list(QUEUE_COUNTS))[
                "Attributes"
            ]
            counts = [int(attributes.get(name, 0)) for name in QUEUE_COUNTS]
            now = clock()
            if any(counts):
                empty_since = None
            else:
                empty_since = now if empty_since is None else empty_since
                if now - empty_since >= wait.settle:
                    return
            if now - start >= wait.timeout:
                waiting, in_flight, delayed = counts
                raise CliError(
                    f"the queue {queue_url.rsplit('/', 1)[-1]} ({queue_output}) still holds {waiting} "
                    f"waiting, {in_flight} in-flight and {delayed} delayed messages after "
                    f"{wait.timeout:.0f} s: the work fanned out to it is not finished. Failed messages "
                    "are retried after the queue's visibility timeout and then go to its dead-letter "
                    "queue; see the function's log"
                )
            sleep(wait.interval)


def _stack_outputs(stack: str) -> dict[str, Any]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        described = boto3.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    except (ClientError, BotoCoreError) as error:
        raise CliError(f"cannot read the outputs of stack {stack!r}: {error}") from error
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
