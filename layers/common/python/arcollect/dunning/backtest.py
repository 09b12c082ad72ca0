"""The policy lab's backtest: the real engine replayed over history, with no emails and no writes.

``replay`` runs ``engine.evaluate`` (through ``delivery.plan_customer``'s rule: a plan that asks for
money is made again net of the customer's credits) exactly as the hourly sweep would have run it
between two days, had the policy been switched on at the first of them:

- **The go-live.** Every invoice open on the first day is loaded that day (a go-live's backlog: the
  engine's catch-up statement applies); later invoices arrive on their invoice date.
- **The sweep's clock.** The sweep runs on the hour; an invoice is looked at by the first tick at or
  after its next look, and the engine's plan moves that look (``Reschedule``) as it does live.
- **What happened.** An invoice is open until the day it was actually paid (``paid_date``), then it
  leaves the sweep. A dispute holds it out while it is open (from the day it was opened until it was
  resolved; an ERP file's ``disputed`` flag, whose start no file gives, for the whole window). A
  promise to pay pauses it from the day it was made, and the engine's missed-promise steps follow
  when it was not kept. Credit notes open on a day lower what reminders ask, as live.
- **Every plan is carried out**: each email is accepted, each task made. That is the policy's own
  demand on the team and the customers, which is what a backtest measures.

What the replay cannot know is how customers would have answered different reminders: every invoice is
paid when it really was. ``response.py`` estimates that, labelled as an estimate.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from arcollect.calendar import Calendar
from arcollect.cash import first_look_at
from arcollect.credits import CREDIT_NOTE, CreditLine
from arcollect.dunning.engine import BOUNCED, CREDIT_BALANCE, CustomerPlan, asks_for_money, evaluate
from arcollect.dunning.response import CALL, EMAIL, MODEL_STATEMENT, UNCERTAINTY, PastTouch, estimate, fit
from arcollect.entities import Customer, Dispute, DocumentType, Invoice, InvoiceStatus, Promise
from arcollect.policy import Action, Channel, PolicySet

_HOUR = timedelta(hours=1)
_ZERO = Decimal(0)
# A collector's working days (the team's, not the customers' calendar): Monday to Friday.
_WORKDAYS = frozenset(range(5))
# The collections-practice mark the issue and the README measure against.
TOUCHES_BEFORE_30_DPD = 4
PAST_DUE_MARK_DAYS = 30
PEAK_DAYS = 5


class BacktestError(ValueError):
    """The backtest cannot run as asked (a window that is no window, no invoices in it)."""


@dataclass(frozen=True)
class History:
    """What happened: the documents with the day each was actually paid (``paid_date``; None: still
    open at the end), the customers' master data, and the disputes and promises with their dates."""

    invoices: tuple[Invoice, ...]
    customers: Mapping[str, Customer]
    disputes: tuple[Dispute, ...] = ()
    promises: tuple[Promise, ...] = ()
    # What the loader had to say about the history (rows rejected, assumptions made), shown in the output.
    notes: tuple[str, ...] = ()
    # The touches the portfolio really received (the table's ledger): what the response model learns from.
    touches: tuple[PastTouch, ...] = ()


@dataclass(frozen=True)
class Contact:
    """One email or collector task the policy would have made."""

    at: datetime
    customer_id: str
    kind: str  # "email", or the task's kind ("call", "escalation", ...)
    step_id: str
    invoice_numbers: tuple[str, ...]
    assignee: str | None = None  # tasks: the collector the engine (or the team's turn) gives it


@dataclass
class Replay:
    """What one policy did over the window: every contact, the touches of each invoice, and the history
    it ran on (for the measures)."""

    policy_name: str
    start: date
    end: date
    contacts: list[Contact] = field(default_factory=list)
    # (customer, invoice) -> the days it was touched (an email or a call that named it)
    touched_on: dict[tuple[str, str], list[date]] = field(default_factory=dict)
    steps_fired: Counter[str] = field(default_factory=Counter)
    # Invoices whose reminders were withheld at least once because the customer's credits covered them.
    covered_by_credits: set[tuple[str, str]] = field(default_factory=set)
    # Every touch as (email or call, days past due at it): what the response model's estimate reads.
    touch_ages: list[tuple[str, int]] = field(default_factory=list)
    steps_defined: tuple[str, ...] = ()
    invoices: tuple[Invoice, ...] = ()
    team_size: int = 1
    team_source: str = ""
    evaluations: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class _Live:
    invoice: Invoice
    version: int = 0


def _hour_at_or_after(at: datetime) -> datetime:
    floor = at.replace(minute=0, second=0, microsecond=0)
    return floor if floor == at else floor + _HOUR


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def replay(
    history: History,
    policies: PolicySet,
    *,
    start: date,
    end: date,
    calendar: Calendar | None = None,
    team_size: int | None = None,
    policy_name: str = "policy",
    contactable: bool = False,
) -> Replay:
    """The policy run hour by hour from ``start`` to ``end`` (both included) over ``history``.

    ``contactable`` gives every customer without a reachable address one (an extract without master
    data, such as an anonymised one, still shows the policy's emails rather than fix-contact tasks)."""
    if end < start:
        raise BacktestError(f"--to {end.isoformat()} is before --from {start.isoformat()}")
    calendar = calendar or Calendar()
    start_at, end_at = _midnight(start), _midnight(end + timedelta(days=1))
    result = Replay(policy_name, start, end, invoices=history.invoices)
    result.steps_defined = tuple(
        dict.fromkeys(step.id for policy in policies.policies.values() for step in policy.steps)
    )
    result.team_size, result.team_source = _team(policies, team_size)
    disputes = _dispute_spans(history.disputes)
    promises = _promises_by_invoice(history.promises)
    credit_notes: dict[str, list[Invoice]] = defaultdict(list)
    live: dict[tuple[str, str], _Live] = {}
    queue: list[tuple[datetime, int, str, str, int]] = []
    order = 0
    for invoice in history.invoices:
        if invoice.is_credit_note:
            credit_notes[invoice.customer_id].append(invoice)
            continue
        if invoice.document_type != DocumentType.INVOICE or invoice.invoice_date > end:
            continue
        if invoice.paid_date is not None and invoice.paid_date < start:
            continue  # paid before the policy was switched on
        first = max(first_look_at(invoice), start_at)
        state = replace(
            invoice,
            status=InvoiceStatus.OPEN.value,
            open_amount=invoice.amount,
            steps_done=(),
            next_action_at=first,
            promised_until=None,
            promise_id=None,
            disputed=False,
            dispute_id=None,
        )
        key = (invoice.customer_id, invoice.invoice_number)
        live[key] = _Live(state)
        heapq.heappush(queue, (first, order, *key, 0))
        order += 1
    customers = dict(history.customers)
    if contactable:
        customers = {
            cid: _contactable(customers.get(cid), cid) for cid in {*customers, *(k[0] for k in live)}
        }
        result.notes.append(
            "every customer was assumed reachable by email (--assume-contactable): "
            "missing master data and addresses did not stop an email"
        )
    turn: dict[str, int] = {}
    assigned: dict[str, str] = {}

    def owner_of(customer_id: str) -> str:
        if customer_id not in assigned:
            index = turn.get("", 0)
            assigned[customer_id] = f"collector {index % result.team_size + 1}"
            turn[""] = index + 1
        return assigned[customer_id]

    while queue:
        tick = _hour_at_or_after(queue[0][0])
        if tick >= end_at:
            break
        due: dict[str, list[Invoice]] = defaultdict(list)
        while queue and queue[0][0] <= tick:
            _, _, customer_id, number, version = heapq.heappop(queue)
            entry = live.get((customer_id, number))
            if entry is None or entry.version != version:
                continue  # moved since (a later look replaced it)
            due[customer_id].append(entry.invoice)
        for customer_id in sorted(due):
            customer = customers.get(customer_id)
            today = tick.date()
            invoices = []
            for invoice in due[customer_id]:
                current = _as_of(invoice, today, disputes, promises, tick)
                if current is None:  # paid: the payment's file took it out of the sweep
                    live.pop((customer_id, invoice.invoice_number), None)
                    continue
                invoices.append(current)
            if not invoices:
                continue
            plan = _plan(customer_id, customer, invoices, tick, policies, calendar, credit_notes)
            result.evaluations += 1
            customer = _carry_out(plan, customer, invoices, result, owner_of)
            if customer is not None:
                customers[customer_id] = customer
            by_number = {invoice.invoice_number: invoice for invoice in invoices}
            done = _steps_taken(plan)
            for reschedule in plan.reschedules:
                key = (customer_id, reschedule.invoice_number)
                entry = live.get(key)
                if entry is None:
                    continue
                invoice = by_number.get(reschedule.invoice_number, entry.invoice)
                steps = done.get(reschedule.invoice_number, ())
                promise = invoice.promise_id if invoice.promise_id not in plan.broken_promises else None
                entry.invoice = replace(
                    entry.invoice,
                    steps_done=tuple(dict.fromkeys((*entry.invoice.steps_done, *steps))),
                    next_action_at=reschedule.next_action_at,
                    last_touch_at=tick if steps else entry.invoice.last_touch_at,
                    promise_id=promise,
                    promised_until=invoice.promised_until if promise else None,
                )
                if promise is None and invoice.promise_id:
                    promises.settled.add(invoice.promise_id)
                entry.version += 1
                if reschedule.next_action_at is None:
                    # The engine is done with it (closed, disputed, no further step): a dispute's end or
                    # a promise's date brings it back, as live.
                    comeback = _comeback(entry.invoice, disputes, promises, tick)
                    if comeback is None:
                        continue
                    entry.invoice = replace(entry.invoice, next_action_at=comeback)
                    heapq.heappush(queue, (comeback, order, *key, entry.version))
                else:
                    at = max(reschedule.next_action_at, tick + _HOUR)
                    heapq.heappush(queue, (at, order, *key, entry.version))
                order += 1
    return result


# An address for a customer the history gives none (``contactable``): never written to, only counted.
ASSUMED_ADDRESS = "accounts.payable@backtest.invalid"


def _contactable(customer: Customer | None, customer_id: str) -> Customer:
    if customer is None:
        return Customer(customer_id=customer_id, name=customer_id, email=ASSUMED_ADDRESS)
    if customer.placeholder or not customer.reachable_emails:
        return replace(customer, placeholder=False, email=ASSUMED_ADDRESS, do_not_contact=False)
    return customer


def _team(policies: PolicySet, team_size: int | None) -> tuple[int, str]:
    collectors = {name for segment in policies.segments for name in segment.collectors}
    if team_size is not None:
        if team_size < 1:
            raise BacktestError(f"--team-size {team_size}: a team has at least one collector")
        return team_size, "--team-size"
    if collectors:
        return len(collectors), "the policy's segment collectors"
    return 1, "one collector (the policy names none; --team-size sets it)"


@dataclass
class _Promises:
    by_invoice: dict[tuple[str, str], list[Promise]]
    settled: set[str] = field(default_factory=set)


def _promises_by_invoice(promises: Iterable[Promise]) -> _Promises:
    by_invoice: dict[tuple[str, str], list[Promise]] = defaultdict(list)
    for promise in sorted(promises, key=lambda p: p.created_at):
        for number in promise.invoice_numbers:
            by_invoice[(promise.customer_id, number)].append(promise)
    return _Promises(dict(by_invoice))


def _dispute_spans(
    disputes: Iterable[Dispute],
) -> dict[tuple[str, str], list[tuple[datetime, datetime | None]]]:
    """When each invoice was held by a dispute: from its opening until it was resolved (or closed)."""
    spans: dict[tuple[str, str], list[tuple[datetime, datetime | None]]] = defaultdict(list)
    for dispute in disputes:
        spans[(dispute.customer_id, dispute.invoice_number)].append(
            (dispute.created_at, dispute.resolved_at or dispute.closed_at)
        )
    return dict(spans)


def _as_of(
    invoice: Invoice,
    today: date,
    disputes: Mapping[tuple[str, str], list[tuple[datetime, datetime | None]]],
    promises: _Promises,
    now: datetime,
) -> Invoice | None:
    """The invoice as the sweep would read it on ``today``; None once it is paid."""
    if invoice.paid_date is not None and invoice.paid_date <= today:
        return None
    key = (invoice.customer_id, invoice.invoice_number)
    disputed = any(
        opened <= now and (ended is None or now < ended) for opened, ended in disputes.get(key, ())
    )
    promise = next(
        (
            p
            for p in reversed(promises.by_invoice.get(key, ()))
            if p.created_at <= now and p.promise_id not in promises.settled
        ),
        None,
    )
    return replace(
        invoice,
        # The ERP's own flag: no file says when that dispute began, so it holds for the whole window.
        disputed=disputed or invoice.erp_disputed,
        promised_until=promise.promised_until if promise else None,
        promise_id=promise.promise_id if promise else None,
    )


def _comeback(
    invoice: Invoice,
    disputes: Mapping[tuple[str, str], list[tuple[datetime, datetime | None]]],
    promises: _Promises,
    now: datetime,
) -> datetime | None:
    """When an invoice the engine let go comes back: the end of the dispute holding it, or the day a
    promise made later on it begins."""
    key = (invoice.customer_id, invoice.invoice_number)
    ends = [ended for _, ended in disputes.get(key, ()) if ended is not None and ended > now]
    starts = [p.created_at for p in promises.by_invoice.get(key, ()) if p.created_at > now]
    later = ends + starts
    return min(later) if later else None


def _open_credits(notes: Sequence[Invoice], today: date) -> tuple[CreditLine, ...]:
    return tuple(
        CreditLine(CREDIT_NOTE, note.invoice_number, note.currency, note.amount, note.invoice_date)
        for note in notes
        if note.invoice_date <= today and (note.paid_date is None or today < note.paid_date)
    )


def _plan(
    customer_id: str,
    customer: Customer | None,
    invoices: Sequence[Invoice],
    now: datetime,
    policies: PolicySet,
    calendar: Calendar,
    credit_notes: Mapping[str, Sequence[Invoice]],
) -> CustomerPlan:
    """``delivery.plan_customer``'s rule: the plan, made again net of credits when it asks for money."""

    def plan_with(credits: Sequence[CreditLine]) -> CustomerPlan:
        return evaluate(
            customer_id=customer_id,
            customer=customer,
            invoices=invoices,
            now=now,
            policies=policies,
            calendar=calendar,
            credits=credits,
        )

    plan = plan_with(())
    if asks_for_money(plan):
        credits = _open_credits(credit_notes.get(customer_id, ()), now.date())
        if credits:
            plan = plan_with(credits)
    return plan


def _steps_taken(plan: CustomerPlan) -> dict[str, list[str]]:
    """The steps the plan records on each invoice once carried out (as ``delivery.carry_out`` does)."""
    steps: dict[str, list[str]] = defaultdict(list)
    if plan.email is not None:
        for touch in (*plan.email.touches, *plan.email.superseded):
            steps[touch.invoice_number].append(touch.step_id)
    for message in (plan.letter, plan.text):
        for touch in message.touches if message is not None else ():
            steps[touch.invoice_number].append(touch.step_id)
    for task in plan.tasks:
        for touch in task.touches:
            steps[touch.invoice_number].append(touch.step_id)
    return steps


def _carry_out(
    plan: CustomerPlan,
    customer: Customer | None,
    invoices: Sequence[Invoice],
    result: Replay,
    owner_of: Any,
) -> Customer | None:
    """Record the plan's contacts as if each went out; the customer's last email moves with an email."""
    day = plan.now.date()
    due_dates = {invoice.invoice_number: invoice.due_date for invoice in invoices}
    if plan.email is not None:
        numbers = plan.email.invoice_numbers
        result.contacts.append(
            Contact(plan.now, plan.customer_id, Action.EMAIL.value, plan.email.step_id, numbers)
        )
        result.steps_fired.update({touch.step_id.partition("#")[0] for touch in plan.email.touches})
        for number in numbers:
            result.touched_on.setdefault((plan.customer_id, number), []).append(day)
            if number in due_dates:
                result.touch_ages.append((EMAIL, (day - due_dates[number]).days))
        if customer is not None:
            customer = replace(customer, last_emailed_at=plan.now)
    for message in (plan.letter, plan.text):
        if message is None:
            continue
        # A touch by another channel (the step's ``channels``): counted as its channel, a touch of each
        # invoice it lists; the response model has no evidence of how letters and texts are answered.
        numbers = message.invoice_numbers
        result.contacts.append(
            Contact(plan.now, plan.customer_id, message.channel.value, message.step_id, numbers)
        )
        # A bounced email's fallback (``<step>@bounced``) is its step, fired by another channel.
        result.steps_fired.update(
            {touch.step_id.removesuffix(BOUNCED).partition("#")[0] for touch in message.touches}
        )
        for number in numbers:
            result.touched_on.setdefault((plan.customer_id, number), []).append(day)
    for task in plan.tasks:
        if task.kind == CREDIT_BALANCE:
            result.covered_by_credits.update((plan.customer_id, number) for number in task.invoice_numbers)
        assignee = owner_of(plan.customer_id) if task.kind == Action.CALL.value else task.assignee
        numbers = task.all_invoice_numbers
        result.contacts.append(
            Contact(plan.now, plan.customer_id, task.kind, task.step_id, numbers, assignee)
        )
        result.steps_fired.update(
            {touch.step_id.partition("#")[0] for touch in task.touches} or {task.step_id}
        )
        if task.kind == Action.CALL.value:
            for number in numbers:
                result.touched_on.setdefault((plan.customer_id, number), []).append(day)
                if number in due_dates:
                    result.touch_ages.append((CALL, (day - due_dates[number]).days))
    return customer


# --- the measures ------------------------------------------------------------------------------------


def _percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile (a value that occurred), None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def _spread(values: Sequence[float]) -> dict[str, float | None]:
    return {
        "p50": _percentile(values, 0.5),
        "p95": _percentile(values, 0.95),
        "max": max(values) if values else None,
        "mean": round(sum(values) / len(values), 2) if values else None,
    }


_CHANNELS = frozenset(channel.value for channel in Channel)


def measures(result: Replay) -> dict[str, Any]:
    """The backtest's figures for one policy (the JSON schema is in docs/policy-lab.md)."""
    start, end = result.start, result.end
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    emails_by_day: Counter[date] = Counter()
    calls_by_day: Counter[date] = Counter()
    tasks_by_kind: Counter[str] = Counter()
    calls_by_collector_day: Counter[tuple[str, date]] = Counter()
    channels: Counter[str] = Counter()
    for contact in result.contacts:
        day = contact.at.date()
        if contact.kind in _CHANNELS:
            channels[contact.kind] += 1
        if contact.kind == Action.EMAIL.value:
            emails_by_day[day] += 1
        elif contact.kind in _CHANNELS:
            continue
        else:
            tasks_by_kind[contact.kind] += 1
            if contact.kind == Action.CALL.value:
                calls_by_day[day] += 1
                calls_by_collector_day[(contact.assignee or "", day)] += 1
    workdays = [day for day in days if day.weekday() in _WORKDAYS]
    collectors = [f"collector {n + 1}" for n in range(result.team_size)]
    per_collector = [float(calls_by_collector_day[(who, day)]) for who in collectors for day in workdays]
    # Invoices that reached 30 days past due inside the window, open that day; their touches before it.
    reached = []
    covered = 0
    first_touch_ages: list[float] = []
    touches_per_invoice: list[float] = []
    collected: dict[str, Decimal] = defaultdict(Decimal)
    in_scope = 0
    for invoice in result.invoices:
        if invoice.document_type != DocumentType.INVOICE or invoice.invoice_date > end:
            continue
        if invoice.paid_date is not None and invoice.paid_date < start:
            continue
        in_scope += 1
        key = (invoice.customer_id, invoice.invoice_number)
        touched = sorted(result.touched_on.get(key, ()))
        touches_per_invoice.append(float(len(touched)))
        if touched:
            first_touch_ages.append(float((touched[0] - invoice.due_date).days))
        if invoice.paid_date is not None and start <= invoice.paid_date <= end:
            collected[invoice.currency] += invoice.amount
        mark = invoice.due_date + timedelta(days=PAST_DUE_MARK_DAYS)
        # Only invoices the sweep had before they got there: one issued (or loaded at the go-live)
        # already 30 days past due had no chance to be touched 4 times first.
        known_from = max(invoice.invoice_date, start)
        if known_from < mark <= end and (invoice.paid_date is None or invoice.paid_date > mark):
            reached.append(sum(1 for day in touched if day < mark))
            covered += key in result.covered_by_credits
    touches = sum(len(days_) for days_ in result.touched_on.values())
    peak = sorted(days, key=lambda day: (-(emails_by_day[day] + calls_by_day[day]), day))[:PEAK_DAYS]
    emails, calls = sum(emails_by_day.values()), sum(calls_by_day.values())
    never = [step for step in result.steps_defined if result.steps_fired[step] == 0]
    with_enough = sum(1 for count in reached if count >= TOUCHES_BEFORE_30_DPD)
    return {
        "window": {
            "from": start.isoformat(),
            "to": end.isoformat(),
            "days": len(days),
            "workdays": len(workdays),
        },
        "invoices_in_window": in_scope,
        "emails": emails,
        "calls": calls,
        # The touches each channel carried (email, letter, sms: the steps' ``channels``).
        "channels": {channel: channels[channel] for channel in sorted(_CHANNELS)},
        "tasks": dict(sorted(tasks_by_kind.items())),
        "team_size": result.team_size,
        "team_size_from": result.team_source,
        "emails_per_day": _spread([float(emails_by_day[day]) for day in days]),
        "calls_per_day": _spread([float(calls_by_day[day]) for day in workdays]),
        "calls_per_collector_per_day": _spread(per_collector),
        "first_touch_age_days": _spread(first_touch_ages),
        "invoices_touched": len(first_touch_ages),
        "invoices_30_days_past_due": len(reached),
        "invoices_30_days_past_due_with_4_touches": with_enough,
        "share_with_4_touches_before_30_dpd": round(with_enough / len(reached), 4) if reached else None,
        # Of those, the ones whose reminders the customer's credits stopped (nothing owed net).
        "invoices_30_days_past_due_covered_by_credits": covered,
        "touches": touches,
        "touches_per_invoice": round(touches / in_scope, 3) if in_scope else None,
        "collected": {currency: str(amount) for currency, amount in sorted(collected.items())},
        "touches_per_1000_collected": {
            currency: round(touches * 1000 / float(amount), 4) if amount else None
            for currency, amount in sorted(collected.items())
        },
        "peak_days": [
            {"day": day.isoformat(), "emails": emails_by_day[day], "calls": calls_by_day[day]} for day in peak
        ],
        "steps_never_fired": never,
        "steps_fired": dict(sorted(result.steps_fired.items())),
        "per_day": [
            {"day": day.isoformat(), "emails": emails_by_day[day], "calls": calls_by_day[day]} for day in days
        ],
        "evaluations": result.evaluations,
        "notes": list(result.notes),
    }


def document(
    history: History, replays: Sequence[Replay], source: str, policies: PolicySet | None = None
) -> dict[str, Any]:
    """The backtest's JSON: the window, the history it ran on, one object of measures per policy under
    ``policies``, keyed by the policy's name (the policy file's name), and the response model's estimate
    of what would change, labelled as one. Schema: docs/policy-lab.md."""
    if not replays:
        raise BacktestError("no policy to backtest")
    first = replays[0]
    model = fit(
        history.invoices, history.touches, policies or _any_policies(), start=first.start, end=first.end
    )
    estimates = {replay.policy_name: estimate(model, replay.touch_ages) for replay in replays}
    return {
        "window": {"from": first.start.isoformat(), "to": first.end.isoformat()},
        "history": {
            "source": source,
            "invoices": len(history.invoices),
            "customers": len(history.customers),
            "disputes": len(history.disputes),
            "promises": len(history.promises),
            "notes": list(history.notes),
        },
        "policies": {replay.policy_name: measures(replay) for replay in replays},
        "replayed": (
            "the real engine, hour by hour, as if switched on at the first day; every plan carried out, "
            "no email sent and nothing written; each invoice paid the day it really was"
        ),
        "estimate": {
            "label": "estimate",
            "model": MODEL_STATEMENT,
            "uncertainty": UNCERTAINTY,
            "fitted_on": model.describe() if not isinstance(model, str) else [],
            "why_not": model if isinstance(model, str) else None,
            "policies": estimates,
        },
    }


def _any_policies() -> PolicySet:
    from arcollect.policy import shipped_policy

    return shipped_policy()
