"""A crash at every step boundary of a reminder touch (reserve, SES, complete, task, reschedule), several
times over a month of hourly sweeps: no customer gets a reminder twice, and no step is lost (each is sent,
or handed to a manager when SES may have sent it)."""

from __future__ import annotations

import os
from dataclasses import replace

import boto3

from tests.integration.conftest import stack_resources
from tests.integration.dunning_world import Faults, World, sent_emails
from tests.reliability.figures import Figures, scale
from tests.reliability.portfolio import outcome, populate, run

BOUNDARIES = (
    "before_reserve",
    "after_reserve",
    "before_send",
    "after_send",
    "before_complete",
    "after_complete",
    "before_task",
    "after_task",
    "before_reschedule",
)


def test_a_crash_at_every_touch_boundary_duplicates_nothing_and_loses_nothing(figures: Figures) -> None:
    customers = scale(6, 30)
    crashes = scale(2, 6)
    with stack_resources():
        world = World()
        ids = populate(world, customers)
        run(world)
        baseline = outcome(ids)
    assert baseline.emails, "the portfolio must send reminders for the crashes to hit"
    duplicates = lost = unresolved = injected = 0
    for boundary in BOUNDARIES:
        with stack_resources():
            faults = Faults(boundary, times=crashes, spaced=True)
            world = World(faults=faults)
            populate(world, customers)
            run(world)
            injected += crashes - faults.times
            result = outcome(ids)
        duplicates += result.duplicates
        lost += result.lost(baseline)
        unresolved += result.unresolved_without_task
    figures.record("touch_crashes_injected", injected, "crashes", f">={len(BOUNDARIES)}")
    figures.check("touch_crash_duplicate_emails", duplicates, "emails", "0")
    figures.check("touch_crash_lost_work", lost, "items", "0")
    figures.check("touch_crash_unresolved_without_task", unresolved, "touches", "0")
    assert injected >= len(BOUNDARIES), "every boundary must have crashed at least once"


def test_the_measure_sees_a_duplicate_and_a_lost_invoice() -> None:
    """The figures are not blind: every email sent again counts as a duplicate, and a run that did less
    than the baseline counts what it left out."""
    with stack_resources():
        world = World()
        ids = populate(world, 2)
        run(world)
        first = outcome(ids)
        ses = boto3.client("sesv2")
        for email in sent_emails():
            ses.send_email(
                FromEmailAddress=os.environ["SENDER_EMAIL"],
                Destination={"ToAddresses": email.to},
                Content={"Raw": {"Data": email.message.as_bytes()}},
                ConfigurationSetName=os.environ["SES_CONFIGURATION_SET"],
            )
        again = outcome(ids)
    assert first.duplicates == 0
    assert again.duplicates == sum(first.emails.values()) > 0
    assert first.lost(again) == 0
    assert replace(first, handled=set(list(first.handled)[1:])).lost(first) == 1
