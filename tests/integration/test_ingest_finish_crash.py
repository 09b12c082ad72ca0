"""A crash between recording a file version in the register and writing its results must not leave the
version recorded without a summary: the register entry is written last, so the redelivered message runs
the file again (loading is idempotent) and writes the summary, the rejected rows and the timeline entry.
Found by tests/reliability/test_ingest_crashes.py (boundaries after_register and before_timeline)."""

from __future__ import annotations

from typing import Any

import pytest

from arcollect.store.repositories import Activities, IngestFiles
from tests.integration.conftest import invoke
from tests.integration.ingest_flow import result, upload
from tests.integration.test_ingest_handler import notification, sqs_event

KEY = "incoming/invoices/crash.csv"
BODY = (
    b"customer_id,invoice_number,invoice_date,due_date,amount,currency\n"
    b"ACME,INV/1,2026-03-01,2026-04-01,100.00,EUR\n"
    b"ACME,INV/2,not a date,2026-04-01,50.00,EUR\n"
)


class Crash(BaseException):
    """The process dies here: no ``except Exception`` catches it."""


@pytest.mark.parametrize("where", ["record", "record_ingest"])
def test_a_crash_before_the_results_are_written_is_finished_by_the_redelivery(
    aws: None, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    cls: Any = IngestFiles if where == "record" else Activities
    original = getattr(cls, where)
    calls = {"n": 0}

    def crashing(self: Any, *args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            if where == "record":
                original(self, *args)  # recorded, then the process dies
            raise Crash(where)
        return original(self, *args)

    monkeypatch.setattr(cls, where, crashing)
    version = upload(KEY, BODY)
    message = sqs_event(notification(KEY, version, len(BODY)))
    with pytest.raises(Crash):
        invoke("ingest", message)
    assert invoke("ingest", message) == {"batchItemFailures": []}  # SQS delivers it again
    summary = result(KEY)
    assert (summary["rows_read"], summary["accepted"], summary["rejected"]) == (2, 1, 1)
    assert IngestFiles().get(KEY, version) is not None
    assert any(a.activity_id == f"{KEY}#{version}" for a in Activities().ingest_timeline())
