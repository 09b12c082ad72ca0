"""Credit control in the staff console: the 360 page's forms to put a customer on credit hold or lift
it, place invoices with a collection agency (a manager's), write the hand-off again, recall a
placement and record what the agency collected (workspace/credit_control.py). A form that worked
answers 303 to the 360 page with ``?done=<what>``; refused input gets the console's message page naming
the field (console/errors.py)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from arcollect.console.common import PREFIX, StaffWeb, many, one
from arcollect.workspace.model import WorkspaceInputError

DONE_MESSAGES = {
    "credit-hold-on": "The customer is on credit hold: the ERP learns it from the change feed.",
    "credit-hold-off": "The credit hold was lifted.",
    "agency": "The invoices were placed with the agency; the hand-off file is in the drop bucket.",
    "agency-recalled": "The invoices were recalled from the agency: dunning works them again.",
    "agency-collected": "What the agency collected was applied.",
}


def register(staff: StaffWeb) -> None:
    app = staff.web.app
    customer = f"{PREFIX}/customers/<customer_id>"

    @app.post(f"{customer}/credit-hold", include_in_schema=False)
    def credit_hold(customer_id: str) -> Response[str]:
        session = staff.require_session()
        form = staff.checked_form(session)
        choice = one(form, "hold")
        if choice not in ("on", "off"):
            raise WorkspaceInputError("hold", "choose whether to put the customer on credit hold or lift it")
        staff.workspace.set_credit_hold(
            customer_id, hold=choice == "on", reason=one(form, "reason"), by=session.user, now=staff.web.now()
        )
        return staff.redirect(staff.customer_path(customer_id, f"credit-hold-{choice}"))

    @app.post(f"{customer}/agency", include_in_schema=False)
    def place(customer_id: str) -> Response[str]:
        session = staff.require_session()
        form = staff.checked_form(session)
        receipt = staff.workspace.place_with_agency(
            customer_id,
            agency=one(form, "agency"),
            invoice_numbers=many(form, "invoice_numbers"),
            note=one(form, "note"),
            by=session.user,
            now=staff.web.now(),
        )
        if receipt.export_error:
            return staff.message(
                200,
                "Placed, but the hand-off file is missing",
                f"The invoices are with {receipt.placement.agency}. {receipt.export_error}.",
                session=session,
                back=(staff.customer_path(customer_id), "Back to the customer"),
            )
        return staff.redirect(staff.customer_path(customer_id, "agency"))

    @app.post(f"{customer}/agency/<placement>/export", include_in_schema=False)
    def export(customer_id: str, placement: str) -> Response[str]:
        session = staff.require_session()
        staff.checked_form(session)
        receipt = staff.workspace.export_handoff(customer_id, placement, by=session.user, now=staff.web.now())
        if receipt.export_error:
            return staff.message(
                503,
                "The hand-off file was not written",
                receipt.export_error,
                session=session,
                back=(staff.customer_path(customer_id), "Back to the customer"),
            )
        return staff.redirect(staff.customer_path(customer_id, "agency"))

    @app.post(f"{customer}/agency/<placement>/recall", include_in_schema=False)
    def recall(customer_id: str, placement: str) -> Response[str]:
        session = staff.require_session()
        form = staff.checked_form(session)
        staff.workspace.recall_from_agency(
            customer_id, placement, note=one(form, "note"), by=session.user, now=staff.web.now()
        )
        return staff.redirect(staff.customer_path(customer_id, "agency-recalled"))

    @app.post(f"{customer}/agency/<placement>/collected", include_in_schema=False)
    def collected(customer_id: str, placement: str) -> Response[str]:
        session = staff.require_session()
        form = staff.checked_form(session)
        staff.workspace.agency_collected(
            customer_id,
            placement,
            invoice_number=one(form, "invoice_number"),
            amount=one(form, "amount"),
            reference=one(form, "reference"),
            by=session.user,
            now=staff.web.now(),
        )
        return staff.redirect(staff.customer_path(customer_id, "agency-collected"))
