"""SES event publishing (bounce, complaint, delivery, reject, ...) back into the customer's timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from arcollect.clock import parse_instant
from arcollect.entities import Activity
from arcollect.observability import logger

# The message tag the dunning sender puts on every email; SES echoes tags in its events.
CUSTOMER_TAG = "customer_id"


class Timeline(Protocol):
    def record(self, activity: Activity) -> bool: ...


class MalformedEmailEvent(ValueError):
    """An SES event without the fields every SES event carries."""


@dataclass(frozen=True)
class EmailEventOutcome:
    message_id: str
    event_type: str
    customer_id: str | None
    recorded: bool


def _first_tag(mail: dict[str, Any], name: str) -> str | None:
    values = (mail.get("tags") or {}).get(name) or []
    return str(values[0]) if values else None


def _event_time(detail: dict[str, Any], event_type: str) -> datetime | None:
    """When the event itself happened: SES puts it in the section named after the type (``bounce``...)."""
    section_name = event_type[:1].lower() + event_type[1:].replace(" ", "")
    section = detail.get(section_name)
    stamp = section.get("timestamp") if isinstance(section, dict) else None
    return parse_instant(str(stamp), what=f"{section_name}.timestamp") if stamp else None


def record_email_event(
    detail: dict[str, Any], *, timeline: Timeline, received_at: datetime
) -> EmailEventOutcome:
    """Put an SES event in the timeline of the customer the email was for (once per message and type)."""
    try:
        event_type = str(detail["eventType"])
        mail = detail["mail"]
        message_id = str(mail["messageId"])
    except (KeyError, TypeError) as error:
        raise MalformedEmailEvent(f"SES event lacks {error}") from error
    customer_id = _first_tag(mail, CUSTOMER_TAG)
    if customer_id is None:
        # Mail we did not tag (sent by another tool through the same configuration set): not ours.
        logger.warning(
            "SES event for an untagged message", extra={"message_id": message_id, "type": event_type}
        )
        return EmailEventOutcome(message_id, event_type, None, recorded=False)
    at = _event_time(detail, event_type) or received_at
    recipients = ", ".join(str(r) for r in mail.get("destination") or [])
    recorded = timeline.record(
        Activity(
            customer_id=customer_id,
            at=at,
            activity_id=f"{message_id}#{event_type.lower()}",
            kind=f"email_{event_type.lower().replace(' ', '_')}",
            summary=f"Email {event_type.lower()} for {recipients or 'unknown recipient'}",
            detail={"message_id": message_id, "event_type": event_type, "recipients": recipients},
        )
    )
    return EmailEventOutcome(message_id, event_type, customer_id, recorded=recorded)
