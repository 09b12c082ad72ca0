"""Staff members: who they are (a Cognito user of the stack's staff user pool, in groups), how they
sign in and their console sessions. Domain types: the store reads and writes them (``store.identity``
has the Cognito implementation, ``store.staff`` the session storage), the workspace and the staff
console use them. The protocols keep the web layer testable without Cognito."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from arcollect.contract import StaffGroups


class StaffGroup(StrEnum):
    """The Cognito groups of the staff user pool: a manager can do everything a collector can."""

    COLLECTOR = StaffGroups.COLLECTOR
    MANAGER = StaffGroups.MANAGER


@dataclass(frozen=True)
class StaffUser:
    username: str
    email: str | None
    name: str
    groups: frozenset[str]

    @property
    def is_manager(self) -> bool:
        return StaffGroup.MANAGER in self.groups

    @property
    def is_collector(self) -> bool:
        return StaffGroup.COLLECTOR in self.groups or self.is_manager


STAFF_SESSION_HOURS = 10  # a working day
STAFF_IDLE_MINUTES = 60
# Sign-in posts to the staff console from one client IP in 5 minutes (a person signs in a few times a
# day): the console refuses more, and so does the web ACL where the deployment has one.
STAFF_SIGN_IN_PER_5MIN = 100
STAFF_SIGN_IN_WINDOW = timedelta(minutes=5)


def sign_in_window(now: datetime) -> datetime:
    """The start of the fixed 5-minute window the sign-in limit counts ``now`` in."""
    seconds = int(STAFF_SIGN_IN_WINDOW.total_seconds())
    return datetime.fromtimestamp(int(now.timestamp()) // seconds * seconds, tz=UTC)


# A session's user is looked up in the directory again this often: a user disabled or removed from a
# group loses the session (or the manager pages) within it.
STAFF_RECHECK_MINUTES = 5


class SignInFailed(PermissionError):
    """Wrong user name or password, or a disabled user (one message for all: no user enumeration)."""


class ChallengeExpired(SignInFailed):
    """A sign-in step's challenge session is over (Cognito's last 3 minutes) or was refused: sign in again."""


class WrongCode(ValueError):
    """An authenticator code the user's authenticator did not give (the message is for the form)."""


@dataclass(frozen=True)
class NewPasswordRequired:
    """Cognito's NEW_PASSWORD_REQUIRED challenge: an invited user signs in the first time."""

    username: str
    challenge_session: str


@dataclass(frozen=True)
class MfaSetupRequired:
    """Cognito's MFA_SETUP challenge: MFA is required and the user has no authenticator yet. ``secret``
    is the authenticator key once AssociateSoftwareToken gave one (``challenge_session`` is then the
    session it returned)."""

    username: str
    challenge_session: str
    secret: str | None = None


@dataclass(frozen=True)
class MfaCodeRequired:
    """Cognito's SOFTWARE_TOKEN_MFA challenge: the code of the user's authenticator app."""

    username: str
    challenge_session: str


# A sign-in step Cognito asks for before it signs the user in.
Challenge = NewPasswordRequired | MfaSetupRequired | MfaCodeRequired


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
    def sign_in(self, username: str, password: str) -> StaffUser | Challenge:
        """Check the password with the user pool; raises SignInFailed."""
        ...

    def set_new_password(
        self, challenge: NewPasswordRequired, new_password: str
    ) -> StaffUser | MfaSetupRequired | MfaCodeRequired:
        """Answer the first-sign-in challenge; raises SignInFailed or ValueError (password policy)."""
        ...

    def start_mfa_setup(self, challenge: MfaSetupRequired) -> MfaSetupRequired:
        """A new authenticator key for the user (with the session to verify it); raises SignInFailed."""
        ...

    def finish_mfa_setup(self, challenge: MfaSetupRequired, code: str) -> StaffUser:
        """Verify the authenticator's first code and finish signing in; raises WrongCode, or
        ChallengeExpired (sign in again)."""
        ...

    def answer_mfa(self, challenge: MfaCodeRequired, code: str) -> StaffUser:
        """Answer SOFTWARE_TOKEN_MFA with the authenticator's code; raises WrongCode or ChallengeExpired."""
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

    def sign_in_allowed(self, client: str, *, now: datetime) -> bool:
        """Count a sign-in post from ``client`` (its IP address); False past STAFF_SIGN_IN_PER_5MIN in
        the 5-minute window ``now`` falls in. Cognito locks out one user after failed passwords; this
        limits one machine trying many users."""
        ...

    def rechecked(self, session: StaffSession, user: StaffUser, *, now: datetime) -> StaffSession:
        """Keep what the directory says of the session's user now (their groups), checked at ``now``."""
        ...
