"""The one Logger, Tracer and Metrics of a function process.

Service name, metrics namespace and log level come from the POWERTOOLS_* variables that CDK sets, so
every module that logs shares one structured (JSON) logger.

The tracer is Powertools' Tracer, made by the first traced call rather than at import. Making it
imports the X-Ray SDK, patches botocore and builds the recorder: about 20 ms, a sixth of a handler's
cold-start import (``make bench``, ``cold_start_import_*``), that a traced invocation then pays once
instead. Where tracing is off (the local stack, the tests: Powertools' own rule, below) the decorators
leave the function as it is and the SDK is never imported.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

Function = TypeVar("Function", bound=Callable[..., Any])

# Only botocore is patched: every AWS call (pynamodb's included, which go through botocore's client)
# becomes a subsegment. Patching everything X-Ray knows imports requests, sqlite3 and the rest at every
# cold start, for libraries the functions never call.
PATCHED_MODULES = ("botocore",)
# The traced calls' results and exceptions stay out of the traces (``FirstUseTracer``); the functions'
# environment says the same to Powertools (POWERTOOLS_TRACER_CAPTURE_*, infra/constructs/runtime.py).
NOTHING_CAPTURED: dict[str, bool] = {"capture_response": False, "capture_error": False}


class FirstUseTracer:
    """``capture_lambda_handler`` and ``capture_method`` of Powertools' Tracer, which is made (and the
    X-Ray SDK imported) when the first decorated function runs. Both decorators take Powertools'
    options (``capture_response``, ``capture_error``), with or without parentheses."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._tracer: Any = None

    @property
    def tracer(self) -> Any:
        """Powertools' Tracer (made now if no traced call has made it yet)."""
        if self._tracer is None:
            from aws_lambda_powertools import Tracer

            self._tracer = Tracer(**self._options)
        return self._tracer

    def capture_lambda_handler(self, lambda_handler: Function | None = None, **options: Any) -> Any:
        if lambda_handler is None:
            return functools.partial(self.capture_lambda_handler, **options)
        return self._on_first_call(lambda_handler, "capture_lambda_handler", options)

    def capture_method(self, method: Function | None = None, **options: Any) -> Any:
        if method is None:
            return functools.partial(self.capture_method, **options)
        return self._on_first_call(method, "capture_method", options)

    def _on_first_call(self, function: Function, decorator: str, options: dict[str, Any]) -> Function:
        if tracing_disabled():
            return function
        # Never what a function returns or raises: a portal response carries Set-Cookie (the session),
        # CSRF tokens and account data, and X-Ray keeps metadata for anyone who may read traces. A
        # caller may still ask for either, explicitly.
        options = {**NOTHING_CAPTURED, **options}
        traced: Callable[..., Any] | None = None

        @functools.wraps(function)
        def call(*args: Any, **kwargs: Any) -> Any:
            nonlocal traced
            if traced is None:
                traced = getattr(self.tracer, decorator)(function, **options)
            return traced(*args, **kwargs)

        return call  # type: ignore[return-value]


def tracing_disabled() -> bool:
    """Powertools' rule for a disabled Tracer: ``POWERTOOLS_TRACE_DISABLED`` set true, or not in a Lambda
    sandbox (no ``LAMBDA_TASK_ROOT``), or in SAM's or Chalice's local emulators."""
    from aws_lambda_powertools.shared.functions import resolve_truthy_env_var_choice

    if resolve_truthy_env_var_choice(env=os.getenv("POWERTOOLS_TRACE_DISABLED", "false")):
        return True
    return not os.getenv("LAMBDA_TASK_ROOT") or bool(
        os.getenv("AWS_SAM_LOCAL") or os.getenv("AWS_CHALICE_CLI_MODE")
    )


logger = Logger()
tracer = FirstUseTracer(patch_modules=PATCHED_MODULES)
metrics = Metrics()


def count(name: str, value: int) -> None:
    """Publish a count in this invocation's metrics, only when it is not zero. CloudWatch bills a custom
    metric for each hour it is published in, so an hourly tick publishing zeros pays every hour of the
    month for nothing; the alarms treat a missing count as zero (``monitoring.py``)."""
    if value:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


__all__ = ["count", "logger", "metrics", "tracer"]
