"""Server-rendered pages and the security headers every portal response carries."""

from __future__ import annotations

from datetime import date
from html import escape

from arcollect.entities import Invoice
from arcollect.portal.account import AccountSummary

# No inline script or style anywhere, no third-party origin: the CSP can be this strict.
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def page(title: str, body_html: str, *, lang: str = "en") -> str:
    """A complete, accessible HTML document around already-escaped ``body_html``."""
    return (
        "<!doctype html>\n"
        f'<html lang="{escape(lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · arcollect</title></head>"
        f'<body><main id="main"><h1>{escape(title)}</h1>{body_html}</main></body></html>\n'
    )


def not_found_page(path: str) -> str:
    return page(
        "Page not found",
        f"<p>There is no page at <code>{escape(path)}</code>.</p>"
        "<p>To see your account, open the link in the most recent email we sent you.</p>",
    )


def home_page() -> str:
    return page(
        "Your account",
        "<p>Open the link in the most recent email we sent you to see what is open on your account, "
        "promise a payment date, dispute an invoice or update your contact details.</p>",
    )


def link_problem_page(message: str) -> str:
    return page(
        "This link cannot be used",
        f"<p>{escape(message.capitalize())}.</p>"
        "<p>Links in our emails expire for your security. Open the link in our most recent email, "
        "or reply to it and we will send you a new one.</p>",
    )


def account_page(summary: AccountSummary, *, today: date) -> str:
    """The account as of today: totals and aging per currency, then every open invoice."""
    customer = summary.customer
    if not summary.open_invoices:
        body = "<p>Nothing is open on your account. Thank you!</p>"
        return page(f"{customer.name}", body, lang=customer.language or "en")
    totals = "".join(
        f"<li><strong>{line.total_due} {escape(line.currency)}</strong> due, of which "
        f"{line.overdue} {escape(line.currency)} overdue</li>"
        for line in summary.by_currency
    )
    rows = "".join(
        f"<tr><td>{escape(i.invoice_number)}</td><td>{i.invoice_date.isoformat()}</td>"
        f"<td>{i.due_date.isoformat()}</td><td>{max((today - i.due_date).days, 0)}</td>"
        f'<td class="num">{i.open_amount} {escape(i.currency)}</td>'
        f"<td>{_status(i)}</td>"
        f"<td>{_pay_link(i)}</td></tr>"
        for i in summary.open_invoices
    )
    body = (
        f"<h2>What is open</h2><ul>{totals}</ul>"
        "<h2>Open invoices</h2><table><caption>Open invoices, oldest due date first</caption>"
        '<thead><tr><th scope="col">Invoice</th><th scope="col">Date</th><th scope="col">Due</th>'
        '<th scope="col">Days late</th><th scope="col">Open amount</th><th scope="col">Status</th>'
        f'<th scope="col">Pay</th></tr></thead><tbody>{rows}</tbody></table>'
    )
    return page(f"{customer.name}", body, lang=customer.language or "en")


def _status(invoice: Invoice) -> str:
    if invoice.disputed:
        return "In dispute"
    return "Credit note" if invoice.document_type == "credit_note" else ""


def _pay_link(invoice: Invoice) -> str:
    if not invoice.pay_url or not invoice.pay_url.startswith("https://"):
        return ""
    return f'<a href="{escape(invoice.pay_url)}" rel="noopener">Pay {escape(invoice.invoice_number)}</a>'
