"""A simulated portfolio for dunning scenarios: customers and invoices in moto's DynamoDB, reminders
through moto's SES, ticks at explicit times, and faults injected at every step boundary."""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from arcollect.calendar import Calendar
from arcollect.cash import first_look_at
from arcollect.clock import parse_instant
from arcollect.dunning.delivery import Pacer, RunReport, Services
from arcollect.dunning.emails import HEADER_CUSTOMER, HEADER_INVOICES, HEADER_STEP, HEADER_TOUCH
from arcollect.dunning.sweep import SweepResult, run_sweep
from arcollect.entities import Activity, Customer, Invoice, Task
from arcollect.policy import PolicySet, shipped_policy
from arcollect.store.dunning import DunningStore
from arcollect.store.mail import SesMailer
from arcollect.store.models import TableItem
from arcollect.store.repositories import Activities, Customers, Invoices, SweepRuns, Tasks
from arcollect.store.touch_ledger import TouchLedger
from arcollect.store.workspace import WorkspaceStore
from arcollect_cli.target import Target
from tests.integration.conftest import invoke, load_event


class Crash(BaseException):
    """The process dies here (a timeout, an out-of-memory kill): no ``except Exception`` catches it."""


@dataclass
class Sent:
    customer_id: str
    step: str
    invoices: list[str]
    to: list[str]
    subject: str
    touch: str
    message: EmailMessage

    @property
    def at(self) -> datetime:
        """When it was sent (the sweep's tick: the ``Date`` header comes from it)."""
        return parsedate_to_datetime(str(self.message["Date"]))


def sent_emails() -> list[Sent]:
    """Every email moto's SES accepted, oldest first."""
    backend = ses_backends[DEFAULT_ACCOUNT_ID][os.environ["AWS_DEFAULT_REGION"]]
    emails = []
    for raw in backend.sent_messages:
        message = message_from_bytes(raw.raw_data.encode(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        emails.append(
            Sent(
                customer_id=str(message[HEADER_CUSTOMER]),
                step=str(message[HEADER_STEP]),
                invoices=[n.strip() for n in str(message[HEADER_INVOICES]).split(",") if n.strip()],
                to=[a.strip() for a in str(message["To"]).split(",")],
                # (a folded header unfolds with the blank that began its continuation line)
                subject=str(message["Subject"]).strip(),
                touch=str(message[HEADER_TOUCH]),
                message=message,
            )
        )
    return emails


@dataclass
class Faults:
    """Which boundary crashes, and how often (``times`` crashes, then it works)."""

    at: str | None = None
    times: int = 1
    # At most one crash per tick, and the tick after a crash runs clean: a crash and its retry, not an
    # outage (consecutive crashed ticks would use up whole send windows and move every first look by
    # days, which changes what the policy does rather than testing the boundary).
    spaced: bool = False
    _crashed_this_tick: bool = field(default=False, init=False)
    _quiet_tick: bool = field(default=False, init=False)

    def new_tick(self) -> None:
        self._quiet_tick = self.spaced and self._crashed_this_tick
        self._crashed_this_tick = False

    def maybe(self, boundary: str) -> None:
        if self.at != boundary or self.times <= 0:
            return
        if self.spaced and (self._quiet_tick or self._crashed_this_tick):
            return
        self.times -= 1
        self._crashed_this_tick = True
        raise Crash(boundary)


class FaultyLedger(TouchLedger):
    """The real ledger of touches, with a crash injected before or after any write the delivery makes."""

    def __init__(self, faults: Faults) -> None:
        super().__init__()
        self.faults = faults

    def reserve_email(self, *args: Any, **kwargs: Any) -> Any:
        self.faults.maybe("before_reserve")
        result = super().reserve_email(*args, **kwargs)
        self.faults.maybe("after_reserve")
        return result

    def complete_email(self, *args: Any, **kwargs: Any) -> None:
        self.faults.maybe("before_complete")
        super().complete_email(*args, **kwargs)
        self.faults.maybe("after_complete")

    def create_task(self, *args: Any, **kwargs: Any) -> Any:
        self.faults.maybe("before_task")
        result = super().create_task(*args, **kwargs)
        self.faults.maybe("after_task")
        return result


class FaultyStore(DunningStore):
    """The real store, holding the faulty ledger, and a crash injected before a reschedule."""

    def __init__(self, faults: Faults, touches: TouchLedger | None = None) -> None:
        super().__init__(touches=touches or FaultyLedger(faults))
        self.faults = faults

    def reschedule(self, *args: Any, **kwargs: Any) -> bool:
        self.faults.maybe("before_reschedule")
        return super().reschedule(*args, **kwargs)


class FaultyMailer(SesMailer):
    def __init__(self, faults: Faults) -> None:
        super().__init__(configuration_set=os.environ["SES_CONFIGURATION_SET"])
        self.faults = faults

    def send(self, **kwargs: Any) -> str:
        self.faults.maybe("before_send")
        message_id = super().send(**kwargs)
        self.faults.maybe("after_send")
        return message_id


@dataclass
class World:
    """A portfolio and a clock; ``tick`` runs the hourly sweep at an explicit time."""

    policies: PolicySet = field(default_factory=shipped_policy)
    faults: Faults = field(default_factory=Faults)
    calendar: Calendar = field(default_factory=Calendar)
    # Tick through the dunning function's handler (an EventBridge Scheduler event, its own store, mailer
    # and the policy in the drop bucket: the shipped one unless a test uploads another) instead of the
    # sweep with this world's store, faults and policies.
    through_handler: bool = False
    # When the ticks really run (None: at their scheduled time).
    clock: Callable[[], datetime] | None = None
    # The tick running now (what an SES event arriving "meanwhile" is timed by).
    current_tick: datetime | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.store = FaultyStore(self.faults)
        # The workspace's store, sharing the sweep's promise book.
        self.workspace = WorkspaceStore(promises=self.store.promise_book)
        self.mailer = FaultyMailer(self.faults)

    def services(self, at: datetime | None = None) -> Services:
        # The wall clock of the simulation: the tick's own time (a test may set ``clock`` to say a tick
        # ran at another moment than it was scheduled for).
        clock = self.clock or (lambda: at or datetime.now(UTC))
        return Services(
            clock=clock,
            store=self.store,
            mailer=self.mailer,
            policies=self.policies,
            calendar=self.calendar,
            sender=os.environ["SENDER_EMAIL"],
            link_for=lambda customer_id, _now: f"https://portal.example.com/l/{customer_id}",
            pacer=Pacer(1_000_000),
            promises=self.workspace.promises,
        )

    # --- the portfolio -----------------------------------------------------------------------------

    def customer(self, customer_id: str = "C-1", **changes: Any) -> Customer:
        customer = Customer(
            customer_id=customer_id,
            name=changes.pop("name", f"Customer {customer_id}"),
            email=changes.pop("email", f"ap@{customer_id.lower()}.example"),
            country=changes.pop("country", "DE"),
            time_zone=changes.pop("time_zone", "Europe/Berlin"),
            language=changes.pop("language", "en"),
            owner=changes.pop("owner", "dana@seller.example"),
            **changes,
        )
        Customers().save(customer)
        return customer

    def invoice(
        self,
        number: str,
        *,
        customer_id: str = "C-1",
        invoice_date: date,
        due_date: date,
        amount: str = "1000.00",
        **changes: Any,
    ) -> Invoice:
        invoice = Invoice(
            customer_id=customer_id,
            invoice_number=number,
            currency=changes.pop("currency", "EUR"),
            amount=Decimal(amount),
            open_amount=Decimal(changes.pop("open_amount", amount)),
            invoice_date=invoice_date,
            due_date=due_date,
            **changes,
        )
        invoice = replace(invoice, next_action_at=first_look_at(invoice) if invoice.is_open else None)
        Invoices().save(invoice)
        return invoice

    def get(self, number: str, customer_id: str = "C-1") -> Invoice:
        invoice = Invoices().get(customer_id, number)
        assert invoice is not None
        return invoice

    def change(self, number: str, customer_id: str = "C-1", **changes: Any) -> None:
        """Change an invoice the way ingest or the portal would (dunning state kept)."""
        Invoices().save(replace(self.get(number, customer_id), **changes))

    def change_customer(self, customer_id: str = "C-1", **changes: Any) -> None:
        customer = Customers().get(customer_id)
        assert customer is not None
        Customers().save(replace(customer, **changes))

    # --- time ----------------------------------------------------------------------------------------

    def tick(self, at: datetime) -> SweepResult:
        self.current_tick = at
        self.faults.new_tick()
        if self.through_handler:
            outcome = invoke("dunning", dict(load_event("scheduler_tick.json"), time=at.isoformat()))
            return SweepResult(
                now=at,
                due_items=int(outcome.get("due_items", 0)),
                duplicate=bool(outcome.get("duplicate")),
                customers=int(outcome.get("customers", 0)),
                report=RunReport(
                    customers=int(outcome.get("customers", 0)),
                    emails_sent=int(outcome.get("emails_sent", 0)),
                    invoices_emailed=int(outcome.get("invoices_emailed", 0)),
                    tasks_created=int(outcome.get("tasks_created", 0)),
                    in_doubt=int(outcome.get("in_doubt", 0)),
                    failed_customers=int(outcome.get("failed_customers", 0)),
                    outcomes=Counter(outcome.get("outcomes") or {}),
                ),
                held=outcome.get("held"),
            )
        return run_sweep(now=at, store=self.store, runs=SweepRuns(), services=self.services(at), queue=None)

    def run(self, start: datetime, end: datetime) -> list[SweepResult]:
        """The hourly schedule from ``start`` up to (not including) ``end``; a crash ends its tick, not
        the run. Ticks that would find nothing due are skipped: a tick at hour H works exactly the items
        due at or before H, so jumping to the first hour at or after the next due item is the same run,
        only faster (``run_every_hour`` really ticks every hour)."""
        results = []
        at = _ceil_hour(start)
        while at < end:
            with contextlib.suppress(Crash):
                results.append(self.tick(at))
            upcoming = next_due()
            if upcoming is None:
                break
            at = max(at + timedelta(hours=1), _ceil_hour(upcoming))
        return results

    def run_every_hour(self, start: datetime, end: datetime) -> list[SweepResult]:
        results = []
        for at in hours(start, end):
            try:
                results.append(self.tick(at))
            except Crash:
                continue
        return results

    # --- what happened ------------------------------------------------------------------------------

    def emails(self, customer_id: str | None = None) -> list[Sent]:
        return [e for e in sent_emails() if customer_id is None or e.customer_id == customer_id]

    def tasks(self, customer_id: str = "C-1") -> list[Task]:
        return Tasks().for_customer(customer_id)

    def timeline(self, customer_id: str = "C-1") -> list[Activity]:
        return Activities().timeline(customer_id)

    def log(self, customer_id: str = "C-1") -> list[str]:
        """Everything dunning did for a customer, oldest first, one line each:
        ``"<UTC time> email <step> <invoices>"`` (the time is the send time) or
        ``"<UTC time> <task kind> <step>"`` (the time the task was created)."""
        lines = [(e.at, f"email {e.step} {','.join(e.invoices)}") for e in self.emails(customer_id)]
        lines += [
            (t.created_at, f"{t.kind} {t.detail.get('step', '')}".rstrip()) for t in self.tasks(customer_id)
        ]
        return [
            f"{at.astimezone(UTC):%Y-%m-%d %H:%M} {what}" for at, what in sorted(lines, key=lambda x: x[0])
        ]


def next_due() -> datetime | None:
    """The earliest next look in the sweep's index (a test-only scan)."""
    found = [item.next_action_at for item in TableItem.scan(TableItem.next_action_at.exists())]
    return min((parse_instant(str(at)) for at in found), default=None)


def _ceil_hour(at: datetime) -> datetime:
    floor = at.replace(minute=0, second=0, microsecond=0)
    return floor if floor == at else floor + timedelta(hours=1)


def hours(start: datetime, end: datetime, every: timedelta = timedelta(hours=1)) -> Iterator[datetime]:
    at = start
    while at < end:
        yield at
        at += every


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def steps(emails: list[Sent]) -> list[str]:
    return [e.step for e in emails]


Check = Callable[[World], None]

__all__ = ["Crash", "Faults", "Sent", "World", "boto3", "hours", "sent_emails", "steps", "utc"]


def through_the_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    """`arcollect dunning preview` (any CLI command that invokes the dunning function) invokes the dunning
    function of this test's account, in process."""

    def resolve(cls: type[Target], stack: str | None, root: Path) -> Target:
        return Target(outputs={}, local=True)

    def through_the_function(self: Target, function_output: str, event: dict[str, Any]) -> Any:
        return invoke("dunning", event)

    monkeypatch.setattr(Target, "resolve", classmethod(resolve))
    monkeypatch.setattr(Target, "invoke", through_the_function)
