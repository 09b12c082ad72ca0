"""The state of the system at a glance, for `arcollect status` and the staff console's status page:
each ERP feed's newest file and its age, whether dunning is holding (the freshness hold) and why, the
dead-letter queues' depths, and the newest KPI report. One function gathers the facts for both."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from arcollect.calendar import Calendar
from arcollect.clock import format_instant
from arcollect.entities import Activity
from arcollect.freshness import FeedAge, FeedCheck, check_feeds
from arcollect.policy import PolicySet
from arcollect.staff import StaffUser
from arcollect.store.errors import StoreError
from arcollect.store.feeds import FeedState
from arcollect.store.operations import ReportRun
from arcollect.workspace.model import NotAllowed


class FeedReader(Protocol):
    def state(self) -> FeedState: ...

    def history(self, limit: int = 14) -> list[Activity]: ...


class QueueReader(Protocol):
    def depth(self, queue_url: str) -> int: ...


class ReportReader(Protocol):
    def newest(self, bucket: str) -> ReportRun | None: ...


@dataclass(frozen=True)
class DeadLetters:
    """One dead-letter queue: how many messages it holds (None, and why, when it could not be read)."""

    name: str
    url: str
    messages: int | None
    error: str | None = None


@dataclass(frozen=True)
class Status:
    at: datetime
    feeds: FeedCheck
    # The hold the last tick recorded (since when), and the hold's record, newest first.
    holding_since: datetime | None
    history: tuple[Activity, ...]
    dead_letters: tuple[DeadLetters, ...]
    last_report: ReportRun | None
    report_error: str | None = None

    @property
    def holding(self) -> bool:
        """Whether a tick at ``at`` holds: the feeds as they are now decide, not the last tick."""
        return self.feeds.held

    def as_dict(self) -> dict[str, object]:
        report = self.last_report
        return {
            "at": format_instant(self.at),
            "business_day": self.feeds.day.isoformat(),
            "dunning": {
                "holding": self.holding,
                "reason": self.feeds.reason,
                "since": format_instant(self.holding_since) if self.holding_since else None,
                "record": [
                    {"at": format_instant(a.at), "kind": a.kind, "summary": a.summary} for a in self.history
                ],
            },
            "feeds": self.feeds.as_dict()["feeds"],
            "dead_letter_queues": [
                {"name": d.name, "messages": d.messages, "url": d.url, "error": d.error}
                for d in self.dead_letters
            ],
            "last_report": None
            if report is None
            else {
                "as_of": report.as_of.isoformat(),
                "folder": report.folder,
                "written_at": format_instant(report.written_at),
                "files": report.files,
            },
            "last_report_error": self.report_error,
        }

    def text(self) -> str:
        """The facts as `arcollect status` prints them."""
        lines = [
            f"status at {format_instant(self.at)} (business day {self.feeds.day.isoformat()}, "
            f"{self.feeds.zone.key})",
            "",
            "feeds (newest file; age in business days):",
            *(f"  {_feed_line(feed)}" for feed in self.feeds.feeds),
            "",
        ]
        if self.holding:
            since = f" since {format_instant(self.holding_since)}" if self.holding_since else ""
            lines.append(f"dunning: HOLDING{since}: {self.feeds.reason}")
        elif self.holding_since is not None:
            lines.append("dunning: not holding (the last tick held; the next one releases it)")
        else:
            lines.append("dunning: not holding")
        if self.dead_letters:
            depths = ", ".join(
                f"{d.name} {d.messages}" if d.messages is not None else f"{d.name} unknown ({d.error})"
                for d in self.dead_letters
            )
            lines.append(f"dead-letter queues: {depths}")
        else:
            lines.append("dead-letter queues: none configured")
        report = self.last_report
        if report is not None:
            lines.append(
                f"last report: as of {report.as_of.isoformat()} ({report.folder}, {report.files} files, "
                f"written {format_instant(report.written_at)})"
            )
        else:
            lines.append(f"last report: {self.report_error or 'none yet'}")
        return "\n".join(lines)


def _feed_line(feed: FeedAge) -> str:
    limit = f"max {feed.max_age_business_days}" if feed.checked else "not checked"
    flag = "  STALE" if feed.stale else ""
    if feed.newest is None or feed.as_of_day is None:
        waited = (
            f"; {feed.age_business_days} business day{'' if feed.age_business_days == 1 else 's'} since "
            "the other feeds' first file"
            if feed.age_business_days is not None
            else ""
        )
        return f"{feed.kind:<10} no file yet{waited} ({limit}){flag}"
    return (
        f"{feed.kind:<10} {feed.newest.key}: as of {feed.as_of_day.isoformat()}, received "
        f"{format_instant(feed.newest.received_at)}, {feed.age_business_days} business "
        f"day{'' if feed.age_business_days == 1 else 's'} old ({limit}){flag}"
    )


def system_status(
    *,
    at: datetime,
    feeds: FeedReader,
    policies: PolicySet,
    calendar: Calendar,
    queues: QueueReader,
    dead_letter_queues: Mapping[str, str],
    reports: ReportReader,
    reports_bucket: str | None,
) -> Status:
    """Gather the facts at ``at``. A queue or the reports bucket that cannot be read is shown as such
    (a status page that fails on the first missing permission shows nothing)."""
    state = feeds.state()
    check = check_feeds(state.newest, at=at, freshness=policies.freshness, calendar=calendar)
    dead_letters = []
    for name, url in sorted(dead_letter_queues.items()):
        try:
            dead_letters.append(DeadLetters(name, url, queues.depth(url)))
        except StoreError as error:
            dead_letters.append(DeadLetters(name, url, None, str(error)))
    report: ReportRun | None = None
    report_error: str | None = None
    if reports_bucket:
        try:
            report = reports.newest(reports_bucket)
        except StoreError as error:
            report_error = str(error)
    else:
        report_error = "no reports bucket configured"
    return Status(
        at=at,
        feeds=check,
        holding_since=state.hold.since if state.hold else None,
        history=tuple(feeds.history()),
        dead_letters=tuple(dead_letters),
        last_report=report,
        report_error=report_error,
    )


class StatusBoard:
    """The staff console's status page (managers only): the same facts as `arcollect status`."""

    def __init__(
        self,
        *,
        feeds: FeedReader,
        policies: Callable[[], PolicySet],
        calendar: Calendar,
        queues: QueueReader,
        dead_letter_queues: Mapping[str, str],
        reports: ReportReader,
        reports_bucket: str | None,
    ) -> None:
        self._feeds = feeds
        self._policies = policies
        self._calendar = calendar
        self._queues = queues
        self._dead_letter_queues = dict(dead_letter_queues)
        self._reports = reports
        self._reports_bucket = reports_bucket

    def status(self, by: StaffUser, *, now: datetime) -> Status:
        """The facts at ``now``; NotAllowed for a collector."""
        if not by.is_manager:
            raise NotAllowed(f"{by.username} is not a manager")
        return system_status(
            at=now,
            feeds=self._feeds,
            policies=self._policies(),
            calendar=self._calendar,
            queues=self._queues,
            dead_letter_queues=self._dead_letter_queues,
            reports=self._reports,
            reports_bucket=self._reports_bucket,
        )
