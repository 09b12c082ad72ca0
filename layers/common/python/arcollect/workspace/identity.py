"""Staff sign-in: who a staff member is (a Cognito user of the stack's staff user pool) and their
console sessions. The protocols keep the web layer testable without Cognito; ``store.identity`` has
the Cognito implementation, ``store.staff`` the session storage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from arcollect.workspace.model import StaffUser

STAFF_SESSION_HOURS = 10  # a working day
STAFF_IDLE_MINUTES = 60
# A session's user is looked up in the directory again this often: a user disabled or removed from a
# group loses the session (or the manager pages) within it.
STAFF_RECHECK_MINUTES = 5


class SignInFailed(PermissionError):
    """Wrong user name or password, or a disabled user (one message for all: no user enumeration)."""


@dataclass(frozen=True)
class NewPasswordRequired:
    """Cognito's NEW_PASSWORD_REQUIRED challenge: an invited user signs in the first time."""

    username: str
    challenge_session: str


@dataclass(frozen=True)
class StaffSession:
    session_id: str
    user: StaffUser
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    csrf_token: str
    # When the directory last confirmed the user and their groups (None: at sign-in, ``created_at``).
    checked_at: datetime | None = None

    def due_for_recheck(self, now: datetime) -> bool:
        return now - (self.checked_at or self.created_at) >= timedelta(minutes=STAFF_RECHECK_MINUTES)


class StaffDirectory(Protocol):
    def sign_in(self, username: str, password: str) -> StaffUser | NewPasswordRequired:
        """Check the password with the user pool; raises SignInFailed."""
        ...

    def set_new_password(self, challenge: NewPasswordRequired, new_password: str) -> StaffUser:
        """Answer the first-sign-in challenge; raises SignInFailed or ValueError (password policy)."""
        ...

    def current_user(self, username: str) -> StaffUser | None:
        """The user as the directory has them now; None when disabled, deleted or in no staff group."""
        ...


class StaffSessions(Protocol):
    def create(self, user: StaffUser, *, now: datetime) -> StaffSession: ...

    def resume(self, session_id: str, *, now: datetime) -> StaffSession | None:
        """The live session (idle and absolute limits applied), or None."""
        ...

    def end(self, session_id: str) -> None: ...

    def rechecked(self, session: StaffSession, user: StaffUser, *, now: datetime) -> StaffSession:
        """Keep what the directory says of the session's user now (their groups), checked at ``now``."""
        ...
