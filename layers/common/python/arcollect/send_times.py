"""Send times learned per customer: which whole hour of the allowed window a reminder goes out in.

Pure: no clock, no store. The input is, per customer and per hour, how many reminders went out and
how many were followed within ``RESPONSE_HOURS`` by a response (a portal visit from the link, a reply,
a payment; opens are not used: mail clients fetch images on their own). ``choose`` gives the
customer's hour on a day.

The score of a slot is the customer's response rate there shrunk towards the portfolio's rate for the
same slot (a Beta prior of ``prior_strength`` pseudo-reminders centred on the portfolio's rate): a
customer with no history gets the portfolio's best hour, one with a few reminders moves towards their
own. A share ``exploration`` of the choices tries another hour instead (the least-tried one), decided
by a hash of the customer and the day so a rerun, a preview and the real tick agree.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "RESPONSE_HOURS",
    "SendRecord",
    "SendTimes",
    "SlotChoice",
    "SlotStats",
    "choose",
    "explores",
    "parse_hours",
    "portfolio_stats",
    "slot_hours",
    "tally",
]

#: A response counts for a reminder when it came within this many hours of the send.
RESPONSE_HOURS = 48

#: The timeline kind of a reminder email sent, and those of a response to one: the customer opened the
#: portal from the link, or acted in it (a promise, a dispute); a reply, if the data has one.
SENT_KIND = "email_sent"
RESPONSE_KINDS = frozenset({"portal_opened", "promise_made", "dispute_opened", "reply_received"})

_HOURS = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")


@dataclass(frozen=True)
class SlotStats:
    """One slot's record: reminders sent in it, and how many of them were followed by a response."""

    sent: int = 0
    responded: int = 0

    def __add__(self, other: SlotStats) -> SlotStats:
        return SlotStats(self.sent + other.sent, self.responded + other.responded)


@dataclass(frozen=True)
class SendTimes:
    """The policy's ``settings.send_times``: off unless ``learn``; ``start``/``end`` the widened window."""

    learn: bool = False
    start: time = time(8)
    end: time = time(17)
    exploration: float = 0.1
    prior_strength: float = 1.0

    @property
    def hours(self) -> tuple[int, ...]:
        return slot_hours(self.start, self.end)


@dataclass(frozen=True)
class SendRecord:
    """What ``choose`` learns from for one customer: their record per hour, and the portfolio's."""

    own: Mapping[int, SlotStats] = field(default_factory=dict)
    portfolio: Mapping[int, SlotStats] = field(default_factory=dict)


@dataclass(frozen=True)
class SlotChoice:
    """The hour chosen for a day, and why, in words a collector reads."""

    hour: int
    reason: str
    exploring: bool = False
    scores: Mapping[int, float] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.hour:02d}:00"


def parse_hours(text: object) -> tuple[time, time] | None:
    """``"08:00-17:00"`` as (start, end); None when it is not that shape or not a same-day window."""
    if not isinstance(text, str):
        return None
    match = _HOURS.fullmatch(text.strip())
    if match is None:
        return None
    sh, sm, eh, em = (int(part) for part in match.groups())
    if sh > 23 or eh > 23 or sm > 59 or em > 59:
        return None
    start, end = time(sh, sm), time(eh, em)
    return (start, end) if start < end else None


def slot_hours(start: time, end: time) -> tuple[int, ...]:
    """The whole hours ``h`` whose ``h:00`` to ``h+1:00`` lies inside ``[start, end)``."""
    first = start.hour + (1 if (start.minute, start.second, start.microsecond) != (0, 0, 0) else 0)
    last = end.hour * 60 + end.minute
    return tuple(h for h in range(first, 24) if (h + 1) * 60 <= last)


def portfolio_stats(customers: Mapping[str, Mapping[int, SlotStats]]) -> dict[int, SlotStats]:
    """Every customer's record summed per slot."""
    total: dict[int, SlotStats] = {}
    for slots in customers.values():
        for hour, stats in slots.items():
            total[hour] = total.get(hour, SlotStats()) + stats
    return total


def _unit(*parts: str) -> float:
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def explores(customer_id: str, day: date, share: float) -> bool:
    """Whether the customer's choice on ``day`` explores: true for about ``share`` of (customer, day)."""
    return share > 0 and _unit("explore", customer_id, day.isoformat()) < share


def _portfolio_rate(stats: SlotStats | None, mean: float) -> float:
    # The portfolio's rate per slot, itself shrunk a little towards its overall rate.
    sent, responded = (stats.sent, stats.responded) if stats else (0, 0)
    return (responded + 2 * mean) / (sent + 2)


#: How many standard deviations of credit a little-tried slot keeps (an upper-confidence nudge).
OPTIMISM = 0.5


def _score(mine: SlotStats, base: float, strength: float) -> float:
    """The posterior mean of the slot's rate plus ``OPTIMISM`` standard deviations (a Beta prior of
    ``strength`` pseudo-reminders at the portfolio's rate): a slot little tried keeps some credit."""
    a = mine.responded + strength * base
    b = mine.sent - mine.responded + strength * (1 - base)
    n = a + b
    return a / n + OPTIMISM * math.sqrt(a * b / (n * n * (n + 1)))


def _tries(count: int) -> str:
    return f"{count} reminder{'' if count == 1 else 's'}"


def choose(
    customer_id: str,
    day: date,
    own: Mapping[int, SlotStats],
    portfolio: Mapping[int, SlotStats],
    settings: SendTimes,
) -> SlotChoice:
    """The customer's hour on ``day``: the best-scoring slot, or on an exploring day another one."""
    hours = settings.hours
    if not hours:
        raise ValueError("the send-times window holds no whole hour")
    sent = sum(portfolio[h].sent for h in hours if h in portfolio)
    responded = sum(portfolio[h].responded for h in hours if h in portfolio)
    mean = (responded + 1) / (sent + 2)
    base = {h: _portfolio_rate(portfolio.get(h), mean) for h in hours}
    k = settings.prior_strength
    scores = {h: _score(own.get(h, SlotStats()), base[h], k) for h in hours}
    # Ties (no data at all) go to the earliest hour, so a customer without history starts at the opening.
    best = max(hours, key=lambda h: (round(scores[h], 12), -h))
    portfolio_best = max(hours, key=lambda h: (round(base[h], 12), -h))
    if len(hours) > 1 and explores(customer_id, day, settings.exploration):
        others = [h for h in hours if h != best]
        # The least-tried other hour, the best-scoring among equals: a rerun agrees.
        hour = min(others, key=lambda h: (own.get(h, SlotStats()).sent, -round(scores[h], 12), h))
        share = round(1 / settings.exploration) if settings.exploration else 0
        reason = (
            f"exploring: about 1 reminder in {share} tries another hour; {hour:02d}:00 has had "
            f"{_tries(own.get(hour, SlotStats()).sent)} (the best so far is {best:02d}:00)"
        )
        return SlotChoice(hour, reason, True, scores)
    mine = own.get(best, SlotStats())
    portfolio_part = (
        "it is also the portfolio's best"
        if best == portfolio_best
        else f"the portfolio's best is {portfolio_best:02d}:00"
    )
    if mine.sent:
        reason = (
            f"replies, portal visits or payments came after {mine.responded} of {_tries(mine.sent)} "
            f"sent at {best:02d}:00; {portfolio_part}"
        )
    elif any(stats.sent for h, stats in own.items() if h in hours):
        reason = (
            f"the hours tried so far drew fewer responses; {best:02d}:00 is untried for this customer "
            f"and scores best on the portfolio's record ({portfolio_part})"
        )
    elif sent:
        reason = f"no reminders to this customer yet: the portfolio's best hour, {best:02d}:00"
    else:
        reason = f"no responses recorded yet: the window's first hour, {best:02d}:00"
    return SlotChoice(best, reason, False, scores)


def tally(
    sends: Iterable[datetime], responses: Iterable[datetime], paid_on: Iterable[date], zone: ZoneInfo
) -> dict[int, SlotStats]:
    """A customer's record per local hour: each reminder sent (an aware instant) counts in the hour the
    customer's clock showed, and as responded when a response (an instant) came within
    ``RESPONSE_HOURS`` after it, or a payment (a date: the ERP keeps no time) was dated from the send's
    local day to the day ``RESPONSE_HOURS`` later."""
    answered = sorted(responses)
    paid = sorted(set(paid_on))
    window = timedelta(hours=RESPONSE_HOURS)
    record: dict[int, SlotStats] = {}
    for sent in sorted(sends):
        local = sent.astimezone(zone)
        last = (sent + window).astimezone(zone).date()
        responded = any(sent <= at < sent + window for at in answered) or any(
            local.date() <= day <= last for day in paid
        )
        record[local.hour] = record.get(local.hour, SlotStats()) + SlotStats(1, int(responded))
    return record
