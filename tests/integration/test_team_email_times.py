"""The emails to the collections team carry when they were sent, as the reminders do: a collector's daily
digest, a dispute's notice to its department, the managers' weekly summary and the freshness hold's
alert, each sent by its function against moto and listed by ``arcollect outbox`` at its function's "now"
(the tick's or the request's time, not the wall clock), in order with the reminders."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from email import message_from_string, policy
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from arcollect.contract import HEADER_SENT_AT, DropPrefix
from arcollect.entities import Task
from arcollect.policy import SHIPPED_POLICY
from arcollect_cli.main import main
from arcollect_cli.target import Target
from tests.integration.conftest import invoke
from tests.integration.dunning_world import World, utc
from tests.integration.test_dunning_handler import customer, due_invoice, tick
from tests.integration.test_portal_handler import call_api, request_time, sign_in
from tests.integration.test_workspace import ROUTED


def outbox(folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """``arcollect outbox`` on what moto's SES accepted, written to the outbox folder as the local stack
    writes it (one ``<message id>.eml`` per email: ``LocalStack._flush_outbox``): its lines."""
    for message in ses_backends[DEFAULT_ACCOUNT_ID][os.environ["AWS_DEFAULT_REGION"]].sent_messages:
        (folder / f"{message.id}.eml").write_text(message.raw_data)

    def resolve(cls: type[Target], stack: str | None, root: Path) -> Target:
        return Target(outputs={"Local": {"Outbox": str(folder)}}, local=True)

    monkeypatch.setattr(Target, "resolve", classmethod(resolve))
    capsys.readouterr()
    assert main(["outbox"]) == 0
    return capsys.readouterr().out.splitlines()


def listed_json(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """``arcollect outbox --json`` (after ``outbox`` resolved the folder)."""
    assert main(["outbox", "--json"]) == 0
    listed: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
    return listed


def columns(lines: list[str]) -> list[tuple[str, str, str]]:
    """Each line's sent at, customer and recipients."""
    return [(a, b, c) for a, b, c, *_ in (line.split("  ") for line in lines)]


def use_policy(text: str) -> None:
    boto3.client("s3").put_object(
        Bucket=os.environ["DROP_BUCKET"], Key=DropPrefix.DUNNING_POLICY, Body=text.encode()
    )


def routed_policy() -> str:
    """The shipped policy with the collectors' and departments' addresses (test_workspace's ``ROUTED``)."""
    document = yaml.safe_load(SHIPPED_POLICY.read_text(encoding="utf-8")) | yaml.safe_load(ROUTED)
    return yaml.safe_dump(document)


def test_a_digest_and_a_dispute_notice_are_listed_at_their_send_times_among_the_reminders(
    aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a policy with the collectors' and the billing department's addresses, a customer whose
    # "due" reminder falls due on Monday 23 November, another with an invoice to dispute, and an open
    # task on Dana's worklist
    use_policy(routed_policy())
    customer("C-1")
    due_invoice("C-1", "INV-1", datetime(2026, 11, 23, 8, tzinfo=UTC))
    customer("C-2")
    due_invoice("C-2", "INV-2", None)
    World().workspace.tasks.add_task(
        Task("C-1", "call-1", "call", "Call about the late invoice", utc(2026, 11, 23, 9),
             assignee="dana@seller.example", due_on=date(2026, 11, 24), score=40)
    )  # fmt: skip
    # When the 09:00 tick reminds C-1, C-2 disputes INV-2 in the portal (the request's time: 13:00), and
    # the next morning's 06:00 tick sends the day's digests
    assert tick("2026-11-23T09:00:00Z")["emails_sent"] == 1
    status, _ = call_api(
        "POST",
        "/api/v1/disputes",
        sign_in("C-2"),
        {"invoice_number": "INV-2", "reason": "wrong_amount_or_price"},
    )
    assert status == 201 and request_time() == utc(2026, 11, 23, 13)
    assert tick("2026-11-24T06:00:00Z")["digests"]["sent"] == ["dana@seller.example"]
    # Then `arcollect outbox` lists each team email at its function's "now", in order with the reminder
    lines = outbox(tmp_path, monkeypatch, capsys)
    assert columns(lines) == [
        ("2026-11-23T09:00:00Z", "C-1", "ap@c-1.example"),
        ("2026-11-23T13:00:00Z", "-", "billing@seller.example"),
        ("2026-11-24T06:00:00Z", "-", "dana@seller.example"),
    ]
    assert lines[1].endswith("Customer C-2 disputes INV-2 (wrong amount or price)")
    assert lines[2].endswith("Your collections worklist for 2026-11-24: 1 task(s) due")
    # And the JSON says the same times; each email's Date header is the same instant
    listed = listed_json(capsys)
    assert [e["sent_at"] for e in listed] == [a for a, _, _ in columns(lines)]
    for entry in listed:
        message = message_from_string(Path(entry["file"]).read_text(), policy=policy.default)
        assert message["Date"].datetime == datetime.fromisoformat(entry["sent_at"])
        assert len(message.get_all("Date")) == len(message.get_all(HEADER_SENT_AT)) == 1


def test_the_weekly_summary_is_listed_at_its_ticks_time_not_the_wall_clocks(
    s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.integration.test_reports_handler import _weekly_world

    # Given a manager with an address, when the weekly tick of Monday 23 November 05:00 runs (late)
    weekly = _weekly_world(s3)
    assert invoke("reports", weekly)["emailed"] == ["morgan@seller.example"]
    # Then the summary is listed at the tick's time
    assert columns(outbox(tmp_path, monkeypatch, capsys)) == [
        ("2026-11-23T05:00:00Z", "-", "morgan@seller.example")
    ]


def test_the_freshness_hold_alert_is_listed_at_the_tick_that_held(
    aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.integration import test_freshness_hold as hold

    # Given payments as of Monday 2 November and invoices current on Thursday: the payments feed is stale
    world = World(through_handler=True)
    world.customer("C-1")
    world.customer("C-2")
    hold.use_policy(hold.policy_text())
    hold.invoices(hold.FIRST_INVOICES, hold.MONDAY, utc(2026, 11, 2, 6))
    hold.payments(["C-2,P-0,2026-11-02,200.00,EUR,B-20261102"], hold.MONDAY, utc(2026, 11, 2, 6))
    hold.invoices(hold.day_invoices(date(2026, 11, 5)), date(2026, 11, 5), utc(2026, 11, 5, 6))
    # When Thursday's 08:00 tick holds dunning
    assert hold.tick(utc(2026, 11, 5, 8))["held"]
    # Then the manager's alert is listed at that tick's time
    [alert] = [line for line in outbox(tmp_path, monkeypatch, capsys) if "Dunning is on hold" in line]
    assert columns([alert]) == [("2026-11-05T08:00:00Z", "-", hold.MANAGER)]
