"""The daily digest: each collector's top tasks of the day, by email, once a day.

The dunning tick of ``contract.DIGEST_HOUR_UTC`` sends it. Each collector's digest is rendered, then
claimed in the table, then sent, so a repeated or concurrent tick sends it at most once:

- SES certainly did not send it (throttled, no connection, a refusal): the claim is released, and a
  throttled or unreachable SES fails the tick (``DigestsNotSent``) so that its retry sends it, once;
- SES may have sent it (a timeout after the request went out): the claim stays, marked in doubt, and the
  digest is reported (``in_doubt``, the ``DigestsInDoubt`` metric, an error in the log), never resent;
- a crash between the claim and SES's answer: the retry finds the claim unfinished and reports it in
  doubt the same way. Without a lease it cannot tell a dead run from one still sending (a duplicate
  delivery of the tick, at the same moment): that one then completes or releases its claim all the
  same, and only the report was early.

Losing a day's digest (the worklist itself is never lost) is the right side to err on for a reminder of
work; sending it twice is not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from email.message import EmailMessage
from typing import Protocol

from arcollect.entities import Task
from arcollect.mailing import DailyClaims, Mailer, stamp_sent
from arcollect.money import written
from arcollect.observability import logger
from arcollect.policy import PolicySet
from arcollect.store.mail import MailRejected, SendNotAccepted, without_addresses
from arcollect.workspace.model import WorkItem

TOP_TASKS = 10


class OpenTasks(Protocol):
    def all_open_tasks(self) -> list[Task]: ...


class Worklists(Protocol):
    def worklist(self, assignee: str, *, now: datetime, limit: int = 100) -> list[WorkItem]: ...


class DigestsNotSent(RuntimeError):
    """SES did not take some digests (throttled, unreachable): their claims are released and the tick
    fails, so that its retry sends them."""


@dataclass
class DigestReport:
    sent: list[str] = field(default_factory=list)
    # Claimed before: sent, or reported in doubt by an earlier run.
    already_sent: list[str] = field(default_factory=list)
    no_address: list[str] = field(default_factory=list)
    # Certainly not sent, the claim released: ``not_accepted`` are retried (the tick fails), the others
    # (SES refused them) go out once someone fixes the address or the account and asks again.
    failed: list[str] = field(default_factory=list)
    not_accepted: list[str] = field(default_factory=list)
    # SES may have sent them, or a run died after claiming them: never resent, for a person to check.
    in_doubt: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str]]:
        return {
            "sent": self.sent,
            "already_sent": self.already_sent,
            "no_address": self.no_address,
            "failed": self.failed,
            "in_doubt": self.in_doubt,
        }


def render_digest(
    assignee: str,
    name: str,
    to: str,
    items: list[WorkItem],
    *,
    day: date,
    now: datetime,
    sender: str,
    console_url: str | None,
) -> bytes:
    """The digest of ``items`` for ``day``, sent at ``now`` (the tick's time: its ``Date`` and
    ``X-Arcollect-Sent-At``)."""
    due = [item for item in items if item.due_on <= day]
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = f"Your collections worklist for {day.isoformat()}: {len(due)} task(s) due"
    stamp_sent(message, now)
    lines = [
        f"Good morning {name},",
        "",
        f"Your top tasks for {day.isoformat()}, highest priority first:",
        "",
    ]
    for rank, item in enumerate(items[:TOP_TASKS], start=1):
        late = f", {written(item.past_due_amount, item.currency)} {item.days_past_due} days past due"
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
    claims: DailyClaims,
    tasks: OpenTasks,
    worklists: Worklists,
    policies: PolicySet,
    mailer: Mailer,
    sender: str,
    console_url: str | None,
) -> DigestReport:
    """Email each assignee with open tasks (``tasks``) their top tasks, once per day (``claims``)."""
    day = now.date()
    report = DigestReport()
    assignees = sorted({task.assignee for task in tasks.all_open_tasks() if task.assignee})
    for assignee in assignees:
        contact = policies.contact(assignee)
        if contact is None or not contact.email:
            report.no_address.append(assignee)
            continue
        items = worklists.worklist(assignee, now=now)
        if not items:
            report.already_sent.append(assignee)
            continue
        # Rendered before the claim: a failure rendering it leaves nothing claimed for the retry.
        raw = render_digest(
            assignee, contact.name, contact.email, items, day=day, now=now, sender=sender,
            console_url=console_url,
        )  # fmt: skip
        claim = claims.claim_digest(day, assignee, now, len(items))
        if not claim:
            if claims.mark_digest_in_doubt(day, assignee):
                # Claimed and never finished: a run died between the claim and SES's answer.
                _in_doubt(report, assignee, day, "a run claimed it and did not finish")
            else:
                report.already_sent.append(assignee)
            continue
        try:
            message_id = mailer.send(
                sender=sender, to=[contact.email], raw=raw, tags={"arcollect-kind": "digest"}
            )
        except (MailRejected, SendNotAccepted) as error:
            # Certainly not sent: released, so that it is sent once by the retry (or a later ask).
            claims.release_digest(day, assignee, claim)
            logger.error(
                "digest not sent, its claim released",
                extra={
                    "assignee": without_addresses(assignee),
                    "error": type(error).__name__,
                    "code": _code(error),
                },
            )
            report.failed.append(assignee)
            if isinstance(error, SendNotAccepted):
                report.not_accepted.append(assignee)
            continue
        except Exception as error:
            # SendOutcomeUnknown (or anything unforeseen from the mailer): SES may have sent it.
            claims.mark_digest_in_doubt(day, assignee, claim)
            _in_doubt(report, assignee, day, type(error).__name__)
            continue
        report.sent.append(assignee)
        try:
            claims.complete_digest(day, assignee, claim, message_id, now)
        except Exception:
            # Sent: the claim stays, and a retry reports it in doubt rather than send it again.
            logger.exception(
                "digest sent, its completion not recorded", extra={"assignee": without_addresses(assignee)}
            )
    return report


def _in_doubt(report: DigestReport, assignee: str, day: date, why: str) -> None:
    """Report a digest SES may have sent: never resent, so a person checks (no address logged)."""
    report.in_doubt.append(assignee)
    logger.error(
        "digest in doubt: SES may have sent it; it is not sent again",
        extra={"assignee": without_addresses(assignee), "day": day.isoformat(), "why": why},
    )


def _code(error: Exception) -> str:
    """SES's error code (or botocore's exception's name), never its text: that may name addresses."""
    cause = error.__cause__
    response = getattr(cause, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return str(getattr(error, "code", "") or (type(cause).__name__ if cause else ""))
