"""What the features that send email need of the mail service and of the once-a-day ledger, as
interfaces (the store implements them: ``store.mail.SesMailer``, ``store.digests.DigestLedger``).

Written once, at the bottom of the package, so dunning, the portal, the workspace and the reports each
depend on it rather than on one another."""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol


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
