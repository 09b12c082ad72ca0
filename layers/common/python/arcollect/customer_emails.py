"""The emails written to a customer outside dunning's reminders (plain text and HTML, English): the
portal's own ("here is a fresh link to your account", "your accounts-payable address was changed" to the
address it replaced) and the one-off emails a collector sends from the staff console (a statement of the
open items, a fresh portal link, the confirmation of a payment received).

They live in the domain because two features write them: the portal (on a customer's request) and the
workspace (a collector's one-off send); ``portal/link_email.py`` re-exports the portal's. Amounts are
written as the English reminders write them, in their currency's minor unit (``money.written``:
``1,425.00 EUR``, ``150,000 JPY``, ``1.250 KWD``)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import make_msgid
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jinja2 import Environment

from arcollect.contract import HEADER_CUSTOMER, HEADER_INVOICES, HEADER_STEP, HEADER_TOUCH
from arcollect.credits import CREDIT_NOTE, CreditLine
from arcollect.entities import Customer, Invoice, Payment
from arcollect.mailing import stamp_sent
from arcollect.money import written

# The value of the X-Arcollect-Step header and of the SES ``kind`` tag.
FRESH_LINK_KIND = "fresh_link"

SUBJECT = "Your link to your account with us"

TEXT_TEMPLATE = """\
Hello {{ name }},

you (or someone using this address) asked for a new link to your account.
It shows your open invoices, lets you download a statement, promise a payment date or dispute an invoice.

{{ link }}

The link works for {{ days }} days. If you did not ask for it, you can ignore this email:
the link only opens the account of {{ name }}.

{{ sender_name }}
"""

HTML_TEMPLATE = """\
<!doctype html>
<html lang="en"><body style="font-family: Arial, sans-serif; color: #222;">
<p>Hello {{ name }},</p>
<p>you (or someone using this address) asked for a new link to your account. It shows your open
invoices, lets you download a statement, promise a payment date or dispute an invoice.</p>
<p><a ses:no-track href="{{ link }}"
style="background:#1a5fb4;color:#fff;padding:10px 16px;text-decoration:none;border-radius:4px;">Open my
account</a></p>
<p style="font-size: 90%;">Or copy this address into your browser:<br>{{ link }}</p>
<p>The link works for {{ days }} days. If you did not ask for it, you can ignore this email: the link
only opens the account of {{ name }}.</p>
<p>{{ sender_name }}</p>
</body></html>
"""


@cache
def _environment(*, html: bool) -> Environment:
    """Jinja2, imported when the first link email is written (not with every function that could)."""
    from jinja2 import Environment, StrictUndefined

    return Environment(autoescape=html, undefined=StrictUndefined, keep_trailing_newline=True)  # noqa: S701 (text)


def render_fresh_link(
    customer: Customer,
    *,
    to: str,
    link: str,
    days: int,
    sender: str,
    sender_name: str,
    now: datetime,
    touch_id: str,
) -> EmailMessage:
    """The complete message; headers name the customer so SES feedback finds the timeline."""
    values = {"link": link, "days": days}
    return _message(
        customer, SUBJECT, FRESH_LINK_KIND, (TEXT_TEMPLATE, HTML_TEMPLATE), values,
        to=to, sender=sender, sender_name=sender_name, now=now, touch_id=touch_id,
    )  # fmt: skip


def _message(
    customer: Customer,
    subject: str,
    kind: str,
    templates: tuple[str, str],
    values: Mapping[str, object],
    *,
    to: str,
    sender: str,
    sender_name: str,
    now: datetime,
    touch_id: str,
    reply_to: Address | None = None,
    invoices: Sequence[str] = (),
) -> EmailMessage:
    """One customer email: plain text and HTML from ``templates``, headers naming the customer and the
    kind (``X-Arcollect-Step``) so SES's feedback finds the timeline; ``reply_to`` (the collector who
    sent it) gets the answers."""
    values = {"name": customer.name or customer.customer_id, "sender_name": sender_name, **values}
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = Address(display_name=sender_name, addr_spec=sender)
    message["To"] = to
    if reply_to is not None:
        message["Reply-To"] = reply_to
    # When it was sent (Date and X-Arcollect-Sent-At): `arcollect outbox` orders the local outbox by it.
    stamp_sent(message, now)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message[HEADER_CUSTOMER] = _one_line(customer.customer_id)
    message[HEADER_STEP] = kind
    message[HEADER_INVOICES] = ",".join(_one_line(n) for n in invoices)
    message[HEADER_TOUCH] = touch_id
    text, html = templates
    message.set_content(_environment(html=False).from_string(text).render(values))
    message.add_alternative(_environment(html=True).from_string(html).render(values), subtype="html")
    return message


# The X-Arcollect-Step header and SES ``kind`` tag of the notice to an address that was replaced.
CONTACT_NOTICE_KIND = "contact_notice"
CONTACT_NOTICE_SUBJECT = "The address we send your invoices and reminders to was changed"

NOTICE_TEXT = """\
Hello {{ name }},

in our customer portal, the accounts-payable address of {{ name }} was changed on {{ when }} (UTC):
{{ change }}.

We will no longer write to {{ to }}, and the portal links we sent before stop working. If you made or
expected this change, there is nothing to do. If not, reply to this email or call us: someone who held
one of your portal links may have made it.

{{ sender_name }}
"""

NOTICE_HTML = """\
<!doctype html>
<html lang="en"><body style="font-family: Arial, sans-serif; color: #222;">
<p>Hello {{ name }},</p>
<p>in our customer portal, the accounts-payable address of {{ name }} was changed on {{ when }} (UTC):
{{ change }}.</p>
<p>We will no longer write to {{ to }}, and the portal links we sent before stop working. If you made or
expected this change, there is nothing to do. If not, reply to this email or call us: someone who held
one of your portal links may have made it.</p>
<p>{{ sender_name }}</p>
</body></html>
"""


def render_contact_notice(
    customer: Customer,
    *,
    to: str,
    change: str,
    sender: str,
    sender_name: str,
    now: datetime,
    touch_id: str,
) -> EmailMessage:
    """The notice to an address the portal's contact change replaced: no link in it (whoever changed
    the address may hold the portal; this address is the one to warn)."""
    values = {"to": to, "change": change, "when": now.strftime("%Y-%m-%d %H:%M")}
    return _message(
        customer, CONTACT_NOTICE_SUBJECT, CONTACT_NOTICE_KIND, (NOTICE_TEXT, NOTICE_HTML), values,
        to=to, sender=sender, sender_name=sender_name, now=now, touch_id=touch_id,
    )  # fmt: skip


# --- one-off emails a collector sends from the staff console ----------------------------------------

# The X-Arcollect-Step header and SES ``kind`` tag of each one-off email (the console's template names).
STATEMENT_KIND = "statement"
PORTAL_LINK_KIND = "portal_link"
PAYMENT_CONFIRMATION_KIND = "payment_confirmation"
ONE_OFF_KINDS: tuple[str, ...] = (STATEMENT_KIND, PORTAL_LINK_KIND, PAYMENT_CONFIRMATION_KIND)

_LINE_BREAKS = re.compile(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")


def _one_line(text: str) -> str:
    """A value for one header line: line breaks out, so nothing can add a header through an id."""
    return _LINE_BREAKS.sub(" ", text).strip()


@dataclass(frozen=True)
class Signature:
    """Who sends a one-off email: the collector's name, and their address for replies (if known)."""

    name: str
    email: str | None = None

    def reply_to(self) -> Address | None:
        if not self.email:
            return None
        return Address(display_name=_one_line(self.name), addr_spec=self.email.strip())


@dataclass(frozen=True)
class StatementLine:
    number: str
    invoice_date: str
    due_date: str
    status: str
    amount: str


def statement_lines(invoices: Sequence[Invoice], today: date) -> list[StatementLine]:
    """The open invoices as the statement lists them, oldest due first."""
    lines = []
    for invoice in sorted(invoices, key=lambda i: (i.due_date, i.invoice_number)):
        late = (today - invoice.due_date).days
        status = (
            f"{late} day{'s' if late != 1 else ''} overdue"
            if late > 0
            else ("due today" if late == 0 else f"due {invoice.due_date.isoformat()}")
        )
        if invoice.disputed:
            status += " (in dispute)"
        lines.append(
            StatementLine(
                _one_line(invoice.invoice_number),
                invoice.invoice_date.isoformat(),
                invoice.due_date.isoformat(),
                status,
                written(invoice.open_amount, invoice.currency),
            )
        )
    return lines


def statement_totals(invoices: Sequence[Invoice], credits: Sequence[CreditLine]) -> list[tuple[str, str]]:
    """Per currency (never added across them): the open invoices less the customer's credits."""
    totals: dict[str, Decimal] = {}
    for invoice in invoices:
        totals[invoice.currency] = totals.get(invoice.currency, Decimal(0)) + invoice.open_amount
    for line in credits:
        totals[line.currency] = totals.get(line.currency, Decimal(0)) - line.amount
    return [(currency, written(amount, currency)) for currency, amount in sorted(totals.items())]


STATEMENT_SUBJECT = "Statement of your account: open items as of {day}"

STATEMENT_TEXT = """\
Hello {{ name }},

here is the statement of your account as of {{ day }}.
{% if lines %}
Open invoices:
{% for line in lines %}
- {{ line.number }}: {{ line.amount }}, invoice date {{ line.invoice_date }}, due {{ line.due_date }}
  ({{ line.status }})
{%- endfor %}
{% if credits %}
Your credits:
{% for credit in credits %}
- {{ credit.label }} {{ credit.reference }}: -{{ credit.amount }}
{%- endfor %}
{% endif %}
Balance: {% for currency, total in totals %}{{ total }}{% if not loop.last %} + {% endif %}{% endfor %}
{% else %}
Nothing is open on your account. Thank you!
{% endif %}
{%- if link %}
Your account online (pay, tell us when you will pay, or dispute an invoice):
{{ link }}
{% endif %}
Questions? Simply reply to this email.

{{ signer }}
{{ sender_name }}
"""

STATEMENT_HTML = """\
<!doctype html>
<html lang="en"><body style="font-family: Arial, sans-serif; color: #222;">
<p>Hello {{ name }},</p>
<p>here is the statement of your account as of {{ day }}.</p>
{% if lines %}
<table style="border-collapse: collapse;">
<caption style="text-align: left; font-weight: bold;">Open invoices</caption>
<thead><tr><th scope="col">Invoice</th><th scope="col">Invoice date</th><th scope="col">Due date</th>
<th scope="col">Status</th><th scope="col" style="text-align: right;">Amount open</th></tr></thead>
<tbody>
{% for line in lines %}<tr><td>{{ line.number }}</td><td>{{ line.invoice_date }}</td>
<td>{{ line.due_date }}</td><td>{{ line.status }}</td>
<td style="text-align: right;">{{ line.amount }}</td></tr>
{% endfor %}</tbody>
</table>
{% if credits %}<p>Your credits:</p><ul>{% for credit in credits %}
<li>{{ credit.label }} {{ credit.reference }}: -{{ credit.amount }}</li>{% endfor %}</ul>{% endif %}
<p><strong>Balance: {% for currency, total in totals -%}
{{ total }}{% if not loop.last %} + {% endif %}{% endfor %}</strong></p>
{% else %}
<p>Nothing is open on your account. Thank you!</p>
{% endif %}
{% if link %}<p><a ses:no-track href="{{ link }}">View your account online</a>: pay, tell us when you will
pay, or dispute an invoice.</p>{% endif %}
<p>Questions? Simply reply to this email.</p>
<p>{{ signer }}<br>{{ sender_name }}</p>
</body></html>
"""


def render_statement(
    customer: Customer,
    *,
    invoices: Sequence[Invoice],
    credits: Sequence[CreditLine],
    today: date,
    to: str,
    link: str | None,
    signature: Signature,
    sender: str,
    sender_name: str,
    now: datetime,
    touch_id: str,
) -> EmailMessage:
    """A statement of the customer's open items as of ``today`` (the customer's day): each open invoice,
    the credits (credit notes, unapplied cash) and the balance per currency."""
    invoices = sorted(invoices, key=lambda i: (i.due_date, i.invoice_number))
    values = {
        "day": today.isoformat(),
        "lines": statement_lines(invoices, today),
        "credits": [
            {
                "label": "Credit note" if c.kind == CREDIT_NOTE else "Payment received, not yet applied",
                "reference": _one_line(c.reference),
                "amount": written(c.amount, c.currency),
            }
            for c in credits
        ],
        "totals": statement_totals(invoices, credits),
        "link": link or "",
        "signer": signature.name,
    }
    return _message(
        customer, STATEMENT_SUBJECT.format(day=today.isoformat()), STATEMENT_KIND,
        (STATEMENT_TEXT, STATEMENT_HTML), values, to=to, sender=sender, sender_name=sender_name, now=now,
        touch_id=touch_id, reply_to=signature.reply_to(), invoices=[i.invoice_number for i in invoices],
    )  # fmt: skip


PORTAL_LINK_SUBJECT = "A fresh link to your account with us"

PORTAL_LINK_TEXT = """\
Hello {{ name }},

{{ signer }} asked us to send you a fresh link to your account. It shows your open invoices, lets you
download a statement, tell us when you will pay or dispute an invoice.

{{ link }}

The link works for {{ days }} days and only opens the account of {{ name }}.

{{ signer }}
{{ sender_name }}
"""

PORTAL_LINK_HTML = """\
<!doctype html>
<html lang="en"><body style="font-family: Arial, sans-serif; color: #222;">
<p>Hello {{ name }},</p>
<p>{{ signer }} asked us to send you a fresh link to your account. It shows your open invoices, lets
you download a statement, tell us when you will pay or dispute an invoice.</p>
<p><a ses:no-track href="{{ link }}"
style="background:#1a5fb4;color:#fff;padding:10px 16px;text-decoration:none;border-radius:4px;">Open my
account</a></p>
<p style="font-size: 90%;">Or copy this address into your browser:<br>{{ link }}</p>
<p>The link works for {{ days }} days and only opens the account of {{ name }}.</p>
<p>{{ signer }}<br>{{ sender_name }}</p>
</body></html>
"""


def render_portal_link(
    customer: Customer,
    *,
    to: str,
    link: str,
    days: int,
    signature: Signature,
    sender: str,
    sender_name: str,
    now: datetime,
    touch_id: str,
) -> EmailMessage:
    """A fresh portal link a collector sends (the customer did not ask through the portal)."""
    values = {"link": link, "days": days, "signer": signature.name}
    return _message(
        customer, PORTAL_LINK_SUBJECT, PORTAL_LINK_KIND, (PORTAL_LINK_TEXT, PORTAL_LINK_HTML), values,
        to=to, sender=sender, sender_name=sender_name, now=now, touch_id=touch_id,
        reply_to=signature.reply_to(),
    )  # fmt: skip


PAYMENT_SUBJECT = "We received your payment of {amount}"

PAYMENT_TEXT = """\
Hello {{ name }},

thank you: we received your payment of {{ amount }} on {{ paid_on }}
{%- if reference %} (your reference {{ reference }}){% endif %}.
{% if applied %}
We applied it to:
{% for number, part in applied %}
- invoice {{ number }}: {{ part }}
{%- endfor %}
{% endif %}
{%- if unapplied %}
{{ unapplied }} of it is not applied to an invoice yet: we will tell you when it is, or simply reply
with the invoices it pays.
{% endif %}
{{ signer }}
{{ sender_name }}
"""

PAYMENT_HTML = """\
<!doctype html>
<html lang="en"><body style="font-family: Arial, sans-serif; color: #222;">
<p>Hello {{ name }},</p>
<p>thank you: we received your payment of <strong>{{ amount }}</strong> on {{ paid_on }}{% if reference %}
(your reference {{ reference }}){% endif %}.</p>
{% if applied %}<p>We applied it to:</p><ul>{% for number, part in applied %}
<li>invoice {{ number }}: {{ part }}</li>{% endfor %}</ul>{% endif %}
{% if unapplied %}<p>{{ unapplied }} of it is not applied to an invoice yet: we will tell you when it is,
or simply reply with the invoices it pays.</p>{% endif %}
<p>{{ signer }}<br>{{ sender_name }}</p>
</body></html>
"""


def render_payment_confirmation(
    customer: Customer,
    *,
    payment: Payment,
    to: str,
    signature: Signature,
    sender: str,
    sender_name: str,
    now: datetime,
    touch_id: str,
) -> EmailMessage:
    """The confirmation of one payment received: its amount and day, what it was applied to, and what
    of it is not applied yet."""
    applied = [
        (_one_line(a.invoice_number), written(a.amount, payment.currency))
        for a in payment.applications
        if a.invoice_number
    ]
    values = {
        "amount": written(payment.amount, payment.currency),
        "paid_on": payment.payment_date.isoformat(),
        "reference": _one_line(payment.reference or ""),
        "applied": applied,
        "unapplied": written(payment.unapplied_amount, payment.currency)
        if payment.unapplied_amount > 0
        else "",
        "signer": signature.name,
    }
    return _message(
        customer, PAYMENT_SUBJECT.format(amount=values["amount"]), PAYMENT_CONFIRMATION_KIND,
        (PAYMENT_TEXT, PAYMENT_HTML), values, to=to, sender=sender, sender_name=sender_name, now=now,
        touch_id=touch_id, reply_to=signature.reply_to(),
        invoices=[number for number, _ in applied],
    )  # fmt: skip


__all__ = [
    "CONTACT_NOTICE_KIND",
    "CONTACT_NOTICE_SUBJECT",
    "FRESH_LINK_KIND",
    "ONE_OFF_KINDS",
    "PAYMENT_CONFIRMATION_KIND",
    "PORTAL_LINK_KIND",
    "STATEMENT_KIND",
    "SUBJECT",
    "Signature",
    "render_contact_notice",
    "render_fresh_link",
    "render_payment_confirmation",
    "render_portal_link",
    "render_statement",
]
