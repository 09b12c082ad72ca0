"""The sweep's decisions about a customer's invoices, as one timeline entry per tick.

Every decision (emailed, task made, skipped, suppressed, waiting for the send window, not applicable)
keeps its invoice, step and reason, and the entry keeps the policy and its revision, so "why did (or
didn't) this customer get a reminder on Tuesday?" is answered from the timeline: the staff console's
360 view lists them, ``arcollect show customer ID`` returns them under ``dunning_decisions``.

The entry's detail holds the decisions as JSON (a timeline detail is a map of strings): invoice
numbers hold spaces, colons and slashes, so a line of text could not be read back reliably.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Final, Protocol

KIND: Final = "dunning_decisions"


@dataclass(frozen=True)
class Decision:
    """One decision: ``invoice_number`` None for the customer as a whole (a check-in, a hold)."""

    invoice_number: str | None
    step: str | None
    outcome: str
    reason: str

    def line(self) -> str:
        return f"{self.invoice_number or '(customer)'} {self.step or '-'}: {self.outcome}: {self.reason}"


def as_detail(decisions: list[Decision]) -> str:
    return json.dumps([asdict(d) for d in decisions], ensure_ascii=False, separators=(",", ":"))


class Entry(Protocol):
    """A timeline entry: the store's ``Activity`` or the 360 view's ``TimelineEntry``."""

    @property
    def kind(self) -> str: ...

    @property
    def detail(self) -> Mapping[str, str]: ...


def decisions_of(activity: Entry) -> list[Decision]:
    """The decisions a ``dunning_decisions`` entry records (none for any other entry)."""
    if activity.kind != KIND:
        return []
    try:
        found: Any = json.loads(activity.detail.get("decisions") or "[]")
    except ValueError:
        return []
    return [
        Decision(d.get("invoice_number"), d.get("step"), str(d.get("outcome", "")), str(d.get("reason", "")))
        for d in found
        if isinstance(d, dict)
    ]
