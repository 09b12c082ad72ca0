"""A collector's holds and pauses of a customer's dunning, written with the fingerprint they move (so
the sweep's copies of the profile go stale and it reads the profile again)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from arcollect.entities import Activity, Customer
from arcollect.staff import StaffUser
from arcollect.workspace.desk import Desk, checked_text, new_id
from arcollect.workspace.model import WorkspaceConflict, WorkspaceInputError

MAX_PAUSE_DAYS = 90


def pause(desk: Desk, customer_id: str, *, until: str, reason: str, by: StaffUser, now: datetime) -> date:
    """Pause dunning for the customer until a date (inclusive); returns the date."""
    customer = desk.customer(customer_id)
    today = desk.today(now, customer)
    try:
        day = date.fromisoformat((until or "").strip())
    except ValueError:
        raise WorkspaceInputError("until", f"{until!r} is not a date (YYYY-MM-DD)") from None
    if day < today:
        raise WorkspaceInputError("until", "the pause must end today or later")
    if day > today + timedelta(days=MAX_PAUSE_DAYS):
        raise WorkspaceInputError("until", f"at most {MAX_PAUSE_DAYS} days ahead: use a hold for longer")
    why = checked_text(reason, "reason", required=True, limit=300)
    after = replace(customer, paused_until=day, hold_reason=why)
    write_hold(desk, customer, after, f"{by.name} paused dunning until {day.isoformat()}: {why}", by, now)
    return day


def set_hold(desk: Desk, customer_id: str, *, hold: bool, reason: str, by: StaffUser, now: datetime) -> None:
    """Put the customer on dunning hold (no reminders, no dunning tasks) or release the hold (and a
    pause)."""
    customer = desk.customer(customer_id)
    why = checked_text(reason, "reason", required=hold, limit=300)
    if hold:
        after = replace(customer, collector_hold=True, hold_reason=why)
        summary = f"{by.name} put the customer on dunning hold: {why}"
    else:
        after = replace(customer, collector_hold=False, paused_until=None, hold_reason=None)
        summary = f"{by.name} released the dunning hold" + (f": {why}" if why else "")
    write_hold(desk, customer, after, summary, by, now)


def write_hold(
    desk: Desk, before: Customer, after: Customer, summary: str, by: StaffUser, now: datetime
) -> None:
    activity = Activity(
        customer_id=before.customer_id,
        at=now,
        activity_id=f"hold-{new_id()}",
        kind="dunning_hold",
        summary=summary,
        detail={"by": by.username},
    )
    if not desk.store.set_customer_hold(before, after, activity):
        raise WorkspaceConflict("the customer's profile changed meanwhile: reload and try again")
