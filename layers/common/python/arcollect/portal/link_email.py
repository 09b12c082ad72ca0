"""The portal's own emails (plain text and HTML, English): "here is a fresh link to your account", and
"your accounts-payable address was changed" to the address it replaced."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jinja2 import Environment

from arcollect.contract import HEADER_CUSTOMER, HEADER_INVOICES, HEADER_STEP, HEADER_TOUCH
from arcollect.entities import Customer

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
) -> EmailMessage:
    """One of the portal's emails: plain text and HTML from ``templates``, headers naming the customer
    and the kind (``X-Arcollect-Step``) so SES's feedback finds the timeline."""
    values = {"name": customer.name or customer.customer_id, "sender_name": sender_name, **values}
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = Address(display_name=sender_name, addr_spec=sender)
    message["To"] = to
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message[HEADER_CUSTOMER] = customer.customer_id
    message[HEADER_STEP] = kind
    message[HEADER_INVOICES] = ""
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


__all__ = [
    "CONTACT_NOTICE_KIND",
    "CONTACT_NOTICE_SUBJECT",
    "FRESH_LINK_KIND",
    "SUBJECT",
    "render_contact_notice",
    "render_fresh_link",
]
