"""Who works a customer's tasks: the collector it was given before, else the segment's next in turn."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from arcollect.store import keys
from arcollect.store.base import put_once, translated
from arcollect.store.models import AssigneeItem, CounterItem


class Assignments:
    """The customers' collectors (``ASSIGNEE``) and the segments' round-robin counters."""

    @translated
    def assigned(self, customer_id: str) -> str | None:
        try:
            item = AssigneeItem.get(keys.customer_pk(customer_id), keys.assignment_sk(), consistent_read=True)
        except AssigneeItem.DoesNotExist:
            return None
        return str(item.assignee)

    @translated
    def assign_in_turn(self, customer_id: str, segment: str, collectors: Sequence[str], at: datetime) -> str:
        """The customer's collector: the one it was given before, else the segment's next in turn
        (kept for the customer, so all of its tasks go to one person)."""
        if (known := self.assigned(customer_id)) is not None:
            return known
        counter = CounterItem(keys.round_robin_pk(segment), "COUNTER")
        counter.update(actions=[CounterItem.value.add(1)])
        pick = collectors[(int(counter.value) - 1) % len(collectors)]
        if put_once(
            AssigneeItem(keys.customer_pk(customer_id), keys.assignment_sk(), assignee=pick, assigned_at=at)
        ):
            return pick
        return self.assigned(customer_id) or pick  # another task of the customer got there first
