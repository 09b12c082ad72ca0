"""The customer's mobile number and SMS opt-out on the staff console's 360 (issue 21, item 2)."""

from __future__ import annotations

from dataclasses import replace

from tests.unit.test_staff_web import (  # noqa: F401
    StaffClient,
    client,
    collector,
    directory,
    sessions,
    workspace,
)
from tests.unit.workspace_fake import FakeWorkspace, account_360


def test_the_360_shows_the_mobile_and_an_opt_out(
    workspace: FakeWorkspace,  # noqa: F811
    collector: StaffClient,  # noqa: F811
) -> None:
    # Given a customer without a mobile, the page says nothing of texts
    assert "Mobile (reminder texts)" not in collector.get("/staff/customers/C1").text
    # Given one with a mobile, the number is shown; once it opted out, the page says so
    account = account_360()
    workspace.accounts["C1"] = replace(account, customer=replace(account.customer, mobile="+4915123456789"))
    text = collector.get("/staff/customers/C1").text
    assert "Mobile (reminder texts)</dt><dd>+4915123456789</dd>" in text and "opted out" not in text
    opted = replace(account.customer, mobile="+4915123456789", sms_opted_out=True)
    workspace.accounts["C1"] = replace(account, customer=opted)
    text = collector.get("/staff/customers/C1").text
    assert "+4915123456789: opted out of texts (replied STOP), never texted again" in text


def test_the_360_says_when_the_carrier_says_the_mobile_cannot_receive_texts(
    workspace: FakeWorkspace,  # noqa: F811
    collector: StaffClient,  # noqa: F811
) -> None:
    account = account_360()
    bad = replace(account.customer, mobile="+4915123456789", sms_undeliverable="+4915123456789")
    workspace.accounts["C1"] = replace(account, customer=bad)
    text = collector.get("/staff/customers/C1").text
    assert "+4915123456789: the carrier says it cannot receive texts" in text
    # a new number in the customer master: texted again, nothing said
    fixed = replace(bad, mobile="+4915198765432")
    workspace.accounts["C1"] = replace(account, customer=fixed)
    assert "cannot receive texts" not in collector.get("/staff/customers/C1").text
