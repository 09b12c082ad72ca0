"""The dunning policy: data, not code.

A policy file (YAML) holds the settings every policy shares (send window, gaps, grace), the segments that
choose a policy by customer attributes (first match wins), and the policies: ordered steps, each with a
trigger relative to the invoice or due date, an action, optional conditions, and a repeat rule for the
last step. The shipped file is ``policies/default.yaml``; an operator may upload a replacement to the
drop bucket (``config/dunning-policy.yaml``). Both are validated the same way: at synth time (the stack
refuses to build with a broken shipped policy) and whenever a function loads one. Every mistake is
reported with the path of the key that holds it, all at once.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import cache, cached_property, lru_cache
from pathlib import Path
from typing import Any, Protocol

from arcollect import yamldoc
from arcollect.contract import DropPrefix
from arcollect.entities import Customer, DeductionReason, DisputeReason, Invoice
from arcollect.interest import Compensation, DayCount, InterestRule, LateCharges, RatePeriod
from arcollect.money import plain

SHIPPED_POLICY = Path(__file__).parent / "policies" / "default.yaml"

# The tone of the email, gentle to severe (the order the known names are listed in).
TEMPLATE_ORDER: tuple[str, ...] = (
    "courtesy",
    "outreach",
    "due",
    "reminder",
    "firm",
    "final_notice",
    "missed_promise",
    # The first email of a go-live's backlog: everything already overdue, as one statement.
    "overdue_statement",
    # A payment plan's instalment (arcollect/plans.py), reminded instead of its invoices.
    "instalment_reminder",
    # A payment plan broken: the instalment missed, its date and what is still open of it.
    "plan_broken",
)
TEMPLATES: frozenset[str] = frozenset(TEMPLATE_ORDER)


def template_problems(names: Iterable[str]) -> list[str]:
    """One message per unknown template name (for validating a dunning policy); empty when all are known."""
    problems: list[str] = []
    seen: set[str] = set()
    for name in names:
        if name not in TEMPLATES and name not in seen:
            seen.add(name)
            problems.append(unknown_template_message(name))
    return problems


def unknown_template_message(name: str) -> str:
    return f"unknown email template {name!r}; the known templates are: {', '.join(TEMPLATE_ORDER)}"


_STEP_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class PolicyError(ValueError):
    """A policy file that cannot be used; the message lists every problem with the key that holds it."""


class Action(StrEnum):
    """What a step does. Only ``email`` reaches the customer by itself; the others are collector tasks."""

    EMAIL = "email"
    CALL = "call"
    OWNER_ALERT = "owner_alert"
    ESCALATION = "escalation"
    CREDIT_HOLD = "credit_hold"
    AGENCY = "agency"

    @property
    def contacts_customer(self) -> bool:
        """Emails and calls reach the customer; do-not-contact suppresses them, not internal tasks."""
        return self in (Action.EMAIL, Action.CALL)


class Channel(StrEnum):
    """How a step's reminder reaches the customer (docs/dunning.md, "Channels"). A step lists them in
    order: the first the customer can be reached on at the time carries the touch."""

    EMAIL = "email"
    # A printed PDF for a print-and-mail service (dunning/letters.py, docs/letters.md).
    LETTER = "letter"
    # A short text with the portal link (dunning/texts.py).
    SMS = "sms"


class Anchor(StrEnum):
    INVOICE_DATE = "invoice_date"
    DUE_DATE = "due_date"


class Priority(StrEnum):
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


@dataclass(frozen=True)
class Contact:
    """A person of the collections team: signs reminders, receives replies, gets tasks."""

    key: str
    name: str
    email: str | None = None


@dataclass(frozen=True)
class Trigger:
    anchor: Anchor
    days: int

    def date_for(self, invoice: Invoice) -> date:
        base = invoice.invoice_date if self.anchor is Anchor.INVOICE_DATE else invoice.due_date
        return base + timedelta(days=self.days)

    def describe(self) -> str:
        anchor = "invoice date" if self.anchor is Anchor.INVOICE_DATE else "due date"
        if self.days == 0:
            return f"on the {anchor}"
        return f"{abs(self.days)} day(s) {'after' if self.days > 0 else 'before'} the {anchor}"


@dataclass(frozen=True)
class Conditions:
    """When a step applies; an empty set of conditions always holds."""

    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    risk: frozenset[str] = frozenset()
    touches_min: int | None = None
    touches_max: int | None = None
    # The segments the step is for (one policy shared by several segments may vary a step by segment).
    segments: frozenset[str] = frozenset()

    def why_not(
        self, invoice: Invoice, customer: Customer | None, touches: int, segment: str = ""
    ) -> str | None:
        """None when the step applies to ``invoice``; else the condition that does not hold."""
        if self.segments and segment not in self.segments:
            return f"segment {segment!r} is not one of {', '.join(sorted(self.segments))}"
        # The bounds are in the invoice's currency; both written with its decimals (money.plain):
        # "open amount 2000.050 KWD is below 10000.000 KWD", "250.00 EUR is below 10000.00 EUR".
        currency = invoice.currency
        if self.amount_min is not None and invoice.open_amount < self.amount_min:
            return (
                f"open amount {plain(invoice.open_amount, currency)} {currency} is below "
                f"{plain(self.amount_min, currency)} {currency}"
            )
        if self.amount_max is not None and invoice.open_amount > self.amount_max:
            return (
                f"open amount {plain(invoice.open_amount, currency)} {currency} is above "
                f"{plain(self.amount_max, currency)} {currency}"
            )
        risk = (customer.risk or "").lower() if customer else ""
        if self.risk and risk not in self.risk:
            return f"customer risk {risk or 'unknown'!r} is not one of {', '.join(sorted(self.risk))}"
        if self.touches_min is not None and touches < self.touches_min:
            return f"{touches} prior touch(es), the step needs at least {self.touches_min}"
        if self.touches_max is not None and touches > self.touches_max:
            return f"{touches} prior touch(es), the step applies up to {self.touches_max}"
        return None


@dataclass(frozen=True)
class Repeat:
    every_days: int
    times: int


@dataclass(frozen=True)
class Step:
    id: str
    trigger: Trigger
    action: Action
    template: str | None = None
    title: str | None = None
    priority: Priority = Priority.NORMAL
    conditions: Conditions = Conditions()
    # An email step's channels in order of preference (the first one the customer can be reached on).
    channels: tuple[Channel, ...] = (Channel.EMAIL,)

    @property
    def counts_as_touch(self) -> bool:
        """A touch is contact with the customer: the "prior touches" conditions count these."""
        return self.action.contacts_customer


@dataclass(frozen=True)
class Occurrence:
    """One step as it falls for one invoice; a repeated last step occurs as ``<id>#2``, ``<id>#3``..."""

    step_id: str
    step: Step
    due_on: date
    rank: int


@dataclass(frozen=True)
class Policy:
    name: str
    steps: tuple[Step, ...]
    repeat: Repeat | None = None
    description: str = ""
    # Statutory interest and compensation (arcollect/interest.py); None: the policy charges nothing.
    late_charges: LateCharges | None = None

    def occurrences(self, invoice: Invoice) -> tuple[Occurrence, ...]:
        """Every step occurrence for ``invoice`` in the order they fall due (list order breaks ties)."""
        return _occurrences(self, invoice.invoice_date, invoice.due_date)

    @cached_property
    def step_index(self) -> dict[str, int]:
        """Each step's place in the policy (its first, for an id listed twice): a step's severity."""
        return {step.id: index for index, step in reversed(list(enumerate(self.steps)))}

    @cached_property
    def _hash(self) -> int:
        return hash((self.name, self.steps, self.repeat, self.description))

    def __hash__(self) -> int:
        # Hashed once per invoice (the occurrences' cache key): the fields' hash is computed once.
        return self._hash


@lru_cache(maxsize=8192)
def _occurrences(policy: Policy, invoice_date: date, due_date: date) -> tuple[Occurrence, ...]:
    # Only the two dates matter, and invoices of one billing run share them: computed once per pair.
    def falls_on(step: Step) -> date:
        base = invoice_date if step.trigger.anchor is Anchor.INVOICE_DATE else due_date
        return base + timedelta(days=step.trigger.days)

    timed = [(falls_on(step), index, step.id, step) for index, step in enumerate(policy.steps)]
    if policy.repeat and policy.steps:
        last = policy.steps[-1]
        first = falls_on(last)
        for n in range(2, policy.repeat.times + 2):
            when = first + timedelta(days=policy.repeat.every_days * (n - 1))
            timed.append((when, len(policy.steps) + n, f"{last.id}#{n}", last))
    timed.sort(key=lambda t: (t[0], t[1]))
    return tuple(Occurrence(step_id, step, when, rank) for rank, (when, _, step_id, step) in enumerate(timed))


@dataclass(frozen=True)
class Segment:
    """Which customers a policy is for. Every listed attribute must match; none listed matches all."""

    name: str
    policy: str
    industry: tuple[str, ...] = ()
    annual_sales_min: Decimal | None = None
    annual_sales_max: Decimal | None = None
    years_min: int | None = None
    years_max: int | None = None
    countries: frozenset[str] = frozenset()
    customers: frozenset[str] = frozenset()
    # Who gets the tasks of customers without an owner, in turn (none: the manager).
    collectors: tuple[str, ...] = ()

    def matches(self, customer: Customer | None, today: date) -> bool:
        if customer is None:
            return not self._has_criteria()
        if customer.segment and customer.segment == self.name:
            return True
        if self.customers and customer.customer_id not in self.customers:
            return False
        if self.industry and not (customer.industry_code or "").startswith(self.industry):
            return False
        sales = customer.annual_sales
        if self.annual_sales_min is not None and (sales is None or sales < self.annual_sales_min):
            return False
        if self.annual_sales_max is not None and (sales is None or sales >= self.annual_sales_max):
            return False
        if self.years_min is not None or self.years_max is not None:
            if customer.customer_since is None:
                return False
            years = _whole_years(customer.customer_since, today)
            if self.years_min is not None and years < self.years_min:
                return False
            if self.years_max is not None and years >= self.years_max:
                return False
        return not (self.countries and (customer.country or "").upper() not in self.countries)

    def _has_criteria(self) -> bool:
        return bool(
            self.industry
            or self.countries
            or self.customers
            or self.annual_sales_min is not None
            or self.annual_sales_max is not None
            or self.years_min is not None
            or self.years_max is not None
        )


@dataclass(frozen=True)
class PolicySettings:
    send_window: Any  # calendar.SendWindow (imported lazily to keep this module light)
    time_zone: str = "UTC"
    min_days_between_emails: int = 3
    promise_grace_days: int = 3
    sender_name: str = "Accounts Receivable"
    anniversary_check_in: bool = True
    # Whose worklist gets escalations, and who signs when a customer has no owner.
    manager: str = "collections-manager"
    # The largest credit a collector may grant by resolving a dispute (in the invoice's currency); a
    # larger one is a manager's decision. 0: only managers resolve with a credit.
    collector_credit_limit: Decimal = Decimal(0)
    # Send times learned per customer (send_times.SendTimes); off unless ``learn: true``.
    send_times: Any = None
    # What a customer may agree in the portal as a payment plan (plans.PlanLimits; None: its defaults).
    payment_plans: Any = None
    # The reminder texts' rules (sms.SmsRules): parts, hours stricter than the send window, keywords.
    sms: Any = None


class PaymentsFeed(StrEnum):
    """Where the ERP says what is paid: payment files of their own, or paid dates in the invoices feed
    (a company that sends invoices only). Only a separate payments feed has an age to check."""

    SEPARATE = "separate"
    PAID_DATES = "paid_dates"


@dataclass(frozen=True)
class Freshness:
    """How old the ERP's feeds may be before dunning stops acting on balances (the freshness hold).

    Ages count business days of the company's calendar: Monday to Friday that are not public holidays
    of ``country`` (none: weekends only), days beginning at midnight in ``time_zone``."""

    invoices_max_age_business_days: int = 2
    payments_max_age_business_days: int = 2
    payments_feed: PaymentsFeed = PaymentsFeed.SEPARATE
    country: str | None = None
    time_zone: str = "UTC"

    @property
    def checked_feeds(self) -> dict[str, int]:
        """The feeds whose age holds dunning, with the most business days each may be old."""
        feeds = {"invoices": self.invoices_max_age_business_days}
        if self.payments_feed is PaymentsFeed.SEPARATE:
            feeds["payments"] = self.payments_max_age_business_days
        return feeds


@dataclass(frozen=True)
class Department:
    """Where disputes of some reasons go: a team address notified of each, and its SLA in days."""

    name: str
    email: str | None
    reasons: tuple[str, ...]
    sla_days: int


@dataclass(frozen=True)
class DisputeRouting:
    sla_days: int = 10
    departments: tuple[Department, ...] = ()

    def route(self, reason: str) -> Department | None:
        """The department of ``reason`` (the first that lists it, else one that lists ``other``)."""
        for department in self.departments:
            if reason in department.reasons:
                return department
        for department in self.departments:
            if "other" in department.reasons:
                return department
        return None

    def sla_for(self, department: str | None) -> int:
        for candidate in self.departments:
            if candidate.name == department:
                return candidate.sla_days
        return self.sla_days


CHAMPION = "champion"
CHALLENGER = "challenger"
# The largest share a challenger may take: beyond half it is the champion under another name.
MAX_CHALLENGER_SHARE = 50


@dataclass(frozen=True)
class Challenger:
    """A champion/challenger test: ``share`` percent of the customers the ``replaces`` policy would
    work get the ``policy`` instead. Who is in which arm is a stable hash of the test's name and the
    customer's id: the same customer stays in its arm on every tick, in every function, and a new test
    (another name) draws a fresh sample."""

    name: str
    policy: str
    replaces: str
    share: Decimal  # percent, 0 < share <= 50

    def arm(self, customer_id: str) -> str:
        digest = hashlib.sha256(f"{self.name}\x1f{customer_id}".encode()).digest()
        # The first 8 bytes as a fraction of 2^64, against the share: uniform, and stable across releases.
        draw = Decimal(int.from_bytes(digest[:8], "big")) / Decimal(2**64)
        return CHALLENGER if draw * 100 < self.share else CHAMPION


@dataclass(frozen=True)
class PolicySet:
    settings: PolicySettings
    segments: tuple[Segment, ...]
    policies: Mapping[str, Policy]
    team: Mapping[str, Contact] = field(default_factory=dict)
    source: str = "shipped"
    disputes: DisputeRouting = field(default_factory=DisputeRouting)
    freshness: Freshness = field(default_factory=Freshness)
    # Which text of the policy decided: the first 12 hex digits of its SHA-256, recorded with every
    # decision the sweep makes, so "why" can be answered after the policy changed.
    revision: str = ""
    # A champion/challenger test in force (None: every customer gets its segment's policy).
    challenger: Challenger | None = None
    # Late charges by customer id, over their policy's (None: this customer is charged nothing).
    customer_late_charges: Mapping[str, LateCharges | None] = field(default_factory=dict)

    def segment_for(self, customer: Customer | None, today: date) -> Segment:
        """The first segment that matches (an explicit ``segment`` on the customer wins)."""
        if customer is not None and customer.segment:
            for segment in self.segments:
                if segment.name == customer.segment:
                    return segment
        for segment in self.segments:
            if segment.matches(customer, today):
                return segment
        return self.segments[-1]

    def policy_for(self, customer: Customer | None, today: date) -> tuple[Segment, Policy]:
        """The customer's segment and the policy that works it: the segment's, or the challenger for a
        customer in the challenger arm of the test in force."""
        segment = self.segment_for(customer, today)
        if self.arm_of(customer, segment) == CHALLENGER:
            assert self.challenger is not None
            return segment, self.policies[self.challenger.policy]
        return segment, self.policies[segment.policy]

    def arm_of(self, customer: Customer | None, segment: Segment) -> str | None:
        """The customer's arm of the test in force (None: its policy is not under test). A customer
        without master data (a placeholder) stays with the champion: nobody to compare yet."""
        test = self.challenger
        if test is None or segment.policy != test.replaces or customer is None or customer.placeholder:
            return None
        return test.arm(customer.customer_id)

    def late_charges_for(self, customer: Customer | None, today: date) -> LateCharges | None:
        """The late charges the customer's policy sets (a customer's own entry wins); None: none."""
        if customer is not None and customer.customer_id in self.customer_late_charges:
            return self.customer_late_charges[customer.customer_id]
        return self.policy_for(customer, today)[1].late_charges

    def contact(self, key: str | None) -> Contact | None:
        """The team member ``key`` names (an owner or the manager); unknown keys stand for themselves."""
        if not key:
            return None
        return self.team.get(key) or Contact(key=key, name=key, email=key if "@" in key else None)


def _whole_years(since: date, today: date) -> int:
    years = today.year - since.year
    return years - 1 if (today.month, today.day) < (since.month, since.day) else years


# --- loading and validation -------------------------------------------------------------------------


class _Problems:
    """Collects every problem of a file with the path of its key, so one run of validation says it all."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.lines.append(f"{where}: {message}")

    def mapping(self, value: Any, where: str, allowed: Iterable[str]) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.add(where, f"expected a mapping of keys, found {type(value).__name__}")
            return {}
        allowed = tuple(allowed)
        for key in value:
            if key not in allowed:
                self.add(f"{where}.{key}", f"unknown key; expected one of {', '.join(allowed)}")
        return value

    def integer(self, value: Any, where: str, *, minimum: int | None = None) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(where, f"expected a whole number, found {value!r}")
            return None
        if minimum is not None and value < minimum:
            self.add(where, f"must be at least {minimum}, found {value}")
            return None
        return value

    def amount(self, value: Any, where: str) -> Decimal | None:
        if value is None:
            return None
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            amount = Decimal(-1)
        if isinstance(value, bool) or not amount.is_finite() or amount < 0:
            self.add(where, f"expected a non-negative amount, found {value!r}")
            return None
        return amount

    def strings(self, value: Any, where: str) -> tuple[str, ...]:
        if value is None:
            return ()
        items = value if isinstance(value, list) else [value]
        texts = tuple(str(item).strip() for item in items if not isinstance(item, dict | list))
        if len(texts) != len(items) or not all(texts):
            self.add(where, f"expected a list of texts, found {value!r}")
        return texts

    def choice(self, value: Any, where: str, enum: type[StrEnum], default: StrEnum | None = None) -> Any:
        if value is None:
            if default is None:
                self.add(where, f"is required; one of {', '.join(e.value for e in enum)}")
            return default
        try:
            return enum(str(value))
        except ValueError:
            self.add(where, f"{value!r} is not one of {', '.join(e.value for e in enum)}")
            return default


def _range(problems: _Problems, value: Any, where: str, reader: Any) -> tuple[Any, Any]:
    data = problems.mapping(value, where, ("min", "max"))
    return reader(data.get("min"), f"{where}.min"), reader(data.get("max"), f"{where}.max")


def _conditions(problems: _Problems, value: Any, where: str) -> Conditions:
    data = problems.mapping(value, where, ("amount", "risk", "touches", "segment"))
    amount_min, amount_max = _range(problems, data.get("amount"), f"{where}.amount", problems.amount)
    touches_min, touches_max = _range(
        problems, data.get("touches"), f"{where}.touches", lambda v, w: problems.integer(v, w, minimum=0)
    )
    risk = frozenset(r.lower() for r in problems.strings(data.get("risk"), f"{where}.risk"))
    segments = frozenset(problems.strings(data.get("segment"), f"{where}.segment"))
    return Conditions(amount_min, amount_max, risk, touches_min, touches_max, segments)


def _step(problems: _Problems, value: Any, where: str) -> Step | None:
    data = problems.mapping(
        value, where, ("id", "trigger", "action", "template", "title", "priority", "when", "channels")
    )
    step_id = str(data.get("id") or "")
    if not _STEP_ID.match(step_id):
        problems.add(f"{where}.id", f"{step_id!r} is not a step id (lower-case letters, digits, _)")
    trigger_data = problems.mapping(data.get("trigger"), f"{where}.trigger", ("days", "from"))
    if not trigger_data:
        problems.add(f"{where}.trigger", "is required, e.g. {days: 7, from: due_date}")
    days = problems.integer(trigger_data.get("days"), f"{where}.trigger.days")
    anchor = problems.choice(
        trigger_data.get("from", "due_date"), f"{where}.trigger.from", Anchor, Anchor.DUE_DATE
    )
    action = problems.choice(data.get("action"), f"{where}.action", Action)
    template = data.get("template")
    if action is Action.EMAIL and not template:
        problems.add(f"{where}.template", "an email step needs a template")
    if action is not None and action is not Action.EMAIL and template:
        problems.add(f"{where}.template", f"only email steps have a template; this step is {action}")
    priority = problems.choice(data.get("priority"), f"{where}.priority", Priority, Priority.NORMAL)
    conditions = _conditions(problems, data.get("when"), f"{where}.when")
    channels = _channels(problems, data.get("channels"), f"{where}.channels", action)
    if action is None or days is None:
        return None
    return Step(
        id=step_id,
        trigger=Trigger(anchor, days),
        action=action,
        template=str(template) if template else None,
        title=str(data["title"]) if data.get("title") else None,
        priority=priority,
        conditions=conditions,
        channels=channels,
    )


def _channels(problems: _Problems, value: Any, where: str, action: Action | None) -> tuple[Channel, ...]:
    """A step's ``channels``: a list of known channels, each once, on an email step only."""
    if value is None:
        return (Channel.EMAIL,)
    known = ", ".join(channel.value for channel in Channel)
    if not isinstance(value, list) or not value:
        problems.add(where, f"expected a list of channels, first choice first, e.g. [email, letter]; {known}")
        return (Channel.EMAIL,)
    if action is not None and action is not Action.EMAIL:
        problems.add(where, f"only email steps reach the customer by a channel; this step is {action}")
    channels: list[Channel] = []
    for index, raw in enumerate(value):
        if not isinstance(raw, str) or raw not in {channel.value for channel in Channel}:
            problems.add(f"{where}[{index}]", f"{raw!r} is not a channel; the channels are: {known}")
        elif Channel(raw) in channels:
            problems.add(f"{where}[{index}]", f"{raw!r} is listed twice")
        else:
            channels.append(Channel(raw))
    return tuple(channels) or (Channel.EMAIL,)


def _policy(problems: _Problems, name: str, value: Any, where: str) -> Policy:
    data = problems.mapping(value, where, ("description", "steps", "repeat", "late_charges"))
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        problems.add(f"{where}.steps", "a policy needs a list of at least one step")
        raw_steps = []
    steps = [_step(problems, raw, f"{where}.steps[{index}]") for index, raw in enumerate(raw_steps)]
    seen: set[str] = set()
    for index, step in enumerate(steps):
        if step is not None and step.id in seen:
            problems.add(f"{where}.steps[{index}].id", f"{step.id!r} is used twice in this policy")
        if step is not None:
            seen.add(step.id)
    repeat = None
    if data.get("repeat") is not None:
        repeat_data = problems.mapping(data["repeat"], f"{where}.repeat", ("every_days", "times"))
        every = problems.integer(repeat_data.get("every_days"), f"{where}.repeat.every_days", minimum=1)
        times = problems.integer(repeat_data.get("times"), f"{where}.repeat.times", minimum=1)
        if every is None or times is None:
            problems.add(f"{where}.repeat", "needs every_days and times, both at least 1")
        else:
            repeat = Repeat(every, times)
    return Policy(
        name=name,
        steps=tuple(s for s in steps if s is not None),
        repeat=repeat,
        description=str(data.get("description") or ""),
        late_charges=_late_charges(problems, data.get("late_charges"), f"{where}.late_charges"),
    )


def _late_charges(problems: _Problems, value: Any, where: str) -> LateCharges | None:
    """``late_charges: {interest: {annual_rate | reference_rates + margin, day_count}, compensation:
    eu|uk, add_to_open_amount}``: every mistake named with its key; absent or false: no charges."""
    if value is None or value is False:
        return None
    data = problems.mapping(value, where, ("interest", "compensation", "add_to_open_amount"))
    if not data:
        return None
    interest = _interest(problems, data.get("interest"), f"{where}.interest")
    compensation = None
    if data.get("compensation") is not None:
        compensation = problems.choice(data["compensation"], f"{where}.compensation", Compensation)
    add = data.get("add_to_open_amount", False)
    if not isinstance(add, bool):
        problems.add(f"{where}.add_to_open_amount", f"expected true or false, found {add!r}")
        add = False
    if interest is None and compensation is None:
        problems.add(where, "charges nothing: give `interest`, `compensation` or both (or leave it out)")
        return None
    return LateCharges(interest=interest, compensation=compensation, add_to_open_amount=add)


def _interest(problems: _Problems, value: Any, where: str) -> InterestRule | None:
    if value is None:
        return None
    data = problems.mapping(value, where, ("annual_rate", "reference_rates", "margin", "day_count"))
    if not data:
        problems.add(where, "expected {annual_rate: PERCENT} or {reference_rates: [...], margin: POINTS}")
        return None
    day_count = problems.choice(data.get("day_count"), f"{where}.day_count", DayCount, DayCount.ACTUAL_365)
    fixed, table = data.get("annual_rate"), data.get("reference_rates")
    if (fixed is None) == (table is None):
        problems.add(where, "give either `annual_rate` or `reference_rates` (with `margin`), not both")
        return None
    if fixed is not None:
        if data.get("margin") is not None:
            problems.add(f"{where}.margin", "a margin goes with `reference_rates`, not with `annual_rate`")
        rate = problems.amount(fixed, f"{where}.annual_rate")
        return None if rate is None else InterestRule(annual_rate=rate, day_count=day_count)
    margin = problems.amount(data.get("margin", 0), f"{where}.margin")
    if not isinstance(table, list) or not table:
        problems.add(f"{where}.reference_rates", "expected a list of {from: YYYY-MM-DD, rate: PERCENT}")
        return None
    periods: list[RatePeriod] = []
    for index, raw in enumerate(table):
        at = f"{where}.reference_rates[{index}]"
        entry = problems.mapping(raw, at, ("from", "rate"))
        starts = _date(problems, entry.get("from"), f"{at}.from")
        rate = problems.amount(entry.get("rate"), f"{at}.rate")
        if entry.get("rate") is None:
            problems.add(f"{at}.rate", "is required: the reference rate in percent a year")
        if starts is not None and rate is not None:
            periods.append(RatePeriod(starts, rate))
    starts_seen = [p.starts for p in periods]
    for day in sorted({d for d in starts_seen if starts_seen.count(d) > 1}):
        problems.add(f"{where}.reference_rates", f"two rates start on {day.isoformat()}")
    if margin is None or len(periods) != len(table):
        return None
    return InterestRule(
        reference_rates=tuple(sorted(periods, key=lambda p: p.starts)), margin=margin, day_count=day_count
    )


def _date(problems: _Problems, value: Any, where: str) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        problems.add(where, f"expected a date YYYY-MM-DD, found {value!r}")
        return None


def _customer_late_charges(problems: _Problems, value: Any) -> dict[str, LateCharges | None]:
    """Top-level ``late_charges: {customers: {<customer id>: {...} | false}}``: a customer's own."""
    data = problems.mapping(value, "late_charges", ("customers",))
    customers = data.get("customers")
    if customers is None:
        return {}
    if not isinstance(customers, dict):
        problems.add("late_charges.customers", "expected a mapping of customer ids to late charges")
        return {}
    return {
        str(customer): _late_charges(problems, config, f"late_charges.customers.{customer}")
        for customer, config in customers.items()
    }


def _segment(problems: _Problems, value: Any, where: str) -> Segment | None:
    data = problems.mapping(value, where, ("name", "policy", "when", "collectors"))
    criteria = problems.mapping(
        data.get("when"),
        f"{where}.when",
        ("industry", "annual_sales", "customer_for_years", "countries", "customers"),
    )
    name, policy = str(data.get("name") or ""), str(data.get("policy") or "")
    if not name:
        problems.add(f"{where}.name", "a segment needs a name")
    if not policy:
        problems.add(f"{where}.policy", "a segment needs the name of its policy")
    sales_min, sales_max = _range(
        problems, criteria.get("annual_sales"), f"{where}.when.annual_sales", problems.amount
    )
    years_min, years_max = _range(
        problems,
        criteria.get("customer_for_years"),
        f"{where}.when.customer_for_years",
        lambda v, w: problems.integer(v, w, minimum=0),
    )
    industry = problems.strings(criteria.get("industry"), f"{where}.when.industry")
    for code in industry:
        if not code.isdigit():
            problems.add(f"{where}.when.industry", f"{code!r} is not a NAICS/SIC code prefix (digits)")
    countries = problems.strings(criteria.get("countries"), f"{where}.when.countries")
    for country in countries:
        if not re.fullmatch(r"[A-Za-z]{2}", country):
            problems.add(f"{where}.when.countries", f"{country!r} is not an ISO 3166 two-letter country code")
    if not name or not policy:
        return None
    return Segment(
        name=name,
        policy=policy,
        industry=industry,
        annual_sales_min=sales_min,
        annual_sales_max=sales_max,
        years_min=years_min,
        years_max=years_max,
        countries=frozenset(c.upper() for c in countries),
        customers=frozenset(problems.strings(criteria.get("customers"), f"{where}.when.customers")),
        collectors=tuple(dict.fromkeys(problems.strings(data.get("collectors"), f"{where}.collectors"))),
    )


def _settings(problems: _Problems, value: Any) -> PolicySettings:
    from arcollect.calendar import SendWindow, WindowError, resolve_zone

    data = problems.mapping(
        value,
        "settings",
        (
            "send_window",
            "time_zone",
            "min_days_between_emails",
            "promise_grace_days",
            "sender_name",
            "anniversary_check_in",
            "manager",
            "collector_credit_limit",
            "send_times",
            "payment_plans",
            "sms",
        ),
    )
    window = SendWindow()
    if data.get("send_window") is not None:
        if isinstance(data["send_window"], dict):
            try:
                window = SendWindow.parse(data["send_window"], "settings.send_window")
            except WindowError as error:
                problems.lines.append(str(error))
        else:
            problems.add("settings.send_window", "expected {days: [...], start: 'HH:MM', end: 'HH:MM'}")
    zone = str(data.get("time_zone") or "UTC")
    if resolve_zone(zone)[1] is not None:
        problems.add("settings.time_zone", f"{zone!r} is not an IANA time zone name (e.g. Europe/Berlin)")
    gap = problems.integer(
        data.get("min_days_between_emails", 3), "settings.min_days_between_emails", minimum=0
    )
    grace = problems.integer(data.get("promise_grace_days", 3), "settings.promise_grace_days", minimum=0)
    limit = Decimal(0)
    try:
        limit = Decimal(str(data.get("collector_credit_limit", 0)))
        if not limit.is_finite() or limit < 0:
            raise ValueError
    except (ArithmeticError, ValueError):
        problems.add(
            "settings.collector_credit_limit",
            f"expected an amount of 0 or more, found {data.get('collector_credit_limit')!r}",
        )
        limit = Decimal(0)
    check_in = data.get("anniversary_check_in", True)
    if not isinstance(check_in, bool):
        problems.add("settings.anniversary_check_in", f"expected true or false, found {check_in!r}")
    return PolicySettings(
        send_window=window,
        time_zone=zone,
        min_days_between_emails=3 if gap is None else gap,
        promise_grace_days=3 if grace is None else grace,
        sender_name=str(data.get("sender_name") or "Accounts Receivable"),
        anniversary_check_in=bool(check_in),
        manager=str(data.get("manager") or "collections-manager"),
        collector_credit_limit=limit,
        send_times=_send_times(problems, data.get("send_times")),
        payment_plans=_payment_plans(problems, data.get("payment_plans")),
        sms=_sms(problems, data.get("sms")),
    )


def _sms(problems: _Problems, value: Any) -> Any:
    """``settings.sms`` (arcollect/sms.py, ``SmsRules``): the parts, the hours, the opt-out keywords."""
    from arcollect.sms import parse_rules

    rules, found = parse_rules(value)
    for where, message in found:
        problems.add(where, message)
    return rules


def _payment_plans(problems: _Problems, value: Any) -> Any:
    """``settings.payment_plans``: ``{max_instalments, max_days, min_instalment, reminder_days_before}``."""
    from arcollect.plans import parse_limits

    limits, lines = parse_limits(value)
    problems.lines.extend(lines)
    return limits


def _send_times(problems: _Problems, value: Any) -> Any:
    """``settings.send_times``: ``{learn, window: "08:00-17:00", exploration, prior_strength}``."""
    from arcollect.send_times import SendTimes, parse_hours, slot_hours

    where = "settings.send_times"
    data = problems.mapping(value, where, ("learn", "window", "exploration", "prior_strength"))
    default = SendTimes()
    learn = data.get("learn", False)
    if not isinstance(learn, bool):
        problems.add(f"{where}.learn", f"expected true or false, found {learn!r}")
        learn = False
    start, end = default.start, default.end
    if "window" in data:
        hours = parse_hours(data["window"])
        if hours is None:
            problems.add(
                f"{where}.window",
                f'expected a same-day window such as "08:00-17:00", found {data["window"]!r}',
            )
        elif not slot_hours(*hours):
            problems.add(f"{where}.window", f"{data['window']!r} holds no whole hour to send in")
        else:
            start, end = hours
    exploration = data.get("exploration", default.exploration)
    if isinstance(exploration, bool) or not isinstance(exploration, int | float) or not 0 <= exploration < 1:
        problems.add(
            f"{where}.exploration",
            f"expected a share from 0 to below 1 (0.1: one in ten), found {exploration!r}",
        )
        exploration = default.exploration
    strength = data.get("prior_strength", default.prior_strength)
    if isinstance(strength, bool) or not isinstance(strength, int | float) or not strength > 0:
        problems.add(
            f"{where}.prior_strength", f"expected a number above 0 (reminders' worth), found {strength!r}"
        )
        strength = default.prior_strength
    return SendTimes(
        learn=learn, start=start, end=end, exploration=float(exploration), prior_strength=float(strength)
    )


def _team(problems: _Problems, value: Any) -> dict[str, Contact]:
    team: dict[str, Contact] = {}
    if value is None:
        return team
    if not isinstance(value, dict):
        problems.add("team", "expected a mapping of owner keys to {name, email}")
        return team
    for key, entry in value.items():
        data = problems.mapping(entry, f"team.{key}", ("name", "email"))
        email = data.get("email")
        if email is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", str(email)):
            problems.add(f"team.{key}.email", f"{email!r} is not an email address")
        team[str(key)] = Contact(str(key), str(data.get("name") or key), str(email) if email else None)
    return team


def _disputes(problems: _Problems, value: Any) -> DisputeRouting:
    data = problems.mapping(value, "disputes", ("sla_days", "departments"))
    sla = problems.integer(data.get("sla_days", 10), "disputes.sla_days", minimum=1)
    default_sla = 10 if sla is None else sla
    departments: list[Department] = []
    raw = data.get("departments") or {}
    if not isinstance(raw, dict):
        problems.add("disputes.departments", "expected a mapping of department names to {email, reasons}")
        raw = {}
    # A department takes disputes and deductions (a short payment's reason codes) alike.
    known = {reason.value for reason in DisputeReason} | {reason.value for reason in DeductionReason}
    claimed: dict[str, str] = {}
    for name, entry in raw.items():
        where = f"disputes.departments.{name}"
        fields = problems.mapping(entry, where, ("email", "reasons", "sla_days"))
        email = fields.get("email")
        if email is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", str(email)):
            problems.add(f"{where}.email", f"{email!r} is not an email address")
        reasons = problems.strings(fields.get("reasons"), f"{where}.reasons")
        for reason in reasons:
            if reason not in known:
                problems.add(
                    f"{where}.reasons", f"{reason!r} is not a dispute reason ({', '.join(sorted(known))})"
                )
            elif reason in claimed:
                problems.add(f"{where}.reasons", f"{reason!r} is routed to {claimed[reason]} already")
            else:
                claimed[reason] = str(name)
        days = problems.integer(fields.get("sla_days", default_sla), f"{where}.sla_days", minimum=1)
        departments.append(
            Department(
                str(name), str(email) if email else None, reasons, default_sla if days is None else days
            )
        )
    return DisputeRouting(sla_days=default_sla, departments=tuple(departments))


def _freshness(problems: _Problems, value: Any, settings: PolicySettings) -> Freshness:
    from arcollect.calendar import Calendar, resolve_zone

    data = problems.mapping(
        value,
        "freshness",
        (
            "invoices_max_age_business_days",
            "payments_max_age_business_days",
            "payments_feed",
            "country",
            "time_zone",
        ),
    )

    def age(key: str) -> int:
        found = problems.integer(data.get(key, 2), f"freshness.{key}", minimum=0)
        return 2 if found is None else found

    feed = problems.choice(
        data.get("payments_feed"), "freshness.payments_feed", PaymentsFeed, PaymentsFeed.SEPARATE
    )
    country = data.get("country")
    if country is not None:
        country = str(country).strip().upper()
        # A country without a holiday calendar would count its holidays as business days, unnoticed.
        if not re.fullmatch(r"[A-Z]{2}", country) or not Calendar().knows(country):
            problems.add("freshness.country", f"{data['country']!r} is not a country with a holiday calendar")
    zone = str(data.get("time_zone") or settings.time_zone)
    if resolve_zone(zone)[1] is not None:
        problems.add("freshness.time_zone", f"{zone!r} is not an IANA time zone name (e.g. Europe/Berlin)")
    return Freshness(
        invoices_max_age_business_days=age("invoices_max_age_business_days"),
        payments_max_age_business_days=age("payments_max_age_business_days"),
        payments_feed=feed,
        country=country or None,
        time_zone=zone,
    )


_TEST_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def _challenger(
    problems: _Problems, value: Any, policies: Mapping[str, Policy], segments: Iterable[Segment]
) -> Challenger | None:
    """``challenger: {name, policy, replaces, share}``: every mistake named with its key."""
    if value is None:
        return None
    data = problems.mapping(value, "challenger", ("name", "policy", "replaces", "share"))
    if not data:
        return None
    name = str(data.get("name") or "").strip()
    if not _TEST_NAME.fullmatch(name):
        problems.add("challenger.name", "a name for the test is required: letters, digits, '.', '_', '-'")
    names = {}
    for key in ("policy", "replaces"):
        names[key] = str(data.get(key) or "").strip()
        if names[key] not in policies:
            problems.add(
                f"challenger.{key}",
                f"no policy named {names[key]!r}; defined: {', '.join(policies) or 'none'}",
            )
    if names["policy"] and names["policy"] == names["replaces"]:
        problems.add("challenger.policy", "the challenger must be another policy than the one it replaces")
    if names["replaces"] in policies and not any(s.policy == names["replaces"] for s in segments):
        problems.add(
            "challenger.replaces", f"no segment uses {names['replaces']!r}: nobody would be in the test"
        )
    raw = str(data.get("share", "")).strip().removesuffix("%").strip()
    try:
        share = Decimal(raw)
    except InvalidOperation:
        share = Decimal(-1)
    if isinstance(data.get("share"), bool) or not share.is_finite() or not 0 < share <= MAX_CHALLENGER_SHARE:
        problems.add(
            "challenger.share",
            f"the percent of the customers in the test, above 0 and at most {MAX_CHALLENGER_SHARE}; "
            f"found {data.get('share')!r}",
        )
        return None
    return Challenger(name, names["policy"], names["replaces"], share)


def parse_policy(text: str, *, source: str) -> PolicySet:
    """Read and validate a policy file; PolicyError lists every problem with the key that holds it."""
    try:
        document = yamldoc.safe_load(text)
    except ValueError as error:
        # YamlError, or a value YAML reads as a date that is none (2024-13-01).
        raise PolicyError(f"{source}: not valid YAML: {error}") from error
    problems = _Problems()
    data = problems.mapping(
        document,
        "(top level)",
        (
            "version",
            "settings",
            "team",
            "segments",
            "policies",
            "disputes",
            "freshness",
            "challenger",
            "late_charges",
        ),
    )
    if not data and not problems.lines:
        problems.add("(top level)", "the file is empty")
    if data.get("version", 1) != 1:
        problems.add("version", f"version {data.get('version')!r} is not supported; this arcollect reads 1")
    settings = _settings(problems, data.get("settings"))
    team = _team(problems, data.get("team"))
    disputes = _disputes(problems, data.get("disputes"))
    freshness = _freshness(problems, data.get("freshness"), settings)
    policies_data = data.get("policies")
    if not isinstance(policies_data, dict) or not policies_data:
        problems.add("policies", "at least one policy is required")
        policies_data = {}
    policies = {
        str(name): _policy(problems, str(name), value, f"policies.{name}")
        for name, value in policies_data.items()
    }
    segments_data = data.get("segments")
    if not isinstance(segments_data, list) or not segments_data:
        problems.add(
            "segments", "a list of segments is required; the last one without `when` catches everyone"
        )
        segments_data = []
    segments = [_segment(problems, raw, f"segments[{index}]") for index, raw in enumerate(segments_data)]
    for index, segment in enumerate(segments):
        if segment is not None and segment.policy not in policies:
            problems.add(
                f"segments[{index}].policy",
                f"no policy named {segment.policy!r}; defined: {', '.join(policies) or 'none'}",
            )
    valid_segments = tuple(s for s in segments if s is not None)
    if valid_segments and valid_segments[-1]._has_criteria():
        problems.add(
            f"segments[{len(segments) - 1}]",
            "the last segment must have no `when`, so every customer gets a policy",
        )
    challenger = _challenger(problems, data.get("challenger"), policies, valid_segments)
    customer_late_charges = _customer_late_charges(problems, data.get("late_charges"))
    for name, policy in policies.items():
        templates = [step.template for step in policy.steps if step.template]
        for line in template_problems(templates):
            problems.add(f"policies.{name}", line)
    if problems.lines:
        raise PolicyError(f"{source} is not a valid dunning policy:\n  " + "\n  ".join(problems.lines))
    return PolicySet(
        settings=settings,
        segments=valid_segments,
        policies=policies,
        team=team,
        source=source,
        disputes=disputes,
        freshness=freshness,
        revision=hashlib.sha256(text.encode()).hexdigest()[:12],
        challenger=challenger,
        customer_late_charges=customer_late_charges,
    )


@cache
def shipped_policy() -> PolicySet:
    """The policy in the repository (and the layer); parsed once per process."""
    return parse_policy(SHIPPED_POLICY.read_text(encoding="utf-8"), source=str(SHIPPED_POLICY.name))


class PolicySource(Protocol):
    def read_text(self, bucket: str, key: str) -> str | None: ...


@lru_cache(maxsize=4)
def _uploaded(text: str, source: str) -> PolicySet:
    return parse_policy(text, source=source)


def load_policies(objects: PolicySource, bucket: str | None) -> PolicySet:
    """The policy in force: the one uploaded to the drop bucket (``config/dunning-policy.yaml``) if
    there is one, else the shipped one. A broken upload raises PolicyError: sending under a policy
    nobody meant is worse than a delayed reminder, and the error (and its alarm) says what to fix."""
    text = objects.read_text(bucket, DropPrefix.DUNNING_POLICY) if bucket else None
    if text is None:
        return shipped_policy()
    return _uploaded(text, f"s3://{bucket}/{DropPrefix.DUNNING_POLICY}")


def validate_shipped_policy() -> None:
    """What ``cdk synth`` calls: a broken shipped policy stops the deployment, with every problem named."""
    shipped_policy.cache_clear()
    shipped_policy()


def promoted(text: str, *, source: str, note: str) -> tuple[str, PolicySet]:
    """The policy file with its challenger promoted: every segment that used the replaced policy uses the
    challenger, and the ``challenger`` section is gone. The file is edited as text, so its comments and
    layout stay; ``note`` (who and when) becomes a comment at its top. The result is parsed again and
    checked to be exactly that change: anything else (an unusual layout) is refused, not guessed."""
    before = parse_policy(text, source=source)
    test = before.challenger
    if test is None:
        raise PolicyError(f"{source} has no challenger section: there is no test to promote")
    lines = text.splitlines(keepends=True)
    kept: list[str] = []
    in_challenger = in_segments = False
    uses = re.compile(rf"(\bpolicy\s*:\s*)(['\"]?){re.escape(test.replaces)}\2(?=\s*(?:[,}}#]|$))")
    for line in lines:
        top_level = bool(line[:1].strip()) and not line.startswith("#")
        if top_level:
            in_challenger = line.startswith("challenger:")
            in_segments = line.startswith("segments:")
        if in_challenger:
            continue
        if in_segments:
            line = uses.sub(lambda m: f"{m.group(1)}{m.group(2)}{test.policy}{m.group(2)}", line)
        kept.append(line)
    result = "".join(f"# {part}\n" for part in note.splitlines()) + "".join(kept)
    after = parse_policy(result, source=source)
    expected = tuple(
        replace(segment, policy=test.policy) if segment.policy == test.replaces else segment
        for segment in before.segments
    )
    if (
        after.challenger is not None
        or after.segments != expected
        or dict(after.policies) != dict(before.policies)
    ):
        raise PolicyError(
            f"{source}: the challenger could not be promoted by editing the file safely (an unusual "
            f"layout); point the segments that use {test.replaces!r} at {test.policy!r} and delete the "
            "challenger section by hand, then upload it"
        )
    return result, after
