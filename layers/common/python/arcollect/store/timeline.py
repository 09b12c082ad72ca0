"""The timeline's codec: an ``Activity`` to its item and back, with the change feed's records it
carries (written together, in one transaction, wherever an activity is), and the append-once write."""

from __future__ import annotations

from typing import TYPE_CHECKING

from arcollect.entities import Activity
from arcollect.store import keys
from arcollect.store.base import Operation, commit, put_once, retention_expiry
from arcollect.store.models import ActivityItem, ChangeItem, TableItem

if TYPE_CHECKING:
    from arcollect.changes import Change


def activity_item(partition: str, activity: Activity) -> ActivityItem:
    return ActivityItem(
        partition,
        keys.activity_sk(activity.at, activity.activity_id),
        customer_id=activity.customer_id,
        at=activity.at,
        activity_id=activity.activity_id,
        kind=activity.kind,
        summary=activity.summary,
        detail=dict(activity.detail),
        expires_at=retention_expiry(activity.at),
    )


def activity_from_item(item: ActivityItem) -> Activity:
    return Activity(
        customer_id=item.customer_id,
        at=item.at,
        activity_id=item.activity_id,
        kind=item.kind,
        summary=item.summary,
        detail={str(k): str(v) for k, v in item.detail.as_dict().items()} if item.detail else {},
    )


def change_item(change: Change) -> ChangeItem:
    """A change of the ERP feed; saved unconditionally, because the same change always makes the same
    item (its id is derived from what happened), so a repeated write changes nothing."""
    # Imported by the first change written: the ingest function loads the timeline for its entries
    # and writes a change only now and then.
    from arcollect.changes import json_line

    return ChangeItem(
        keys.change_day_pk(change.day.isoformat()),
        keys.change_sk(change.change_id),
        record=json_line(change.record()),
    )


def timeline_items(partition: str, activity: Activity) -> list[TableItem]:
    """The timeline entry and the change feed records it carries: written together, in one
    transaction, wherever an activity is (so no decision reaches the timeline without its changes).
    Every store writes activities through this, ``timeline_writes`` or ``record_once``, never
    ``activity_item`` alone."""
    return [activity_item(partition, activity), *(change_item(c) for c in activity.changes)]


def timeline_writes(customer_id: str, activity: Activity) -> list[Operation]:
    """The customer's timeline entry (and its changes) as operations of a transaction (``base.commit``)."""
    return [("save", item, None) for item in timeline_items(keys.customer_pk(customer_id), activity)]


def record_once(partition: str, activity: Activity) -> bool:
    """Append ``activity`` unless it is there already (False), with its changes in the same
    transaction; an activity without changes stays the single conditional put it always was."""
    if not activity.changes:
        return put_once(activity_item(partition, activity))
    item, *changes = timeline_items(partition, activity)
    return commit([("save_new", item, None), *(("save", change, None) for change in changes)])
