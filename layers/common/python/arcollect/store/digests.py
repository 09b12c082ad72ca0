"""The daily claims: at most one email a day per person (the collectors' digest, the managers' weekly
summary), claimed before it is sent, then completed, released or marked in doubt
(``arcollect.mailing.DailyClaims``)."""

from __future__ import annotations

from datetime import date, datetime
from uuid import uuid4

from pynamodb.exceptions import DeleteError

from arcollect.store import keys
from arcollect.store.base import put_once, translated, update_if
from arcollect.store.models import DigestItem


class DigestLedger:
    """``DIGEST#<day>`` / ``<person>``: one claim per person and day."""

    @translated
    def claim_digest(self, day: date, assignee: str, at: datetime, tasks: int) -> str | None:
        """Claim the day's digest for ``assignee``: this claim's token, or None when it was claimed
        before (sent, in doubt, or being sent). At most once: only the token's holder releases it (SES
        certainly did not send it) or completes it; a crash after the claim loses that day's digest
        rather than sending it twice (the retry finds the claim unfinished: ``mark_digest_in_doubt``)."""
        claim = uuid4().hex
        item = DigestItem(
            keys.digest_pk(day.isoformat()), assignee, sent_at=at, tasks=tasks, status="claimed", claim=claim
        )
        return claim if put_once(item) else None

    @translated
    def release_digest(self, day: date, assignee: str, claim: str) -> bool:
        """Delete the claim ``claim`` (SES certainly did not send it), for the retry to claim and send it;
        False when it is not this claim or it was completed."""
        item = DigestItem(keys.digest_pk(day.isoformat()), assignee)
        try:
            item.delete(condition=(DigestItem.claim == claim) & DigestItem.message_id.does_not_exist())
        except DeleteError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    @translated
    def complete_digest(self, day: date, assignee: str, claim: str, message_id: str, at: datetime) -> bool:
        """Record that SES accepted the claim ``claim`` (its message id): sent. False when it is not
        this claim or it was completed before."""
        return update_if(
            DigestItem(keys.digest_pk(day.isoformat()), assignee),
            [
                DigestItem.status.set("sent"),
                DigestItem.message_id.set(message_id),
                DigestItem.completed_at.set(at),
            ],
            (DigestItem.claim == claim) & DigestItem.message_id.does_not_exist(),
        )

    @translated
    def mark_digest_in_doubt(self, day: date, assignee: str, claim: str | None = None) -> bool:
        """Flag a claim SES may have sent (``claim``: this run's, whose send's outcome is unknown; None:
        whichever claim is unfinished, a run that died after claiming). True the first time only; never
        sent again. A run still sending its claim later completes or releases it all the same."""
        condition = DigestItem.status == "claimed"
        if claim is not None:
            condition &= DigestItem.claim == claim
        return update_if(
            DigestItem(keys.digest_pk(day.isoformat()), assignee),
            [DigestItem.status.set("in_doubt")],
            condition,
        )
