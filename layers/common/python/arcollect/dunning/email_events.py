"""SES event publishing (bounce, complaint, delivery, reject, ...) back into the customer's timeline."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from arcollect import changes
from arcollect.changes import ChangeFeed
from arcollect.clock import parse_instant
from arcollect.entities import Activity, Customer
from arcollect.observability import logger
from arcollect.store.mail import CUSTOMER_TAG, customer_from_tags


class Timeline(Protocol):
    def record(self, activity: Activity) -> bool: ...


class Completions(Protocol):
    def complete_from_ses(self, customer_id: str, touch_id: str, message_id: str, at: datetime) -> bool: ...

    def mark_bounced(self, customer_id: str, touch_id: str, at: datetime) -> tuple[tuple[str, str], ...]: ...


class Feedback(Protocol):
    """Where SES's word changes what dunning does next: the addresses, and the ledger of touches."""

    def suppress_address(self, customer_id: str, address: str) -> None: ...

    def customers(self, customer_ids: Iterable[str]) -> dict[str, Customer]: ...

    @property
    def touches(self) -> Completions: ...


class MalformedEmailEvent(ValueError):
    """An SES event without the fields every SES event carries."""


# The SES tag that names the reservation of the email (see dunning.delivery).
TOUCH_TAG = "touch_id"


@dataclass(frozen=True)
class EmailEventOutcome:
    message_id: str
    event_type: str
    customer_id: str | None
    recorded: bool
    suppressed: tuple[str, ...] = ()
    completed: bool = False
    # The (invoice, step) touches of an email that bounced for every recipient: each step goes again by
    # its next channel on the next tick (docs/dunning.md "Channels"); () on a duplicate event.
    fell_back: tuple[tuple[str, str], ...] = ()


def _first_tag(mail: dict[str, Any], name: str) -> str | None:
    values = (mail.get("tags") or {}).get(name) or []
    return str(values[0]) if values else None


def _event_time(detail: dict[str, Any], event_type: str) -> datetime | None:
    """When the event itself happened: SES puts it in the section named after the type (``bounce``...)."""
    section_name = event_type[:1].lower() + event_type[1:].replace(" ", "")
    section = detail.get(section_name)
    stamp = section.get("timestamp") if isinstance(section, dict) else None
    return parse_instant(str(stamp), what=f"{section_name}.timestamp") if stamp else None


def _addresses(section: Any, key: str) -> tuple[str, ...]:
    if not isinstance(section, dict):
        return ()
    return tuple(
        str(entry["emailAddress"])
        for entry in section.get(key) or []
        if isinstance(entry, dict) and entry.get("emailAddress")
    )


def addresses_to_suppress(detail: dict[str, Any]) -> tuple[str, ...]:
    """The recipients never to mail again: permanent bounces and complaints (a transient bounce, such as
    a full mailbox, is retried by SES and says nothing lasting about the address)."""
    event_type = str(detail.get("eventType", ""))
    if event_type == "Bounce":
        bounce = detail.get("bounce")
        if isinstance(bounce, dict) and bounce.get("bounceType") == "Permanent":
            return _addresses(bounce, "bouncedRecipients")
        return ()
    if event_type == "Complaint":
        return _addresses(detail.get("complaint"), "complainedRecipients")
    return ()


def handle_email_event(
    detail: dict[str, Any],
    *,
    timeline: Timeline,
    feedback: Feedback,
    received_at: datetime,
    change_feed: ChangeFeed | None = None,
) -> EmailEventOutcome:
    """Record the event in the customer's timeline (with the ERP's change of each address that bounced
    for good), stop using addresses that bounced or complained, and complete a reservation whose
    completion a crash lost (SES's send event carries its touch id)."""
    outcome = record_email_event(detail, timeline=timeline, received_at=received_at, change_feed=change_feed)
    if outcome.customer_id is None:
        return outcome
    suppressed = addresses_to_suppress(detail)
    for address in suppressed:
        feedback.suppress_address(outcome.customer_id, address)
    completed = False
    touch = _first_tag(detail.get("mail") or {}, TOUCH_TAG)
    if touch and outcome.event_type in {"Send", "Delivery"}:
        at = _event_time(detail, outcome.event_type) or received_at
        completed = feedback.touches.complete_from_ses(outcome.customer_id, touch, outcome.message_id, at)
        if completed:
            logger.warning(
                "a reminder's completion was lost; SES's event completed it",
                extra={"customer_id": outcome.customer_id, "touch_id": touch},
            )
    fell_back: tuple[tuple[str, str], ...] = ()
    if touch and suppressed and outcome.event_type == "Bounce":
        fell_back = _fall_back(detail, outcome.customer_id, touch, suppressed, feedback, received_at)
    return EmailEventOutcome(
        outcome.message_id,
        outcome.event_type,
        outcome.customer_id,
        outcome.recorded,
        suppressed=suppressed,
        completed=completed,
        fell_back=fell_back,
    )


def _fall_back(
    detail: dict[str, Any],
    customer_id: str,
    touch: str,
    bounced: tuple[str, ...],
    feedback: Feedback,
    received_at: datetime,
) -> tuple[tuple[str, str], ...]:
    """Mark the email's touches bounced when none of its recipients got it: the addresses this event
    bounced, and those suppressed before (a bounce of an earlier email, a complaint). One address that
    still works got the email: the step reached the customer, nothing falls back."""
    recipients = {str(r).lower() for r in (detail.get("mail") or {}).get("destination") or []}
    customer = feedback.customers([customer_id]).get(customer_id)
    gone = {a.lower() for a in (*bounced, *(customer.suppressed_emails if customer else ()))}
    if not recipients or recipients - gone:
        return ()
    at = _event_time(detail, "Bounce") or received_at
    fell_back = feedback.touches.mark_bounced(customer_id, touch, at)
    if fell_back:
        logger.info(
            "an email bounced for every recipient: its steps go by their next channel",
            extra={"customer_id": customer_id, "touch_id": touch, "touches": len(fell_back)},
        )
    return fell_back


def bounced_for_good(detail: dict[str, Any]) -> tuple[str, ...]:
    """The recipients of a permanent bounce: addresses that do not exist (or refuse us) for good, which
    the ERP's master data should lose too. A complaint is the recipient's choice, not a wrong address."""
    return addresses_to_suppress(detail) if str(detail.get("eventType", "")) == "Bounce" else ()


def record_email_event(
    detail: dict[str, Any],
    *,
    timeline: Timeline,
    received_at: datetime,
    change_feed: ChangeFeed | None = None,
) -> EmailEventOutcome:
    """Put an SES event in the timeline of the customer the email was for (once per message and type),
    with an ``email_bounced`` change for the ERP per address a permanent bounce names."""
    try:
        event_type = str(detail["eventType"])
        mail = detail["mail"]
        message_id = str(mail["messageId"])
    except (KeyError, TypeError) as error:
        raise MalformedEmailEvent(f"SES event lacks {error}") from error
    # The sender tags every email with its customer (``customer_tags``: the id as it is, or encoded over
    # one or more tags); SES echoes every tag in its events.
    customer_id = customer_from_tags(mail.get("tags") or {}, CUSTOMER_TAG)
    if customer_id is None:
        # Mail we did not tag (sent by another tool through the same configuration set): not ours.
        logger.warning(
            "SES event for an untagged message", extra={"message_id": message_id, "type": event_type}
        )
        return EmailEventOutcome(message_id, event_type, None, recorded=False)
    at = _event_time(detail, event_type) or received_at
    recipients = ", ".join(str(r) for r in mail.get("destination") or [])
    section = detail.get("bounce")
    bounce: dict[str, Any] = section if isinstance(section, dict) else {}
    bounce_type = "/".join(str(bounce[k]) for k in ("bounceType", "bounceSubType") if bounce.get(k))
    activity = Activity(
        customer_id=customer_id,
        at=at,
        activity_id=f"{message_id}#{event_type.lower()}",
        kind=f"email_{event_type.lower().replace(' ', '_')}",
        summary=f"Email {event_type.lower()} for {recipients or 'unknown recipient'}",
        detail={"message_id": message_id, "event_type": event_type, "recipients": recipients},
        changes=tuple(
            changes.email_bounced(
                customer_id=customer_id,
                message_id=message_id,
                address=address,
                bounce_type=bounce_type,
                at=at,
            )
            for address in bounced_for_good(detail)
        ),
    )
    # Recorded once per message and type: a redelivered event neither repeats the entry nor its changes.
    recorded = timeline.record(activity)
    if recorded:
        changes.publish(change_feed, activity.changes)
    return EmailEventOutcome(message_id, event_type, customer_id, recorded=recorded)
