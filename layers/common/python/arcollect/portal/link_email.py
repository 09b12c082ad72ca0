"""The portal's own emails (plain text and HTML, English): "here is a fresh link to your account", and
"your accounts-payable address was changed" to the address it replaced.

They are written in the domain (``arcollect/customer_emails.py``), beside the one-off emails collectors
send from the staff console, which send a fresh link too; the portal imports them from here."""

from __future__ import annotations

from arcollect.customer_emails import (
    CONTACT_NOTICE_KIND,
    CONTACT_NOTICE_SUBJECT,
    FRESH_LINK_KIND,
    SUBJECT,
    render_contact_notice,
    render_fresh_link,
)

__all__ = [
    "CONTACT_NOTICE_KIND",
    "CONTACT_NOTICE_SUBJECT",
    "FRESH_LINK_KIND",
    "SUBJECT",
    "render_contact_notice",
    "render_fresh_link",
]
