"""The staff console's status page (managers only) and the freshness hold's task on the worklist, with
an in-memory status board: no AWS. The same facts through moto are in tests/integration/test_cli_status.py."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from arcollect.calendar import Calendar
from arcollect.console import StaffConsole
from arcollect.entities import Activity, FeedFile
from arcollect.freshness import STALE_FEED
from arcollect.policy import shipped_policy
from arcollect.portal.web import build_app
from arcollect.store.errors import StoreError
from arcollect.store.feeds import FeedState, Hold
from arcollect.store.operations import ReportRun
from arcollect.workspace.model import NotAllowed
from arcollect.workspace.status import StatusBoard
from tests.unit.portal_fake import FakePortal
from tests.unit.test_staff_web import StaffClient
from tests.unit.workspace_fake import CORA, MAX, NOW, FakeDirectory, FakeSessions, FakeWorkspace, work_item

PAYMENTS = FeedFile(
    "payments",
    "incoming/payments/erp-<Friday>.csv",
    "v1",
    datetime(2026, 11, 13, 23, 59, 59, tzinfo=UTC),
    datetime(2026, 11, 14, 6, tzinfo=UTC),
)
INVOICES = FeedFile(
    "invoices", "incoming/invoices/today.csv", "v1", NOW.replace(hour=5), NOW.replace(hour=5, minute=30)
)


class FakeFeeds:
    def __init__(self, state: FeedState, history: list[Activity] | None = None) -> None:
        self._state = state
        self._history = history or []

    def state(self) -> FeedState:
        return self._state

    def history(self, limit: int = 14) -> list[Activity]:
        return self._history[:limit]


class FakeQueues:
    def depth(self, queue_url: str) -> int:
        if "broken" in queue_url:
            raise StoreError("AccessDenied: sqs:GetQueueAttributes")
        return 3 if "ingest" in queue_url else 0


class FakeReports:
    def newest(self, bucket: str) -> ReportRun | None:
        return ReportRun(date(2026, 11, 23), "kpi/2026-11-23/", datetime(2026, 11, 24, 2, tzinfo=UTC), 9)


def board(state: FeedState, history: list[Activity] | None = None) -> StatusBoard:
    return StatusBoard(
        feeds=FakeFeeds(state, history),
        policies=shipped_policy,
        calendar=Calendar(),
        queues=FakeQueues(),
        dead_letter_queues={"ingest": "https://sqs/ingest-dlq", "reports": "https://sqs/broken-dlq"},
        reports=FakeReports(),
        reports_bucket="reports",
    )


HELD = FeedState(
    {"payments": PAYMENTS, "invoices": INVOICES},
    Hold(datetime(2026, 11, 18, 0, tzinfo=UTC), "payments@2026-11-13", "dunning held: ...", frozenset()),
)
RECORD = [
    Activity(
        "", datetime(2026, 11, 18, tzinfo=UTC), "dunning-held", "dunning.held", "dunning held: stale <b>"
    )
]


@pytest.fixture
def workspace() -> FakeWorkspace:
    workspace = FakeWorkspace()
    workspace.worklists["max"] = [
        work_item(
            f"{STALE_FEED}-20261124",
            0,
            customer_id="",
            customer_name="",
            kind=STALE_FEED,
            title="The ERP's payments feed is stale: reminders are on hold until a current file arrives",
            invoice_numbers=(),
        )
    ]
    return workspace


def client_with(status: StatusBoard | None, workspace: FakeWorkspace) -> StaffClient:
    sessions = FakeSessions()
    console = StaffConsole(workspace=workspace, directory=FakeDirectory(), sessions=sessions, status=status)
    return StaffClient(build_app(FakePortal(), environment_name="test", staff=console), sessions)


def test_the_status_page_shows_the_hold_the_feeds_the_queues_and_the_report(workspace: FakeWorkspace) -> None:
    client = client_with(board(HELD, RECORD), workspace)
    assert client.sign_in("max").status == 303
    page = client.get("/staff/status")
    assert page.status == 200
    html = page.text
    # The facts as of the request (API Gateway's request time, Monday 2026-11-23)
    assert "business day 2026-11-23, UTC" in html
    assert 'data-holding="true"' in html
    assert "stale payments feed (newest file 2026-11-13, 6 business days old; max 2)" in html
    assert "Since 2026-11-18T00:00:00Z" in html
    assert "<code>incoming/payments/erp-&lt;Friday&gt;.csv</code>" in html  # escaped
    assert '<span class="status status--overdue">Stale</span>' in html
    assert '<tr id="dlq-ingest">' in html and '<td class="num">3</td>' in html
    assert "unknown: AccessDenied: sqs:GetQueueAttributes" in html
    assert "As of 2026-11-23: 9 files in <code>kpi/2026-11-23/</code>" in html
    assert "dunning held: stale &lt;b&gt;" in html
    assert 'href="/staff/status" aria-current="page"' in html


def test_current_feeds_are_not_holding(workspace: FakeWorkspace) -> None:
    current = FeedState(
        {"payments": INVOICES.__class__("payments", "p.csv", "v", NOW, NOW), "invoices": INVOICES}
    )
    client = client_with(board(current), workspace)
    client.sign_in("max")
    html = client.get("/staff/status").text
    assert 'data-holding="false"' in html and "Not holding." in html
    assert "Stale</span>" not in html


def test_collectors_may_not_see_the_status_page(workspace: FakeWorkspace) -> None:
    client = client_with(board(HELD), workspace)
    client.sign_in("cora")
    reply = client.get("/staff/status")
    assert reply.status == 403
    assert 'href="/staff/status"' not in client.get("/staff/worklist").text
    with pytest.raises(NotAllowed):
        board(HELD).status(CORA, now=NOW)
    assert board(HELD).status(MAX, now=NOW).holding


def test_without_a_status_board_the_page_says_so(workspace: FakeWorkspace) -> None:
    client = client_with(None, workspace)
    client.sign_in("max")
    assert client.get("/staff/status").status == 503


def test_the_hold_task_on_the_managers_worklist_leads_to_the_status_page(workspace: FakeWorkspace) -> None:
    client = client_with(board(HELD), workspace)
    client.sign_in("max")
    html = client.get("/staff/worklist").text
    assert (
        '<a href="/staff/status">The ERP&#39;s payments feed is stale: reminders are on hold until a current '
        "file arrives</a>" in html
    )
    assert "every customer" in html
    assert 'href="/staff/customers/?' not in html
