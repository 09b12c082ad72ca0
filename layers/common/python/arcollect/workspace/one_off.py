"""A collector's one-off email from the staff console: a statement of the open items, a fresh portal
link, or the confirmation of a payment received, to one customer.

It goes through the same touch ledger as dunning's reminders (``store/touch_ledger.py``): reserved
before SES is called, under a touch id made from the form's idempotency key, conditional on the customer
not being do-not-contact; completed with SES's message id and the timeline entry in one transaction.
So a double click or a retried request finds the email reserved and sends nothing more; SES refusing the
message for good is recorded on the email and the timeline and told to the collector; SES not sending
at all (throttled, the account paused) frees the reservation so the same form can be sent again; an
outcome SES left unknown keeps the reservation (never sent twice), and SES's own send event completes
it, as for a reminder. Only reachable addresses are written to (no suppressed, bounced or complained one).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

from arcollect.credits import credit_lines
from arcollect.customer_emails import (
    ONE_OFF_KINDS,
    PAYMENT_CONFIRMATION_KIND,
    PORTAL_LINK_KIND,
    STATEMENT_KIND,
    Signature,
    render_payment_confirmation,
    render_portal_link,
    render_statement,
)
from arcollect.entities import Activity, Customer
from arcollect.observability import logger
from arcollect.staff import StaffUser
from arcollect.store.mail import (
    MailRejected,
    MessageRefused,
    SendNotAccepted,
    SendOutcomeUnknown,
    customer_tags,
    tag_value,
    without_addresses,
)
from arcollect.store.touches import EmailTouchRecord
from arcollect.workspace.desk import Desk
from arcollect.workspace.follow_ups import checked_customer_id, checked_key
from arcollect.workspace.model import WorkspaceConflict, WorkspaceInputError

# The console's choice of email, as the form and the API name it.
TEMPLATES: dict[str, str] = {
    STATEMENT_KIND: "Statement of the open items",
    PORTAL_LINK_KIND: "Fresh portal link",
    PAYMENT_CONFIRMATION_KIND: "Payment confirmation",
}
assert set(TEMPLATES) == set(ONE_OFF_KINDS)
# Timeline kinds (``email_*``: the portal's messages page lists them beside the reminders).
KIND_SENT = "email_one_off"
KIND_REFUSED = "email_one_off_refused"
KIND_UNCONFIRMED = "email_one_off_unconfirmed"


class MailUnavailable(RuntimeError):
    """SES sent nothing (throttled, the account paused, no connection): nothing went out, and the same
    form may be sent again later."""


@dataclass(frozen=True)
class SendReceipt:
    """What came of a one-off send. ``status``: ``sent`` (SES accepted it), ``unconfirmed`` (SES may
    have sent it; its send event settles it; never sent again). ``repeated``: this request was a repeat
    of one already made (a double click, a retry): nothing more was sent."""

    customer_id: str
    touch_id: str
    template: str
    to: tuple[str, ...]
    status: str
    message_id: str | None
    repeated: bool = False


def one_off_touch_id(customer_id: str, key: str) -> str:
    """The touch id of one submission of the send form (its idempotency key): SES tag text, so it
    travels as the message's ``touch_id`` tag unchanged."""
    digest = hashlib.sha256(f"{customer_id}\0{key}".encode()).hexdigest()[:24]
    return f"one-off-{digest}"


def send_one_off(
    desk: Desk,
    customer_id: str,
    *,
    template: str,
    key: str,
    by: StaffUser,
    now: datetime,
    payment_id: str = "",
    portal_url: str = "",
) -> SendReceipt:
    """Send ``template`` (statement, portal_link, payment_confirmation: then ``payment_id``) to the
    customer's reachable addresses, at most once per ``key``; ``portal_url``: the portal's URL as the
    console's request came in (where a link in the email leads, unless the stack configures one).
    WorkspaceInputError names the field (customer_id, template, payment_id, idempotency_key, or ``to``:
    do-not-contact, no address, every address bounced, SES refused the message); MailUnavailable when
    SES sent nothing."""
    wanted = checked_customer_id(desk, customer_id)
    customer = desk.customer(wanted)
    chosen = (template or "").strip()
    if chosen not in TEMPLATES:
        raise WorkspaceInputError("template", f"choose one of: {', '.join(TEMPLATES)}")
    idempotency = checked_key(key)
    if not idempotency:
        raise WorkspaceInputError("idempotency_key", "is required (one per form: a repeat sends nothing)")
    touch_id = one_off_touch_id(wanted, idempotency)
    record = desk.touches.email_touch(wanted, touch_id)
    if record is not None:
        return _repeated(wanted, chosen, record)
    recipients = _recipients(customer)
    message = _message(desk, customer, chosen, recipients, by, now, touch_id, payment_id, portal_url)
    verdict = desk.touches.reserve_one_off(wanted, touch_id, chosen, recipients, now, clock_at=now)
    if verdict == "customer":
        raise WorkspaceInputError("to", "the customer is marked do-not-contact: no email goes to them")
    if verdict == "touched":
        again = desk.touches.email_touch(wanted, touch_id)
        if again is None:  # pragma: no cover - released between the two reads
            raise WorkspaceConflict("the same email is being sent: reload to see what came of it")
        return _repeated(wanted, chosen, again)
    to = ", ".join(recipients)
    what = TEMPLATES[chosen].lower()
    tags = {**customer_tags(wanted), "kind": tag_value(chosen), "touch_id": tag_value(touch_id)}
    try:
        raw = message.as_bytes()
        message_id = desk.mailer.send(sender=desk.sender, to=list(recipients), raw=raw, tags=tags)
    except MessageRefused as error:
        # For good: sending the same message again is refused again. Kept reserved (this form never sends
        # it again), the reason on the email and the timeline; the collector fixes the data and sends anew.
        reason = f"{error.code}: {error.reason}" if error.code else str(error)
        activity = _activity(
            wanted, now, f"refused-{touch_id}", KIND_REFUSED,
            f"The mail service refused the {what} {by.name} sent to {to}: {reason}",
            by, chosen, touch_id, to, ses_code=error.code, ses_reason=error.reason,
        )  # fmt: skip
        desk.touches.refuse_email(wanted, touch_id, reason, now, None, activity)
        raise WorkspaceInputError(
            "to", f"the mail service refused the email to {to} ({reason}): correct the address, send again"
        ) from error
    except SendOutcomeUnknown as error:
        # It may have gone: sending again could write twice. SES's send event completes the reservation.
        logger.error(
            "SES may or may not have sent a one-off email: kept reserved, not resent",
            extra={"customer_id": wanted, "touch_id": touch_id, "error": str(error)},
        )
        unconfirmed = _activity(
            wanted, now, f"unconfirmed-{touch_id}", KIND_UNCONFIRMED,
            f"The {what} {by.name} sent to {to} may or may not have gone (the mail service did not "
            "answer): it is not sent again; the mail service's own event will confirm it",
            by, chosen, touch_id, to,
        )  # fmt: skip
        desk.store.record(unconfirmed)
        return SendReceipt(wanted, touch_id, chosen, recipients, "unconfirmed", None)
    except (MailRejected, SendNotAccepted) as error:
        # Nothing was sent (the account paused, throttled): free the reservation, the form may go again.
        desk.touches.release_email(wanted, touch_id, ())
        logger.warning(
            "SES sent no one-off email", extra={"customer_id": wanted, "error": without_addresses(str(error))}
        )
        raise MailUnavailable(
            "the mail service is not sending right now, so nothing was sent: try again in a few minutes"
        ) from error
    except Exception:
        desk.touches.release_email(wanted, touch_id, ())
        raise
    activity = _activity(
        wanted, now, message_id, KIND_SENT, f"{by.name} sent a {what} to {to}", by, chosen, touch_id, to,
        message_id=message_id, **_about(message),
    )  # fmt: skip
    desk.touches.complete_email(wanted, touch_id, message_id, (), activity, now)
    return SendReceipt(wanted, touch_id, chosen, recipients, "sent", message_id)


def _recipients(customer: Customer) -> tuple[str, ...]:
    """Where the email may go: not do-not-contact, only addresses that did not bounce or complain."""
    if customer.do_not_contact:
        raise WorkspaceInputError("to", "the customer is marked do-not-contact: no email goes to them")
    recipients = customer.reachable_emails
    if recipients:
        return recipients
    if customer.suppressed_emails:
        raise WorkspaceInputError(
            "to",
            f"every address on file bounced or complained ({', '.join(customer.suppressed_emails)}): "
            "add a working address to the customer first",
        )
    raise WorkspaceInputError("to", "the customer has no email address on file: add one first")


def _message(
    desk: Desk,
    customer: Customer,
    template: str,
    recipients: tuple[str, ...],
    by: StaffUser,
    now: datetime,
    touch_id: str,
    payment_id: str,
    portal_url: str,
) -> EmailMessage:
    """The email, written before anything is reserved: a form that cannot be sent reserves nothing."""
    contact = desk.policies().contact(by.username)
    signature = Signature(
        contact.name if contact and contact.name != by.username else by.name,
        (contact.email if contact and contact.email else None) or by.email,
    )
    to = ", ".join(recipients)
    sender, sender_name = desk.sender, desk.policies().settings.sender_name
    try:
        if template == PAYMENT_CONFIRMATION_KIND:
            wanted = (payment_id or "").strip()
            if not wanted:
                raise WorkspaceInputError("payment_id", "choose the payment to confirm")
            payment = desk.store.payment(customer.customer_id, wanted)
            if payment is None:
                raise WorkspaceInputError("payment_id", f"there is no payment {wanted!r} of this customer")
            return render_payment_confirmation(
                customer, payment=payment, to=to, signature=signature, sender=sender,
                sender_name=sender_name, now=now, touch_id=touch_id,
            )  # fmt: skip
        if template == PORTAL_LINK_KIND:
            if desk.link_for is None:
                raise WorkspaceInputError("template", "this console cannot sign portal links")
            link = desk.link_for(customer.customer_id, now, portal_url)
            return render_portal_link(
                customer, link=link, days=desk.link_days, to=to, signature=signature, sender=sender,
                sender_name=sender_name, now=now, touch_id=touch_id,
            )  # fmt: skip
        items = desk.store.account(customer.customer_id)
        return render_statement(
            customer,
            invoices=[i for i in items.invoices if i.is_open and not i.is_credit_note],
            credits=credit_lines(items.invoices, items.payments),
            today=desk.today(now, customer),
            link=desk.link_for(customer.customer_id, now, portal_url) if desk.link_for else None,
            to=to, signature=signature, sender=sender, sender_name=sender_name, now=now, touch_id=touch_id,
        )  # fmt: skip
    except ValueError as error:
        if isinstance(error, WorkspaceInputError):
            raise
        # An address the email standard cannot carry (SES would refuse it too): nothing was reserved.
        raise WorkspaceInputError("to", f"the email cannot be written to {to}: {error}") from error


def _repeated(customer_id: str, template: str, record: EmailTouchRecord) -> SendReceipt:
    """The same form again: what the first submission's email came to, nothing sent now."""
    if record.step != template:
        raise WorkspaceConflict("this form already sent another email: reload the page to send a new one")
    if record.status == "refused":
        raise WorkspaceInputError(
            "to",
            f"the mail service refused this email ({record.refusal}): correct the address, send anew",
        )
    status = "sent" if record.message_id else "unconfirmed"
    return SendReceipt(
        customer_id, record.touch_id, template, record.recipients, status, record.message_id, repeated=True
    )


def _about(message: EmailMessage) -> dict[str, str]:
    invoices = str(message.get("X-Arcollect-Invoices") or "")
    return {"invoices": invoices} if invoices else {}


def _activity(
    customer_id: str,
    now: datetime,
    activity_id: str,
    kind: str,
    summary: str,
    by: StaffUser,
    template: str,
    touch_id: str,
    to: str,
    **detail: str,
) -> Activity:
    return Activity(
        customer_id=customer_id,
        at=now,
        activity_id=activity_id,
        kind=kind,
        summary=summary,
        detail={"by": by.username, "template": template, "touch_id": touch_id, "to": to, **detail},
    )


__all__ = ["TEMPLATES", "MailUnavailable", "SendReceipt", "one_off_touch_id", "send_one_off"]
