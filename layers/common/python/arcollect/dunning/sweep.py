"""The hourly sweep's bookkeeping: one run per scheduled time, recognised when a tick repeats."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from arcollect.contract import FunctionName
from arcollect.entities import SweepRun
from arcollect.observability import logger


class RunRegister(Protocol):
    def start(self, run: SweepRun) -> bool: ...


@dataclass(frozen=True)
class SweepResult:
    scheduled_at: datetime
    due_items: int
    duplicate: bool


def run_sweep(*, scheduled_at: datetime, now: datetime, due_items: int, runs: RunRegister) -> SweepResult:
    """Record the sweep for ``scheduled_at``; a repeated tick for the same time is recognised."""
    started = runs.start(
        SweepRun(
            function=FunctionName.DUNNING, scheduled_at=scheduled_at, started_at=now, due_items=due_items
        )
    )
    logger.info(
        "dunning sweep",
        extra={"scheduled_at": scheduled_at.isoformat(), "due_items": due_items, "duplicate": not started},
    )
    return SweepResult(scheduled_at=scheduled_at, due_items=due_items, duplicate=not started)
