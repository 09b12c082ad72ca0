"""What a KPI report reads: the whole table once, sorted into its item types.

A report is a manager's daily file, not a request: one scan (paged by DynamoDB, 1 MB at a time) is the
cheapest way to read every invoice, payment and collections record, and it never touches the hot
partitions of the sweep's index. The items are turned into the domain's values as they arrive.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from arcollect.entities import Activity, Customer, Dispute, Invoice, Payment, Promise, Task
from arcollect.outlook import PayOutlook
from arcollect.plans import PaymentPlan
from arcollect.send_times import RESPONSE_KINDS, SENT_KIND
from arcollect.store.base import translated
from arcollect.store.customers import customer_from_item
from arcollect.store.disputes import dispute_from_item
from arcollect.store.invoices import invoice_from_item
from arcollect.store.models import (
    ActivityItem,
    CustomerItem,
    DisputeItem,
    InvoiceItem,
    PaymentItem,
    PaymentPlanItem,
    PredictionItem,
    PromiseItem,
    SendLedgerItem,
    SendSlotItem,
    TableItem,
    TaskItem,
)
from arcollect.store.payments import payment_from_item
from arcollect.store.plan_book import plan_from_item
from arcollect.store.predictions import outlook_from_item
from arcollect.store.promises import promise_from_item
from arcollect.store.tasks import task_from_item
from arcollect.store.timeline import activity_from_item


@dataclass(frozen=True)
class Touch:
    """One dunning touch of one invoice (an email or a task of a policy step)."""

    customer_id: str
    invoice_number: str
    step: str
    at: datetime


@dataclass
class ReportData:
    invoices: list[Invoice] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    customers: dict[str, Customer] = field(default_factory=dict)
    tasks: list[Task] = field(default_factory=list)
    promises: list[Promise] = field(default_factory=list)
    disputes: list[Dispute] = field(default_factory=list)
    activities: list[Activity] = field(default_factory=list)
    touches: list[Touch] = field(default_factory=list)
    # The predictions an earlier run left in the table (the run replaces them; store/predictions.py).
    predictions: list[PayOutlook] = field(default_factory=list)
    # The as-of day of the newest send-slot records an earlier run kept (store/send_slots.py), if any.
    send_slots_as_of: str | None = None
    # Payment plans (reports/plans.py).
    plans: list[PaymentPlan] = field(default_factory=list)


# Timeline kinds a report counts (the rest of the timeline stays out of memory): SES's outcomes; and,
# only while the policy learns send times, the reminders sent and the responses the learner counts
# (arcollect/send_times.py): on a large table those are most of the timeline.
COUNTED_ACTIVITIES = frozenset({"email_delivery", "email_bounce", "email_complaint"})
SEND_TIME_ACTIVITIES = frozenset({SENT_KIND, *RESPONSE_KINDS})


class ReportReader:
    @translated
    def read(self, *, send_times: bool = False) -> ReportData:
        """The whole table, one scan; ``send_times`` also keeps the timeline the send-time learner reads."""
        return report_data(TableItem.scan(), send_times=send_times)


def report_data(items: Iterable[TableItem], *, send_times: bool = False) -> ReportData:
    """What a report reads of ``items`` (a scan of the table, or a DynamoDB export's: store/exports.py)."""
    data = ReportData()
    counted = COUNTED_ACTIVITIES | SEND_TIME_ACTIVITIES if send_times else COUNTED_ACTIVITIES
    for item in items:
        add_item(data, item, counted)
    return data


def add_item(data: ReportData, item: TableItem, counted: frozenset[str] = COUNTED_ACTIVITIES) -> None:
    """One item into what a report reads, as its domain value (other item types are left out)."""
    if isinstance(item, InvoiceItem):
        data.invoices.append(invoice_from_item(item))
    elif isinstance(item, PaymentItem):
        data.payments.append(payment_from_item(item))
    elif isinstance(item, CustomerItem):
        data.customers[item.customer_id] = customer_from_item(item)
    elif isinstance(item, TaskItem):
        data.tasks.append(task_from_item(item))
    elif isinstance(item, PromiseItem):
        data.promises.append(promise_from_item(item))
    elif isinstance(item, DisputeItem):
        data.disputes.append(dispute_from_item(item))
    elif isinstance(item, ActivityItem) and item.kind in counted:
        data.activities.append(activity_from_item(item))
    elif isinstance(item, PredictionItem):
        data.predictions.append(outlook_from_item(item))
    elif isinstance(item, PaymentPlanItem):
        data.plans.append(plan_from_item(item))
    elif isinstance(item, SendSlotItem):
        data.send_slots_as_of = max(data.send_slots_as_of or "", item.as_of)
    elif isinstance(item, SendLedgerItem):
        data.touches.append(Touch(item.customer_id, item.invoice_number, item.step, item.reserved_at))
