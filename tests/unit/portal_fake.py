"""An in-memory Portal (``portal.self_service.Portal``) for the web layer's tests: same methods and
signatures, no AWS; it answers with the real view models, receipts and errors (``portal.views``,
``portal.access``, ``portal.inputs``). ``tests.unit.portal_client`` drives the web app with it.

Two customers: C1 (signs in with the token "good") holding EUR and USD invoices, and C2 (token
"other") whose invoice must never show up in C1's session. Tokens "expired" and "revoked" raise
what the real Portal raises; any other token is invalid. Calls that change something are recorded
with the customer id they were made for, so tests can check it came from the session.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from arcollect.entities import Customer, DisputeReason, Invoice
from arcollect.portal.access import LinkRevoked, NotFound, RateLimited, Session
from arcollect.portal.inputs import PortalInputError
from arcollect.portal.links import LinkExpired, LinkInvalid
from arcollect.portal.self_service import Portal
from arcollect.portal.views import (
    AccountView,
    AttachmentReceipt,
    CurrencyTotals,
    DisputeReceipt,
    InvoiceDetail,
    InvoiceFilter,
    InvoiceSort,
    InvoiceView,
    Message,
    PromiseReceipt,
    Statement,
)

TODAY = date(2026, 11, 24)
TOKENS = {"good": "C1", "other": "C2"}


def _invoice(customer_id: str, number: str, currency: str, amount: str, due: date, **kw: Any) -> Invoice:
    return Invoice(
        customer_id=customer_id,
        invoice_number=number,
        currency=currency,
        amount=Decimal(amount),
        open_amount=Decimal(amount),
        invoice_date=due - timedelta(days=30),
        due_date=due,
        **kw,
    )


@dataclass
class FakePortal(Portal):
    customers: dict[str, Customer] = field(default_factory=dict)
    invoices: dict[str, list[Invoice]] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict)
    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    ended: list[str] = field(default_factory=list)
    link_requests: list[tuple[str, str]] = field(default_factory=list)
    counter: int = 0

    def __post_init__(self) -> None:
        self.customers = {
            "C1": Customer(
                customer_id="C1", name="Acme <Trading> Ltd", email="ap@acme.example", language="en"
            ),
            "C2": Customer(customer_id="C2", name="Other Corp", email="ap@other.example"),
        }
        self.invoices = {
            "C1": [
                _invoice(
                    "C1",
                    "INV-1",
                    "EUR",
                    "100.00",
                    TODAY - timedelta(days=10),
                    pay_url="https://pay.example/1",
                ),
                _invoice("C1", "INV-2", "USD", "250.50", TODAY + timedelta(days=5)),
                _invoice("C1", "INV-3", "EUR", "40.00", TODAY - timedelta(days=40), disputed=True),
            ],
            "C2": [_invoice("C2", "SECRET-9", "EUR", "999.00", TODAY - timedelta(days=3))],
        }

    # --- access (as portal.access): links and sessions ------------------------------------------------

    def check_link(self, token: str, *, now: datetime) -> None:
        if token == "expired":
            raise LinkExpired("this link has expired")
        if token == "revoked":
            raise LinkRevoked("this link was revoked")
        if token not in TOKENS:
            raise LinkInvalid("this link is not valid")

    def open_link(self, token: str, *, now: datetime) -> Session:
        self.check_link(token, now=now)
        self.counter += 1
        session = Session(
            session_id=f"sid{self.counter}",
            customer_id=TOKENS[token],
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=8),
            csrf_token=f"csrf{self.counter}",
        )
        self.sessions[session.session_id] = session
        return session

    def resume(self, session_id: str, *, now: datetime) -> Session | None:
        session = self.sessions.get(session_id)
        return replace(session, last_seen_at=now) if session else None

    def end(self, session_id: str) -> None:
        self.ended.append(session_id)
        self.sessions.pop(session_id, None)

    def request_link(self, email: str, *, now: datetime, client: str) -> None:
        if "@" not in email:
            raise PortalInputError("email", "enter an email address like name@example.com")
        if email.startswith("flood@"):
            raise RateLimited("too many")
        self.link_requests.append((email, client))

    def revoke_links(self, customer_id: str, *, now: datetime) -> None:
        self.sessions = {k: v for k, v in self.sessions.items() if v.customer_id != customer_id}

    # --- reading the account (the view models of portal.views) ------------------------------------------

    def _view(self, invoice: Invoice, today: date) -> InvoiceView:
        late = max((today - invoice.due_date).days, 0)
        status = (
            "disputed"
            if invoice.disputed
            else ("promised" if invoice.promised_until else ("overdue" if late else "due"))
        )
        return InvoiceView(invoice=invoice, days_overdue=late, status=status, pay_url=invoice.pay_url)

    def account(
        self,
        customer_id: str,
        *,
        today: date,
        sort: InvoiceSort = InvoiceSort.DUE_DATE,
        descending: bool = False,
        show: InvoiceFilter = InvoiceFilter.ALL,
    ) -> AccountView:
        self.calls.append(("account", customer_id, {"sort": sort, "descending": descending, "show": show}))
        views = [self._view(i, today) for i in self.invoices[customer_id]]
        if show != InvoiceFilter.ALL:
            views = [v for v in views if v.status == show.value]
        key = {
            InvoiceSort.DUE_DATE: lambda v: str(v.invoice.due_date),
            InvoiceSort.INVOICE_DATE: lambda v: str(v.invoice.invoice_date),
            InvoiceSort.AMOUNT: lambda v: f"{v.invoice.open_amount:020}",
            InvoiceSort.NUMBER: lambda v: v.invoice.invoice_number,
        }[sort]
        views.sort(key=key, reverse=descending)
        totals: dict[str, CurrencyTotals] = {}
        for view in (self._view(i, today) for i in self.invoices[customer_id]):
            inv = view.invoice
            line = totals.get(inv.currency) or CurrencyTotals(inv.currency, Decimal(0), Decimal(0), {})
            aging = dict(line.aging)
            bucket = (
                "current" if not view.days_overdue else ("d1_30" if view.days_overdue <= 30 else "d31_60")
            )
            aging[bucket] = aging.get(bucket, Decimal(0)) + inv.open_amount
            totals[inv.currency] = CurrencyTotals(
                inv.currency,
                line.total_due + inv.open_amount,
                line.overdue + (inv.open_amount if view.days_overdue else Decimal(0)),
                aging,
            )
        return AccountView(customer=self.customers[customer_id], totals=list(totals.values()), invoices=views)

    def _find(self, customer_id: str, number: str) -> Invoice:
        for invoice in self.invoices[customer_id]:
            if invoice.invoice_number == number:
                return invoice
        raise NotFound(number)

    def _own(self, customer_id: str, number: str, field_name: str) -> Invoice:
        """As a promise or a dispute names an invoice: one not on the account is a field error."""
        try:
            return self._find(customer_id, number)
        except NotFound as error:
            raise PortalInputError(field_name, f"invoice {number} is not on your account") from error

    def invoice(self, customer_id: str, invoice_number: str, *, today: date) -> InvoiceDetail:
        invoice = self._find(customer_id, invoice_number)
        document = "https://docs.example/INV-1.pdf?sig=1" if invoice_number == "INV-1" else None
        return InvoiceDetail(view=self._view(invoice, today), document_url=document)

    def statement(self, customer_id: str, *, today: date, fmt: str) -> Statement:
        self.calls.append(("statement", customer_id, {"fmt": fmt}))
        if fmt == "csv":
            return Statement(
                b"invoice,amount\r\nINV-1,100.00\r\n", "text/csv", f"statement-{customer_id}.csv"
            )
        return Statement(
            b"PK\x03\x04binary",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            f"statement-{customer_id}.xlsx",
        )

    def pay_url(self, customer_id: str, invoice_number: str) -> str:
        invoice = self._find(customer_id, invoice_number)
        if not invoice.pay_url:
            raise PortalInputError("invoice_number", "this invoice cannot be paid online")
        return invoice.pay_url

    def messages(self, customer_id: str) -> list[Message]:
        return [
            Message(datetime(2026, 11, 1, 9, 0), "Reminder: INV-1 is overdue", "delivered", {}),
            Message(datetime(2026, 11, 20, 9, 0), "Second reminder", "bounced", {"reason": "mailbox full"}),
        ]

    # --- changes (portal.self_service's use cases) ------------------------------------------------------

    def promise(
        self, customer_id: str, *, invoice_numbers: list[str], amount: str, promised_until: str, now: datetime
    ) -> PromiseReceipt:
        self.calls.append(("promise", customer_id, {"invoice_numbers": invoice_numbers, "amount": amount}))
        if not invoice_numbers:
            raise PortalInputError("invoice_numbers", "choose at least one invoice")
        for number in invoice_numbers:
            self._own(customer_id, number, "invoice_numbers")
        try:
            value = Decimal(amount)
        except InvalidOperation as error:
            raise PortalInputError("amount", "enter an amount like 1250.00") from error
        try:
            until = date.fromisoformat(promised_until)
        except ValueError as error:
            raise PortalInputError("promised_until", "enter a date like 2026-12-01") from error
        return PromiseReceipt("P1", tuple(invoice_numbers), until, value, "EUR")

    def dispute(
        self,
        customer_id: str,
        *,
        invoice_number: str,
        reason: str,
        comment: str,
        attachment: tuple[str, str, int] | None,
        now: datetime,
    ) -> DisputeReceipt:
        self.calls.append(
            ("dispute", customer_id, {"invoice_number": invoice_number, "attachment": attachment})
        )
        if reason not in {r.value for r in DisputeReason}:
            raise PortalInputError("reason", "choose a reason")
        self._own(customer_id, invoice_number, "invoice_number")
        if attachment is None:
            return DisputeReceipt("D1", invoice_number, None)
        return DisputeReceipt(
            "D1",
            invoice_number,
            "https://drop.s3.amazonaws.com/attachments/D1/file.pdf?X-Amz-Signature=abc",
            {"Content-Type": attachment[1]},
        )

    def confirm_attachment(self, customer_id: str, dispute_id: str, *, now: datetime) -> AttachmentReceipt:
        self.calls.append(("confirm_attachment", customer_id, {"dispute_id": dispute_id}))
        if customer_id != "C1" or dispute_id not in {"D1", "D-BAD"}:
            raise NotFound(dispute_id)
        if dispute_id == "D-BAD":
            raise PortalInputError(
                "attachment",
                "po.pdf was not accepted: it was declared as a PDF but its content is a PNG image",
            )
        return AttachmentReceipt("D1", "po.pdf", "application/pdf", 2048)

    def update_contact(
        self,
        customer_id: str,
        *,
        email: str,
        other_emails: str | None,
        phone: str | None,
        language: str | None,
        now: datetime,
    ) -> Customer:
        self.calls.append(
            (
                "contact",
                customer_id,
                {"email": email, "other_emails": other_emails, "phone": phone, "language": language},
            )
        )
        if "@" not in email:
            raise PortalInputError("email", "enter an email address like name@example.com")
        before = self.customers[customer_id]
        # None leaves a property as it is, as the real Portal does.
        others = (
            before.other_emails
            if other_emails is None
            else tuple(e.strip() for e in other_emails.split(",") if e.strip())
        )
        updated = replace(
            before,
            email=email,
            other_emails=others,
            phone=before.phone if phone is None else (phone or None),
            language=before.language if language is None else language,
        )
        self.customers[customer_id] = updated
        return updated
