"""The freshness hold's items: each ERP feed's newest file, the hold in force, its record and tasks.

All of it lives in one partition (``keys.FRESHNESS_PK``), so the hourly sweep reads the feeds and the
hold with one query of a handful of items. Ingest writes a feed's item when a file finishes; the sweep
writes only when the hold starts, changes or ends, and once a day while it lasts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from pynamodb.exceptions import DeleteError

from arcollect.clock import format_instant, parse_instant
from arcollect.entities import Activity, FeedFile, Task, TaskStatus
from arcollect.store import keys
from arcollect.store.base import put_once, translated, update_if
from arcollect.store.models import FeedItem, HoldItem, TableItem, TaskItem
from arcollect.store.repositories import Activities
from arcollect.store.tasks import task_from_item, task_item
from arcollect.store.timeline import record_once


@dataclass(frozen=True)
class Hold:
    """The freshness hold in force: since when, what is stale (``episode``: the stale feeds and their
    newest files), why in words, and the manager's tasks about it."""

    since: datetime
    episode: str
    reason: str
    task_ids: frozenset[str] = field(default_factory=frozenset)
    # The company's business day the manager was last alerted (an email and that day's task).
    alerted_on: date | None = None


@dataclass(frozen=True)
class FeedState:
    """What the sweep reads each tick: the newest file of each feed, and the hold in force if any."""

    newest: dict[str, FeedFile]
    hold: Hold | None = None


def _feed_file(item: FeedItem) -> FeedFile:
    return FeedFile(
        kind=item.kind,
        key=item.key,
        version_id=item.version_id,
        as_of=parse_instant(item.as_of),
        received_at=item.received_at,
        first_as_of=parse_instant(item.first_as_of) if item.first_as_of else None,
    )


class Feeds:
    """The freshness partition (see the module docstring)."""

    @translated
    def delivered(self, file: FeedFile) -> bool:
        """Make ``file`` its feed's newest, unless the feed has a file describing data as late or later
        (False): a file that arrives late, or a re-sent old one, does not move the feed back."""
        item = FeedItem(keys.FRESHNESS_PK, keys.feed_sk(file.kind))
        as_of = format_instant(file.as_of)
        return update_if(
            item,
            [
                # An update that creates the item writes only what it is told: its type too, so the
                # sweep's query reads it back as a FeedItem.
                FeedItem.item_type.set(FeedItem),
                FeedItem.kind.set(file.kind),
                FeedItem.key.set(file.key),
                FeedItem.version_id.set(file.version_id),
                FeedItem.as_of.set(as_of),
                FeedItem.received_at.set(file.received_at),
                FeedItem.first_as_of.set(FeedItem.first_as_of | as_of),
            ],
            FeedItem.as_of.does_not_exist() | (FeedItem.as_of < as_of),
        )

    @translated
    def state(self) -> FeedState:
        """Every feed's newest file and the hold in force: one query."""
        first, last = keys.FRESHNESS_STATE
        newest: dict[str, FeedFile] = {}
        hold: Hold | None = None
        for item in TableItem.query(keys.FRESHNESS_PK, TableItem.sk.between(first, last)):
            if isinstance(item, FeedItem):
                newest[item.kind] = _feed_file(item)
            elif isinstance(item, HoldItem):
                hold = Hold(
                    item.since,
                    item.episode,
                    item.reason,
                    frozenset(item.task_ids or ()),
                    date.fromisoformat(item.alerted_on) if item.alerted_on else None,
                )
        return FeedState(newest, hold)

    @translated
    def hold(self, hold: Hold) -> None:
        """Write the hold in force (a new one, or the same one with other feeds stale)."""
        HoldItem(
            keys.FRESHNESS_PK,
            keys.HOLD_SK,
            since=hold.since,
            episode=hold.episode,
            reason=hold.reason,
            task_ids=set(hold.task_ids) or None,
            alerted_on=hold.alerted_on.isoformat() if hold.alerted_on else None,
        ).save()

    @translated
    def add_task(self, task: Task) -> bool:
        """The manager's task about a hold, once (False: it exists). It lives in this partition, not a
        customer's: it is about every customer; the worklist index finds it all the same."""
        item = task_item(task)
        item.pk = keys.FRESHNESS_PK
        return put_once(item)

    @translated
    def record(self, activity: Activity) -> bool:
        """Record a day held or a release, once (False: that day's or that release's entry exists)."""
        return record_once(keys.FRESHNESS_PK, activity)

    @translated
    def record_held(self, activities: Iterable[Activity]) -> int:
        """Record on each customer's timeline that its reminders were held that day, once each (an
        entry that exists is left as it is); how many were new."""
        return sum(record_once(keys.customer_pk(a.customer_id), a) for a in activities)

    @translated
    def close_tasks(self, task_ids: Iterable[str], at: datetime, outcome: str) -> None:
        """Close the hold's open tasks ``task_ids`` (a later day's task supersedes them)."""
        self._close_tasks(task_ids, at, outcome)

    @translated
    def release(self, hold: Hold, activity: Activity, at: datetime) -> bool:
        """End ``hold``: close its tasks, record the release and remove it. False when another tick
        ended it first (nothing is then recorded twice)."""
        try:
            HoldItem(keys.FRESHNESS_PK, keys.HOLD_SK).delete(condition=HoldItem.episode == hold.episode)
        except DeleteError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        self._close_tasks(hold.task_ids, at, "feeds_current")
        record_once(keys.FRESHNESS_PK, activity)
        return True

    @staticmethod
    def _close_tasks(task_ids: Iterable[str], at: datetime, outcome: str) -> None:
        for task_id in sorted(task_ids):
            item = TaskItem(keys.FRESHNESS_PK, keys.task_sk(task_id))
            update_if(
                item,
                [
                    TaskItem.status.set(TaskStatus.DONE),
                    TaskItem.closed_at.set(at),
                    TaskItem.outcome.set(outcome),
                    TableItem.worklist_owner.remove(),
                    TableItem.worklist_rank.remove(),
                ],
                TaskItem.status == TaskStatus.OPEN,
            )

    @translated
    def history(self, limit: int = 14) -> list[Activity]:
        """The hold's record, newest first: each day it held, and each release."""
        return Activities._activities(keys.FRESHNESS_PK)[:limit]

    @translated
    def tasks(self) -> list[Task]:
        """The manager's tasks about holds, open and closed."""
        items = TaskItem.query(keys.FRESHNESS_PK, TaskItem.sk.startswith("TASK#"))
        return [task_from_item(item) for item in items]


__all__ = ["FeedState", "Feeds", "Hold"]
