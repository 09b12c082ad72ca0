"""A small portfolio shaped like real ERP data, run through the dunning sweep in moto, and what to
measure of a run: the emails SES accepted, the send ledger, the tasks."""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from arcollect.store.models import EmailTouchItem
from arcollect.store.repositories import Tasks
from tests.integration.dunning_world import World, sent_emails, utc

# Customer ids as ERPs write them: spaces, '&', commas, accents; invoice numbers with '/'.
NAMES = ("Müller & Söhne", "Dupont, Frères", "ACME Corp", "Señor Café", "Ørsted A/S", "Łódź Trading")
START = utc(2026, 10, 5, 6)  # a Monday
END = utc(2026, 11, 4)


def customer_ids(count: int) -> list[str]:
    return [f"{NAMES[i % len(NAMES)]} {i:03d}" for i in range(count)]


def populate(world: World, customers: int, *, seed: int = 7) -> list[str]:
    """``customers`` customers in Germany, France and Britain, each with two to four open invoices whose
    due dates spread over the weeks before and after ``START`` (so every step of the policy fires)."""
    rng = random.Random(seed)
    ids = customer_ids(customers)
    for n, customer_id in enumerate(ids):
        country, zone = rng.choice((("DE", "Europe/Berlin"), ("FR", "Europe/Paris"), ("GB", "Europe/London")))
        world.customer(customer_id, country=country, time_zone=zone, email=f"ap{n}@customer{n}.example")
        for k in range(rng.randint(2, 4)):
            due = START.date() + timedelta(days=rng.randint(-20, 15))
            world.invoice(
                f"INV/{2026}/{n:03d}{k}",
                customer_id=customer_id,
                invoice_date=due - timedelta(days=30),
                due_date=due,
                amount=f"{rng.randint(100, 90_000)}.{rng.randint(0, 99):02d}",
            )
    return ids


@dataclass(frozen=True)
class Outcome:
    """What a run did, in the terms the reliability targets use."""

    emails: Counter[tuple[str, str, tuple[str, ...]]]  # (customer, step, invoices) -> how many sent
    in_doubt: set[tuple[str, str]]  # (customer, touch id) reservations nobody can settle
    review_tasks: set[tuple[str, str]]  # (customer, touch id) a manager was asked to check
    # What was done for whom: (customer, invoice) emailed or handed to a manager, and (customer,
    # "task:<kind>") for every kind of task made. A crash may move a step (the "due" email an hour later,
    # or folded into the next one), never drop an invoice or a kind of work.
    handled: set[tuple[str, str]]

    @property
    def duplicates(self) -> int:
        return sum(count - 1 for count in self.emails.values() if count > 1)

    def lost(self, baseline: Outcome) -> int:
        """What the baseline run did that this run neither did nor handed to a manager."""
        return len(baseline.handled - self.handled)

    @property
    def unresolved_without_task(self) -> int:
        return len(self.in_doubt - self.review_tasks)


def outcome(customers: list[str]) -> Outcome:
    emails = Counter((e.customer_id, e.step, tuple(e.invoices)) for e in sent_emails())
    ledger = list(EmailTouchItem.scan())
    unsettled = {(t.customer_id, t.touch_id) for t in ledger if not t.message_id and t.status != "refused"}
    tasks = [t for customer_id in customers for t in Tasks().for_customer(customer_id)]
    reviews = {(t.customer_id, str(t.detail.get("touch_id"))) for t in tasks if t.kind == "review_touch"}
    handled = {(c, number) for c, _, numbers in emails for number in numbers}
    handled |= {
        (t.customer_id, json.loads(touch)[0])
        for t in ledger
        if (t.customer_id, t.touch_id) in reviews
        for touch in t.touches
    }
    handled |= {(t.customer_id, f"task:{t.kind}") for t in tasks if t.kind != "review_touch"}
    return Outcome(emails=emails, in_doubt=unsettled, review_tasks=reviews, handled=handled)


def run(world: World, start: datetime = START, end: datetime = END) -> None:
    """The hourly schedule over the window (ticks that find nothing due are skipped, as in ``World.run``),
    then a day more of hourly ticks so that every lease has run out and every in-doubt touch was found."""
    world.run(start, end)
    world.run_every_hour(end, end + timedelta(days=1))


__all__ = ["END", "START", "Outcome", "date", "outcome", "populate", "run"]
