"""The hourly sweep: read what is due from the sparse index, and work each customer once.

A small run works its customers inline. A large one (more due customers than ``INLINE_CUSTOMERS``)
fans them out through the dunning queue, one message per customer, carrying the due invoices as the
index returned them, so a worker reads nothing twice; the fresh-state check happens anyway, in the
conditional writes that reserve each touch. ``preview`` evaluates the same customers and writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from arcollect.clock import format_instant, parse_instant
from arcollect.contract import FunctionName
from arcollect.dunning.delivery import RunReport, Services, process_customer
from arcollect.dunning.engine import CustomerPlan, evaluate
from arcollect.entities import Customer, Invoice, SweepRun
from arcollect.observability import logger
from arcollect.store.dunning import DueWork, customer_from_snapshot, snapshot_of

# Up to this many due customers a sweep works inline; more go through the queue to parallel workers.
INLINE_CUSTOMERS = 25


class SweepStore(Protocol):
    def due(self, now: datetime) -> DueWork: ...

    def customers(self, customer_ids: Sequence[str]) -> dict[str, Customer]: ...


class RunRegister(Protocol):
    def start(self, run: SweepRun) -> bool: ...


class Queue(Protocol):
    def send(self, messages: list[dict[str, Any]]) -> None: ...


class MalformedWork(ValueError):
    """A dunning queue message that is not the sweep's work item."""


@dataclass(frozen=True)
class WorkItem:
    """One customer's work, as the sweep hands it to a worker."""

    at: datetime
    customer_id: str
    invoices: tuple[Invoice, ...]
    customer_due: bool = False
    # The profile when the sweep already knows it (a copy kept beside the invoices, or the profile item
    # itself), so the worker reads nothing; ``from_snapshot`` says it is a copy, checked when written.
    customer: Customer | None = None
    from_snapshot: bool = False


@dataclass
class SweepResult:
    scheduled_at: datetime
    due_items: int
    duplicate: bool
    customers: int
    fanned_out: int = 0
    report: RunReport = field(default_factory=RunReport)

    def as_dict(self) -> dict[str, object]:
        return {
            "scheduled_at": format_instant(self.scheduled_at),
            "due_items": self.due_items,
            "duplicate": self.duplicate,
            "customers": self.customers,
            "fanned_out": self.fanned_out,
            **self.report.as_dict(),
        }


def run_sweep(
    *,
    scheduled_at: datetime,
    store: SweepStore,
    runs: RunRegister,
    services: Services,
    queue: Queue | None,
    inline_limit: int = INLINE_CUSTOMERS,
) -> SweepResult:
    """One tick. A repeated tick (at-least-once delivery) runs again: every touch is idempotent, and a
    first run that crashed half-way is completed by the repeat."""
    now = scheduled_at
    due = store.due(now)
    started = runs.start(
        SweepRun(
            function=FunctionName.DUNNING,
            scheduled_at=scheduled_at,
            started_at=now,
            due_items=due.items_read,
        )
    )
    work = [
        WorkItem(
            now,
            customer_id,
            tuple(due.invoices.get(customer_id, ())),
            customer_id in due.customers,
            due.profiles.get(customer_id),
            customer_id in due.snapshots,
        )
        for customer_id in due.customer_ids
    ]
    result = SweepResult(scheduled_at, due.items_read, not started, len(work))
    if queue is not None and len(work) > inline_limit:
        queue.send([work_message(item) for item in work])
        result.fanned_out = len(work)
    else:
        failed = work_customers(work, store=store, services=services, report=result.report)
        if failed and queue is not None:
            # Retried through the queue, with its redrive policy and dead-letter queue.
            queue.send([work_message(item) for item in failed])
            result.fanned_out = len(failed)
        elif failed:
            raise RuntimeError(f"dunning failed for {len(failed)} customer(s): see the logs")
    logger.info("dunning sweep", extra=result.as_dict())
    return result


def work_customers(
    work: Sequence[WorkItem], *, store: SweepStore, services: Services, report: RunReport
) -> list[WorkItem]:
    """Work each customer; one customer's failure does not stop the others. Returns the failed ones."""
    # Only the profiles the sweep does not know yet are read, in batches.
    unknown = [item.customer_id for item in work if item.customer is None]
    profiles = store.customers(unknown) if unknown else {}
    failed: list[WorkItem] = []
    for item in work:
        try:
            report.absorb(
                process_customer(
                    customer_id=item.customer_id,
                    customer=item.customer or profiles.get(item.customer_id),
                    invoices=item.invoices,
                    now=item.at,
                    services=services,
                    customer_due=item.customer_due,
                    from_snapshot=item.from_snapshot,
                )
            )
        except Exception:
            logger.exception("dunning a customer failed", extra={"customer_id": item.customer_id})
            report.failed_customers += 1
            failed.append(item)
    return failed


def preview(*, at: datetime, store: SweepStore, services: Services) -> list[CustomerPlan]:
    """What a sweep at ``at`` would do, customer by customer, without writing or sending anything."""
    due = store.due(at)
    # A preview reads every profile afresh: it is asked for rarely and must say what a sweep would do.
    profiles = store.customers(due.customer_ids) if due.customer_ids else {}
    return [
        evaluate(
            customer_id=customer_id,
            customer=profiles.get(customer_id),
            invoices=due.invoices.get(customer_id, []),
            now=at,
            policies=services.policies,
            calendar=services.calendar,
            customer_due=customer_id in due.customers,
        )
        for customer_id in due.customer_ids
    ]


def plan_as_dict(plan: CustomerPlan) -> dict[str, Any]:
    """A plan as the preview prints it: what would be sent and created, and why."""
    return {
        "customer_id": plan.customer_id,
        "segment": plan.segment,
        "policy": plan.policy,
        "time_zone": plan.zone,
        "email": None
        if plan.email is None
        else {
            "template": plan.email.template,
            "step": plan.email.step_id,
            "to": list(plan.email.recipients),
            "invoice_numbers": list(plan.email.invoice_numbers),
            "touches": [f"{t.invoice_number}:{t.step_id}" for t in plan.email.touches],
        },
        "tasks": [
            {
                "kind": task.kind,
                "step": task.step_id,
                "title": task.title,
                "priority": task.priority.value,
                "assignee": task.assignee,
                "invoice_numbers": list(task.all_invoice_numbers),
            }
            for task in plan.tasks
        ],
        "decisions": [
            {"invoice": n.invoice_number, "outcome": n.outcome.value, "step": n.step_id, "why": n.reason}
            for n in plan.notes
        ],
        "next_looks": {r.invoice_number: _instant(r.next_action_at) for r in plan.reschedules},
    }


def _instant(value: datetime | None) -> str | None:
    return format_instant(value) if value else None


# --- the queue's message format --------------------------------------------------------------------

_DATES = ("invoice_date", "due_date", "paid_date", "closed_on", "promised_until")
_INSTANTS = ("next_action_at", "source_as_of", "last_touch_at")
_MONEY = ("amount", "open_amount", "credit_agreed")
# Money the ERP may leave unstated: None survives the queue as None.
_OPTIONAL_MONEY = ("erp_open_amount",)


def work_message(item: WorkItem) -> dict[str, Any]:
    return {
        "kind": "dunning_customer",
        "at": format_instant(item.at),
        "customer_id": item.customer_id,
        "customer_due": item.customer_due,
        "invoices": [_invoice_json(invoice) for invoice in item.invoices],
        "customer": snapshot_of(item.customer) if item.customer is not None else None,
        "from_snapshot": item.from_snapshot,
    }


def parse_work(body: Any) -> WorkItem:
    if not isinstance(body, dict) or body.get("kind") != "dunning_customer":
        raise MalformedWork(f"not a dunning work item: {str(body)[:200]}")
    try:
        return WorkItem(
            at=parse_instant(str(body["at"]), what="at"),
            customer_id=str(body["customer_id"]),
            invoices=tuple(_invoice_from_json(raw) for raw in body.get("invoices") or []),
            customer_due=bool(body.get("customer_due")),
            customer=customer_from_snapshot(body["customer"]) if body.get("customer") else None,
            # A copy that does not survive the trip is read again: never treated as the profile itself.
            from_snapshot=bool(body.get("from_snapshot")) or bool(body.get("customer")),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise MalformedWork(f"dunning work item is malformed: {error}") from error


def _invoice_json(invoice: Invoice) -> dict[str, Any]:
    data: dict[str, Any] = dict(vars(invoice))
    for name in _DATES:
        data[name] = data[name].isoformat() if data[name] else None
    for name in _INSTANTS:
        data[name] = format_instant(data[name]) if data[name] else None
    for name in _MONEY:
        data[name] = str(data[name])
    for name in _OPTIONAL_MONEY:
        data[name] = None if data[name] is None else str(data[name])
    data["steps_done"] = list(invoice.steps_done)
    return data


def _invoice_from_json(raw: dict[str, Any]) -> Invoice:
    data = dict(raw)
    for name in _DATES:
        data[name] = date.fromisoformat(data[name]) if data.get(name) else None
    for name in _INSTANTS:
        data[name] = parse_instant(data[name]) if data.get(name) else None
    for name in _MONEY:
        if name in data:
            data[name] = Decimal(str(data[name]))
    for name in _OPTIONAL_MONEY:
        data[name] = None if data.get(name) is None else Decimal(str(data[name]))
    data["steps_done"] = tuple(data.get("steps_done") or ())
    return Invoice(**data)
