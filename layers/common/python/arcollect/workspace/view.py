"""The customer 360: one read of the customer's partition turned into everything a collector needs.

The timeline merges what was recorded as it happened (emails and what SES said of them, portal visits
and actions, calls, notes, disputes, promises) with what the items themselves date (invoices issued and
settled, payments received, tasks created and done), newest first.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from arcollect.aging import AGING_BUCKETS, aging_bucket
from arcollect.disputes import age_days, sla_overdue
from arcollect.entities import Dispute, DocumentType, Invoice, Payment, TaskStatus
from arcollect.money import grouped, written
from arcollect.outlook import PayOutlook
from arcollect.policy import PolicySet
from arcollect.priority import risk_class
from arcollect.promises import kept_rate, paid_towards
from arcollect.send_times import SendRecord, SendTimes, SlotChoice, choose
from arcollect.store.workspace import AccountItems
from arcollect.workspace.model import (
    Account360,
    AgingLine,
    DisputeView,
    PromiseView,
    RiskIndicators,
    TaskView,
    TimelineEntry,
)

RECENT_DAYS = 90
TREND_DAYS = 3.0  # a change of average lateness smaller than this is "steady"


def _at(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def days_late(invoices: Iterable[Invoice]) -> list[tuple[date, int]]:
    """(paid date, days after the due date it was paid; early counts as 0) of invoices paid in full
    (a partly paid one's paid date is its partial payment's: not yet paid)."""
    return [
        (paid, max(0, (paid - invoice.due_date).days))
        for invoice in invoices
        if (paid := invoice.paid_in_full_on) is not None and invoice.document_type == DocumentType.INVOICE
    ]


def _mean(values: list[int]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def risk_indicators(items: AccountItems, today: date) -> RiskIndicators:
    paid = days_late(items.invoices)
    recent = [d for day, d in paid if today - day <= timedelta(days=RECENT_DAYS)]
    earlier = [
        d for day, d in paid if timedelta(days=RECENT_DAYS) < today - day <= timedelta(days=2 * RECENT_DAYS)
    ]
    recent_mean, earlier_mean = _mean(recent), _mean(earlier)
    if recent_mean is None or earlier_mean is None:
        trend = "unknown"
    elif recent_mean - earlier_mean > TREND_DAYS:
        trend = "worsening"
    elif earlier_mean - recent_mean > TREND_DAYS:
        trend = "improving"
    else:
        trend = "steady"
    customer = items.customer
    kept = customer.promises_kept if customer else 0
    broken = customer.promises_broken if customer else 0
    behaviour = risk_class(customer)
    average = _mean([d for _, d in paid])
    # Paying a month late on average, or getting later, raises the class the promises give.
    if (average is not None and average > 30) or trend == "worsening":
        behaviour = "high" if behaviour != "low" or (average or 0) > 60 else "medium"
    return RiskIndicators(
        average_days_late=average,
        recent_average_days_late=recent_mean,
        earlier_average_days_late=earlier_mean,
        trend=trend,
        promises_kept=kept,
        promises_broken=broken,
        promise_kept_rate=kept_rate(kept, broken),
        risk_class=behaviour,
        erp_risk=customer.risk if customer else None,
    )


def aging(invoices: Iterable[Invoice], today: date) -> tuple[AgingLine, ...]:
    lines: dict[str, dict[str, Decimal]] = {}
    for invoice in invoices:
        if not invoice.is_open:
            continue
        buckets = lines.setdefault(invoice.currency, dict.fromkeys(AGING_BUCKETS, Decimal(0)))
        bucket = aging_bucket((today - invoice.due_date).days)
        buckets[bucket] += invoice.signed_open_amount
    return tuple(
        AgingLine(currency, buckets, sum(buckets.values(), Decimal(0)))
        for currency, buckets in sorted(lines.items())
    )


def dispute_view(
    dispute: Dispute, now: datetime, policies: PolicySet, currency: str | None = None
) -> DisputeView:
    """The dispute as the console shows it; ``currency``: its invoice's, for its amounts."""
    sla = dispute.sla_days or policies.disputes.sla_for(dispute.department)
    return DisputeView(
        customer_id=dispute.customer_id,
        dispute_id=dispute.dispute_id,
        invoice_number=dispute.invoice_number,
        reason=dispute.reason,
        comment=dispute.comment,
        status=dispute.status,
        created_at=dispute.created_at,
        department=dispute.department,
        sla_days=sla,
        age_days=age_days(dispute.created_at, now, dispute.resolved_at),
        overdue=sla_overdue(dispute.status, dispute.created_at, now, sla),
        resolution_note=dispute.resolution_note,
        credit_amount=dispute.credit_amount,
        resolved_at=dispute.resolved_at,
        attachment_key=dispute.attachment_key,
        amount=dispute.amount,
        currency=currency,
    )


def dunning_status(invoice: Invoice, grace_days: int, paused_until: date | None, on_hold: bool) -> str:
    """One line on where dunning stands for an invoice (what the collector sees beside it)."""
    if not invoice.is_open:
        return "settled"
    if invoice.document_type != DocumentType.INVOICE:
        return "not dunned (credit note)"
    if invoice.agency:
        return f"not dunned: with the agency {invoice.agency}"
    if invoice.disputed:
        return "paused: disputed"
    if invoice.promised_until is not None:
        until = invoice.promised_until + timedelta(days=grace_days)
        return f"paused until {until.isoformat()}: promise to pay by {invoice.promised_until.isoformat()}"
    if on_hold:
        return "on hold" if paused_until is None else f"paused until {paused_until.isoformat()}"
    steps = ", ".join(sorted(invoice.steps_done)) or "none yet"
    return f"active (steps taken: {steps})"


def _timeline(items: AccountItems) -> list[TimelineEntry]:
    entries = [TimelineEntry(a.at, a.kind, a.summary, dict(a.detail)) for a in items.activities]
    for invoice in items.invoices:
        kind = "credit_note" if invoice.is_credit_note else "invoice"
        entries.append(
            TimelineEntry(
                _at(invoice.invoice_date),
                f"{kind}_issued",
                f"{kind.replace('_', ' ').capitalize()} {invoice.invoice_number} issued: "
                f"{written(invoice.amount, invoice.currency)}, due {invoice.due_date.isoformat()}",
            )
        )
        settled_on = invoice.paid_date or invoice.closed_on
        if not invoice.is_open and settled_on is not None:
            how = "paid" if invoice.paid_date else "closed in the ERP"
            entries.append(
                TimelineEntry(_at(settled_on), "invoice_settled", f"Invoice {invoice.invoice_number} {how}")
            )
    for payment in items.payments:
        entries.append(
            TimelineEntry(
                _at(payment.payment_date),
                "payment_received",
                f"Payment {payment.payment_id} received: {written(payment.amount, payment.currency)}"
                + _applied_text(payment),
            )
        )
    for task in items.tasks:
        entries.append(
            TimelineEntry(
                task.created_at, "task_created", f"Task for {task.assignee or 'nobody'}: {task.title}"
            )
        )
        if task.closed_at is not None:
            entries.append(
                TimelineEntry(
                    task.closed_at, "task_done", f"Task done ({task.outcome or 'closed'}): {task.title}"
                )
            )
    for promise in items.promises:
        if promise.settled_at is not None:
            currency = promise.currency or ""
            paid = grouped(promise.paid_amount or 0, currency)
            entries.append(
                TimelineEntry(
                    promise.settled_at,
                    f"promise_{promise.status}",
                    f"Promise {promise.promise_id} {promise.status}: {paid} of "
                    f"{written(promise.amount or 0, currency)} paid by "
                    f"{promise.promised_until.isoformat()}",
                )
            )
    return sorted(entries, key=lambda entry: entry.at, reverse=True)


def build_account(items: AccountItems, *, now: datetime, today: date, policies: PolicySet) -> Account360:
    customer = items.customer
    assert customer is not None
    grace = policies.settings.promise_grace_days
    open_invoices = sorted(
        (i for i in items.invoices if i.is_open), key=lambda i: (i.due_date, i.invoice_number)
    )
    closed = sorted((i for i in items.invoices if not i.is_open), key=lambda i: i.due_date, reverse=True)
    currencies = {i.invoice_number: i.currency for i in items.invoices}
    promises = tuple(
        PromiseView(
            customer_id=p.customer_id,
            promise_id=p.promise_id,
            invoice_numbers=p.invoice_numbers,
            promised_until=p.promised_until,
            amount=p.amount,
            currency=p.currency,
            status=p.status,
            created_at=p.created_at,
            source=p.source,
            paid_amount=p.paid_amount
            if p.paid_amount is not None
            else paid_towards(p, items.payments, p.promised_until + timedelta(days=grace)),
        )
        for p in sorted(items.promises, key=lambda p: p.created_at, reverse=True)
    )
    tasks = tuple(
        TaskView(
            customer_id=t.customer_id,
            task_id=t.task_id,
            kind=t.kind,
            title=t.title,
            status=t.status,
            assignee=t.assignee or "",
            created_at=t.created_at,
            due_on=t.due_on,
            outcome=t.outcome,
            closed_at=t.closed_at,
            attempts=t.attempts,
            detail=dict(t.detail),
        )
        for t in sorted(items.tasks, key=lambda t: (t.status != TaskStatus.OPEN, t.created_at))
    )
    on_hold = customer.on_hold(today)
    segment, policy = policies.policy_for(customer, today)
    arm = policies.arm_of(customer, segment)
    return Account360(
        customer=customer,
        open_invoices=tuple(open_invoices),
        closed_invoices=tuple(closed),
        aging=aging(items.invoices, today),
        payments=tuple(sorted(items.payments, key=_payment_order, reverse=True)),
        promises=promises,
        disputes=tuple(
            dispute_view(d, now, policies, currencies.get(d.invoice_number))
            for d in sorted(items.disputes, key=lambda d: d.created_at, reverse=True)
        ),
        tasks=tasks,
        timeline=tuple(_timeline(items)),
        risk=risk_indicators(items, today),
        paused_until=customer.paused_until
        if customer.paused_until and customer.paused_until >= today
        else None,
        as_of=today,
        dunning_status={
            i.invoice_number: dunning_status(i, grace, customer.paused_until, on_hold) for i in open_invoices
        },
        dunning_policy=policy.name,
        test_arm=arm,
        test_name=policies.challenger.name if arm and policies.challenger else None,
        predictions=open_predictions(items, open_invoices),
        send_slot=send_slot(items, today, policies),
    )


def send_slot(items: AccountItems, today: date, policies: PolicySet) -> SlotChoice | None:
    """The hour a reminder to the customer would go in today, and why: the sweep's choice from the same
    record (none when the policy does not learn send times)."""
    send_times = policies.settings.send_times
    if items.customer is None or not isinstance(send_times, SendTimes) or not send_times.learn:
        return None
    record = items.send_record or SendRecord()
    return choose(items.customer.customer_id, today, record.own, record.portfolio, send_times)


def open_predictions(items: AccountItems, open_invoices: Iterable[Invoice]) -> dict[str, PayOutlook]:
    """The predictions the newest report run left for the invoices open now (one paid since has none)."""
    numbers = {i.invoice_number for i in open_invoices if not i.is_credit_note}
    return {o.invoice_number: o for o in items.predictions if o.invoice_number in numbers}


def _payment_order(payment: Payment) -> tuple[date, str]:
    return payment.payment_date, payment.payment_id


def _applied_text(payment: Payment) -> str:
    """What a payment settled, for the timeline: ``applied to INV-1 (100.00), INV-2 (50.00); 20.00
    unapplied`` and the like."""
    applied = ", ".join(
        f"{a.invoice_number} ({grouped(a.amount, payment.currency)})" for a in payment.applications
    )
    text = f" applied to {applied}" if applied else ""
    if payment.unapplied_amount > 0:
        text += f"{';' if applied else ''} {grouped(payment.unapplied_amount, payment.currency)} unapplied"
    return text or " (unapplied)"
