"""How collections work, over the report's window (as_of - window_days, as_of]: promises, disputes,
touches, emails, collector productivity and which policy steps get invoices paid.

=========================  ==========================================================================
figure                     definition
=========================  ==========================================================================
promise_kept_rate          promises settled in the window: kept / (kept + broken)
disputes_opened            disputes created in the window
disputes_resolved          disputes resolved (valid or with credit) in the window
dispute_average_age_days   mean days from opened to resolved, of those resolved in the window
touches_per_customer       dunning touches (emails and tasks of policy steps, per invoice) in the
                           window / customers touched
touches_per_invoice        the same touches / invoices touched
emails_delivered/bounced   SES delivery / bounce events recorded in the window
collector_productivity     per assignee: tasks completed in the window, per day of the window, and
                           accounts (customers with a task of theirs open or completed in it)
step_effectiveness         per policy step (repeats counted as the step): invoices touched by it in
                           the window, how many were paid in full within 7 days of the touch, share
=========================  ==========================================================================
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from arcollect.entities import Invoice, Payment
from arcollect.store.reports import ReportData

PAID_WITHIN_DAYS = 7


def _ratio(
    numerator: float | int | Decimal, denominator: float | int | Decimal, places: str = "0.01"
) -> str | None:
    if not denominator:
        return None
    return str((Decimal(numerator) / Decimal(denominator)).quantize(Decimal(places)))


def paid_dates(
    invoices: Iterable[Invoice], payments: Iterable[Payment], as_of: date | None = None
) -> dict[tuple[str, str], date]:
    """The day each fully paid invoice was paid: when its applied payments reached its amount, else the
    ERP's paid date once nothing is left open (``Invoice.paid_in_full_on``). With ``as_of``, as known
    that day: a payment or paid date after it does not count, so a report as of a day says the same
    whenever it is run."""
    applied: dict[tuple[str, str], list[tuple[date, str, Decimal]]] = defaultdict(list)
    for payment in payments:
        if as_of is not None and payment.payment_date > as_of:
            continue
        for application in payment.applications:  # a payment of several invoices: each its part
            applied[(payment.customer_id, application.invoice_number)].append(
                (payment.payment_date, payment.payment_id, application.amount)
            )
    found: dict[tuple[str, str], date] = {}
    for invoice in invoices:
        key = (invoice.customer_id, invoice.invoice_number)
        total = Decimal(0)
        for paid_on, _, amount in sorted(applied.get(key, ())):
            total += amount
            if total >= invoice.amount > 0:
                found[key] = paid_on
                break
        else:
            paid = invoice.paid_in_full_on
            if paid is not None and (as_of is None or paid <= as_of):
                found[key] = paid
    return found


def activity_figures(data: ReportData, *, as_of: date, window_days: int) -> dict[str, Any]:
    start = as_of - timedelta(days=window_days)

    def within(at: datetime | date | None) -> bool:
        if at is None:
            return False
        day = at.date() if isinstance(at, datetime) else at
        return start < day <= as_of

    settled = [p for p in data.promises if within(p.settled_at) and p.status in ("kept", "broken")]
    kept = sum(1 for p in settled if p.status == "kept")
    opened = [d for d in data.disputes if within(d.created_at)]
    resolved = [d for d in data.disputes if d.resolved_at is not None and within(d.resolved_at)]
    ages = [(d.resolved_at - d.created_at).total_seconds() / 86400 for d in resolved if d.resolved_at]
    touches = [t for t in data.touches if within(t.at)]
    events = [a for a in data.activities if within(a.at)]
    return {
        "promise_kept_rate": _ratio(kept, len(settled)),
        "promises_kept": kept,
        "promises_broken": len(settled) - kept,
        "disputes_opened": len(opened),
        "disputes_resolved": len(resolved),
        "dispute_average_age_days": _ratio(sum(ages), len(ages), "0.1") if ages else None,
        "touches": len(touches),
        "touches_per_customer": _ratio(len(touches), len({t.customer_id for t in touches})),
        "touches_per_invoice": _ratio(
            len(touches), len({(t.customer_id, t.invoice_number) for t in touches})
        ),
        "emails_delivered": sum(1 for a in events if a.kind == "email_delivery"),
        "emails_bounced": sum(1 for a in events if a.kind == "email_bounce"),
        "collector_productivity": _productivity(data, within, window_days),
        "step_effectiveness": _steps(data, touches, as_of),
    }


def _productivity(data: ReportData, within: Any, window_days: int) -> dict[str, dict[str, Any]]:
    completed: dict[str, int] = defaultdict(int)
    accounts: dict[str, set[str]] = defaultdict(set)
    for task in data.tasks:
        who = task.assignee or "unassigned"
        done = task.status != "open" and within(task.closed_at)
        if done:
            completed[who] += 1
        if done or task.status == "open":
            accounts[who].add(task.customer_id)
    return {
        who: {
            "tasks_completed": completed.get(who, 0),
            "tasks_per_day": _ratio(completed.get(who, 0), window_days),
            "accounts": len(accounts[who]),
        }
        for who in sorted(set(completed) | set(accounts))
    }


def _steps(data: ReportData, touches: list[Any], as_of: date) -> dict[str, dict[str, Any]]:
    paid = paid_dates(data.invoices, data.payments, as_of)
    first: dict[tuple[str, str, str], date] = {}
    for touch in touches:
        step = touch.step.split("#", 1)[0]
        key = (step, touch.customer_id, touch.invoice_number)
        day = touch.at.date()
        first[key] = min(first.get(key, day), day)
    counts: Mapping[str, list[int]] = defaultdict(lambda: [0, 0])
    for (step, customer_id, number), day in first.items():
        line = counts[step]
        line[0] += 1
        paid_on = paid.get((customer_id, number))
        if paid_on is not None and day <= paid_on <= day + timedelta(days=PAID_WITHIN_DAYS):
            line[1] += 1
    return {
        step: {"invoices": n, "paid_within_7_days": won, "share": _ratio(won, n)}
        for step, (n, won) in sorted(counts.items())
    }
