"""Staff sign-in moved to the domain, ``arcollect.staff`` (issue 17): the store implements it. This name
stays only for the staff console until it imports ``arcollect.staff``; new code imports that."""

from arcollect.staff import (
    STAFF_IDLE_MINUTES,
    STAFF_RECHECK_MINUTES,
    STAFF_SESSION_HOURS,
    Challenge,
    ChallengeExpired,
    MfaCodeRequired,
    MfaSetupRequired,
    NewPasswordRequired,
    SignInFailed,
    StaffDirectory,
    StaffSession,
    StaffSessions,
    WrongCode,
)

__all__ = [
    "STAFF_IDLE_MINUTES",
    "STAFF_RECHECK_MINUTES",
    "STAFF_SESSION_HOURS",
    "Challenge",
    "ChallengeExpired",
    "MfaCodeRequired",
    "MfaSetupRequired",
    "NewPasswordRequired",
    "SignInFailed",
    "StaffDirectory",
    "StaffSession",
    "StaffSessions",
    "WrongCode",
]
