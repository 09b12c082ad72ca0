"""What the features that send email need of the mail service and of the once-a-day ledger, as
interfaces (the store implements them: ``store.mail.SesMailer``, ``store.digests.DigestLedger``).

Written once, at the bottom of the package, so dunning, the portal, the workspace and the reports each
depend on it rather than on one another; so is ``stamp_sent``, the send time every email carries."""

from __future__ import annotations

from datetime import UTC, date, datetime
from email.utils import format_datetime
from typing import TYPE_CHECKING, Protocol

from arcollect.clock import format_instant
from arcollect.contract import HEADER_SENT_AT

if TYPE_CHECKING:
    from email.message import EmailMessage


class Mailer(Protocol):
    def send(self, *, sender: str, to: list[str], raw: bytes, tags: dict[str, str]) -> str:
        """Send a complete MIME message; SES's message id."""
        ...


class DailyClaims(Protocol):
    """At most one email a day per person (the staff digest, the managers' weekly summary): a run claims
    it before sending, then marks it sent, releases it (certainly not sent), or marks it in doubt."""

    def claim_digest(self, day: date, assignee: str, at: datetime, tasks: int) -> str | None: ...

    def release_digest(self, day: date, assignee: str, claim: str) -> bool: ...

    def complete_digest(
        self, day: date, assignee: str, claim: str, message_id: str, at: datetime
    ) -> bool: ...

    def mark_digest_in_doubt(self, day: date, assignee: str, claim: str | None = None) -> bool: ...


def stamp_sent(message: EmailMessage, at: datetime) -> None:
    """Stamp ``message`` with when it is sent: ``at``, the sending code's own "now" (the tick's or the
    request's time; nothing here reads the wall clock, so a local ``--at`` run writes the same mail).

    Every email arcollect sends carries it twice: ``Date`` (RFC 5322, in UTC) and ``X-Arcollect-Sent-At``
    (``contract.HEADER_SENT_AT``, ISO-8601 UTC to the second), which ``arcollect outbox`` lists and orders
    the local outbox by. Each is set once, replacing any earlier one: SES takes a raw message with at
    most one ``Date`` (its "header fields" page), and on AWS replaces that ``Date`` with the time it
    accepted the message, so ``X-Arcollect-Sent-At`` is the one that keeps the function's time."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("an email's send time must be an aware datetime")
    del message["Date"]
    del message[HEADER_SENT_AT]
    message["Date"] = format_datetime(at.astimezone(UTC))
    message[HEADER_SENT_AT] = format_instant(at)
