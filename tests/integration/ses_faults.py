"""SES failing the way botocore reports it, once, and the metrics a function printed (EMF)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from arcollect.store.mail import SesMailer

THROTTLED = ClientError(
    {"Error": {"Code": "ThrottlingException"}, "ResponseMetadata": {"HTTPStatusCode": 400}}, "SendEmail"
)
READ_TIMEOUT = ReadTimeoutError(endpoint_url="https://email.eu-west-1.amazonaws.com")


def ses_failing_once(monkeypatch: pytest.MonkeyPatch, raised: Exception, *, accepted: bool) -> None:
    """SES's first SendEmail fails with ``raised`` (as botocore raises it, so the mailer tells "not sent"
    from "may have gone"); ``accepted``: SES took the message before the failure (a lost answer)."""
    original = SesMailer.send
    failures = [raised]

    class Failing:
        def __init__(self, client: Any) -> None:
            self.client = client

        def send_email(self, **kwargs: Any) -> Any:
            if accepted:
                self.client.send_email(**kwargs)
            raise failures.pop()

    def send(self: SesMailer, **kwargs: Any) -> str:
        if not failures:
            return original(self, **kwargs)
        ses = self._ses
        self._ses = Failing(ses)
        try:
            return original(self, **kwargs)
        finally:
            self._ses = ses

    monkeypatch.setattr(SesMailer, "send", send)


def emitted_metric(out: str, name: str) -> float | None:
    """The value of metric ``name`` in the function's EMF output (the last one printed)."""
    found = None
    for line in out.splitlines():
        with contextlib.suppress(ValueError):
            document = json.loads(line)
            if isinstance(document, dict) and name in document:
                value = document[name]
                found = float(value[0] if isinstance(value, list) else value)
    return found
