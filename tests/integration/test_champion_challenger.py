"""Champion and challenger through the handlers: the uploaded policy names a test, the dunning tick
works each customer with its arm's policy and records the arm, the report compares the arms, and the
promotion makes the challenger everyone's policy (the bucket keeps the file it replaced)."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest

from arcollect.contract import DropPrefix, Output
from arcollect.entities import Customer, Invoice
from arcollect.policy import CHALLENGER, CHAMPION, SHIPPED_POLICY, parse_policy
from arcollect.store.repositories import Activities, Customers, Invoices
from arcollect_cli.main import main
from arcollect_cli.target import Target
from tests.integration.conftest import invoke, load_event

# Every test on both engines: the Python reference and the SQL on DuckDB (held to it figure by figure).
pytestmark = pytest.mark.usefixtures("reports_engine")

FIRMER = """  standard-firmer:
    description: Standard, with a call on the first late day instead of the due email.
    steps:
      - {id: due_call, trigger: {days: 1}, action: call, title: Call on the first late day}
      - {id: firm, trigger: {days: 15}, action: email, template: firm}
"""
TEST = "challenger: {name: first-day-call, policy: standard-firmer, replaces: standard, share: 50}\n"
CUSTOMERS = [f"Kunde {n}, Müller & Söhne" for n in range(20)]


def policy_text() -> str:
    shipped = SHIPPED_POLICY.read_text()
    return shipped.replace("\npolicies:\n", "\npolicies:\n" + FIRMER, 1) + "\n# The test.\n" + TEST


def world() -> None:
    boto3.client("s3").put_object(
        Bucket=os.environ["DROP_BUCKET"], Key=DropPrefix.DUNNING_POLICY, Body=policy_text().encode()
    )
    for customer_id in CUSTOMERS:
        Customers().save(
            Customer(customer_id, customer_id, "ap@kunde.example", country="DE", time_zone="Europe/Berlin")
        )
        Invoices().save(
            Invoice(
                customer_id=customer_id,
                invoice_number="RE/2026/1",
                currency="EUR",
                amount=Decimal("100.00"),
                open_amount=Decimal("100.00"),
                invoice_date=date(2026, 10, 23),
                due_date=date(2026, 11, 22),
                next_action_at=datetime(2026, 11, 23, 8, tzinfo=UTC),
                steps_done=("outreach", "courtesy"),
            )
        )


def tick(at: str) -> dict[str, Any]:
    return dict(invoke("dunning", dict(load_event("scheduler_tick.json"), time=at)))


def decisions(customer_id: str) -> list[dict[str, Any]]:
    return [a.detail for a in Activities().timeline(customer_id) if a.kind == "dunning_decisions"]


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's target: the test account's drop bucket."""

    def resolve(cls: type[Target], stack: str | None, root: Path) -> Target:
        return Target(outputs={Output.DROP_BUCKET: os.environ["DROP_BUCKET"]}, local=True)

    monkeypatch.setattr(Target, "resolve", classmethod(resolve))


def test_each_arm_is_worked_by_its_policy_compared_in_the_report_and_the_challenger_promoted(
    aws: None, stack: None, capsys: pytest.CaptureFixture[str]
) -> None:
    world()
    test = parse_policy(policy_text(), source="t").challenger
    assert test is not None
    arms = {customer_id: test.arm(customer_id) for customer_id in CUSTOMERS}
    assert set(arms.values()) == {CHAMPION, CHALLENGER}  # 20 customers, half and half: both arms
    # The tick works each customer with its arm's policy, and records the arm with the decisions.
    tick("2026-11-23T09:00:00Z")
    for customer_id, arm in arms.items():
        [record] = decisions(customer_id)
        assert (record["test"], record["arm"]) == ("first-day-call", arm)
        assert record["policy"] == ("standard-firmer" if arm == CHALLENGER else "standard")
        steps = {d["step"] for d in json.loads(record["decisions"])}
        assert ("due_call" in steps) == (arm == CHALLENGER) and ("due" in steps) == (arm == CHAMPION)
    # The report compares the two arms, with the sample sizes.
    result = invoke("reports", dict(load_event("scheduler_tick.json"), time="2026-11-24T05:00:00Z"))
    assert "kpi/2026-11-24/champion-challenger.csv" in result["written"]
    body = boto3.client("s3").get_object(Bucket=os.environ["REPORTS_BUCKET"], Key="latest/kpis.json")["Body"]
    experiment = json.loads(body.read())["experiment"]
    assert experiment["test"] == "first-day-call"
    assert experiment["customers"] == {
        CHAMPION: sum(a == CHAMPION for a in arms.values()),
        CHALLENGER: sum(a == CHALLENGER for a in arms.values()),
    }
    assert all(not f["significant"] for f in experiment["figures"])  # ten customers an arm: too few
    # A manager promotes the challenger with one command; the bucket keeps the file it replaced.
    capsys.readouterr()  # (the functions' own logs)
    assert main(["dunning", "policy", "promote", "--json"]) == 0
    promoted = json.loads(capsys.readouterr().out)
    assert promoted["promoted"] == "first-day-call" and promoted["segments"]["standard"] == "standard-firmer"
    s3 = boto3.client("s3")
    versions = s3.list_object_versions(Bucket=os.environ["DROP_BUCKET"], Prefix=DropPrefix.DUNNING_POLICY)
    assert len(versions["Versions"]) == 2
    head = s3.head_object(Bucket=os.environ["DROP_BUCKET"], Key=DropPrefix.DUNNING_POLICY)
    assert head["Metadata"]["promoted-test"] == "first-day-call"
    assert head["Metadata"]["replaced-version"] == promoted["previous_version"]
    text = (
        s3.get_object(Bucket=os.environ["DROP_BUCKET"], Key=DropPrefix.DUNNING_POLICY)["Body"].read().decode()
    )
    assert text.startswith("# Promoted test first-day-call at ") and "challenger:" not in text
    # Promoting again: there is no test left.
    assert main(["dunning", "policy", "promote"]) != 0
    assert "no challenger section" in capsys.readouterr().err
