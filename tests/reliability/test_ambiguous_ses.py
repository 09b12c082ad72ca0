"""Ambiguous SES outcomes over a month of sweeps: SendEmail times out before SES took the message, or
after (SES sent it, its answer was lost). Neither may send a reminder twice, and no reservation may be
left unresolved without a manager's task. Where SES's own Send event arrives within the lease, it settles
the reservation (no task needed)."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from arcollect.dunning.email_events import handle_email_event
from arcollect.store.dunning import DunningStore
from arcollect.store.mail import SendOutcomeUnknown
from arcollect.store.repositories import Activities
from tests.integration.conftest import stack_resources
from tests.integration.dunning_world import World
from tests.reliability.figures import Figures, scale
from tests.reliability.portfolio import outcome, populate, run


class AmbiguousSes:
    """The world's mailer, made ambiguous: of every four sends, about one times out before SES took the
    message and one after it sent it; half of the latter have SES's Send event arrive five minutes on."""

    def __init__(self, world: World, seed: int) -> None:
        self.world = world
        self.send_real = world.mailer.send
        self.rng = random.Random(seed)
        self.before = self.after = self.events = 0
        self.now = world.clock

    def send(self, **kwargs: Any) -> str:
        roll = self.rng.random()
        if roll < 0.25:
            self.before += 1
            raise SendOutcomeUnknown("SES SendEmail failed, the message may have gone: Read timeout (before)")
        message_id = self.send_real(**kwargs)
        if roll < 0.5:
            self.after += 1
            if self.rng.random() < 0.5:
                self._send_event(message_id, kwargs["tags"])
            raise SendOutcomeUnknown("SES SendEmail failed, the message may have gone: Read timeout (after)")
        return message_id

    def _send_event(self, message_id: str, tags: dict[str, str]) -> None:
        self.events += 1
        detail = {
            "eventType": "Send",
            "send": {},
            "mail": {
                "timestamp": self.tick.isoformat(),
                "messageId": message_id,
                "destination": [],
                "tags": {name: [value] for name, value in tags.items()},
            },
        }
        handle_email_event(
            detail,
            timeline=Activities(),
            feedback=DunningStore(),
            received_at=self.tick + timedelta(minutes=5),
        )

    @property
    def tick(self) -> Any:
        return self.world.current_tick


def test_ambiguous_ses_outcomes_send_nothing_twice_and_leave_nothing_unowned(figures: Figures) -> None:
    customers = scale(8, 40)
    with stack_resources():
        world = World()
        ids = populate(world, customers)
        ses = AmbiguousSes(world, seed=11)
        world.mailer.send = ses.send  # type: ignore[method-assign]
        run(world)
        result = outcome(ids)
    figures.record("ses_timeouts_before_acceptance", ses.before, "sends", ">=1")
    figures.record("ses_timeouts_after_acceptance", ses.after, "sends", ">=1")
    figures.record("ses_send_events_settling", ses.events, "events", ">=1")
    figures.check("ses_ambiguous_duplicate_emails", result.duplicates, "emails", "0")
    figures.check("ses_ambiguous_unresolved_without_task", result.unresolved_without_task, "touches", "0")
    assert ses.before and ses.after and ses.events, "every kind of ambiguity must have happened"
