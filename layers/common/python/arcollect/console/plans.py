"""The staff console's JSON route for payment plans (the 360 page's form is in ``accounts``):

``POST /staff/api/customers/<customer id>/payment-plans`` with the staff session cookie and the session's
CSRF token in ``X-CSRF-Token``; the body names ``invoice_numbers`` and either ``instalments``
(``[{"due_date": "YYYY-MM-DD", "amount": "600.00"}]``) or ``count``, ``first_due`` and ``every_days``.
201 with the plan (the same request again answers the same plan); 400 ``{"error": {"field",
"message"}}`` naming what is wrong, as every route of the console's API answers
(``StaffWeb.json_answer``); 401 without a session, 403 without the token, 404 for an unknown
customer, 409 when an invoice changed meanwhile. With ``replaces`` (a plan id) and an optional
``reason`` it renegotiates that open or broken plan: cancelled and the new one agreed in its place, in
one transaction.

``POST /staff/api/customers/<customer id>/payment-plans/<plan id>/cancel`` with ``{"reason": "..."}``
(required) cancels an open plan: 200 with the plan (cancelled; the same request again answers the same),
400 naming what is wrong (a plan completed or broken is not cancelled), 404 for an unknown plan."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response

from arcollect.console.common import PREFIX, StaffWeb
from arcollect.money import plain
from arcollect.plans import PaymentPlan, RequestedInstalment
from arcollect.staff import StaffSession
from arcollect.workspace.model import WorkspaceInputError

API = f"{PREFIX}/api"


def plan_json(plan: PaymentPlan) -> dict[str, Any]:
    """A plan as the JSON routes answer it (amounts as decimal strings, dates as ISO days)."""
    return {
        "plan_id": plan.plan_id,
        "customer_id": plan.customer_id,
        "invoice_numbers": list(plan.invoice_numbers),
        "currency": plan.currency,
        "total": plain(plan.total, plan.currency),
        "status": plan.status,
        "source": plan.source,
        "created_at": plan.created_at.isoformat(),
        "instalments": [
            {"number": i.number, "due_date": i.due_date.isoformat(), "amount": plain(i.amount, plan.currency)}
            for i in plan.instalments
        ],
    }


def register(staff: StaffWeb) -> None:
    app = staff.web.app

    @app.post(f"{API}/customers/<customer_id>/payment-plans", include_in_schema=False)
    def agree(customer_id: str) -> Response[Any]:
        def call(session: StaffSession, body: dict[str, Any]) -> tuple[int, Any]:
            instalments = _instalments(body.get("instalments"))
            numbers = body.get("invoice_numbers")
            if not isinstance(numbers, list) or not all(isinstance(n, str) for n in numbers):
                raise WorkspaceInputError("invoice_numbers", "expected a list of invoice numbers")
            plan = staff.workspace.agree_plan(
                customer_id,
                invoice_numbers=numbers,
                instalments=instalments,
                count=_text(body.get("count")),
                first_due=_text(body.get("first_due")),
                every_days=_text(body.get("every_days")),
                by=session.user,
                now=staff.web.now(),
                replaces=_text(body.get("replaces")),
                reason=_text(body.get("reason")),
            )
            return 201, plan_json(plan)

        return staff.json_answer(call)

    @app.post(f"{API}/customers/<customer_id>/payment-plans/<plan_id>/cancel", include_in_schema=False)
    def cancel(customer_id: str, plan_id: str) -> Response[Any]:
        def call(session: StaffSession, body: dict[str, Any]) -> tuple[int, Any]:
            plan = staff.workspace.cancel_plan(
                customer_id,
                plan_id,
                reason=str(body.get("reason") or ""),
                by=session.user,
                now=staff.web.now(),
            )
            return 200, plan_json(plan)

        return staff.json_answer(call)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _instalments(value: Any) -> list[RequestedInstalment] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise WorkspaceInputError("instalments", 'expected a list of {"due_date", "amount"} objects')
    return [RequestedInstalment(str(i.get("due_date") or ""), str(i.get("amount") or "")) for i in value]
