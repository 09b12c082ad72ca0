"""A step whose email bounced goes by its next channel (issue 21, item 4: "email, then a letter if the
email bounced"), through the dunning function against moto: SES's bounce event marks the step's touch,
the next tick posts one letter for that step (its own ledger key), later ticks nothing; a step that
names only email does not fall back."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from typing import Any

import boto3

from arcollect.dunning.email_events import TOUCH_TAG
from arcollect.dunning.engine import BOUNCED
from arcollect.dunning.sweep import preview
from arcollect.policy import parse_policy
from arcollect.store.letters import LETTERS_PREFIX
from arcollect.store.mail import customer_tags
from tests.integration.conftest import invoke, load_event
from tests.integration.dunning_world import World
from tests.integration.test_dunning_letters import (
    ADDRESS,
    CUSTOMER,
    GO_LIVE_POLICY,
    POLICY,
    TICK,
    _letters,
    _world,
    go_live,
)

ADDRESS_EMAIL = "ap@mueller.example"


def _upload(policy: str = POLICY) -> World:
    """The policy in the drop bucket (the function's) and the world's (its previews')."""
    boto3.client("s3").put_object(
        Bucket=os.environ["DROP_BUCKET"], Key="config/dunning-policy.yaml", Body=policy.encode()
    )
    return World(through_handler=True, policies=parse_policy(policy, source="test"))


def _bounce(touch: str, address: str = ADDRESS_EMAIL) -> dict[str, Any]:
    """SES's permanent bounce of the reminder ``touch`` (tagged as the sender tags it)."""
    event = load_event("ses_bounce.json")
    detail = event["detail"]
    detail["bounce"]["bouncedRecipients"][0]["emailAddress"] = address
    detail["bounce"]["timestamp"] = (TICK + timedelta(minutes=3)).isoformat()
    detail["mail"]["destination"] = [address]
    detail["mail"]["messageId"] = f"ses-{touch}"
    detail["mail"]["tags"] = {
        **{name: [value] for name, value in customer_tags(CUSTOMER).items()},
        TOUCH_TAG: [touch],
    }
    event["time"] = (TICK + timedelta(minutes=4)).isoformat()
    return event


def test_a_bounced_final_notice_goes_by_letter_once_on_the_next_tick(aws: None) -> None:
    # Given a customer with an email and a postal address, and a final notice by [email, letter]
    world = _world(_upload(), email=ADDRESS_EMAIL)
    # When the tick emails the final notice
    world.tick(TICK)
    [email] = world.emails(CUSTOMER)
    assert email.step == "final_notice" and _letters() == {}
    # And SES's bounce event for it arrives, twice (EventBridge delivers at least once)
    first = invoke("dunning", _bounce(email.touch))
    second = invoke("dunning", _bounce(email.touch))
    assert first["suppressed"] == [ADDRESS_EMAIL]
    assert first["fell_back"] == [["INV/2026/0042", "final_notice"]]
    assert second["fell_back"] == []
    # Then the preview says the step goes by letter because its email bounced
    next_tick = TICK + timedelta(hours=1)
    [plan] = [p for p in preview(now=next_tick, store=world.store, services=world.services()) if p.letter]
    assert [t.step_id for t in plan.letter.touches] == ["final_notice" + BOUNCED]  # type: ignore[union-attr]
    [why] = [n.reason for n in plan.notes if n.step_id == "final_notice" + BOUNCED]
    assert "the email of final_notice bounced" in why
    # And the next tick posts one letter for that step, with its manifest; no second email
    posted = world.tick(next_tick)
    assert posted.report.outcomes["letter_posted"] == 1
    objects = _letters()
    [manifest_key] = [k for k in objects if k.endswith(".json")]
    manifest = json.loads(objects[manifest_key])
    assert manifest["file"] in objects and manifest["file"].startswith(LETTERS_PREFIX)
    assert manifest["address"] == [CUSTOMER, *ADDRESS]
    assert (manifest["invoices"], manifest["template"]) == (["INV/2026/0042"], "final_notice")
    assert {"final_notice", "final_notice" + BOUNCED} <= set(world.get("INV/2026/0042", CUSTOMER).steps_done)
    # And a third tick, and the duplicate event's replay, send nothing more
    invoke("dunning", _bounce(email.touch))
    third = world.tick(next_tick + timedelta(hours=1))
    assert third.report.outcomes["letter_posted"] == 0
    assert len(_letters()) == 2 and [e.step for e in world.emails(CUSTOMER)] == ["final_notice"]


def test_a_step_with_email_only_does_not_fall_back(aws: None) -> None:
    # Given the same final notice by email only
    world = _world(_upload(POLICY.replace("        channels: [email, letter]\n", "")), email=ADDRESS_EMAIL)
    world.tick(TICK)
    [email] = world.emails(CUSTOMER)
    # When its email bounces
    outcome = invoke("dunning", _bounce(email.touch))
    assert outcome["fell_back"] == [["INV/2026/0042", "final_notice"]]
    # Then the next ticks post no letter and send no second email; the decision says why
    later = TICK + timedelta(hours=1)
    notes = [
        n.reason
        for p in preview(now=later, store=world.store, services=world.services())
        for n in p.notes
        if n.step_id == "final_notice"
    ]
    assert any("names no channel after email" in reason for reason in notes), notes
    world.tick(later)
    world.tick(later + timedelta(hours=1))
    assert _letters() == {}
    assert [e.step for e in world.emails(CUSTOMER)] == ["final_notice"]


def test_an_email_that_reached_another_address_does_not_fall_back(aws: None) -> None:
    # Given a customer with two addresses: the final notice goes to both
    world = _world(_upload(), email=ADDRESS_EMAIL)
    world.change_customer(CUSTOMER, other_emails=("finance@mueller.example",))
    world.tick(TICK)
    [email] = world.emails(CUSTOMER)
    assert sorted(email.to) == ["ap@mueller.example", "finance@mueller.example"]
    # When one of them bounces
    event = _bounce(email.touch)
    event["detail"]["mail"]["destination"] = email.to
    outcome = invoke("dunning", event)
    # Then the other got it: the step reached the customer, no letter follows
    assert outcome["suppressed"] == [ADDRESS_EMAIL] and outcome["fell_back"] == []
    world.tick(TICK + timedelta(hours=1))
    assert _letters() == {}


def test_a_bounced_go_live_statement_goes_by_letter_once(aws: None) -> None:
    """The statement of a go-live's backlog, emailed and bounced: the next tick posts it by letter (the
    channel after email of the steps it stood in for), once; the steps it stood in for stay taken."""
    world = go_live(_upload(GO_LIVE_POLICY), email=ADDRESS_EMAIL)
    world.tick(TICK)
    [email] = world.emails(CUSTOMER)
    assert email.step == "golive_statement" and _letters() == {}
    assert invoke("dunning", _bounce(email.touch))["fell_back"] == [["INV/2024/0100", "golive_statement"]]
    posted = world.tick(TICK + timedelta(hours=1))
    assert posted.report.outcomes["letter_posted"] == 1
    [manifest] = [json.loads(v) for k, v in _letters().items() if k.endswith(".json")]
    assert manifest["template"] == "overdue_statement"
    world.tick(TICK + timedelta(hours=2))
    world.tick(TICK + timedelta(days=1))
    assert len(_letters()) == 2 and [e.step for e in world.emails(CUSTOMER)] == ["golive_statement"]
    done = set(world.get("INV/2024/0100", CUSTOMER).steps_done)
    assert {"golive_statement", "golive_statement" + BOUNCED, "reminder", "final_notice"} <= done
