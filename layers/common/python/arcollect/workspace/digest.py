"""The daily digest: each collector's top tasks of the day, by email, once a day.

The dunning tick of ``contract.DIGEST_HOUR_UTC`` sends it. Each collector's digest is claimed in the
table before it is sent, so a repeated or concurrent tick sends it once; a crash between the claim and
the send loses that day's digest (the worklist itself is never lost), which is the right side to err
on for a reminder of work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from email.message import EmailMessage
from typing import Protocol

from arcollect.dunning.policy import PolicySet
from arcollect.entities import Task
from arcollect.observability import logger
from arcollect.workspace.model import WorkItem

TOP_TASKS = 10


class DigestStore(Protocol):
    def all_open_tasks(self) -> list[Task]: ...

    def claim_digest(self, day: date, assignee: str, at: datetime, tasks: int) -> bool: ...


class Worklists(Protocol):
    def worklist(self, assignee: str, *, now: datetime, limit: int = 100) -> list[WorkItem]: ...


class Mailer(Protocol):
    def send(self, *, sender: str, to: list[str], raw: bytes, tags: dict[str, str]) -> str: ...


@dataclass
class DigestReport:
    sent: list[str] = field(default_factory=list)
    already_sent: list[str] = field(default_factory=list)
    no_address: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str]]:
        return {
            "sent": self.sent,
            "already_sent": self.already_sent,
            "no_address": self.no_address,
            "failed": self.failed,
        }


def render_digest(
    assignee: str,
    name: str,
    to: str,
    items: list[WorkItem],
    *,
    day: date,
    sender: str,
    console_url: str | None,
) -> bytes:
    due = [item for item in items if item.due_on <= day]
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = f"Your collections worklist for {day.isoformat()}: {len(due)} task(s) due"
    lines = [
        f"Good morning {name},",
        "",
        f"Your top tasks for {day.isoformat()}, highest priority first:",
        "",
    ]
    for rank, item in enumerate(items[:TOP_TASKS], start=1):
        late = f", {item.past_due_amount:,.2f} {item.currency} {item.days_past_due} days past due"
        flag = (
            " (overdue)"
            if item.overdue
            else ""
            if item.due_on <= day
            else f" (due {item.due_on.isoformat()})"
        )
        lines.append(f"{rank:2d}. [{item.score:3d}] {item.customer_name} - {item.title}{flag}")
        if item.past_due_amount:
            lines.append(f"        {item.customer_id}{late}")
    if len(items) > TOP_TASKS:
        lines.append(f"    ... and {len(items) - TOP_TASKS} more on your worklist.")
    if console_url:
        lines += ["", f"Open your worklist: {console_url}"]
    lines += ["", f"(arcollect daily digest for {assignee})"]
    message.set_content("\n".join(lines))
    return message.as_bytes()


def send_digests(
    *,
    now: datetime,
    store: DigestStore,
    worklists: Worklists,
    policies: PolicySet,
    mailer: Mailer,
    sender: str,
    console_url: str | None,
) -> DigestReport:
    """Email each assignee with open tasks their top tasks, once per day."""
    day = now.date()
    report = DigestReport()
    assignees = sorted({task.assignee for task in store.all_open_tasks() if task.assignee})
    for assignee in assignees:
        contact = policies.contact(assignee)
        if contact is None or not contact.email:
            report.no_address.append(assignee)
            continue
        items = worklists.worklist(assignee, now=now)
        if not items or not store.claim_digest(day, assignee, now, len(items)):
            report.already_sent.append(assignee)
            continue
        raw = render_digest(
            assignee, contact.name, contact.email, items, day=day, sender=sender, console_url=console_url
        )
        try:
            mailer.send(sender=sender, to=[contact.email], raw=raw, tags={"arcollect-kind": "digest"})
        except Exception:
            logger.exception("digest not sent", extra={"assignee": assignee})
            report.failed.append(assignee)
            continue
        report.sent.append(assignee)
    return report
