"""Composing a reminder: one email per customer listing every invoice it is about."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from html import escape

from arcollect.clock import format_instant
from arcollect.entities import Customer, Invoice

# Headers that let anyone reading the mail (and the local outbox) see what the touch was.
HEADER_CUSTOMER = "X-Arcollect-Customer"
HEADER_STEP = "X-Arcollect-Step"
HEADER_INVOICES = "X-Arcollect-Invoices"
HEADER_SENT_AT = "X-Arcollect-Sent-At"


def totals_by_currency(invoices: Sequence[Invoice]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for invoice in invoices:
        totals[invoice.currency] += invoice.open_amount
    return dict(sorted(totals.items()))


def compose_reminder(
    *,
    customer: Customer,
    invoices: Sequence[Invoice],
    step: str,
    sender: str,
    portal_url: str,
    now: datetime,
) -> EmailMessage:
    """The past-due reminder: a plain-text part and an HTML part with the same content."""
    today = now.date()
    subject = f"Payment reminder: {len(invoices)} overdue invoice{'s' if len(invoices) != 1 else ''}"
    totals = totals_by_currency(invoices)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = customer.email
    message["Subject"] = subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain="arcollect.local")
    message[HEADER_CUSTOMER] = customer.customer_id
    message[HEADER_STEP] = step
    message[HEADER_INVOICES] = ",".join(i.invoice_number for i in invoices)
    message[HEADER_SENT_AT] = format_instant(now)

    lines = [
        f"Dear {customer.name},",
        "",
        "According to our records the following invoices are past due:",
        "",
        *(
            f"  {i.invoice_number}  due {i.due_date.isoformat()}  {_days_late(i.due_date, today)} days late  "
            f"{i.open_amount} {i.currency}" + (f"  pay: {i.pay_url}" if i.pay_url else "")
            for i in invoices
        ),
        "",
        *(f"Total due: {amount} {currency}" for currency, amount in totals.items()),
        "",
        f"See your account, pay, promise a payment date or dispute an invoice: {portal_url}",
        "",
        "If you have already paid, thank you, and please disregard this message.",
    ]
    message.set_content("\n".join(lines))
    rows = "".join(
        f"<tr><td>{escape(i.invoice_number)}</td><td>{i.due_date.isoformat()}</td>"
        f'<td style="text-align:right">{_days_late(i.due_date, today)}</td>'
        f'<td style="text-align:right">{i.open_amount} {escape(i.currency)}</td></tr>'
        for i in invoices
    )
    total_rows = "".join(
        f"<p><strong>Total due: {amount} {escape(currency)}</strong></p>"
        for currency, amount in totals.items()
    )
    message.add_alternative(
        f'<html><body style="font-family:Arial,sans-serif;color:#1f2933">'
        f"<p>Dear {escape(customer.name)},</p>"
        f"<p>According to our records the following invoices are past due:</p>"
        f'<table style="border-collapse:collapse" cellpadding="6"><thead><tr><th>Invoice</th><th>Due</th>'
        f"<th>Days late</th><th>Open</th></tr></thead><tbody>{rows}</tbody></table>{total_rows}"
        f'<p><a href="{escape(portal_url)}">'
        "See your account, pay, promise a date or dispute an invoice</a></p>"
        f"<p>If you have already paid, thank you, and please disregard this message.</p></body></html>",
        subtype="html",
    )
    return message


def _days_late(due: date, today: date) -> int:
    return max((today - due).days, 0)
