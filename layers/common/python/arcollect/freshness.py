"""The freshness hold: dunning acts on balances only while the ERP's feeds are current.

A reminder or a call about an invoice the customer paid last week, because the payments file stopped
arriving, is worse than a reminder a day late. So at every tick the sweep asks how old each feed's
newest file is, in business days of the company's calendar (the policy's ``freshness`` section), and
holds every send and every balance-dependent task while one is older than the policy allows.

A feed's age is that of the data its newest file describes (its as-of: the ``arcollect-as-of``
metadata, a report's "as of" line, else the time it was dropped), not of the delivery: a late re-send
of last month's file brings nothing current. A date-only as-of is that whole business day.

A feed that never delivered a file is as old as the first file of the checked feeds that did: the
ERP's go-live gets the policy's grace, then a payments feed that never started holds like one that
stopped (a company that sends invoices only says so: ``payments_feed: paid_dates``). Before the first
invoices or payments file there is nothing to judge, and nothing is held: a table seeded by hand, or a
customer master alone, is not stale.

Everything here is pure: the newest files and the instant come in, a verdict goes out. What dunning
does while it holds (the manager's alert and task) is in ``dunning.freshness``; the staff console's
status board shows the same verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from arcollect.calendar import Calendar, resolve_zone
from arcollect.entities import DropKind, FeedFile
from arcollect.policy import Freshness

# Monday to Friday: the company's working week (public holidays of its country come off).
_WORKING_DAYS = frozenset(range(5))
# The manager's task while a hold lasts (its worklist entry leads to the staff console's status page).
STALE_FEED = "stale_feed"
_UTC = ZoneInfo("UTC")


@dataclass(frozen=True)
class FeedAge:
    """One feed at one instant: its newest file, how old that is, and how old the policy lets it be
    (None: the feed does not hold dunning, such as the customer master)."""

    kind: str
    newest: FeedFile | None
    age_business_days: int | None
    max_age_business_days: int | None
    # The newest file's as-of day in the company's time zone (what the age counts from).
    as_of_day: date | None = None
    stale: bool = False

    @property
    def checked(self) -> bool:
        return self.max_age_business_days is not None

    def describe(self) -> str:
        """``stale payments feed (newest file 2026-11-20, 4 business days old; max 2)``."""
        limit = f"max {self.max_age_business_days}" if self.checked else "not checked"
        if self.newest is None or self.as_of_day is None:
            waited = (
                f", {self.age_business_days} business day{_s(self.age_business_days)} since the first "
                "file of the other feeds"
                if self.age_business_days is not None
                else ""
            )
            return f"{'stale ' if self.stale else ''}{self.kind} feed (no file received yet{waited}; {limit})"
        return (
            f"{'stale ' if self.stale else ''}{self.kind} feed (newest file {self.as_of_day.isoformat()}, "
            f"{self.age_business_days} business day{_s(self.age_business_days)} old; {limit})"
        )


@dataclass(frozen=True)
class FeedCheck:
    """Every feed's age at ``at``, and whether dunning holds."""

    at: datetime
    day: date
    feeds: tuple[FeedAge, ...]
    # The company's time zone: where its business days begin.
    zone: ZoneInfo = _UTC

    @property
    def stale(self) -> tuple[FeedAge, ...]:
        return tuple(feed for feed in self.feeds if feed.stale)

    @property
    def held(self) -> bool:
        return bool(self.stale)

    @property
    def reason(self) -> str | None:
        """``dunning held: stale payments feed (newest file 2026-11-20, 4 business days old; max 2)``,
        or None when nothing is held."""
        if not self.held:
            return None
        return "dunning held: " + " and ".join(feed.describe() for feed in self.stale)

    @property
    def key(self) -> str:
        """What is stale, as a stable text (the feeds and their newest files): one hold episode is one
        key, however many ticks and days it lasts, so its task is made once."""
        return "+".join(
            f"{feed.kind}@{feed.as_of_day.isoformat() if feed.as_of_day else 'none'}" for feed in self.stale
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "at": self.at.isoformat(),
            "business_day": self.day.isoformat(),
            "held": self.held,
            "reason": self.reason,
            "feeds": [_feed_dict(feed) for feed in self.feeds],
        }


def _feed_dict(feed: FeedAge) -> dict[str, object]:
    return {
        "kind": feed.kind,
        "newest_key": feed.newest.key if feed.newest else None,
        "as_of": feed.newest.as_of.isoformat() if feed.newest else None,
        "as_of_day": feed.as_of_day.isoformat() if feed.as_of_day else None,
        "received_at": feed.newest.received_at.isoformat() if feed.newest else None,
        "age_business_days": feed.age_business_days,
        "max_age_business_days": feed.max_age_business_days,
        "stale": feed.stale,
    }


def _s(count: int | None) -> str:
    return "" if count == 1 else "s"


def as_of_day(as_of: datetime, zone: ZoneInfo) -> date:
    """The company's business day a file's data is as of. Ingest reads a date-only as-of (metadata or a
    report's "as of" line) as 23:59:59 UTC of that day; that stands for the whole day wherever the
    company is, not for the next morning east of UTC."""
    instant = as_of.astimezone(_UTC)
    if (instant.hour, instant.minute, instant.second, instant.microsecond) == (23, 59, 59, 0):
        return instant.date()
    return as_of.astimezone(zone).date()


def business_days_after(start: date, end: date, calendar: Calendar, country: str | None) -> int:
    """How many business days fall after ``start`` up to and including ``end`` (0 when ``end`` is not
    later): a file as of Friday is 1 business day old on Monday, 0 on the Saturday and Sunday between."""
    days, day = 0, start + timedelta(days=1)
    while day <= end:
        if day.weekday() in _WORKING_DAYS and not calendar.is_holiday(day, country):
            days += 1
        day += timedelta(days=1)
    return days


def check_feeds(
    newest: Mapping[str, FeedFile], *, at: datetime, freshness: Freshness, calendar: Calendar
) -> FeedCheck:
    """How old each feed is at ``at`` and whether dunning holds (see the module docstring)."""
    zone, _ = resolve_zone(freshness.time_zone)
    today = at.astimezone(zone).date()
    limits = freshness.checked_feeds
    # A feed never delivered is as old as the first file of the checked feeds that were; before any,
    # there is nothing a feed could be stale against.
    firsts = [file.first_as_of or file.as_of for kind, file in newest.items() if kind in limits]
    started = as_of_day(min(firsts), zone) if firsts else None
    feeds: list[FeedAge] = []
    for kind in (k.value for k in DropKind):
        file = newest.get(kind)
        limit = limits.get(kind)
        if file is None:
            waited = (
                business_days_after(started, today, calendar, freshness.country)
                if started is not None and limit is not None
                else None
            )
            stale = limit is not None and waited is not None and waited > limit
            feeds.append(FeedAge(kind, None, waited, limit, stale=stale))
            continue
        day = as_of_day(file.as_of, zone)
        age = business_days_after(day, today, calendar, freshness.country)
        feeds.append(FeedAge(kind, file, age, limit, day, stale=limit is not None and age > limit))
    return FeedCheck(at=at, day=today, feeds=tuple(feeds), zone=zone)
