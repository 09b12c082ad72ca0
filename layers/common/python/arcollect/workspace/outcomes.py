"""What each call outcome does to the task and the account.

=================  ==============================================================================
outcome            effect
=================  ==============================================================================
reached            the task is done
voicemail          the task stays open, due again in 2 working days (after 3 attempts it is done)
no_answer          the task stays open, due again the next working day (after 3 attempts: done)
promise_taken      the task is done and a promise to pay is recorded: its invoices pause
dispute_logged     the task is done and a dispute is opened: its invoice leaves dunning
wrong_contact      the task is done, the master data gets a data-quality line, and a fix-contact
                   task is created for the same assignee
credit_hold        the task is done: the customer goes on credit hold (no further deliveries on
                   credit), which the ERP learns from the change feed
agency             the task is done: the invoices go to a collection agency (the change feed
                   tells the ERP) and the customer goes on dunning hold: the agency collects now
=================  ==============================================================================

Every outcome writes a timeline entry with the collector's note.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from arcollect.workspace.model import CallOutcome, WorkspaceInputError

MAX_ATTEMPTS = 3
_RETRY_WORKING_DAYS = {CallOutcome.VOICEMAIL: 2, CallOutcome.NO_ANSWER: 1}


@dataclass(frozen=True)
class OutcomeEffect:
    outcome: CallOutcome
    close_task: bool
    attempts: int
    follow_up_on: date | None
    summary: str


def parse_outcome(text: str) -> CallOutcome:
    try:
        return CallOutcome(text.strip())
    except ValueError:
        allowed = ", ".join(outcome.value for outcome in CallOutcome)
        raise WorkspaceInputError("outcome", f"{text!r} is not an outcome ({allowed})") from None


def add_working_days(day: date, days: int) -> date:
    while days > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


def decide(outcome: CallOutcome, *, attempts: int, today: date, title: str) -> OutcomeEffect:
    """The effect of ``outcome`` on a task worked ``attempts`` times before."""
    tried = attempts + 1
    if outcome in _RETRY_WORKING_DAYS:
        label = "left a voicemail" if outcome is CallOutcome.VOICEMAIL else "no answer"
        if tried >= MAX_ATTEMPTS:
            return OutcomeEffect(
                outcome, True, tried, None, f"{title}: {label} (attempt {tried}, the last: task closed)"
            )
        again = add_working_days(today, _RETRY_WORKING_DAYS[outcome])
        return OutcomeEffect(
            outcome,
            False,
            tried,
            again,
            f"{title}: {label} (attempt {tried}); try again on {again.isoformat()}",
        )
    text = {
        CallOutcome.REACHED: "reached the customer",
        CallOutcome.PROMISE_TAKEN: "the customer promised to pay",
        CallOutcome.DISPUTE_LOGGED: "the customer disputed an invoice",
        CallOutcome.WRONG_CONTACT: "wrong contact: the master data needs fixing",
        CallOutcome.CREDIT_HOLD: "decided: credit hold (no further deliveries on credit)",
        CallOutcome.AGENCY: "decided: hand the invoices to a collection agency",
    }[outcome]
    return OutcomeEffect(outcome, True, tried, None, f"{title}: {text}")
