"""A collector's own work in the staff console: the 360 page's "make a task" and "send an email" forms
are in ``accounts`` (they re-render the page with the field's message); here are what they share with
the JSON routes, the JSON routes themselves, and the answers to a send the mail service did not take.

JSON (the session's cookie, and its CSRF token in the ``X-CSRF-Token`` header, as the console's other
JSON routes take them):

- ``POST /staff/api/customers/<id>/tasks`` ``{"title", "due_on", "assignee"?, "kind"?, "note"?,
  "invoice_numbers"?, "idempotency_key"?}``: 201 ``{"task": ..., "created": true}``; the same
  idempotency key again answers 200 with the task it made and ``"created": false``.
- ``POST /staff/api/customers/<id>/emails`` ``{"template", "idempotency_key", "payment_id"?}``: 201
  ``{"email": ...}`` when SES took it; 200 with ``"repeated": true`` when the key was sent before (nothing
  is sent again); 202 when SES's answer was lost (``"status": "unconfirmed"``: it is never sent again);
  503 when SES sent nothing (the same key may be sent again).

Errors answer ``{"error": {"field", "message"}}``: 400 for input (the field it is about: ``customer_id``
for a customer that does not exist, ``due_on``, ``title``, ``to`` for an address that cannot be written
to...), 403, 404, 409.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from aws_lambda_powertools.event_handler import Response

from arcollect.console.common import PREFIX, WORKLIST, StaffWeb, body_text, body_texts
from arcollect.entities import Task
from arcollect.portal.web import sessions
from arcollect.staff import StaffSession
from arcollect.workspace.follow_ups import KINDS
from arcollect.workspace.model import WorkspaceInputError
from arcollect.workspace.one_off import TEMPLATES, MailUnavailable, SendReceipt

API = f"{PREFIX}/api"
TASK_KINDS = list(KINDS.items())
EMAIL_TEMPLATES = list(TEMPLATES.items())


class UnknownCustomer(Exception):
    """A form posted for a customer that does not exist: no page of it to show the message on."""

    def __init__(self, error: WorkspaceInputError) -> None:
        super().__init__(error.message)
        self.error = error


def done_after_send(receipt: SendReceipt) -> str:
    """The 360's status message after a send form: sent, sent before (a repeat), or unconfirmed."""
    if receipt.status != "sent":
        return "email-unconfirmed"
    return "email-again" if receipt.repeated else "email"


def portal_url(staff: StaffWeb) -> str:
    """The portal's URL as this request came in: where a link in a one-off email leads, unless the
    stack configures the portal's URL."""
    return sessions.public_base_url(staff.event)


def task_json(task: Task) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in asdict(task).items():
        data[key] = value.isoformat() if isinstance(value, datetime | date) else value
    return data


def register(staff: StaffWeb) -> None:
    app = staff.web.app
    handles: Any = app.exception_handler

    def unknown_customer(error: UnknownCustomer) -> Response[Any]:
        return staff.message(
            400,
            "That could not be done",
            f"{error.error.field}: {error.error.message}",
            session=staff.session(),
            back=(WORKLIST, "Back to your worklist"),
        )

    def mail_unavailable(error: MailUnavailable) -> Response[Any]:
        if f"{API}/" in staff.event.path:
            return staff.web.json_error(503, str(error))
        return staff.message(
            503,
            "The email was not sent",
            f"{str(error)[:1].upper()}{str(error)[1:]}.",
            "Go back and send the same form again: it is sent once.",
            session=staff.session(),
            back=(WORKLIST, "Back to your worklist"),
        )

    handles(UnknownCustomer)(unknown_customer)
    handles(MailUnavailable)(mail_unavailable)

    @app.post(f"{API}/customers/<customer_id>/tasks", include_in_schema=False)
    def task_json_route(customer_id: str) -> Response[Any]:
        def call(session: StaffSession, body: dict[str, Any]) -> tuple[int, Any]:
            made = staff.workspace.create_task(
                customer_id,
                title=body_text(body, "title"),
                due_on=body_text(body, "due_on"),
                assignee=body_text(body, "assignee"),
                kind=body_text(body, "kind"),
                note=body_text(body, "note"),
                invoice_numbers=body_texts(body, "invoice_numbers"),
                key=body_text(body, "idempotency_key"),
                by=session.user,
                now=staff.web.now(),
            )
            return (201 if made.created else 200), {"task": task_json(made.task), "created": made.created}

        return staff.json_answer(call)

    @app.post(f"{API}/customers/<customer_id>/emails", include_in_schema=False)
    def email_json_route(customer_id: str) -> Response[Any]:
        def call(session: StaffSession, body: dict[str, Any]) -> tuple[int, Any]:
            receipt = staff.workspace.send_one_off(
                customer_id,
                template=body_text(body, "template"),
                key=body_text(body, "idempotency_key"),
                payment_id=body_text(body, "payment_id"),
                by=session.user,
                now=staff.web.now(),
                portal_url=portal_url(staff),
            )
            status = 202 if receipt.status != "sent" else 200 if receipt.repeated else 201
            return status, {"email": {**asdict(receipt), "to": list(receipt.to)}}

        return staff.json_answer(call)
