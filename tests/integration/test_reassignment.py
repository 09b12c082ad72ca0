"""Reassignment against moto: a manager moves open tasks in bulk, gives a customer a new owner for good
or a cover until a day; dunning's next task, the worklist and the digest follow, the timeline says so."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import boto3
import pytest
import yaml

from arcollect.console import StaffConsole
from arcollect.entities import Customer, Task, TaskStatus
from arcollect.ingest.loading import with_customer_state
from arcollect.policy import SHIPPED_POLICY
from arcollect.portal.web import build_app
from arcollect.store.identity import CognitoDirectory
from arcollect.store.mail import SesMailer
from arcollect.store.repositories import Accounts, Customers
from arcollect.store.staff import StaffSessionStore
from arcollect.workspace.digest import send_digests
from arcollect.workspace.model import NotAllowed, WorkspaceInputError
from arcollect.workspace.services import Workspace
from arcollect_cli.lambda_runtime import LambdaContext, load_handler
from tests.integration.conftest import invoke
from tests.integration.dunning_world import World, utc
from tests.integration.real_world import STAFF_PASSWORD, Browser, hidden, staff_directory
from tests.integration.test_workspace import (
    DANA,
    MANAGER,
    NOW,
    ROUTED,
    TODAY,
    call_task,
    policy_with,
    workspace,
)


@pytest.fixture
def world(aws: None) -> World:
    world = World(policies=policy_with(ROUTED))
    world.customer("C-1")
    world.customer("C-2")
    # 8 days late on Mar 10: the +7 first call is the latest step due.
    world.invoice("INV-1", invoice_date=date(2026, 2, 1), due_date=date(2026, 3, 2), amount="1200.00")
    return world


def _reassignments(world: World, customer_id: str = "C-1") -> list[str]:
    return [a.summary for a in world.timeline(customer_id) if a.kind == "reassignment"]


def test_a_manager_moves_selected_tasks_in_bulk_to_another_collectors_worklist(world: World) -> None:
    call_task(world, "t-1")
    call_task(world, "t-2")
    call_task(world, "t-3", customer_id="C-2")
    ws = workspace(world)

    moved = ws.reassign_tasks([("C-1", "t-1"), ("C-1", "t-2"), ("C-2", "t-3")], to="ali", by=MANAGER, now=NOW)

    assert moved == 3
    assert {i.task_id for i in ws.worklist("ali", now=NOW)} == {"t-1", "t-2", "t-3"}
    assert ws.worklist(DANA.username, now=NOW) == []
    assert _reassignments(world) == ["Morgan reassigned 2 tasks from dana@seller.example to ali"]
    assert _reassignments(world, "C-2") == [
        "Morgan reassigned task 'Call about the late invoice' from dana@seller.example to ali"
    ]
    # Moving them to whom they are with already changes nothing.
    assert ws.reassign_tasks([("C-1", "t-1")], to="ali", by=MANAGER, now=NOW) == 0

    # The digest follows: the tasks are ali's now.
    report = send_digests(
        now=utc(2026, 3, 10, 6), claims=world.workspace.digests, tasks=world.workspace.tasks, worklists=ws,
        policies=world.policies, mailer=SesMailer(configuration_set=os.environ["SES_CONFIGURATION_SET"]),
        sender=os.environ["SENDER_EMAIL"], console_url=None,
    )  # fmt: skip
    assert report.sent == ["ali"]


def test_reassigning_tasks_is_a_managers_decision_with_checked_inputs(world: World) -> None:
    call_task(world, "t-1")
    ws = workspace(world)
    with pytest.raises(NotAllowed):
        ws.reassign_tasks([("C-1", "t-1")], to="ali", by=DANA, now=NOW)
    errors: list[tuple[Any, str]] = [
        ({"customer_tasks": [("C-1", "t-1")], "to": "zed"}, "to"),
        ({"customer_tasks": [("C-1", "t-1")], "to": ""}, "to"),
        ({"customer_tasks": [], "to": "ali"}, "tasks"),
        ({"customer_tasks": [("C-1", "nope")], "to": "ali"}, "tasks"),
    ]
    for arguments, field in errors:
        with pytest.raises(WorkspaceInputError) as raised:
            ws.reassign_tasks(by=MANAGER, now=NOW, **arguments)
        assert raised.value.field == field, arguments
    ws.record_outcome("C-1", "t-1", outcome="reached", note="", by=DANA, now=NOW)
    with pytest.raises(WorkspaceInputError, match="no longer open"):
        ws.reassign_tasks([("C-1", "t-1")], to="ali", by=MANAGER, now=NOW)
    assert world.workspace.tasks.task("C-1", "t-1").assignee == DANA.username  # type: ignore[union-attr]


def test_a_manager_hands_out_a_task_nobody_was_given(world: World) -> None:
    placeholder = Customer(customer_id="C-9", name="C-9", email="", placeholder=True)
    task = Task("C-9", "complete_master_data", "complete_master_data", "Complete the master data", NOW)
    assert Accounts().add_placeholder(placeholder, task)
    ws = workspace(world)
    assert ws.reassign_tasks([("C-9", "complete_master_data")], to="ali", by=MANAGER, now=NOW) == 1
    assert ws.worklist("unassigned", now=NOW) == []
    assert [i.task_id for i in ws.worklist("ali", now=NOW)] == ["complete_master_data"]
    assert _reassignments(world, "C-9") == [
        "Morgan reassigned task 'Complete the master data' from unassigned to ali"
    ]


def test_a_task_moved_meanwhile_refuses_the_whole_bulk_move(world: World) -> None:
    first = call_task(world, "t-1")
    call_task(world, "t-2")
    # Someone else moved t-1 after it was read: the condition on its assignee refuses every move.
    assert world.workspace.tasks.reassign([(first, "bo")], [])
    assert not world.workspace.tasks.reassign([(first, "ali")], [])
    ws = workspace(world)
    assert {i.task_id for i in ws.worklist("bo", now=NOW)} == {"t-1"}
    assert [i.task_id for i in ws.worklist(DANA.username, now=NOW)] == ["t-2"]


def test_a_new_owner_for_good_gets_the_open_tasks_and_dunnings_next_task_and_ingest_keeps_it(
    world: World,
) -> None:
    call_task(world, "t-1")
    ws = workspace(world)
    after = ws.reassign_account("C-1", to="ali", by=MANAGER, now=NOW)
    assert after.assigned_owner == "ali" and after.owner_on(TODAY) == "ali"
    assert [i.task_id for i in ws.worklist("ali", now=NOW)] == ["t-1"]
    [summary] = _reassignments(world)
    assert summary == "Morgan made ali the owner (was dana@seller.example); 1 open task moved to ali"

    world.tick(NOW)
    [call] = [t for t in world.tasks() if t.kind == "call" and t.task_id != "t-1"]
    assert call.assignee == "ali"

    # The ERP's next master data keeps the team's decision.
    stored = Customers().get("C-1")
    assert stored is not None and stored.owner == DANA.username
    erp_row = replace(stored, assigned_owner=None, cover=None, cover_until=None)
    kept = with_customer_state(erp_row, stored, TODAY)
    assert kept.assigned_owner == "ali" and kept.owner_on(TODAY) == "ali"


def test_a_cover_until_a_day_works_the_customer_then_the_owner_again(world: World) -> None:
    call_task(world, "t-1")
    ws = workspace(world)
    with pytest.raises(WorkspaceInputError) as past:
        ws.reassign_account(
            "C-1", to="bo", until=(TODAY - timedelta(days=1)).isoformat(), by=MANAGER, now=NOW
        )
    assert past.value.field == "until"
    with pytest.raises(WorkspaceInputError) as unknown:
        ws.reassign_account("C-1", to="zed", until=TODAY.isoformat(), by=MANAGER, now=NOW)
    assert unknown.value.field == "to"
    with pytest.raises(NotAllowed):
        ws.reassign_account("C-1", to="bo", until=TODAY.isoformat(), by=DANA, now=NOW)

    after = ws.reassign_account("C-1", to="bo", until=TODAY.isoformat(), by=MANAGER, now=NOW)
    assert after.cover == "bo" and after.cover_until == TODAY
    assert [i.task_id for i in ws.worklist("bo", now=NOW)] == ["t-1"]
    assert _reassignments(world) == [
        "Morgan gave the customer to bo until 2026-03-10 (cover for dana@seller.example); "
        "1 open task moved to bo"
    ]
    # The next day the cover has ended: dunning's call goes to the owner again.
    world.tick(NOW + timedelta(days=1))
    [call] = [t for t in world.tasks() if t.kind == "call" and t.task_id != "t-1"]
    assert call.assignee == DANA.username and call.status == TaskStatus.OPEN


def test_after_a_tick_copied_the_profile_the_next_step_still_follows_the_new_owner(world: World) -> None:
    world.tick(NOW)
    assert [t.assignee for t in world.tasks() if t.kind == "call"] == [DANA.username]
    workspace(world).reassign_account("C-1", to="ali", by=MANAGER, now=NOW)
    # 21 days late: the second call. The invoice's copy of the profile predates the move: the moved
    # fingerprint makes the sweep read the profile again.
    world.run(NOW + timedelta(hours=1), utc(2026, 3, 23, 12))
    second = [t for t in world.tasks() if t.kind == "call" and "second_call" in t.task_id]
    assert second and {t.assignee for t in second} == {"ali"}
    assert {t.assignee for t in world.tasks() if t.kind == "call"} == {"ali"}  # the first call moved too


def test_dunnings_task_goes_to_the_cover_during_the_cover(world: World) -> None:
    ws = workspace(world)
    ws.reassign_account("C-1", to="bo", until=(TODAY + timedelta(days=14)).isoformat(), by=MANAGER, now=NOW)
    world.tick(NOW)
    [call] = [t for t in world.tasks() if t.kind == "call"]
    assert call.assignee == "bo"
    assert [i.task_id for i in ws.worklist("bo", now=NOW)] == [call.task_id]
    # The reminders of the cover's days are signed by the cover, and replies go to them.
    world.run(NOW + timedelta(hours=1), utc(2026, 3, 17, 12))
    [reminder] = [e for e in world.emails("C-1") if e.step == "reminder"]
    assert str(reminder.message["Reply-To"]) == "Bo <bo@seller.example>"


def test_a_dispute_logged_during_a_cover_is_the_covers_task(world: World) -> None:
    ws = workspace(world)
    ws.reassign_account("C-1", to="bo", until=(TODAY + timedelta(days=7)).isoformat(), by=MANAGER, now=NOW)
    ws.log_dispute("C-1", invoice_number="INV-1", reason="damaged_or_defective", comment="", by=DANA, now=NOW)
    [task] = [t for t in world.tasks() if t.kind == "dispute"]
    assert task.assignee == "bo"


def test_dunning_through_the_handler_follows_the_new_owner(aws: None) -> None:
    world = World(through_handler=True, policies=policy_with(ROUTED))
    world.customer("C-1")
    world.invoice("INV-1", invoice_date=date(2026, 2, 1), due_date=date(2026, 3, 2), amount="1200.00")
    workspace(world).reassign_account("C-1", to="ali", by=MANAGER, now=NOW)
    world.tick(NOW)
    [call] = [t for t in world.tasks() if t.kind == "call"]
    assert call.assignee == "ali"


def test_through_the_portal_function_a_manager_sets_a_cover_and_dunning_and_the_digest_follow(
    aws: None,
) -> None:
    world = World(through_handler=True, policies=policy_with(ROUTED))
    world.customer("C-1")
    world.invoice("INV-1", invoice_date=date(2026, 2, 1), due_date=date(2026, 3, 2), amount="1200.00")
    _policy_to_drop_bucket(world)
    call_task(world, "t-1")
    handler = load_handler("portal")
    staff = StaffConsole(
        workspace=Workspace(
            policies=handler.app.policies, mailer=handler.app.mailer, sender=os.environ["SENDER_EMAIL"]
        ),
        directory=_manager_directory(),
        sessions=StaffSessionStore(),
    )
    app = build_app(handler.app.portal_at, environment_name="test", staff=staff)
    browser = Browser(NOW, send=lambda event: app.resolve(event, LambdaContext("portal")))
    form = browser.get("/staff/sign-in")
    signed_in = browser.post(
        "/staff/sign-in",
        {"username": "morgan", "password": STAFF_PASSWORD, "csrf_token": hidden(form.text, "csrf_token")},
    )
    assert signed_in.status == 303, signed_in.text

    page = browser.get("/staff/customers/C-1")
    assert 'action="/staff/customers/C-1/owner"' in page.text
    token = hidden(page.text, "csrf_token")
    refused = browser.post("/staff/customers/C-1/owner", {"to": "zed", "until": "", "csrf_token": token})
    assert refused.status == 400 and "is not a collector of the policy" in refused.text
    moved = browser.post(
        "/staff/customers/C-1/owner", {"to": "ali", "until": "2026-03-20", "csrf_token": token}
    )
    assert moved.status == 303, moved.text
    assert (
        "owned by ali (cover until 2026-03-20 for dana@seller.example)"
        in browser.get("/staff/customers/C-1").text
    )
    assert [t.assignee for t in world.tasks() if t.task_id == "t-1"] == ["ali"]
    assert any("gave the customer to ali until 2026-03-20" in a.summary for a in world.timeline())

    world.tick(NOW)
    [call] = [t for t in world.tasks() if t.kind == "call" and t.task_id != "t-1"]
    assert call.assignee == "ali"
    assert invoke("dunning", {"action": "digest", "at": "2026-03-11T06:00:00Z"})["sent"] == ["ali"]


def _policy_to_drop_bucket(world: World) -> None:
    boto3.client("s3").put_object(
        Bucket=os.environ["DROP_BUCKET"],
        Key="config/dunning-policy.yaml",
        Body=yaml.safe_dump(
            yaml.safe_load(SHIPPED_POLICY.read_text(encoding="utf-8")) | yaml.safe_load(ROUTED)
        ).encode(),
    )


def _manager_directory() -> CognitoDirectory:
    directory = staff_directory("morgan", "boss@seller.example")
    cognito = boto3.client("cognito-idp")
    [pool] = [
        p["Id"] for p in cognito.list_user_pools(MaxResults=10)["UserPools"] if p["Name"] == "arcollect-staff"
    ]
    cognito.create_group(GroupName="manager", UserPoolId=pool)
    cognito.admin_add_user_to_group(UserPoolId=pool, Username="morgan", GroupName="manager")
    return directory
