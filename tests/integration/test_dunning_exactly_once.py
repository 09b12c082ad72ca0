"""Exactly once under crashes: a crash at every boundary of the delivery, then the hourly schedule goes on.

The scenario: an invoice due 2026-10-05 whose "due" email and late alert (one stage) fall due on Tuesday
2026-10-06 at 09:00 Berlin (07:00 UTC). The crash hits that tick; the sweep keeps ticking every hour
that morning, then daily to the reminder (10-19) and the next call.

The one window no storage closes: SES accepted the email but its completion was never written
(after_send, before_complete), or the process died between the reservation and SES's answer
(after_reserve, before_send: we cannot tell whether SES got it). Such a reservation is "in doubt" once
it outlived the 15-minute lease (no run lives that long): it is never resent (a duplicate dunning email
is worse than a missing one), a person gets a review_touch task, and the invoice's steps move on.
"""

from __future__ import annotations

import contextlib
import copy
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from arcollect.dunning import delivery
from arcollect.dunning.email_events import TOUCH_TAG, handle_email_event
from arcollect.store import keys
from arcollect.store.dunning import DunningStore
from arcollect.store.keys import email_sk
from arcollect.store.mail import MailRejected, SendNotAccepted, SendOutcomeUnknown, SesMailer
from arcollect.store.models import EmailTouchItem
from arcollect.store.repositories import Activities
from tests.integration.dunning_world import Crash, Faults, World, utc

EVENTS = Path(__file__).resolve().parent.parent / "events"

REST = [
    "2026-10-11 22:00 call first_call",
    "2026-10-19 07:00 email reminder INV-1",
]


def _world(faults: Faults | None = None) -> World:
    world = World(faults=faults or Faults())
    world.customer("C-1")
    world.invoice(
        "INV-1",
        invoice_date=date(2026, 9, 5),
        due_date=date(2026, 10, 5),
        steps_done=("outreach", "courtesy"),
    )
    return world


def _go_on(world: World, hour: int = 7) -> None:
    world.run_every_hour(utc(2026, 10, 6, hour), utc(2026, 10, 6, 11))
    world.run(utc(2026, 10, 6, 11), utc(2026, 10, 20))


def _email_touch(touch: str) -> EmailTouchItem:
    return EmailTouchItem.get(keys.customer_pk("C-1"), email_sk(touch))


@pytest.mark.parametrize("boundary", ["before_reserve"])
def test_crash_before_anything_is_written_sends_at_the_next_tick(aws: None, boundary: str) -> None:
    world = _world(Faults(boundary))
    _go_on(world)
    assert world.log() == [
        "2026-10-06 08:00 email due INV-1",
        "2026-10-06 08:00 owner_alert late_alert",
        *REST,
    ]


@pytest.mark.parametrize("boundary", ["after_reserve", "before_send"])
def test_crash_between_reservation_and_ses_is_in_doubt_never_resent(aws: None, boundary: str) -> None:
    # Given a crash after the reservation, before SES answered (it may or may not have the message)
    world = _world(Faults(boundary))
    _go_on(world)
    # Then the "due" email is never (re)sent; the next tick (past the lease) hands it to a person
    assert world.log() == [
        "2026-10-06 08:00 owner_alert late_alert",
        "2026-10-06 08:00 review_touch",
        *REST,
    ]


@pytest.mark.parametrize("boundary", ["after_send", "before_complete"])
def test_ses_accepted_but_not_recorded_is_never_resent(aws: None, boundary: str) -> None:
    world = _world(Faults(boundary))
    _go_on(world)
    # Then exactly one "due" email; a review task once; the steps move on
    assert world.log() == [
        "2026-10-06 07:00 email due INV-1",
        "2026-10-06 08:00 owner_alert late_alert",
        "2026-10-06 08:00 review_touch",
        *REST,
    ]
    [email] = [e for e in world.emails() if e.step == "due"]
    assert _email_touch(email.touch).status == "in_doubt"


@pytest.mark.parametrize("boundary", ["after_send", "before_complete"])
def test_ses_send_event_completes_the_lost_record(aws: None, boundary: str) -> None:
    world = _world(Faults(boundary))
    world.run_every_hour(utc(2026, 10, 6, 7), utc(2026, 10, 6, 8))
    [email] = world.emails()
    # When SES's Send event arrives within the lease (07:05)
    detail = copy.deepcopy(json.loads((EVENTS / "ses_bounce.json").read_text())["detail"])
    detail.pop("bounce")
    detail["eventType"] = "Send"
    detail["send"] = {}
    detail["mail"]["messageId"] = "ses-message-1"
    detail["mail"]["tags"] = {"customer_id": ["C-1"], TOUCH_TAG: [email.touch]}
    outcome = handle_email_event(
        detail, timeline=Activities(), feedback=DunningStore(), received_at=utc(2026, 10, 6, 7, 5)
    )
    # Then the reservation is completed with SES's message id
    assert outcome.completed
    item = _email_touch(email.touch)
    assert (item.status, item.message_id) == ("sent", "ses-message-1")
    # And no review task; nothing resent
    _go_on(world, hour=8)
    assert world.log() == [
        "2026-10-06 07:00 email due INV-1",
        "2026-10-06 08:00 owner_alert late_alert",
        *REST,
    ]


@pytest.mark.parametrize("boundary", ["after_complete", "before_task", "after_task", "before_reschedule"])
def test_crash_after_the_email_is_recorded_loses_nothing(aws: None, boundary: str) -> None:
    world = _world(Faults(boundary))
    _go_on(world)
    lines = world.log()
    # Exactly one email and one task per step overall
    assert [line[17:] for line in lines] == [
        "email due INV-1",
        "owner_alert late_alert",
        *(line[17:] for line in REST),
    ]
    assert lines[0] == "2026-10-06 07:00 email due INV-1"


@pytest.mark.parametrize("error", [MailRejected("address blacklisted"), RuntimeError("throttled")])
def test_ses_refusing_releases_the_reservation(aws: None, error: Exception) -> None:
    world = _world()
    original = world.mailer.send
    calls: list[int] = []

    def send(**kwargs: Any) -> str:
        calls.append(1)
        if len(calls) == 1:
            raise error
        return original(**kwargs)

    world.mailer.send = send  # type: ignore[method-assign]
    for hour in (7, 8, 9, 10):
        try:
            world.tick(utc(2026, 10, 6, hour))
        except RuntimeError:
            assert hour == 7 and not isinstance(error, MailRejected)  # a transient error fails the tick
    # The failing tick released the touches; the next tick sends once
    emails = [line for line in world.log() if " email " in line]
    assert emails == ["2026-10-06 08:00 email due INV-1"]


def test_a_timeout_after_ses_accepted_sends_no_second_email_and_is_reported(aws: None) -> None:
    # Given SES takes the message but its answer is lost (a read timeout): the outcome is unknown
    world = _world()
    original = world.mailer.send
    calls: list[int] = []

    def send(**kwargs: Any) -> str:
        calls.append(1)
        message_id = original(**kwargs)
        if len(calls) == 1:
            raise SendOutcomeUnknown("SES SendEmail failed, the message may have gone: Read timeout")
        return message_id

    world.mailer.send = send  # type: ignore[method-assign]
    # When the sweep goes on ticking every hour, then daily
    first = world.tick(utc(2026, 10, 6, 7))
    _go_on(world, hour=8)
    # Then the tick reported it, SES was asked once for the "due" email, and the customer got one
    assert first.report.outcomes["send_outcome_unknown"] == 1
    assert len([e for e in world.emails() if e.step == "due"]) == 1
    # And past its lease the reservation is in doubt: a person reviews it, it is never resent
    assert "2026-10-06 08:00 review_touch" in world.log()


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (
            ClientError(
                {"Error": {"Code": "ThrottlingException"}, "ResponseMetadata": {"HTTPStatusCode": 400}}, "x"
            ),
            "not sent",
        ),
        (
            ClientError(
                {"Error": {"Code": "InternalFailure"}, "ResponseMetadata": {"HTTPStatusCode": 500}}, "x"
            ),
            "unknown",
        ),
        (ReadTimeoutError(endpoint_url="https://email.eu-west-1.amazonaws.com"), "unknown"),
        (EndpointConnectionError(endpoint_url="https://email.eu-west-1.amazonaws.com"), "not sent"),
    ],
)
def test_the_mailer_tells_a_message_not_sent_from_one_that_may_have_gone(
    raised: Exception, expected: str
) -> None:
    class Client:
        def send_email(self, **kwargs: Any) -> dict[str, str]:
            raise raised

    mailer = SesMailer(configuration_set="arcollect", client=Client())
    kind = SendNotAccepted if expected == "not sent" else SendOutcomeUnknown
    with pytest.raises(kind):
        mailer.send(sender="a@seller.example", to=["ap@c.example"], raw=b"x", tags={})


def test_the_mailer_makes_one_attempt(aws: None) -> None:
    # botocore's own retry of a SendEmail whose answer was lost would send it twice
    mailer = SesMailer(configuration_set="arcollect")
    assert mailer._ses.meta.config.retries["total_max_attempts"] == 1


def test_the_lease_runs_on_the_wall_clock_not_the_ticks_time(aws: None) -> None:
    # Given a tick for 07:00 that reserved the "due" email and is still sending (it died here, as far
    # as the next tick can tell), the next tick's scheduled time an hour later
    world = _world(Faults("after_reserve"))
    world.clock = lambda: utc(2026, 10, 6, 7)
    with contextlib.suppress(Crash):
        world.tick(utc(2026, 10, 6, 7))
    # When the 08:00 tick runs late, at 07:00:05 by the clock (5 seconds after the reservation)
    world.clock = lambda: utc(2026, 10, 6, 7) + timedelta(seconds=5)
    result = world.tick(utc(2026, 10, 6, 8))
    # Then the reservation is in flight, not in doubt: no review task, nothing resent
    assert result.report.outcomes["in_flight"] == 1
    assert not [t for t in world.tasks() if t.kind == "review_touch"]
    # And the next tick in the send window, past the 15-minute lease by the clock, finds it in doubt:
    # a person reviews it
    world.clock = None
    world.run_every_hour(utc(2026, 10, 6, 9), utc(2026, 10, 7, 8))
    assert [t.kind for t in world.tasks() if t.kind == "review_touch"] == ["review_touch"]
    assert world.emails() == []


def test_a_render_failure_after_reserving_frees_the_touches_and_leaves_nothing_in_doubt(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the template breaks once (a bad deploy, fixed by the next tick)
    world = _world()
    failures = [RuntimeError("template 'due' is broken")]
    original = delivery.render_email

    def render(email: Any) -> Any:
        if failures:
            raise failures.pop()
        return original(email)

    monkeypatch.setattr(delivery, "render_email", render)
    with pytest.raises(RuntimeError):
        world.tick(utc(2026, 10, 6, 7))
    # When the schedule goes on
    _go_on(world, hour=8)
    # Then the reminder went at the next tick, and no review task was made
    assert "2026-10-06 08:00 email due INV-1" in world.log()
    assert not [t for t in world.tasks() if t.kind == "review_touch"]


def test_a_work_item_delivered_again_later_does_not_undo_the_schedule(aws: None) -> None:
    # Given the 07:00 tick's work for C-1 as the dunning queue carries it: the invoice as read then
    from arcollect.dunning.delivery import RunReport
    from arcollect.dunning.sweep import WorkItem, work_customers

    world = _world()
    at = utc(2026, 10, 6, 7)
    item = WorkItem(at, "C-1", (world.get("INV-1"),), False, None, False)
    work_customers([item], store=world.store, services=world.services(at), report=RunReport())
    # And the schedule went on past the first call (10-11) and the reminder (10-19)
    world.run(utc(2026, 10, 6, 8), utc(2026, 10, 20))
    moved = world.get("INV-1").next_action_at
    log = world.log()
    # When SQS delivers the 07:00 work item again (its visibility timeout ran out; at least once)
    report = RunReport()
    work_customers([item], store=world.store, services=world.services(at), report=report)
    # Then nothing is sent or made twice, and the invoice's next look stays where the schedule put it:
    # the plan made from the old copy does not move it back (or past a step)
    assert world.log() == log
    assert world.get("INV-1").next_action_at == moved
    assert report.outcomes["moved_by_another_run"] >= 1
