"""`arcollect status [--json]` against moto, and the staff console's status page with the same stores:
each feed's newest file and its age, whether dunning is holding, dead-letter depths, the last report."""

from __future__ import annotations

import json
import os
from datetime import date, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from arcollect.calendar import Calendar
from arcollect.console import StaffConsole
from arcollect.contract import Output, dead_letter_queues_json
from arcollect.policy import shipped_policy
from arcollect.portal.web import build_app
from arcollect.store.feeds import Feeds
from arcollect.store.operations import QueueDepths, ReportIndex
from arcollect.workspace.status import StatusBoard
from arcollect_cli import main as cli
from arcollect_cli.target import Target
from tests.integration.dunning_world import World, utc
from tests.integration.test_freshness_hold import (
    FIRST_INVOICES,
    MONDAY,
    invoices,
    payments,
    policy_text,
    tick,
    use_policy,
)
from tests.unit.portal_client import EVENT
from tests.unit.portal_fake import FakePortal
from tests.unit.test_staff_web import StaffClient
from tests.unit.workspace_fake import FakeDirectory, FakeSessions, FakeWorkspace

DLQ_NAMES = {"ingest": "arcollect-test-ingest-dlq", "dunning": "arcollect-test-dunning-dlq"}
HELD_AT = "2026-11-05T09:00:00Z"


@pytest.fixture
def stack(aws: None, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A stack with files in both feeds, two dead-letter queues (one holding two messages) and a
    report; `arcollect` resolves to it as to a deployed stack's outputs."""
    World().customer("C-1")
    sqs = boto3.client("sqs")
    urls = {name: sqs.create_queue(QueueName=queue)["QueueUrl"] for name, queue in DLQ_NAMES.items()}
    for body in ("a", "b"):
        sqs.send_message(QueueUrl=urls["ingest"], MessageBody=body)
    reports = boto3.client("s3")
    for key in ("kpi/2026-11-03/kpis.json", "kpi/2026-11-04/kpis.json", "kpi/2026-11-04/aging.csv"):
        reports.put_object(Bucket=os.environ["REPORTS_BUCKET"], Key=key, Body=b"{}")
    outputs = {
        Output.TABLE_NAME: os.environ["TABLE_NAME"],
        Output.DROP_BUCKET: os.environ["DROP_BUCKET"],
        Output.REPORTS_BUCKET: os.environ["REPORTS_BUCKET"],
        Output.DEAD_LETTER_QUEUES: dead_letter_queues_json(urls),
    }

    def resolve(cls: type[Target], stack: str | None, root: Path) -> Target:
        return Target(outputs=dict(outputs), local=stack is None)

    monkeypatch.setattr(Target, "resolve", classmethod(resolve))
    return urls


def status(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    capsys.readouterr()  # what the handlers printed before (their metrics)
    assert cli.main(["status", *argv]) == 0
    out = capsys.readouterr().out
    return json.loads(out) if "--json" in argv else out


def test_before_any_file_nothing_holds_and_the_queues_and_report_show(
    stack: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    document = status(capsys, "--json", "--at", HELD_AT)
    assert document["dunning"] == {"holding": False, "reason": None, "since": None, "record": []}
    assert [(f["kind"], f["newest_key"], f["stale"]) for f in document["feeds"]] == [
        ("invoices", None, False),
        ("payments", None, False),
        ("customers", None, False),
    ]
    assert {(q["name"], q["messages"]) for q in document["dead_letter_queues"]} == {
        ("ingest", 2),
        ("dunning", 0),
    }
    assert document["last_report"]["as_of"] == "2026-11-04"
    assert document["last_report"]["files"] == 2


def test_status_shows_the_stale_feed_the_hold_and_its_record(
    stack: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the ERP's invoices current on Thursday but its payments file as of Monday
    use_policy(policy_text())
    invoices(FIRST_INVOICES, MONDAY, utc(2026, 11, 2, 6))
    payments(["C-1,P-0,2026-11-02,100.00,EUR,INV-1"], MONDAY, utc(2026, 11, 2, 6, 30))
    invoices(["C-1,INV-3,2026-11-05,2026-12-05,300.00,EUR"], date(2026, 11, 5), utc(2026, 11, 5, 6))
    # And Thursday's first tick held
    assert tick(utc(2026, 11, 5, 8))["held"]

    # When `arcollect status --json` is asked at 09:00
    document = status(capsys, "--json", "--at", HELD_AT)
    # Then it shows each feed's newest file and its age, and the hold with its start and record
    feeds = {f["kind"]: f for f in document["feeds"]}
    assert feeds["payments"] | {"received_at": None} == {
        "kind": "payments",
        "newest_key": "incoming/payments/erp-2026-11-02.csv",
        "as_of": "2026-11-02T23:59:59+00:00",
        "as_of_day": "2026-11-02",
        "received_at": None,
        "age_business_days": 3,
        "max_age_business_days": 2,
        "stale": True,
    }
    assert feeds["payments"]["received_at"].startswith("2026-11-02")
    assert (feeds["invoices"]["newest_key"], feeds["invoices"]["age_business_days"]) == (
        "incoming/invoices/erp-2026-11-05.csv",
        0,
    )
    assert feeds["customers"]["max_age_business_days"] is None
    dunning = document["dunning"]
    assert dunning["holding"] is True
    assert dunning["reason"] == (
        "dunning held: stale payments feed (newest file 2026-11-02, 3 business days old; max 2)"
    )
    assert dunning["since"] == "2026-11-05T08:00:00Z"
    assert [entry["kind"] for entry in dunning["record"]] == ["dunning.held"]
    assert {(q["name"], q["messages"]) for q in document["dead_letter_queues"]} == {
        ("ingest", 2),
        ("dunning", 0),
    }
    assert document["last_report"]["folder"] == "kpi/2026-11-04/"

    # And the text form says the same for a person
    text = status(capsys, "--at", HELD_AT)
    assert "status at 2026-11-05T09:00:00Z (business day 2026-11-05, UTC)" in text
    assert "payments   incoming/payments/erp-2026-11-02.csv: as of 2026-11-02, received 2026-11-02" in text
    assert "3 business days old (max 2)  STALE" in text
    assert "customers  no file yet (not checked)" in text
    assert (
        "dunning: HOLDING since 2026-11-05T08:00:00Z: dunning held: stale payments feed (newest file "
        "2026-11-02, 3 business days old; max 2)" in text
    )
    assert "dead-letter queues: dunning 0, ingest 2" in text
    assert "last report: as of 2026-11-04 (kpi/2026-11-04/, 2 files, written " in text

    # When a current payments file arrives: status says so before the next tick releases
    payments(["C-1,P-1,2026-11-05,100.00,EUR,INV-2"], date(2026, 11, 5), utc(2026, 11, 5, 9, 30))
    text = status(capsys, "--at", "2026-11-05T09:45:00Z")
    assert "dunning: not holding (the last tick held; the next one releases it)" in text
    tick(utc(2026, 11, 5, 10))
    document = status(capsys, "--json", "--at", "2026-11-05T10:05:00Z")
    assert document["dunning"]["holding"] is False and document["dunning"]["since"] is None
    assert [entry["kind"] for entry in document["dunning"]["record"]] == ["dunning.released", "dunning.held"]


def test_the_staff_status_page_shows_the_same_facts(
    stack: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a held stack
    use_policy(policy_text())
    invoices(FIRST_INVOICES, MONDAY, utc(2026, 11, 2, 6))
    payments(["C-1,P-0,2026-11-02,100.00,EUR,INV-1"], MONDAY, utc(2026, 11, 2, 6, 30))
    tick(utc(2026, 11, 5, 8))
    document = status(capsys, "--json", "--at", HELD_AT)
    # And the staff console with the real status board over the same stores
    board = StatusBoard(
        feeds=Feeds(),
        policies=shipped_policy,
        calendar=Calendar(),
        queues=QueueDepths(),
        dead_letter_queues=stack,
        reports=ReportIndex(),
        reports_bucket=os.environ["REPORTS_BUCKET"],
    )
    sessions = FakeSessions()
    console = StaffConsole(
        workspace=FakeWorkspace(), directory=FakeDirectory(), sessions=sessions, status=board
    )
    client = StaffClient(build_app(FakePortal(), environment_name="test", staff=console), sessions)
    # (API Gateway's request time is the page's "now")
    at = datetime.fromisoformat(HELD_AT)
    monkeypatch.setitem(EVENT["requestContext"], "requestTimeEpoch", int(at.timestamp() * 1000))

    # When the manager opens the status page
    assert client.sign_in("max").status == 303
    page = client.get("/staff/status")
    # Then it shows the hold, each feed, the dead-letter depths and the last report
    assert page.status == 200, page.text
    html = page.text
    assert 'data-holding="true"' in html
    assert "stale payments feed (newest file 2026-11-02, " in html
    assert f"Since {document['dunning']['since']}" in html
    assert "<code>incoming/payments/erp-2026-11-02.csv</code>" in html
    assert '<tr id="dlq-ingest">' in html and '<td class="num">2</td>' in html
    assert "kpi/2026-11-04/" in html
    assert "dunning.held" in html
