"""Carrying out a customer's plan with an exactly-once effect per (invoice, step).

Order of work for one customer: the email first (reserve -> send -> complete), then the tasks (one
transaction each), then the invoices nobody touched get their next look, broken promises are closed,
and the customer's own next look is set. Every step is safe to repeat: a retried run finds the
touches already made and does not make them again. The single window no storage can close (SES has
accepted the email, the completion was not written) is found by the next run through the reservation
that outlived its lease: it is logged, given to a person as a review task, and never resent.

Time: ``process_customer`` and ``plan_customer`` take the tick's time as ``now`` and hand it to the
engine; from there the plan carries it (``plan.now``, and the customer's local day ``plan.today``), and
everything carrying the plan out stamps, schedules and signs links with it. The store's writes take it
as their ``at`` (the store's name for when a write happens). The one other clock is ``Services.clock``,
the wall clock of a reservation's lease.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from arcollect import changes
from arcollect.calendar import Calendar, local_today
from arcollect.changes import Change, ChangeFeed
from arcollect.credits import CreditLine
from arcollect.decisions import KIND as DECISIONS_KIND
from arcollect.decisions import Decision, as_detail
from arcollect.dunning.emails import Contact as Signatory
from arcollect.dunning.emails import ReminderEmail, render_email
from arcollect.dunning.engine import (
    CHECK_IN,
    GO_LIVE_STATEMENT,
    IN_TURN,
    CustomerPlan,
    EmailPlan,
    Outcome,
    TaskPlan,
    asks_for_money,
    evaluate,
)
from arcollect.dunning.plans import PlanLedger, settle_plans
from arcollect.dunning.posting import LetterBox, LetterJob, Reservations, post_letter
from arcollect.entities import Activity, Customer, Invoice, Payment, Promise, Task, TaskKind
from arcollect.interest import Charges, invoice_charges
from arcollect.mailing import Mailer
from arcollect.observability import logger
from arcollect.plans import InstalmentReminder
from arcollect.policy import Action, PolicySet
from arcollect.priority import Factors, factors_for, score
from arcollect.promises import PromiseStatus, settle
from arcollect.send_times import SendRecord
from arcollect.store.dunning import (
    EmailTouchRecord,
    InvoiceState,
    Reach,
    Refusal,
    StaleCustomer,
    snapshot_of,
)
from arcollect.store.mail import MailRejected, MessageRefused, SendOutcomeUnknown, customer_tags, tag_value

# A reservation older than this without a message id is in doubt (no run lives that long: the
# function's timeout is 5 minutes); a younger one may be another invocation sending right now.
LEASE = timedelta(minutes=15)

# SES message tags: the customer and step say what a message was, the touch id finds its reservation.
TAG_CUSTOMER = "customer_id"
TAG_STEP = "step"
TAG_TOUCH = "touch_id"


class Ledger(Reservations, Protocol):
    """The ledger of touches (``store/touch_ledger.py``): each email reserved, completed, released or
    refused once, each task touch once per invoice and step."""

    def complete_email(
        self,
        customer_id: str,
        touch_id: str,
        message_id: str,
        states: Sequence[InvoiceState],
        activity: Activity,
        at: datetime,
    ) -> None: ...

    def mark_in_doubt(self, customer_id: str, touch_id: str) -> bool: ...

    def refuse_email(
        self, customer_id: str, touch_id: str, reason: str, at: datetime, task: Task, activity: Activity
    ) -> bool: ...

    def resend_requested(self, customer_id: str, task_id: str, since: datetime) -> bool: ...

    def settle_touches(self, customer_id: str, states: Sequence[InvoiceState], at: datetime) -> None: ...

    def create_task(
        self,
        task: Task,
        states: Sequence[InvoiceState],
        promises: dict[str, str],
        at: datetime,
        expected: Customer | None = None,
        reach: Reach = Reach.DUNNING,
    ) -> tuple[bool, tuple[str, ...]]: ...

    def task_parts(self, states: Sequence[InvoiceState]) -> list[list[InvoiceState]]: ...


class Store(Protocol):
    # The touches, held by the store (composition: the store does not repeat the ledger's methods).
    @property
    def touches(self) -> Ledger: ...

    def reschedule(
        self,
        customer_id: str,
        invoice_number: str,
        at: datetime | None,
        customer_snapshot: str | None = None,
        *,
        read_at: datetime | None,
    ) -> bool: ...

    def customers(self, customer_ids: Sequence[str]) -> dict[str, Customer]: ...

    def reschedule_customer(self, customer_id: str, at: datetime | None) -> None: ...

    def promise_broken(self, customer_id: str, promise_id: str, at: datetime) -> None: ...

    def clear_promise(self, customer_id: str, invoice_number: str, promise_id: str) -> None: ...

    def assign_in_turn(
        self, customer_id: str, segment: str, collectors: Sequence[str], at: datetime
    ) -> str: ...

    def record_decisions(self, activity: Activity) -> bool: ...

    def open_credits(self, customer_id: str) -> tuple[CreditLine, ...]: ...

    def send_record(self, customer_id: str) -> SendRecord | None: ...

    def invoices(self, customer_id: str, numbers: Iterable[str]) -> list[Invoice]: ...


class PromiseBook(Protocol):
    """Settling promises to pay (see workspace.promises): the sweep settles them when they come due."""

    def promise(self, customer_id: str, promise_id: str) -> Promise | None: ...

    def payments(self, customer_id: str) -> list[Payment]: ...

    def settle_promise(
        self,
        promise: Promise,
        status: str,
        paid: Decimal,
        at: datetime,
        release: Sequence[str],
        changes: Sequence[Change] = (),
    ) -> bool: ...


class Pacer:
    """Keeps sends at or below ``rate`` per second (SES refuses faster sending with a throttle)."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._interval = 1.0 / rate
        self._clock, self._sleep = clock, sleep
        self._next = 0.0

    def wait(self) -> None:
        now = self._clock()
        if now < self._next:
            self._sleep(self._next - now)
            now = self._next
        self._next = now + self._interval


@dataclass(frozen=True)
class Services:
    """What carrying out a plan needs from outside: storage, SES, the policy and the clock's calendar."""

    store: Store
    mailer: Mailer
    policies: PolicySet
    calendar: Calendar
    sender: str
    # The customer's portal link, signed as of the plan's "now": ``link_for(customer_id, now)``.
    link_for: Callable[[str, datetime], str]
    pacer: Pacer
    # Without one, promises are only ever found broken by the engine (never settled as kept).
    promises: PromiseBook | None = None
    # Writes the ERP's change of each promise settled, once committed (none: the table keeps it).
    change_feed: ChangeFeed | None = None
    # The wall clock: a reservation's lease runs on it, not on the tick's time (a tick may run late, or
    # long; a simulation passes its own).
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # Payment plans (dunning/plans.py): settled before each customer is planned; none: not looked at.
    plans: PlanLedger | None = None
    # Where letters are handed to the print-and-mail service (none: a letter plan is not posted, and
    # its invoices stay due).
    letters: LetterBox | None = None
    # The touch's own reply address, registered before the reminder goes out (None: no inbound domain,
    # the owner's mailbox stays the Reply-To): ``reply_to(customer_id, touch_id, now)``.
    reply_to: Callable[[str, str, datetime], str | None] = field(default=lambda *_: None)
    # Remember the Message-ID SES gave a sent reminder (replies name it in In-Reply-To):
    # ``threaded(customer_id, touch_id, ses_message_id, now)``.
    threaded: Callable[[str, str, str, datetime], None] = field(default=lambda *_: None)
    # Reminder texts (dunning/texts.Texting: the SMS service and the texts' ledger); None: no texts.
    texting: Any = None


@dataclass
class RunReport:
    customers: int = 0
    emails_sent: int = 0
    invoices_emailed: int = 0
    tasks_created: int = 0
    in_doubt: int = 0
    failed_customers: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)

    def absorb(self, other: RunReport) -> None:
        self.customers += other.customers
        self.emails_sent += other.emails_sent
        self.invoices_emailed += other.invoices_emailed
        self.tasks_created += other.tasks_created
        self.in_doubt += other.in_doubt
        self.failed_customers += other.failed_customers
        self.outcomes.update(other.outcomes)

    def as_dict(self) -> dict[str, object]:
        return {
            "customers": self.customers,
            "emails_sent": self.emails_sent,
            "invoices_emailed": self.invoices_emailed,
            "tasks_created": self.tasks_created,
            "in_doubt": self.in_doubt,
            "failed_customers": self.failed_customers,
            "outcomes": dict(sorted(self.outcomes.items())),
        }


@dataclass(frozen=True)
class _Profile:
    """The profile a plan was made with: ``expected`` when it is a copy kept beside the invoices (the
    writes then check it is still current), and the copy to keep beside them for the next sweep."""

    expected: Customer | None
    snapshot: str | None


def waits_for_slot(plan: CustomerPlan) -> bool:
    """Whether the plan's email (sent now or waiting) goes in a learned send slot (settings.send_times)."""
    return plan.send_slot is not None and (
        plan.email is not None or any(note.outcome is Outcome.DEFERRED for note in plan.notes)
    )


def plan_customer(
    *,
    customer_id: str,
    customer: Customer | None,
    invoices: Sequence[Invoice],
    now: datetime,
    services: Services,
    customer_due: bool = False,
    plans: Sequence[InstalmentReminder] = (),
) -> CustomerPlan:
    """What the policy decides for one customer now, net of its credits: only a plan that asks for
    money (an email, a call) reads the customer's open credit notes and unapplied cash, and is made
    again with them (most ticks ask for none). The sweep and the preview plan alike through here."""

    def plan_with(credits: Sequence[CreditLine], record: SendRecord | None = None) -> CustomerPlan:
        return evaluate(
            customer_id=customer_id,
            customer=customer,
            invoices=invoices,
            now=now,
            policies=services.policies,
            calendar=services.calendar,
            customer_due=customer_due,
            credits=credits,
            send_record=record,
            plans=plans,
            text_link=services.link_for,
        )

    plan = plan_with(())
    record = None
    if waits_for_slot(plan):
        # Send times learned: the customer's record, read only for a plan with an email to send or wait for.
        record = services.store.send_record(customer_id)
        if record is not None:
            plan = plan_with((), record)
    if asks_for_money(plan):
        credits = services.store.open_credits(customer_id)
        if credits:
            plan = plan_with(credits, record)
    return plan


def process_customer(
    *,
    customer_id: str,
    customer: Customer | None,
    invoices: Sequence[Invoice],
    now: datetime,
    services: Services,
    customer_due: bool = False,
    from_snapshot: bool = False,
) -> RunReport:
    """Evaluate the policy for one customer and carry the plan out. A plan made from a copy of the
    profile that turns out stale (the writes check) is made again from the profile itself."""

    report = RunReport(customers=1)
    reminders: list[InstalmentReminder] = []
    if services.plans is not None:
        invoices, reminders = settle_plans(
            customer_id,
            customer,
            invoices,
            now=now,
            policies=services.policies,
            book=services.plans,
            read=services.store.invoices,
            change_feed=services.change_feed,
            outcomes=report.outcomes,
        )
    if services.promises is not None:
        invoices = settle_promises(
            customer_id, customer, invoices, now=now, services=services, book=services.promises, report=report
        )

    def run(profile: Customer | None, copied: bool) -> None:
        plan = plan_customer(
            customer_id=customer_id,
            customer=profile,
            invoices=invoices,
            now=now,
            services=services,
            customer_due=customer_due,
            plans=reminders,
        )
        carry_out(
            plan, customer=profile, invoices=invoices, services=services, from_snapshot=copied, report=report
        )

    try:
        run(customer, from_snapshot)
    except StaleCustomer:
        if not from_snapshot:
            raise
        # What the first attempt did stands (each touch is recorded once); the rest is planned again.
        report.outcomes["stale_profile_copy"] += 1
        run(services.store.customers([customer_id]).get(customer_id), False)
    return report


def carry_out(
    plan: CustomerPlan,
    *,
    customer: Customer | None,
    invoices: Sequence[Invoice],
    services: Services,
    from_snapshot: bool = False,
    report: RunReport | None = None,
) -> RunReport:
    profile = _Profile(
        expected=customer if from_snapshot else None,
        snapshot=snapshot_of(customer) if customer is not None else None,
    )
    report = report if report is not None else RunReport(customers=1)
    report.outcomes.update(note.outcome.value for note in plan.notes)
    by_number = {invoice.invoice_number: invoice for invoice in invoices}
    next_at = {r.invoice_number: r.next_action_at for r in plan.reschedules}
    touched: set[str] = set()
    waiting: set[str] = set()
    # A stage (an email and tasks of one invoice) moves the invoice's next look only once all of it is
    # recorded: until then the invoice stays due (``plan.now``), so a run that crashes between the email
    # and its tasks, or whose email SES refused, is finished by the next tick instead of the invoice
    # jumping to its next step and the undone part being passed over for good.
    tasked = {t.invoice_number for task in plan.tasks for t in task.touches}
    emailed = {t.invoice_number for t in plan.email.touches} if plan.email else set()
    if plan.email is not None and customer is not None:
        held = {n: (plan.now if n in tasked else at) for n, at in next_at.items()}
        recorded, unknown = _email(plan, plan.email, customer, by_number, held, services, report, profile)
        if plan.email.step_id == GO_LIVE_STATEMENT:
            # A go-live statement SES may or may not have sent: its stage's calls wait with it. The
            # statement is planned only while nothing of the invoice is done, so a call made now would
            # hide the reservation from every later tick, and nobody would ever settle it.
            waiting = unknown
        if recorded:
            # The email moved the customer's last email: the copy checked and kept from now on says so.
            emailed_customer = replace(customer, last_emailed_at=plan.now)
            profile = _Profile(
                expected=emailed_customer if profile.expected is not None else None,
                snapshot=snapshot_of(emailed_customer),
            )
        next_at.update({n: plan.now for n in emailed - recorded if n in next_at})
        for number in set(next_at) - set(held):
            next_at.pop(number)  # refused as changed: the next sweep sees the new state
        touched |= recorded
    if plan.letter is not None and customer is not None:
        touched |= _letter(plan, plan.letter, customer, by_number, next_at, tasked, services, report, profile)
    if plan.text is not None and customer is not None:
        touched |= _text(plan, plan.text, customer, invoices, next_at, tasked, services, report, profile)
    for task in plan.tasks:
        if waiting and {t.invoice_number for t in task.touches} <= waiting:
            report.outcomes["waiting_for_statement"] += 1
            continue
        touched |= _task(plan, task, by_number, next_at, services, report, profile, customer)
    store = services.store
    for number, at in next_at.items():
        if number not in touched:
            read = by_number[number].next_action_at if number in by_number else None
            if not store.reschedule(plan.customer_id, number, at, profile.snapshot, read_at=read):
                report.outcomes["moved_by_another_run"] += 1
    for promise_id in plan.broken_promises:
        for invoice in invoices:
            if invoice.promise_id == promise_id:
                store.clear_promise(plan.customer_id, invoice.invoice_number, promise_id)
        store.promise_broken(plan.customer_id, promise_id, plan.now)
    if plan.customer_due:
        store.reschedule_customer(plan.customer_id, plan.customer_next_action_at)
    decisions = decisions_activity(plan, services.policies.revision)
    if decisions is not None:
        for page in decision_pages(decisions):
            store.record_decisions(page)
    return report


# What a decisions entry says of each outcome, in the order a reader wants them.
_DECIDED = {
    Outcome.EMAIL: "emailed",
    Outcome.LETTER: "letter",
    Outcome.TEXT: "text message",
    Outcome.TASK: "task",
    Outcome.DEFERRED: "waiting for the send window",
    Outcome.SUPPRESSED: "suppressed",
    Outcome.SKIPPED: "skipped",
    Outcome.NOT_APPLICABLE: "not applicable",
}


def decisions_activity(plan: CustomerPlan, policy_revision: str) -> Activity | None:
    """Every decision the sweep made about the customer's invoices at ``plan.now``, with its reason and
    the policy that decided, as one timeline entry: "why did (or didn't) this customer get a reminder
    on Tuesday?" is answered from the 360 view and ``arcollect show customer``. Waiting for a step's
    day is not a decision (nothing was due), so a tick that only reschedules records nothing."""
    decided = [note for note in plan.notes if note.outcome in _DECIDED]
    if not decided:
        return None
    counts = Counter(_DECIDED[note.outcome] for note in decided)
    recorded = [
        Decision(note.invoice_number, note.step_id, _DECIDED[note.outcome], note.reason) for note in decided
    ]
    return Activity(
        customer_id=plan.customer_id,
        at=plan.now,
        activity_id=f"decisions-{plan.now.strftime('%Y%m%dT%H%M%S')}",
        kind=DECISIONS_KIND,
        summary=f"Dunning sweep ({plan.policy}, policy {policy_revision or 'shipped'}): "
        + ", ".join(f"{count} {what}" for what, count in sorted(counts.items())),
        detail={
            "policy": plan.policy,
            "policy_revision": policy_revision,
            "segment": plan.segment,
            **_test_detail(plan),
            "decisions": as_detail(recorded),
        },
    )


# A timeline entry is one DynamoDB item, at most 400 KB. A tick's decisions about a large backlog (every
# invoice and step, each with its reason: 120 invoices of a go-live are over 400 KB) go in several
# entries then, each well under it; each entry is recorded once (its own id), as one entry is.
DECISIONS_PAGE_BYTES = 256_000


def decision_pages(activity: Activity) -> list[Activity]:
    """``activity`` (a ``dunning_decisions`` entry) as entries of at most ``DECISIONS_PAGE_BYTES`` of
    decisions each: itself when it fits; else its decisions in order over entries ``<id>``,
    ``<id>-2``, ... (every reader reads each entry's decisions, so together they say the same)."""
    raw = activity.detail.get("decisions", "[]")
    if len(raw.encode()) <= DECISIONS_PAGE_BYTES:
        return [activity]
    pages: list[list[str]] = [[]]
    size = 2
    for decision in json.loads(raw):
        text = json.dumps(decision, ensure_ascii=False, separators=(",", ":"))
        length = len(text.encode()) + 1
        if pages[-1] and size + length > DECISIONS_PAGE_BYTES:
            pages.append([])
            size = 2
        pages[-1].append(text)
        size += length
    return [
        replace(
            activity,
            activity_id=activity.activity_id if index == 1 else f"{activity.activity_id}-{index}",
            summary=f"{activity.summary} (part {index} of {len(pages)})",
            detail={**activity.detail, "decisions": "[" + ",".join(page) + "]"},
        )
        for index, page in enumerate(pages, 1)
    ]


def _test_detail(plan: CustomerPlan) -> dict[str, str]:
    """The champion/challenger arm a decision or an email was made in (nothing when none is in force):
    the reports compare the arms from these records."""
    return {"test": plan.test, "arm": plan.arm} if plan.test and plan.arm else {}


def _with_stand_ins(touches: Sequence[tuple[str, str]], message: EmailPlan) -> list[tuple[str, str]]:
    """``touches`` and, for the invoices among them, the steps a go-live statement stood in for: they are
    recorded as taken with it (they count as touches, and are never sent after it), whichever channel
    carried the statement (an email, a letter, a text)."""
    numbers = {number for number, _ in touches}
    return [
        *touches,
        *((t.invoice_number, t.step_id) for t in message.superseded if t.invoice_number in numbers),
    ]


def _states(
    touches: Sequence[tuple[str, str]], next_at: dict[str, datetime | None], snapshot: str | None = None
) -> list[InvoiceState]:
    steps: dict[str, list[str]] = {}
    for number, step in touches:
        steps.setdefault(number, []).append(step)
    return [
        InvoiceState(number, tuple(s), next_at.get(number), customer_snapshot=snapshot)
        for number, s in steps.items()
    ]


def _promises(plan_touches: Sequence[tuple[str, str]], by_number: dict[str, Invoice]) -> dict[str, str]:
    """The promise a missed-promise touch is about (its reservation checks the promise is unchanged)."""
    return {
        number: by_number[number].promise_id or ""
        for number, _ in plan_touches
        if number in by_number and by_number[number].promise_id
    }


# The template whose email lists the statutory late-payment charges (docs/late-charges.md).
FINAL_NOTICE = "final_notice"


def final_notice_charges(
    template: str,
    customer: Customer,
    invoices: Sequence[Invoice],
    documents: Iterable[Invoice],
    today: date,
    services: Services,
    *,
    any_template: bool = False,
) -> tuple[tuple[tuple[str, Charges], ...], bool]:
    """The statutory late-payment charges to date the final notice lists (none for other templates
    unless ``any_template``: a letter lists them whatever its template, or when the customer's policy
    computes none), and whether the policy adds them to the total asked.
    The customer's payments, and the credit notes the invoices name, are read only then; an open amount
    no dated record explains counts from the first late day (never more than is owed)."""
    if template != FINAL_NOTICE and not any_template:
        return (), False
    config = services.policies.late_charges_for(customer, today)
    if config is None:
        return (), False
    # Without the promise book (a simulation), no payment is dated: all counts from the first day.
    payments = services.promises.payments(customer.customer_id) if services.promises is not None else []
    documents = list(documents)
    # The credit notes that booked a credit agreed on these invoices (closed, so not among the due).
    notes = {i.credit_match for i in invoices if i.credit_match} - {d.invoice_number for d in documents}
    if notes:
        documents += services.store.invoices(customer.customer_id, sorted(notes))
    found = ((i.invoice_number, invoice_charges(config, i, today, payments, documents)) for i in invoices)
    return tuple((n, c) for n, c in found if c is not None and c.any), config.add_to_open_amount


def _email(
    plan: CustomerPlan,
    email: EmailPlan,
    customer: Customer,
    by_number: dict[str, Invoice],
    next_at: dict[str, datetime | None],
    services: Services,
    report: RunReport,
    profile: _Profile,
) -> tuple[set[str], set[str]]:
    """Reserve, render, send and record one email. Returns the invoices it recorded (or another email
    had), and those whose email SES may or may not have sent (in flight, or its answer lost)."""
    store, now = services.store, plan.now
    wanted = [(t.invoice_number, t.step_id) for t in email.touches]
    reservation = store.touches.reserve_email(
        plan.customer_id,
        email.touch_id,
        email.step_id,
        wanted,
        email.recipients,
        _promises(wanted, by_number),
        now,
        expected=profile.expected,
        clock_at=services.clock(),
    )
    if profile.expected is not None and any(r.reason == "customer" for r in reservation.refused):
        raise StaleCustomer(plan.customer_id)
    in_flight = _refusals(plan, reservation.refused, next_at, services, report, email.recipients)
    if not reservation.reserved:
        # Touched by another email: that one records them. One still in flight (within its lease) is
        # not: its invoices stay due, so a later tick finds it completed, or in doubt past the lease.
        return {r.invoice_number for r in reservation.refused if r.reason == "touched"} - in_flight, in_flight
    reserved_invoices = tuple(by_number[n] for n in dict.fromkeys(n for n, _ in reservation.reserved))
    if email.only_for_information(i.invoice_number for i in reserved_invoices):
        # What the statement counted was paid or changed a moment ago: what is left is not overdue, and a
        # statement of overdue invoices would list none. Freed (nothing went to SES): the next run plans
        # those invoices as they are due then.
        store.touches.release_email(plan.customer_id, email.touch_id, reservation.reserved)
        report.outcomes["statement_left_nothing_overdue"] += 1
        return set(), in_flight
    owner = services.policies.contact(customer.owner_on(plan.today)) or services.policies.contact(
        services.policies.settings.manager
    )
    late_charges, charges_added = final_notice_charges(
        email.template, customer, reserved_invoices, by_number.values(), plan.today, services
    )
    try:
        message = render_email(
            ReminderEmail(
                customer=customer,
                invoices=reserved_invoices,
                template=email.template,
                step=email.step_id,
                recipients=email.recipients,
                sender=services.sender,
                portal_url=services.link_for(plan.customer_id, now),
                now=now,
                touch_id=email.touch_id,
                owner=Signatory(owner.name, owner.email) if owner else None,
                promised_date=email.promised_date,
                sender_name=services.policies.settings.sender_name,
                credits=email.credits,
                today=plan.today,
                late_charges=late_charges,
                charges_added=charges_added,
                instalment=email.instalment,
                reply_to=services.reply_to(plan.customer_id, email.touch_id, now),
                for_information=email.for_information,
            )
        )
    except ValueError as error:
        # The reminder cannot be written for this data (an address the email standard cannot carry,
        # such as an accented local part, which SES refuses too): the same data fails again every
        # hour, so it is a refusal for good, with its task, like SES's.
        why = f"the reminder cannot be written to {', '.join(email.recipients)}: {error}"
        refused = MessageRefused(why, code="MessageNotWritable", reason=str(error).rstrip(")"))
        _refused(plan, email, reservation.reserved, refused, customer, services, report)
        return set(), in_flight
    except Exception:
        # Nothing went to SES: free the touches (no false "in doubt" for the manager) and fail the run.
        store.touches.release_email(plan.customer_id, email.touch_id, reservation.reserved)
        raise
    services.pacer.wait()
    try:
        message_id = services.mailer.send(
            sender=services.sender,
            to=list(email.recipients),
            raw=message.as_bytes(),
            tags=_tags(plan.customer_id, email.step_id, email.touch_id),
        )
    except MessageRefused as error:
        # SES refused this message for good: the same message is refused again, every hour. Its touches
        # stay reserved (no run sends it again) and one "fix and resend" task carries SES's reason.
        _refused(plan, email, reservation.reserved, error, customer, services, report)
        return set(), in_flight
    except MailRejected as error:
        # SES sends nothing at all (the account is paused, the domain unverified): nothing is wrong with
        # the message. Free its touches; it goes at the first run after the account is fixed.
        store.touches.release_email(plan.customer_id, email.touch_id, reservation.reserved)
        report.outcomes["sending_blocked"] += 1
        logger.error("SES sends nothing", extra={"customer_id": plan.customer_id, "error": str(error)})
        return set(), in_flight
    except SendOutcomeUnknown as error:
        # SES may have sent it (a timeout after the request went out, a 5xx): sending it again could
        # email the customer twice. The reservation stays: SES's own send event completes it when it
        # arrives; otherwise, past its lease, the in-doubt path gives a person the review task.
        report.outcomes["send_outcome_unknown"] += 1
        logger.error(
            "SES may or may not have sent a reminder: kept reserved, not resent",
            extra={"customer_id": plan.customer_id, "touch_id": email.touch_id, "error": str(error)},
        )
        return set(), in_flight | {n for n, _ in reservation.reserved}
    except Exception:
        # Not sent (throttled, no connection made): free the touches and let the run be retried.
        store.touches.release_email(plan.customer_id, email.touch_id, reservation.reserved)
        raise
    numbers = [n for n, _ in reservation.reserved]
    # The charges the final notice listed, for the ERP: recorded with the email's completion.
    charged = tuple(
        change
        for number, found in late_charges
        for change in changes.late_charges(
            customer_id=plan.customer_id,
            touch_id=email.touch_id,
            invoice_number=number,
            charges=found,
            added=charges_added,
            at=now,
        )
    )
    store.touches.complete_email(
        plan.customer_id,
        email.touch_id,
        message_id,
        _states(
            _with_stand_ins(reservation.reserved, email),
            next_at,
            snapshot_of(replace(customer, last_emailed_at=now)),
        ),
        Activity(
            customer_id=plan.customer_id,
            at=now,
            activity_id=message_id,
            kind="email_sent",
            summary=(
                f"Reminder ({email.template}, step {email.step_id}) for {len(set(numbers))} invoice(s) "
                + _listed_apart(numbers, email)
                + f"to {', '.join(email.recipients)}"
            ),
            detail={
                "message_id": message_id,
                "touch_id": email.touch_id,
                "step": email.step_id,
                "template": email.template,
                "invoices": ",".join(dict.fromkeys(numbers)),
                **_for_information_detail(numbers, email),
                "policy": plan.policy,
                "segment": plan.segment,
                **_test_detail(plan),
            },
            changes=charged,
        ),
        now,
    )
    changes.publish(services.change_feed, charged)
    services.threaded(plan.customer_id, email.touch_id, message_id, now)
    report.emails_sent += 1
    report.invoices_emailed += len(set(numbers))
    return set(numbers), in_flight


def _listed_apart(numbers: Sequence[str], message: EmailPlan) -> str:
    """``"(1 of them not yet due, listed for information) "`` for a statement that lists invoices apart."""
    apart = [n for n in dict.fromkeys(numbers) if n in message.for_information]
    return f"({len(apart)} of them not yet due, listed for information) " if apart else ""


def _for_information_detail(numbers: Sequence[str], message: EmailPlan) -> dict[str, str]:
    """The invoices a statement listed for information (not in its count or total), when it did."""
    apart = [n for n in dict.fromkeys(numbers) if n in message.for_information]
    return {"for_information": ",".join(apart)} if apart else {}


def _letter(
    plan: CustomerPlan,
    letter: EmailPlan,
    customer: Customer,
    by_number: dict[str, Invoice],
    next_at: dict[str, datetime | None],
    tasked: set[str],
    services: Services,
    report: RunReport,
    profile: _Profile,
) -> set[str]:
    """Post the plan's letter (dunning/posting.py); the invoices it recorded. Its invoices move on only
    once recorded (with their stage's tasks): otherwise they stay due, as with an email."""
    numbers = {t.invoice_number for t in letter.touches}
    held = {n: (plan.now if n in tasked else at) for n, at in next_at.items()}
    if services.letters is None:
        logger.error("a letter is due but no letter box is set up", extra={"customer_id": plan.customer_id})
        report.outcomes["letter_not_configured"] += 1
        next_at.update({n: plan.now for n in numbers if n in next_at})
        return set()
    policies = services.policies
    owner = policies.contact(customer.owner_on(plan.today)) or policies.contact(policies.settings.manager)
    wanted = [(t.invoice_number, t.step_id) for t in letter.touches]
    job = LetterJob(
        plan=plan,
        letter=letter,
        customer=customer,
        by_number=by_number,
        ledger=services.store.touches,  # type: ignore[arg-type]
        box=services.letters,
        portal_url=services.link_for(plan.customer_id, plan.now),
        sender=services.sender,
        sender_name=policies.settings.sender_name,
        owner=Signatory(owner.name, owner.email) if owner else None,
        clock=services.clock,
        lease=LEASE,
        states_for=lambda touches: _states(_with_stand_ins(touches, letter), held, profile.snapshot),
        promises=_promises(wanted, by_number),
        # A letter is the paper the customer keeps: it shows the charges to date whatever its template
        # (issue 21: "any interest and fees"); only a final notice's go to the ERP.
        charges_for=lambda invoices: final_notice_charges(
            letter.template, customer, invoices, by_number.values(), plan.today, services, any_template=True
        ),
        books_charges=letter.template == FINAL_NOTICE,
        other_refusals=lambda refused: _other_refusals(plan, refused, held, services, report),
        expected=profile.expected,
        change_feed=services.change_feed,
        test_detail=_test_detail(plan),
    )
    recorded, _ = post_letter(job, report.outcomes)
    next_at.update({n: plan.now for n in numbers - recorded if n in next_at})
    for number in set(next_at) - set(held):
        next_at.pop(number)  # refused as changed: the next sweep sees the new state
    return recorded


def _text(
    plan: CustomerPlan,
    text: EmailPlan,
    customer: Customer,
    invoices: Sequence[Invoice],
    next_at: dict[str, datetime | None],
    tasked: set[str],
    services: Services,
    report: RunReport,
    profile: _Profile,
) -> set[str]:
    """Send the plan's text message (dunning/texts.py: its ledger, hours and limits); the invoices it
    recorded. The others stay due, whatever became of it: a tick later sends it, or the step goes by
    its next channel once the customer is no longer textable (an opt-out)."""
    from arcollect.dunning.texts import send_text  # the SMS client loads with the first text

    held = {n: (plan.now if n in tasked else at) for n, at in next_at.items()}
    touches = [(t.invoice_number, t.step_id) for t in text.touches]
    result = send_text(
        plan,
        text,
        invoices,
        customer,
        services,
        report,
        states=_states(_with_stand_ins(touches, text), held, profile.snapshot),
        expected=profile.expected,
    )
    recorded = set(result.recorded)
    next_at.update({t.invoice_number: plan.now for t in text.touches if t.invoice_number not in recorded})
    return recorded


def _other_refusals(
    plan: CustomerPlan,
    refused: Sequence[Refusal],
    next_at: dict[str, datetime | None],
    services: Services,
    report: RunReport,
) -> tuple[set[str], set[str]]:
    """Touches of a letter another message holds, as an email's are handled (``_refusals``)."""
    in_flight = _refusals(plan, refused, next_at, services, report)
    return {r.invoice_number for r in refused if r.reason == "touched"} - in_flight, in_flight


def _tags(customer_id: str, step_id: str, touch_id: str) -> dict[str, str]:
    """The reminder's SES tags. SES refuses the whole message for one value outside ``[A-Za-z0-9_-]``,
    and customer ids such as ``Brennan & Sons, PC`` are: the id travels encoded (``customer_tags``; the
    email events decode it exactly)."""
    return {**customer_tags(customer_id), TAG_STEP: tag_value(step_id), TAG_TOUCH: tag_value(touch_id)}


def _refused(
    plan: CustomerPlan,
    email: EmailPlan,
    reserved: Sequence[tuple[str, str]],
    error: MessageRefused,
    customer: Customer,
    services: Services,
    report: RunReport,
) -> None:
    """Record SES's refusal for good of one reminder: its touches stay reserved with the reason, a
    collector gets a "fix and resend" task, the timeline says so (one transaction), and the run counts
    it (the ``RemindersRefused`` metric pages ops)."""
    now, reason = plan.now, f"{error.code}: {error.reason}" if error.code else str(error)
    numbers = ", ".join(dict.fromkeys(n for n, _ in reserved))
    recipients = ", ".join(email.recipients)
    task = Task(
        customer_id=plan.customer_id,
        task_id=refused_task_id(email.touch_id),
        kind=TaskKind.FIX_AND_RESEND,
        title=f"SES refused reminder {email.step_id} for {numbers} to {recipients} ({reason}): "
        "fix the data, then close this task to resend it",
        created_at=now,
        detail={
            "touch_id": email.touch_id,
            "step": email.step_id,
            "invoices": numbers,
            "recipients": recipients,
            "ses_code": error.code,
            "ses_reason": error.reason,
        },
        assignee=customer.owner_on(plan.today) or services.policies.settings.manager,
        due_on=now.date(),
        score=score(Factors(TaskKind.FIX_AND_RESEND), now.date())[0],
    )
    activity = Activity(
        customer_id=plan.customer_id,
        at=now,
        activity_id=f"refused-{email.touch_id}-{now.isoformat()}",
        kind="email_refused",
        summary=f"SES refused reminder {email.step_id} for {numbers} to {recipients}: {reason}",
        detail={**task.detail, "task_id": task.task_id, "policy": plan.policy},
    )
    if services.store.touches.refuse_email(plan.customer_id, email.touch_id, reason, now, task, activity):
        report.outcomes["email_refused"] += 1
        report.tasks_created += 1
    logger.warning(
        "SES refused a reminder for good: a fix-and-resend task is open",
        extra={"customer_id": plan.customer_id, "touch_id": email.touch_id, "error": str(error)},
    )


def refused_task_id(touch_id: str) -> str:
    """The fix-and-resend task of the email ``touch_id``: one, whatever number of runs meet it."""
    return f"fix-and-resend-{touch_id}"


def _refusals(
    plan: CustomerPlan,
    refusals: Sequence[Refusal],
    next_at: dict[str, datetime | None],
    services: Services,
    report: RunReport,
    recipients: Sequence[str] = (),
) -> set[str]:
    """Act on the touches a reservation refused; the invoices of emails still in flight."""
    store = services.store
    seen: set[str] = set()
    in_flight: set[str] = set()
    for refusal in refusals:
        if refusal.reason == "changed":
            # Paid, disputed or promised since the index was read: the next sweep sees the new state.
            report.outcomes["changed_before_send"] += 1
            next_at.pop(refusal.invoice_number, None)
            continue
        if refusal.reason == "customer":
            report.outcomes["customer_on_hold"] += 1
            continue
        touch_id = store.touches.ledger_touch(plan.customer_id, refusal.invoice_number, refusal.step)
        if not touch_id or touch_id in seen:
            continue
        seen.add(touch_id)
        record = store.touches.email_touch(plan.customer_id, touch_id)
        if record is None:
            continue
        states = _states(record.touches, next_at)
        if record.message_id:
            # Sent and recorded, but the invoices were not updated (a crash between chunks): repair.
            store.touches.settle_touches(plan.customer_id, states, plan.now)
            report.outcomes["repaired"] += 1
        elif record.status == "refused":
            _awaiting_fix(plan, record, recipients, services, report)
        elif record.unsent_claim:
            # Another run is reserving a big email in steps (store/claims.py): it never went to SES, so
            # it is never in doubt. Its run sends it, or a reservation past its lease takes it over;
            # until then its invoices stay due.
            report.outcomes["claim_in_progress"] += 1
            in_flight |= {number for number, _ in record.touches}
        elif services.clock() - (record.reserved_by_clock or record.reserved_at) >= LEASE:
            _in_doubt(plan, record, states, services, report)
        else:
            report.outcomes["in_flight"] += 1
            in_flight |= {number for number, _ in record.touches}
    return in_flight


def _awaiting_fix(
    plan: CustomerPlan,
    record: EmailTouchRecord,
    recipients: Sequence[str],
    services: Services,
    report: RunReport,
) -> None:
    """An email SES refused for good may go again once its data was fixed: the customer's addresses
    changed (the ERP's file or a collector), or someone closed its fix-and-resend task. Then its touches
    are freed and the next run sends it as it is due then; until then nothing is tried."""
    fixed = bool(recipients) and tuple(recipients) != tuple(record.recipients)
    if not fixed and record.refused_at is not None:
        fixed = services.store.touches.resend_requested(
            plan.customer_id, refused_task_id(record.touch_id), record.refused_at
        )
    if fixed:
        services.store.touches.release_email(plan.customer_id, record.touch_id, record.touches)
        report.outcomes["refused_released"] += 1
    else:
        report.outcomes["awaiting_fix"] += 1


def _in_doubt(
    plan: CustomerPlan,
    record: EmailTouchRecord,
    states: list[InvoiceState],
    services: Services,
    report: RunReport,
) -> None:
    store = services.store
    report.in_doubt += 1
    logger.error(
        "reminder email in doubt: SES may have sent it, its completion was never written; not resent",
        extra={"customer_id": plan.customer_id, "touch_id": record.touch_id, "step": record.step},
    )
    if store.touches.mark_in_doubt(plan.customer_id, record.touch_id):
        numbers = ", ".join(dict.fromkeys(n for n, _ in record.touches))
        store.touches.create_task(
            Task(
                customer_id=plan.customer_id,
                task_id=f"review-{record.touch_id}",
                kind=TaskKind.REVIEW_TOUCH,
                title=(
                    f"Check whether reminder {record.step} for {numbers} reached the customer "
                    "(SES may have sent it; it was not resent)"
                ),
                created_at=plan.now,
                detail={"touch_id": record.touch_id, "reserved_at": record.reserved_at.isoformat()},
                # Whether a customer got an email is the manager's to check (it is rare: a crash).
                assignee=services.policies.settings.manager,
                due_on=plan.now.date(),
                score=score(Factors(TaskKind.REVIEW_TOUCH), plan.now.date())[0],
            ),
            (),
            {},
            plan.now,
            reach=Reach.ANY,
        )
    store.touches.settle_touches(plan.customer_id, states, plan.now)


def _task(
    plan: CustomerPlan,
    task: TaskPlan,
    by_number: dict[str, Invoice],
    next_at: dict[str, datetime | None],
    services: Services,
    report: RunReport,
    profile: _Profile,
    customer: Customer | None,
) -> set[str]:
    touches = [(t.invoice_number, t.step_id) for t in task.touches]
    states = _states(touches, next_at, profile.snapshot)
    assignee = task.assignee
    if assignee == IN_TURN:
        collectors = next(s.collectors for s in services.policies.segments if s.name == plan.segment)
        assignee = services.store.assign_in_turn(plan.customer_id, plan.segment, collectors, plan.now)
    today = plan.today
    numbers = task.all_invoice_numbers
    factors = factors_for(task.kind, [by_number[n] for n in numbers if n in by_number], customer, today)
    points, _ = score(factors, today)
    # A task of more invoices than one transaction holds is created in parts, each its own task with its
    # touches (atomic and idempotent as any task); a task that fits is one, as it always was.
    parts = services.store.touches.task_parts(states) if states else [[]]
    done: set[str] = set()
    for index, part in enumerate(parts, 1):
        numbers_here = [s.invoice_number for s in part] if len(parts) > 1 else list(numbers)
        created, refused = services.store.touches.create_task(
            Task(
                customer_id=plan.customer_id,
                task_id=task.task_id if len(parts) == 1 else f"{task.task_id}-{index}of{len(parts)}",
                kind=task.kind,
                title=task.title if len(parts) == 1 else f"{task.title} (part {index} of {len(parts)})",
                created_at=plan.now,
                detail={
                    "step": task.step_id,
                    "priority": task.priority.value,
                    "assignee": assignee,
                    "invoices": ",".join(numbers_here),
                    "policy": plan.policy,
                    **factors.as_detail(),
                },
                assignee=assignee,
                due_on=today + timedelta(days=_DUE_IN_DAYS.get(task.priority.value, 2)),
                score=points,
            ),
            part,
            _promises(touches, by_number),
            plan.now,
            expected=profile.expected,
            reach=_reach(task.kind),
        )
        for number in refused:
            next_at.pop(number, None)
        report.outcomes["changed_before_task"] += len(refused)
        if created:
            report.tasks_created += 1
        done |= {s.invoice_number for s in part if s.invoice_number not in refused}
    return done


# How many days a collector has for a dunning task, by the step's priority.
_DUE_IN_DAYS = {"high": 0, "normal": 1, "low": 3}


def settle_promises(
    customer_id: str,
    customer: Customer | None,
    invoices: Sequence[Invoice],
    *,
    now: datetime,
    services: Services,
    book: PromiseBook,
    report: RunReport,
) -> list[Invoice]:
    """Settle the open promises whose invoices are back at the end of their pause (or all settled):
    kept ones release their invoices to the regular steps; broken ones are counted and left to the
    engine's missed-promise email and call. Returns the invoices as the engine should now see them."""
    grace = services.policies.settings.promise_grace_days
    today = local_today(customer.time_zone if customer else None, now, services.policies.settings.time_zone)
    promise_ids = {
        invoice.promise_id
        for invoice in invoices
        if invoice.promise_id
        and invoice.promised_until is not None
        and (not invoice.is_open or today > invoice.promised_until + timedelta(days=grace))
    }
    if not promise_ids:
        return list(invoices)
    payments = book.payments(customer_id)
    released: set[str] = set()
    for promise_id in sorted(promise_ids):
        promise = book.promise(customer_id, promise_id)
        if promise is None or promise.status != "open":
            continue
        # The promise's other invoices may not be due in this run: the ones here decide with the rest
        # read as they were when promised (an invoice not here is still open as far as we know).
        outcome = settle(promise, invoices=invoices, payments=payments, today=today, grace_days=grace)
        if outcome.status is PromiseStatus.OPEN:
            continue
        kept = outcome.status is PromiseStatus.KEPT
        release = [i.invoice_number for i in invoices if kept and i.promise_id == promise_id]
        settled = (changes.promise_settled(promise, kept=kept, paid=outcome.paid_amount, at=now),)
        if book.settle_promise(promise, outcome.status.value, outcome.paid_amount, now, release, settled):
            report.outcomes[f"promise_{outcome.status.value}"] += 1
            changes.publish(services.change_feed, settled)
        released |= set(release)
    return [
        replace(invoice, promised_until=None, promise_id=None)
        if invoice.invoice_number in released
        else invoice
        for invoice in invoices
    ]


def _reach(kind: str) -> Reach:
    """What a task requires of the customer: a call is contact; a check-in is no dunning at all."""
    if kind == Action.CALL:
        return Reach.CONTACT
    return Reach.ANY if kind == CHECK_IN else Reach.DUNNING


__all__ = ["LEASE", "Outcome", "Pacer", "RunReport", "Services", "carry_out", "process_customer"]
