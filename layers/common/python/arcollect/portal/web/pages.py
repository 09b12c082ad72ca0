"""The HTML routes. Each one takes the customer from the session cookie only (Portal.resume), checks the
CSRF token on every POST, and re-renders a form with the message beside the field on PortalInputError."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from aws_lambda_powertools.event_handler import Response

from arcollect.entities import Customer
from arcollect.languages import LANGUAGE_NAMES, LANGUAGES, written_language
from arcollect.portal.access import LinkRevoked, Session
from arcollect.portal.inputs import ATTACHMENT_MAX_BYTES, ATTACHMENT_TYPES, PortalInputError
from arcollect.portal.links import LinkExpired, LinkInvalid
from arcollect.portal.pages import CONTENT_SECURITY_POLICY
from arcollect.portal.views import InvoiceFilter, InvoiceSort, InvoiceView
from arcollect.portal.web import sessions
from arcollect.portal.web.common import CsrfRejected, PageRedirect, Web
from arcollect.portal.web.render import REASON_LABELS, path_segment
from arcollect.promises import MAX_PROMISE_DAYS

SESSION_ENDED = "/link?reason=ended"
# The landing page carries the token: never cached, never sent on as a Referer.
LANDING_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
SIGNED_OUT = "/link?reason=signed-out"

SORT_OPTIONS = (
    (InvoiceSort.DUE_DATE.value, "Due date"),
    (InvoiceSort.INVOICE_DATE.value, "Invoice date"),
    (InvoiceSort.AMOUNT.value, "Amount"),
    (InvoiceSort.NUMBER.value, "Invoice number"),
)
SHOW_OPTIONS = (
    (InvoiceFilter.ALL.value, "All open invoices"),
    (InvoiceFilter.OVERDUE.value, "Overdue"),
    (InvoiceFilter.DUE.value, "Not yet due"),
    (InvoiceFilter.DISPUTED.value, "In dispute"),
    (InvoiceFilter.PROMISED.value, "Payment promised"),
)
COLUMNS = (
    (InvoiceSort.NUMBER.value, "Invoice"),
    (InvoiceSort.INVOICE_DATE.value, "Date"),
    (InvoiceSort.DUE_DATE.value, "Due"),
    (InvoiceSort.AMOUNT.value, "Open amount"),
    ("", "Days late"),
    ("", "Status"),
    ("", "Pay"),
)
# What the contact form offers: the languages we write in (arcollect/languages.py), which are exactly the
# ones the portal takes.
LANGUAGE_CHOICES = tuple((code, LANGUAGE_NAMES[code]) for code in LANGUAGES)
LINK_NOTICES = {
    "ended": "Your session has ended. For your security, sessions end after 30 minutes without "
    "activity and after 8 hours in all.",
    "signed-out": "You are signed out.",
}


def parse_listing(
    sort: str | None, order: str | None, show: str | None
) -> tuple[InvoiceSort, bool, InvoiceFilter]:
    """The account listing's sort, direction and filter from query values; unknown values fall back."""
    sort_value = InvoiceSort(sort) if sort in {s.value for s in InvoiceSort} else InvoiceSort.DUE_DATE
    show_value = InvoiceFilter(show) if show in {f.value for f in InvoiceFilter} else InvoiceFilter.ALL
    return sort_value, order == "desc", show_value


def register(web: Web) -> None:
    app = web.app

    def require_session() -> Session:
        session = web.session()
        if session is None:
            raise PageRedirect(SESSION_ENDED)
        return session

    def checked_form(session: Session) -> dict[str, list[str]]:
        form = web.form()
        supplied = (form.get(sessions.CSRF_FIELD) or [""])[-1]
        if not sessions.csrf_matches(session.csrf_token, supplied):
            raise CsrfRejected
        return form

    def one(form: dict[str, list[str]], name: str) -> str:
        return (form.get(name) or [""])[-1].strip()

    def open_invoices(session: Session, *, disputable: bool) -> list[InvoiceView]:
        views = web.portal.account(session.customer_id, today=web.now().date()).invoices
        # A credit note is owed to the customer: there is nothing to promise or dispute on it.
        return [v for v in views if v.status not in {"disputed", "credit", "agency"}] if disputable else views

    # --- signing in ---------------------------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    def home() -> Response[str]:
        if sessions.session_id_from(web.event) and web.session() is not None:
            return web.redirect("/account")
        return web.html("home.html", title="Your account", email="")

    def link_problem(exchange: Callable[[], Response[str]]) -> Response[str]:
        try:
            return exchange()
        except LinkExpired:
            return web.message(
                410,
                "This link has expired",
                "Links in our emails work for a limited time, for your security.",
                "Ask for a fresh link below and we will email it to you.",
                show_link_form=True,
            )
        except LinkRevoked:
            return web.message(
                403,
                "This link is no longer valid",
                "Links sent before a change to your account's access have been switched off.",
                "Ask for a fresh link below and we will email it to you.",
                show_link_form=True,
            )
        except LinkInvalid:
            return web.message(
                403,
                "This link is not valid",
                "The link may have been cut short or changed when it was copied.",
                "Open it again from our email, or ask for a fresh link below.",
                show_link_form=True,
            )

    # The emailed link only shows a landing page: mail scanners fetch (and run) links in advance, so
    # the GET reads and never writes (no session, no "opened" entry). The person's button POSTs the
    # token, and that exchange opens the session.
    @app.route("/l/<token>", method=["GET", "HEAD"], include_in_schema=False)
    def link_landing(token: str) -> Response[str]:
        def landing() -> Response[str]:
            web.portal.check_link(token, now=web.now())
            return web.html("link_open.html", title="Open your account", token=token, headers=LANDING_HEADERS)

        return link_problem(landing)

    @app.post("/l", include_in_schema=False)
    def open_link() -> Response[str]:
        content_type = (sessions.header(web.event, "Content-Type") or "").split(";")[0].strip().lower()
        if content_type not in FORM_TYPES:
            return web.message(415, "This link is not valid", "Open the link from our email again.")
        if _cross_site(web):
            return web.message(403, "This link is not valid", "Open the link from our email again.")

        def exchange() -> Response[str]:
            token = one(web.form(), "token")
            session = web.portal.open_link(token, now=web.now())
            return web.redirect("/account", cookies=[sessions.session_cookie(session.session_id)])

        return link_problem(exchange)

    @app.get("/link", include_in_schema=False)
    def link_form() -> Response[str]:
        notice = LINK_NOTICES.get(web.query("reason") or "")
        return web.html("link.html", title="Get a link to your account", notice=notice, email="")

    @app.post("/link", include_in_schema=False)
    def link_request() -> Response[str]:
        email = one(web.form(), "email")
        try:
            web.portal.request_link(email, now=web.now(), client=web.client())
        except PortalInputError as error:
            return web.html(
                "link.html",
                400,
                title="Get a link to your account",
                email=email,
                errors={"email": error.message},
            )
        return web.html("link.html", title="Check your email", sent=True, email="")

    @app.post("/logout", include_in_schema=False)
    def logout() -> Response[str]:
        session = web.session()
        if session is None:
            return web.redirect(SIGNED_OUT, cookies=[sessions.cleared_cookie()])
        checked_form(session)
        web.portal.end(session.session_id)
        return web.redirect(SIGNED_OUT, cookies=[sessions.cleared_cookie()])

    # --- the account --------------------------------------------------------------------------------

    @app.get("/account", include_in_schema=False)
    def account() -> Response[str]:
        session = require_session()
        sort, descending, show = parse_listing(web.query("sort"), web.query("order"), web.query("show"))
        view = web.portal.account(
            session.customer_id, today=web.now().date(), sort=sort, descending=descending, show=show
        )
        return web.html(
            "account.html",
            session=session,
            title=view.customer.name or "Your account",
            nav="account",
            account=view,
            sort=sort.value,
            order="desc" if descending else "asc",
            show=show.value,
            sort_options=SORT_OPTIONS,
            show_options=SHOW_OPTIONS,
            columns=COLUMNS,
        )

    @app.get("/invoices/<number>", include_in_schema=False)
    def invoice(number: str) -> Response[str]:
        session = require_session()
        detail = web.portal.invoice(session.customer_id, number, today=web.now().date())
        customer = web.portal.account(session.customer_id, today=web.now().date()).customer
        return web.html(
            "invoice.html",
            session=session,
            title=f"Invoice {detail.view.invoice.invoice_number}",
            nav="account",
            detail=detail,
            customer_name=customer.name,
        )

    @app.get("/invoices/<number>/pay", include_in_schema=False)
    def pay(number: str) -> Response[str]:
        session = require_session()
        try:
            url = web.portal.pay_url(session.customer_id, number)
        except PortalInputError as error:
            return web.message(
                400,
                "This invoice cannot be paid online",
                error.message,
                "Please pay by bank transfer using the details on the invoice.",
                session=session,
                back=(f"/invoices/{path_segment(number)}", "Back to the invoice"),
            )
        if not url.startswith("https://"):
            return web.message(
                400,
                "This invoice cannot be paid online",
                "Please pay by bank transfer using the details on the invoice.",
                session=session,
            )
        return web.redirect(url)

    def statement(fmt: str) -> Response[Any]:
        session = require_session()
        document = web.portal.statement(session.customer_id, today=web.now().date(), fmt=fmt)
        filename = (
            "".join(ch for ch in document.filename if ch.isalnum() or ch in "._-") or f"statement.{fmt}"
        )
        return Response(
            status_code=200,
            content_type=document.content_type,
            body=document.body,
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    @app.get("/statement.csv", include_in_schema=False)
    def statement_csv() -> Response[Any]:
        return statement("csv")

    @app.get("/statement.xlsx", include_in_schema=False)
    def statement_xlsx() -> Response[Any]:
        return statement("xlsx")

    @app.get("/messages", include_in_schema=False)
    def messages() -> Response[str]:
        session = require_session()
        history = sorted(web.portal.messages(session.customer_id), key=lambda m: m.at, reverse=True)
        return web.html("messages.html", session=session, title="Messages", nav="messages", messages=history)

    # --- promise ------------------------------------------------------------------------------------

    def promise_page(
        session: Session, status: int, form: dict[str, Any], errors: dict[str, str]
    ) -> Response[str]:
        account = web.portal.account(session.customer_id, today=web.now().date())
        return web.html(
            "promise.html",
            status,
            session=session,
            title="Promise a payment",
            nav="promise",
            # (an invoice in a payment plan is paid by its instalments: no promise for it)
            invoices=[
                v for v in account.invoices if v.status not in {"disputed", "credit", "agency", "plan"}
            ],
            # The customer's credit notes lower what it owes: the page says so, with the net total, so a
            # promise is of the same net amount the reminders ask for.
            credits=[v for v in account.invoices if v.status == "credit"],
            totals=account.totals,
            form=form,
            errors=errors,
            max_days=MAX_PROMISE_DAYS,
        )

    @app.get("/promise", include_in_schema=False)
    def promise_form() -> Response[str]:
        session = require_session()
        chosen = [web.query("invoice")] if web.query("invoice") else []
        return promise_page(session, 200, {"invoice_numbers": chosen, "amount": "", "promised_until": ""}, {})

    @app.post("/promise", include_in_schema=False)
    def promise() -> Response[str]:
        session = require_session()
        raw = checked_form(session)
        form: dict[str, Any] = {
            "invoice_numbers": [n.strip() for n in raw.get("invoice_numbers", []) if n.strip()],
            "amount": one(raw, "amount"),
            "promised_until": one(raw, "promised_until"),
        }
        try:
            receipt = web.portal.promise(
                session.customer_id,
                invoice_numbers=form["invoice_numbers"],
                amount=form["amount"],
                promised_until=form["promised_until"],
                now=web.now(),
            )
        except PortalInputError as error:
            return promise_page(session, 400, form, {error.field: error.message})
        return web.html(
            "promise_done.html", session=session, title="Promise recorded", nav="promise", receipt=receipt
        )

    # --- dispute ------------------------------------------------------------------------------------

    def dispute_page(
        session: Session, status: int, form: dict[str, str], errors: dict[str, str]
    ) -> Response[str]:
        return web.html(
            "dispute.html",
            status,
            session=session,
            title="Dispute an invoice",
            nav="dispute",
            invoices=open_invoices(session, disputable=True),
            reasons=[(reason.value, label) for reason, label in REASON_LABELS.items()],
            attachment_types=ATTACHMENT_TYPES,
            max_mb=ATTACHMENT_MAX_BYTES // (1024 * 1024),
            form=form,
            errors=errors,
        )

    @app.get("/dispute", include_in_schema=False)
    def dispute_form() -> Response[str]:
        session = require_session()
        blank = dict.fromkeys(
            ("invoice_number", "reason", "comment", "attachment_name", "attachment_type", "attachment_size"),
            "",
        )
        return dispute_page(session, 200, {**blank, "invoice_number": web.query("invoice") or ""}, {})

    @app.post("/dispute", include_in_schema=False)
    def dispute() -> Response[str]:
        session = require_session()
        raw = checked_form(session)
        form = {
            name: one(raw, name)
            for name in (
                "invoice_number",
                "reason",
                "comment",
                "attachment_name",
                "attachment_type",
                "attachment_size",
            )
        }
        try:
            attachment = _attachment(
                form["attachment_name"], form["attachment_type"], form["attachment_size"]
            )
            receipt = web.portal.dispute(
                session.customer_id,
                invoice_number=form["invoice_number"],
                reason=form["reason"],
                comment=form["comment"],
                attachment=attachment,
                now=web.now(),
            )
        except PortalInputError as error:
            return dispute_page(session, 400, form, {error.field: error.message})
        headers: dict[str, str] = {}
        origin = _upload_origin(receipt.upload_url)
        if origin:
            # The receipt page's script POSTs the file straight to S3: allow that one origin, nothing else.
            headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
                "connect-src 'self'", f"connect-src 'self' {origin}"
            )
        return web.html(
            "dispute_done.html",
            session=session,
            headers=headers,
            title="Dispute recorded",
            nav="dispute",
            receipt=receipt if origin or not receipt.upload_url else _without_upload(receipt),
            upload_fields_json=json.dumps(receipt.upload_fields),
            attachment_name=form["attachment_name"],
            attachment_size=form["attachment_size"],
        )

    @app.post("/disputes/<dispute_id>/attachment", include_in_schema=False)
    def confirm_attachment(dispute_id: str) -> Response[str]:
        # The receipt page's script posts here once S3 took the file: check it, then link it.
        session = require_session()
        checked_form(session)
        back = ("/account", "Back to your invoices")
        try:
            receipt = web.portal.confirm_attachment(session.customer_id, dispute_id, now=web.now())
        except PortalInputError as error:
            return web.message(
                400,
                "We could not accept this file",
                f"Your dispute (reference {dispute_id}) is recorded, but its document was not attached: "
                f"{error.message}",
                "Upload it again from the dispute page, or reply to any of our emails with the document "
                f"attached and quote reference {dispute_id}.",
                session=session,
                back=back,
            )
        return web.html(
            "attachment_done.html", session=session, title="Document received", nav="dispute", receipt=receipt
        )

    # --- contact details ----------------------------------------------------------------------------

    def contact_page(
        session: Session, status: int, form: dict[str, str], errors: dict[str, str], *, saved: bool = False
    ) -> Response[str]:
        return web.html(
            "contact.html",
            status,
            session=session,
            title="Contact details",
            nav="contact",
            form=form,
            errors=errors,
            languages=LANGUAGE_CHOICES,
            saved=saved,
        )

    def contact_values(customer: Customer) -> dict[str, str]:
        # The language shown is the one we write in (``de`` for a stored ``de-DE``, English for one we
        # do not write in), so it is always an offered choice; sent back as shown, it changes nothing.
        return {
            "email": customer.email,
            "other_emails": ", ".join(customer.other_emails),
            "phone": customer.phone or "",
            "language": written_language(customer.language),
        }

    @app.get("/contact", include_in_schema=False)
    def contact_form() -> Response[str]:
        session = require_session()
        customer = web.portal.account(session.customer_id, today=web.now().date()).customer
        return contact_page(session, 200, contact_values(customer), {})

    @app.post("/contact", include_in_schema=False)
    def contact() -> Response[str]:
        session = require_session()
        raw = checked_form(session)
        form = {name: one(raw, name) for name in ("email", "other_emails", "phone", "language")}
        try:
            customer = web.portal.update_contact(session.customer_id, **form, now=web.now())
        except PortalInputError as error:
            return contact_page(session, 400, form, {error.field: error.message})
        return contact_page(session, 200, contact_values(customer), {}, saved=True)


def _attachment(name: str, content_type: str, size: str) -> tuple[str, str, int] | None:
    if not name:
        return None
    try:
        size_bytes = int(size)
    except ValueError as error:
        raise PortalInputError("attachment", "choose the file again") from error
    return name, content_type or "application/octet-stream", size_bytes


def _cross_site(web: Web) -> bool:
    """A form posted from another site (login CSRF: someone else's token planted in this browser).
    Browsers send Sec-Fetch-Site on every request; Origin is "null" under our no-referrer policy, so
    it counts only when it names a site."""
    fetch_site = (sessions.header(web.event, "Sec-Fetch-Site") or "").lower()
    if fetch_site and fetch_site not in {"same-origin", "none"}:
        return True
    origin = sessions.header(web.event, "Origin") or "null"
    host = (sessions.header(web.event, "Host") or "").lower()
    return origin != "null" and urlsplit(origin).netloc.lower() != host


def _upload_origin(url: str | None) -> str | None:
    """The origin the browser uploads to: https, or plain http on this machine only (the local stack's
    S3 emulator; browsers count loopback as secure)."""
    if not url:
        return None
    parts = urlsplit(url)
    loopback = parts.hostname in {"127.0.0.1", "localhost", "::1"}
    if not parts.netloc or not (parts.scheme == "https" or (parts.scheme == "http" and loopback)):
        return None
    return f"{parts.scheme}://{parts.netloc}"


def _without_upload(receipt: Any) -> Any:
    from dataclasses import replace

    return replace(receipt, upload_url=None)
