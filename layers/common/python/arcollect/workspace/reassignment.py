"""A manager moves work: open tasks to another collector, in bulk, and a customer to another owner,
for good or for a date range (a holiday's cover). Dunning's new tasks, the digest and the worklist then
follow the customer's owner of the day (``Customer.owner_on``); every change is on the timeline."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta

from arcollect.entities import Activity, Customer, Task, TaskStatus
from arcollect.policy import PolicySet
from arcollect.staff import StaffUser
from arcollect.workspace.desk import Desk, manager_only, new_id
from arcollect.workspace.model import WorkspaceConflict, WorkspaceInputError

# One request's tasks stay within one DynamoDB transaction (100 writes, a timeline entry per customer).
MAX_TASKS = 45
MAX_COVER_DAYS = 366


def known_staff(policies: PolicySet) -> set[str]:
    """Who work can go to, when the policy names its people (its team's owners and its segments'
    collectors), and the manager. Empty when it names nobody but the manager (the shipped policy): then
    any user name is taken, or a team that keeps its collectors in the ERP's owner column could give
    work to nobody but the manager."""
    manager = policies.settings.manager
    named = {*policies.team, *(c for s in policies.segments for c in s.collectors)} - {manager}
    return named | {manager} if named else set()


def checked_collector(desk: Desk, value: str, field: str = "to") -> str:
    name = (value or "").strip()
    if not name:
        raise WorkspaceInputError(field, "is required")
    known = known_staff(desk.policies())
    if known and name not in known:
        raise WorkspaceInputError(field, f"{name!r} is not a collector of the policy's team")
    return name


def reassign_tasks(
    desk: Desk, customer_tasks: Sequence[tuple[str, str]], *, to: str, by: StaffUser, now: datetime
) -> int:
    """Move the open tasks (``(customer id, task id)`` pairs) to ``to``, all or none; returns how many
    moved (a task already ``to``'s stays). One timeline entry per customer names who moved what."""
    manager_only(by)
    assignee = checked_collector(desk, to)
    wanted = list(dict.fromkeys((c.strip(), t.strip()) for c, t in customer_tasks if c.strip() and t.strip()))
    if not wanted:
        raise WorkspaceInputError("tasks", "select at least one task")
    if len(wanted) > MAX_TASKS:
        raise WorkspaceInputError("tasks", f"at most {MAX_TASKS} tasks at a time ({len(wanted)} selected)")
    moves: list[tuple[Task, str]] = []
    for customer_id, task_id in wanted:
        task = desk.store.tasks.task(customer_id, task_id)
        if task is None:
            raise WorkspaceInputError("tasks", f"no task {task_id} of customer {customer_id}")
        if task.status != TaskStatus.OPEN:
            raise WorkspaceInputError("tasks", f"task {task_id} ({task.title}) is no longer open")
        if task.assignee != assignee:
            moves.append((task, assignee))
    if not moves:
        return 0
    activities = [
        _activity(
            customer_id,
            f"{by.name} reassigned {_titles(tasks)} from {_froms(tasks)} to {assignee}",
            by,
            now,
            to=assignee,
            tasks=",".join(t.task_id for t in tasks),
        )
        for customer_id, tasks in _by_customer(t for t, _ in moves).items()
    ]
    if not desk.store.tasks.reassign(moves, activities):
        raise WorkspaceConflict("a task was worked or moved meanwhile: reload and try again")
    return len(moves)


def reassign_account(
    desk: Desk, customer_id: str, *, to: str, by: StaffUser, now: datetime, until: str = ""
) -> Customer:
    """Give the customer to ``to``: for good (the owner the team chose, kept over the ERP's), or with
    ``until`` (a day, inclusive) as cover, after which its owner works it again. Its open tasks
    assigned to whoever worked it move too. Returns the customer as written."""
    manager_only(by)
    customer = desk.customer(customer_id)
    assignee = checked_collector(desk, to)
    today = desk.today(now, customer)
    end = _end_day(until, today) if (until or "").strip() else None
    if end is None:
        after = replace(customer, assigned_owner=assignee, cover=None, cover_until=None)
        if after.assigned_owner == customer.owner:
            after = replace(after, assigned_owner=None)  # the ERP's owner again: nothing to keep over it
        summary = f"{by.name} made {assignee} the owner (was {customer.owner_on(today) or 'nobody'})"
    else:
        after = replace(customer, cover=assignee, cover_until=end)
        summary = (
            f"{by.name} gave the customer to {assignee} until {end.isoformat()} (cover for "
            f"{customer.assigned_owner or customer.owner or 'nobody'})"
        )
    before_owner, after_owner = customer.owner_on(today), after.owner_on(today)
    if after_owner is None:  # pragma: no cover - a name was required above
        raise WorkspaceInputError("to", "is required")
    open_tasks = [
        t for t in desk.store.account(customer_id).tasks if t.status == TaskStatus.OPEN and t.assignee
    ]
    movers = {before_owner, customer.cover, customer.assigned_owner, customer.owner} - {None, after_owner}
    moves = [(t, after_owner) for t in open_tasks if t.assignee in movers]
    if len(moves) > MAX_TASKS * 2:
        raise WorkspaceInputError("to", f"the customer has {len(moves)} open tasks: move some in bulk first")
    if moves:
        summary += f"; {len(moves)} open task{'s' if len(moves) != 1 else ''} moved to {after_owner}"
    activity = _activity(customer_id, summary, by, now, to=assignee, until=end.isoformat() if end else "")
    if not desk.store.reassign_account(customer, after, moves, activity):
        raise WorkspaceConflict("the customer or its tasks changed meanwhile: reload and try again")
    return after


def _end_day(value: str, today: date) -> date:
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise WorkspaceInputError("until", f"{value!r} is not a date (YYYY-MM-DD)") from None
    if day < today:
        raise WorkspaceInputError("until", "the cover must end today or later")
    if day > today + timedelta(days=MAX_COVER_DAYS):
        raise WorkspaceInputError("until", f"at most {MAX_COVER_DAYS} days ahead: change the owner for good")
    return day


def _by_customer(tasks: Iterable[Task]) -> dict[str, list[Task]]:
    grouped: dict[str, list[Task]] = {}
    for task in tasks:
        grouped.setdefault(task.customer_id, []).append(task)
    return grouped


def _titles(tasks: list[Task]) -> str:
    return f"task {tasks[0].title!r}" if len(tasks) == 1 else f"{len(tasks)} tasks"


def _froms(tasks: list[Task]) -> str:
    return ", ".join(dict.fromkeys(t.assignee or "unassigned" for t in tasks))


def _activity(customer_id: str, summary: str, by: StaffUser, now: datetime, **detail: str) -> Activity:
    return Activity(
        customer_id=customer_id,
        at=now,
        activity_id=f"reassign-{new_id()}",
        kind="reassignment",
        summary=summary,
        detail={"by": by.username, **{k: v for k, v in detail.items() if v}},
    )
