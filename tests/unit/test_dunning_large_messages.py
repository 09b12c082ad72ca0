"""The limits a large backlog meets: DynamoDB's 100 actions per transaction and 400 KB per item. A
reservation in steps stays within the first; a task of many invoices goes in parts that each fit; a
tick's decisions go in timeline entries that each fit the second."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from arcollect.decisions import KIND, Decision, as_detail, decisions_of
from arcollect.dunning.delivery import DECISIONS_PAGE_BYTES, decision_pages
from arcollect.entities import Activity
from arcollect.store.base import TRANSACTION_ITEMS
from arcollect.store.claims import chunk_size
from arcollect.store.touch_ledger import TouchLedger
from arcollect.store.touches import InvoiceState

AT = datetime(2026, 12, 8, 14, tzinfo=UTC)


def test_each_step_of_a_reservation_fits_one_transaction() -> None:
    # An email's step: the customer's check, the email item's update, two actions per invoice
    assert chunk_size(1) == 49 and TRANSACTION_ITEMS == 1 + 1 + 2 * 49
    # A text's step checks the number's opt-out too
    assert chunk_size(2) == 48 and TRANSACTION_ITEMS >= 2 + 1 + 2 * 48


def test_a_task_of_many_invoices_is_parts_that_each_fit_one_transaction() -> None:
    states = [InvoiceState(f"BL/2026/{i:04d}", ("golive_statement", "firm"), None) for i in range(120)]
    parts = TouchLedger.task_parts(states)
    assert [s for part in parts for s in part] == states  # every invoice in exactly one part, in order
    assert len(parts) == 4
    for part in parts:
        assert 2 + sum(len(s.steps) + 1 for s in part) <= TRANSACTION_ITEMS
    # A task that fits is one part, as it always was
    assert TouchLedger.task_parts(states[:10]) == [states[:10]]


def test_a_ticks_decisions_over_one_items_size_are_several_entries_saying_the_same() -> None:
    decisions = [
        Decision(
            f"BL/2026/{i:04d}", f"step{j}", "skipped", "overtaken by the firmer step golive_statement " * 5
        )
        for i in range(120)
        for j in range(12)
    ]
    activity = Activity(
        customer_id="Backlog & Co",
        at=AT,
        activity_id="decisions-20261208T140000",
        kind=KIND,
        summary="Dunning sweep",
        detail={"policy": "standard", "decisions": as_detail(decisions)},
    )
    assert len(activity.detail["decisions"].encode()) > 400_000
    pages = decision_pages(activity)
    assert len(pages) > 1
    assert pages[0].activity_id == activity.activity_id
    assert len({p.activity_id for p in pages}) == len(pages)
    for page in pages:
        assert len(page.detail["decisions"].encode()) <= DECISIONS_PAGE_BYTES
        json.loads(page.detail["decisions"])
    assert [d for page in pages for d in decisions_of(page)] == decisions
    # A small entry is recorded as it is
    small = Activity(**{**activity.__dict__, "detail": {"decisions": as_detail(decisions[:3])}})
    assert decision_pages(small) == [small]
