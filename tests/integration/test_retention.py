"""Retention: records of collections activity expire after the stack's retention (7 years by default,
`retentionYears`), by the table's TTL; the addresses SES names in a refusal stay out of the logs."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from arcollect.contract import retention_days
from arcollect.entities import Activity
from arcollect.settings import get_settings
from arcollect.store import keys
from arcollect.store.mail import MessageRefused, SesMailer
from arcollect.store.models import ActivityItem, EmailTouchItem, SendLedgerItem
from arcollect.store.repositories import Activities
from tests.integration.dunning_world import World, utc

SEVEN_YEARS = timedelta(days=retention_days(7))


def test_the_default_retention_is_never_shorter_than_seven_years() -> None:
    assert get_settings().retention_days == retention_days(7) == 2562
    assert utc(2026, 11, 24) + SEVEN_YEARS >= utc(2033, 11, 24)


def test_a_timeline_entry_expires_after_the_retention(aws: None) -> None:
    at = utc(2026, 11, 24, 9)
    Activities().record(Activity(customer_id="C-1", at=at, activity_id="a-1", kind="note", summary="x"))
    [item] = list(ActivityItem.query(keys.customer_pk("C-1"), ActivityItem.sk.startswith("ACT#")))
    assert item.expires_at == int((at + SEVEN_YEARS).timestamp())


def test_an_email_and_its_touches_expire_after_the_retention(aws: None) -> None:
    world = World()
    world.customer("C-1")
    world.invoice(
        "INV-1", invoice_date=date(2026, 9, 5), due_date=date(2026, 10, 5), steps_done=("outreach",)
    )
    world.run(utc(2026, 10, 6, 7), utc(2026, 10, 6, 8))
    expiry = int((utc(2026, 10, 6, 7) + SEVEN_YEARS).timestamp())
    pk = keys.customer_pk("C-1")
    ledger = list(SendLedgerItem.query(pk, SendLedgerItem.sk.startswith("SEND#")))
    emails = list(EmailTouchItem.query(pk, EmailTouchItem.sk.startswith("EMAIL#")))
    assert ledger and emails
    assert {item.expires_at for item in [*ledger, *emails]} == {expiry}


def test_the_addresses_ses_names_in_a_refusal_stay_out_of_the_logged_text() -> None:
    class Client:
        def send_email(self, **kwargs: Any) -> None:
            raise ClientError(
                {
                    "Error": {
                        "Code": "MessageRejected",
                        "Message": "Email address is not verified. The following identities failed the "
                        "check in region EU-WEST-1: ap@brennan-sons.example, Kreditoren <k@m.example>",
                    }
                },
                "SendEmail",
            )

    with pytest.raises(MessageRefused) as refused:
        SesMailer(configuration_set="x", client=Client()).send(
            sender="s@seller.example", to=["ap@brennan-sons.example"], raw=b"x", tags={}
        )
    assert "@" not in str(refused.value) and "<address>" in str(refused.value)
    # (the task a person works from keeps SES's words whole)
    assert "ap@brennan-sons.example" in refused.value.reason
