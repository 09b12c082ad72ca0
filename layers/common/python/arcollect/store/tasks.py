"""The task's codec: a ``Task`` to its item and back, and its entry in the worklist index."""

from __future__ import annotations

from typing import Any

from arcollect.entities import Task, TaskStatus
from arcollect.store import keys
from arcollect.store.base import day, parse_day
from arcollect.store.models import TableItem, TaskItem


def task_item(task: Task) -> TaskItem:
    """An open task is on its assignee's worklist (the sparse WORKLIST index); one nobody was given
    (master data of a customer the ERP never described) is on the ``unassigned`` list managers see."""
    listed = task.status == TaskStatus.OPEN
    return TaskItem(
        keys.customer_pk(task.customer_id),
        keys.task_sk(task.task_id),
        customer_id=task.customer_id,
        task_id=task.task_id,
        kind=task.kind,
        title=task.title,
        created_at=task.created_at,
        status=task.status,
        detail=dict(task.detail),
        assignee=task.assignee,
        due_on=day(task.due_on),
        score=task.score,
        attempts=task.attempts,
        outcome=task.outcome,
        closed_at=task.closed_at,
        worklist_owner=(task.assignee or keys.UNASSIGNED) if listed else None,
        worklist_rank=keys.worklist_rank(task.score, task.due_on, task.task_id) if listed else None,
    )


def task_from_item(item: TaskItem) -> Task:
    return Task(
        customer_id=item.customer_id,
        task_id=item.task_id,
        kind=item.kind,
        title=item.title,
        created_at=item.created_at,
        status=item.status,
        detail={str(k): str(v) for k, v in item.detail.as_dict().items()} if item.detail else {},
        assignee=item.assignee or (item.worklist_owner if item.worklist_owner else None),
        due_on=parse_day(item.due_on),
        score=int(item.score or 0),
        attempts=int(item.attempts or 0),
        outcome=item.outcome,
        closed_at=item.closed_at,
    )


def worklist_actions(task: Task) -> list[Any]:
    """Keep the task's worklist entry in step with its status, assignee, score and due day."""
    if task.status == TaskStatus.OPEN:
        return [
            TableItem.worklist_owner.set(task.assignee or keys.UNASSIGNED),
            TableItem.worklist_rank.set(keys.worklist_rank(task.score, task.due_on, task.task_id)),
        ]
    return [TableItem.worklist_owner.remove(), TableItem.worklist_rank.remove()]
