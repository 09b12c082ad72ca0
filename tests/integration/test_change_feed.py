"""The ERP change feed against moto, through the real handlers: every kind of decision lands under
outgoing/ in the drop bucket as it happens, a retried action adds nothing, the daily run writes every
change of the day (also one whose own object was never written), and `arcollect changes fetch` copies
the feed into a folder, again and again without changing it."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from arcollect.changes import record_from_json
from arcollect.entities import Task
from arcollect.ingest.loading import closed_next_action
from arcollect.portal.links import sign_token
from arcollect.staff import StaffUser
from arcollect.store.changes import ChangeLog, ChangeObjects
from arcollect.store.mail import SesMailer
from arcollect.workspace.model import WorkspaceConflict
from arcollect.workspace.services import Workspace
from arcollect_cli import changes as cli
from arcollect_cli.main import main as arcollect
from tests.integration.conftest import invoke, load_event
from tests.integration.dunning_world import World, utc
from tests.integration.test_portal_handler import LINK_KEY, headers_of, request, request_time

DROP = os.environ["DROP_BUCKET"]
DAY = request_time().date()  # the portal's "now" is the request's time: 2026-11-23
CUSTOMER = 'Brennan & Sons, "PC" / Zürich'
DANA = StaffUser("dana", "dana@seller.example", "Dana", frozenset({"collector", "manager"}))


@pytest.fixture
def world(aws: None) -> World:
    world = World()
    world.customer(CUSTOMER, owner="dana")
    for number, amount in (("INV/2026/001", "1000.00"), ("INV/2026/002", "500.00"), ("INV-3", "80.00")):
        world.invoice(
            number,
            customer_id=CUSTOMER,
            invoice_date=date(2026, 9, 1),
            due_date=date(2026, 10, 1),
            amount=amount,
        )
    return world


def workspace(world: World, bucket: str = DROP) -> Workspace:
    """The staff console's workspace, wired as the portal handler wires it."""
    return Workspace(
        policies=lambda: world.policies,
        mailer=SesMailer(configuration_set=os.environ["SES_CONFIGURATION_SET"]),
        sender=os.environ["SENDER_EMAIL"],
        store=world.workspace,
        change_feed=ChangeObjects(bucket),
    )


class Customer:
    """A customer in the portal through the real handler: a session from a signed link, its CSRF token."""

    def __init__(self, customer_id: str) -> None:
        token = sign_token(customer_id, key=LINK_KEY, now=request_time() - timedelta(days=1))
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        opened = request("POST", "/l", headers=form, body=urlencode({"token": token}))
        self.session = headers_of(opened)["Set-Cookie"][0].split(";", 1)[0].split("=", 1)[1]
        account = request("GET", "/api/v1/account", cookie=self.session)
        self.csrf = json.loads(str(account["body"]))["csrf_token"]

    def send(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"X-CSRF-Token": self.csrf, "Content-Type": "application/json"}
        return request(method, f"/api/v1/{path}", cookie=self.session, headers=headers, body=json.dumps(body))

    def decide(self, method: str, path: str, body: dict[str, Any]) -> None:
        response = self.send(method, path, body)
        assert response["statusCode"] in (200, 201), response["body"]


def objects(s3: Any) -> dict[str, dict[str, str]]:
    """Every per-change object under outgoing/changes/, by key."""
    found = s3.list_objects_v2(Bucket=DROP, Prefix="outgoing/changes/").get("Contents", [])
    return {
        o["Key"]: record_from_json(s3.get_object(Bucket=DROP, Key=o["Key"])["Body"].read().decode())
        for o in found
    }


def kinds(records: Any) -> list[str]:
    return sorted(r["kind"] for r in records)


def daily_tick(day: date) -> dict[str, Any]:
    """The reports function's daily schedule firing the morning after ``day``."""
    at = (datetime.combine(day, datetime.min.time(), UTC) + timedelta(days=1, hours=5)).isoformat()
    tick = dict(
        load_event("scheduler_tick.json"), time=at.replace("+00:00", "Z"), detail={"cadence": "daily"}
    )
    return dict(invoke("reports", tick))


def body(s3: Any, key: str) -> bytes:
    return bytes(s3.get_object(Bucket=DROP, Key=key)["Body"].read())


def test_the_customers_decisions_in_the_portal_land_under_outgoing_as_they_happen(
    world: World, s3: Any
) -> None:
    # Given a customer in the portal (the real handler)
    customer = Customer(CUSTOMER)
    # When it disputes an invoice, promises to pay another and changes its phone number
    disputed = customer.send(
        "POST",
        "disputes",
        {"invoice_number": "INV/2026/001", "reason": "wrong_amount_or_price", "comment": "=1+1 is not 1000"},
    )
    promised = customer.send(
        "POST",
        "promises",
        {"invoice_numbers": ["INV/2026/002"], "amount": "500.00", "promised_until": "2026-11-27"},
    )
    contact = customer.send("PUT", "contact", {"email": "ap@brennan.example", "phone": "+41 44 123 45 67"})
    assert [r["statusCode"] for r in (disputed, promised, contact)] == [201, 201, 200]
    # Then each decision is one object of the day, named by its change id, holding its record
    found = objects(s3)
    assert kinds(found.values()) == ["contact_changed", "dispute_opened", "promise_made"]
    for key, record in found.items():
        assert key == f"outgoing/changes/{DAY.isoformat()}/{record['change_id']}.json"
        assert record["customer_id"] == CUSTOMER and record["actor"] == "portal"
    by_kind = {r["kind"]: r for r in found.values()}
    assert by_kind["dispute_opened"]["invoice_number"] == "INV/2026/001"
    assert by_kind["dispute_opened"]["note"] == "=1+1 is not 1000", "JSON keeps the exact text"
    assert by_kind["dispute_opened"]["reference"] == json.loads(str(disputed["body"]))["dispute_id"]
    assert (by_kind["promise_made"]["amount"], by_kind["promise_made"]["promised_date"]) == (
        "500.00",
        "2026-11-27",
    )
    assert (by_kind["contact_changed"]["phone"], by_kind["contact_changed"]["reason"]) == (
        "+41 44 123 45 67",
        "email,phone",
    )
    # And the table holds the same changes, written with the decisions
    assert sorted(ChangeLog().records_of(DAY), key=str) == sorted(found.values(), key=str)
    # When the customer disputes the same invoice again (a double click), nothing new is decided
    again = customer.send("POST", "disputes", {"invoice_number": "INV/2026/001", "reason": "wrong_quantity"})
    assert again["statusCode"] == 400 and "already disputed" in str(again["body"])
    assert objects(s3) == found


def test_collectors_decisions_credits_holds_and_agency_land_once(world: World, s3: Any) -> None:
    desk = workspace(world)
    now = utc(2026, 11, 23, 10)
    # Given a dispute logged on a call and resolved with a credit
    view = desk.log_dispute(
        CUSTOMER, invoice_number="INV/2026/001", reason="damaged_or_defective", comment="", by=DANA, now=now
    )
    desk.move_dispute(
        CUSTOMER, view.dispute_id, status="resolved_credit", note="two pallets", credit_amount="120.50",
        by=DANA, now=now,
    )  # fmt: skip
    # And the policy's credit-hold and agency decision tasks, decided
    for kind, outcome in (("credit_hold", "credit_hold"), ("agency", "agency")):
        task = Task(CUSTOMER, f"{kind}-1", kind, "Decide", now, detail={"invoices": "INV-3"}, assignee="dana")
        assert world.workspace.tasks.add_task(task)
        desk.record_outcome(CUSTOMER, task.task_id, outcome=outcome, note="decided", by=DANA, now=now)
        # The same form submitted twice is refused, and decides nothing twice
        with pytest.raises(WorkspaceConflict):
            desk.record_outcome(CUSTOMER, task.task_id, outcome=outcome, note="decided", by=DANA, now=now)
    # Then each decision is one change; a credit is both the resolution and the credit to book
    found = list(objects(s3).values())
    assert kinds(found) == [
        "agency_referral",
        "credit_agreed",
        "credit_hold",
        "dispute_opened",
        "dispute_resolved",
    ]
    by_kind = {r["kind"]: r for r in found}
    credit = by_kind["credit_agreed"]
    assert (credit["invoice_number"], credit["amount"], credit["currency"], credit["actor"]) == (
        "INV/2026/001",
        "120.50",
        "EUR",
        "dana",
    )
    assert by_kind["dispute_resolved"]["reason"] == "credit"
    assert by_kind["credit_hold"]["invoice_number"] == "INV-3"
    assert by_kind["agency_referral"]["reference"] == "agency-1"
    assert len(ChangeLog().records_of(date(2026, 11, 23))) == 5
    # And once handed to the agency, the customer is on dunning hold: no reminder of ours contradicts it
    profile = world.workspace.customer(CUSTOMER)
    assert profile is not None and profile.collector_hold
    assert profile.hold_reason == "handed to a collection agency"


def test_bounces_and_promises_settled_by_the_dunning_function_land_once(world: World, s3: Any) -> None:
    # Given SES's bounce event for a customer's address
    world.customer("C-1001")
    bounce = load_event("ses_bounce.json")
    # When it arrives twice (EventBridge delivers at least once)
    first, second = invoke("dunning", bounce), invoke("dunning", bounce)
    assert (first["recorded"], second["recorded"]) == (True, False)
    # Then the address that bounced for good is one change
    [bounced] = objects(s3).values()
    assert (bounced["kind"], bounced["customer_id"], bounced["email"], bounced["reason"]) == (
        "email_bounced",
        "C-1001",
        "ap@customer.example",
        "Permanent/General",
    )
    assert bounced["occurred_at"] == "2026-11-23T09:05:11Z", "when SES saw it bounce"

    # Given a promise to pay taken on a call, which nobody keeps
    workspace(world).take_promise(
        CUSTOMER, invoice_numbers=["INV/2026/002"], amount="500.00", promised_until="2026-11-25",
        by=DANA, now=utc(2026, 11, 23, 10),
    )  # fmt: skip
    # When the hourly ticks run past the promised date and its grace (and one of them again)
    for at in ("2026-11-30T09:00:00Z", "2026-11-30T09:00:00Z", "2026-11-30T10:00:00Z"):
        invoke("dunning", dict(load_event("scheduler_tick.json"), time=at))
    # Then the promise broken is one change of the day it was settled
    settled = [
        r for r in objects(s3).values() if r["kind"].startswith("promise_") and r["kind"] != "promise_made"
    ]
    assert [(r["kind"], r["occurred_at"], r["actor"]) for r in settled] == [
        ("promise_broken", "2026-11-30T09:00:00Z", "dunning")
    ]
    assert settled[0]["note"] == "paid towards it: 0.00 EUR"


def test_the_daily_run_writes_every_change_of_the_day_even_one_whose_object_was_lost(
    world: World, s3: Any
) -> None:
    # Given decisions of the day, one of them made while S3 refused its object
    Customer(CUSTOMER).decide(
        "POST", "disputes", {"invoice_number": "INV-3", "reason": "damaged_or_defective"}
    )
    lost = workspace(world, bucket="no-such-bucket")
    lost.take_promise(
        CUSTOMER, invoice_numbers=["INV/2026/002"], amount="500.00", promised_until="2026-11-27",
        by=DANA, now=utc(2026, 11, 23, 18),
    )  # fmt: skip
    assert kinds(objects(s3).values()) == ["dispute_opened"], "the promise stood; its object was not written"
    # When the reports function's daily schedule fires the next morning
    result = daily_tick(DAY)
    # Then the day's files hold both changes, and the day before was written again (empty)
    assert {
        "outgoing/daily/2026-11-23.csv",
        "outgoing/daily/2026-11-23.jsonl",
        "outgoing/daily/2026-11-23/dispute_opened.csv",
        "outgoing/daily/2026-11-23/promise_made.csv",
        "outgoing/daily/2026-11-22.csv",
    } <= set(result["change_feed"])
    lines = body(s3, "outgoing/daily/2026-11-23.jsonl").decode().splitlines()
    assert [json.loads(line)["kind"] for line in lines] == ["dispute_opened", "promise_made"]
    csv_text = body(s3, "outgoing/daily/2026-11-23.csv").decode()
    assert csv_text.startswith("change_id,schema_version,kind,occurred_at,customer_id")
    assert '"Brennan & Sons, ""PC"" / Zürich"' in csv_text
    assert body(s3, "outgoing/daily/2026-11-22.jsonl") == b""
    # And a repeated or late tick writes the same bytes
    before = {key: body(s3, key) for key in result["change_feed"]}
    again = daily_tick(DAY)
    assert {key: body(s3, key) for key in again["change_feed"] if key in before} == before


def test_changes_fetch_builds_partial_days_then_copies_the_final_ones_idempotently(
    world: World, s3: Any, tmp_path: Path
) -> None:
    # Given a decision of the day, not rolled up yet
    Customer(CUSTOMER).decide(
        "POST", "disputes", {"invoice_number": "INV-3", "reason": "damaged_or_defective"}
    )
    # When the feed is fetched, the day is built from its objects and named partial
    first = cli.fetch(s3, DROP, tmp_path)
    assert {(Path(f.path).relative_to(tmp_path).as_posix(), f.status) for f in first} == {
        ("2026-11-23.partial.csv", "written"),
        ("2026-11-23.partial.jsonl", "written"),
        ("2026-11-23.partial/dispute_opened.csv", "written"),
    }
    # Once the daily run has written the day, fetching copies its files and drops the partial ones
    daily_tick(DAY)
    second = cli.fetch(s3, DROP, tmp_path)
    assert not (tmp_path / "2026-11-23.partial.csv").exists()
    assert not (tmp_path / "2026-11-23.partial").exists()
    assert (tmp_path / "2026-11-23.csv").read_bytes() == body(s3, "outgoing/daily/2026-11-23.csv")
    assert (tmp_path / "2026-11-23.jsonl").read_bytes() == body(s3, "outgoing/daily/2026-11-23.jsonl")
    assert (tmp_path / "2026-11-23/dispute_opened.csv").is_file()
    assert {f.status for f in second} == {"written", "removed"}
    # And a second fetch changes nothing
    third = cli.fetch(s3, DROP, tmp_path)
    assert {f.status for f in third} == {"unchanged"}
    # And --since leaves out the days before it
    assert cli.fetch(s3, DROP, tmp_path / "later", since=date(2026, 11, 24)) == []


def test_a_partial_day_holds_what_the_final_day_will(world: World, s3: Any, tmp_path: Path) -> None:
    customer = Customer(CUSTOMER)
    customer.decide("POST", "disputes", {"invoice_number": "INV-3", "reason": "damaged_or_defective"})
    customer.decide("PUT", "contact", {"email": "ap@brennan.example"})
    cli.fetch(s3, DROP, tmp_path)
    partial = (tmp_path / "2026-11-23.partial.jsonl").read_bytes()
    daily_tick(DAY)
    assert body(s3, "outgoing/daily/2026-11-23.jsonl") == partial


def test_changes_fetch_refuses_a_date_it_cannot_read(capsys: pytest.CaptureFixture[str]) -> None:
    assert arcollect(["changes", "fetch", "--to", "x", "--since", "23/11/2026"]) == 2
    assert "--since '23/11/2026' is not a date" in capsys.readouterr().err


def test_a_promise_kept_by_paying_in_full_is_a_change_of_the_day_it_was_settled(
    world: World, s3: Any
) -> None:
    # Given a promise taken on a call, and the invoice then paid in full
    workspace(world).take_promise(
        CUSTOMER, invoice_numbers=["INV-3"], amount="80.00", promised_until="2026-11-25",
        by=DANA, now=utc(2026, 11, 23, 10),
    )  # fmt: skip
    world.change(
        "INV-3", customer_id=CUSTOMER, open_amount=Decimal(0), status="closed", paid_date=date(2026, 11, 24)
    )
    world.change(
        "INV-3", customer_id=CUSTOMER, next_action_at=closed_next_action(world.get("INV-3", CUSTOMER))
    )
    # When the sweep runs past the promised date
    invoke("dunning", dict(load_event("scheduler_tick.json"), time="2026-11-30T09:00:00Z"))
    # Then the kept promise is a change too
    kept = [r for r in objects(s3).values() if r["kind"] == "promise_kept"]
    assert [(r["invoice_number"], r["amount"]) for r in kept] == [("INV-3", "80.00")]
