"""Working the worklist: each collector's open tasks scored as of today, the team's workload for
managers, a call's outcome recorded (with the promise, dispute, fix-contact task or hold it brings), and
notes on the timeline."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from arcollect import changes
from arcollect.changes import ChangeKind
from arcollect.entities import Activity, Promise, Task, TaskKind, TaskStatus
from arcollect.priority import Factors, factors_for, score
from arcollect.staff import StaffUser
from arcollect.workspace import credit_control, dispute_cases, holds, promises
from arcollect.workspace.desk import Desk, checked_text, manager_only, new_id, task_invoices
from arcollect.workspace.model import (
    CallOutcome,
    OutcomeReceipt,
    WorkItem,
    Workload,
    WorkspaceConflict,
    WorkspaceInputError,
    WorkspaceNotFound,
)
from arcollect.workspace.outcomes import decide, parse_outcome


def worklist(desk: Desk, assignee: str, *, now: datetime, limit: int = 100) -> list[WorkItem]:
    """``assignee``'s open tasks: those due by today first, highest score first, then the later
    ones by due day. Scored as of today with the task's invoices as they are now."""
    tasks = desk.store.tasks.worklist(assignee)
    return work_items(desk, tasks, now)[:limit]


def work_items(desk: Desk, tasks: list[Task], now: datetime) -> list[WorkItem]:
    today = desk.today(now)
    wanted = {(t.customer_id, n) for t in tasks for n in task_invoices(t)}
    invoices = desk.store.invoices_by_key(wanted)
    # Each invoice's predicted pay date as the newest report run left it: "expected to pay late".
    predicted = desk.store.predictions.by_key(wanted)
    customers = desk.store.customers({t.customer_id for t in tasks})
    items: list[WorkItem] = []
    for task in tasks:
        customer = customers.get(task.customer_id)
        numbers = task_invoices(task)
        live = [invoices[(task.customer_id, n)] for n in numbers if (task.customer_id, n) in invoices]
        if live:
            outlooks = {
                n: predicted[(task.customer_id, n)] for n in numbers if (task.customer_id, n) in predicted
            }
            factors = factors_for(task.kind, live, customer, today, outlooks=outlooks)
        else:
            factors = Factors.from_detail(task.kind, task.detail)
        points, reasons = score(factors, today)
        due_on = task.due_on or task.created_at.date()
        days = (today - factors.oldest_due_on).days if factors.oldest_due_on else 0
        items.append(
            WorkItem(
                customer_id=task.customer_id,
                customer_name=customer.name if customer else task.customer_id,
                task_id=task.task_id,
                kind=task.kind,
                title=task.title,
                assignee=task.assignee or "",
                score=points,
                reasons=reasons,
                created_at=task.created_at,
                due_on=due_on,
                overdue=due_on < today,
                past_due_amount=factors.past_due_amount,
                currency=factors.currency,
                days_past_due=max(0, days),
                invoice_numbers=numbers,
                attempts=task.attempts,
                phone=customer.phone if customer else None,
            )
        )
    return sorted(
        items, key=lambda i: (i.due_on > today, -i.score if i.due_on <= today else 0, i.due_on, i.task_id)
    )


def team_workload(desk: Desk, by: StaffUser, *, now: datetime) -> list[Workload]:
    """Every assignee's open work (managers only), busiest first."""
    manager_only(by)
    today = desk.today(now)
    by_assignee: dict[str, list[Task]] = {}
    for task in desk.store.tasks.all_open_tasks():
        by_assignee.setdefault(task.assignee or "", []).append(task)
    loads: list[Workload] = []
    for assignee, tasks in by_assignee.items():
        scored = [(t, score(Factors.from_detail(t.kind, t.detail), today)[0]) for t in tasks]
        kinds: dict[str, int] = {}
        for task in tasks:
            kinds[task.kind] = kinds.get(task.kind, 0) + 1
        past_due: dict[str, Decimal] = {}
        for task in tasks:
            factors = Factors.from_detail(task.kind, task.detail)
            if factors.past_due_amount:
                past_due[factors.currency] = (
                    past_due.get(factors.currency, Decimal(0)) + factors.past_due_amount
                )
        loads.append(
            Workload(
                assignee=assignee,
                open_tasks=len(tasks),
                overdue_tasks=sum(1 for t in tasks if (t.due_on or t.created_at.date()) < today),
                due_today=sum(1 for t in tasks if (t.due_on or t.created_at.date()) == today),
                top_score=max((points for _, points in scored), default=0),
                past_due=dict(sorted(past_due.items())),
                by_kind=dict(sorted(kinds.items())),
            )
        )
    return sorted(loads, key=lambda load: (-load.open_tasks, load.assignee))


def record_outcome(
    desk: Desk,
    customer_id: str,
    task_id: str,
    *,
    outcome: str,
    note: str,
    by: StaffUser,
    now: datetime,
    promised_until: str | None = None,
    promise_amount: str | None = None,
    invoice_numbers: list[str] | None = None,
    dispute_reason: str | None = None,
) -> OutcomeReceipt:
    """Work a task: ``promise_taken`` needs promised_until, promise_amount and invoice_numbers;
    ``dispute_logged`` needs dispute_reason and one invoice number.

    The promise, dispute or fix-contact task is recorded first under an id derived from the task
    and attempt, then the task; a retry after a crash in between finds the first part done and
    finishes the second, and a second submission of the same form is refused (the task moved on)."""
    result = parse_outcome(outcome)
    text = checked_text(note, "note")
    task = desk.store.tasks.task(customer_id, task_id)
    if task is None:
        raise WorkspaceNotFound(f"no task {task_id} on customer {customer_id}")
    if task.status != TaskStatus.OPEN:
        raise WorkspaceConflict(f"task {task_id} was already worked ({task.outcome or task.status})")
    customer = desk.customer(customer_id)
    today = desk.today(now, customer)
    effect = decide(result, attempts=task.attempts, today=today, title=task.title)
    step = f"{task_id}-{effect.attempts}"
    promise: Promise | None = None
    dispute_id: str | None = None
    fix_task: str | None = None
    if result is CallOutcome.PROMISE_TAKEN:
        promise = promises.take(
            desk,
            customer,
            invoice_numbers=invoice_numbers or list(task_invoices(task)),
            amount=promise_amount or "",
            promised_until=promised_until or "",
            by=by,
            now=now,
            promise_id=f"call-{step}",
        )
    elif result is CallOutcome.DISPUTE_LOGGED:
        numbers = [n for n in (invoice_numbers or []) if n.strip()] or list(task_invoices(task))[:1]
        if len(numbers) != 1:
            raise WorkspaceInputError("invoice_numbers", "choose the one invoice the customer disputes")
        view = dispute_cases.open_case(
            desk,
            customer,
            invoice_number=numbers[0],
            reason=dispute_reason or "",
            comment=text,
            by=by,
            now=now,
            dispute_id=f"call-{step}",
        )
        dispute_id = view.dispute_id
    elif result is CallOutcome.WRONG_CONTACT:
        desk.store.flag_contact(
            customer, f"contact details reported wrong by {by.username} on {today.isoformat()}"
        )
        fix_task = f"fix-contact-{task_id}"
        desk.store.tasks.add_task(
            Task(
                customer_id=customer_id,
                task_id=fix_task,
                kind=TaskKind.FIX_CONTACT,
                title="Find the right contact: the number or person on file was wrong",
                created_at=now,
                detail={**task.detail, "reported_by": by.username, "note": text},
                assignee=task.assignee or by.username,
                due_on=today + timedelta(days=1),
                score=task.score,
            )
        )
    after = replace(
        task,
        status=TaskStatus.DONE if effect.close_task else TaskStatus.OPEN,
        attempts=effect.attempts,
        outcome=result.value,
        due_on=effect.follow_up_on or task.due_on,
        closed_at=now if effect.close_task else None,
    )
    summary = effect.summary + (f". Note: {text}" if text else "")
    decided = _DECISIONS.get(result)
    activity = Activity(
        customer_id=customer_id,
        at=now,
        activity_id=f"outcome-{step}",
        kind=f"call_{result.value}",
        summary=f"{by.name}: {summary}",
        detail={"task_id": task_id, "outcome": result.value, "by": by.username, "note": text},
        changes=()
        if decided is None
        else (
            changes.collector_decision(
                decided,
                customer_id=customer_id,
                task_id=task_id,
                attempt=effect.attempts,
                invoice_numbers=[n for n in (invoice_numbers or []) if n.strip()]
                or list(task_invoices(task)),
                note=text,
                by=by.username,
                at=now,
            ),
        ),
    )
    if not desk.store.tasks.work_task(task, after, activity):
        raise WorkspaceConflict(f"task {task_id} changed meanwhile: reload and try again")
    changes.publish(desk.change_feed, activity.changes)
    if result is CallOutcome.CREDIT_HOLD and not customer.credit_hold:
        # The decision is a state the portal, the reports and the 360 show; its change is the outcome's.
        credit_control.set_credit_hold(
            desk, customer_id, hold=True, reason=text or task.title, by=by, now=now, feed_change=False
        )
    if result is CallOutcome.AGENCY and not customer.collector_hold:
        # The agency collects from now on: a reminder from us as well would contradict it.
        holds.write_hold(
            desk,
            customer,
            replace(customer, collector_hold=True, hold_reason="handed to a collection agency"),
            f"{by.name} put the customer on dunning hold: handed to a collection agency",
            by,
            now,
        )
    return OutcomeReceipt(
        task_id=task_id,
        outcome=result.value,
        task_closed=effect.close_task,
        follow_up_on=effect.follow_up_on,
        promise=promise,
        dispute_id=dispute_id,
        fix_contact_task=fix_task,
    )


def add_note(desk: Desk, customer_id: str, *, text: str, by: StaffUser, now: datetime) -> None:
    body = checked_text(text, "text", required=True)
    desk.customer(customer_id)
    desk.store.record(
        Activity(
            customer_id=customer_id,
            at=now,
            activity_id=f"note-{new_id()}",
            kind="note",
            summary=f"Note by {by.name}: {body}",
            detail={"by": by.username, "text": body},
        )
    )


# Outcomes that are decisions the ERP must carry out (the policy's credit-hold and agency tasks).
_DECISIONS = {CallOutcome.CREDIT_HOLD: ChangeKind.CREDIT_HOLD, CallOutcome.AGENCY: ChangeKind.AGENCY_REFERRAL}
