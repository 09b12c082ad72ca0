"""The portal's payment plan API: ``POST /api/v1/payment-plans`` (JSON: explicit instalments, or
``count``, ``first_due`` and ``every_days`` for equal ones), with the session's CSRF token in
``X-CSRF-Token``. 201 with the plan (the same request again answers the same plan); 400 naming the field,
and for a plan beyond the policy's limits the limit it breaks."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import BaseModel, ConfigDict, Field

from arcollect.money import plain
from arcollect.plans import PaymentPlan, RequestedInstalment
from arcollect.portal.web import sessions
from arcollect.portal.web.api import Amount
from arcollect.portal.web.common import API_PREFIX, ApiError, CsrfRejected, Web


class InstalmentIn(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    due_date: str = Field(description="ISO date (YYYY-MM-DD) the instalment is due.", max_length=10)
    amount: str = Field(description='Decimal amount, e.g. "600.00".', max_length=32)


class PaymentPlanIn(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    invoice_numbers: list[Annotated[str, Field(max_length=100)]] = Field(min_length=1, max_length=50)
    instalments: list[InstalmentIn] | None = Field(
        default=None,
        max_length=36,
        description="The instalments, oldest first; they add up to the invoices' open amount. Or give "
        "count, first_due and every_days for equal instalments.",
    )
    count: int | None = Field(default=None, ge=0, le=1000, description="The number of equal instalments.")
    first_due: str | None = Field(default=None, max_length=10, description="ISO date of the first.")
    every_days: int | None = Field(default=None, ge=0, le=1000, description="Days between instalments.")


class InstalmentOut(BaseModel):
    number: int
    due_date: date
    amount: Amount


class PaymentPlanOut(BaseModel):
    plan_id: str
    invoice_numbers: list[str]
    currency: str
    total: Amount
    status: str
    instalments: list[InstalmentOut]


def plan_out(plan: PaymentPlan) -> PaymentPlanOut:
    return PaymentPlanOut(
        plan_id=plan.plan_id,
        invoice_numbers=list(plan.invoice_numbers),
        currency=plan.currency,
        total=plain(plan.total, plan.currency),
        status=plan.status,
        instalments=[
            InstalmentOut(number=i.number, due_date=i.due_date, amount=plain(i.amount, plan.currency))
            for i in plan.instalments
        ],
    )


def register_api(web: Web) -> None:
    app = web.app

    @app.post(
        f"{API_PREFIX}/payment-plans",
        summary="Agree a payment plan: instalments for open invoices, within the policy's limits",
        tags=["Actions"],
    )
    def create_plan(body: Annotated[PaymentPlanIn, Body()]) -> Response[Any]:
        session = web.session()
        if session is None:
            raise ApiError(401, "no session: open the link from an email, or POST /api/v1/session")
        if not sessions.csrf_matches(session.csrf_token, sessions.header(web.event, sessions.CSRF_HEADER)):
            raise CsrfRejected
        plan = web.portal.payment_plan(
            session.customer_id,
            invoice_numbers=body.invoice_numbers,
            instalments=[RequestedInstalment(i.due_date, i.amount) for i in body.instalments]
            if body.instalments
            else None,
            count=body.count,
            first_due=body.first_due,
            every_days=body.every_days,
            now=web.now(),
        )
        return Response(
            status_code=201,
            content_type=content_types.APPLICATION_JSON,
            body=plan_out(plan).model_dump(mode="json"),
        )
