"""The customer's learned send slot in the 360 view and its page (issue 19, item 5)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from arcollect.entities import Customer
from arcollect.policy import shipped_policy
from arcollect.send_times import SlotChoice
from arcollect.store.workspace import AccountItems
from arcollect.workspace.view import build_account
from tests.unit.test_send_slots import LEARNING, RECORD
from tests.unit.test_staff_web import (  # noqa: F401
    StaffClient,
    client,
    collector,
    directory,
    sessions,
    workspace,
)
from tests.unit.workspace_fake import FakeWorkspace, account_360

NOW = datetime(2026, 11, 2, 9, tzinfo=UTC)


def test_the_360_view_has_the_slot_the_sweep_would_choose_and_why() -> None:
    items = AccountItems(customer=Customer("C-1", "Acme", "ap@acme.example"), send_record=RECORD)
    view = build_account(items, now=NOW, today=NOW.date(), policies=LEARNING)
    assert view.send_slot is not None and view.send_slot.label == "14:00"
    assert "came after 3 of 4 reminders sent at 14:00" in view.send_slot.reason
    # Without a record: the window's first hour; a policy that does not learn: none
    fresh = build_account(replace(items, send_record=None), now=NOW, today=NOW.date(), policies=LEARNING)
    assert fresh.send_slot is not None and fresh.send_slot.label == "08:00"
    assert build_account(items, now=NOW, today=NOW.date(), policies=shipped_policy()).send_slot is None


def test_the_360_page_shows_the_slot_and_why(
    workspace: FakeWorkspace,  # noqa: F811
    collector: StaffClient,  # noqa: F811
) -> None:
    assert "Send slot today" not in collector.get("/staff/customers/C1").text
    reason = "replies, portal visits or payments came after 3 of 4 reminders sent at 14:00"
    workspace.accounts["C1"] = replace(account_360(), send_slot=SlotChoice(14, reason))
    text = collector.get("/staff/customers/C1").text
    assert f"Send slot today: 14:00: {reason}." in text
