"""The hourly sweep: read what is due from the sparse index, and work each customer once.

A small run works its customers inline. A large one (more due customers than ``INLINE_CUSTOMERS``)
fans them out through the dunning queue, one message per customer, carrying the due invoices as the
index returned them, so a worker reads nothing twice; the fresh-state check happens anyway, in the
conditional writes that reserve each touch. ``preview`` evaluates the same customers and writes nothing.

Before any of it, the sweep checks the ERP's feeds (dunning/freshness.py): while one is too old, it holds
every invoice (no reminder, no task, no promise settled: they all depend on balances) and works only the
customers whose anniversary check-in is due; the held invoices stay due and are worked, catching up
without a burst, at the first tick after a current file arrives. The hold alerts the manager once a day
(an email and a task) and is recorded: each day it held, and when it ended.

Time: the tick's scheduled time is ``now`` here and all the way down (``run_sweep(now=...)``,
``WorkItem.now``, ``process_customer(now=...)``, the engine's ``evaluate(now=...)`` and ``plan.now``).
On the queue a work item's ``now`` travels as the message's ``at`` (the wire name, unchanged):
``work_message`` writes it, ``parse_work`` reads it back into ``WorkItem.now``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from arcollect.clock import format_instant, parse_instant
from arcollect.contract import FunctionName
from arcollect.dunning.delivery import RunReport, Services, plan_customer, process_customer
from arcollect.dunning.engine import CustomerPlan
from arcollect.dunning.freshness import hold_alert, hold_task
from arcollect.dunning.plans import settle_plans
from arcollect.entities import Activity, Customer, Invoice, SweepRun, Task
from arcollect.freshness import FeedCheck, check_feeds
from arcollect.observability import logger
from arcollect.plans import InstalmentReminder
from arcollect.store.dunning import DueWork, customer_from_snapshot, snapshot_of
from arcollect.store.feeds import FeedState, Hold

# The schedule's period: the freshness hold records a customer held when its invoices came due since.
TICK = timedelta(hours=1)
# Up to this many due customers a sweep works inline; more go through the queue to parallel workers.
INLINE_CUSTOMERS = 25


class SweepStore(Protocol):
    def due(self, now: datetime) -> DueWork: ...

    def customers(self, customer_ids: Sequence[str]) -> dict[str, Customer]: ...


class RunRegister(Protocol):
    def start(self, run: SweepRun) -> bool: ...


class Queue(Protocol):
    def send(self, messages: list[dict[str, Any]]) -> None: ...


class FeedLedger(Protocol):
    """The feeds' newest files and the freshness hold's state, record and tasks (store/feeds.py)."""

    def state(self) -> FeedState: ...

    def hold(self, hold: Hold) -> None: ...

    def add_task(self, task: Task) -> bool: ...

    def record(self, activity: Activity) -> bool: ...

    def release(self, hold: Hold, activity: Activity, at: datetime) -> bool: ...

    def close_tasks(self, task_ids: Iterable[str], at: datetime, outcome: str) -> None: ...

    def record_held(self, activities: Iterable[Activity]) -> int: ...


class MalformedWork(ValueError):
    """A dunning queue message that is not the sweep's work item."""


@dataclass(frozen=True)
class WorkItem:
    """One customer's work, as the sweep hands it to a worker."""

    # The tick's time, the sweep's "now" (in the queue's message: ``at``).
    now: datetime
    customer_id: str
    invoices: tuple[Invoice, ...]
    customer_due: bool = False
    # The profile when the sweep already knows it (a copy kept beside the invoices, or the profile item
    # itself), so the worker reads nothing; ``from_snapshot`` says it is a copy, checked when written.
    customer: Customer | None = None
    from_snapshot: bool = False


@dataclass
class SweepResult:
    # The tick's time, the sweep's "now" (in the result: ``scheduled_at``).
    now: datetime
    due_items: int
    duplicate: bool
    customers: int
    fanned_out: int = 0
    report: RunReport = field(default_factory=RunReport)
    # Why the freshness hold held this tick (None: the feeds are current), and how many due invoices
    # it left for a later tick.
    held: str | None = None
    held_invoices: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "scheduled_at": format_instant(self.now),
            "due_items": self.due_items,
            "duplicate": self.duplicate,
            "customers": self.customers,
            "fanned_out": self.fanned_out,
            "held": self.held,
            "held_invoices": self.held_invoices,
            **self.report.as_dict(),
        }


def run_sweep(
    *,
    now: datetime,
    store: SweepStore,
    runs: RunRegister,
    services: Services,
    queue: Queue | None,
    inline_limit: int = INLINE_CUSTOMERS,
    feeds: FeedLedger | None = None,
    console_url: str | None = None,
) -> SweepResult:
    """One tick at ``now``, its scheduled time. A repeated tick (at-least-once delivery) runs again:
    every touch is idempotent, and a first run that crashed half-way is completed by the repeat. With
    ``feeds`` the freshness hold applies (see the module docstring); ``console_url`` is where the hold's
    alert sends the manager."""
    watch = watch_feeds(now, feeds, services, console_url) if feeds is not None else None
    held = watch is not None and watch.held
    due = store.due(now)
    started = runs.start(
        SweepRun(
            function=FunctionName.DUNNING,
            scheduled_at=now,
            started_at=now,
            due_items=due.items_read,
        )
    )
    work = [
        WorkItem(
            now,
            customer_id,
            () if held else tuple(due.invoices.get(customer_id, ())),
            customer_id in due.customers,
            due.profiles.get(customer_id),
            customer_id in due.snapshots,
        )
        for customer_id in due.customer_ids
        # Held: only the anniversary check-ins, which depend on no balance.
        if not held or customer_id in due.customers
    ]
    result = SweepResult(now, due.items_read, not started, len(work))
    if watch is not None and watch.held and feeds is not None:
        result.held = watch.check.reason
        result.held_invoices = sum(len(invoices) for invoices in due.invoices.values())
        feeds.record_held(held_activities(due, watch, now, services.policies.revision))
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


@dataclass(frozen=True)
class FeedWatch:
    """What ``watch_feeds`` found: the feeds' verdict, and whether this tick is the first of its
    business day to hold (it alerted the manager, and records which customers' reminders wait)."""

    check: FeedCheck
    first_of_day: bool = False

    @property
    def held(self) -> bool:
        return self.check.held


def watch_feeds(now: datetime, feeds: FeedLedger, services: Services, console_url: str | None) -> FeedWatch:
    """Check the feeds at ``now`` and keep the hold's state: start it, and on the first held tick of
    each business day give the manager that day's task (closing the day before's) and email, and
    record the day; end it when the feeds are current again (its tasks closed, the release recorded).
    A tick writes only when the hold starts, changes or ends, and on the first held tick of a day.

    The day's writes go task, record, email, hold: a tick that crashes half-way is finished by the
    next one (the task and the record are idempotent; the record gates the email, so it goes once)."""
    state = feeds.state()
    policies = services.policies
    check = check_feeds(state.newest, at=now, freshness=policies.freshness, calendar=services.calendar)
    current = state.hold
    if not check.held:
        if current is not None:
            ended = Activity(
                customer_id="",
                at=now,
                activity_id="dunning-released",
                kind="dunning.released",
                summary=f"dunning released: the feeds are current again (held since "
                f"{format_instant(current.since)}: {current.reason.removeprefix('dunning held: ')})",
                detail={"since": format_instant(current.since), "episode": current.episode},
            )
            if feeds.release(current, ended, now):
                logger.info("dunning released", extra={"since": format_instant(current.since)})
        return FeedWatch(check)
    reason = check.reason or ""
    logger.warning("dunning held", extra={"reason": reason})
    hold = current or Hold(now, check.key, reason)
    if current is not None and current.alerted_on == check.day:
        if current.episode != check.key:
            # Other feeds stale than this morning: the hold says so (the day's alert went already).
            feeds.hold(replace(current, episode=check.key, reason=reason))
        return FeedWatch(check)
    task = hold_task(check, manager=policies.settings.manager)
    feeds.add_task(task)
    day = Activity(
        customer_id="",
        at=services.calendar.day_start(check.day, check.zone),
        activity_id="dunning-held",
        kind="dunning.held",
        summary=reason,
        detail={
            "first_tick": format_instant(now),
            "episode": check.key,
            "since": format_instant(hold.since),
            "policy_revision": policies.revision,
        },
    )
    if feeds.record(day):
        _alert(check, services, console_url)
    earlier = hold.task_ids - {task.task_id}
    if earlier:
        # One open task at a time: today's says all the earlier ones did, and more.
        feeds.close_tasks(earlier, now, "superseded")
    feeds.hold(
        replace(
            hold, episode=check.key, reason=reason, task_ids=frozenset({task.task_id}), alerted_on=check.day
        )
    )
    return FeedWatch(check, first_of_day=True)


def held_activities(due: DueWork, watch: FeedWatch, now: datetime, policy_revision: str) -> list[Activity]:
    """The entries on customers' timelines that say why their reminders did not go while the hold
    lasts ("why didn't this customer get a reminder on Tuesday?"): on the day's first held tick, every
    customer with invoices due; on the later ticks, those with an invoice that came due since the
    tick before (an hour). So a customer gets an entry when its reminder would have gone, not one a
    tick; a tick delivered twice writes its entries once (the same instant and id)."""
    check = watch.check
    newly_due_after = None if watch.first_of_day else now - TICK
    entries = []
    for customer_id, invoices in sorted(due.invoices.items()):
        if not invoices:
            continue
        if newly_due_after is not None and not any(
            invoice.next_action_at is not None and invoice.next_action_at > newly_due_after
            for invoice in invoices
        ):
            continue
        entries.append(
            Activity(
                customer_id=customer_id,
                at=now,
                activity_id=f"held-{now.strftime('%Y%m%dT%H%M')}",
                kind="dunning_held",
                summary=f"No reminder or task: {check.reason} (policy {policy_revision or 'shipped'})",
                detail={
                    "invoices": ", ".join(sorted(i.invoice_number for i in invoices)),
                    "reason": check.reason or "",
                    "episode": check.key,
                    "policy_revision": policy_revision,
                },
            )
        )
    return entries


def _alert(check: FeedCheck, services: Services, console_url: str | None) -> None:
    """The day's email to the manager. Not sent is logged, never raised: the hold itself, its record
    and the day's task stand without it."""
    policies = services.policies
    contact = policies.contact(policies.settings.manager)
    if contact is None or not contact.email:
        logger.warning(
            "freshness hold not emailed: the policy's manager has no email in `team`",
            extra={"manager": policies.settings.manager},
        )
        return
    raw = hold_alert(check, sender=services.sender, to=contact.email, console_url=console_url)
    try:
        services.mailer.send(
            sender=services.sender, to=[contact.email], raw=raw, tags={"arcollect-kind": "freshness-hold"}
        )
    except Exception:
        # (Addresses stay out of the logs: the policy's team names who it was for.)
        logger.exception("freshness hold alert not sent to the manager")


def work_customers(
    work: Sequence[WorkItem],
    *,
    store: SweepStore,
    services: Services,
    report: RunReport,
    held: bool = False,
) -> list[WorkItem]:
    """Work each customer; one customer's failure does not stop the others. Returns the failed ones.
    ``held`` (the freshness hold): work only the anniversary check-ins, leave every invoice due."""
    if held:
        work = [replace(item, invoices=()) for item in work if item.customer_due]
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
                    now=item.now,
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


def preview(*, now: datetime, store: SweepStore, services: Services) -> list[CustomerPlan]:
    """What a sweep at ``now`` would do, customer by customer, without writing or sending anything."""
    due = store.due(now)
    # A preview reads every profile afresh: it is asked for rarely and must say what a sweep would do.
    profiles = store.customers(due.customer_ids) if due.customer_ids else {}
    plans = []
    for customer_id in due.customer_ids:
        customer = profiles.get(customer_id)
        invoices = list(due.invoices.get(customer_id, []))
        instalments: list[InstalmentReminder] = []
        if services.plans is not None:
            # The payment plans as the sweep would find them, nothing settled (a preview writes nothing).
            invoices, instalments = settle_plans(
                customer_id, customer, invoices, now=now, policies=services.policies, book=services.plans,
                read=services.store.invoices, change_feed=None, outcomes=Counter(), dry_run=True,
            )  # fmt: skip
        plans.append(
            plan_customer(
                customer_id=customer_id,
                customer=customer,
                invoices=invoices,
                now=now,
                services=services,
                customer_due=customer_id in due.customers,
                plans=instalments,
            )
        )
    return plans


def plan_as_dict(plan: CustomerPlan) -> dict[str, Any]:
    """A plan as the preview prints it: what would be sent and created, and why."""
    return {
        "customer_id": plan.customer_id,
        "segment": plan.segment,
        "policy": plan.policy,
        "test": plan.test,
        "arm": plan.arm,
        "time_zone": plan.zone,
        "email": None
        if plan.email is None
        else {
            "template": plan.email.template,
            "step": plan.email.step_id,
            "to": list(plan.email.recipients),
            "invoice_numbers": list(plan.email.invoice_numbers),
            # Listed apart, not yet due, out of the email's count and totals (a statement's).
            "for_information": list(plan.email.for_information),
            "touches": [f"{t.invoice_number}:{t.step_id}" for t in plan.email.touches],
        },
        # The touches another channel carries (the step's ``channels``): a letter, a text message.
        **{
            name: None
            if message is None
            else {
                "channel": message.channel.value,
                "template": message.template,
                "step": message.step_id,
                "to": list(message.recipients),
                "invoice_numbers": list(message.invoice_numbers),
                "for_information": list(message.for_information),
                "touches": [f"{t.invoice_number}:{t.step_id}" for t in message.touches],
            }
            for name, message in (("letter", plan.letter), ("text", plan.text))
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
        "send_slot": None
        if plan.send_slot is None
        else {
            "hour": plan.send_slot.label,
            "exploring": plan.send_slot.exploring,
            "why": plan.send_slot.reason,
        },
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
    """The queue's message of one customer's work; its ``at`` (the wire name) is the item's ``now``."""
    return {
        "kind": "dunning_customer",
        "at": format_instant(item.now),
        "customer_id": item.customer_id,
        "customer_due": item.customer_due,
        "invoices": [_invoice_json(invoice) for invoice in item.invoices],
        "customer": snapshot_of(item.customer) if item.customer is not None else None,
        "from_snapshot": item.from_snapshot,
    }


def parse_work(body: Any) -> WorkItem:
    """A queued message back into its work item: the message's ``at`` is the tick's ``now``."""
    if not isinstance(body, dict) or body.get("kind") != "dunning_customer":
        raise MalformedWork(f"not a dunning work item: {str(body)[:200]}")
    try:
        return WorkItem(
            now=parse_instant(str(body["at"]), what="at"),
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
    data["bounced_steps"] = list(invoice.bounced_steps)
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
    data["bounced_steps"] = tuple(data.get("bounced_steps") or ())
    return Invoice(**data)
