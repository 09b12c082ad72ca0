"""The portal's payment plan page: ``GET``/``POST /payment-plan``. The customer chooses invoices, the
number of instalments, the first due date and the days between; the customer comes from the session
only and the POST checks the CSRF token. A plan beyond the policy's limits is refused beside the field
with the limit it breaks. (The JSON route is ``plan_api``: pages never load its validation models.)"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response

from arcollect.portal.access import Session
from arcollect.portal.inputs import PortalInputError
from arcollect.portal.web import sessions
from arcollect.portal.web.common import CsrfRejected, PageRedirect, Web

SESSION_ENDED = "/link?reason=ended"


def register_pages(web: Web) -> None:
    app = web.app

    def require_session() -> Session:
        session = web.session()
        if session is None:
            raise PageRedirect(SESSION_ENDED)
        return session

    def page(session: Session, status: int, form: dict[str, Any], errors: dict[str, str]) -> Response[str]:
        now = web.now()
        account = web.portal.account(session.customer_id, today=now.date())
        invoices = [
            v
            for v in account.invoices
            if v.status not in {"disputed", "credit", "promised", "plan", "agency"}
        ]
        # The currencies a plan could be in (the invoices offered, else the account's): the page writes
        # the minimum instalment in each, with its decimals ("50 JPY", "50.000 KWD", "50.00 EUR").
        currencies = sorted({v.invoice.currency for v in invoices} or {t.currency for t in account.totals})
        return web.html(
            "payment_plan.html",
            status,
            session=session,
            title="Agree a payment plan",
            nav="plan",
            invoices=invoices,
            currencies=currencies,
            plans=web.portal.payment_plans(session.customer_id, now=now),
            limits=web.portal.plan_limits(),
            form=form,
            errors=errors,
        )

    @app.get("/payment-plan", include_in_schema=False)
    def plan_form() -> Response[str]:
        session = require_session()
        chosen = [web.query("invoice")] if web.query("invoice") else []
        blank = {"invoice_numbers": chosen, "count": "", "first_due": "", "every_days": "30"}
        return page(session, 200, blank, {})

    @app.post("/payment-plan", include_in_schema=False)
    def agree() -> Response[str]:
        session = require_session()
        raw = web.form()
        if not sessions.csrf_matches(session.csrf_token, (raw.get(sessions.CSRF_FIELD) or [""])[-1]):
            raise CsrfRejected

        def one(name: str) -> str:
            return (raw.get(name) or [""])[-1].strip()

        form: dict[str, Any] = {
            "invoice_numbers": [n.strip() for n in raw.get("invoice_numbers", []) if n.strip()],
            "count": one("count"),
            "first_due": one("first_due"),
            "every_days": one("every_days"),
        }
        try:
            plan = web.portal.payment_plan(
                session.customer_id,
                invoice_numbers=form["invoice_numbers"],
                count=form["count"],
                first_due=form["first_due"],
                every_days=form["every_days"],
                now=web.now(),
            )
        except PortalInputError as error:
            return page(session, 400, form, {error.field: error.message})
        return web.html(
            "payment_plan_done.html", session=session, title="Payment plan agreed", nav="plan", plan=plan
        )
