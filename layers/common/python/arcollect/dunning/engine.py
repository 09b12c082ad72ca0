"""The rules engine: what the policy asks for one customer at one instant, and why.

``evaluate`` is pure. The sweep hands it a customer and the customer's invoices that the sparse index
says are due; it returns a ``CustomerPlan``: at most one consolidated email (its tone is the most severe
step among the invoices it lists), collector tasks, the next time each invoice wants a look, and a note
for every decision (taken, skipped, suppressed, deferred) so a preview can explain the run line by line.
``delivery`` carries a plan out; ``preview`` prints it.

Time: ``now`` is the instant the plan is made at (the tick's scheduled time); ``today`` is the date
that instant is in the customer's time zone (``calendar.local_today``), derived once here and carried
on the plan (``plan.now``, ``plan.today``). Instants stamp and schedule; days count (steps, the send
window, holds, promises, priorities).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from arcollect.calendar import MAX_SCAN_DAYS, Calendar, SendWindow, WindowError, local_today, resolve_zone
from arcollect.clock import anniversary_in, next_anniversary
from arcollect.credits import CreditLine, credit_by_currency
from arcollect.entities import Customer, DocumentType, Invoice, is_plan_id
from arcollect.money import in_minor_units, plain, rounds_to_zero, smallest_unit
from arcollect.plans import InstalmentReminder
from arcollect.policy import Action, Anchor, Channel, Occurrence, Policy, PolicySet, Priority, Step, Trigger
from arcollect.send_times import SendRecord, SendTimes, SlotChoice, choose
from arcollect.sms import TEXT_UNDELIVERED, SmsRules, text_does_not_fit, why_not_textable

# Steps the engine adds on its own (not from the policy): they have fixed ids so they happen once.
MISSED_PROMISE = "missed_promise"
# The first email to a customer whose invoices were already late when first seen (a go-live's backlog).
GO_LIVE_STATEMENT = "golive_statement"
MISSED_PROMISE_CALL = "missed_promise_call"
FIX_CONTACT = "fix_contact"
CHECK_IN = "check_in"
# A customer whose credits cover what a reminder would ask: a collector applies them (or refunds).
CREDIT_BALANCE = "credit_balance"
# An invoice whose open amount rounds to zero in its currency's minor unit (0.001 GBP left after a
# payment): nothing to ask for. A collector clears the residual in the ERP (writes it off); its step
# is ``clear_residual#<open amount>``, so the task is made once per invoice and amount.
CLEAR_RESIDUAL = "clear_residual"
# A payment plan's instalment, reminded instead of its invoices (arcollect/plans.py).
INSTALMENT_REMINDER = "instalment_reminder"
# The email of a payment plan broken (an instalment missed): the missed-promise step with its own words.
PLAN_BROKEN = "plan_broken"
# A step whose email bounced for every recipient, sent again by the step's next channel: its own ledger
# key (``<step>@bounced``), so the step's email and its fallback each happen once.
BOUNCED = "@bounced"
# Templates whose wording counts and totals overdue invoices only ("Statement of your 3 overdue
# invoices (...)", "Reminder: 2 overdue invoices (...)"): an invoice not yet overdue in the same message
# (its own courtesy step fell due the same day) is listed apart, for information, never in the count.
OVERDUE_ONLY: frozenset[str] = frozenset({"overdue_statement", "due", "reminder", "firm", "final_notice"})


class Outcome(StrEnum):
    EMAIL = "email"
    TASK = "task"
    SKIPPED = "skipped"
    SUPPRESSED = "suppressed"
    DEFERRED = "deferred"
    NOT_APPLICABLE = "not_applicable"
    WAITING = "waiting"
    # A step's reminder carried by another channel than email (Step.channels).
    LETTER = "letter"
    TEXT = "sms"


@dataclass(frozen=True)
class Touch:
    """One (invoice, step occurrence): the unit that happens at most once."""

    invoice_number: str
    step_id: str
    due_on: date


@dataclass(frozen=True)
class EmailPlan:
    step_id: str
    template: str
    touches: tuple[Touch, ...]
    recipients: tuple[str, ...]
    touch_id: str
    promised_date: date | None = None
    # The customer's credits in the email's currencies: listed, and off what it asks (the net).
    credits: tuple[CreditLine, ...] = ()
    # Steps the email stands in for (a go-live statement's missed steps): recorded as taken with it,
    # so they count as touches, but not reserved one by one (the statement is the one touch).
    superseded: tuple[Touch, ...] = ()
    # The payment plan instalment it reminds (the instalment_reminder template), when it does.
    instalment: InstalmentReminder | None = None
    # The channel carrying it (Step.channels): an email, a letter (``recipients`` then holds the postal
    # address's lines, the customer's name first) or a text message.
    channel: Channel = Channel.EMAIL
    # Invoices it lists apart, "not yet due, for information", out of its count and totals: a statement
    # of overdue invoices (``OVERDUE_ONLY``) that an invoice's own pre-due step joined the same day.
    for_information: tuple[str, ...] = ()

    @property
    def invoice_numbers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t.invoice_number for t in self.touches))

    def only_for_information(self, numbers: Iterable[str]) -> bool:
        """Whether ``numbers`` (what is left of it to send) are all listed for information: nothing of
        it counts any more (its overdue invoices were paid or changed a moment before the send)."""
        return bool(self.for_information) and set(numbers) <= set(self.for_information)


@dataclass(frozen=True)
class TaskPlan:
    task_id: str
    kind: str
    step_id: str
    title: str
    priority: Priority
    assignee: str
    touches: tuple[Touch, ...]
    # Invoices a task is about without being a touch of theirs (fix contact, check-in).
    invoice_numbers: tuple[str, ...] = ()

    @property
    def all_invoice_numbers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([*(t.invoice_number for t in self.touches), *self.invoice_numbers]))


@dataclass(frozen=True)
class Note:
    invoice_number: str | None
    outcome: Outcome
    step_id: str | None
    reason: str


@dataclass(frozen=True)
class Reschedule:
    """When an invoice wants its next look (None: never again, it leaves the sweep's index)."""

    invoice_number: str
    next_action_at: datetime | None


@dataclass(frozen=True)
class CustomerPlan:
    customer_id: str
    # The instant the plan is made at: the tick's time, which stamps everything carrying it out writes.
    now: datetime
    # The customer's local day at ``now``: the day task due dates and priorities count from.
    today: date
    segment: str
    policy: str
    zone: str
    email: EmailPlan | None = None
    tasks: tuple[TaskPlan, ...] = ()
    notes: tuple[Note, ...] = ()
    # Every due invoice's next look, given the plan is carried out (touched invoices included).
    reschedules: tuple[Reschedule, ...] = ()
    # Promises (by id) this run finds broken: their invoices are reminded now.
    broken_promises: tuple[str, ...] = ()
    # The customer's own next look (the anniversary check-in); None leaves it out of the index.
    customer_next_action_at: datetime | None = None
    customer_due: bool = False
    # The customer's arm of the champion/challenger test in force, and the test's name (None: the
    # customer's policy is not under test). Recorded with every decision and email, and in the 360 view.
    arm: str | None = None
    test: str | None = None
    # The customer's learned send slot the email waits for or goes in (settings.send_times), and why.
    send_slot: SlotChoice | None = None
    # The step's reminder by letter or text message, for the touches whose channel is that (the same
    # shape as the email; at most one of each per customer and run, like the email).
    letter: EmailPlan | None = None
    text: EmailPlan | None = None

    @property
    def messages(self) -> tuple[EmailPlan, ...]:
        """The email, letter and text message of the plan (those it has)."""
        return tuple(m for m in (self.email, self.letter, self.text) if m is not None)

    @property
    def touches(self) -> tuple[Touch, ...]:
        sent = (t for message in self.messages for t in message.touches)
        return (*sent, *(t for task in self.tasks for t in task.touches))


def touch_id(customer_id: str, touches: Iterable[Touch]) -> str:
    """A stable id for one email: the same touches give the same id, so a retried run recognises it."""
    material = customer_id + "|" + "|".join(sorted(f"{t.invoice_number}#{t.step_id}" for t in touches))
    return hashlib.sha256(material.encode()).hexdigest()[:24]


def _task_id(step_id: str, numbers: Iterable[str]) -> str:
    digest = hashlib.sha256("|".join(sorted(numbers)).encode()).hexdigest()[:12]
    return f"dunning-{step_id.replace('#', '-')}-{digest}"


@dataclass
class _Context:
    customer_id: str
    customer: Customer | None
    now: datetime
    zone: ZoneInfo
    today: date
    policies: PolicySet
    policy: Policy
    calendar: Calendar
    segment: str
    credits: tuple[CreditLine, ...] = ()
    send_record: SendRecord | None = None
    notes: list[Note] = field(default_factory=list)
    reschedules: dict[str, datetime | None] = field(default_factory=dict)
    send_slot: SlotChoice | None = None
    # The open payment plans' current instalments, by plan id: their invoices are reminded of those.
    plans: dict[str, InstalmentReminder] = field(default_factory=dict)
    # The customer's portal link as of ``now`` (a text carries it): a text's length is known when its
    # channel is chosen. None: unknown (the backtest), the text is assumed to fit.
    text_link: Callable[[str, datetime], str] | None = None
    _link: str | None = None

    def link(self) -> str | None:
        if self._link is None and self.text_link is not None:
            self._link = self.text_link(self.customer_id, self.now)
        return self._link

    def note(self, invoice: Invoice | None, outcome: Outcome, step_id: str | None, reason: str) -> None:
        self.notes.append(Note(invoice.invoice_number if invoice else None, outcome, step_id, reason))

    def day_start(self, day: date) -> datetime:
        return self.calendar.day_start(day, self.zone)

    def later(self, invoice: Invoice, at: datetime | None) -> None:
        self.reschedules[invoice.invoice_number] = at


@dataclass(frozen=True)
class _Stage:
    """The steps of one invoice that run together now (the latest day that fell due)."""

    invoice: Invoice
    occurrences: tuple[Occurrence, ...]
    next_at: datetime | None
    broken_promise: str | None = None
    # Contact steps a go-live statement stands in for: recorded as taken with it (they count as touches).
    superseded: tuple[Occurrence, ...] = ()

    @property
    def emails(self) -> list[Occurrence]:
        return [o for o in self.occurrences if o.step.action is Action.EMAIL]

    @property
    def tasks(self) -> list[Occurrence]:
        return [o for o in self.occurrences if o.step.action is not Action.EMAIL]


def evaluate(
    *,
    customer_id: str,
    customer: Customer | None,
    invoices: Sequence[Invoice],
    now: datetime,
    policies: PolicySet,
    calendar: Calendar,
    customer_due: bool = False,
    credits: Sequence[CreditLine] = (),
    send_record: SendRecord | None = None,
    plans: Sequence[InstalmentReminder] = (),
    text_link: Callable[[str, datetime], str] | None = None,
) -> CustomerPlan:
    """The plan for one customer at ``now``; ``customer_due`` says the customer's own item came due
    (its anniversary); ``credits`` are the customer's open credit notes and unapplied cash (a reminder
    asks for the net amount, and none goes when they cover it); ``send_record`` what the customer's
    send slot is learned from when the policy learns send times (none: the portfolio knows nothing);
    ``text_link`` makes the customer's portal link, so a text too long for the policy's parts goes by
    the step's next channel instead of being skipped at every tick."""
    settings = policies.settings
    zone_name = customer.time_zone if customer else None
    zone, _ = resolve_zone(zone_name, settings.time_zone)
    today = local_today(zone_name, now, settings.time_zone)
    segment, policy = policies.policy_for(customer, today)
    arm = policies.arm_of(customer, segment)
    context = _Context(
        customer_id,
        customer,
        now,
        zone,
        today,
        policies,
        policy,
        calendar,
        segment.name,
        tuple(credits),
        send_record,
    )
    context.plans = {reminder.plan_id: reminder for reminder in plans}
    context.text_link = text_link

    stages = [
        stage
        for invoice in sorted(invoices, key=lambda i: (i.due_date, i.invoice_number))
        if (stage := _stage(context, invoice)) is not None
    ]
    messages, tasks, broken = _contact(context, stages)
    email, letter, text = (messages.get(channel) for channel in (Channel.EMAIL, Channel.LETTER, Channel.SMS))
    check_in, customer_next = _anniversary(context, customer_due)
    return CustomerPlan(
        customer_id=customer_id,
        now=now,
        today=today,
        segment=segment.name,
        policy=policy.name,
        zone=zone.key,
        email=email,
        tasks=tuple(tasks + check_in),
        notes=tuple(context.notes),
        reschedules=tuple(Reschedule(n, at) for n, at in sorted(context.reschedules.items())),
        broken_promises=tuple(broken),
        customer_next_action_at=customer_next,
        customer_due=customer_due,
        arm=arm,
        test=policies.challenger.name if arm and policies.challenger else None,
        send_slot=context.send_slot,
        letter=letter,
        text=text,
    )


def _stage(context: _Context, invoice: Invoice) -> _Stage | None:
    """Decide what is due for one invoice; None when nothing runs now (the reason is noted)."""
    customer, today = context.customer, context.today
    if invoice.document_type != DocumentType.INVOICE:
        # A credit note is owed to the customer: it lowers what reminders ask (``_net_of_credits``).
        context.note(invoice, Outcome.SUPPRESSED, None, "a credit note: owed to the customer, never reminded")
        context.later(invoice, None)
        return None
    if not invoice.is_open:
        context.note(invoice, Outcome.SUPPRESSED, None, "closed: nothing is owed on it any more")
        context.later(invoice, None)
        return None
    if invoice.disputed:
        context.note(invoice, Outcome.SUPPRESSED, None, "disputed: left out until the dispute is resolved")
        context.later(invoice, None)
        return None
    if invoice.agency:
        # Placed with a collection agency: the agency collects it, a reminder from us would contradict it.
        why = f"placed with the agency {invoice.agency}: never reminded"
        context.note(invoice, Outcome.SUPPRESSED, None, why)
        context.later(invoice, None)
        return None
    if customer is not None and customer.on_hold(today):
        why = "the customer is on dunning hold"
        if not (customer.dunning_hold or customer.collector_hold) and customer.paused_until:
            why = f"a collector paused dunning until {customer.paused_until.isoformat()}"
        context.note(invoice, Outcome.SUPPRESSED, None, why)
        context.later(invoice, context.day_start(today + timedelta(days=1)))
        return None
    occurrences = context.policy.occurrences(invoice)
    upcoming = [o for o in occurrences if o.due_on > today and o.step_id not in invoice.steps_done]
    next_at = context.day_start(upcoming[0].due_on) if upcoming else None
    if rounds_to_zero(invoice.open_amount, invoice.currency):
        return _residual(context, invoice, next_at)
    reminder = context.plans.get(invoice.promise_id or "")
    if reminder is not None and not reminder.missed:  # (a missed one broke its plan: below)
        return _instalment(context, invoice, reminder)
    if invoice.promised_until is not None:
        grace = context.policies.settings.promise_grace_days
        pause_end = invoice.promised_until + timedelta(days=grace)
        if today <= pause_end:
            context.note(
                invoice,
                Outcome.SUPPRESSED,
                None,
                f"promise to pay by {invoice.promised_until.isoformat()} (+{grace} days' grace)",
            )
            context.later(invoice, context.day_start(pause_end + timedelta(days=1)))
            return None
        return _missed_promise(context, invoice, next_at)

    done = set(invoice.steps_done)
    if not done and invoice.due_date < today:
        backlog = _go_live(context, invoice, occurrences, upcoming)
        if backlog is not None:
            return backlog
    done_days = [o.due_on for o in occurrences if o.step_id in done]
    last_done_day = max(done_days) if done_days else None
    touches = sum(1 for o in occurrences if o.step_id in done and o.step.action in _TOUCHES)
    # The firmest contact step taken: a milder one never follows it (on short terms the invoice-date
    # outreach falls after the past-due email; it is skipped, not sent late).
    firmest = max(
        (o for o in occurrences if o.step_id in done and o.step.action in _TOUCHES),
        key=lambda o: _severity(context.policy, o),
        default=None,
    )
    fallback = _bounced(context, invoice, occurrences, done, last_done_day)
    applicable: list[Occurrence] = []
    for occurrence in occurrences:
        if occurrence.due_on > today or occurrence.step_id in done:
            continue
        if last_done_day is not None and occurrence.due_on < last_done_day:
            # A step taken later stands in for it: this is history, not a to-do. (A step of the same
            # day is not: a stage runs together, and a crash or an SES refusal may have left part of
            # it undone; the ledger keeps the done part from happening twice.)
            continue
        if firmest is not None and _milder(context.policy, occurrence, firmest):
            context.note(invoice, Outcome.SKIPPED, occurrence.step_id, _overtaken(occurrence, firmest))
            continue
        reason = occurrence.step.conditions.why_not(invoice, customer, touches, context.segment)
        if reason:
            context.note(invoice, Outcome.NOT_APPLICABLE, occurrence.step_id, reason)
            continue
        applicable.append(occurrence)
    if fallback is not None and not applicable:
        return _Stage(invoice, (fallback,), _next_look(context, invoice, (), upcoming, firmest))
    if fallback is not None:
        context.note(
            invoice,
            Outcome.SKIPPED,
            fallback.step_id,
            f"{_failed_words(invoice, fallback.step_id)}, and "
            f"{', '.join(o.step_id for o in applicable)} falls due now: the later step goes instead",
        )
    if not applicable:
        upcoming = [o for o in upcoming if firmest is None or not _milder(context.policy, o, firmest)]
        next_at = context.day_start(upcoming[0].due_on) if upcoming else None
        if upcoming:
            context.note(
                invoice,
                Outcome.WAITING,
                upcoming[0].step_id,
                f"next step {upcoming[0].step_id} falls due on {upcoming[0].due_on.isoformat()}",
            )
        else:
            context.note(invoice, Outcome.WAITING, None, "the policy has no further step for it")
        context.later(invoice, next_at)
        return None
    latest = max(o.due_on for o in applicable)
    stage = tuple(o for o in applicable if o.due_on == latest)
    for passed in (o for o in applicable if o.due_on < latest):
        context.note(
            invoice,
            Outcome.SKIPPED,
            passed.step_id,
            f"superseded by {', '.join(o.step_id for o in stage)}: it fell due on "
            f"{passed.due_on.isoformat()} and a later step is due now (catching up without a burst)",
        )
    return _Stage(invoice, stage, _next_look(context, invoice, stage, upcoming, firmest))


def _bounced(
    context: _Context,
    invoice: Invoice,
    occurrences: Sequence[Occurrence],
    done: set[str],
    last_done_day: date | None,
) -> Occurrence | None:
    """The latest step taken, when it did not reach the customer (its email bounced for every recipient,
    as SES's event marked it, or the carrier said its text was not delivered) and its fallback has not
    gone yet: the same step by the channels after the failed one in its list. None when there is none,
    or the step lists no channel after it (noted: a person fixes the address or number, as the
    fix-contact task of the next step says)."""
    for occurrence in reversed(occurrences):
        step_id = occurrence.step_id
        failed = _failed(invoice, step_id) if step_id in done else None
        if failed is None:
            continue
        if step_id + BOUNCED in done or (last_done_day is not None and occurrence.due_on < last_done_day):
            return None  # sent by its next channel already, or a later step was taken since
        return _again(context, invoice, occurrence, occurrence.step.channels, failed, "the step names")
    return _statement_fallback(context, invoice, occurrences, done)


def _again(
    context: _Context,
    invoice: Invoice,
    occurrence: Occurrence,
    channels: tuple[Channel, ...],
    failed: tuple[Channel, str],
    naming: str,
) -> Occurrence | None:
    """``occurrence`` again (``<step>@bounced``) by the ``channels`` after the one that failed, or None
    when there is none after it (noted, with ``naming`` saying whose list it is)."""
    channel, what = failed
    rest = channels[channels.index(channel) + 1 :] if channel in channels else ()
    if not rest:
        context.note(
            invoice,
            Outcome.SUPPRESSED,
            occurrence.step_id,
            f"{what} and {naming} no channel after {channel.value}",
        )
        return None
    step = replace(occurrence.step, channels=rest)
    return Occurrence(occurrence.step_id + BOUNCED, step, occurrence.due_on, -1)


def _statement_fallback(
    context: _Context, invoice: Invoice, occurrences: Sequence[Occurrence], done: set[str]
) -> Occurrence | None:
    """A go-live statement that did not reach the customer (its email bounced, its text was not
    delivered): the statement again by the channels after the failed one among those it went by (the
    channels of the email steps it stood in for, as ``_go_live`` chose them), once. None when it names
    none after it, or a policy step was taken since (it reached the customer's invoices since)."""
    failed = _failed(invoice, GO_LIVE_STATEMENT) if GO_LIVE_STATEMENT in done else None
    if failed is None or GO_LIVE_STATEMENT + BOUNCED in done or invoice.last_touch_at is None:
        return None
    day = invoice.last_touch_at.astimezone(context.zone).date()  # the statement's: no touch since
    taken = [o for o in occurrences if o.step_id in done]
    if any(o.due_on > day for o in taken):
        return None
    stood_in = [o for o in taken if o.step.action is Action.EMAIL]
    channels = tuple(dict.fromkeys(c for o in stood_in for c in o.step.channels)) or (Channel.EMAIL,)
    statement = Occurrence(GO_LIVE_STATEMENT, _GO_LIVE_STATEMENT, day, -1)
    return _again(context, invoice, statement, channels, failed, "the steps it stood in for name")


def _failed(invoice: Invoice, step_id: str) -> tuple[Channel, str] | None:
    """The channel of a step taken that did not reach the customer, and what happened, in words."""
    if step_id in invoice.bounced_steps:
        return Channel.EMAIL, f"the email of {step_id} bounced"
    if step_id + TEXT_UNDELIVERED in invoice.bounced_steps:
        return Channel.SMS, f"the text of {step_id} was not delivered"
    return None


def _failed_words(invoice: Invoice, fallback_id: str) -> str:
    """What happened to the step a fallback (``<step>@bounced``) sends again."""
    failed = _failed(invoice, fallback_id.removesuffix(BOUNCED))
    return failed[1] if failed else f"{fallback_id.removesuffix(BOUNCED)} did not reach the customer"


def _milder(policy: Policy, occurrence: Occurrence, firmer: Occurrence) -> bool:
    """A contact step milder than ``firmer`` (earlier in the policy's order of steps)."""
    return occurrence.step.action in _TOUCHES and _severity(policy, occurrence) < _severity(policy, firmer)


def _overtaken(occurrence: Occurrence, firmer: Occurrence) -> str:
    return (
        f"overtaken by the firmer step {firmer.step_id} ({firmer.due_on.isoformat()}): a milder step "
        "never follows a firmer one"
    )


def _next_look(
    context: _Context,
    invoice: Invoice,
    stage: Sequence[Occurrence],
    upcoming: Sequence[Occurrence],
    firmest: Occurrence | None,
) -> datetime | None:
    """When the invoice wants its next look once ``stage`` is taken: its next step that is not milder
    than the firmest contact taken by then (those are recorded as skipped now, once, with the reason)."""
    contacts = [o for o in stage if o.step.action in _TOUCHES]
    firmer = max(
        (*contacts, *([firmest] if firmest else [])), key=lambda o: _severity(context.policy, o), default=None
    )
    kept: list[Occurrence] = []
    for occurrence in upcoming:
        if firmer is not None and _milder(context.policy, occurrence, firmer):
            if firmest is None or not _milder(context.policy, occurrence, firmest):
                context.note(invoice, Outcome.SKIPPED, occurrence.step_id, _overtaken(occurrence, firmer))
            continue
        kept.append(occurrence)
    return context.day_start(kept[0].due_on) if kept else None


def _go_live(
    context: _Context, invoice: Invoice, occurrences: Sequence[Occurrence], upcoming: Sequence[Occurrence]
) -> _Stage | None:
    """An invoice already late when the sweep first sees it (a go-live's backlog, or one loaded late):
    one consolidated statement of overdue invoices instead of the steps it missed, then the policy from
    the step its age implies. The statement counts for every contact step it stands in for, so a step
    that needs N earlier touches sees them; the tasks of the step its age reaches are made now.

    None when nothing was missed that would have written to the customer (the steps run as usual)."""
    today, customer = context.today, context.customer
    passed = [o for o in occurrences if o.due_on <= today]
    if not any(o.step.action is Action.EMAIL for o in passed if o.due_on < today):
        return None

    def why_not(occurrence: Occurrence) -> str | None:
        # The passed-over contact steps before its day count as touches.
        touches = sum(1 for o in passed if o.due_on < occurrence.due_on and o.step.action in _TOUCHES)
        return occurrence.step.conditions.why_not(invoice, customer, touches, context.segment)

    # The step the age implies: the latest day with a step whose conditions hold.
    stage: tuple[Occurrence, ...] = ()
    not_applicable: set[str] = set()
    for day in sorted({o.due_on for o in passed}, reverse=True):
        candidates = []
        for occurrence in (o for o in passed if o.due_on == day):
            reason = why_not(occurrence)
            if reason:
                context.note(invoice, Outcome.NOT_APPLICABLE, occurrence.step_id, reason)
                not_applicable.add(occurrence.step_id)
            else:
                candidates.append(occurrence)
        if candidates:
            stage = tuple(candidates)
            break
    tasks = tuple(o for o in stage if o.step.action is not Action.EMAIL)
    superseded = tuple(o for o in passed if o not in tasks and o.step.action in _TOUCHES)
    # The statement goes by the channels of the steps it stands in for (a final notice's letter).
    channels = tuple(
        dict.fromkeys(c for o in superseded if o.step.action is Action.EMAIL for c in o.step.channels)
    )
    step = (
        _GO_LIVE_STATEMENT
        if channels in ((), (Channel.EMAIL,))
        else replace(_GO_LIVE_STATEMENT, channels=channels)
    )
    statement = Occurrence(GO_LIVE_STATEMENT, step, today, -1)
    for occurrence in passed:
        if occurrence in tasks:
            continue
        if occurrence not in superseded:
            # A task the statement does not stand in for, whose conditions do not hold (an alert below
            # its amount): it would not have been made, so nothing superseded it. Not applicable, once.
            reason = why_not(occurrence)
            if reason:
                if occurrence.step_id not in not_applicable:
                    context.note(invoice, Outcome.NOT_APPLICABLE, occurrence.step_id, reason)
                continue
        context.note(
            invoice,
            Outcome.SKIPPED,
            occurrence.step_id,
            f"superseded by the statement of overdue invoices (it fell due on "
            f"{occurrence.due_on.isoformat()}, before the first look at {today.isoformat()})"
            + ("; the statement counts as this touch" if occurrence in superseded else ""),
        )
    firmest = max(superseded, key=lambda o: _severity(context.policy, o), default=None)
    next_at = _next_look(context, invoice, tasks, upcoming, firmest)
    return _Stage(invoice, (statement, *tasks), next_at, superseded=superseded)


def _residual(context: _Context, invoice: Invoice, next_at: datetime | None) -> _Stage | None:
    """An open invoice whose open amount rounds to zero in its currency's minor unit (0.001 GBP left by
    a payment of 100.001 GBP on 100.00, as an ERP may send it): a reminder would ask for "0.00 GBP".
    Nothing is asked (no email, letter, text or call, whatever step falls due); a collector gets a task
    to clear the residual in the ERP (write it off), once per invoice and amount (the task's touch
    ``clear_residual#<amount>``). The invoice keeps its next look at its next step's day, so an amount
    that grows again (a payment reversed) is reminded as usual."""
    currency = invoice.currency
    why = (
        f"open amount {invoice.open_amount} {currency} rounds to "
        f"{in_minor_units(invoice.open_amount, currency)} {currency} (the smallest unit of {currency} is "
        f"{smallest_unit(currency)}): nothing to ask for, no reminder"
    )
    # The amount as written the same however it was stored (0.0010 is 0.001), never with an exponent.
    step_id = f"{CLEAR_RESIDUAL}#{invoice.open_amount.normalize():f}"
    if step_id in invoice.steps_done:
        context.note(
            invoice, Outcome.SUPPRESSED, None, f"{why}; a collector was asked to clear it in the ERP"
        )
        context.later(invoice, next_at)
        return None
    context.note(invoice, Outcome.SUPPRESSED, None, f"{why}; a collector clears it in the ERP")
    return _Stage(invoice, (Occurrence(step_id, _CLEAR_RESIDUAL_STEP, context.today, -1),), next_at)


def _missed_promise(context: _Context, invoice: Invoice, next_at: datetime | None) -> _Stage:
    """A promise whose date and grace passed with the invoice still open: a "missed promise" email and
    a high-priority call, once per promise; then the regular steps continue from the next day."""
    assert invoice.promised_until is not None
    promise = invoice.promise_id or "promise"
    occurrences = tuple(
        occurrence
        for occurrence in (
            Occurrence(
                f"{MISSED_PROMISE}#{promise}",
                _PLAN_BROKEN_EMAIL if is_plan_id(promise) else _MISSED_PROMISE_EMAIL,
                invoice.promised_until,
                -1,
            ),
            Occurrence(
                f"{MISSED_PROMISE_CALL}#{promise}",
                _MISSED_PLAN_CALL if is_plan_id(promise) else _MISSED_PROMISE_CALL,
                invoice.promised_until,
                -1,
            ),
        )
        if occurrence.step_id not in invoice.steps_done
    )
    tomorrow = context.day_start(context.today + timedelta(days=1))
    return _Stage(
        invoice,
        occurrences,
        tomorrow if next_at is None else min(next_at, tomorrow),
        broken_promise=promise,
    )


def _instalment(context: _Context, invoice: Invoice, reminder: InstalmentReminder) -> _Stage | None:
    """An invoice of an open payment plan: its own steps wait while the plan stands; the plan's current
    instalment is reminded before its due date and on it (once each, per invoice and instalment, through
    the touch ledger); the next look is the next reminder or the day after the due date plus grace, when
    the sweep settles the instalment (paid: the next one is current; not: the plan is broken)."""
    today = context.today
    steps = [
        Occurrence(step_id, _INSTALMENT_STEP, day, -1)
        for step_id, day in reminder.reminders
        if step_id not in invoice.steps_done
    ]
    due_now = [o for o in steps if o.due_on <= today]
    upcoming = [o for o in steps if o.due_on > today]
    settle_at = context.day_start(reminder.pause_end + timedelta(days=1))
    next_at = min(context.day_start(upcoming[0].due_on), settle_at) if upcoming else settle_at
    what = (
        f"payment plan {reminder.plan_id}: instalment {reminder.number} of {reminder.count} "
        f"({plain(reminder.amount, reminder.currency)} {reminder.currency}) due "
        f"{reminder.due_date.isoformat()}"
    )
    if not due_now:
        context.note(invoice, Outcome.SUPPRESSED, None, f"in {what}; its reminders stand in for the invoice")
        context.later(invoice, next_at)
        return None
    for passed in due_now[:-1]:
        context.note(invoice, Outcome.SKIPPED, passed.step_id, f"superseded by {due_now[-1].step_id}")
    return _Stage(invoice, (due_now[-1],), next_at)


def _email_block(context: _Context) -> tuple[str | None, datetime | None]:
    """Why no email can go to this customer at all (suppressed), or until when it must wait (deferred)."""
    customer, settings = context.customer, context.policies.settings
    if customer is None or customer.placeholder:
        return "no customer master data yet (a placeholder): no address to write to", None
    if customer.do_not_contact:
        return "the customer is marked do-not-contact", None
    if not customer.reachable_emails:
        if customer.suppressed_emails:
            return f"every address bounced or complained ({', '.join(customer.suppressed_emails)})", None
        return "the customer has no email address", None
    wait, slot = _opening(context, context.now)
    if customer.last_emailed_at is not None:
        gap_end = customer.last_emailed_at + timedelta(days=settings.min_days_between_emails)
        if gap_end > context.now:
            wait, slot = max((wait, slot), _opening(context, gap_end), key=lambda pair: pair[0])
    context.send_slot = slot
    return None, (wait if wait > context.now else None)


def _learning(context: _Context) -> SendTimes | None:
    send_times = context.policies.settings.send_times
    return send_times if isinstance(send_times, SendTimes) and send_times.learn else None


def _opening(context: _Context, at: datetime) -> tuple[datetime, SlotChoice | None]:
    """The first instant from ``at`` an email may go: the send window's, or with send times learned the
    customer's slot of the first send day it has not passed (the slot is chosen per day)."""
    settings, country = context.policies.settings, context.customer.country if context.customer else None
    send_times = _learning(context)
    if send_times is None:
        return context.calendar.next_opening(at, context.zone, country, settings.send_window), None
    record = context.send_record or SendRecord()
    day = at.astimezone(context.zone).date()
    for _ in range(MAX_SCAN_DAYS):
        if context.calendar.is_send_day(day, country, settings.send_window):
            choice = choose(context.customer_id, day, record.own, record.portfolio, send_times)
            slot = _slot_window(settings.send_window, choice)
            start = max(at, context.calendar.day_start(day, context.zone))
            opening = context.calendar.next_opening(start, context.zone, country, slot)
            if opening.astimezone(context.zone).date() == day:
                return opening, choice
        day += timedelta(days=1)
    raise WindowError(f"no send day within {MAX_SCAN_DAYS} days of {at.isoformat()} (country {country!r})")


def _slot_window(window: SendWindow, choice: SlotChoice) -> SendWindow:
    return SendWindow(weekdays=window.weekdays, start=time(choice.hour), end=time(choice.hour + 1))


def _why_waiting(context: _Context, until: datetime) -> str:
    customer, settings = context.customer, context.policies.settings
    country = customer.country if customer else None
    slot = context.send_slot if _learning(context) else None
    if slot is not None:
        closed = context.calendar.why_closed(
            context.now, context.zone, country, _slot_window(settings.send_window, slot)
        )
        if closed:
            return (
                f"waiting for the customer's send slot {slot.label} ({closed}; {slot.reason}); "
                f"next opening {until.isoformat()}"
            )
    closed = context.calendar.why_closed(context.now, context.zone, country, settings.send_window)
    if closed:
        return f"outside the send window ({closed}); next opening {until.isoformat()}"
    last = customer.last_emailed_at.isoformat() if customer and customer.last_emailed_at else "recently"
    return (
        f"the last email went out {last} and emails keep {settings.min_days_between_emails} days apart; "
        f"next possible {until.isoformat()}"
    )


def _contact(
    context: _Context, stages: list[_Stage]
) -> tuple[dict[Channel, EmailPlan], list[TaskPlan], list[str]]:
    customer = context.customer
    blocked, wait = _email_block(context)
    dnc = customer is not None and customer.do_not_contact
    emails: list[tuple[_Stage, Occurrence]] = []
    # Each written step's channel (Step.channels), and why the ones before it could not carry it.
    routes: dict[tuple[str, str], tuple[Channel, str]] = {}
    tasks: dict[str, list[tuple[_Stage, Occurrence]]] = {}
    broken: list[str] = []
    no_address: list[Invoice] = []
    unreachable = blocked
    for stage in stages:
        chosen = {o.step_id: _bounce_route(context, stage.invoice, o, blocked) for o in stage.emails}
        timed = [channel for channel, _ in chosen.values() if channel in _SEND_WINDOW_CHANNELS]
        stage_wait = wait if Channel.EMAIL in timed else (_window_wait(context) if timed else None)
        if stage_wait is not None:
            # The stage runs as a whole: its tasks wait with its email (one moment, one story).
            for occurrence in stage.occurrences:
                context.note(
                    stage.invoice, Outcome.DEFERRED, occurrence.step_id, _why_waiting(context, stage_wait)
                )
            context.later(stage.invoice, stage_wait)
            continue
        for occurrence in stage.emails:
            channel, why = chosen[occurrence.step_id]
            if channel is None:
                context.note(stage.invoice, Outcome.SUPPRESSED, occurrence.step_id, why)
                if not dnc:
                    no_address.append(stage.invoice)
                    unreachable = why
            else:
                emails.append((stage, occurrence))
                routes[(stage.invoice.invoice_number, occurrence.step_id)] = (channel, why)
        for occurrence in stage.tasks:
            if dnc and occurrence.step.action is Action.CALL:
                context.note(
                    stage.invoice,
                    Outcome.SUPPRESSED,
                    occurrence.step_id,
                    "the customer is marked do-not-contact",
                )
                continue
            tasks.setdefault(occurrence.step.id, []).append((stage, occurrence))
        if stage.broken_promise is not None:
            broken.append(stage.broken_promise)
        context.later(stage.invoice, stage.next_at)

    emails, tasks, balance = _net_of_credits(context, emails, tasks, _informational(context, emails, routes))
    messages: dict[Channel, EmailPlan] = {}
    for channel in Channel:
        parts = [p for p in emails if routes[(p[0].invoice.invoice_number, p[1].step_id)][0] is channel]
        if parts:
            messages[channel] = _email_plan(context, parts, channel, routes)
    task_plans = [_task_plan(context, parts) for parts in tasks.values() if parts]
    if balance is not None:
        task_plans.append(balance)
    if no_address:
        task_plans.append(_fix_contact(context, unreachable or "", no_address))
    return messages, task_plans, sorted(set(broken))


# Channels that go out in the customer's send window (a letter is printed and posted whenever).
_SEND_WINDOW_CHANNELS = frozenset({Channel.EMAIL, Channel.SMS})


def _route(context: _Context, step: Step, email_blocked: str | None) -> tuple[Channel | None, str]:
    """The first of the step's channels that reaches the customer now, and why the ones before it do
    not (or, with none, why none does: a person fixes the contact data)."""
    why_not: list[tuple[Channel, str]] = []
    for channel in step.channels:
        reason = email_blocked if channel is Channel.EMAIL else _unreachable(context.customer, channel)
        if reason is None and channel is Channel.SMS:
            reason = _text_too_long(context, step)
        if reason is None:
            return channel, "; ".join(f"no {c.value}: {r}" for c, r in why_not)
        why_not.append((channel, reason))
    if step.channels == (Channel.EMAIL,):
        return None, email_blocked or ""
    return None, "no channel reaches the customer: " + "; ".join(f"{c.value}: {r}" for c, r in why_not)


def _bounce_route(
    context: _Context, invoice: Invoice, occurrence: Occurrence, blocked: str | None
) -> tuple[Channel | None, str]:
    """``_route``, saying of a step's fallback that its email bounced or its text was not delivered
    (preview, decisions)."""
    channel, why = _route(context, occurrence.step, blocked)
    if not occurrence.step_id.endswith(BOUNCED):
        return channel, why
    failed = _failed(invoice, occurrence.step_id.removesuffix(BOUNCED))
    label = "text" if failed and failed[0] is Channel.SMS else "email"
    return channel, (
        f"no {label}: {_failed_words(invoice, occurrence.step_id)}" + (f"; {why}" if why else "")
    )


def _unreachable(customer: Customer | None, channel: Channel) -> str | None:
    """Why a letter or a text cannot reach the customer (None: it can)."""
    if customer is None or customer.placeholder:
        return "no customer master data yet (a placeholder)"
    if customer.do_not_contact:
        return "the customer is marked do-not-contact"
    if channel is Channel.LETTER:
        return None if customer.postal_address else "no postal address in the customer master"
    # A number that cannot be texted (a fixed line, no country) falls to the next channel at once
    # rather than failing every hour; sending hours and the message's length are the SMS module's.
    return why_not_textable(
        customer.mobile, customer.country, customer.sms_opted_out, customer.sms_undeliverable
    )


def _text_too_long(context: _Context, step: Step) -> str | None:
    """Why the step's text cannot fit the policy's ``settings.sms.max_parts`` with the customer's link
    (None: it fits, or the link is not known here). The same test ``dunning.texts`` sends with."""
    link, customer = context.link(), context.customer
    if link is None or customer is None:
        return None
    settings = context.policies.settings
    rules = settings.sms or SmsRules()
    return text_does_not_fit(
        step.template or "", settings.sender_name, link, customer.language, rules.max_parts
    )


def _window_wait(context: _Context) -> datetime | None:
    """Until when a text waits for the send window (None: it is open now)."""
    opening, _ = _opening(context, context.now)
    return opening if opening > context.now else None


def asks_for_money(plan: CustomerPlan) -> bool:
    """Whether carrying ``plan`` out would ask the customer to pay (an email, a collector's call): then
    the customer's credits are read, and the plan made again with them."""
    return bool(plan.messages) or any(task.kind == Action.CALL.value for task in plan.tasks)


def _net_of_credits(
    context: _Context,
    emails: list[tuple[_Stage, Occurrence]],
    tasks: dict[str, list[tuple[_Stage, Occurrence]]],
    informational: set[tuple[str, str]],
) -> tuple[list[tuple[_Stage, Occurrence]], dict[str, list[tuple[_Stage, Occurrence]]], TaskPlan | None]:
    """Take the customer's credits off what is asked, per currency. Where they cover all that the
    reminders and calls would ask, none of those go: the customer owes nothing net, and a collector
    gets one "credit balance" task to apply the credits (or refund them). ``informational`` parts (an
    invoice a statement lists for information, not yet due) ask for nothing: they do not count in
    what is asked, and go (or not) with the statement they are listed in."""
    available = credit_by_currency(context.credits)
    if not available:
        return emails, tasks, None
    asking = [
        *emails,
        *(part for parts in tasks.values() for part in parts if part[1].step.action in _TOUCHES),
    ]
    asked: dict[str, dict[str, Decimal]] = {}
    for stage, occurrence in asking:
        if (stage.invoice.invoice_number, occurrence.step_id) in informational:
            continue
        asked.setdefault(stage.invoice.currency, {})[stage.invoice.invoice_number] = stage.invoice.open_amount
    covered = {
        currency
        for currency, invoices in asked.items()
        if available.get(currency, Decimal(0)) >= sum(invoices.values())
    }
    if not covered:
        return emails, tasks, None

    def asks_covered(part: tuple[_Stage, Occurrence]) -> bool:
        return part[0].invoice.currency in covered and part[1].step.action in _TOUCHES

    for stage, occurrence in (part for part in asking if asks_covered(part)):
        currency = stage.invoice.currency
        covers = (
            f"the customer's credits of {available[currency]} {currency} cover the "
            f"{sum(asked[currency].values())} {currency}"
        )
        context.note(
            stage.invoice,
            Outcome.SUPPRESSED,
            occurrence.step_id,
            f"{covers} overdue that the statement it would be listed in (for information) asks: a "
            "collector applies them instead"
            if (stage.invoice.invoice_number, occurrence.step_id) in informational
            else f"{covers} this would ask: a collector applies them instead",
        )
    kept_emails = [part for part in emails if not asks_covered(part)]
    kept_tasks = {step: [part for part in parts if not asks_covered(part)] for step, parts in tasks.items()}
    lines = tuple(line for line in context.credits if line.currency in covered)
    numbers = sorted({n for currency in covered for n in asked[currency]})
    context.note(None, Outcome.TASK, CREDIT_BALANCE, "credits cover what is due: apply or refund them")
    balance = TaskPlan(
        # One task per state of the credits: the same credits found again make no second task.
        task_id=_task_id(
            CREDIT_BALANCE, [f"{line.reference}={line.amount}{line.currency}" for line in lines]
        ),
        kind=CREDIT_BALANCE,
        step_id=CREDIT_BALANCE,
        title="Credit balance: the customer's credits cover what is due - apply them in the ERP or refund "
        + ", ".join(
            f"{amount} {currency}" for currency, amount in sorted(available.items()) if currency in covered
        ),
        priority=Priority.NORMAL,
        assignee=_assignee(context, _FIX_CONTACT_STEP),
        touches=(),
        invoice_numbers=tuple(numbers),
    )
    return kept_emails, kept_tasks, balance


def _severity(policy: Policy, occurrence: Occurrence) -> tuple[int, int]:
    """How severe an email step is: later in the policy is firmer; a missed promise is firmest but a
    final notice, and repeats of the last step count up."""
    if occurrence.step.id == MISSED_PROMISE:
        return (len(policy.steps) - 1, 0) if policy.steps else (0, 0)
    base, _, repeat = occurrence.step_id.removesuffix(BOUNCED).partition("#")
    index = policy.step_index.get(base, 0)
    return (index, int(repeat) if repeat.isdigit() else 1)


def _email_plan(
    context: _Context,
    parts: list[tuple[_Stage, Occurrence]],
    channel: Channel = Channel.EMAIL,
    routes: dict[tuple[str, str], tuple[Channel, str]] | None = None,
) -> EmailPlan:
    customer = context.customer
    assert customer is not None
    touches = tuple(Touch(s.invoice.invoice_number, o.step_id, o.due_on) for s, o in parts)
    superseded = tuple(
        Touch(s.invoice.invoice_number, o.step_id, o.due_on)
        for s in dict.fromkeys(s for s, _ in parts)
        for o in s.superseded
    )
    promised = [s.invoice.promised_until for s, o in parts if o.step.id == MISSED_PROMISE]
    lead = _lead(context, parts)
    listed = len({s.invoice.invoice_number for s, _ in parts})
    for_information = _not_yet_due(context, parts, lead)
    counted = listed - len(for_information)
    kind = _MESSAGE_KIND[channel]
    for stage, occurrence in parts:
        fallback = (routes or {}).get((stage.invoice.invoice_number, occurrence.step_id), (channel, ""))[1]
        said = f"{occurrence.step_id} fell due on {occurrence.due_on.isoformat()}" + (
            f"; by {kind} ({fallback})" if fallback else ""
        )
        if stage.invoice.invoice_number in for_information:
            said += (
                f"; not yet due (due {stage.invoice.due_date.isoformat()}): listed for information in the "
                f"{kind} ({lead.step.template}) of {counted} overdue invoice(s), not in its count or total"
            )
        elif for_information:
            said += (
                f"; one {kind} ({lead.step.template}) lists {counted} overdue invoice(s), and "
                f"{len(for_information)} not yet due for information (not in its count or total)"
            )
        elif listed > 1:
            said += f"; one {kind} ({lead.step.template}) lists all {listed} invoices"
        context.note(stage.invoice, _MESSAGE_OUTCOME[channel], occurrence.step_id, said)
    assert lead.step.template is not None
    recipients: tuple[str, ...] = customer.reachable_emails
    if channel is Channel.LETTER:
        recipients = (customer.name or customer.customer_id, *customer.postal_address)
    elif channel is Channel.SMS:
        recipients = (customer.mobile or "",)
    return EmailPlan(
        step_id=lead.step_id,
        template=lead.step.template,
        touches=touches,
        recipients=recipients,
        touch_id=_message_id(context.customer_id, touches, channel),
        promised_date=max((p for p in promised if p is not None), default=None),
        superseded=superseded,
        instalment=next(
            (
                context.plans[s.invoice.promise_id or ""]
                for s, o in parts
                if o.step.id in (INSTALMENT_REMINDER, MISSED_PROMISE)
                and (s.invoice.promise_id or "") in context.plans
            ),
            None,
        ),
        credits=tuple(
            line for line in context.credits if line.currency in {s.invoice.currency for s, _ in parts}
        ),
        channel=channel,
        for_information=for_information,
    )


def _lead(context: _Context, parts: Sequence[tuple[_Stage, Occurrence]]) -> Occurrence:
    """The step whose template a message of ``parts`` is written in: the most severe, unless a missed
    promise, a plan's instalment or a go-live statement is among them (in that order)."""
    for engine_step in (MISSED_PROMISE, INSTALMENT_REMINDER):
        # A missed promise says which date was missed; a plan's instalment says what is due when, and
        # lists the invoices with it.
        found = next((o for _, o in parts if o.step.id == engine_step), None)
        if found is not None:
            return found
    # The first email lists everything overdue as a statement, whatever else falls due with it.
    statement = next((o for _, o in parts if o.step.id == GO_LIVE_STATEMENT), None)
    return statement or max((o for _, o in parts), key=lambda o: _severity(context.policy, o))


def _not_yet_due(
    context: _Context, parts: Sequence[tuple[_Stage, Occurrence]], lead: Occurrence
) -> tuple[str, ...]:
    """The invoices a message of ``parts`` written in ``lead``'s template lists apart, for information:
    a template that counts and totals overdue invoices only (``OVERDUE_ONLY``) lists an invoice not yet
    overdue today (one whose own pre-due step fell due the same day) "not yet due, for information",
    out of its count and totals. None when no invoice of it is overdue (then it is not that message)."""
    if lead.step.template not in OVERDUE_ONLY:
        return ()
    numbers = dict.fromkeys(s.invoice.invoice_number for s, _ in parts)
    later = tuple(
        dict.fromkeys(s.invoice.invoice_number for s, _ in parts if not _overdue(context, s.invoice))
    )
    return later if len(later) < len(numbers) else ()


def _overdue(context: _Context, invoice: Invoice) -> bool:
    """Past its due date on the customer's local day (due today is not overdue yet)."""
    return invoice.due_date < context.today


def _informational(
    context: _Context,
    emails: Sequence[tuple[_Stage, Occurrence]],
    routes: dict[tuple[str, str], tuple[Channel, str]],
) -> set[tuple[str, str]]:
    """The (invoice, step) parts that will be listed for information only (``_not_yet_due``) in the
    message of their channel, where that message counts overdue invoices in the part's currency: they
    ask for nothing, so the customer's credits are weighed against the overdue invoices alone."""
    found: set[tuple[str, str]] = set()
    for channel in Channel:
        parts = [p for p in emails if routes[(p[0].invoice.invoice_number, p[1].step_id)][0] is channel]
        if not parts:
            continue
        apart = set(_not_yet_due(context, parts, _lead(context, parts)))
        counted = {s.invoice.currency for s, _ in parts if s.invoice.invoice_number not in apart}
        found |= {
            (s.invoice.invoice_number, o.step_id)
            for s, o in parts
            if s.invoice.invoice_number in apart and s.invoice.currency in counted
        }
    return found


_MESSAGE_KIND = {Channel.EMAIL: "email", Channel.LETTER: "letter", Channel.SMS: "text message"}
_MESSAGE_OUTCOME = {Channel.EMAIL: Outcome.EMAIL, Channel.LETTER: Outcome.LETTER, Channel.SMS: Outcome.TEXT}


def _message_id(customer_id: str, touches: Iterable[Touch], channel: Channel) -> str:
    """The touch id of an email (as it always was), or of a letter or text: prefixed with the channel,
    so the same touches by another channel are another message (the letter's id is its file name)."""
    touch = touch_id(customer_id, touches)
    return touch if channel is Channel.EMAIL else f"{channel.value}-{touch}"


# A task of a customer without an owner whose segment has collectors: one of them, in turn, is chosen
# when the task is created (the choice is stored; planning stays free of writes).
IN_TURN = ""


def _assignee(context: _Context, step: Step) -> str:
    settings, customer = context.policies.settings, context.customer
    if step.action is Action.ESCALATION or step.action is Action.AGENCY:
        return settings.manager
    if customer and (owner := customer.owner_on(context.today)):
        return owner
    segment = next((s for s in context.policies.segments if s.name == context.segment), None)
    return IN_TURN if segment is not None and segment.collectors else settings.manager


def _task_plan(context: _Context, parts: list[tuple[_Stage, Occurrence]]) -> TaskPlan:
    step = parts[0][1].step
    touches = tuple(Touch(s.invoice.invoice_number, o.step_id, o.due_on) for s, o in parts)
    if step.id == CLEAR_RESIDUAL:
        return _residual_task(context, parts, touches)
    for stage, occurrence in parts:
        context.note(
            stage.invoice,
            Outcome.TASK,
            occurrence.step_id,
            f"{step.action} task for {_assignee(context, step)}: {occurrence.step_id} fell due on "
            f"{occurrence.due_on.isoformat()}",
        )
    step_id = parts[0][1].step_id
    return TaskPlan(
        task_id=_task_id(step_id, (t.invoice_number for t in touches)),
        kind=str(step.action),
        step_id=step_id,
        title=step.title or f"{step.action.replace('_', ' ').capitalize()} ({step.id})",
        priority=step.priority,
        assignee=_assignee(context, step),
        touches=touches,
    )


def _residual_task(
    context: _Context, parts: list[tuple[_Stage, Occurrence]], touches: tuple[Touch, ...]
) -> TaskPlan:
    """One task for the residuals found now (``_residual``): clear them in the ERP. Each invoice's touch
    (``clear_residual#<amount>``) is written with the task, so the next look makes no second one."""
    assignee = _assignee(context, _CLEAR_RESIDUAL_STEP)
    residuals = ", ".join(
        f"{s.invoice.invoice_number} {s.invoice.open_amount} {s.invoice.currency}" for s, _ in parts
    )
    for stage, occurrence in parts:
        context.note(
            stage.invoice,
            Outcome.TASK,
            occurrence.step_id,
            f"{CLEAR_RESIDUAL} task for {assignee}: clear the residual {stage.invoice.open_amount} "
            f"{stage.invoice.currency} in the ERP (write it off)",
        )
    return TaskPlan(
        task_id=_task_id(CLEAR_RESIDUAL, (f"{t.invoice_number}#{t.step_id}" for t in touches)),
        kind=CLEAR_RESIDUAL,
        step_id=CLEAR_RESIDUAL,
        title=f"Clear the residual below the currency's smallest unit in the ERP (write it off): {residuals}",
        priority=_CLEAR_RESIDUAL_STEP.priority,
        assignee=assignee,
        touches=touches,
    )


def _fix_contact(context: _Context, reason: str, invoices: list[Invoice]) -> TaskPlan:
    numbers = tuple(i.invoice_number for i in invoices)
    customer = context.customer
    addresses = ",".join(customer.suppressed_emails) if customer else ""
    context.note(None, Outcome.TASK, FIX_CONTACT, f"fix contact data: {reason}")
    return TaskPlan(
        # One task per state of the contact data, however many runs find it broken.
        task_id=_task_id(FIX_CONTACT, [addresses or "none"]),
        kind=FIX_CONTACT,
        step_id=FIX_CONTACT,
        title=f"Fix the customer's contact data: {reason}",
        priority=Priority.HIGH,
        assignee=_assignee(context, _FIX_CONTACT_STEP),
        touches=(),
        invoice_numbers=numbers,
    )


def _anniversary(context: _Context, customer_due: bool) -> tuple[list[TaskPlan], datetime | None]:
    """The relationship check-in: a task on the anniversary of the customer's first day with us."""
    customer, settings = context.customer, context.policies.settings
    if customer is None or customer.customer_since is None or not settings.anniversary_check_in:
        return [], None
    today = context.today
    upcoming = next_anniversary(customer.customer_since, today)
    if not customer_due:
        return [], None
    this_year = anniversary_in(customer.customer_since, today.year)
    tasks: list[TaskPlan] = []
    if this_year == today and today.year > customer.customer_since.year:
        years = today.year - customer.customer_since.year
        context.note(None, Outcome.TASK, CHECK_IN, f"{years} year(s) as a customer today")
        tasks.append(
            TaskPlan(
                task_id=f"{CHECK_IN}-{today.year}",
                kind=CHECK_IN,
                step_id=f"{CHECK_IN}#{today.year}",
                title=f"Relationship check-in: {years} year(s) as a customer",
                priority=Priority.LOW,
                assignee=_assignee(context, _FIX_CONTACT_STEP),
                touches=(),
            )
        )
    if upcoming == today:
        upcoming = next_anniversary(customer.customer_since, today + timedelta(days=1))
    return tasks, context.day_start(upcoming)


_TOUCHES = frozenset(action for action in Action if action.contacts_customer)

# The engine's own steps are not in any policy file: their trigger is the moment they are found due.
_NO_TRIGGER = Trigger(Anchor.DUE_DATE, 0)
_FIX_CONTACT_STEP = Step(id=FIX_CONTACT, trigger=_NO_TRIGGER, action=Action.OWNER_ALERT)
# Internal (not a contact: no touch the policy counts, not stopped by do-not-contact).
_CLEAR_RESIDUAL_STEP = Step(
    id=CLEAR_RESIDUAL, trigger=_NO_TRIGGER, action=Action.OWNER_ALERT, priority=Priority.LOW
)
_MISSED_PROMISE_EMAIL = Step(
    id=MISSED_PROMISE, trigger=_NO_TRIGGER, action=Action.EMAIL, template=MISSED_PROMISE
)
# A payment plan broken: its own wording names the missed instalment (not "the date you promised").
_PLAN_BROKEN_EMAIL = Step(id=MISSED_PROMISE, trigger=_NO_TRIGGER, action=Action.EMAIL, template=PLAN_BROKEN)
_GO_LIVE_STATEMENT = Step(
    id=GO_LIVE_STATEMENT, trigger=_NO_TRIGGER, action=Action.EMAIL, template="overdue_statement"
)
_INSTALMENT_STEP = Step(
    id=INSTALMENT_REMINDER, trigger=_NO_TRIGGER, action=Action.EMAIL, template=INSTALMENT_REMINDER
)
_MISSED_PLAN_CALL = Step(
    id=MISSED_PROMISE_CALL,
    trigger=_NO_TRIGGER,
    action=Action.CALL,
    title="Payment plan broken (an instalment was not paid) - call the customer",
    priority=Priority.HIGH,
)
_MISSED_PROMISE_CALL = Step(
    id=MISSED_PROMISE_CALL,
    trigger=_NO_TRIGGER,
    action=Action.CALL,
    title="Promise to pay broken - call the customer",
    priority=Priority.HIGH,
)
