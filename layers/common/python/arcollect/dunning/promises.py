"""When dunning looks again at invoices under a promise to pay: a rule the portal, the staff console and
the sweep share."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from arcollect.calendar import Calendar, resolve_zone
from arcollect.entities import Promise

if TYPE_CHECKING:
    from arcollect.policy import PolicySet


def promise_to_pay(
    promise: Promise, *, policies: PolicySet, calendar: Calendar, zone_name: str | None
) -> datetime:
    """When a promise's invoices are next looked at: the day after the promised date plus grace."""
    zone, _ = resolve_zone(zone_name, policies.settings.time_zone)
    end = promise.promised_until + timedelta(days=policies.settings.promise_grace_days + 1)
    return calendar.day_start(end, zone)
