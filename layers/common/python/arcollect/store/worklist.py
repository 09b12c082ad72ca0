"""Collectors' tasks as the workspace works them: read, listed by assignee (the worklist index),
created once, worked (outcomes, retries, reassignment) and closed, each with its timeline entry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from arcollect.entities import Activity, Task, TaskStatus
from arcollect.store import keys
from arcollect.store.base import Operation, commit, put_once, translated, update_if
from arcollect.store.models import TableItem, TaskItem
from arcollect.store.tasks import task_from_item, task_item, worklist_actions
from arcollect.store.timeline import timeline_writes


class TaskBook:
    """The tasks of every customer, and the worklist index over the open ones."""

    @translated
    def task(self, customer_id: str, task_id: str) -> Task | None:
        """One task, read consistently (what working it is about to be based on)."""
        try:
            item = TaskItem.get(keys.customer_pk(customer_id), keys.task_sk(task_id), consistent_read=True)
        except TaskItem.DoesNotExist:
            return None
        return task_from_item(item)

    @translated
    def worklist(self, assignee: str) -> list[Task]:
        """``assignee``'s open tasks, in the index's order (highest score when created first)."""
        return [
            task_from_item(item) for item in TableItem.worklist.query(assignee) if isinstance(item, TaskItem)
        ]

    @translated
    def all_open_tasks(self) -> list[Task]:
        """Every open, assigned task (a scan of the sparse worklist index: only open tasks are in it)."""
        return [task_from_item(item) for item in TableItem.worklist.scan() if isinstance(item, TaskItem)]

    @translated
    def add_task(self, task: Task, activity: Activity | None = None) -> bool:
        """Create a task once (False: a task with its id exists)."""
        if activity is None:
            return put_once(task_item(task))
        return commit([("save_new", task_item(task), None), *timeline_writes(task.customer_id, activity)])

    @translated
    def work_task(self, before: Task, after: Task, activity: Activity) -> bool:
        """Record working a task: its new state and the timeline entry, provided nobody worked it since
        it was read (same status and attempts). False: someone did."""
        item = TaskItem(keys.customer_pk(before.customer_id), keys.task_sk(before.task_id))
        actions = [
            TaskItem.status.set(after.status),
            TaskItem.attempts.set(after.attempts),
            TaskItem.outcome.set(after.outcome) if after.outcome else TaskItem.outcome.remove(),
            TaskItem.due_on.set(after.due_on.isoformat()) if after.due_on else TaskItem.due_on.remove(),
            TaskItem.closed_at.set(after.closed_at) if after.closed_at else TaskItem.closed_at.remove(),
            TaskItem.assignee.set(after.assignee) if after.assignee else TaskItem.assignee.remove(),
            *worklist_actions(after),
        ]
        condition = (TaskItem.status == before.status) & (
            TaskItem.attempts == before.attempts
            if before.attempts
            else (TaskItem.attempts.does_not_exist() | (TaskItem.attempts == 0))
        )
        return commit(
            [("update_if", item, (actions, condition)), *timeline_writes(before.customer_id, activity)]
        )

    @translated
    def reassign(self, moves: Sequence[tuple[Task, str]], activities: Sequence[Activity]) -> bool:
        """Give each task its new assignee, with the timeline entries, in one transaction conditional
        on every task being open and with the assignee it was read with. False: one was worked or moved
        meanwhile, and nothing changed."""
        return commit([*reassign_operations(moves), *timeline_ops(activities)])

    @translated
    def close_tasks_about(
        self, customer_id: str, kind: str, detail_key: str, value: str, at: datetime
    ) -> int:
        """Close the open tasks of ``kind`` whose detail names ``value`` (a dispute's task when it is
        resolved). Returns how many were closed."""
        closed = 0
        for item in TaskItem.query(keys.customer_pk(customer_id), TaskItem.sk.startswith("TASK#")):
            detail = item.detail.as_dict() if item.detail else {}
            if item.kind != kind or item.status != TaskStatus.OPEN or str(detail.get(detail_key)) != value:
                continue
            task = replace(task_from_item(item), status=TaskStatus.DONE, closed_at=at)
            if update_if(
                item,
                [TaskItem.status.set(TaskStatus.DONE), TaskItem.closed_at.set(at), *worklist_actions(task)],
                TaskItem.status == TaskStatus.OPEN,
            ):
                closed += 1
        return closed


def reassign_operations(moves: Sequence[tuple[Task, str]]) -> list[Operation]:
    """Each task to its new assignee (its worklist entry follows), provided it is still open and with
    the assignee it was read with: its worklist entry's owner (only open tasks have one; a task nobody
    was given has ``unassigned`` there and no assignee)."""
    operations: list[Operation] = []
    for task, assignee in moves:
        after = replace(task, assignee=assignee, detail={**task.detail, "assignee": assignee})
        was = TaskItem.worklist_owner == (task.assignee or keys.UNASSIGNED)
        operations.append(
            (
                "update_if",
                TaskItem(keys.customer_pk(task.customer_id), keys.task_sk(task.task_id)),
                (
                    [
                        TaskItem.assignee.set(assignee),
                        TaskItem.detail.set(dict(after.detail)),
                        *worklist_actions(after),
                    ],
                    (TaskItem.status == TaskStatus.OPEN) & was,
                ),
            )
        )
    return operations


def timeline_ops(activities: Sequence[Activity]) -> list[Operation]:
    return [op for activity in activities for op in timeline_writes(activity.customer_id, activity)]
