"""Deductions in the staff console: the 360 page's forms (code a short payment with a reason, resolve
a deduction by credit or rebill) and the same as JSON for a client of the console's own (a cash
application tool, a script): ``GET /staff/api/deductions``, ``POST
/staff/api/customers/<id>/deductions`` and ``POST .../deductions/<id>/resolve``.

The JSON routes take the signed-in session's cookie like the pages and its CSRF token in the
``X-CSRF-Token`` header (a JSON body cannot be sent cross-site without CORS, the header is the check a
form field is for a page). Errors answer ``{"error": {"field", "message"}}`` with 400, 403, 404 or 409.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from aws_lambda_powertools.event_handler import Response

from arcollect.console.common import PREFIX, StaffWeb, body_text, one
from arcollect.deductions import REASON_LABELS, DeductionOutcome
from arcollect.money import plain
from arcollect.staff import StaffSession
from arcollect.workspace.model import (
    DisputeView,
)

API = f"{PREFIX}/api"
OUTCOME_LABELS = {
    DeductionOutcome.CREDIT: "Credit: agreed, write the residual off",
    DeductionOutcome.REBILL: "Rebill: not agreed, collect the residual",
}
REASONS = [(reason.value, label) for reason, label in REASON_LABELS.items()]
OUTCOMES = [(outcome.value, label) for outcome, label in OUTCOME_LABELS.items()]


def view_json(view: DisputeView) -> dict[str, Any]:
    """A deduction as the JSON routes answer it (amounts as strings, instants and days ISO-8601)."""
    data: dict[str, Any] = {}
    for key, value in asdict(view).items():
        if isinstance(value, Decimal):
            value = plain(value, view.currency or "")
        elif isinstance(value, datetime | date):
            value = value.isoformat()
        data[key] = value
    return data


def register(staff: StaffWeb) -> None:
    app = staff.web.app

    @app.post(f"{PREFIX}/customers/<customer_id>/deductions", include_in_schema=False)
    def code(customer_id: str) -> Response[str]:
        session = staff.require_session()
        form = staff.checked_form(session)
        staff.workspace.code_deduction(
            customer_id,
            invoice_number=one(form, "invoice_number"),
            reason=one(form, "reason"),
            comment=one(form, "comment"),
            by=session.user,
            now=staff.web.now(),
        )
        return staff.redirect(staff.customer_path(customer_id, "deduction"))

    @app.post(f"{PREFIX}/customers/<customer_id>/deductions/<deduction_id>/resolve", include_in_schema=False)
    def resolve(customer_id: str, deduction_id: str) -> Response[str]:
        session = staff.require_session()
        form = staff.checked_form(session)
        staff.workspace.resolve_deduction(
            customer_id,
            deduction_id,
            outcome=one(form, "outcome"),
            note=one(form, "note"),
            by=session.user,
            now=staff.web.now(),
        )
        return staff.redirect(staff.customer_path(customer_id, "deduction-resolved"))

    # --- JSON ----------------------------------------------------------------------------------------

    @app.get(f"{API}/deductions", include_in_schema=False)
    def listed() -> Response[Any]:
        def call(_: StaffSession, __: dict[str, Any]) -> tuple[int, Any]:
            views = staff.workspace.deductions(
                now=staff.web.now(), include_closed=staff.web.query("all") == "1"
            )
            return 200, {"deductions": [view_json(view) for view in views]}

        return staff.json_answer(call)

    @app.post(f"{API}/customers/<customer_id>/deductions", include_in_schema=False)
    def code_json(customer_id: str) -> Response[Any]:
        def call(session: StaffSession, body: dict[str, Any]) -> tuple[int, Any]:
            view = staff.workspace.code_deduction(
                customer_id,
                invoice_number=body_text(body, "invoice_number"),
                reason=body_text(body, "reason"),
                comment=body_text(body, "comment"),
                by=session.user,
                now=staff.web.now(),
            )
            return 201, {"deduction": view_json(view)}

        return staff.json_answer(call)

    @app.post(f"{API}/customers/<customer_id>/deductions/<deduction_id>/resolve", include_in_schema=False)
    def resolve_json(customer_id: str, deduction_id: str) -> Response[Any]:
        def call(session: StaffSession, body: dict[str, Any]) -> tuple[int, Any]:
            view = staff.workspace.resolve_deduction(
                customer_id,
                deduction_id,
                outcome=body_text(body, "outcome"),
                note=body_text(body, "note"),
                by=session.user,
                now=staff.web.now(),
            )
            return 200, {"deduction": view_json(view)}

        return staff.json_answer(call)
