"""Which stack a command talks to: the local stack (``.local/outputs.json``) or a deployed one."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from arcollect.contract import Output, scheduled_event
from arcollect.store import bind_table


class CliError(RuntimeError):
    """An error the user can act on; printed as one line, never as a traceback."""


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
        """Invoke a function through the Lambda API (the local stack implements it too)."""
        if self._lambda is None:
            self._lambda = boto3.client("lambda")
        response = self._lambda.invoke(
            FunctionName=self.output(function_output), Payload=json.dumps(event).encode()
        )
        payload = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError"):
            message = payload.get("errorMessage", "unknown error") if isinstance(payload, dict) else payload
            raise CliError(f"{self.output(function_output)} failed: {message}")
        return payload

    def tick(self, function_output: str, at: str) -> Any:
        event = scheduled_event(
            execution_id=f"arcollect-cli-{at}",
            scheduled_time=at,
            schedule_arn=f"arn:aws:scheduler:::schedule/arcollect-cli/{self.output(function_output)}",
        )
        return self.invoke(function_output, event)


def _stack_outputs(stack: str) -> dict[str, Any]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        described = boto3.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    except (ClientError, BotoCoreError) as error:
        raise CliError(f"cannot read the outputs of stack {stack!r}: {error}") from error
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
