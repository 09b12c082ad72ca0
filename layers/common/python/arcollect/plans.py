"""Payment plans: instalments a customer who cannot pay at once agrees for one or more open invoices.

A plan covers open, undisputed invoices of one customer in one currency that carry no promise or other
plan; its instalments (a due date and an amount each) add up exactly (``Decimal``) to the invoices' open
amount, fall on strictly later days, the first from today. A customer with invoices in two currencies
agrees two plans. A collector agrees any plan within the hard caps below; the customer in the portal
only within the policy's limits (``settings.payment_plans``), and a plan beyond one is refused with the
limit it breaks.

While a plan stands, its invoices carry its id where a promise's would be (``Invoice.promise_id``) and
the current instalment's due date as ``promised_until``: everything that respects a promise respects
the plan (the portal offers no promise for them, an ERP file that says they are paid makes a review
task, a closed one stays in the sweep's index until the plan is settled). Dunning reminds the current
instalment instead of the invoices (``reminder_days``); an instalment not paid by its due date plus the
policy's ``promise_grace_days`` breaks the plan like a broken promise.

**What has been paid** (``standing``): the payments applied to the covered invoices from the day the
plan was agreed go to the instalments oldest first, whatever invoice they were applied to, so a payment
larger than one instalment pays into the next. Anything else that lowered the invoices' open amount
(a credit note, a write-off, an invoice closed without a payment we know of) is owed no more: it comes
off the last instalments, so the customer pays less at the end rather than skipping a date. The plan is
completed when every instalment is paid (or nothing is open any more).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum
from itertools import pairwise
from typing import Any, Final

from arcollect.changes import Change, ChangeKind
from arcollect.entities import PLAN_PREFIX, Activity, DocumentType, Invoice, Payment, is_plan_id
from arcollect.inputs import InputError, parse_amount
from arcollect.money import plain, rounds_to_zero, smallest_unit

# Whoever agrees it: at most this many instalments, the last at most this many days ahead. The policy's
# limits for customers are checked against these when the policy is loaded.
MAX_INSTALMENTS: Final = 36
MAX_PLAN_DAYS: Final = 1095
MAX_PLAN_INVOICES: Final = 50
_ZERO: Final = Decimal(0)


class PlanStatus(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    BROKEN = "broken"
    # A collector called it off (or renegotiated it): its invoices went back to the regular reminders.
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Instalment:
    number: int  # 1, 2, ... in due-date order
    due_date: date
    amount: Decimal


@dataclass(frozen=True)
class PaymentPlan:
    customer_id: str
    plan_id: str
    invoice_numbers: tuple[str, ...]
    currency: str
    instalments: tuple[Instalment, ...]
    created_at: datetime
    # Who agreed it: "portal" (the customer) or the collector's user name.
    source: str
    status: str = PlanStatus.OPEN.value
    settled_at: datetime | None = None
    # The instalment that broke it (status broken).
    missed_instalment: int | None = None

    @property
    def total(self) -> Decimal:
        return sum((i.amount for i in self.instalments), _ZERO)

    @property
    def last_due(self) -> date:
        return self.instalments[-1].due_date


@dataclass(frozen=True)
class PlanLimits:
    """``settings.payment_plans``: what a customer may agree in the portal on their own, and when an
    instalment is reminded. A collector's plan is held to the hard caps only."""

    max_instalments: int = 6
    max_days: int = 180
    min_instalment: Decimal = Decimal("50")
    # The reminder before an instalment's due date; another goes on the due date itself.
    reminder_days_before: int = 3


def parse_limits(value: Any, where: str = "settings.payment_plans") -> tuple[PlanLimits, list[str]]:
    """The policy's ``payment_plans`` mapping, and one problem line per bad value (``where.key: why``)."""
    default = PlanLimits()
    if value is None:
        return default, []
    if not isinstance(value, Mapping):
        return default, [
            f"{where}: expected {{max_instalments, max_days, min_instalment, reminder_days_before}}"
        ]
    problems: list[str] = []
    known = ("max_instalments", "max_days", "min_instalment", "reminder_days_before")
    for key in value:
        if key not in known:
            problems.append(f"{where}.{key}: unknown setting; the known ones are {', '.join(known)}")

    def whole(key: str, low: int, high: int, fallback: int) -> int:
        raw = value.get(key, fallback)
        if isinstance(raw, bool) or not isinstance(raw, int) or not low <= raw <= high:
            problems.append(f"{where}.{key}: expected a whole number from {low} to {high}, found {raw!r}")
            return fallback
        return raw

    count = whole("max_instalments", 2, MAX_INSTALMENTS, default.max_instalments)
    days = whole("max_days", 1, MAX_PLAN_DAYS, default.max_days)
    before = whole("reminder_days_before", 0, 30, default.reminder_days_before)
    raw = value.get("min_instalment", default.min_instalment)
    try:
        if isinstance(raw, bool):
            raise ValueError
        least = Decimal(str(raw))
        if not least.is_finite() or least < 0:
            raise ValueError
    except (ArithmeticError, ValueError):
        problems.append(f"{where}.min_instalment: expected an amount of 0 or more, found {raw!r}")
        least = default.min_instalment
    return PlanLimits(count, days, least, before), problems


def limits_of(policies: Any) -> PlanLimits:
    """The policy's limits (the shipped defaults when the policy sets none)."""
    limits = getattr(policies.settings, "payment_plans", None)
    return limits if isinstance(limits, PlanLimits) else PlanLimits()


# --- agreeing a plan --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestedInstalment:
    """One instalment as typed: a date and an amount, unchecked."""

    due_date: str
    amount: str


def even_instalments(
    total: Decimal, *, count: int, first_due: date, every_days: int, currency: str
) -> list[tuple[date, Decimal]]:
    """``count`` instalments of ``total`` every ``every_days`` days from ``first_due``: equal amounts
    in ``currency``'s minor unit (cents for EUR, whole yen for JPY, fils for KWD), the last taking the
    rounding remainder (so they add up to ``total`` exactly)."""
    share = (total / count).quantize(smallest_unit(currency), rounding=ROUND_DOWN)
    amounts = [share] * (count - 1) + [total - share * (count - 1)]
    return [(first_due + timedelta(days=every_days * i), amounts[i]) for i in range(count)]


def plan_id_for(customer_id: str, invoice_numbers: Iterable[str], instalments: Iterable[Instalment]) -> str:
    """The same request gives the same id: a retried request (a double click, a client's retry after a
    timeout) finds the plan it made instead of making a second one."""
    material = "\x1f".join(
        [
            customer_id,
            *sorted(invoice_numbers),
            *(f"{i.due_date.isoformat()}={i.amount}" for i in instalments),
        ]
    )
    return PLAN_PREFIX + hashlib.sha256(material.encode()).hexdigest()[:16]


def requested_instalments(
    *,
    instalments: Sequence[RequestedInstalment] | None,
    count: str | int | None,
    first_due: str | None,
    every_days: str | int | None,
    total: Decimal,
    currency: str,
) -> list[tuple[date, Decimal]]:
    """The instalments a request names: an explicit list, or ``count`` equal ones every ``every_days``
    days from ``first_due``, in ``currency`` (an amount finer than its minor unit is refused). Raises
    InputError naming the field."""
    if instalments:
        parsed = []
        for index, item in enumerate(instalments, start=1):
            try:
                day = date.fromisoformat((item.due_date or "").strip())
            except ValueError:
                raise InputError(
                    "instalments", f"instalment {index}: enter its due date as YYYY-MM-DD"
                ) from None
            try:
                amount = parse_amount(item.amount, currency)
            except InputError as error:
                raise InputError("instalments", f"instalment {index}: {error.message}") from None
            parsed.append((day, amount))
        return parsed
    number = _whole(count, "count", "the number of instalments")
    if number < 2:
        raise InputError("count", "a plan has at least 2 instalments (one payment is a promise to pay)")
    if number > MAX_INSTALMENTS:
        raise InputError("count", f"at most {MAX_INSTALMENTS} instalments")
    try:
        first = date.fromisoformat((first_due or "").strip())
    except ValueError:
        raise InputError("first_due", "enter the first due date as YYYY-MM-DD") from None
    gap = _whole(every_days if every_days not in (None, "") else 30, "every_days", "the days between")
    if not 1 <= gap <= 366:
        raise InputError("every_days", "the days between instalments must be from 1 to 366")
    if first.year > date.max.year - 5:
        # (the last instalment's date would not exist: at most 36 x 366 days later)
        raise InputError("first_due", f"the first due date {first.isoformat()} is too far ahead")
    return even_instalments(total, count=number, first_due=first, every_days=gap, currency=currency)


def _whole(value: str | int | None, field: str, what: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value or "").strip()
    if not text.isdigit():
        raise InputError(field, f"enter {what} as a whole number")
    return int(text)


def checked_plan(
    customer_id: str,
    *,
    invoice_numbers: Sequence[str],
    lookup: Callable[[str], Invoice | None],
    instalments: Sequence[RequestedInstalment] | None = None,
    count: str | int | None = None,
    first_due: str | None = None,
    every_days: str | int | None = None,
    today: date,
    now: datetime,
    source: str,
    limits: PlanLimits | None = None,
    replacing: str | None = None,
) -> PaymentPlan:
    """A plan as a collector (``limits`` None: the hard caps only) or the customer (the policy's
    ``limits``) asked for it, checked. ``replacing``: the id of the plan it renegotiates, whose invoices
    it may take over. Raises InputError naming the field and, for a limit, the limit."""
    numbers = list(dict.fromkeys(n.strip() for n in invoice_numbers or [] if n and n.strip()))
    if not numbers:
        raise InputError("invoice_numbers", "choose at least one invoice")
    if len(numbers) > MAX_PLAN_INVOICES:
        raise InputError("invoice_numbers", f"at most {MAX_PLAN_INVOICES} invoices per plan")
    invoices: list[Invoice] = []
    planned: dict[str, str] = {}
    for number in numbers:
        invoice = lookup(number)
        if invoice is None or invoice.customer_id != customer_id:
            raise InputError("invoice_numbers", f"invoice {number} is not on this account")
        if invoice.document_type != DocumentType.INVOICE.value:
            raise InputError("invoice_numbers", f"{number} is a credit note: there is nothing to pay")
        if not invoice.is_open:
            raise InputError("invoice_numbers", f"invoice {number} is already settled")
        if invoice.disputed:
            raise InputError("invoice_numbers", f"invoice {number} is disputed")
        if invoice.agency:
            # The agency collects it now: its payments go through the agency, not a plan of ours.
            raise InputError(
                "invoice_numbers", f"invoice {number} is with the collection agency {invoice.agency}"
            )
        if replacing is not None and invoice.promise_id == replacing:
            pass  # the plan renegotiated gives it up in the same transaction
        elif is_plan_id(invoice.promise_id):
            # Checked once the plan's id is known: the same request again is a retry, not a second plan.
            planned[number] = str(invoice.promise_id)
        elif invoice.promise_id is not None:
            by = invoice.promised_until.isoformat() if invoice.promised_until else "a date"
            raise InputError("invoice_numbers", f"invoice {number} already has a promise to pay by {by}")
        invoices.append(invoice)
    currencies = sorted({invoice.currency for invoice in invoices})
    if len(currencies) > 1:
        raise InputError(
            "invoice_numbers",
            f"choose invoices in one currency ({', '.join(currencies)} were chosen): one plan per currency",
        )
    currency = currencies[0]
    total = sum((invoice.open_amount for invoice in invoices), _ZERO)
    try:
        parsed = requested_instalments(
            instalments=instalments,
            count=count,
            first_due=first_due,
            every_days=every_days,
            total=total,
            currency=currency,
        )
        plan_instalments = _checked_instalments(
            parsed, total=total, currency=currency, today=today, limits=limits
        )
    except InputError:
        if planned:  # not a retry of the plan they are in: that is what is wrong
            raise _in_a_plan(next(iter(planned))) from None
        raise
    plan_id = plan_id_for(customer_id, numbers, plan_instalments)
    for number, other in planned.items():
        if other != plan_id:
            raise _in_a_plan(number)
    return PaymentPlan(
        customer_id=customer_id,
        plan_id=plan_id,
        invoice_numbers=tuple(numbers),
        currency=currency,
        instalments=plan_instalments,
        created_at=now,
        source=source,
    )


def _in_a_plan(number: str) -> InputError:
    return InputError("invoice_numbers", f"invoice {number} is already in a payment plan")


def _checked_instalments(
    parsed: Sequence[tuple[date, Decimal]],
    *,
    total: Decimal,
    currency: str,
    today: date,
    limits: PlanLimits | None,
) -> tuple[Instalment, ...]:
    if len(parsed) < 2:
        raise InputError("instalments", "a plan has at least 2 instalments (one payment is a promise to pay)")
    cap = MAX_INSTALMENTS if limits is None else min(limits.max_instalments, MAX_INSTALMENTS)
    if len(parsed) > cap:
        limit = "" if limits is None else " (the limit for a plan agreed online)"
        raise InputError("instalments", f"at most {cap} instalments{limit}; {len(parsed)} were asked for")
    days = [day for day, _ in parsed]
    if days[0] < today:
        raise InputError(
            "instalments", f"the first instalment cannot be due before today ({today.isoformat()})"
        )
    for earlier, later in pairwise(days):
        if later <= earlier:
            raise InputError(
                "instalments", f"each instalment falls after the one before ({later.isoformat()} does not)"
            )
    max_days = MAX_PLAN_DAYS if limits is None else min(limits.max_days, MAX_PLAN_DAYS)
    latest = today + timedelta(days=max_days)
    if days[-1] > latest:
        limit = "" if limits is None else " (the limit for a plan agreed online)"
        raise InputError(
            "instalments",
            f"the last instalment can be due at most {max_days} days from today "
            f"({latest.isoformat()}){limit}",
        )
    for index, (_, amount) in enumerate(parsed, start=1):
        if amount <= 0:
            raise InputError(
                "instalments",
                f"instalment {index} would be {plain(amount, currency)} {currency}: "
                f"{plain(total, currency)} {currency} is too little for {len(parsed)} instalments",
            )
    asked = sum((amount for _, amount in parsed), _ZERO)
    if asked != total:
        raise InputError(
            "instalments",
            f"the instalments add up to {plain(asked, currency)} {currency}; the chosen invoices have "
            f"{plain(total, currency)} {currency} open",
        )
    if limits is not None and limits.min_instalment > 0:
        for index, (_, amount) in enumerate(parsed, start=1):
            if amount < limits.min_instalment:
                raise InputError(
                    "instalments",
                    f"instalment {index} is {plain(amount, currency)} {currency}; each instalment of a plan "
                    f"agreed online is at least {plain(limits.min_instalment, currency)} {currency}",
                )
    return tuple(Instalment(n, day, amount) for n, (day, amount) in enumerate(parsed, start=1))


# --- where a plan stands ----------------------------------------------------------------------------


@dataclass(frozen=True)
class InstalmentState:
    instalment: Instalment
    # What is still asked of it: its amount less the credits that came off the plan's end.
    asked: Decimal
    paid: Decimal
    # The plan's: what is left of an instalment is weighed in its minor unit.
    currency: str

    @property
    def remaining(self) -> Decimal:
        return max(self.asked - self.paid, _ZERO)

    @property
    def settled(self) -> bool:
        """Paid: nothing is left of it that its currency can write (0.001 GBP or 0.4 JPY left is paid, as
        dunning never asks for an invoice's open amount that rounds to zero: ``money.rounds_to_zero``).
        A reminder for "0.00 GBP" or "0 JPY" is never sent."""
        return rounds_to_zero(self.remaining, self.currency)


@dataclass(frozen=True)
class Standing:
    status: PlanStatus
    instalments: tuple[InstalmentState, ...]
    paid: Decimal
    credited: Decimal
    open_amount: Decimal

    @property
    def current(self) -> InstalmentState | None:
        """The first instalment not paid yet (None: all are)."""
        return next((state for state in self.instalments if not state.settled), None)

    @property
    def missed(self) -> InstalmentState | None:
        return self.current if self.status is PlanStatus.BROKEN else None


def in_plan(plan: PaymentPlan, invoice: Invoice) -> bool:
    """Whether ``invoice`` still counts towards ``plan``: it carries the plan's id and is not disputed.
    A disputed invoice leaves the plan (``with_withdrawal``): what is open on it is owed no more under
    the plan, so it comes off the last instalments like a credit; a customer is never reminded of an
    amount they dispute. (Disputed is read too, not only the id: a dispute the ERP sent, or one opened
    while the id was still on the invoice, takes it out at once.)"""
    return invoice.promise_id == plan.plan_id and not invoice.disputed and invoice.dispute_id is None


def paid_towards(plan: PaymentPlan, payments: Iterable[Payment]) -> Decimal:
    """What the payments since the plan was agreed applied to its invoices (the parts of a payment of
    several invoices that went to the plan's)."""
    numbers = set(plan.invoice_numbers)
    start = plan.created_at.date()
    return sum(
        (
            application.amount
            for payment in payments
            if payment.payment_date >= start and payment.currency == plan.currency
            for application in payment.applications
            if application.invoice_number in numbers
        ),
        _ZERO,
    )


def standing(
    plan: PaymentPlan,
    *,
    invoices: Iterable[Invoice],
    payments: Iterable[Payment],
    today: date,
    grace_days: int,
) -> Standing:
    """Where ``plan`` stands on ``today`` given its invoices as they are now and the customer's
    payments (see the module docstring): the payments go to the instalments oldest first, other
    reductions of the open amount (a credit, an invoice that left the plan disputed: ``in_plan``) come
    off the last ones."""
    covered = [i for i in invoices if i.invoice_number in set(plan.invoice_numbers) and in_plan(plan, i)]
    open_amount = sum(
        (i.open_amount for i in covered if i.is_open and i.document_type == DocumentType.INVOICE.value), _ZERO
    )
    paid = paid_towards(plan, payments)
    credited = max(plan.total - paid - open_amount, _ZERO)
    asked: list[Decimal] = []
    to_credit = credited
    for instalment in reversed(plan.instalments):
        off = min(instalment.amount, to_credit)
        to_credit -= off
        asked.insert(0, instalment.amount - off)
    states: list[InstalmentState] = []
    to_apply = paid
    for instalment, amount in zip(plan.instalments, asked, strict=True):
        applied = min(amount, to_apply)
        to_apply -= applied
        states.append(InstalmentState(instalment, amount, applied, plan.currency))
    current = next((state for state in states if not state.settled), None)
    if current is None or open_amount <= 0:
        status = PlanStatus.COMPLETED
    elif today > current.instalment.due_date + timedelta(days=grace_days):
        status = PlanStatus.BROKEN
    else:
        status = PlanStatus.OPEN
    return Standing(status, tuple(states), paid, credited, open_amount)


# --- reminding the instalments ----------------------------------------------------------------------


@dataclass(frozen=True)
class InstalmentReminder:
    """What dunning reminds of an open plan: its current instalment, and on which days."""

    plan_id: str
    number: int
    count: int
    due_date: date
    amount: Decimal  # what is still to pay of it
    currency: str
    # (step id, day): the reminder before the due date and the one on it; a day before the plan was
    # agreed is left out (the agreement itself told the customer).
    reminders: tuple[tuple[str, date], ...]
    grace_days: int
    # The instalment that broke the plan (the ``plan_broken`` email names it): never reminded as due.
    missed: bool = False

    @property
    def pause_end(self) -> date:
        return self.due_date + timedelta(days=self.grace_days)


def reminder_step(plan_id: str, number: int, when: str) -> str:
    """The engine's step id of an instalment's reminder (``when``: ``before`` or ``due``): once per
    invoice of the plan, through the touch ledger like any step."""
    return f"instalment#{plan_id}#{number}#{when}"


def reminder_for(
    plan: PaymentPlan, state: Standing, *, limits: PlanLimits, grace_days: int
) -> InstalmentReminder | None:
    current = state.current
    if state.status is not PlanStatus.OPEN or current is None:
        return None
    due = current.instalment.due_date
    number = current.instalment.number
    days = (
        [("before", due - timedelta(days=limits.reminder_days_before))] if limits.reminder_days_before else []
    )
    days.append(("due", due))
    agreed = plan.created_at.date()
    return InstalmentReminder(
        plan_id=plan.plan_id,
        number=number,
        count=len(plan.instalments),
        due_date=due,
        amount=current.remaining,
        currency=plan.currency,
        reminders=tuple(
            (reminder_step(plan.plan_id, number, when), day) for when, day in days if day >= agreed
        ),
        grace_days=grace_days,
    )


def missed_reminder(plan: PaymentPlan, state: Standing, *, grace_days: int) -> InstalmentReminder | None:
    """The instalment that broke ``plan`` (``missed_instalment``, else the one ``state`` finds missed),
    with what is still open of it: what the ``plan_broken`` email tells the customer."""
    number = plan.missed_instalment or (state.missed.instalment.number if state.missed else None)
    if number is None or not 1 <= number <= len(state.instalments):
        return None
    missed = state.instalments[number - 1]
    return InstalmentReminder(
        plan_id=plan.plan_id,
        number=number,
        count=len(plan.instalments),
        due_date=missed.instalment.due_date,
        amount=missed.remaining,
        currency=plan.currency,
        reminders=(),
        grace_days=grace_days,
        missed=True,
    )


def first_look(plan: PaymentPlan, *, limits: PlanLimits) -> date:
    """The day the sweep first looks at a new plan's invoices: its first reminder's (or today's)."""
    first = plan.instalments[0].due_date
    return max(first - timedelta(days=limits.reminder_days_before), plan.created_at.date())


def describe(plan: PaymentPlan) -> str:
    """``3 instalments, 1800.00 EUR in all, from 2026-12-01 to 2027-02-01`` (``150000 JPY``: each amount
    with its currency's decimals), for the timeline."""
    total = f"{plain(plan.total, plan.currency)} {plan.currency}"
    return (
        f"{len(plan.instalments)} instalments, {total} in all, from "
        f"{plan.instalments[0].due_date.isoformat()} to {plan.last_due.isoformat()}"
    )


# --- the timeline and the ERP -----------------------------------------------------------------------


def _schedule_note(plan: PaymentPlan) -> str:
    return "instalments: " + "; ".join(
        f"{i.number}) {i.due_date.isoformat()} {plain(i.amount, plan.currency)}" for i in plan.instalments
    )


def agreed_change(plan: PaymentPlan) -> Change:
    """A plan agreed: the ERP records the schedule (e.g. as a payment arrangement on the customer)."""
    return Change(
        ChangeKind.PLAN_AGREED,
        plan.created_at,
        plan.customer_id,
        (plan.plan_id,),
        invoice_numbers=plan.invoice_numbers,
        amount=plan.total,
        currency=plan.currency,
        promised_date=plan.last_due,
        note=_schedule_note(plan),
        actor=plan.source,
    )


def settled_change(plan: PaymentPlan, state: Standing, at: datetime) -> Change:
    """A plan completed or broken; a broken one names the instalment missed and its due date."""
    broken = state.status is PlanStatus.BROKEN
    missed = state.missed
    note = f"paid towards it: {plain(state.paid, plan.currency)} {plan.currency}"
    if state.credited:
        note += f"; credited: {plain(state.credited, plan.currency)} {plan.currency}"
    if broken and missed is not None:
        note = f"instalment {missed.instalment.number} of {len(plan.instalments)} missed; " + note
    return Change(
        ChangeKind.PLAN_BROKEN if broken else ChangeKind.PLAN_COMPLETED,
        at,
        plan.customer_id,
        (plan.plan_id,),
        invoice_numbers=plan.invoice_numbers,
        amount=plan.total,
        currency=plan.currency,
        promised_date=missed.instalment.due_date if broken and missed is not None else plan.last_due,
        note=note,
        actor="dunning",
    )


def agreed_activity(plan: PaymentPlan, *, by: str) -> Activity:
    """The timeline entry of a plan agreed, carrying its change for the ERP."""
    return Activity(
        customer_id=plan.customer_id,
        at=plan.created_at,
        activity_id=f"plan-agreed-{plan.plan_id}",
        kind="plan_agreed",
        summary=f"{by} agreed a payment plan for {', '.join(plan.invoice_numbers)}: {describe(plan)}; "
        "dunning reminds its instalments instead of the invoices",
        detail={
            "plan_id": plan.plan_id,
            "invoices": ", ".join(plan.invoice_numbers),
            "currency": plan.currency,
            "total": plain(plan.total, plan.currency),
            "instalments": _schedule_note(plan),
            "source": plan.source,
        },
        changes=(agreed_change(plan),),
    )


def settled_activity(plan: PaymentPlan, state: Standing, at: datetime) -> Activity:
    """The timeline entry of a plan completed or broken, carrying its change for the ERP."""
    change = settled_change(plan, state, at)
    missed = state.missed
    if state.status is PlanStatus.BROKEN and missed is not None:
        summary = (
            f"Payment plan broken: instalment {missed.instalment.number} of {len(plan.instalments)} "
            f"({plain(missed.remaining, plan.currency)} {plan.currency} still open, due "
            f"{missed.instalment.due_date.isoformat()}) was not paid; {', '.join(plan.invoice_numbers)} go "
            "back to the regular reminders and the owner gets a call task"
        )
    else:
        summary = (
            f"Payment plan completed: {plain(state.paid, plan.currency)} {plan.currency} paid"
            + (f", {plain(state.credited, plan.currency)} {plan.currency} credited" if state.credited else "")
            + f" for {', '.join(plan.invoice_numbers)}"
        )
    return Activity(
        customer_id=plan.customer_id,
        at=at,
        activity_id=f"plan-{state.status.value}-{plan.plan_id}",
        kind=f"plan_{state.status.value}",
        summary=summary,
        detail={"plan_id": plan.plan_id, "note": change.note, "invoices": ", ".join(plan.invoice_numbers)},
        changes=(change,),
    )


# --- a disputed invoice leaves its plan ---------------------------------------------------------------


def with_withdrawal(activity: Activity, invoice: Invoice, *, at: datetime, by: str) -> Activity:
    """``activity`` (a dispute or deduction opened on ``invoice``) as it must be when ``invoice`` is in a
    payment plan: it says the invoice leaves the plan and carries the ERP's ``plan_invoice_withdrawn``
    change, and its ``detail["plan_id"]`` tells the store to take the plan's id off the invoice in the
    same transaction as the dispute. Any other invoice: ``activity`` unchanged."""
    plan_id = invoice.promise_id
    if not is_plan_id(plan_id) or any(c.kind is ChangeKind.PLAN_INVOICE_WITHDRAWN for c in activity.changes):
        return activity
    assert plan_id is not None
    amount = f"{plain(invoice.open_amount, invoice.currency)} {invoice.currency}"
    change = Change(
        ChangeKind.PLAN_INVOICE_WITHDRAWN,
        at,
        invoice.customer_id,
        (plan_id, invoice.invoice_number),
        invoice_numbers=(invoice.invoice_number,),
        amount=invoice.open_amount,
        currency=invoice.currency,
        note=f"disputed: leaves payment plan {plan_id}; its {amount} come off the plan's last instalments",
        actor=by,
    )
    return replace(
        activity,
        summary=f"{activity.summary}; it leaves payment plan {plan_id}, whose last instalments come down "
        f"by {amount}",
        detail={**activity.detail, "plan_id": plan_id},
        changes=(*activity.changes, change),
    )


# --- cancelling or renegotiating a plan ---------------------------------------------------------------


def cancelled_change(plan: PaymentPlan, *, at: datetime, by: str, reason: str) -> Change:
    """A plan called off by a collector (``reason`` says why; a renegotiation names the new plan)."""
    return Change(
        ChangeKind.PLAN_CANCELLED,
        at,
        plan.customer_id,
        (plan.plan_id,),
        invoice_numbers=plan.invoice_numbers,
        amount=plan.total,
        currency=plan.currency,
        promised_date=plan.last_due,
        reason=reason,
        note=_schedule_note(plan),
        actor=by,
    )


def cancelled_activity(
    plan: PaymentPlan, *, at: datetime, by: str, by_name: str, reason: str, released: Sequence[str]
) -> Activity:
    """The timeline entry of a plan cancelled (or renegotiated, ``reason`` naming the new plan), carrying
    its change: ``released`` are the invoices that go back to the regular reminders."""
    back = f"; {', '.join(released)} go back to the regular reminders" if released else ""
    was = "" if plan.status == PlanStatus.OPEN.value else f" ({plan.status})"
    return Activity(
        customer_id=plan.customer_id,
        at=at,
        activity_id=f"plan-cancelled-{plan.plan_id}",
        kind="plan_cancelled",
        summary=f"{by_name} cancelled the payment plan{was} for {', '.join(plan.invoice_numbers)} "
        f"({describe(plan)}): {reason}{back}",
        detail={
            "plan_id": plan.plan_id,
            "invoices": ", ".join(plan.invoice_numbers),
            "reason": reason,
            "released": ", ".join(released),
        },
        changes=(cancelled_change(plan, at=at, by=by, reason=reason),),
    )
