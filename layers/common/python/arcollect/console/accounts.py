"""The customer 360 page and its forms: call outcomes, notes, promises, disputes and their moves,
applying cash, pausing and holding dunning, a manager's reassignment of the customer. WorkspaceInputError
re-renders the page with the message beside the field and what was typed kept; a POST that worked
answers 303 to the customer's page with ``?done=<what>``, shown as a status message."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.event_handler import Response

from arcollect import cash
from arcollect import credit_control as credit_rules
from arcollect.aging import aging_bucket
from arcollect.console import credit_control as credit_routes
from arcollect.console import deductions as deduction_routes
from arcollect.console import manual
from arcollect.console.common import DISPUTE_STATUS_LABELS, PREFIX, Form, StaffWeb, dom_id, many, one
from arcollect.disputes import DISPUTE_TRANSITIONS
from arcollect.entities import Invoice, Payment
from arcollect.portal.web.render import AGING_LABELS, REASON_LABELS
from arcollect.staff import StaffSession
from arcollect.workspace.model import Account360, CallOutcome, WorkspaceInputError

OUTCOME_LABELS = {
    CallOutcome.REACHED: "Reached the customer",
    CallOutcome.VOICEMAIL: "Left a voicemail",
    CallOutcome.NO_ANSWER: "No answer",
    CallOutcome.PROMISE_TAKEN: "Promise to pay taken",
    CallOutcome.DISPUTE_LOGGED: "Dispute logged",
    CallOutcome.WRONG_CONTACT: "Wrong contact details",
    CallOutcome.CREDIT_HOLD: "Decided: credit hold",
    CallOutcome.AGENCY: "Decided: hand to a collection agency",
}
DONE_MESSAGES = {
    "outcome": "The outcome was recorded.",
    "note": "The note was added to the timeline.",
    "promise": "The promise to pay was recorded.",
    "dispute": "The dispute was logged.",
    "dispute-status": "The dispute was updated.",
    "pause": "Dunning is paused.",
    "hold-on": "The customer is on dunning hold.",
    "hold-off": "The dunning hold was released.",
    "cash": "The cash was applied.",
    "owner": "The customer was reassigned.",
    "plan": "The payment plan was agreed.",
    "plan-cancel": "The payment plan was cancelled: its invoices are back in the regular reminders.",
    "task": "The task was made: it is on the worklist by its due day.",
    "email": "The email was sent.",
    "email-again": "This form was sent already: the email went once, nothing was sent again.",
    "email-unconfirmed": "The mail service did not answer: the email may have gone. It is not sent again;"
    " the timeline shows it once the mail service confirms it.",
    "deduction": "The deduction was coded: its residual is not reminded while it is investigated.",
    "deduction-resolved": "The deduction was resolved.",
    **credit_routes.DONE_MESSAGES,
}
# Each form of the 360 page: its id prefix and the fields it has (ids are ``<prefix>-<field>``).
FORMS: dict[str, tuple[str, ...]] = {
    "outcome": (
        "outcome",
        "note",
        "promised_until",
        "promise_amount",
        "invoice_numbers",
        "dispute_reason",
    ),
    "note": ("text",),
    "promise": ("invoice_numbers", "amount", "promised_until"),
    "dispute": ("invoice_number", "reason", "comment"),
    "pause": ("until", "reason"),
    "hold": ("hold", "reason"),
    "owner": ("to", "until"),
    "plan": ("invoice_numbers", "count", "first_due", "every_days", "instalments", "replaces", "reason"),
    "plan-cancel": ("plan_id", "reason"),
    "task": ("title", "due_on", "assignee", "kind", "note", "invoice_numbers"),
    "email": ("template", "payment_id"),
}
DISPUTE_MOVE_FIELDS = ("status", "note", "credit_amount")
# The apply-cash form of one payment (``cash-<payment id>``): parallel lists of invoices and amounts.
APPLY_CASH_FIELDS = ("allocations", "note", "unapplied")


def days_past_due(account: Account360, due_on: Any) -> int:
    return int((account.as_of - due_on).days)


def register(staff: StaffWeb) -> None:
    app = staff.web.app

    def account_page(
        session: StaffSession,
        customer_id: str,
        status: int = 200,
        *,
        task_id: str | None = None,
        forms: Mapping[str, Mapping[str, Any]] | None = None,
        errors: Mapping[str, str] | None = None,
    ) -> Response[str]:
        account = staff.workspace.account(customer_id, now=staff.web.now())
        open_tasks = [t for t in account.tasks if t.status == "open"]
        unapplied = [p for p in account.payments if p.unapplied_amount > 0]
        selected = next((t for t in open_tasks if t.task_id == task_id), None)
        done = DONE_MESSAGES.get(staff.web.query("done") or "") if status == 200 else None
        return staff.html(
            "staff/customer.html",
            status,
            session=session,
            nav="worklist",
            title=account.customer.name or account.customer.customer_id,
            account=account,
            open_tasks=open_tasks,
            task=selected,
            forms=forms or {},
            errors=dict(errors or {}),
            done=done,
            days_past_due=lambda due: days_past_due(account, due),
            aging_label=lambda due: AGING_LABELS[aging_bucket(days_past_due(account, due))],
            timeline=sorted(account.timeline, key=lambda entry: entry.at, reverse=True),
            outcome_labels=[(o.value, label) for o, label in OUTCOME_LABELS.items()],
            # A collector's own task and one-off email (console/manual.py); a fresh idempotency key per
            # page, so a double click or a retried request of one form does it once.
            task_kinds=manual.TASK_KINDS,
            email_templates=manual.EMAIL_TEMPLATES,
            form_key=secrets.token_urlsafe(18),
            reasons=[(r.value, label) for r, label in REASON_LABELS.items()],
            reason_labels={r.value: label for r, label in REASON_LABELS.items()},
            status_labels=DISPUTE_STATUS_LABELS,
            transitions={
                status.value: [(s.value, DISPUTE_STATUS_LABELS[s]) for s in nexts]
                for status, nexts in DISPUTE_TRANSITIONS.items()
            },
            cash_forms=[_cash_form(payment, account, forms or {}) for payment in unapplied],
            plans=staff.workspace.payment_plans(customer_id, now=staff.web.now()),
            deduction_reasons=deduction_routes.REASONS,
            deduction_outcomes=deduction_routes.OUTCOMES,
            placements=credit_rules.placements([*account.open_invoices, *account.closed_invoices]),
            placeable=credit_rules.placeable(account.open_invoices),
        )

    def field_errors(form_id: str, fields: Iterable[str], error: WorkspaceInputError) -> dict[str, str]:
        """The error keyed by the id of the control it is about (the form's own id when the field is
        not one of its controls), so the summary links to it and the control names it."""
        name = error.field if error.field in fields else None
        return {f"{form_id}-{name}" if name else form_id: error.message}

    def posted(
        customer_id: str,
        form_name: str,
        call: Callable[[StaffSession, Form], Mapping[str, Any]],
        done: Callable[[Mapping[str, Any]], str] | str,
        *,
        task_id: str | None = None,
    ) -> Response[str]:
        """Run one form of the 360 page: CSRF, the call (with the session's user), 303 on success,
        the page again with the field's message and the typed values on WorkspaceInputError."""
        session = staff.require_session()
        raw = staff.checked_form(session)
        values: dict[str, Any] = {}
        try:
            values = dict(call(session, raw))
        except WorkspaceInputError as error:
            typed = _typed(raw, FORMS[form_name])
            return account_page(
                session,
                customer_id,
                400,
                task_id=task_id,
                forms={form_name: typed},
                errors=field_errors(form_name, FORMS[form_name], error),
            )
        what = done if isinstance(done, str) else done(values)
        return staff.redirect(staff.customer_path(customer_id, what))

    @app.get(f"{PREFIX}/customers/<customer_id>", include_in_schema=False)
    def customer(customer_id: str) -> Response[str]:
        session = staff.require_session()
        return account_page(session, customer_id, task_id=staff.web.query("task"))

    @app.post(f"{PREFIX}/customers/<customer_id>/tasks/<task_id>/outcome", include_in_schema=False)
    def outcome(customer_id: str, task_id: str) -> Response[str]:
        def call(session: StaffSession, form: Form) -> Mapping[str, Any]:
            chosen = one(form, "outcome")
            promise = chosen == CallOutcome.PROMISE_TAKEN
            dispute = chosen == CallOutcome.DISPUTE_LOGGED
            staff.workspace.record_outcome(
                customer_id,
                task_id,
                outcome=chosen,
                note=one(form, "note"),
                by=session.user,
                now=staff.web.now(),
                promised_until=one(form, "promised_until") if promise else None,
                promise_amount=one(form, "promise_amount") if promise else None,
                invoice_numbers=many(form, "invoice_numbers") if promise or dispute else None,
                dispute_reason=one(form, "dispute_reason") if dispute else None,
            )
            return {}

        return posted(customer_id, "outcome", call, "outcome", task_id=task_id)

    @app.post(f"{PREFIX}/customers/<customer_id>/notes", include_in_schema=False)
    def note(customer_id: str) -> Response[str]:
        def call(session: StaffSession, form: Form) -> Mapping[str, Any]:
            staff.workspace.add_note(
                customer_id, text=one(form, "text"), by=session.user, now=staff.web.now()
            )
            return {}

        return posted(customer_id, "note", call, "note")

    @app.post(f"{PREFIX}/customers/<customer_id>/promises", include_in_schema=False)
    def promise(customer_id: str) -> Response[str]:
        def call(session: StaffSession, form: Form) -> Mapping[str, Any]:
            staff.workspace.take_promise(
                customer_id,
                invoice_numbers=many(form, "invoice_numbers"),
                amount=one(form, "amount"),
                promised_until=one(form, "promised_until"),
                by=session.user,
                now=staff.web.now(),
            )
            return {}

        return posted(customer_id, "promise", call, "promise")

    @app.post(f"{PREFIX}/customers/<customer_id>/payment-plans", include_in_schema=False)
    def payment_plan(customer_id: str) -> Response[str]:
        def call(session: StaffSession, form: Form) -> Mapping[str, Any]:
            staff.workspace.agree_plan(
                customer_id,
                invoice_numbers=many(form, "invoice_numbers"),
                count=one(form, "count"),
                first_due=one(form, "first_due"),
                every_days=one(form, "every_days"),
                by=session.user,
                now=staff.web.now(),
                replaces=one(form, "replaces"),
                reason=one(form, "reason"),
            )
            return {}

        return posted(customer_id, "plan", call, "plan")

    @app.post(f"{PREFIX}/customers/<customer_id>/payment-plans/cancel", include_in_schema=False)
    def cancel_payment_plan(customer_id: str) -> Response[str]:
        def call(session: StaffSession, form: Form) -> Mapping[str, Any]:
            staff.workspace.cancel_plan(
                customer_id,
                one(form, "plan_id"),
                reason=one(form, "reason"),
                by=session.user,
                now=staff.web.now(),
            )
            return {}

        return posted(customer_id, "plan-cancel", call, "plan-cancel")

    @app.post(f"{PREFIX}/customers/<customer_id>/disputes", include_in_schema=False)
    def dispute(customer_id: str) -> Response[str]:
        def call(session: StaffSession, form: Form) -> Mapping[str, Any]:
            staff.workspace.log_dispute(
                customer_id,
                invoice_number=one(form, "invoice_number"),
                reason=one(form, "reason"),
                comment=one(form, "comment"),
                by=session.user,
                now=staff.web.now(),
            )
            return {}

        return posted(customer_id, "dispute", call, "dispute")

    @app.post(f"{PREFIX}/customers/<customer_id>/disputes/<dispute_id>/status", include_in_schema=False)
    def dispute_status(customer_id: str, dispute_id: str) -> Response[str]:
        session = staff.require_session()
        raw = staff.checked_form(session)
        form_id = f"move-{dom_id(dispute_id)}"
        credit = one(raw, "credit_amount")
        try:
            staff.workspace.move_dispute(
                customer_id,
                dispute_id,
                status=one(raw, "status"),
                note=one(raw, "note"),
                by=session.user,
                now=staff.web.now(),
                credit_amount=credit or None,
            )
        except WorkspaceInputError as error:
            return account_page(
                session,
                customer_id,
                400,
                forms={form_id: _typed(raw, DISPUTE_MOVE_FIELDS)},
                errors=field_errors(form_id, DISPUTE_MOVE_FIELDS, error),
            )
        return staff.redirect(staff.customer_path(customer_id, "dispute-status"))

    @app.post(f"{PREFIX}/customers/<customer_id>/payments/<payment_id>/apply", include_in_schema=False)
    def apply_cash(customer_id: str, payment_id: str) -> Response[str]:
        session = staff.require_session()
        raw = staff.checked_form(session)
        form_id = f"cash-{dom_id(payment_id)}"
        numbers, amounts = raw.get("invoice_numbers", []), raw.get("amounts", [])
        if len(numbers) != len(amounts):
            raise WorkspaceInputError("allocations", "each amount needs its invoice: reload the page")
        try:
            staff.workspace.apply_cash(
                customer_id,
                payment_id,
                allocations=list(zip(numbers, amounts, strict=True)),
                note=one(raw, "note"),
                unapplied=one(raw, "unapplied"),
                by=session.user,
                now=staff.web.now(),
            )
        except WorkspaceInputError as error:
            typed = {
                **_typed(raw, ("note", "unapplied")),
                "amounts": dict(zip(numbers, amounts, strict=True)),
            }
            return account_page(
                session,
                customer_id,
                400,
                forms={form_id: typed},
                errors=field_errors(form_id, APPLY_CASH_FIELDS, error),
            )
        return staff.redirect(staff.customer_path(customer_id, "cash"))

    @app.post(f"{PREFIX}/customers/<customer_id>/pause", include_in_schema=False)
    def pause(customer_id: str) -> Response[str]:
        def call(session: StaffSession, form: Form) -> Mapping[str, Any]:
            staff.workspace.pause(
                customer_id,
                until=one(form, "until"),
                reason=one(form, "reason"),
                by=session.user,
                now=staff.web.now(),
            )
            return {}

        return posted(customer_id, "pause", call, "pause")

    @app.post(f"{PREFIX}/customers/<customer_id>/hold", include_in_schema=False)
    def hold(customer_id: str) -> Response[str]:
        def call(session: StaffSession, form: Form) -> Mapping[str, Any]:
            choice = one(form, "hold")
            if choice not in ("on", "off"):
                raise WorkspaceInputError("hold", "choose whether to put the customer on hold or release it")
            staff.workspace.set_hold(
                customer_id,
                hold=choice == "on",
                reason=one(form, "reason"),
                by=session.user,
                now=staff.web.now(),
            )
            return {"hold": choice}

        return posted(customer_id, "hold", call, lambda values: f"hold-{values['hold']}")

    @app.post(f"{PREFIX}/customers/<customer_id>/tasks", include_in_schema=False)
    def new_task(customer_id: str) -> Response[str]:
        """A collector's own task or follow-up, for themselves or a colleague, due on a day."""

        def call(session: StaffSession, form: Form) -> Mapping[str, Any]:
            try:
                staff.workspace.create_task(
                    customer_id,
                    title=one(form, "title"),
                    due_on=one(form, "due_on"),
                    assignee=one(form, "assignee"),
                    kind=one(form, "kind"),
                    note=one(form, "note"),
                    invoice_numbers=many(form, "invoice_numbers"),
                    key=one(form, "idempotency_key"),
                    by=session.user,
                    now=staff.web.now(),
                )
            except WorkspaceInputError as error:
                if error.field == "customer_id":
                    raise manual.UnknownCustomer(error) from None
                raise
            return {}

        return posted(customer_id, "task", call, "task")

    @app.post(f"{PREFIX}/customers/<customer_id>/emails", include_in_schema=False)
    def one_off_email(customer_id: str) -> Response[str]:
        """A one-off email from a template: a statement, a fresh portal link, a payment confirmation."""

        def call(session: StaffSession, form: Form) -> Mapping[str, Any]:
            try:
                receipt = staff.workspace.send_one_off(
                    customer_id,
                    template=one(form, "template"),
                    key=one(form, "idempotency_key"),
                    payment_id=one(form, "payment_id"),
                    by=session.user,
                    now=staff.web.now(),
                    portal_url=manual.portal_url(staff),
                )
            except WorkspaceInputError as error:
                if error.field == "customer_id":
                    raise manual.UnknownCustomer(error) from None
                raise
            return {"done": manual.done_after_send(receipt)}

        return posted(customer_id, "email", call, lambda values: str(values["done"]))

    @app.post(f"{PREFIX}/customers/<customer_id>/owner", include_in_schema=False)
    def owner(customer_id: str) -> Response[str]:
        """A manager gives the customer to another collector, for good or until a day (a cover)."""

        def call(session: StaffSession, form: Form) -> Mapping[str, Any]:
            staff.workspace.reassign_account(
                customer_id,
                to=one(form, "to"),
                until=one(form, "until"),
                by=session.user,
                now=staff.web.now(),
            )
            return {}

        return posted(customer_id, "owner", call, "owner")


@dataclass(frozen=True)
class CashForm:
    """The apply-cash form of one payment with unapplied cash: its id, the invoices that can take the
    money (oldest due first) with the amount to show for each, and the suggestions."""

    form_id: str
    payment: Payment
    rows: tuple[tuple[Invoice, str], ...]
    suggestions: tuple[cash.Suggestion, ...]


def _cash_form(payment: Payment, account: Account360, forms: Mapping[str, Mapping[str, Any]]) -> CashForm:
    """What the collector typed (after an error), else the first suggestion's amounts, filled in."""
    form_id = f"cash-{dom_id(payment.payment_id)}"
    pool = cash.candidates(payment.currency, account.open_invoices)
    suggestions = cash.suggest(payment.unapplied_amount, payment.currency, payment.reference, pool)
    typed = forms.get(form_id, {}).get("amounts")
    if typed is None:
        first = suggestions[0] if suggestions else None
        typed = dict(zip(first.invoice_numbers, map(str, first.amounts), strict=True)) if first else {}
    rows = tuple((invoice, str(typed.get(invoice.invoice_number, ""))) for invoice in pool)
    return CashForm(form_id, payment, rows, suggestions)


def _typed(form: Form, fields: Iterable[str]) -> dict[str, Any]:
    """What the user typed into ``fields``, to put back into the form (lists stay lists)."""
    typed: dict[str, Any] = {}
    for name in fields:
        if name == "invoice_numbers":
            typed[name] = many(form, name)
        else:
            typed[name] = (form.get(name) or [""])[-1]
    return typed
