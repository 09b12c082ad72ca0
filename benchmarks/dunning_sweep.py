"""Dunning sweep: items read per run against actionable items (100k invoices, ~1k due), and the
engine's evaluation throughput.

A portfolio of 100,000 open invoices over 5,000 customers is loaded into moto, each invoice in the
state a steady-state sweep leaves it: the policy steps that fell due before "today" taken, its next
look at its next step, a copy of its customer's profile beside it (what the engine keeps there, so a
sweep needs no profile read while the profile is unchanged). Three hourly ticks are measured, each
finding 1,000 invoices due:

- ``clustered``: the due invoices come from customers' billing runs (1-5 invoices issued the same
  day, so their steps fall due together), as ERPs invoice;
- ``scattered``: each due invoice belongs to a different customer (the worst case for the reads);
- ``scattered_without_copies_baseline``: the same, as ingest leaves invoices (no profile copy yet), so
  each customer's profile is read: the cost the copies save.

Items read counts every item DynamoDB reads for the sweep (index query items, customer profiles, the
credits of customers about to be asked for money: every tenth customer has a credit note; a query's
ScannedCount, so a filter hides nothing) and is compared with the due invoices; the table is never
scanned, so the other 99,000 invoices cost nothing. Target <= 1.5x. The evaluation throughput is the
pure engine over the whole portfolio (every invoice of every customer), without I/O.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from benchmarks.report import bench

CUSTOMERS = 5_000
INVOICES = 100_000
DUE = 1_000
TODAY = date(2026, 11, 23)  # a Monday
CLUSTERED_TICK = datetime(2026, 11, 23, 8, tzinfo=UTC)  # 09:00 in Berlin
SCATTERED_TICK = datetime(2026, 11, 23, 9, tzinfo=UTC)
# The baseline: 1,000 more scattered invoices as ingest leaves them, without the engine's profile copy
# (the first sweep after a load reads each customer's profile).
COLD_TICK = datetime(2026, 11, 23, 10, tzinfo=UTC)
COLD_CUSTOMERS = range(1_000, 2_000)


@contextmanager
def items_read() -> Iterator[Counter[str]]:
    """Count the items DynamoDB reads per operation while the block runs (a query's ScannedCount)."""
    from pynamodb.connection.base import Connection

    counts: Counter[str] = Counter()
    original = Connection.dispatch

    def dispatch(self: Connection, operation_name: str, operation_kwargs: dict[str, Any]) -> Any:
        response = original(self, operation_name, operation_kwargs)
        if operation_name in ("Query", "Scan"):
            # What DynamoDB reads (and bills), not what a filter lets through.
            counts[operation_name] += int(response.get("ScannedCount", response.get("Count", 0)))
        elif operation_name == "BatchGetItem":
            counts[operation_name] += sum(len(items) for items in response.get("Responses", {}).values())
        elif operation_name == "GetItem":
            counts[operation_name] += 1 if response.get("Item") else 0
        return response

    Connection.dispatch = dispatch  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        Connection.dispatch = original  # type: ignore[method-assign]


def _portfolio(rng: random.Random) -> tuple[list[Any], list[Any]]:
    """Customers and invoices in steady state; 1,000 due at each measured tick."""
    from arcollect.calendar import Calendar, resolve_zone
    from arcollect.entities import Customer, DocumentType, Invoice
    from arcollect.policy import shipped_policy

    policy = shipped_policy().policies["standard"]
    calendar = Calendar()
    zone, _ = resolve_zone("Europe/Berlin")
    customers = [
        Customer(
            f"C-{n:05}",
            f"Customer {n}",
            f"ap{n}@example.com",
            country="DE",
            time_zone="Europe/Berlin",
            owner="dana@seller.example",
        )
        for n in range(CUSTOMERS)
    ]
    invoices: list[Invoice] = []

    def steady(invoice: Invoice, due_today: bool) -> Invoice:
        occurrences = policy.occurrences(invoice)
        if due_today:
            done = tuple(o.step_id for o in occurrences if o.due_on < TODAY)
            return replace(invoice, steps_done=done)
        done = tuple(o.step_id for o in occurrences if o.due_on <= TODAY)
        upcoming = [o for o in occurrences if o.due_on > TODAY]
        at = calendar.day_start(upcoming[0].due_on, zone) if upcoming else None
        return replace(invoice, steps_done=done, next_action_at=at)

    def invoice(customer: int, number: int, issued: date, due_today_at: datetime | None) -> Invoice:
        base = Invoice(
            f"C-{customer:05}",
            f"INV-{number:06}",
            "EUR",
            Decimal("1250.00"),
            Decimal("1250.00"),
            issued,
            issued + timedelta(days=30),
        )
        state = steady(base, due_today_at is not None)
        return replace(state, next_action_at=due_today_at) if due_today_at else state

    number = 0
    # Clustered: billing runs whose `first_call` (7 days late) falls due today, 1-5 invoices a run.
    issued_for_call = TODAY - timedelta(days=37)
    customer = 0
    while number < DUE:
        for _ in range(min(rng.randint(1, 5), DUE - number)):
            invoices.append(invoice(customer, number, issued_for_call, CLUSTERED_TICK - timedelta(hours=8)))
            number += 1
        customer += 1
    # Scattered: one invoice each of 1,000 other customers, its `reminder` email due today.
    issued_for_reminder = TODAY - timedelta(days=44)
    for offset in range(DUE):
        due_at = SCATTERED_TICK - timedelta(minutes=30)
        invoices.append(invoice(CUSTOMERS - 1 - offset, number, issued_for_reminder, due_at))
        number += 1
    for offset in COLD_CUSTOMERS:
        invoices.append(invoice(offset, number, issued_for_reminder, COLD_TICK - timedelta(minutes=30)))
        number += 1
    # The rest: open invoices whose next step is on another day.
    while number < INVOICES:
        issued = TODAY - timedelta(days=rng.randint(0, 200))
        candidate = invoice(rng.randrange(CUSTOMERS), number, issued, None)
        if candidate.next_action_at is not None and candidate.next_action_at.date() <= TODAY:
            continue  # would be due at the measured ticks: not part of the "other 99,000"
        invoices.append(candidate)
        number += 1
    # Credits: every tenth customer has an open credit note, which its reminders deduct (the sweep
    # reads a customer's credits, from the credits index, when it is about to ask for money).
    for n in range(0, CUSTOMERS, 10):
        issued = TODAY - timedelta(days=rng.randint(5, 60))
        invoices.append(
            Invoice(
                f"C-{n:05}",
                f"CN-{n:06}",
                "EUR",
                Decimal("100.00"),
                Decimal("100.00"),
                issued,
                issued,
                document_type=DocumentType.CREDIT_NOTE.value,
            )
        )
    return customers, invoices


def _evaluation_throughput(customers: list[Any], invoices: list[Any]) -> float:
    from arcollect.calendar import Calendar
    from arcollect.dunning.engine import evaluate
    from arcollect.policy import _occurrences, shipped_policy

    by_customer: dict[str, list[Any]] = {}
    for invoice in invoices:
        by_customer.setdefault(invoice.customer_id, []).append(invoice)
    profiles = {c.customer_id: c for c in customers}
    policies, calendar = shipped_policy(), Calendar()
    _occurrences.cache_clear()  # building the portfolio warmed it: measure from cold
    started = time.perf_counter()
    for customer_id, own in by_customer.items():
        evaluate(
            customer_id=customer_id,
            customer=profiles[customer_id],
            invoices=own,
            now=CLUSTERED_TICK,
            policies=policies,
            calendar=calendar,
        )
    return len(invoices) / (time.perf_counter() - started)


def run() -> None:
    os.environ.update(
        {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    import boto3
    from moto import mock_aws

    from arcollect.calendar import Calendar
    from arcollect.dunning.delivery import Pacer, Services
    from arcollect.dunning.sweep import run_sweep
    from arcollect.policy import shipped_policy
    from arcollect.store.dunning import DunningStore, snapshot_of
    from arcollect.store.invoices import invoice_item
    from arcollect.store.mail import SesMailer
    from arcollect.store.models import TableItem, bind_table
    from arcollect.store.repositories import Accounts, SweepRuns
    from arcollect_cli.local.emulator import patch_moto

    # The local stack's emulator changes (tested to keep moto's answers) keep a 100k-item table fast.
    patch_moto()
    rng = random.Random(23)
    customers, invoices = _portfolio(rng)
    bench(
        "dunning_evaluation_throughput",
        _evaluation_throughput(customers, invoices),
        "invoices/s",
        # A first sweep after loading the whole portfolio evaluates every invoice: 100k in under a minute.
        ">=2000",
    )
    with mock_aws():
        bind_table("bench-dunning")
        TableItem.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
        boto3.client("ses").verify_email_identity(EmailAddress="collections@example.com")
        accounts = Accounts()
        accounts.add_customers(customers)
        # In steady state every indexed invoice carries the copy of its customer's profile the engine
        # kept when it last scheduled it: load them that way.
        profiles = {c.customer_id: snapshot_of(c) for c in customers}
        with TableItem.batch_write() as batch:
            for invoice in invoices:
                item = invoice_item(invoice)
                if invoice.next_action_at != COLD_TICK - timedelta(minutes=30):
                    item.customer_snapshot = profiles[invoice.customer_id]
                batch.save(item)
        services = Services(
            store=DunningStore(),
            mailer=SesMailer(configuration_set="bench"),
            policies=shipped_policy(),
            calendar=Calendar(),
            sender="collections@example.com",
            link_for=lambda customer_id, _now: f"https://portal.example.com/l/{customer_id}",
            pacer=Pacer(1_000_000),
        )
        for name, now in (
            ("clustered", CLUSTERED_TICK),
            ("scattered", SCATTERED_TICK),
            ("scattered_without_copies_baseline", COLD_TICK),
        ):
            with items_read() as counts:
                started = time.perf_counter()
                result = run_sweep(
                    now=now, store=DunningStore(), runs=SweepRuns(), services=services, queue=None
                )
                elapsed = time.perf_counter() - started
            read = sum(counts.values())
            assert "Scan" not in counts, counts
            due = result.due_items
            target = "info (the first sweep after a load)" if "baseline" in name else "<=1.5"
            bench(f"dunning_items_read_per_actionable_{name}", read / due, "x", target)
            bench(f"dunning_due_items_{name}", due, "items", f"~{DUE}")
            bench(
                f"dunning_sweep_customers_per_s_{name}",
                result.customers / elapsed,
                "customers/s",
                "(moto in-process; informational)",
            )
