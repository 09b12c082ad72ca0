"""Signing in to the staff console: the user name and password, then the step Cognito asks for next
(a new password, setting up an authenticator app, or its code), carried between pages in the
challenge cookie, and signing out. The cookies are described in the package's docstring."""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from arcollect.console.common import (
    COOKIE_NAME,
    PREFIX,
    SIGN_IN,
    WORKLIST,
    Form,
    StaffWeb,
    cookie_value,
    one,
    safe_next,
    staff_cookie,
)
from arcollect.portal.web import sessions
from arcollect.staff import (
    STAFF_SESSION_HOURS,
    STAFF_SIGN_IN_WINDOW,
    Challenge,
    MfaCodeRequired,
    MfaSetupRequired,
    NewPasswordRequired,
    SignInFailed,
    StaffSession,
    StaffUser,
    WrongCode,
)

CHALLENGE_COOKIE = "arc_staff_challenge"
LOGIN_COOKIE = "arc_staff_login"
CHALLENGE_SECONDS = 15 * 60
LOGIN_SECONDS = 60 * 60
SIGN_IN_NOTICES = {
    "signed-out": "You are signed out.",
    "ended": f"Your session has ended. Sessions end after an hour without activity and after "
    f"{STAFF_SESSION_HOURS} hours in all.",
    "challenge": "Setting your new password took too long. Sign in again with the temporary password.",
    "mfa-expired": "The sign-in took too long to finish (a sign-in step lasts 3 minutes). Sign in again "
    "with your password.",
}
# The name authenticator apps show for the console's accounts (otpauth:// issuer).
TOTP_ISSUER = "arcollect"


# Which step a challenge cookie is for (``t``); a cookie without one is a new-password step.
_STEPS: dict[type, str] = {
    NewPasswordRequired: "password",
    MfaSetupRequired: "mfa-setup",
    MfaCodeRequired: "mfa",
}


def encode_challenge(challenge: Challenge, next_path: str | None = None) -> str:
    document: dict[str, str] = {"t": _STEPS[type(challenge)], "u": challenge.username}
    document["s"] = challenge.challenge_session
    if isinstance(challenge, MfaSetupRequired) and challenge.secret:
        document["k"] = challenge.secret
    if next_path:
        document["n"] = next_path
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode()


def decode_challenge(value: str | None) -> Challenge | None:
    return decode_challenge_step(value)[0]


def decode_challenge_step(value: str | None) -> tuple[Challenge | None, str | None]:
    """The challenge a cookie holds, and where to go once signed in (already checked by ``safe_next``)."""
    if not value:
        return None, None
    try:
        document = json.loads(base64.urlsafe_b64decode(value.encode()))
        username, session = document["u"], document["s"]
        step, secret, next_path = document.get("t", "password"), document.get("k"), document.get("n")
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
        return None, None
    if not isinstance(username, str) or not isinstance(session, str) or not username or not session:
        return None, None
    next_path = safe_next(next_path) if isinstance(next_path, str) else None
    if step == "password":
        return NewPasswordRequired(username=username, challenge_session=session), next_path
    if step == "mfa":
        return MfaCodeRequired(username=username, challenge_session=session), next_path
    if step == "mfa-setup" and isinstance(secret, str) and secret:
        return MfaSetupRequired(username=username, challenge_session=session, secret=secret), next_path
    return None, None


def grouped_secret(secret: str) -> str:
    """An authenticator key in groups of four, easier to read and type."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def otpauth_uri(username: str, secret: str) -> str:
    """The key as an ``otpauth://`` link, which authenticator apps open (Key Uri Format)."""
    label = f"{quote(TOTP_ISSUER, safe='')}:{quote(username, safe='')}"
    query = urlencode(
        {"secret": secret, "issuer": TOTP_ISSUER, "algorithm": "SHA1", "digits": 6, "period": 30}
    )
    return f"otpauth://totp/{label}?{query}"


def typed_code(form: Form) -> str:
    """The code as typed, without the spaces some apps show in the middle."""
    return re.sub(r"\s+", "", (form.get("code") or [""])[-1])


def register(staff: StaffWeb) -> None:
    app = staff.web.app

    def login_token() -> str:
        existing = cookie_value(staff.event, LOGIN_COOKIE)
        return existing if existing and len(existing) <= 64 else secrets.token_urlsafe(32)

    def login_form_ok(form: Form) -> bool:
        expected = cookie_value(staff.event, LOGIN_COOKIE) or ""
        return sessions.csrf_matches(expected, one(form, sessions.CSRF_FIELD))

    def sign_in_page(
        status: int,
        *,
        username: str = "",
        next_path: str | None = None,
        errors: Mapping[str, str] | None = None,
        notice: str | None = None,
    ) -> Response[str]:
        token = login_token()
        return staff.html(
            "staff/sign_in.html",
            status,
            cookies=[
                staff_cookie(LOGIN_COOKIE, token, staff.cookie_path(), LOGIN_SECONDS, SameSite.STRICT_MODE)
            ],
            title="Sign in to the staff console",
            login_token=token,
            username=username,
            next_path=next_path or "",
            errors=dict(errors or {}),
            notice=notice,
        )

    def step_page(
        template: str, title: str, status: int, errors: Mapping[str, str] | None = None, **context: Any
    ) -> Response[str]:
        token = login_token()
        return staff.html(
            template,
            status,
            cookies=[
                staff_cookie(LOGIN_COOKIE, token, staff.cookie_path(), LOGIN_SECONDS, SameSite.STRICT_MODE)
            ],
            title=title,
            login_token=token,
            errors=dict(errors or {}),
            **context,
        )

    def new_password_page(status: int, errors: Mapping[str, str] | None = None) -> Response[str]:
        return step_page("staff/new_password.html", "Choose a new password", status, errors)

    def mfa_setup_page(
        challenge: MfaSetupRequired, status: int, errors: Mapping[str, str] | None = None
    ) -> Response[str]:
        secret = challenge.secret or ""
        return step_page(
            "staff/mfa_setup.html",
            "Set up your authenticator app",
            status,
            errors,
            username=challenge.username,
            grouped_secret=grouped_secret(secret),
            otpauth_uri=otpauth_uri(challenge.username, secret),
        )

    def mfa_page(
        challenge: MfaCodeRequired, status: int, errors: Mapping[str, str] | None = None
    ) -> Response[str]:
        return step_page(
            "staff/mfa.html", "Enter your authenticator code", status, errors, username=challenge.username
        )

    def challenge_cookie(challenge: Challenge, next_path: str | None) -> Cookie:
        value = encode_challenge(challenge, next_path)
        return staff_cookie(
            CHALLENGE_COOKIE, value, staff.cookie_path(), CHALLENGE_SECONDS, SameSite.STRICT_MODE
        )

    def expired(reason: str = "mfa-expired") -> Response[str]:
        return staff.redirect(f"{SIGN_IN}?reason={reason}", cookies=[staff.cleared(CHALLENGE_COOKIE)])

    def next_step(result: StaffUser | Challenge, next_path: str | None) -> Response[str]:
        """Signed in, or the page of the step Cognito asks for next with its challenge in the cookie."""
        if isinstance(result, StaffUser):
            return signed_in(staff.console.sessions.create(result, now=staff.web.now()), next_path)
        if isinstance(result, MfaSetupRequired) and not result.secret:
            try:
                result = staff.console.directory.start_mfa_setup(result)
            except SignInFailed:
                return expired()
        if isinstance(result, NewPasswordRequired):
            response = new_password_page(200)
        elif isinstance(result, MfaSetupRequired):
            response = mfa_setup_page(result, 200)
        else:
            response = mfa_page(result, 200)
        response.cookies.append(challenge_cookie(result, next_path))
        return response

    def signed_in(session: StaffSession, next_path: str | None) -> Response[str]:
        return staff.redirect(
            safe_next(next_path) or WORKLIST,
            cookies=[
                staff.session_cookie(session.session_id),
                staff.cleared(LOGIN_COOKIE),
                staff.cleared(CHALLENGE_COOKIE),
            ],
        )

    @app.get(PREFIX, include_in_schema=False)
    def staff_home() -> Response[str]:
        return staff.redirect(WORKLIST if staff.session() else SIGN_IN)

    @app.get(SIGN_IN, include_in_schema=False)
    def sign_in_form() -> Response[str]:
        if staff.session() is not None:
            return staff.redirect(WORKLIST)
        notice = SIGN_IN_NOTICES.get(staff.web.query("reason") or "")
        return sign_in_page(200, next_path=safe_next(staff.web.query("next")), notice=notice)

    @app.post(SIGN_IN, include_in_schema=False)
    def sign_in() -> Response[str]:
        form = staff.web.form()
        username = one(form, "username")
        password = (form.get("password") or [""])[-1]  # passwords are taken as typed, spaces too
        next_path = safe_next(one(form, "next"))
        if not login_form_ok(form):
            return sign_in_page(
                403,
                username=username,
                next_path=next_path,
                errors={"username": "The sign-in form had expired. Enter your user name and password again."},
            )
        errors: dict[str, str] = {}
        if not username:
            errors["username"] = "Enter your user name"
        if not password:
            errors["password"] = "Enter your password"  # noqa: S105 (a message)
        if errors:
            return sign_in_page(400, username=username, next_path=next_path, errors=errors)
        # Counted before the directory is asked, so that one machine cannot try passwords across the
        # staff (Cognito's own lockout is per user) whether or not the deployment has a web ACL.
        if not staff.console.sessions.sign_in_allowed(staff.web.client(), now=staff.web.now()):
            wait = STAFF_SIGN_IN_WINDOW // timedelta(minutes=1)
            return sign_in_page(
                429,
                username=username,
                next_path=next_path,
                errors={
                    "password": f"Too many sign-in attempts from this network. Try again in {wait} minutes."
                },
            )
        try:
            result = staff.console.directory.sign_in(username, password)
        except SignInFailed as error:
            message = str(error) or "The user name or password is not right."
            return sign_in_page(400, username=username, next_path=next_path, errors={"password": message})
        return next_step(result, next_path)

    @app.get(f"{PREFIX}/new-password", include_in_schema=False)
    def new_password_form() -> Response[str]:
        if not isinstance(decode_challenge(cookie_value(staff.event, CHALLENGE_COOKIE)), NewPasswordRequired):
            return staff.redirect(SIGN_IN)
        return new_password_page(200)

    @app.post(f"{PREFIX}/new-password", include_in_schema=False)
    def new_password() -> Response[str]:
        form = staff.web.form()
        if not login_form_ok(form):
            return new_password_page(
                403, {"new_password": "The form had expired. Enter your new password again."}
            )
        challenge, next_path = decode_challenge_step(cookie_value(staff.event, CHALLENGE_COOKIE))
        if not isinstance(challenge, NewPasswordRequired):
            return expired("challenge")
        password = (form.get("new_password") or [""])[-1]
        confirm = (form.get("confirm_password") or [""])[-1]
        if not password:
            return new_password_page(400, {"new_password": "Enter a new password"})
        if password != confirm:
            return new_password_page(400, {"confirm_password": "The two passwords are not the same"})
        try:
            result = staff.console.directory.set_new_password(challenge, password)
        except ValueError as error:
            return new_password_page(400, {"new_password": str(error) or "Choose a stronger password"})
        except SignInFailed:
            return expired("challenge")
        return next_step(result, next_path)

    @app.get(f"{PREFIX}/mfa-setup", include_in_schema=False)
    def mfa_setup_form() -> Response[str]:
        challenge = decode_challenge(cookie_value(staff.event, CHALLENGE_COOKIE))
        if not isinstance(challenge, MfaSetupRequired):
            return staff.redirect(SIGN_IN)
        return mfa_setup_page(challenge, 200)

    @app.post(f"{PREFIX}/mfa-setup", include_in_schema=False)
    def mfa_setup() -> Response[str]:
        form = staff.web.form()
        challenge, next_path = decode_challenge_step(cookie_value(staff.event, CHALLENGE_COOKIE))
        if not isinstance(challenge, MfaSetupRequired):
            return expired()
        if not login_form_ok(form):
            return mfa_setup_page(challenge, 403, {"code": "The form had expired. Enter the code again."})
        code = typed_code(form)
        if not code:
            return mfa_setup_page(challenge, 400, {"code": "Enter the code your authenticator app shows"})
        try:
            user = staff.console.directory.finish_mfa_setup(challenge, code)
        except WrongCode as error:
            return mfa_setup_page(challenge, 400, {"code": str(error)})
        except SignInFailed:
            return expired()
        return next_step(user, next_path)

    @app.get(f"{PREFIX}/mfa", include_in_schema=False)
    def mfa_form() -> Response[str]:
        challenge = decode_challenge(cookie_value(staff.event, CHALLENGE_COOKIE))
        if not isinstance(challenge, MfaCodeRequired):
            return staff.redirect(SIGN_IN)
        return mfa_page(challenge, 200)

    @app.post(f"{PREFIX}/mfa", include_in_schema=False)
    def mfa() -> Response[str]:
        form = staff.web.form()
        challenge, next_path = decode_challenge_step(cookie_value(staff.event, CHALLENGE_COOKIE))
        if not isinstance(challenge, MfaCodeRequired):
            return expired()
        if not login_form_ok(form):
            return mfa_page(challenge, 403, {"code": "The form had expired. Enter the code again."})
        code = typed_code(form)
        if not code:
            return mfa_page(challenge, 400, {"code": "Enter the code your authenticator app shows"})
        try:
            user = staff.console.directory.answer_mfa(challenge, code)
        except WrongCode as error:
            return mfa_page(challenge, 400, {"code": str(error)})
        except SignInFailed:
            return expired()
        return next_step(user, next_path)

    @app.post(f"{PREFIX}/sign-out", include_in_schema=False)
    def sign_out() -> Response[str]:
        session = staff.session()
        if session is not None:
            staff.checked_form(session)
            staff.console.sessions.end(session.session_id)
        return staff.redirect(f"{SIGN_IN}?reason=signed-out", cookies=[staff.cleared(COOKIE_NAME)])
