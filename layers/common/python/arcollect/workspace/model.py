"""What the collector workspace shows and takes: views of the worklist, the customer 360 and disputes,
the outcomes a collector records, and the errors the staff console turns into messages.

Plain frozen values, like ``arcollect.entities``: the staff console renders them, tests build them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

# Dispute statuses are domain (arcollect.disputes); these names stay for the staff console until it
# imports them from there.
from arcollect.entities import Customer, Invoice, Payment, Promise
from arcollect.outlook import PayOutlook
from arcollect.priority import PriorityReason
from arcollect.send_times import SlotChoice


class CallOutcome(StrEnum):
    """What came of working a task (a call, mostly); each one updates the account (see ``outcomes``)."""

    REACHED = "reached"
    VOICEMAIL = "voicemail"
    NO_ANSWER = "no_answer"
    PROMISE_TAKEN = "promise_taken"
    DISPUTE_LOGGED = "dispute_logged"
    WRONG_CONTACT = "wrong_contact"
    # Decisions on the policy's decision tasks, which the ERP carries out (the change feed tells it).
    CREDIT_HOLD = "credit_hold"
    AGENCY = "agency"


class WorkspaceInputError(ValueError):
    """Input the workspace cannot take; ``field`` names the form field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class WorkspaceNotFound(LookupError):
    """No such customer, task or dispute."""


class WorkspaceConflict(RuntimeError):
    """Someone changed it first (a task already worked, a dispute already moved): reload and retry."""


class NotAllowed(PermissionError):
    """The signed-in staff member's groups do not allow this (a collector asking for manager views)."""


@dataclass(frozen=True)
class WorkItem:
    """One open task on a collector's worklist, scored as of today."""

    customer_id: str
    customer_name: str
    task_id: str
    kind: str
    title: str
    assignee: str
    score: int
    reasons: tuple[PriorityReason, ...]
    created_at: datetime
    due_on: date
    overdue: bool
    past_due_amount: Decimal
    currency: str
    days_past_due: int
    invoice_numbers: tuple[str, ...]
    attempts: int = 0
    phone: str | None = None


@dataclass(frozen=True)
class Workload:
    """One collector's open work, for the manager's team view."""

    assignee: str
    open_tasks: int
    overdue_tasks: int
    due_today: int
    top_score: int
    past_due: dict[str, Decimal]  # by currency (a score orders work; money is never added across them)
    by_kind: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskView:
    customer_id: str
    task_id: str
    kind: str
    title: str
    status: str
    assignee: str
    created_at: datetime
    due_on: date | None
    outcome: str | None = None
    closed_at: datetime | None = None
    attempts: int = 0
    detail: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DisputeView:
    customer_id: str
    dispute_id: str
    invoice_number: str
    reason: str
    comment: str
    status: str
    created_at: datetime
    department: str | None
    sla_days: int
    age_days: int
    overdue: bool  # older than its SLA and not yet resolved
    resolution_note: str | None = None
    credit_amount: Decimal | None = None
    resolved_at: datetime | None = None
    attachment_key: str | None = None
    # A deduction's residual when it was coded (None: a dispute of the invoice).
    amount: Decimal | None = None
    # The invoice's currency, for its amounts (None: not looked up, as in the dispute queue).
    currency: str | None = None


@dataclass(frozen=True)
class PromiseView:
    customer_id: str
    promise_id: str
    invoice_numbers: tuple[str, ...]
    promised_until: date
    amount: Decimal | None
    currency: str | None
    status: str
    created_at: datetime
    source: str  # portal | collector
    paid_amount: Decimal = Decimal(0)


@dataclass(frozen=True)
class AgingLine:
    currency: str
    buckets: dict[str, Decimal]  # arcollect.aging.AGING_BUCKETS -> open amount
    total: Decimal


@dataclass(frozen=True)
class RiskIndicators:
    """How this customer pays: days late on paid invoices, its trend, and how promises go."""

    average_days_late: float | None  # over every paid invoice we know the paid date of
    recent_average_days_late: float | None  # the last 90 days' payments
    earlier_average_days_late: float | None  # the 90 days before those
    trend: str  # improving | worsening | steady | unknown
    promises_kept: int
    promises_broken: int
    promise_kept_rate: float | None
    risk_class: str  # low | medium | high: what the priority score uses
    erp_risk: str | None  # the ERP's own class, when the master data has one


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str
    summary: str
    detail: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Account360:
    """Everything about one customer on one screen (one query of the customer's partition)."""

    customer: Customer
    open_invoices: tuple[Invoice, ...]
    closed_invoices: tuple[Invoice, ...]
    aging: tuple[AgingLine, ...]
    payments: tuple[Payment, ...]
    promises: tuple[PromiseView, ...]
    disputes: tuple[DisputeView, ...]
    tasks: tuple[TaskView, ...]
    timeline: tuple[TimelineEntry, ...]  # newest first
    risk: RiskIndicators
    paused_until: date | None
    as_of: date
    # Where dunning stands for each open invoice ("paused until ...: promise to pay by ...").
    dunning_status: dict[str, str] = field(default_factory=dict)
    # The policy that works the customer today, and its arm when a champion/challenger test is in force.
    dunning_policy: str = ""
    test_arm: str | None = None
    test_name: str | None = None
    # Each open invoice's predicted pay date with its factors (by number), as the newest report run
    # left it; an invoice without one is not shown a prediction.
    predictions: dict[str, PayOutlook] = field(default_factory=dict)
    # The hour today's reminder would go in, and why, when the policy learns send times.
    send_slot: SlotChoice | None = None


@dataclass(frozen=True)
class ReportLink:
    key: str
    size: int
    last_modified: datetime
    url: str  # presigned GET, short-lived


@dataclass(frozen=True)
class OutcomeReceipt:
    task_id: str
    outcome: str
    task_closed: bool
    follow_up_on: date | None = None
    promise: Promise | None = None
    dispute_id: str | None = None
    fix_contact_task: str | None = None
