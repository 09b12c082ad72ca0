"""A crash injected at every step boundary of a report run, then the same scheduled event again (as Lambda's
or EventBridge's retry runs it): every output object is there with the baseline's bytes, ``latest/`` is
the day's folder again, and the weekly summary email goes out at most once.

The steps of a run (functions/reports/handler.py, arcollect/reports/publish.py, arcollect/changes.py):
reading the table, computing the figures, rendering the files, writing each file (JSON, XLSX, HTML, every
CSV) to its dated folder and to ``latest/``, claiming the weekly summary, sending it (weekly runs), reading
the change log and writing the ERP change feed's daily files (daily runs). A run has no "done" marker: the
files are its outcome. Each boundary is "after the n-th instrumented call" (and before the first).

Nothing is masked: a run is a pure function of the table and the as-of day, so its files (the XLSX's
document properties included) are byte for byte the baseline's; were a volatile field to appear, this test
would count it as a changed output.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from arcollect.policy import SHIPPED_POLICY
from arcollect.reports import publish
from arcollect.store.changes import ChangeLog
from arcollect.store.digests import DigestLedger
from arcollect.store.mail import SesMailer
from arcollect.store.objects import ObjectStore
from arcollect.store.reports import ReportReader
from tests.integration.conftest import invoke, load_event, stack_resources
from tests.integration.dunning_world import Crash, World
from tests.reliability.figures import FULL, Figures, scale
from tests.reliability.portfolio import populate

SUMMARY_SUBJECT = "Accounts receivable KPIs as of "
MANAGER = "morgan@seller.example"
# The scheduled ticks a run is retried for: (cadence, the tick's time). 2026-11-09 is a Monday.
TICKS = [("weekly", "2026-11-09T05:00:00Z"), ("daily", "2026-11-10T05:00:00Z")]
if FULL:
    TICKS.append(("monthly", "2026-12-01T05:00:00Z"))

# The instrumented steps: (class or module, attribute, step name).
STEPS: list[tuple[Any, str, str]] = [
    (ReportReader, "read", "read table"),
    (publish, "render_report", "render files"),
    (ObjectStore, "put_bytes", "write"),
    (DigestLedger, "claim_digest", "claim summary"),
    (SesMailer, "send", "send summary"),
    (ChangeLog, "records_of", "read change log"),
]


@dataclass
class Boundaries:
    """Counts the instrumented calls of a run; crashes after the ``crash_after``-th (0: before the first)."""

    crash_after: int | None = None
    calls: list[str] = field(default_factory=list)
    crashed: int = 0

    def around(self, name: str, call: Callable[..., Any]) -> Callable[..., Any]:
        def step(*args: Any, **kwargs: Any) -> Any:
            self._maybe_crash()
            result = call(*args, **kwargs)
            detail = f" {args[2]}" if name == "write" and len(args) > 2 else ""
            self.calls.append(name + detail)
            self._maybe_crash()
            return result

        return step

    def _maybe_crash(self) -> None:
        if self.crash_after is not None and len(self.calls) == self.crash_after:
            self.crash_after = None  # once: the retry runs through
            self.crashed += 1
            raise Crash(f"crash after step {len(self.calls)}")


@contextmanager
def instrumented(monkeypatch: pytest.MonkeyPatch, boundaries: Boundaries) -> Iterator[None]:
    with monkeypatch.context() as patch:
        for owner, attribute, name in STEPS:
            patch.setattr(owner, attribute, boundaries.around(name, getattr(owner, attribute)))
        yield


def seed_world(customers: int) -> None:
    """The portfolio (awkward customer ids, invoice numbers with '/') and a policy whose manager has an
    email, so the weekly run sends its summary."""
    populate(World(), customers)
    policy = SHIPPED_POLICY.read_text(encoding="utf-8").replace(
        "team:\n  collections-manager: {name: Collections Manager}",
        f"team:\n  collections-manager: {{name: Morgan, email: {MANAGER}}}",
    )
    assert MANAGER in policy, "the shipped policy's team entry moved: update this test"
    boto3.client("s3").put_object(
        Bucket=os.environ["DROP_BUCKET"], Key="config/dunning-policy.yaml", Body=policy.encode()
    )


def tick(cadence: str, time: str) -> dict[str, Any]:
    return dict(load_event("scheduler_tick.json"), time=time, detail={"cadence": cadence})


def outputs() -> dict[str, bytes]:
    """Every object the runs wrote: the reports bucket, and the change feed under the drop bucket's
    ``outgoing/`` (the newest version of each key)."""
    s3 = boto3.client("s3")
    found = {}
    for bucket, prefix in ((os.environ["REPORTS_BUCKET"], ""), (os.environ["DROP_BUCKET"], "outgoing/")):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for entry in page.get("Contents", []):
                body = s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
                found[f"{bucket}/{entry['Key']}"] = body
    return found


def summaries() -> list[str]:
    """The weekly summary emails SES accepted: their subjects."""
    backend = ses_backends[DEFAULT_ACCOUNT_ID][os.environ["AWS_DEFAULT_REGION"]]
    subjects = []
    for raw in backend.sent_messages:
        message = message_from_bytes(raw.raw_data.encode(), policy=policy.default)
        subject = str(message["Subject"])
        if subject.startswith(SUMMARY_SUBJECT):
            subjects.append(subject)
    return subjects


def latest_mismatches(found: dict[str, bytes], as_of: str) -> int:
    """``latest/`` files that are not the day's (a half-written "latest" after the retry)."""
    bucket = os.environ["REPORTS_BUCKET"]
    day = {k.rsplit("/", 1)[1]: v for k, v in found.items() if k.startswith(f"{bucket}/kpi/{as_of}/")}
    latest = {k.rsplit("/", 1)[1]: v for k, v in found.items() if k.startswith(f"{bucket}/latest/")}
    return len(set(day) ^ set(latest)) + sum(
        1 for name in day.keys() & latest.keys() if day[name] != latest[name]
    )


@dataclass
class Baseline:
    calls: list[str]
    outputs: dict[str, bytes]
    summaries: list[str]
    as_of: str


def baseline(monkeypatch: pytest.MonkeyPatch, customers: int, cadence: str, time: str) -> Baseline:
    boundaries = Boundaries()
    with stack_resources():
        seed_world(customers)
        with instrumented(monkeypatch, boundaries):
            result = invoke("reports", tick(cadence, time))
        found = outputs()
        sent = summaries()
    assert latest_mismatches(found, result["as_of"]) == 0
    return Baseline(boundaries.calls, found, sent, result["as_of"])


def test_a_crash_at_every_report_step_boundary_duplicates_nothing_and_loses_nothing(
    monkeypatch: pytest.MonkeyPatch, figures: Figures
) -> None:
    customers = scale(8, 40)
    duplicates = lost = injected = boundaries_total = in_doubt = 0
    failures: list[str] = []
    for cadence, time in TICKS:
        base = baseline(monkeypatch, customers, cadence, time)
        assert any(call.startswith("write") for call in base.calls)
        if cadence == "weekly":
            assert base.summaries, "the weekly baseline must email its summary for the crashes to hit"
        boundaries_total += len(base.calls) + 1
        for crash_after in range(len(base.calls) + 1):
            where = f"{cadence}: crash after {base.calls[crash_after - 1] if crash_after else 'nothing'}"
            boundaries = Boundaries(crash_after=crash_after)
            with stack_resources():
                seed_world(customers)
                with instrumented(monkeypatch, boundaries):
                    with pytest.raises(Crash):
                        invoke("reports", tick(cadence, time))
                    retried = invoke("reports", tick(cadence, time))  # the same event again
                found = outputs()
                sent = summaries()
            injected += boundaries.crashed
            assert retried["as_of"] == base.as_of
            missing_or_changed = [key for key, body in base.outputs.items() if found.get(key) != body]
            extra = sorted(set(found) - set(base.outputs))
            half_latest = latest_mismatches(found, base.as_of)
            dup = max(0, len(sent) - len(base.summaries))
            missing_summaries = max(0, len(base.summaries) - len(sent))
            # The summary is claimed before SES is called, at most once by design (DigestLedger's
            # claim_digest): a crash between the claim and SES's answer cannot tell "sent" from "not".
            # That window is counted apart (in doubt) when the retry reported it so (it finds the claim
            # unfinished); a summary missing after any other crash, or not reported, is lost.
            claimed_not_answered = bool(crash_after and base.calls[crash_after - 1] == "claim summary")
            if claimed_not_answered and retried.get("summary_in_doubt"):
                in_doubt += missing_summaries
                missing_summaries = 0
            duplicates += dup
            lost += len(missing_or_changed) + len(extra) + half_latest + missing_summaries
            if missing_or_changed or extra or half_latest or dup or missing_summaries:
                failures.append(
                    f"{where}: changed/missing {missing_or_changed[:3]}, extra {extra[:3]}, "
                    f"latest mismatches {half_latest}, duplicate summaries {dup}, lost summaries "
                    f"{missing_summaries}"
                )
    figures.record("report_crashes_injected", injected, "crashes", f">={boundaries_total}")
    figures.record("report_crash_summaries_in_doubt", in_doubt, "emails", f"<={len(TICKS)}")
    figures.check("report_crash_duplicates", duplicates, "emails", "0", "; ".join(failures[:5]))
    figures.check("report_crash_lost_outputs", lost, "objects", "0", "; ".join(failures[:5]))
    assert injected >= boundaries_total, "every boundary must have crashed once"


def test_the_measure_sees_a_changed_output_and_a_half_written_latest() -> None:
    """The comparison is not blind: a ``latest/`` file from another run and a changed byte both count."""
    with stack_resources():
        seed_world(2)
        result = invoke("reports", tick("daily", "2026-11-10T05:00:00Z"))
        found = outputs()
        assert latest_mismatches(found, result["as_of"]) == 0
        bucket = os.environ["REPORTS_BUCKET"]
        boto3.client("s3").put_object(Bucket=bucket, Key="latest/kpis.json", Body=b"{}")
        changed = outputs()
    assert latest_mismatches(changed, result["as_of"]) == 1
    assert [k for k, v in found.items() if changed.get(k) != v] == [f"{bucket}/latest/kpis.json"]
