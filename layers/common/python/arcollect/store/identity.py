"""Who a staff member is: the stack's Cognito user pool, through boto3's cognito-idp client.

Sign-in uses the app client's USER_PASSWORD_AUTH flow (a public client, no secret: the portal function
sends the password to Cognito over TLS and never stores it). The console keeps its own server-side
session afterwards (``store.staff``), so Cognito's tokens are not kept.

Only members of the ``collector`` or ``manager`` group may sign in: anyone else in the pool gets
SignInFailed saying they are not a member of the staff groups. That is checked once the password is
known to be right (never before), so the message tells nothing to someone without the password.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from arcollect.store.clients import LazyClient
from arcollect.store.errors import StoreError, StoreUnavailable
from arcollect.workspace.identity import NewPasswordRequired, SignInFailed
from arcollect.workspace.model import StaffGroup, StaffUser

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
NEW_PASSWORD_REQUIRED = "NEW_PASSWORD_REQUIRED"  # noqa: S105 (a challenge name)
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

    def sign_in(self, username: str, password: str) -> StaffUser | NewPasswordRequired:
        """Check the password; an invited user's first sign-in returns NewPasswordRequired. Raises
        SignInFailed (wrong credentials, disabled, not staff)."""
        if not username or not password:
            raise SignInFailed(WRONG_CREDENTIALS)
        answer = self._call(
            "initiate_auth",
            AuthFlow="USER_PASSWORD_AUTH",
            ClientId=self._client_id,
            AuthParameters={"USERNAME": username, "PASSWORD": password},
        )
        challenge = answer.get("ChallengeName")
        if challenge == NEW_PASSWORD_REQUIRED:
            # The password was right: say now, not after a new password, that a non-member cannot in.
            canonical = str((answer.get("ChallengeParameters") or {}).get("USER_ID_FOR_SRP") or username)
            self._staff_user(canonical)
            return NewPasswordRequired(username=canonical, challenge_session=str(answer["Session"]))
        if challenge:
            raise SignInFailed(UNSUPPORTED_CHALLENGE.format(challenge=challenge))
        if "AuthenticationResult" not in answer:
            raise SignInFailed(WRONG_CREDENTIALS)
        return self._staff_user(username)

    def set_new_password(self, challenge: NewPasswordRequired, new_password: str) -> StaffUser:
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
        if answer.get("ChallengeName") or "AuthenticationResult" not in answer:
            raise SignInFailed(
                UNSUPPORTED_CHALLENGE.format(challenge=answer.get("ChallengeName") or "unknown")
            )
        return self._staff_user(challenge.username)

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

    def _call(self, operation: str, *, policy_errors: bool = False, **kwargs: Any) -> dict[str, Any]:
        """One cognito-idp call with its errors as the sign-in's: refused credentials SignInFailed,
        (with ``policy_errors``) a password the pool's policy refuses ValueError, everything else the
        store's errors."""
        try:
            answer: dict[str, Any] = getattr(self._cognito, operation)(**kwargs)
        except ClientError as error:
            code = _code(error)
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


__all__ = ["NOT_STAFF", "WRONG_CREDENTIALS", "CognitoDirectory"]
