"""Who a staff member is: the stack's Cognito user pool, through boto3's cognito-idp client.

Sign-in uses the app client's USER_PASSWORD_AUTH flow (a public client, no secret: the portal function
sends the password to Cognito over TLS and never stores it). The console keeps its own server-side
session afterwards (``store.staff``), so Cognito's tokens are not kept.

MFA is required (TOTP): Cognito answers the password with MFA_SETUP while the user has no authenticator
(AssociateSoftwareToken gives its key, VerifySoftwareToken checks its first code, RespondToAuthChallenge
MFA_SETUP signs in) and with SOFTWARE_TOKEN_MFA afterwards (the app's code). Each step's challenge
session is handed back to the caller, who keeps it out of URLs and logs (``portal.web.staff``).

Only members of the ``collector`` or ``manager`` group may sign in: anyone else in the pool gets
SignInFailed saying they are not a member of the staff groups. That is checked once the password is
known to be right (never before), so the message tells nothing to someone without the password.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from arcollect.staff import (
    Challenge,
    ChallengeExpired,
    MfaCodeRequired,
    MfaSetupRequired,
    NewPasswordRequired,
    SignInFailed,
    StaffGroup,
    StaffUser,
    WrongCode,
)
from arcollect.store.clients import LazyClient
from arcollect.store.errors import StoreError, StoreUnavailable

# One message for a wrong password, an unknown user, a disabled user, an expired challenge: the
# sign-in form must not tell which of those it was (no user enumeration).
WRONG_CREDENTIALS = "The user name or password is not right."
NOT_STAFF = (
    "You are not a member of the staff groups (collector or manager). Ask a manager to add you to one."
)
TOO_MANY = "Too many sign-in attempts. Wait a few minutes, then try again."
UNSUPPORTED_CHALLENGE = "This account needs a sign-in step the console does not support ({challenge})."
# Cognito answers these for credentials it will not take; all of them become WRONG_CREDENTIALS.
_REFUSED = {
    "NotAuthorizedException",
    "UserNotFoundException",
    "UserNotConfirmedException",
    "PasswordResetRequiredException",
    "CodeMismatchException",
    "ExpiredCodeException",
}
_BUSY = {"TooManyRequestsException", "LimitExceededException", "TooManyFailedAttemptsException"}
_POLICY = {"InvalidPasswordException", "InvalidParameterException"}
WRONG_CODE = "That code is not right. Enter the 6-digit code your authenticator app shows now."
EXPIRED = "The sign-in step took too long. Sign in again."
# Answering a challenge: a code the authenticator did not give, or a session that is over.
_WRONG_CODE = {"CodeMismatchException", "EnableSoftwareTokenMFAException"}
_EXPIRED = {"NotAuthorizedException", "ExpiredCodeException"}
NEW_PASSWORD_REQUIRED = "NEW_PASSWORD_REQUIRED"  # noqa: S105 (a challenge name)
MFA_SETUP = "MFA_SETUP"
SOFTWARE_TOKEN_MFA = "SOFTWARE_TOKEN_MFA"  # noqa: S105 (a challenge name)
STAFF_GROUPS = frozenset(group.value for group in StaffGroup)


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", "")) or str(error)


class CognitoDirectory:
    """``StaffDirectory`` on a Cognito user pool and its public app client (``client`` is a
    cognito-idp client; injected in tests and by the local stack)."""

    def __init__(self, user_pool_id: str, client_id: str, client: Any | None = None) -> None:
        self._pool = user_pool_id
        self._client_id = client_id
        self._cognito = client if client is not None else LazyClient("cognito-idp")

    def sign_in(self, username: str, password: str) -> StaffUser | Challenge:
        """Check the password; an invited user's first sign-in returns NewPasswordRequired, then (as
        every sign-in without an authenticator) MfaSetupRequired; later ones MfaCodeRequired. Raises
        SignInFailed (wrong credentials, disabled, not staff)."""
        if not username or not password:
            raise SignInFailed(WRONG_CREDENTIALS)
        answer = self._call(
            "initiate_auth",
            AuthFlow="USER_PASSWORD_AUTH",
            ClientId=self._client_id,
            AuthParameters={"USERNAME": username, "PASSWORD": password},
        )
        return self._next_step(answer, username)

    def set_new_password(
        self, challenge: NewPasswordRequired, new_password: str
    ) -> StaffUser | MfaSetupRequired | MfaCodeRequired:
        """Answer NEW_PASSWORD_REQUIRED. ValueError with Cognito's message when the password breaks
        the pool's policy; SignInFailed when the challenge expired or was not accepted."""
        answer = self._call(
            "respond_to_auth_challenge",
            policy_errors=True,
            ClientId=self._client_id,
            ChallengeName=NEW_PASSWORD_REQUIRED,
            Session=challenge.challenge_session,
            ChallengeResponses={"USERNAME": challenge.username, "NEW_PASSWORD": new_password},
        )
        step = self._next_step(answer, challenge.username)
        if isinstance(step, NewPasswordRequired):
            raise SignInFailed(UNSUPPORTED_CHALLENGE.format(challenge=NEW_PASSWORD_REQUIRED))
        return step

    def start_mfa_setup(self, challenge: MfaSetupRequired) -> MfaSetupRequired:
        """AssociateSoftwareToken with the MFA_SETUP session: the key for the user's authenticator app."""
        answer = self._call("associate_software_token", challenge=True, Session=challenge.challenge_session)
        return MfaSetupRequired(
            username=challenge.username,
            challenge_session=str(answer.get("Session") or challenge.challenge_session),
            secret=str(answer["SecretCode"]),
        )

    def finish_mfa_setup(self, challenge: MfaSetupRequired, code: str) -> StaffUser:
        """VerifySoftwareToken with the authenticator's first code, then answer MFA_SETUP with the
        session it returned. WrongCode for a code the app did not give, ChallengeExpired otherwise."""
        _check_code(code)
        verified = self._call(
            "verify_software_token",
            challenge=True,
            Session=challenge.challenge_session,
            UserCode=code,
            FriendlyDeviceName="arcollect staff console",
        )
        if verified.get("Status") != "SUCCESS":
            raise WrongCode(WRONG_CODE)
        answer = self._call(
            "respond_to_auth_challenge",
            challenge=True,
            ClientId=self._client_id,
            ChallengeName=MFA_SETUP,
            Session=str(verified.get("Session") or challenge.challenge_session),
            ChallengeResponses={"USERNAME": challenge.username},
        )
        return self._signed_in(answer, challenge.username)

    def answer_mfa(self, challenge: MfaCodeRequired, code: str) -> StaffUser:
        """Answer SOFTWARE_TOKEN_MFA with the authenticator's code."""
        _check_code(code)
        answer = self._call(
            "respond_to_auth_challenge",
            challenge=True,
            ClientId=self._client_id,
            ChallengeName=SOFTWARE_TOKEN_MFA,
            Session=challenge.challenge_session,
            ChallengeResponses={"USERNAME": challenge.username, "SOFTWARE_TOKEN_MFA_CODE": code},
        )
        return self._signed_in(answer, challenge.username)

    def _next_step(self, answer: dict[str, Any], username: str) -> StaffUser | Challenge:
        """What Cognito's answer asks for next. The password was right by now: say at once, not after
        the remaining steps, that a non-member cannot sign in."""
        challenge = answer.get("ChallengeName")
        if not challenge:
            return self._signed_in(answer, username)
        if challenge not in (NEW_PASSWORD_REQUIRED, MFA_SETUP, SOFTWARE_TOKEN_MFA) or not answer.get(
            "Session"
        ):
            raise SignInFailed(UNSUPPORTED_CHALLENGE.format(challenge=challenge))
        named = str((answer.get("ChallengeParameters") or {}).get("USER_ID_FOR_SRP") or username)
        canonical = self._staff_user(named).username
        session = str(answer["Session"])
        if challenge == NEW_PASSWORD_REQUIRED:
            return NewPasswordRequired(username=canonical, challenge_session=session)
        if challenge == MFA_SETUP:
            return MfaSetupRequired(username=canonical, challenge_session=session)
        return MfaCodeRequired(username=canonical, challenge_session=session)

    def _signed_in(self, answer: dict[str, Any], username: str) -> StaffUser:
        if answer.get("ChallengeName"):
            raise SignInFailed(UNSUPPORTED_CHALLENGE.format(challenge=answer["ChallengeName"]))
        if "AuthenticationResult" not in answer:
            raise SignInFailed(WRONG_CREDENTIALS)
        return self._staff_user(username)

    def current_user(self, username: str) -> StaffUser | None:
        """The user as the pool has them now; None when disabled, deleted or in no staff group."""
        try:
            return self._staff_user(username)
        except SignInFailed:
            return None

    def _staff_user(self, username: str) -> StaffUser:
        user = self._call("admin_get_user", UserPoolId=self._pool, Username=username)
        if not user.get("Enabled", True):
            raise SignInFailed(WRONG_CREDENTIALS)
        canonical = str(user.get("Username") or username)
        attributes = {a["Name"]: a["Value"] for a in user.get("UserAttributes") or []}
        groups = self._groups(canonical) & STAFF_GROUPS
        if not groups:
            raise SignInFailed(NOT_STAFF)
        given = " ".join(p for p in (attributes.get("given_name"), attributes.get("family_name")) if p)
        return StaffUser(
            username=canonical,
            email=attributes.get("email") or None,
            name=attributes.get("name") or given or canonical,
            groups=frozenset(groups),
        )

    def _groups(self, username: str) -> set[str]:
        groups: set[str] = set()
        token: str | None = None
        while True:
            request: dict[str, Any] = {"UserPoolId": self._pool, "Username": username}
            if token:
                request["NextToken"] = token
            page = self._call("admin_list_groups_for_user", **request)
            groups.update(str(g["GroupName"]) for g in page.get("Groups") or [])
            token = page.get("NextToken")
            if not token:
                return groups

    def _call(
        self, operation: str, *, policy_errors: bool = False, challenge: bool = False, **kwargs: Any
    ) -> dict[str, Any]:
        """One cognito-idp call with its errors as the sign-in's: refused credentials SignInFailed,
        (with ``policy_errors``) a password the pool's policy refuses ValueError, (with ``challenge``,
        answering an MFA step) a wrong code WrongCode and a session that is over ChallengeExpired,
        everything else the store's errors."""
        try:
            answer: dict[str, Any] = getattr(self._cognito, operation)(**kwargs)
        except ClientError as error:
            code = _code(error)
            if challenge and code in _WRONG_CODE:
                raise WrongCode(WRONG_CODE) from error
            if challenge and code in _EXPIRED:
                raise ChallengeExpired(EXPIRED) from error
            if code in _REFUSED:
                raise SignInFailed(WRONG_CREDENTIALS) from error
            if policy_errors and code in _POLICY:
                raise ValueError(_message(error)) from error
            if code in _BUSY:
                raise SignInFailed(TOO_MANY) from error
            raise StoreError(f"cognito-idp {operation}: {code or error}") from error
        except BotoCoreError as error:
            raise StoreUnavailable(f"cognito-idp {operation}: {error}") from error
        return answer


def _check_code(code: str) -> None:
    """Six digits, or WrongCode without asking Cognito (a typo would still count as an attempt)."""
    if len(code) != 6 or not code.isdigit():
        raise WrongCode("Enter the 6 digits your authenticator app shows (no spaces).")


__all__ = ["EXPIRED", "NOT_STAFF", "WRONG_CODE", "WRONG_CREDENTIALS", "CognitoDirectory"]
