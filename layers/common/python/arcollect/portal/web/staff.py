"""The staff console under /staff: collectors and managers sign in with the staff user pool and work
their worklist, the customer 360, disputes, the team view and the reports.

Who is asking always comes from the ``arc_staff`` session cookie (StaffSessions.resume), never from a
form. Every POST checks a CSRF token: the session's, or before sign-in a double-submit token (the
``arc_staff_login`` cookie must match the form's hidden field, so another site cannot sign a browser in
to an account of its choosing). WorkspaceInputError re-renders the page with the message beside the
field and what was typed kept; a POST that worked answers 303 to the customer's 360 page with
``?done=<what>``, shown as a status message.

Cookies (all HttpOnly, Secure, Path=<base>/staff so the customer portal never receives them):

- ``arc_staff``: the session id. SameSite=Lax, not Strict: a link to a customer in the daily digest
  email, or one pasted into chat, is a top-level GET from another site, and with Strict it would land on
  the sign-in page despite a live session. Lax still keeps the cookie off cross-site POSTs, and every
  POST needs the session's CSRF token anyway; GETs change nothing.
- ``arc_staff_challenge``: the Cognito challenge between the sign-in form and the step it asks for (user
  name, challenge session, which step): a new password (NEW_PASSWORD_REQUIRED), setting up an
  authenticator app (MFA_SETUP, with the key AssociateSoftwareToken gave, to show it again after a
  wrong code) or the app's code (SOFTWARE_TOKEN_MFA). A cookie rather than a hidden field keeps the
  bearer challenge session out of the page's HTML and out of URLs (page source, form restore,
  screenshots, access logs), and HttpOnly keeps it from scripts; nothing logs it. It need not be signed:
  Cognito binds the session to the user, so an edited cookie is merely refused. Max-Age 15 minutes
  (Cognito's longest challenge validity; Cognito enforces its own, 3 minutes by default, and an expired
  one sends the user back to the sign-in form with a message). SameSite=Strict: it is only ever needed
  by a same-site POST or the step's own page.
- ``arc_staff_login``: the pre-sign-in CSRF token (SameSite=Strict, one hour).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.shared.cookies import Cookie, SameSite
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from arcollect import cash
from arcollect.entities import Invoice, Payment
from arcollect.portal.web import sessions
from arcollect.portal.web.common import STAFF_PREFIX, Web
from arcollect.portal.web.render import AGING_LABELS, REASON_LABELS, render
from arcollect.reports.kpis import aging_bucket
from arcollect.workspace.identity import (
    STAFF_SESSION_HOURS,
    Challenge,
    MfaCodeRequired,
    MfaSetupRequired,
    NewPasswordRequired,
    SignInFailed,
    StaffDirectory,
    StaffSession,
    StaffSessions,
    WrongCode,
)
from arcollect.workspace.model import (
    DISPUTE_TRANSITIONS,
    Account360,
    CallOutcome,
    DisputeStatus,
    NotAllowed,
    StaffUser,
    WorkspaceConflict,
    WorkspaceInputError,
    WorkspaceNotFound,
)
from arcollect.workspace.services import Workspace
from arcollect.workspace.status import StatusBoard

PREFIX = STAFF_PREFIX
COOKIE_NAME = "arc_staff"
CHALLENGE_COOKIE = "arc_staff_challenge"
LOGIN_COOKIE = "arc_staff_login"
CHALLENGE_SECONDS = 15 * 60
LOGIN_SECONDS = 60 * 60
STAFF_HEADERS: dict[str, str] = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex, nofollow"}
SIGN_IN = f"{PREFIX}/sign-in"
WORKLIST = f"{PREFIX}/worklist"

OUTCOME_LABELS = {
    CallOutcome.REACHED: "Reached the customer",
    CallOutcome.VOICEMAIL: "Left a voicemail",
    CallOutcome.NO_ANSWER: "No answer",
    CallOutcome.PROMISE_TAKEN: "Promise to pay taken",
    CallOutcome.DISPUTE_LOGGED: "Dispute logged",
    CallOutcome.WRONG_CONTACT: "Wrong contact details",
    CallOutcome.CREDIT_HOLD: "Decided: credit hold",
    CallOutcome.AGENCY: "Decided: hand to a collection agency",
}
DISPUTE_STATUS_LABELS = {
    DisputeStatus.OPEN: "Open",
    DisputeStatus.IN_REVIEW: "In review",
    DisputeStatus.RESOLVED_VALID: "Resolved: invoice stands",
    DisputeStatus.RESOLVED_CREDIT: "Resolved: credit granted",
    DisputeStatus.CLOSED: "Closed",
}
DONE_MESSAGES = {
    "outcome": "The outcome was recorded.",
    "note": "The note was added to the timeline.",
    "promise": "The promise to pay was recorded.",
    "dispute": "The dispute was logged.",
    "dispute-status": "The dispute was updated.",
    "pause": "Dunning is paused.",
    "hold-on": "The customer is on dunning hold.",
    "hold-off": "The dunning hold was released.",
    "cash": "The cash was applied.",
}
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
# Each form of the 360 page: its id prefix and the fields it has (ids are ``<prefix>-<field>``).
FORMS: dict[str, tuple[str, ...]] = {
    "outcome": (
        "outcome",
        "note",
        "promised_until",
        "promise_amount",
        "invoice_numbers",
        "dispute_reason",
    ),
    "note": ("text",),
    "promise": ("invoice_numbers", "amount", "promised_until"),
    "dispute": ("invoice_number", "reason", "comment"),
    "pause": ("until", "reason"),
    "hold": ("hold", "reason"),
}
DISPUTE_MOVE_FIELDS = ("status", "note", "credit_amount")
# The apply-cash form of one payment (``cash-<payment id>``): parallel lists of invoices and amounts.
APPLY_CASH_FIELDS = ("allocations", "note", "unapplied")
_NEXT = re.compile(r"^/staff(?:/[A-Za-z0-9._~%/-]*)?(?:\?[A-Za-z0-9._~%=&+-]*)?$")
_DOM_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")

Form = dict[str, list[str]]


@dataclass(frozen=True)
class StaffConsole:
    """What the staff console runs on: the workspace, the user pool and the session storage."""

    workspace: Workspace
    directory: StaffDirectory
    sessions: StaffSessions
    # The managers' status page: the ERP feeds, the freshness hold, dead-letter queues, last report.
    status: StatusBoard | None = None


class StaffSignInNeeded(Exception):
    """No live staff session: the route answers 303 to the sign-in page (coming back afterwards)."""

    def __init__(self, next_path: str | None) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class StaffCsrfRejected(Exception):
    """A staff form arrived without the session's CSRF token."""


def with_staff_headers(result: dict[str, Any]) -> dict[str, Any]:
    """Every staff response, error pages and 404s included: never cached, never indexed."""
    multi: dict[str, list[str]] = result.setdefault("multiValueHeaders", {}) or {}
    result["multiValueHeaders"] = multi
    single: dict[str, str] = result.get("headers") or {}
    for name, value in STAFF_HEADERS.items():
        for existing in [k for k in single if k.lower() == name.lower()]:
            del single[existing]
        for existing in [k for k in multi if k.lower() == name.lower()]:
            del multi[existing]
        multi[name] = [value]
    return result


def cookie_value(event: APIGatewayProxyEvent, name: str) -> str | None:
    """The value of cookie ``name`` from the Cookie header(s), or None."""
    values: list[str] = []
    for key, many in (event.multi_value_headers or {}).items():
        if key.lower() == "cookie":
            values.extend(many or [])
    if not values:
        single = sessions.header(event, "Cookie")
        values = [single] if single else []
    for value in values:
        for part in value.split(";"):
            key, sep, content = part.strip().partition("=")
            if sep and key == name and content:
                return content.strip().strip('"')
    return None


def dom_id(value: str) -> str:
    """``value`` made safe as part of an HTML id (dispute and task ids come from the store)."""
    return _DOM_UNSAFE.sub("-", value)


def path_segment(value: str) -> str:
    """``value`` as one URL path segment (a customer id with a slash stays one segment)."""
    return quote(value, safe="")


def safe_next(value: str | None) -> str | None:
    """Where to go after signing in: only a path of the console itself (no open redirect)."""
    if value and _NEXT.match(value) and "//" not in value and not value.startswith(SIGN_IN):
        return value
    return None


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


def _cookie(name: str, value: str, path: str, max_age: int, same_site: SameSite) -> Cookie:
    return Cookie(name, value, path=path, secure=True, http_only=True, max_age=max_age, same_site=same_site)


def one(form: Form, name: str) -> str:
    return (form.get(name) or [""])[-1].strip()


def many(form: Form, name: str) -> list[str]:
    return [value.strip() for value in form.get(name, []) if value.strip()]


def days_past_due(account: Account360, due_on: Any) -> int:
    return int((account.as_of - due_on).days)


def plain_amount(amount: Decimal | int) -> str:
    return f"{Decimal(amount).quantize(Decimal('0.01')):,.2f}"


class StaffWeb:
    """The console's request helpers over the portal's ``Web``."""

    def __init__(self, web: Web, console: StaffConsole) -> None:
        self.web = web
        self.console = console

    @property
    def workspace(self) -> Workspace:
        return self.console.workspace

    @property
    def event(self) -> APIGatewayProxyEvent:
        return self.web.event

    def cookie_path(self) -> str:
        return f"{self.web.base()}{PREFIX}"

    def session_cookie(self, session_id: str) -> Cookie:
        return _cookie(
            COOKIE_NAME, session_id, self.cookie_path(), STAFF_SESSION_HOURS * 3600, SameSite.LAX_MODE
        )

    def cleared(self, name: str) -> Cookie:
        same_site = SameSite.LAX_MODE if name == COOKIE_NAME else SameSite.STRICT_MODE
        return _cookie(name, "", self.cookie_path(), 0, same_site)

    def session(self) -> StaffSession | None:
        session_id = cookie_value(self.event, COOKIE_NAME)
        if not session_id:
            return None
        now = self.web.now()
        session = self.console.sessions.resume(session_id, now=now)
        if session is None or not session.due_for_recheck(now):
            return session
        # Every few minutes: is the user still enabled and staff, in which groups? (A user disabled or
        # removed from a group loses the session, or the manager pages, within STAFF_RECHECK_MINUTES.)
        user = self.console.directory.current_user(session.user.username)
        if user is None:
            self.console.sessions.end(session_id)
            return None
        return self.console.sessions.rechecked(session, user, now=now)

    def require_session(self) -> StaffSession:
        session = self.session()
        if session is None:
            path = self.event.path
            query = self.event.query_string_parameters or {}
            if query:
                path += "?" + "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query.items())
            raise StaffSignInNeeded(path if self.event.http_method == "GET" else None)
        return session

    def require_manager(self) -> StaffSession:
        session = self.require_session()
        if not session.user.is_manager:
            raise NotAllowed("managers only")
        return session

    def checked_form(self, session: StaffSession) -> Form:
        form = self.web.form()
        if not sessions.csrf_matches(session.csrf_token, one(form, sessions.CSRF_FIELD)):
            raise StaffCsrfRejected
        return form

    def html(
        self,
        template: str,
        status: int = 200,
        *,
        session: StaffSession | None = None,
        cookies: list[Cookie] | None = None,
        **context: Any,
    ) -> Response[str]:
        body = render(
            template,
            {
                "base": self.web.base(),
                "user": session.user if session else None,
                "csrf_token": session.csrf_token if session else "",
                "errors": {},
                "segment": path_segment,
                "dom_id": dom_id,
                "plain_amount": plain_amount,
                **context,
            },
        )
        return Response(
            status_code=status,
            content_type=content_types.TEXT_HTML,
            body=body,
            headers=dict(STAFF_HEADERS),
            cookies=cookies,
        )

    def message(
        self,
        status: int,
        title: str,
        *paragraphs: str,
        session: StaffSession | None = None,
        back: tuple[str, str] | None = None,
    ) -> Response[str]:
        return self.html(
            "staff/message.html", status, session=session, title=title, paragraphs=paragraphs, back=back
        )

    def redirect(self, location: str, *, cookies: list[Cookie] | None = None) -> Response[str]:
        response = self.web.redirect(location, cookies=cookies)
        response.headers.update(STAFF_HEADERS)
        return response

    def customer_path(self, customer_id: str, done: str | None = None) -> str:
        path = f"{PREFIX}/customers/{path_segment(customer_id)}"
        return f"{path}?done={done}" if done else path


def register(web: Web, console: StaffConsole | None) -> None:
    """The /staff routes. Without a console (no staff user pool configured) there are none, and every
    path under /staff answers ``not_found_page``'s 503."""
    if console is None:
        return
    staff = StaffWeb(web, console)
    _sign_in_routes(staff)
    _work_routes(staff)
    _account_routes(staff)
    _errors(staff)


# --- signing in -------------------------------------------------------------------------------------


def _sign_in_routes(staff: StaffWeb) -> None:
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
            cookies=[_cookie(LOGIN_COOKIE, token, staff.cookie_path(), LOGIN_SECONDS, SameSite.STRICT_MODE)],
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
            cookies=[_cookie(LOGIN_COOKIE, token, staff.cookie_path(), LOGIN_SECONDS, SameSite.STRICT_MODE)],
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
        return _cookie(CHALLENGE_COOKIE, value, staff.cookie_path(), CHALLENGE_SECONDS, SameSite.STRICT_MODE)

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


# --- worklist, team, disputes, reports -----------------------------------------------------------


def _work_routes(staff: StaffWeb) -> None:
    app = staff.web.app

    @app.get(WORKLIST, include_in_schema=False)
    def worklist() -> Response[str]:
        session = staff.require_session()
        asked = (staff.web.query("assignee") or "").strip()
        assignee = asked or session.user.username
        if assignee != session.user.username and not session.user.is_manager:
            raise NotAllowed("only managers see another collector's worklist")
        items = staff.workspace.worklist(assignee, now=staff.web.now())
        own = assignee == session.user.username
        return staff.html(
            "staff/worklist.html",
            session=session,
            nav="worklist",
            title="Your worklist" if own else f"Worklist of {assignee}",
            items=items,
            assignee=assignee,
            own=own,
        )

    @app.get(f"{PREFIX}/customers", include_in_schema=False)
    def find_customer() -> Response[str]:
        session = staff.require_session()
        customer_id = (staff.web.query("customer_id") or "").strip()
        if not customer_id:
            return staff.html(
                "staff/find.html",
                400,
                session=session,
                nav="worklist",
                title="Find a customer",
                errors={"customer_id": "Enter a customer id"},
            )
        return staff.redirect(staff.customer_path(customer_id))

    @app.get(f"{PREFIX}/team", include_in_schema=False)
    def team() -> Response[str]:
        session = staff.require_manager()
        workloads = staff.workspace.team_workload(session.user, now=staff.web.now())
        return staff.html("staff/team.html", session=session, nav="team", title="Team", workloads=workloads)

    @app.get(f"{PREFIX}/disputes", include_in_schema=False)
    def disputes() -> Response[str]:
        session = staff.require_session()
        include_closed = staff.web.query("closed") == "1"
        views = staff.workspace.disputes(now=staff.web.now(), include_closed=include_closed)
        return staff.html(
            "staff/disputes.html",
            session=session,
            nav="disputes",
            title="Dispute queue",
            disputes=views,
            include_closed=include_closed,
            status_labels=DISPUTE_STATUS_LABELS,
            reason_labels={reason.value: label for reason, label in REASON_LABELS.items()},
        )

    @app.get(f"{PREFIX}/status", include_in_schema=False)
    def status() -> Response[str]:
        session = staff.require_manager()
        board = staff.console.status
        if board is None:
            return staff.message(
                503,
                "Status not available",
                "This deployment does not configure the status page.",
                session=session,
                back=(WORKLIST, "Back to the worklist"),
            )
        facts = board.status(session.user, now=staff.web.now())
        return staff.html(
            "staff/status.html",
            session=session,
            nav="status",
            title="Status",
            facts=facts,
            document=facts.as_dict(),
        )

    @app.get(f"{PREFIX}/reports", include_in_schema=False)
    def reports() -> Response[str]:
        session = staff.require_manager()
        links = staff.workspace.reports(session.user, now=staff.web.now())
        return staff.html(
            "staff/reports.html", session=session, nav="reports", title="Reports", reports=links
        )


# --- the customer 360 and its forms -----------------------------------------------------------------


def _account_routes(staff: StaffWeb) -> None:
    app = staff.web.app

    def account_page(
        session: StaffSession,
        customer_id: str,
        status: int = 200,
        *,
        task_id: str | None = None,
        forms: Mapping[str, Mapping[str, Any]] | None = None,
        errors: Mapping[str, str] | None = None,
    ) -> Response[str]:
        account = staff.workspace.account(customer_id, now=staff.web.now())
        open_tasks = [t for t in account.tasks if t.status == "open"]
        unapplied = [p for p in account.payments if p.unapplied_amount > 0]
        selected = next((t for t in open_tasks if t.task_id == task_id), None)
        done = DONE_MESSAGES.get(staff.web.query("done") or "") if status == 200 else None
        return staff.html(
            "staff/customer.html",
            status,
            session=session,
            nav="worklist",
            title=account.customer.name or account.customer.customer_id,
            account=account,
            open_tasks=open_tasks,
            task=selected,
            forms=forms or {},
            errors=dict(errors or {}),
            done=done,
            days_past_due=lambda due: days_past_due(account, due),
            aging_label=lambda due: AGING_LABELS[aging_bucket(days_past_due(account, due))],
            timeline=sorted(account.timeline, key=lambda entry: entry.at, reverse=True),
            outcome_labels=[(o.value, label) for o, label in OUTCOME_LABELS.items()],
            reasons=[(r.value, label) for r, label in REASON_LABELS.items()],
            reason_labels={r.value: label for r, label in REASON_LABELS.items()},
            status_labels=DISPUTE_STATUS_LABELS,
            transitions={
                status.value: [(s.value, DISPUTE_STATUS_LABELS[s]) for s in nexts]
                for status, nexts in DISPUTE_TRANSITIONS.items()
            },
            cash_forms=[_cash_form(payment, account, forms or {}) for payment in unapplied],
        )

    def field_errors(form_id: str, fields: Iterable[str], error: WorkspaceInputError) -> dict[str, str]:
        """The error keyed by the id of the control it is about (the form's own id when the field is
        not one of its controls), so the summary links to it and the control names it."""
        name = error.field if error.field in fields else None
        return {f"{form_id}-{name}" if name else form_id: error.message}

    def posted(
        customer_id: str,
        form_name: str,
        call: Callable[[StaffSession, Form], Mapping[str, Any]],
        done: Callable[[Mapping[str, Any]], str] | str,
        *,
        task_id: str | None = None,
    ) -> Response[str]:
        """Run one form of the 360 page: CSRF, the call (with the session's user), 303 on success,
        the page again with the field's message and the typed values on WorkspaceInputError."""
        session = staff.require_session()
        raw = staff.checked_form(session)
        values: dict[str, Any] = {}
        try:
            values = dict(call(session, raw))
        except WorkspaceInputError as error:
            typed = _typed(raw, FORMS[form_name])
            return account_page(
                session,
                customer_id,
                400,
                task_id=task_id,
                forms={form_name: typed},
                errors=field_errors(form_name, FORMS[form_name], error),
            )
        what = done if isinstance(done, str) else done(values)
        return staff.redirect(staff.customer_path(customer_id, what))

    @app.get(f"{PREFIX}/customers/<customer_id>", include_in_schema=False)
    def customer(customer_id: str) -> Response[str]:
        session = staff.require_session()
        return account_page(session, customer_id, task_id=staff.web.query("task"))

    @app.post(f"{PREFIX}/customers/<customer_id>/tasks/<task_id>/outcome", include_in_schema=False)
    def outcome(customer_id: str, task_id: str) -> Response[str]:
        def call(session: StaffSession, form: Form) -> Mapping[str, Any]:
            chosen = one(form, "outcome")
            promise = chosen == CallOutcome.PROMISE_TAKEN
            dispute = chosen == CallOutcome.DISPUTE_LOGGED
            staff.workspace.record_outcome(
                customer_id,
                task_id,
                outcome=chosen,
                note=one(form, "note"),
                by=session.user,
                now=staff.web.now(),
                promised_until=one(form, "promised_until") if promise else None,
                promise_amount=one(form, "promise_amount") if promise else None,
                invoice_numbers=many(form, "invoice_numbers") if promise or dispute else None,
                dispute_reason=one(form, "dispute_reason") if dispute else None,
            )
            return {}

        return posted(customer_id, "outcome", call, "outcome", task_id=task_id)

    @app.post(f"{PREFIX}/customers/<customer_id>/notes", include_in_schema=False)
    def note(customer_id: str) -> Response[str]:
        def call(session: StaffSession, form: Form) -> Mapping[str, Any]:
            staff.workspace.add_note(
                customer_id, text=one(form, "text"), by=session.user, now=staff.web.now()
            )
            return {}

        return posted(customer_id, "note", call, "note")

    @app.post(f"{PREFIX}/customers/<customer_id>/promises", include_in_schema=False)
    def promise(customer_id: str) -> Response[str]:
        def call(session: StaffSession, form: Form) -> Mapping[str, Any]:
            staff.workspace.take_promise(
                customer_id,
                invoice_numbers=many(form, "invoice_numbers"),
                amount=one(form, "amount"),
                promised_until=one(form, "promised_until"),
                by=session.user,
                now=staff.web.now(),
            )
            return {}

        return posted(customer_id, "promise", call, "promise")

    @app.post(f"{PREFIX}/customers/<customer_id>/disputes", include_in_schema=False)
    def dispute(customer_id: str) -> Response[str]:
        def call(session: StaffSession, form: Form) -> Mapping[str, Any]:
            staff.workspace.log_dispute(
                customer_id,
                invoice_number=one(form, "invoice_number"),
                reason=one(form, "reason"),
                comment=one(form, "comment"),
                by=session.user,
                now=staff.web.now(),
            )
            return {}

        return posted(customer_id, "dispute", call, "dispute")

    @app.post(f"{PREFIX}/customers/<customer_id>/disputes/<dispute_id>/status", include_in_schema=False)
    def dispute_status(customer_id: str, dispute_id: str) -> Response[str]:
        session = staff.require_session()
        raw = staff.checked_form(session)
        form_id = f"move-{dom_id(dispute_id)}"
        credit = one(raw, "credit_amount")
        try:
            staff.workspace.move_dispute(
                customer_id,
                dispute_id,
                status=one(raw, "status"),
                note=one(raw, "note"),
                by=session.user,
                now=staff.web.now(),
                credit_amount=credit or None,
            )
        except WorkspaceInputError as error:
            return account_page(
                session,
                customer_id,
                400,
                forms={form_id: _typed(raw, DISPUTE_MOVE_FIELDS)},
                errors=field_errors(form_id, DISPUTE_MOVE_FIELDS, error),
            )
        return staff.redirect(staff.customer_path(customer_id, "dispute-status"))

    @app.post(f"{PREFIX}/customers/<customer_id>/payments/<payment_id>/apply", include_in_schema=False)
    def apply_cash(customer_id: str, payment_id: str) -> Response[str]:
        session = staff.require_session()
        raw = staff.checked_form(session)
        form_id = f"cash-{dom_id(payment_id)}"
        numbers, amounts = raw.get("invoice_numbers", []), raw.get("amounts", [])
        if len(numbers) != len(amounts):
            raise WorkspaceInputError("allocations", "each amount needs its invoice: reload the page")
        try:
            staff.workspace.apply_cash(
                customer_id,
                payment_id,
                allocations=list(zip(numbers, amounts, strict=True)),
                note=one(raw, "note"),
                unapplied=one(raw, "unapplied"),
                by=session.user,
                now=staff.web.now(),
            )
        except WorkspaceInputError as error:
            typed = {
                **_typed(raw, ("note", "unapplied")),
                "amounts": dict(zip(numbers, amounts, strict=True)),
            }
            return account_page(
                session,
                customer_id,
                400,
                forms={form_id: typed},
                errors=field_errors(form_id, APPLY_CASH_FIELDS, error),
            )
        return staff.redirect(staff.customer_path(customer_id, "cash"))

    @app.post(f"{PREFIX}/customers/<customer_id>/pause", include_in_schema=False)
    def pause(customer_id: str) -> Response[str]:
        def call(session: StaffSession, form: Form) -> Mapping[str, Any]:
            staff.workspace.pause(
                customer_id,
                until=one(form, "until"),
                reason=one(form, "reason"),
                by=session.user,
                now=staff.web.now(),
            )
            return {}

        return posted(customer_id, "pause", call, "pause")

    @app.post(f"{PREFIX}/customers/<customer_id>/hold", include_in_schema=False)
    def hold(customer_id: str) -> Response[str]:
        def call(session: StaffSession, form: Form) -> Mapping[str, Any]:
            choice = one(form, "hold")
            if choice not in ("on", "off"):
                raise WorkspaceInputError("hold", "choose whether to put the customer on hold or release it")
            staff.workspace.set_hold(
                customer_id,
                hold=choice == "on",
                reason=one(form, "reason"),
                by=session.user,
                now=staff.web.now(),
            )
            return {"hold": choice}

        return posted(customer_id, "hold", call, lambda values: f"hold-{values['hold']}")


@dataclass(frozen=True)
class CashForm:
    """The apply-cash form of one payment with unapplied cash: its id, the invoices that can take the
    money (oldest due first) with the amount to show for each, and the suggestions."""

    form_id: str
    payment: Payment
    rows: tuple[tuple[Invoice, str], ...]
    suggestions: tuple[cash.Suggestion, ...]


def _cash_form(payment: Payment, account: Account360, forms: Mapping[str, Mapping[str, Any]]) -> CashForm:
    """What the collector typed (after an error), else the first suggestion's amounts, filled in."""
    form_id = f"cash-{dom_id(payment.payment_id)}"
    pool = cash.candidates(payment.currency, account.open_invoices)
    suggestions = cash.suggest(payment.unapplied_amount, payment.currency, payment.reference, pool)
    typed = forms.get(form_id, {}).get("amounts")
    if typed is None:
        first = suggestions[0] if suggestions else None
        typed = dict(zip(first.invoice_numbers, map(str, first.amounts), strict=True)) if first else {}
    rows = tuple((invoice, str(typed.get(invoice.invoice_number, ""))) for invoice in pool)
    return CashForm(form_id, payment, rows, suggestions)


def _typed(form: Form, fields: Iterable[str]) -> dict[str, Any]:
    """What the user typed into ``fields``, to put back into the form (lists stay lists)."""
    typed: dict[str, Any] = {}
    for name in fields:
        if name == "invoice_numbers":
            typed[name] = many(form, name)
        else:
            typed[name] = (form.get(name) or [""])[-1]
    return typed


def _errors(staff: StaffWeb) -> None:
    handles: Any = staff.web.app.exception_handler

    def sign_in_needed(error: StaffSignInNeeded) -> Response[Any]:
        target = SIGN_IN
        if error.next_path and safe_next(error.next_path):
            target = f"{SIGN_IN}?next={quote(error.next_path, safe='')}"
        elif cookie_value(staff.event, COOKIE_NAME):
            target = f"{SIGN_IN}?reason=ended"
        return staff.redirect(target, cookies=[staff.cleared(COOKIE_NAME)])

    def csrf_rejected(_: StaffCsrfRejected) -> Response[Any]:
        return staff.message(
            403,
            "This form has expired",
            "For your security we could not accept this form. Go back, reload the page and try again.",
            session=staff.session(),
            back=(WORKLIST, "Back to your worklist"),
        )

    def not_allowed(error: NotAllowed) -> Response[Any]:
        # A page is for managers, or a decision is theirs (a credit above the collectors' limit): say which.
        why = str(error) if str(error) not in {"", "managers only"} else ""
        return staff.message(
            403,
            "Managers only",
            f"{why[:1].upper()}{why[1:]}."
            if why
            else "This page is for managers. Your account is in the collector group.",
            session=staff.session(),
            back=(WORKLIST, "Back to your worklist"),
        )

    def not_found(error: WorkspaceNotFound) -> Response[Any]:
        return staff.message(
            404,
            "Not found",
            str(error) or "There is no such customer, task or dispute.",
            session=staff.session(),
            back=(WORKLIST, "Back to your worklist"),
        )

    def conflict(error: WorkspaceConflict) -> Response[Any]:
        return staff.message(
            409,
            "Someone changed this first",
            str(error) or "It was changed while you were looking at it.",
            "Reload the page to see the current state, then try again.",
            session=staff.session(),
            back=(WORKLIST, "Back to your worklist"),
        )

    def input_error(error: WorkspaceInputError) -> Response[Any]:
        # The 360 forms re-render themselves; this is for any other input the workspace refused.
        return staff.message(
            400,
            "That could not be done",
            f"{error.field}: {error.message}",
            session=staff.session(),
            back=(WORKLIST, "Back to your worklist"),
        )

    handles(StaffSignInNeeded)(sign_in_needed)
    handles(StaffCsrfRejected)(csrf_rejected)
    handles(NotAllowed)(not_allowed)
    handles(WorkspaceNotFound)(not_found)
    handles(WorkspaceConflict)(conflict)
    handles(WorkspaceInputError)(input_error)


def not_found_page(web: Web, console: StaffConsole | None) -> Response[str]:
    """What a path under /staff that no route serves answers: 404, or 503 "staff console not
    configured" when there is no console at all (no staff user pool)."""
    if console is None:
        status, title = 503, "Staff console not configured"
        paragraphs: tuple[str, ...] = (
            "The staff console is not configured for this deployment: it has no staff user pool.",
            "An administrator sets STAFF_USER_POOL_ID and STAFF_CLIENT_ID on the portal function to "
            "switch it on.",
        )
        back = None
    else:
        status, title = 404, "Page not found"
        paragraphs = (f"There is no page at {web.event.path}.",)
        back = (WORKLIST, "Go to your worklist")
    body = render(
        "staff/message.html",
        {
            "base": web.base(),
            "user": None,
            "csrf_token": "",
            "errors": {},
            "title": title,
            "paragraphs": paragraphs,
            "back": back,
        },
    )
    return Response(
        status_code=status, content_type=content_types.TEXT_HTML, body=body, headers=dict(STAFF_HEADERS)
    )


__all__ = [
    "COOKIE_NAME",
    "PREFIX",
    "STAFF_HEADERS",
    "StaffConsole",
    "not_found_page",
    "register",
    "with_staff_headers",
]
