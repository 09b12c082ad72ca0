"""What the portal writes in a customer's timeline: the kinds of its entries, their ids, and the record
of each email the portal sends itself (a fresh link, the notice of an address change)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from arcollect.entities import Activity, Customer
from arcollect.store.mail import MailRejected, customer_tags, tag_value

if TYPE_CHECKING:
    from email.message import EmailMessage

    from arcollect.mailing import Mailer
    from arcollect.store.repositories import Activities

# Timeline kinds the portal writes (the messages page shows the fresh-link ones beside dunning's email_*).
KIND_FRESH_LINK = "fresh_link_sent"
KIND_FRESH_LINK_FAILED = "fresh_link_failed"
KIND_PROMISE = "promise_made"
KIND_DISPUTE = "dispute_opened"
KIND_CONTACT = "contact_updated"
KIND_CONTACT_NOTICE = "contact_notice_sent"
KIND_LINKS_REVOKED = "links_revoked"
KIND_PORTAL_OPENED = "portal_opened"
KIND_ATTACHMENT = "dispute_attachment_added"
KIND_ATTACHMENT_REFUSED = "dispute_attachment_refused"
MESSAGE_KINDS = (KIND_FRESH_LINK, KIND_FRESH_LINK_FAILED)


def new_id() -> str:
    """An id for a timeline entry, a dispute or a touch."""
    return secrets.token_hex(8)


@dataclass(frozen=True)
class Outbox:
    """Sends the portal's own emails and says in the timeline what came of each."""

    mailer: Mailer
    sender: str
    activities: Activities

    def send(
        self,
        customer: Customer,
        to: str,
        message: EmailMessage,
        *,
        kind: str,
        touch_id: str,
        now: datetime,
        sent: tuple[str, str],
        refused: tuple[str, str],
    ) -> None:
        """Send ``message`` to ``to`` and record (timeline kind, summary) ``sent`` or, when the mail
        service refuses it, ``refused``: the caller's response stays the same either way (a refusal
        is recorded, not raised)."""
        # SES refuses a tag value outside [A-Za-z0-9_-]: the id travels encoded, as dunning's does.
        tags = {"kind": kind, "touch_id": tag_value(touch_id), **customer_tags(customer.customer_id)}
        try:
            message_id = self.mailer.send(sender=self.sender, to=[to], raw=message.as_bytes(), tags=tags)
        except MailRejected as error:
            (activity_kind, summary), detail = refused, {"to": to, "error": str(error)}
        else:
            (activity_kind, summary), detail = (
                sent,
                {"to": to, "message_id": message_id, "touch_id": touch_id},
            )
        self.activities.record(
            Activity(
                customer_id=customer.customer_id,
                at=now,
                activity_id=new_id(),
                kind=activity_kind,
                summary=summary,
                detail=detail,
            )
        )
