"""A collector's own tasks: "call back Thursday", "check the remittance came": created from the staff
console with a due day, for themselves or a colleague. They are ordinary tasks from then on: on the
assignee's worklist by their due day, worked with an outcome like any other, each on the timeline."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from arcollect.entities import Activity, Invoice, Task, TaskKind
from arcollect.priority import Factors, factors_for, score
from arcollect.staff import StaffUser
from arcollect.workspace.desk import Desk, checked_text, new_id
from arcollect.workspace.model import WorkspaceInputError
from arcollect.workspace.reassignment import checked_collector

TITLE_MAX = 200
# A follow-up further out than a year is a calendar entry, not a task: the worklist shows today's work.
MAX_DAYS_AHEAD = 366
# What a collector may make: a follow-up (anything to do) or a call. Labels for the console's form.
KINDS: dict[str, str] = {TaskKind.FOLLOW_UP.value: "Follow-up", "call": "Call"}
KEY_MAX = 128


@dataclass(frozen=True)
class NewTask:
    """The task a collector's form made, and whether this request made it (False: the same form was
    submitted before, a double click or a retried request, and nothing was made twice)."""

    task: Task
    created: bool


def manual_task_id(customer_id: str, key: str) -> str:
    """The task id of one submission of the form (its idempotency key): the same key, the same task."""
    digest = hashlib.sha256(f"{customer_id}\0{key}".encode()).hexdigest()[:20]
    return f"manual-{digest}"


def checked_customer_id(desk: Desk, customer_id: str) -> str:
    """The id of a customer that exists; the error names the ``customer_id`` field (an API body's)."""
    wanted = (customer_id or "").strip()
    if not wanted:
        raise WorkspaceInputError("customer_id", "is required")
    if desk.store.customer(wanted) is None:
        raise WorkspaceInputError("customer_id", f"there is no customer {wanted!r}")
    return wanted


def checked_key(key: str) -> str:
    text = (key or "").strip()
    if len(text) > KEY_MAX:
        raise WorkspaceInputError("idempotency_key", f"at most {KEY_MAX} characters ({len(text)} given)")
    return text


def due_day(value: str, today: date, field: str = "due_on") -> date:
    """The day a task is due: today or later, within MAX_DAYS_AHEAD."""
    text = (value or "").strip()
    if not text:
        raise WorkspaceInputError(field, "is required (the day it is due, YYYY-MM-DD)")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise WorkspaceInputError(field, f"{text!r} is not a date (YYYY-MM-DD)") from None
    if day < today:
        raise WorkspaceInputError(field, f"{day.isoformat()} is in the past (today is {today.isoformat()})")
    if day > today + timedelta(days=MAX_DAYS_AHEAD):
        raise WorkspaceInputError(field, f"at most {MAX_DAYS_AHEAD} days ahead ({day.isoformat()} given)")
    return day


def create_task(
    desk: Desk,
    customer_id: str,
    *,
    title: str,
    due_on: str,
    by: StaffUser,
    now: datetime,
    assignee: str = "",
    kind: str = TaskKind.FOLLOW_UP.value,
    note: str = "",
    invoice_numbers: Sequence[str] = (),
    key: str = "",
) -> NewTask:
    """Make a collector's task on ``customer_id``, due ``due_on`` (the customer's day, not before today),
    for ``assignee`` (a collector of the policy's team when it names one; default: ``by``), optionally
    about some of the customer's invoices (they then score it, as dunning's tasks are scored). With
    ``key`` (the form's idempotency key) the same submission makes one task however often it arrives.
    The task and its timeline entry are one write."""
    wanted = checked_customer_id(desk, customer_id)
    customer = desk.customer(wanted)
    text = checked_text(title, "title", required=True, limit=TITLE_MAX)
    if "\n" in text or "\r" in text:
        raise WorkspaceInputError("title", "one line: put the details in the note")
    chosen = (kind or "").strip() or TaskKind.FOLLOW_UP.value
    if chosen not in KINDS:
        raise WorkspaceInputError("kind", f"{chosen!r} is not one of: {', '.join(KINDS)}")
    details = checked_text(note, "note")
    today = desk.today(now, customer)
    due = due_day(due_on, today)
    owner = checked_collector(desk, assignee, "assignee") if (assignee or "").strip() else by.username
    invoices = _invoices(desk, wanted, invoice_numbers)
    factors = factors_for(chosen, invoices, customer, today) if invoices else Factors(chosen)
    idempotency = checked_key(key)
    task = Task(
        customer_id=wanted,
        task_id=manual_task_id(wanted, idempotency) if idempotency else f"manual-{new_id()}",
        kind=chosen,
        title=text,
        created_at=now,
        detail={
            **factors.as_detail(),
            "created_by": by.username,
            "manual": "yes",
            **({"note": details} if details else {}),
            **({"invoices": ",".join(i.invoice_number for i in invoices)} if invoices else {}),
        },
        assignee=owner,
        due_on=due,
        score=score(factors, today)[0],
    )
    whom = "themselves" if owner == by.username else owner
    activity = Activity(
        customer_id=wanted,
        at=now,
        activity_id=f"task-{task.task_id}",
        kind="task_created",
        summary=f"{by.name} made a {KINDS[chosen].lower()} for {whom}, due {due.isoformat()}: {text}"
        + (f". Note: {details}" if details else ""),
        detail={"by": by.username, "task_id": task.task_id, "assignee": owner, "due_on": due.isoformat()},
    )
    if desk.store.tasks.add_task(task, activity):
        return NewTask(task, True)
    existing = desk.store.tasks.task(wanted, task.task_id)
    if existing is None:  # pragma: no cover - the write was refused because the task exists
        raise WorkspaceInputError("idempotency_key", "the task could not be made: reload and try again")
    return NewTask(existing, False)


def _invoices(desk: Desk, customer_id: str, numbers: Sequence[str]) -> list[Invoice]:
    found: list[Invoice] = []
    for number in dict.fromkeys(n.strip() for n in numbers if n and n.strip()):
        invoice = desk.store.invoice(customer_id, number)
        if invoice is None:
            why = f"invoice {number!r} is not on this customer's account"
            raise WorkspaceInputError("invoice_numbers", why)
        found.append(invoice)
    return found
