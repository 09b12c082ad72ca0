"""The collector workspace's operations, as the staff console calls them.

Every method takes the signed-in ``StaffUser`` as ``by`` (recorded on the timeline) and the request
time as ``now``; input errors raise WorkspaceInputError naming the field, missing things
WorkspaceNotFound, lost races WorkspaceConflict, manager-only calls by collectors NotAllowed.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from arcollect import cash, changes, credits
from arcollect import disputes as dispute_rules
from arcollect.calendar import Calendar, local_today
from arcollect.changes import ChangeFeed, ChangeKind
from arcollect.contract import ReportPrefix
from arcollect.disputes import DisputeStatus
from arcollect.entities import (
    Activity,
    Customer,
    DisputeReason,
    Invoice,
    Payment,
    Promise,
    Task,
    TaskKind,
    TaskStatus,
)
from arcollect.inputs import InputError
from arcollect.mailing import Mailer
from arcollect.policy import PolicySet
from arcollect.priority import Factors, factors_for, score
from arcollect.promises import checked_promise, promise_to_pay
from arcollect.staff import StaffUser
from arcollect.store.workspace import ReportObjects, WorkspaceStore
from arcollect.workspace import disputes as dispute_flow
from arcollect.workspace.model import (
    Account360,
    CallOutcome,
    DisputeView,
    NotAllowed,
    OutcomeReceipt,
    ReportLink,
    WorkItem,
    Workload,
    WorkspaceConflict,
    WorkspaceInputError,
    WorkspaceNotFound,
)
from arcollect.workspace.outcomes import decide, parse_outcome
from arcollect.workspace.view import build_account, dispute_view

REPORT_LINK_LIFETIME = timedelta(minutes=15)
MAX_PAUSE_DAYS = 90
NOTE_MAX = 2000


def _new_id() -> str:
    return secrets.token_hex(8)


def _text(value: str, field: str, *, required: bool = False, limit: int = NOTE_MAX) -> str:
    text = (value or "").strip()
    if required and not text:
        raise WorkspaceInputError(field, "is required")
    if len(text) > limit:
        raise WorkspaceInputError(field, f"at most {limit} characters ({len(text)} given)")
    return text


class Workspace:
    def __init__(
        self,
        *,
        policies: Callable[[], PolicySet],
        mailer: Mailer,
        sender: str,
        reports: ReportObjects | None = None,
        reports_bucket: str | None = None,
        store: WorkspaceStore | None = None,
        calendar: Calendar | None = None,
        change_feed: ChangeFeed | None = None,
    ) -> None:
        """``policies`` gives the dunning policy in force (its team, segments' collectors and dispute
        routing); ``mailer``/``sender`` send dispute notifications; ``reports`` lists and presigns;
        ``change_feed`` writes each decision's change for the ERP once it is committed."""
        self._policies = policies
        self._mailer = mailer
        self._sender = sender
        self._reports = reports
        self._reports_bucket = reports_bucket
        self._store = store or WorkspaceStore()
        self._calendar = calendar or Calendar()
        self._change_feed = change_feed

    # --- reading ------------------------------------------------------------------------------------

    def _today(self, now: datetime, customer: Customer | None = None) -> date:
        zone_name = customer.time_zone if customer else None
        return local_today(zone_name, now, self._policies().settings.time_zone)

    def worklist(self, assignee: str, *, now: datetime, limit: int = 100) -> list[WorkItem]:
        """``assignee``'s open tasks: those due by today first, highest score first, then the later
        ones by due day. Scored as of today with the task's invoices as they are now."""
        tasks = self._store.tasks.worklist(assignee)
        return self._work_items(tasks, now)[:limit]

    def _work_items(self, tasks: list[Task], now: datetime) -> list[WorkItem]:
        today = self._today(now)
        wanted = {(t.customer_id, n) for t in tasks for n in _invoice_numbers(t)}
        invoices = self._store.invoices_by_key(wanted)
        customers = self._store.customers({t.customer_id for t in tasks})
        items: list[WorkItem] = []
        for task in tasks:
            customer = customers.get(task.customer_id)
            numbers = _invoice_numbers(task)
            live = [invoices[(task.customer_id, n)] for n in numbers if (task.customer_id, n) in invoices]
            if live:
                factors = factors_for(task.kind, live, customer, today)
            else:
                factors = Factors.from_detail(task.kind, task.detail)
            points, reasons = score(factors, today)
            due_on = task.due_on or task.created_at.date()
            days = (today - factors.oldest_due_on).days if factors.oldest_due_on else 0
            items.append(
                WorkItem(
                    customer_id=task.customer_id,
                    customer_name=customer.name if customer else task.customer_id,
                    task_id=task.task_id,
                    kind=task.kind,
                    title=task.title,
                    assignee=task.assignee or "",
                    score=points,
                    reasons=reasons,
                    created_at=task.created_at,
                    due_on=due_on,
                    overdue=due_on < today,
                    past_due_amount=factors.past_due_amount,
                    currency=factors.currency,
                    days_past_due=max(0, days),
                    invoice_numbers=numbers,
                    attempts=task.attempts,
                    phone=customer.phone if customer else None,
                )
            )
        return sorted(
            items, key=lambda i: (i.due_on > today, -i.score if i.due_on <= today else 0, i.due_on, i.task_id)
        )

    def team_workload(self, by: StaffUser, *, now: datetime) -> list[Workload]:
        """Every assignee's open work (managers only), busiest first."""
        _manager_only(by)
        today = self._today(now)
        by_assignee: dict[str, list[Task]] = {}
        for task in self._store.tasks.all_open_tasks():
            by_assignee.setdefault(task.assignee or "", []).append(task)
        loads: list[Workload] = []
        for assignee, tasks in by_assignee.items():
            scored = [(t, score(Factors.from_detail(t.kind, t.detail), today)[0]) for t in tasks]
            kinds: dict[str, int] = {}
            for task in tasks:
                kinds[task.kind] = kinds.get(task.kind, 0) + 1
            past_due: dict[str, Decimal] = {}
            for task in tasks:
                factors = Factors.from_detail(task.kind, task.detail)
                if factors.past_due_amount:
                    past_due[factors.currency] = (
                        past_due.get(factors.currency, Decimal(0)) + factors.past_due_amount
                    )
            loads.append(
                Workload(
                    assignee=assignee,
                    open_tasks=len(tasks),
                    overdue_tasks=sum(1 for t in tasks if (t.due_on or t.created_at.date()) < today),
                    due_today=sum(1 for t in tasks if (t.due_on or t.created_at.date()) == today),
                    top_score=max((points for _, points in scored), default=0),
                    past_due=dict(sorted(past_due.items())),
                    by_kind=dict(sorted(kinds.items())),
                )
            )
        return sorted(loads, key=lambda load: (-load.open_tasks, load.assignee))

    def account(self, customer_id: str, *, now: datetime) -> Account360:
        items = self._store.account(customer_id)
        if items.customer is None:
            raise WorkspaceNotFound(f"no customer {customer_id}")
        return build_account(
            items, now=now, today=self._today(now, items.customer), policies=self._policies()
        )

    # --- working a task -------------------------------------------------------------------------------

    def record_outcome(
        self,
        customer_id: str,
        task_id: str,
        *,
        outcome: str,
        note: str,
        by: StaffUser,
        now: datetime,
        promised_until: str | None = None,
        promise_amount: str | None = None,
        invoice_numbers: list[str] | None = None,
        dispute_reason: str | None = None,
    ) -> OutcomeReceipt:
        """Work a task: ``promise_taken`` needs promised_until, promise_amount and invoice_numbers;
        ``dispute_logged`` needs dispute_reason and one invoice number.

        The promise, dispute or fix-contact task is recorded first under an id derived from the task
        and attempt, then the task; a retry after a crash in between finds the first part done and
        finishes the second, and a second submission of the same form is refused (the task moved on)."""
        result = parse_outcome(outcome)
        text = _text(note, "note")
        task = self._store.tasks.task(customer_id, task_id)
        if task is None:
            raise WorkspaceNotFound(f"no task {task_id} on customer {customer_id}")
        if task.status != TaskStatus.OPEN:
            raise WorkspaceConflict(f"task {task_id} was already worked ({task.outcome or task.status})")
        customer = self._customer(customer_id)
        today = self._today(now, customer)
        effect = decide(result, attempts=task.attempts, today=today, title=task.title)
        step = f"{task_id}-{effect.attempts}"
        promise: Promise | None = None
        dispute_id: str | None = None
        fix_task: str | None = None
        if result is CallOutcome.PROMISE_TAKEN:
            promise = self._promise(
                customer,
                invoice_numbers=invoice_numbers or list(_invoice_numbers(task)),
                amount=promise_amount or "",
                promised_until=promised_until or "",
                by=by,
                now=now,
                promise_id=f"call-{step}",
            )
        elif result is CallOutcome.DISPUTE_LOGGED:
            numbers = [n for n in (invoice_numbers or []) if n.strip()] or list(_invoice_numbers(task))[:1]
            if len(numbers) != 1:
                raise WorkspaceInputError("invoice_numbers", "choose the one invoice the customer disputes")
            view = self._dispute(
                customer,
                invoice_number=numbers[0],
                reason=dispute_reason or "",
                comment=text,
                by=by,
                now=now,
                dispute_id=f"call-{step}",
            )
            dispute_id = view.dispute_id
        elif result is CallOutcome.WRONG_CONTACT:
            self._store.flag_contact(
                customer, f"contact details reported wrong by {by.username} on {today.isoformat()}"
            )
            fix_task = f"fix-contact-{task_id}"
            self._store.tasks.add_task(
                Task(
                    customer_id=customer_id,
                    task_id=fix_task,
                    kind=TaskKind.FIX_CONTACT,
                    title="Find the right contact: the number or person on file was wrong",
                    created_at=now,
                    detail={**task.detail, "reported_by": by.username, "note": text},
                    assignee=task.assignee or by.username,
                    due_on=today + timedelta(days=1),
                    score=task.score,
                )
            )
        after = replace(
            task,
            status=TaskStatus.DONE if effect.close_task else TaskStatus.OPEN,
            attempts=effect.attempts,
            outcome=result.value,
            due_on=effect.follow_up_on or task.due_on,
            closed_at=now if effect.close_task else None,
        )
        summary = effect.summary + (f". Note: {text}" if text else "")
        decided = _DECISIONS.get(result)
        activity = Activity(
            customer_id=customer_id,
            at=now,
            activity_id=f"outcome-{step}",
            kind=f"call_{result.value}",
            summary=f"{by.name}: {summary}",
            detail={"task_id": task_id, "outcome": result.value, "by": by.username, "note": text},
            changes=()
            if decided is None
            else (
                changes.collector_decision(
                    decided,
                    customer_id=customer_id,
                    task_id=task_id,
                    attempt=effect.attempts,
                    invoice_numbers=[n for n in (invoice_numbers or []) if n.strip()]
                    or list(_invoice_numbers(task)),
                    note=text,
                    by=by.username,
                    at=now,
                ),
            ),
        )
        if not self._store.tasks.work_task(task, after, activity):
            raise WorkspaceConflict(f"task {task_id} changed meanwhile: reload and try again")
        changes.publish(self._change_feed, activity.changes)
        if result is CallOutcome.AGENCY and not customer.collector_hold:
            # The agency collects from now on: a reminder from us as well would contradict it.
            self._hold(
                customer,
                replace(customer, collector_hold=True, hold_reason="handed to a collection agency"),
                f"{by.name} put the customer on dunning hold: handed to a collection agency",
                by,
                now,
            )
        return OutcomeReceipt(
            task_id=task_id,
            outcome=result.value,
            task_closed=effect.close_task,
            follow_up_on=effect.follow_up_on,
            promise=promise,
            dispute_id=dispute_id,
            fix_contact_task=fix_task,
        )

    def add_note(self, customer_id: str, *, text: str, by: StaffUser, now: datetime) -> None:
        body = _text(text, "text", required=True)
        self._customer(customer_id)
        self._store.record(
            Activity(
                customer_id=customer_id,
                at=now,
                activity_id=f"note-{_new_id()}",
                kind="note",
                summary=f"Note by {by.name}: {body}",
                detail={"by": by.username, "text": body},
            )
        )

    # --- promises ------------------------------------------------------------------------------------

    def take_promise(
        self,
        customer_id: str,
        *,
        invoice_numbers: list[str],
        amount: str,
        promised_until: str,
        by: StaffUser,
        now: datetime,
    ) -> Promise:
        customer = self._customer(customer_id)
        return self._promise(
            customer,
            invoice_numbers=invoice_numbers,
            amount=amount,
            promised_until=promised_until,
            by=by,
            now=now,
            promise_id=f"staff-{_new_id()}",
        )

    def _promise(
        self,
        customer: Customer,
        *,
        invoice_numbers: list[str],
        amount: str,
        promised_until: str,
        by: StaffUser,
        now: datetime,
        promise_id: str,
    ) -> Promise:
        existing = self._store.promises.promise(customer.customer_id, promise_id)
        if existing is not None:
            return existing  # a retry of the same call's outcome
        policies = self._policies()
        try:
            promise = checked_promise(
                customer.customer_id,
                invoice_numbers=invoice_numbers,
                lookup=lambda number: self._store.invoice(customer.customer_id, number),
                amount=amount,
                promised_until=promised_until,
                today=self._today(now, customer),
                policies=policies,
                promise_id=promise_id,
                now=now,
                source=by.username,
            )
        except InputError as error:
            raise WorkspaceInputError(error.field, error.message) from None
        next_at = promise_to_pay(
            promise, policies=policies, calendar=self._calendar, zone_name=customer.time_zone
        )
        numbers = ", ".join(promise.invoice_numbers)
        activity = Activity(
            customer_id=customer.customer_id,
            at=now,
            activity_id=f"promise-{promise_id}",
            kind="promise_made",
            summary=(
                f"{by.name} took a promise to pay {promise.amount or 0:,.2f} {promise.currency} by "
                f"{promise.promised_until.isoformat()} for {numbers}; dunning paused for it"
            ),
            detail={
                "promise_id": promise_id,
                "amount": f"{promise.amount or 0:.2f}",
                "currency": promise.currency or "",
                "promised_until": promise.promised_until.isoformat(),
                "invoices": numbers,
                "source": by.username,
            },
            changes=(changes.promise_made(promise),),
        )
        # The timeline entry and its change go in the promise's own transaction: a crash after it
        # leaves nothing for the retry (which finds the promise) to add.
        if not self._store.promises.make_promise(promise, next_at, activity):
            raise WorkspaceConflict("one of the invoices changed meanwhile: reload and try again")
        changes.publish(self._change_feed, activity.changes)
        return promise

    # --- disputes -------------------------------------------------------------------------------------

    def log_dispute(
        self,
        customer_id: str,
        *,
        invoice_number: str,
        reason: str,
        comment: str,
        by: StaffUser,
        now: datetime,
    ) -> DisputeView:
        customer = self._customer(customer_id)
        return self._dispute(
            customer,
            invoice_number=invoice_number,
            reason=reason,
            comment=_text(comment, "comment"),
            by=by,
            now=now,
            dispute_id=_new_id(),
        )

    def _dispute(
        self,
        customer: Customer,
        *,
        invoice_number: str,
        reason: str,
        comment: str,
        by: StaffUser,
        now: datetime,
        dispute_id: str,
    ) -> DisputeView:
        policies = self._policies()
        existing = self._store.disputes.dispute(customer.customer_id, dispute_id)
        if existing is not None:
            return dispute_view(existing, now, policies)
        try:
            why = DisputeReason(reason.strip())
        except ValueError:
            allowed = ", ".join(r.value for r in DisputeReason)
            raise WorkspaceInputError("reason", f"{reason!r} is not a dispute reason ({allowed})") from None
        invoice = self._open_invoice(customer.customer_id, invoice_number, "invoice_number")
        if invoice.disputed:
            raise WorkspaceInputError(
                "invoice_number", f"invoice {invoice.invoice_number} is already disputed"
            )
        dispute, task, activity = dispute_rules.new_dispute(
            customer, invoice, reason=why.value, comment=comment, dispute_id=dispute_id, now=now,
            policies=policies, opened_by=by.username,
        )  # fmt: skip
        if not self._store.disputes.open_dispute(dispute, task, activity):
            raise WorkspaceConflict(
                f"invoice {invoice.invoice_number} changed meanwhile: reload and try again"
            )
        changes.publish(self._change_feed, activity.changes)
        dispute_rules.notify_department(
            dispute,
            customer,
            invoice,
            policies=policies,
            mailer=self._mailer,
            sender=self._sender,
            store=self._store.disputes,
        )
        return dispute_view(dispute, now, policies)

    def move_dispute(
        self,
        customer_id: str,
        dispute_id: str,
        *,
        status: str,
        note: str,
        by: StaffUser,
        now: datetime,
        credit_amount: str | None = None,
    ) -> DisputeView:
        """Move a dispute on. Resolving it takes the invoice out of dispute and back into dunning from
        the next sweep (with a credit, for what is left open; a credit of all of it settles it)."""
        wanted = dispute_flow.parse_status(status)
        text = _text(note, "note", required=wanted in dispute_rules.RESOLVED)
        dispute = self._store.disputes.dispute(customer_id, dispute_id)
        if dispute is None:
            raise WorkspaceNotFound(f"no dispute {dispute_id} on customer {customer_id}")
        dispute_flow.check_transition(dispute.status, wanted)
        invoice: Invoice | None = None
        invoice_after: Invoice | None = None
        credit: Decimal | None = None
        credit_note: tuple[Invoice, Invoice] | None = None
        if wanted in dispute_rules.RESOLVED:
            invoice = self._store.invoice(customer_id, dispute.invoice_number)
            if invoice is None:
                raise WorkspaceNotFound(f"invoice {dispute.invoice_number} is gone")
            credit = dispute_flow.parse_credit(credit_amount, wanted, invoice.open_amount)
            limit = self._policies().settings.collector_credit_limit
            if credit is not None and credit > limit and not by.is_manager:
                # A credit is money given away: above the policy's limit for collectors, a manager's call.
                raise NotAllowed(
                    f"a credit of {credit:,.2f} {invoice.currency} is a manager's decision (collectors may "
                    f"grant up to {limit:,.2f}: the policy's settings.collector_credit_limit)"
                )
            after = dispute_rules.dispute_resolved(invoice, credit)
            invoice_after = replace(after, next_action_at=now if after.is_open else None)
            if credits.awaits_credit_note(invoice_after):
                # The ERP may have booked the credit note before the credit was agreed here.
                booked = credits.note_for_invoice(invoice_after, self._store.customer_invoices(customer_id))
                if booked is not None:
                    booked_after, invoice_after = credits.matched(booked, invoice_after)
                    credit_note = (booked, booked_after)
        elif credit_amount and credit_amount.strip():
            raise WorkspaceInputError(
                "credit_amount", "a credit amount goes with 'resolved with credit' only"
            )
        moved = replace(
            dispute,
            status=wanted.value,
            resolution_note=text or dispute.resolution_note,
            credit_amount=credit if credit is not None else dispute.credit_amount,
            resolved_at=now if wanted in dispute_rules.RESOLVED else dispute.resolved_at,
            closed_at=now if wanted is DisputeStatus.CLOSED else dispute.closed_at,
        )
        effect = {
            DisputeStatus.IN_REVIEW: "taken into review",
            DisputeStatus.RESOLVED_VALID: "resolved: the invoice stands, dunning resumes",
            DisputeStatus.RESOLVED_CREDIT: f"resolved with a credit of {credit or 0:,.2f}"
            + (
                ", dunning resumes for the rest"
                if invoice_after is not None and invoice_after.is_open
                else ", the invoice is settled"
            ),
            DisputeStatus.CLOSED: "closed",
        }[wanted]
        activity = Activity(
            customer_id=customer_id,
            at=now,
            activity_id=f"dispute-{dispute_id}-{wanted.value}",
            kind=dispute_rules.DISPUTE_MOVED,
            summary=f"{by.name}: dispute of {dispute.invoice_number} {effect}"
            + (f". {text}" if text else ""),
            detail={"dispute_id": dispute_id, "status": wanted.value, "by": by.username, "note": text},
        )
        if credit_note is not None:
            activity = replace(
                activity,
                summary=f"{activity.summary} (matched to the ERP's credit note "
                f"{credit_note[0].invoice_number}, counted once)",
                detail={**activity.detail, "credit_note": credit_note[0].invoice_number},
            )
        if wanted in dispute_rules.RESOLVED and invoice is not None:
            activity = replace(
                activity,
                changes=changes.dispute_resolved(
                    customer_id=customer_id,
                    dispute_id=dispute_id,
                    invoice_number=dispute.invoice_number,
                    dispute_reason=dispute.reason,
                    credit=credit,
                    currency=invoice.currency,
                    note=text,
                    by=by.username,
                    at=now,
                    erp_credit_note=credit_note[0].invoice_number if credit_note else None,
                ),
            )
        if not self._store.disputes.move_dispute(
            dispute, moved, invoice, invoice_after, activity, credit_note=credit_note
        ):
            raise WorkspaceConflict(
                f"dispute {dispute_id} or its invoice changed meanwhile: reload and try again"
            )
        changes.publish(self._change_feed, activity.changes)
        if wanted in dispute_rules.RESOLVED:
            self._store.tasks.close_tasks_about(customer_id, TaskKind.DISPUTE, "dispute_id", dispute_id, now)
        return dispute_view(moved, now, self._policies())

    def disputes(self, *, now: datetime, include_closed: bool = False) -> list[DisputeView]:
        """Every dispute not closed (the dispute queue), oldest first."""
        policies = self._policies()
        found = self._store.disputes.open_disputes()
        return sorted(
            (
                dispute_view(d, now, policies)
                for d in found
                if include_closed or d.status != DisputeStatus.CLOSED
            ),
            key=lambda view: view.created_at,
        )

    # --- cash application -------------------------------------------------------------------------

    def apply_cash(
        self,
        customer_id: str,
        payment_id: str,
        *,
        allocations: Sequence[tuple[str, str]],
        by: StaffUser,
        now: datetime,
        note: str = "",
        unapplied: str | None = None,
    ) -> Payment:
        """Apply part or all of a payment's unapplied cash to open invoices (``arcollect/cash.py``):
        ``allocations`` are (invoice number, amount as typed) pairs, those without an amount left out.
        ``unapplied`` is the unapplied amount the form showed: a form sent twice, or after someone else
        applied the cash, is refused (WorkspaceConflict) instead of applied twice.

        One transaction writes the payment, its invoices (settled ones leave dunning), its apply-cash
        task (closed when nothing is left unapplied, else its suggestions brought up to date) and the
        timeline entry with one ``cash_applied`` change per invoice for the ERP."""
        text = _text(note, "note")
        payment = self._store.payment(customer_id, payment_id)
        if payment is None:
            raise WorkspaceNotFound(f"no payment {payment_id} on customer {customer_id}")
        if unapplied is not None and unapplied.strip():
            shown = _decimal(unapplied, "unapplied")
            if shown != payment.unapplied_amount:
                raise WorkspaceConflict(
                    f"payment {payment_id} changed meanwhile ({payment.unapplied_amount:,.2f} "
                    f"{payment.currency} unapplied now): reload and try again"
                )
        if payment.unapplied_amount <= 0:
            raise WorkspaceConflict(f"payment {payment_id} has no unapplied cash left")
        try:
            requested = [
                (number.strip(), cash.parse_amount(amount, "allocations"))
                for number, amount in allocations
                if (amount or "").strip()
            ]
            invoices = {
                number: invoice
                for number, _ in requested
                if (invoice := self._store.invoice(customer_id, number)) is not None
            }
            after, settles = cash.decided(payment, requested, invoices)
        except cash.CashApplicationError as error:
            raise WorkspaceInputError(error.field, error.message) from None
        decision = len(payment.applications) + 1
        applied = ", ".join(f"{number} ({amount:,.2f})" for number, amount in requested)
        total = sum((amount for _, amount in requested), Decimal(0))
        left = (
            f"; {after.unapplied_amount:,.2f} {after.currency} left unapplied"
            if after.unapplied_amount > 0
            else "; nothing left unapplied"
        )
        activity = Activity(
            customer_id=customer_id,
            at=now,
            activity_id=f"cash-{payment_id}-{decision}",
            kind="cash_applied",
            summary=f"{by.name} applied {total:,.2f} {payment.currency} of payment {payment_id} to "
            f"{applied}{left}" + (f". Note: {text}" if text else ""),
            detail={
                "payment_id": payment_id,
                "invoices": ", ".join(number for number, _ in requested),
                "amounts": ", ".join(str(amount) for _, amount in requested),
                "currency": payment.currency,
                "unapplied_amount": str(after.unapplied_amount),
                "by": by.username,
                "note": text,
            },
            changes=tuple(
                changes.cash_applied(
                    customer_id=customer_id,
                    payment_id=payment_id,
                    decision=decision,
                    invoice_number=number,
                    amount=amount,
                    currency=payment.currency,
                    note=text,
                    by=by.username,
                    at=now,
                )
                for number, amount in requested
            ),
        )
        task = self._apply_cash_task(after, settles, now)
        if not self._store.apply_cash(payment, after, settles, task, activity):
            raise WorkspaceConflict(
                f"payment {payment_id} or one of its invoices changed meanwhile: reload and try again"
            )
        changes.publish(self._change_feed, activity.changes)
        return after

    def _apply_cash_task(
        self, after: Payment, settles: Sequence[tuple[Invoice, Invoice]], now: datetime
    ) -> tuple[Task, Task] | None:
        """The payment's open apply-cash task as read and after the decision: done when nothing is left
        unapplied, else with its title and suggestions for what is left."""
        task = self._store.tasks.task(after.customer_id, cash.apply_cash_task_id(after.payment_id))
        if task is None or task.status != TaskStatus.OPEN:
            return None
        if after.unapplied_amount <= 0:
            done = replace(
                task,
                status=TaskStatus.DONE,
                outcome="cash_applied",
                closed_at=now,
                detail={**task.detail, "unapplied_amount": "0", "applied_to": _applied_numbers(after)},
            )
            return task, done
        settled = {invoice.invoice_number: invoice for _, invoice in settles}
        documents = [
            settled.get(invoice.invoice_number, invoice)
            for invoice in self._store.customer_invoices(after.customer_id)
        ]
        fresh = cash.apply_cash_task(
            after,
            documents,
            now=task.created_at,
            assignee=task.assignee,
            source=task.detail.get("source", ""),
        )
        return task, replace(task, title=fresh.title, detail={**task.detail, **fresh.detail})

    # --- holds ----------------------------------------------------------------------------------------

    def pause(self, customer_id: str, *, until: str, reason: str, by: StaffUser, now: datetime) -> date:
        """Pause dunning for the customer until a date (inclusive); returns the date."""
        customer = self._customer(customer_id)
        today = self._today(now, customer)
        try:
            day = date.fromisoformat((until or "").strip())
        except ValueError:
            raise WorkspaceInputError("until", f"{until!r} is not a date (YYYY-MM-DD)") from None
        if day < today:
            raise WorkspaceInputError("until", "the pause must end today or later")
        if day > today + timedelta(days=MAX_PAUSE_DAYS):
            raise WorkspaceInputError("until", f"at most {MAX_PAUSE_DAYS} days ahead: use a hold for longer")
        why = _text(reason, "reason", required=True, limit=300)
        after = replace(customer, paused_until=day, hold_reason=why)
        self._hold(customer, after, f"{by.name} paused dunning until {day.isoformat()}: {why}", by, now)
        return day

    def set_hold(self, customer_id: str, *, hold: bool, reason: str, by: StaffUser, now: datetime) -> None:
        """Put the customer on dunning hold (no reminders, no dunning tasks) or release the hold (and a
        pause)."""
        customer = self._customer(customer_id)
        why = _text(reason, "reason", required=hold, limit=300)
        if hold:
            after = replace(customer, collector_hold=True, hold_reason=why)
            summary = f"{by.name} put the customer on dunning hold: {why}"
        else:
            after = replace(customer, collector_hold=False, paused_until=None, hold_reason=None)
            summary = f"{by.name} released the dunning hold" + (f": {why}" if why else "")
        self._hold(customer, after, summary, by, now)

    def _hold(self, before: Customer, after: Customer, summary: str, by: StaffUser, now: datetime) -> None:
        activity = Activity(
            customer_id=before.customer_id,
            at=now,
            activity_id=f"hold-{_new_id()}",
            kind="dunning_hold",
            summary=summary,
            detail={"by": by.username},
        )
        if not self._store.set_customer_hold(before, after, activity):
            raise WorkspaceConflict("the customer's profile changed meanwhile: reload and try again")

    # --- reports ---------------------------------------------------------------------------------------

    def reports(self, by: StaffUser, *, now: datetime) -> list[ReportLink]:
        """The KPI reports in the reports bucket, newest first, with presigned links (managers only)."""
        _manager_only(by)
        if self._reports is None or not self._reports_bucket:
            return []
        found = self._reports.list_keys(self._reports_bucket, ReportPrefix.KPI)
        links = [
            ReportLink(
                key=key,
                size=size,
                last_modified=modified,
                url=self._reports.presigned_get(
                    self._reports_bucket, key, expires=REPORT_LINK_LIFETIME, filename=key.rsplit("/", 1)[-1]
                ),
            )
            for key, size, modified in found
        ]
        return sorted(links, key=lambda link: (link.last_modified, link.key), reverse=True)

    # --- helpers ---------------------------------------------------------------------------------------

    def _customer(self, customer_id: str) -> Customer:
        customer = self._store.customer(customer_id)
        if customer is None:
            raise WorkspaceNotFound(f"no customer {customer_id}")
        return customer

    def _open_invoice(self, customer_id: str, number: str, field: str) -> Invoice:
        invoice = self._store.invoice(customer_id, (number or "").strip())
        if invoice is None:
            raise WorkspaceInputError(field, f"invoice {number!r} is not on this customer's account")
        if not invoice.is_open:
            raise WorkspaceInputError(field, f"invoice {invoice.invoice_number} is already settled")
        return invoice


# Outcomes that are decisions the ERP must carry out (the policy's credit-hold and agency tasks).
_DECISIONS = {CallOutcome.CREDIT_HOLD: ChangeKind.CREDIT_HOLD, CallOutcome.AGENCY: ChangeKind.AGENCY_REFERRAL}


def _manager_only(by: StaffUser) -> None:
    if not by.is_manager:
        raise NotAllowed(f"{by.username} is not a manager")


def _decimal(text: str, field: str) -> Decimal:
    try:
        return Decimal(text.strip().replace(",", ""))
    except InvalidOperation:
        raise WorkspaceInputError(field, f"{text!r} is not an amount") from None


def _applied_numbers(payment: Payment) -> str:
    return ", ".join(dict.fromkeys(a.invoice_number for a in payment.applications))


def _invoice_numbers(task: Task) -> tuple[str, ...]:
    text = task.detail.get("invoices") or task.detail.get("invoice_number") or ""
    return tuple(n for n in (part.strip() for part in text.split(",")) if n)
