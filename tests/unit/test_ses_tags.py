"""SES message tags: SES refuses a whole message whose tag values leave ``[A-Za-z0-9_-]`` (moto takes
anything), so customer ids such as ``Brennan & Sons, PC`` travel encoded and the email events decode them."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from arcollect.dunning.email_events import record_email_event
from arcollect.entities import Activity
from arcollect.store.mail import customer_from_tag, customer_tag, tag_value

SES_TAG = re.compile(r"[A-Za-z0-9_-]{1,256}")


def test_an_id_ses_takes_travels_as_it_is() -> None:
    assert customer_tag("C-1001") == "C-1001"
    assert customer_from_tag("C-1001") == "C-1001"


def test_any_other_id_travels_encoded() -> None:
    assert customer_tag("Brennan & Sons, PC") == "b64-QnJlbm5hbiAmIFNvbnMsIFBD"
    assert customer_tag("株式会社 山田商事") == "b64-5qCq5byP5Lya56S-IOWxseeUsOWVhuS6iw"
    assert customer_from_tag("b64-5qCq5byP5Lya56S-IOWxseeUsOWVhuS6iw") == "株式会社 山田商事"
    # An id that looks encoded already is encoded too, so that it is read back as itself.
    assert customer_tag("b64-QQ") == "b64-YjY0LVFR"
    assert customer_from_tag("b64-YjY0LVFR") == "b64-QQ"


def test_an_id_too_long_for_a_tag_gets_none() -> None:
    assert customer_tag("é" * 94) is not None  # 188 bytes: 4 + 251 = 255 characters
    assert customer_tag("é" * 95) is None  # 190 bytes: 4 + 254 = 258 characters


@given(st.text(min_size=1, max_size=120))
def test_every_id_comes_back_from_its_tag(customer_id: str) -> None:
    value = customer_tag(customer_id)
    if value is None:
        assert len(customer_id.encode()) > 189
        return
    assert SES_TAG.fullmatch(value)
    assert customer_from_tag(value) == customer_id


def test_a_label_loses_what_ses_does_not_take() -> None:
    assert tag_value("final_notice#2") == "final_notice-2"
    assert tag_value("due.day@x") == "due-day-x"
    assert tag_value("") == "-"
    assert tag_value("x" * 300) == "x" * 256


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
            "tags": {"customer_id": [customer_tag("Brennan & Sons, PC")]},
        },
    }
    outcome = record_email_event(detail, timeline=timeline, received_at=datetime(2026, 11, 24, tzinfo=UTC))
    assert (outcome.customer_id, outcome.recorded) == ("Brennan & Sons, PC", True)
    assert [(a.customer_id, a.kind) for a in timeline.recorded] == [("Brennan & Sons, PC", "email_delivery")]
