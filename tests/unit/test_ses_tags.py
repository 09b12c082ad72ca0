"""SES message tags: SES refuses a whole message whose tag values leave ``[A-Za-z0-9_-]`` (moto takes
anything), so customer ids such as ``Brennan & Sons, PC`` travel encoded and the email events decode them."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from arcollect.dunning.email_events import record_email_event
from arcollect.entities import Activity
from arcollect.store.mail import CUSTOMER_TAG, customer_from_tags, customer_tags, tag_value

SES_TAG = re.compile(r"[A-Za-z0-9_-]{1,255}")


def _events_tags(tags: dict[str, str]) -> dict[str, list[str]]:
    """The tags as SES's events carry them: each name with the list of its values."""
    return {name: [value] for name, value in tags.items()}


def test_an_id_ses_takes_travels_as_it_is() -> None:
    assert customer_tags("C-1001") == {CUSTOMER_TAG: "C-1001"}
    assert customer_from_tags({CUSTOMER_TAG: ["C-1001"]}) == "C-1001"


def test_any_other_id_travels_encoded() -> None:
    assert customer_tags("Brennan & Sons, PC") == {CUSTOMER_TAG: "b64-QnJlbm5hbiAmIFNvbnMsIFBD"}
    assert customer_tags("株式会社 山田商事") == {CUSTOMER_TAG: "b64-5qCq5byP5Lya56S-IOWxseeUsOWVhuS6iw"}
    assert (
        customer_from_tags({CUSTOMER_TAG: ["b64-5qCq5byP5Lya56S-IOWxseeUsOWVhuS6iw"]}) == "株式会社 山田商事"
    )
    # An id that looks encoded already is encoded too, so that it is read back as itself.
    assert customer_tags("b64-QQ") == {CUSTOMER_TAG: "b64-YjY0LVFR"}
    assert customer_from_tags({CUSTOMER_TAG: ["b64-YjY0LVFR"]}) == "b64-QQ"


def test_an_id_longer_than_one_tag_continues_in_more_tags() -> None:
    customer_id = "Société Générale d'Équipement & Fils, " * 5  # 195 characters, 215 bytes
    tags = customer_tags(customer_id)
    assert list(tags) == [CUSTOMER_TAG, f"{CUSTOMER_TAG}_2"]
    assert all(SES_TAG.fullmatch(name) and SES_TAG.fullmatch(value) for name, value in tags.items())
    assert customer_from_tags(_events_tags(tags)) == customer_id


def test_a_message_without_a_customer_tag_names_no_customer() -> None:
    assert customer_from_tags({"kind": ["fresh_link"]}) is None


@given(st.text(min_size=1, max_size=200))
def test_every_id_comes_back_from_its_tags(customer_id: str) -> None:
    tags = customer_tags(customer_id)
    assert all(SES_TAG.fullmatch(name) and SES_TAG.fullmatch(value) for name, value in tags.items())
    assert customer_from_tags(_events_tags(tags)) == customer_id


def test_a_label_loses_what_ses_does_not_take() -> None:
    assert tag_value("final_notice#2") == "final_notice-2"
    assert tag_value("due.day@x") == "due-day-x"
    assert tag_value("") == "-"
    assert tag_value("x" * 300) == "x" * 255


class Timeline:
    def __init__(self) -> None:
        self.recorded: list[Activity] = []

    def record(self, activity: Activity) -> bool:
        self.recorded.append(activity)
        return True


def test_an_email_event_lands_on_the_customer_its_encoded_tag_names() -> None:
    timeline = Timeline()
    detail = {
        "eventType": "Delivery",
        "delivery": {"timestamp": "2026-11-24T09:00:01.000Z"},
        "mail": {
            "messageId": "m-1",
            "destination": ["ap@brennan-sons.example"],
            "tags": _events_tags(customer_tags("Brennan & Sons, PC")),
        },
    }
    outcome = record_email_event(detail, timeline=timeline, received_at=datetime(2026, 11, 24, tzinfo=UTC))
    assert (outcome.customer_id, outcome.recorded) == ("Brennan & Sons, PC", True)
    assert [(a.customer_id, a.kind) for a in timeline.recorded] == [("Brennan & Sons, PC", "email_delivery")]
