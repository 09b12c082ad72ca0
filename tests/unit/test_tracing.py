"""Traces never hold what a function returns or raises: a portal response carries the session cookie,
CSRF tokens and account data, and whoever may read X-Ray could take the session over."""

from __future__ import annotations

from typing import Any

import pytest

from arcollect.observability import FirstUseTracer

SESSION = "arc_session=s3cr3t-session-id; Path=/; HttpOnly; Secure; SameSite=Lax"


@pytest.fixture
def traced(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Tracing on as in a Lambda sandbox, X-Ray's recorder replaced by one that keeps what it is given."""
    from aws_lambda_powertools.tracing.tracer import Tracer

    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "false")
    monkeypatch.delenv("POWERTOOLS_TRACER_CAPTURE_RESPONSE", raising=False)
    monkeypatch.delenv("POWERTOOLS_TRACER_CAPTURE_ERROR", raising=False)
    kept: list[tuple[str, Any]] = []

    class Subsegment:
        def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
            kept.append((key, value))

        def add_exception(self, exception: BaseException, stack: Any = None, remote: bool = False) -> None:
            kept.append(("exception", str(exception)))

        def put_annotation(self, key: str, value: Any) -> None:
            kept.append((key, value))

    class InSubsegment:
        def __enter__(self) -> Subsegment:
            return Subsegment()

        def __exit__(self, *exc: Any) -> None:
            return None

    class Provider:
        def in_subsegment(self, name: str | None = None, **kwargs: Any) -> InSubsegment:
            return InSubsegment()

        def patch(self, modules: Any) -> None:
            return None

        def patch_all(self) -> None:
            return None

    monkeypatch.setattr(Tracer, "_disable_tracer_provider", lambda *a, **k: None, raising=False)
    original_init = Tracer.__init__

    def init(self: Tracer, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, provider=Provider(), **kwargs)  # type: ignore[misc]

    monkeypatch.setattr(Tracer, "__init__", init)
    return kept


def portal_response(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {
        "statusCode": 303,
        "multiValueHeaders": {"Set-Cookie": [SESSION], "Location": ["/account"]},
        "body": '<input name="csrf_token" value="csrf-7f3a">',
    }


def test_a_traced_handler_records_no_response(traced: list[tuple[str, Any]]) -> None:
    handler = FirstUseTracer().capture_lambda_handler(portal_response)
    assert handler({}, None)["statusCode"] == 303
    assert "s3cr3t" not in repr(traced) and "csrf-7f3a" not in repr(traced)


def test_a_traced_handler_records_no_error_text(traced: list[tuple[str, Any]]) -> None:
    def failing(event: dict[str, Any], context: Any) -> None:
        raise ValueError("customer Brennan & Sons, PC: ap@brennan-sons.example refused")

    handler = FirstUseTracer().capture_lambda_handler(failing)
    with pytest.raises(ValueError):
        handler({}, None)
    assert "brennan" not in repr(traced).lower()


def test_the_fixture_would_see_a_response_a_caller_asks_to_capture(traced: list[tuple[str, Any]]) -> None:
    # (the spy works: asked for explicitly, the response is recorded)
    handler = FirstUseTracer().capture_lambda_handler(portal_response, capture_response=True)
    handler({}, None)
    assert "s3cr3t" in repr(traced)
