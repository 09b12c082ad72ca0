"""Rate-limit counters on the single table: ``RATE#<kind>#<sha256 of the key>#<window start>`` /
``RATE``, counted with an atomic ADD and removed by the table's TTL two windows later. The portal's
fresh-link requests and the staff console's sign-in posts count here."""

from __future__ import annotations

from datetime import datetime, timedelta

from arcollect.clock import format_instant
from arcollect.store.keys import rate_counter_pk
from arcollect.store.models import RateCounterItem


def count(kind: str, key: str, window_start: datetime, window: timedelta) -> int:
    """Count one request of ``kind`` by ``key`` in the window starting at ``window_start``; the count
    so far, this one included."""
    item = RateCounterItem(rate_counter_pk(kind, key, format_instant(window_start)), "RATE")
    item.update(
        actions=[
            RateCounterItem.hits.add(1),
            RateCounterItem.expires_at.set(int((window_start + 2 * window).timestamp())),
        ]
    )
    return int(item.hits or 0)
