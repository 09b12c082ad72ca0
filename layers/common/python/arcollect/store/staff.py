"""Staff console sessions on the single table.

One item per session, ``STAFFSESSION#<sha256 of the session id>`` / ``SESSION``: the id itself (the
cookie value) is never stored, so a read of the table does not hand out live sessions. The item holds
who signed in (user name, email, name, groups as they were at sign-in), the CSRF token, the times, and
the table's TTL attribute at the absolute expiry. ``resume`` applies the idle and absolute limits itself
(the TTL deletes late, sometimes days late) and moves last-seen forward. `arcollect staff revoke USER`
writes ``STAFFUSER#<user name>`` / ``REVOKED``: the user's sessions started before it are over at their
next request; and every few minutes the console asks the directory whether the user still is staff
(``rechecked``). Sign-in posts are counted per client IP and 5 minutes (``store.rates``).
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime, timedelta

from arcollect.staff import (
    STAFF_IDLE_MINUTES,
    STAFF_SESSION_HOURS,
    STAFF_SIGN_IN_PER_5MIN,
    STAFF_SIGN_IN_WINDOW,
    StaffSession,
    StaffUser,
    sign_in_window,
)
from arcollect.store import rates
from arcollect.store.base import translated, update_if
from arcollect.store.keys import STAFF_SESSION_SK, staff_session_pk
from arcollect.store.models import StaffRevocationItem, StaffSessionItem, TableItem

# A session id is token_urlsafe(32) (43 characters); anything much longer is not one of ours.
MAX_SESSION_ID_LENGTH = 128


def _usable(session_id: str) -> bool:
    return bool(session_id) and len(session_id) <= MAX_SESSION_ID_LENGTH


class StaffSessionStore:
    """``StaffSessions`` on the table: random 32-byte ids, a CSRF token per session, an idle limit of
    STAFF_IDLE_MINUTES and an absolute one of STAFF_SESSION_HOURS."""

    @translated
    def create(self, user: StaffUser, *, now: datetime) -> StaffSession:
        """Start a session for ``user`` (who the directory just signed in)."""
        session = StaffSession(
            session_id=secrets.token_urlsafe(32),
            user=user,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=STAFF_SESSION_HOURS),
            csrf_token=secrets.token_urlsafe(32),
        )
        StaffSessionItem(
            staff_session_pk(session.session_id),
            STAFF_SESSION_SK,
            username=user.username,
            email=user.email,
            name=user.name,
            groups=sorted(user.groups),
            created_at=session.created_at,
            last_seen_at=session.last_seen_at,
            absolute_expiry=session.expires_at,
            csrf_token=session.csrf_token,
            expires_at=int(session.expires_at.timestamp()),
        ).save(condition=TableItem.pk.does_not_exist())
        return session

    @translated
    def resume(self, session_id: str, *, now: datetime) -> StaffSession | None:
        """The live session with its last-seen time moved to ``now``, or None when unknown, idle for
        more than STAFF_IDLE_MINUTES, past its absolute expiry, or ended meanwhile."""
        if not _usable(session_id):
            return None
        pk = staff_session_pk(session_id)
        try:
            item = StaffSessionItem.get(pk, STAFF_SESSION_SK, consistent_read=True)
        except StaffSessionItem.DoesNotExist:
            return None
        idle = now - item.last_seen_at > timedelta(minutes=STAFF_IDLE_MINUTES)
        if idle or now >= item.absolute_expiry or self._revoked(item.username, item.created_at):
            StaffSessionItem(pk, STAFF_SESSION_SK).delete()
            return None
        # Conditional: a session ended (signed out) between the read and here stays ended.
        touched = update_if(
            StaffSessionItem(pk, STAFF_SESSION_SK),
            [StaffSessionItem.last_seen_at.set(now)],
            TableItem.pk.exists(),
        )
        if not touched:
            return None
        return StaffSession(
            session_id=session_id,
            user=StaffUser(
                username=item.username,
                email=item.email,
                name=item.name,
                groups=frozenset(str(group) for group in item.groups or []),
            ),
            created_at=item.created_at,
            last_seen_at=now,
            expires_at=item.absolute_expiry,
            csrf_token=item.csrf_token,
            checked_at=item.checked_at,
        )

    def _revoked(self, username: str, started: datetime) -> bool:
        try:
            marker = StaffRevocationItem.get(_revocation_pk(username), REVOKED_SK, consistent_read=True)
        except StaffRevocationItem.DoesNotExist:
            return False
        return started <= marker.revoked_before

    @translated
    def rechecked(self, session: StaffSession, user: StaffUser, *, now: datetime) -> StaffSession:
        """Keep the user's groups as the directory has them now, and when that was checked."""
        update_if(
            StaffSessionItem(staff_session_pk(session.session_id), STAFF_SESSION_SK),
            [
                StaffSessionItem.groups.set(sorted(user.groups)),  # type: ignore[arg-type]
                StaffSessionItem.email.set(user.email) if user.email else StaffSessionItem.email.remove(),
                StaffSessionItem.checked_at.set(now),
            ],
            TableItem.pk.exists(),
        )
        return replace(session, user=user, checked_at=now)

    @translated
    def revoke_user(self, username: str, *, at: datetime) -> None:
        """End every session of ``username`` started at or before ``at``, at once (each is refused at
        its next request)."""
        StaffRevocationItem(_revocation_pk(username), REVOKED_SK, revoked_before=at).save()

    @translated
    def sign_in_allowed(self, client: str, *, now: datetime) -> bool:
        """``StaffSessions.sign_in_allowed``: one counter per client and fixed 5-minute window."""
        window = sign_in_window(now)
        hits = rates.count("staff_sign_in", client or "unknown", window, STAFF_SIGN_IN_WINDOW)
        return hits <= STAFF_SIGN_IN_PER_5MIN

    @translated
    def end(self, session_id: str) -> None:
        """Sign out: the session is gone (ending an unknown session is not an error)."""
        if _usable(session_id):
            StaffSessionItem(staff_session_pk(session_id), STAFF_SESSION_SK).delete()


REVOKED_SK = "REVOKED"


def _revocation_pk(username: str) -> str:
    return f"STAFFUSER#{username}"


__all__ = ["MAX_SESSION_ID_LENGTH", "StaffSessionStore"]
