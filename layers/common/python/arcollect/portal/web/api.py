"""The JSON API under /api/v1, described by Powertools' OpenAPI support (pydantic models).

The API authenticates by the same ``arc_session`` cookie as the pages; every POST and PUT also needs the
session's CSRF token in the ``X-CSRF-Token`` header (GET /api/v1/account returns it as ``csrf_token``).
Request models ignore unknown properties, so a body naming a customer id has no effect: the customer is
always the session's.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from arcollect.entities import DisputeReason
from arcollect.languages import LANGUAGES
from arcollect.money import plain
from arcollect.portal.access import LinkRevoked, Session
from arcollect.portal.links import LinkExpired, LinkInvalid
from arcollect.portal.views import (
    AccountView,
    CurrencyTotals,
    InvoiceDetail,
    InvoiceFilter,
    InvoiceSort,
    InvoiceView,
)
from arcollect.portal.web import sessions
from arcollect.portal.web.common import API_PREFIX, ApiError, CsrfRejected, Web

TAG_SESSION = "Session"
TAG_ACCOUNT = "Account"
TAG_ACTIONS = "Actions"

# --- request bodies -----------------------------------------------------------------------------------


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class SessionIn(_In):
    token: str = Field(
        description="The token from the link in an email (the part after /l/).", max_length=2048
    )


class LinkRequestIn(_In):
    email: str = Field(description="The address to email a fresh link to, if it is on file.", max_length=320)


class PromiseIn(_In):
    invoice_numbers: list[str] = Field(min_length=1, max_length=200)
    amount: str = Field(
        description='Decimal amount in the invoices\' currency, e.g. "1250.00".', max_length=32
    )
    promised_until: str = Field(description="ISO date (YYYY-MM-DD) you will pay by.", max_length=10)


class AttachmentIn(_In):
    file_name: str = Field(max_length=255)
    content_type: str = Field(max_length=100)
    size: int = Field(ge=1)


class DisputeIn(_In):
    invoice_number: str = Field(max_length=100)
    reason: DisputeReason
    comment: str = Field(default="", max_length=5000)
    attachment: AttachmentIn | None = Field(
        default=None,
        description="A file you will upload next: a multipart/form-data POST to the returned upload_url "
        "with the upload_fields, the file last (at most the declared size, exactly the declared type, "
        "at most 10 MiB), then confirmed with POST /api/v1/disputes/{dispute_id}/attachment.",
    )


class ContactIn(_In):
    """Left out or null, ``other_emails``, ``phone`` and ``language`` stay as they are, so the account's
    own ``customer`` (GET /api/v1/account) can be sent back with one property changed."""

    email: str = Field(max_length=320)
    other_emails: list[str] | None = Field(
        default=None, max_length=20, description="Further AP addresses; [] for none. Null: unchanged."
    )
    # The bounds are ingest's (a number or language on file is taken back as it is); new values are
    # checked by the portal's rules.
    phone: str | None = Field(
        default=None,
        max_length=100,
        description='Digits, spaces, +, - and brackets, at most 40; "" for none. Null: unchanged.',
    )
    language: str | None = Field(
        default=None,
        max_length=35,
        description=f"One of {', '.join(LANGUAGES)} (a region code such as de-DE counts as its base "
        "language). Null: unchanged.",
    )


# --- responses ----------------------------------------------------------------------------------------

# An amount as the statements write it: a plain decimal string with its currency's decimals (ISO 4217:
# "1250.00" EUR, "150000" JPY, "1.250" KWD; ``money.plain``, never rounded), so "0" is "0.00" in EUR.
Amount = Annotated[
    str,
    Field(
        description="A decimal string with the currency's decimals (its ISO 4217 minor unit), as the "
        'statements write it: "1250.00" EUR, "150000" JPY, "1.250" KWD.',
        examples=["1250.00"],
    ),
]


class ErrorDetail(BaseModel):
    field: str | None
    message: str


class ErrorOut(BaseModel):
    error: ErrorDetail


class SessionOut(BaseModel):
    customer_id: str
    expires_at: datetime


class CustomerOut(BaseModel):
    customer_id: str
    name: str
    email: str
    other_emails: list[str]
    phone: str | None
    language: str | None


class TotalsOut(BaseModel):
    currency: str
    total_due: Amount
    overdue: Amount
    aging: dict[str, Amount]
    late_charges: Amount = Field(
        description="Statutory late-payment charges to date on the overdue invoices (interest and "
        "compensation); part of total_due only when charges_added.",
    )


class InvoiceOut(BaseModel):
    invoice_number: str
    currency: str
    amount: Amount
    open_amount: Amount
    # invoice | credit_note | write_off; what the item adds to the balance (a credit note: negative)
    document_type: str
    balance: Amount
    invoice_date: date
    due_date: date
    days_overdue: int
    status: str
    po_number: str | None
    description: str | None
    promised_until: date | None
    pay_url: str | None
    late_interest: Amount | None = Field(
        default=None, description="Statutory late-payment interest to date, when the policy computes it."
    )
    late_compensation: Amount | None = Field(
        default=None, description="The fixed late-payment compensation, when the policy computes it."
    )


class AccountOut(BaseModel):
    customer: CustomerOut
    totals: list[TotalsOut] = Field(
        description="One entry per currency; amounts are never summed across currencies."
    )
    open_invoices: int
    charges_added: bool = Field(
        default=False,
        description="Whether the policy adds the statutory late-payment charges to total_due "
        "(off by default).",
    )
    csrf_token: str = Field(description="Send as the X-CSRF-Token header on every POST and PUT.")
    session_expires_at: datetime


class InvoiceListOut(BaseModel):
    invoices: list[InvoiceOut]


class InvoiceDetailOut(BaseModel):
    invoice: InvoiceOut
    document_url: str | None
    promises: list[dict[str, str]]
    disputes: list[dict[str, str]]


class PromiseOut(BaseModel):
    promise_id: str
    invoice_numbers: list[str]
    promised_until: date
    amount: Amount
    currency: str


class DisputeOut(BaseModel):
    dispute_id: str
    invoice_number: str
    upload_url: str | None = Field(
        description="Presigned URL to POST the declared attachment to (multipart/form-data), if any."
    )
    upload_fields: dict[str, str] = Field(
        description="Form fields to send with that POST, before the file (which goes last, as 'file')."
    )


class AttachmentOut(BaseModel):
    dispute_id: str
    file_name: str
    content_type: str = Field(description="The declared type, which the file's content matched.")
    size: int


class MessageOut(BaseModel):
    at: datetime
    summary: str
    kind: str
    detail: dict[str, str]


class MessagesOut(BaseModel):
    messages: list[MessageOut]


class AcceptedOut(BaseModel):
    message: str


# --- conversions --------------------------------------------------------------------------------------


def invoice_out(view: InvoiceView) -> InvoiceOut:
    invoice = view.invoice
    currency = invoice.currency
    charges = view.late_charges
    return InvoiceOut(
        invoice_number=invoice.invoice_number,
        currency=currency,
        amount=plain(invoice.amount, currency),
        open_amount=plain(invoice.open_amount, currency),
        document_type=invoice.document_type,
        balance=plain(invoice.signed_open_amount, currency),
        invoice_date=invoice.invoice_date,
        due_date=invoice.due_date,
        days_overdue=view.days_overdue,
        status=view.status,
        po_number=invoice.po_number,
        description=invoice.description,
        promised_until=invoice.promised_until,
        pay_url=view.pay_url,
        late_interest=plain(charges.interest, currency) if charges else None,
        late_compensation=plain(charges.compensation, currency) if charges else None,
    )


def totals_out(line: CurrencyTotals) -> TotalsOut:
    currency = line.currency
    return TotalsOut(
        currency=currency,
        total_due=plain(line.total_due, currency),
        overdue=plain(line.overdue, currency),
        aging={bucket: plain(amount, currency) for bucket, amount in line.aging.items()},
        late_charges=plain(line.late_charges, currency),
    )


def account_out(view: AccountView, session: Session) -> AccountOut:
    customer = view.customer
    return AccountOut(
        customer=CustomerOut(
            customer_id=customer.customer_id,
            name=customer.name,
            email=customer.email,
            other_emails=list(customer.other_emails),
            phone=customer.phone,
            language=customer.language,
        ),
        totals=[totals_out(line) for line in view.totals],
        open_invoices=len(view.invoices),
        charges_added=view.charges_added,
        csrf_token=session.csrf_token,
        session_expires_at=session.expires_at,
    )


def detail_out(detail: InvoiceDetail) -> InvoiceDetailOut:
    return InvoiceDetailOut(
        invoice=invoice_out(detail.view),
        document_url=detail.document_url,
        promises=list(detail.promises),
        disputes=list(detail.disputes),
    )


def _json(status: int, model: BaseModel, **kwargs: Any) -> Response[Any]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=model.model_dump(mode="json"),
        **kwargs,
    )


def _responses(ok: int, model: type[BaseModel], description: str, *errors: int) -> dict[int, Any]:
    table: dict[int, Any] = {
        ok: {"description": description, "content": {"application/json": {"model": model}}}
    }
    texts = {
        400: "Bad input",
        401: "No session (or it ended)",
        403: "Missing or wrong X-CSRF-Token, or a link that is not valid",
        404: "No such invoice or dispute on your account",
        410: "The link has expired",
        429: "Too many requests",
    }
    for status in errors:
        table[status] = {"description": texts[status], "content": {"application/json": {"model": ErrorOut}}}
    return table


def register(web: Web) -> None:
    app = web.app

    def require_session() -> Session:
        session = web.session()
        if session is None:
            raise ApiError(401, "no session: open the link from an email, or POST /api/v1/session")
        return session

    def require_csrf(session: Session) -> None:
        if not sessions.csrf_matches(session.csrf_token, sessions.header(web.event, sessions.CSRF_HEADER)):
            raise CsrfRejected

    @app.post(
        f"{API_PREFIX}/session",
        summary="Exchange an email link's token for a session",
        tags=[TAG_SESSION],
        responses=_responses(200, SessionOut, "Signed in; the arc_session cookie is set", 400, 403, 410),
    )
    def create_session(body: Annotated[SessionIn, Body()]) -> Response[Any]:
        try:
            session = web.portal.open_link(body.token, now=web.now())
        except LinkExpired as error:
            raise ApiError(410, "this link has expired", "token") from error
        except (LinkInvalid, LinkRevoked) as error:
            raise ApiError(403, "this link is not valid", "token") from error
        out = SessionOut(customer_id=session.customer_id, expires_at=session.expires_at)
        return _json(200, out, cookies=[sessions.session_cookie(session.session_id)])

    @app.post(
        f"{API_PREFIX}/link-requests",
        summary="Email a fresh link to an address on file",
        tags=[TAG_SESSION],
        responses=_responses(
            202, AcceptedOut, "Accepted (the same answer whether or not the address is on file)", 400, 429
        ),
    )
    def request_link(body: Annotated[LinkRequestIn, Body()]) -> Response[Any]:
        web.portal.request_link(body.email, now=web.now(), client=web.client())
        return _json(202, AcceptedOut(message="if the address is on file, a link is on its way"))

    @app.get(
        f"{API_PREFIX}/account",
        summary="The account: contact details, totals per currency with aging, and the CSRF token",
        tags=[TAG_ACCOUNT],
        responses=_responses(200, AccountOut, "The account", 401),
    )
    def get_account() -> Response[Any]:
        session = require_session()
        view = web.portal.account(session.customer_id, today=web.now().date())
        return _json(200, account_out(view, session))

    @app.get(
        f"{API_PREFIX}/invoices",
        summary="Open invoices, sorted and filtered",
        tags=[TAG_ACCOUNT],
        responses=_responses(200, InvoiceListOut, "The invoices", 400, 401),
    )
    def list_invoices(
        sort: Annotated[InvoiceSort, Query()] = InvoiceSort.DUE_DATE,
        order: Annotated[str, Query(pattern="^(asc|desc)$")] = "asc",
        show: Annotated[InvoiceFilter, Query()] = InvoiceFilter.ALL,
    ) -> Response[Any]:
        session = require_session()
        view = web.portal.account(
            session.customer_id, today=web.now().date(), sort=sort, descending=order == "desc", show=show
        )
        return _json(200, InvoiceListOut(invoices=[invoice_out(v) for v in view.invoices]))

    @app.get(
        f"{API_PREFIX}/invoices/<number>",
        summary="One invoice, with its promises and disputes",
        tags=[TAG_ACCOUNT],
        responses=_responses(200, InvoiceDetailOut, "The invoice", 401, 404),
    )
    def get_invoice(number: str) -> Response[Any]:
        session = require_session()
        return _json(200, detail_out(web.portal.invoice(session.customer_id, number, today=web.now().date())))

    @app.get(
        f"{API_PREFIX}/messages",
        summary="The emails we sent, and what became of them",
        tags=[TAG_ACCOUNT],
        responses=_responses(200, MessagesOut, "The history, newest first", 401),
    )
    def get_messages() -> Response[Any]:
        session = require_session()
        history = sorted(web.portal.messages(session.customer_id), key=lambda m: m.at, reverse=True)
        out = MessagesOut(
            messages=[
                MessageOut(at=m.at, summary=m.summary, kind=m.kind, detail=dict(m.detail)) for m in history
            ]
        )
        return _json(200, out)

    @app.post(
        f"{API_PREFIX}/promises",
        summary="Promise to pay invoices by a date (pauses their reminders)",
        tags=[TAG_ACTIONS],
        responses=_responses(201, PromiseOut, "Promise recorded", 400, 401, 403),
    )
    def create_promise(body: Annotated[PromiseIn, Body()]) -> Response[Any]:
        session = require_session()
        require_csrf(session)
        receipt = web.portal.promise(
            session.customer_id,
            invoice_numbers=body.invoice_numbers,
            amount=body.amount,
            promised_until=body.promised_until,
            now=web.now(),
        )
        out = PromiseOut(
            promise_id=receipt.promise_id,
            invoice_numbers=list(receipt.invoice_numbers),
            promised_until=receipt.promised_until,
            amount=plain(receipt.amount, receipt.currency),
            currency=receipt.currency,
        )
        return _json(201, out)

    @app.post(
        f"{API_PREFIX}/disputes",
        summary="Dispute an invoice (takes it out of dunning)",
        tags=[TAG_ACTIONS],
        responses=_responses(201, DisputeOut, "Dispute recorded", 400, 401, 403),
    )
    def create_dispute(body: Annotated[DisputeIn, Body()]) -> Response[Any]:
        session = require_session()
        require_csrf(session)
        attachment = (
            (body.attachment.file_name, body.attachment.content_type, body.attachment.size)
            if body.attachment
            else None
        )
        receipt = web.portal.dispute(
            session.customer_id,
            invoice_number=body.invoice_number,
            reason=body.reason.value,
            comment=body.comment,
            attachment=attachment,
            now=web.now(),
        )
        out = DisputeOut(
            dispute_id=receipt.dispute_id,
            invoice_number=receipt.invoice_number,
            upload_url=receipt.upload_url,
            upload_fields=dict(receipt.upload_fields),
        )
        return _json(201, out)

    @app.post(
        f"{API_PREFIX}/disputes/<dispute_id>/attachment",
        summary="Check the uploaded attachment and link it to the dispute",
        description="Call after the upload to the dispute's upload_url. The file must be there, at most "
        "the declared size, and of the declared type by its content; a file that is not is deleted, the "
        "dispute keeps no attachment and the answer (400) says why. Repeating the call after success "
        "answers the same.",
        tags=[TAG_ACTIONS],
        responses=_responses(200, AttachmentOut, "Attachment checked and linked", 400, 401, 403, 404),
    )
    def confirm_attachment(dispute_id: Annotated[str, Path(max_length=100)]) -> Response[Any]:
        session = require_session()
        require_csrf(session)
        receipt = web.portal.confirm_attachment(session.customer_id, dispute_id, now=web.now())
        out = AttachmentOut(
            dispute_id=receipt.dispute_id,
            file_name=receipt.file_name,
            content_type=receipt.content_type,
            size=receipt.size,
        )
        return _json(200, out)

    @app.put(
        f"{API_PREFIX}/contact",
        summary="Change the contact details (what is left out stays as it is)",
        tags=[TAG_ACTIONS],
        responses=_responses(200, CustomerOut, "Saved", 400, 401, 403),
    )
    def put_contact(body: Annotated[ContactIn, Body()]) -> Response[Any]:
        session = require_session()
        require_csrf(session)
        customer = web.portal.update_contact(
            session.customer_id,
            email=body.email,
            other_emails=None if body.other_emails is None else ", ".join(body.other_emails),
            phone=body.phone,
            language=body.language,
            now=web.now(),
        )
        out = CustomerOut(
            customer_id=customer.customer_id,
            name=customer.name,
            email=customer.email,
            other_emails=list(customer.other_emails),
            phone=customer.phone,
            language=customer.language,
        )
        return _json(200, out)
