"""What a function makes on first use instead of at import: AWS clients and the X-Ray tracer; and the
EventBridge envelope read without pydantic."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import pytest

from arcollect.events import MalformedEvent, read_eventbridge
from arcollect.store import clients
from benchmarks.cold_start import lambda_environment

# -- clients ---------------------------------------------------------------------------------------------


def test_a_lazy_client_is_made_on_first_use_and_once(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[str] = []

    class Client:
        def __init__(self, service: str) -> None:
            self.service = service

        def list_queues(self) -> list[str]:
            return [self.service]

    def client(service: str) -> Client:
        made.append(service)
        return Client(service)

    monkeypatch.setattr(clients.boto3, "client", client)
    lazy = clients.LazyClient("sqs")
    assert made == [] and "not made yet" in repr(lazy)
    assert lazy.list_queues() == ["sqs"]
    assert lazy.list_queues() == ["sqs"]
    assert made == ["sqs"] and "made" in repr(lazy)


# -- the tracer ------------------------------------------------------------------------------------------

TRACED = """
import sys
from arcollect.observability import tracer

assert not any(name.startswith("aws_xray_sdk") for name in sys.modules), "imported with the module"


@tracer.capture_method
def add(a, b):
    return a + b


@tracer.capture_lambda_handler(capture_response=False)
def handler(event, context):
    return add(event["a"], 2)


class Context:
    function_name = "f"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:f"
    aws_request_id = "r"


assert not any(name.startswith("aws_xray_sdk") for name in sys.modules), "imported by the decorators"
assert handler.__name__ == "handler" and add.__name__ == "add"
assert handler({"a": 1}, Context()) == 3
assert handler({"a": 5}, Context()) == 7
print("xray:", "aws_xray_sdk.core" in sys.modules)
"""


@pytest.mark.parametrize(("disabled", "expected"), [("0", "xray: True"), ("1", "xray: False")])
def test_the_tracer_imports_the_xray_sdk_on_the_first_traced_call(disabled: str, expected: str) -> None:
    # Given a Lambda sandbox with a trace header (tracing on), or with tracing switched off
    environment: dict[str, Any] = {
        **lambda_environment("ingest"),
        "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        "POWERTOOLS_TRACE_DISABLED": disabled,
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
    }
    # When the module is imported, the functions decorated, and then called twice
    result = subprocess.run(
        [sys.executable, "-c", TRACED], capture_output=True, text=True, env=environment, cwd="/", check=False
    )
    # Then nothing of X-Ray was imported before the first call (nor at all with tracing off), and the
    # calls answered as undecorated
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout


# -- the EventBridge envelope ----------------------------------------------------------------------------


def test_a_scheduled_tick_is_read_with_its_time_in_utc() -> None:
    envelope = read_eventbridge(
        {
            "source": "aws.scheduler",
            "detail-type": "Scheduled Event",
            "time": "2026-11-03T06:00:00+01:00",
            "detail": {"cadence": "weekly"},
        }
    )
    assert envelope.source == "aws.scheduler"
    assert envelope.time == datetime(2026, 11, 3, 5, 0, tzinfo=UTC)
    assert envelope.detail == {"cadence": "weekly"}


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ([], "JSON object"),
        ({"time": "2026-11-03T06:00:00Z"}, "'source' is missing"),
        ({"source": "aws.ses"}, "'time' is missing"),
        ({"source": "aws.ses", "time": "yesterday"}, "not an ISO-8601"),
        ({"source": "aws.ses", "time": "2026-11-03T06:00:00"}, "no time zone"),
        ({"source": "aws.ses", "time": "2026-11-03T06:00:00Z", "detail": "x"}, "'detail' is not an object"),
        ({"source": "aws.ses", "time": "2026-11-03T06:00:00Z", "detail-type": 3}, "'detail-type'"),
    ],
)
def test_a_malformed_event_is_refused_naming_the_field(event: Any, reason: str) -> None:
    with pytest.raises(MalformedEvent, match=reason):
        read_eventbridge(event)
