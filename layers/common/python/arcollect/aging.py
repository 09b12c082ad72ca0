"""Aging buckets: how late an open item is, in the bands collections practice reports (current, 1-30,
31-60, 61-90, 91+ days past due). One rule for the KPI report, the portal's account page and the
collector's customer 360; each surface words the bands itself."""

from __future__ import annotations

from typing import Final

AGING_BUCKETS: Final = ("current", "d1_30", "d31_60", "d61_90", "d91_plus")


def aging_bucket(days_past_due: int) -> str:
    """Aging bucket of an open item by its days past due at the as-of date."""
    if days_past_due <= 0:
        return "current"
    if days_past_due <= 30:
        return "d1_30"
    if days_past_due <= 60:
        return "d31_60"
    if days_past_due <= 90:
        return "d61_90"
    return "d91_plus"
