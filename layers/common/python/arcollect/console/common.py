"""What the staff console's route modules share: its prefix, session cookie and headers, the
console's dependencies (``ConsoleServices``), the exceptions a route raises to give up, and ``StaffWeb``,
the request helpers over the portal's ``Web`` that every route is handed."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.shared.cookies import Cookie, SameSite
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from arcollect.disputes import DisputeStatus
from arcollect.money import grouped
from arcollect.portal.web import sessions
from arcollect.portal.web.common import STAFF_HEADERS, STAFF_PREFIX, Web
from arcollect.portal.web.render import render
from arcollect.staff import STAFF_SESSION_HOURS, StaffDirectory, StaffSession, StaffSessions
from arcollect.workspace.model import NotAllowed, WorkspaceConflict, WorkspaceInputError, WorkspaceNotFound
from arcollect.workspace.services import Workspace
from arcollect.workspace.status import StatusBoard

PREFIX = STAFF_PREFIX
COOKIE_NAME = "arc_staff"
SIGN_IN = f"{PREFIX}/sign-in"
WORKLIST = f"{PREFIX}/worklist"
DISPUTE_STATUS_LABELS = {
    DisputeStatus.OPEN: "Open",
    DisputeStatus.IN_REVIEW: "In review",
    DisputeStatus.RESOLVED_VALID: "Resolved: invoice stands",
    DisputeStatus.RESOLVED_CREDIT: "Resolved: credit granted",
    DisputeStatus.CLOSED: "Closed",
}
_NEXT = re.compile(r"^/staff(?:/[A-Za-z0-9._~%/-]*)?(?:\?[A-Za-z0-9._~%=&+-]*)?$")
_DOM_KEPT = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")

Form = dict[str, list[str]]


@dataclass(frozen=True)
class ConsoleServices:
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


# A JSON route's work: given the session and the request's JSON object ({} for a GET), the status and
# the JSON answer. Workspace errors become the console API's error answers (``StaffWeb.json_answer``).
JsonCall = Callable[[StaffSession, dict[str, Any]], tuple[int, Any]]


def json_body(event: APIGatewayProxyEvent) -> dict[str, Any]:
    """The request's JSON object, or a 400 naming ``body``."""
    try:
        body = json.loads(event.decoded_body or "")
    except ValueError as error:
        raise WorkspaceInputError("body", f"not JSON: {error}") from None
    if not isinstance(body, dict):
        raise WorkspaceInputError("body", "expected a JSON object")
    return body


def body_text(body: dict[str, Any], name: str) -> str:
    """A string field of a JSON body ("" when absent or null), or a 400 naming it."""
    value = body.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise WorkspaceInputError(name, f"expected a string, got {type(value).__name__}")
    return value


def body_texts(body: dict[str, Any], name: str) -> list[str]:
    """A list-of-strings field of a JSON body ([] when absent), or a 400 naming it."""
    value = body.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise WorkspaceInputError(name, "expected a list of strings")
    return list(value)


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
    """``value`` made safe as part of an HTML id (invoice, dispute and payment ids come from the store).

    Letters and digits stay; every other byte of its UTF-8, ``-`` and ``_`` included, becomes ``_`` and
    two lowercase hex digits (``FA/2024/0042`` -> ``FA_2f2024_2f0042``, ``FA-2024-0042`` ->
    ``FA_2d2024_2d0042``). So two values never give the same id, the id holds only ``[A-Za-z0-9_]``
    (valid in an HTML id and a URL fragment; after the caller's ``prefix-``, in a CSS ``#selector``
    too) and is the same on every render; and since it never holds ``-``, a caller's ``prefix-`` and
    ``-suffix`` (``cash-<id>-note``) cannot run into another value's id."""
    return "".join(chr(byte) if byte in _DOM_KEPT else f"_{byte:02x}" for byte in value.encode("utf-8"))


def path_segment(value: str) -> str:
    """``value`` as one URL path segment (a customer id with a slash stays one segment)."""
    return quote(value, safe="")


def safe_next(value: str | None) -> str | None:
    """Where to go after signing in: only a path of the console itself (no open redirect)."""
    if value and _NEXT.match(value) and "//" not in value and not value.startswith(SIGN_IN):
        return value
    return None


def staff_cookie(name: str, value: str, path: str, max_age: int, same_site: SameSite) -> Cookie:
    return Cookie(name, value, path=path, secure=True, http_only=True, max_age=max_age, same_site=same_site)


def one(form: Form, name: str) -> str:
    return (form.get(name) or [""])[-1].strip()


def many(form: Form, name: str) -> list[str]:
    return [value.strip() for value in form.get(name, []) if value.strip()]


def plain_amount(amount: Decimal | int, currency: str | None = None) -> str:
    """An amount without its code, grouped: in ``currency``'s minor unit (``money.grouped``: ``1,250.00``
    EUR, ``150,000`` JPY); with no currency (a customer's credit limit, in the home currency the portal
    function is not told), with the decimals it was stored with (ingest keeps it at the home currency's
    unit)."""
    if currency is not None:
        return grouped(amount, currency)
    return f"{Decimal(amount):,f}"


class StaffWeb:
    """The console's request helpers over the portal's ``Web``."""

    def __init__(self, web: Web, console: ConsoleServices) -> None:
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
        return staff_cookie(
            COOKIE_NAME, session_id, self.cookie_path(), STAFF_SESSION_HOURS * 3600, SameSite.LAX_MODE
        )

    def cleared(self, name: str) -> Cookie:
        same_site = SameSite.LAX_MODE if name == COOKIE_NAME else SameSite.STRICT_MODE
        return staff_cookie(name, "", self.cookie_path(), 0, same_site)

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

    def json_answer(self, call: JsonCall) -> Response[Any]:
        """One JSON route of the console's API, as every one answers: 401 without a live session, 403
        when a write lacks the session's CSRF token in ``X-CSRF-Token`` (a JSON body cannot be sent
        cross-site without CORS; the header is the check a form field is for a page), the request's
        JSON object to ``call``, and its workspace errors as ``{"error": {"field", "message"}}`` with
        400, 403, 404 or 409."""
        session = self.session()
        if session is None:
            return self.web.json_error(401, "sign in to the staff console first")
        writes = self.event.http_method != "GET"
        token = sessions.header(self.event, sessions.CSRF_HEADER) or ""
        if writes and not sessions.csrf_matches(session.csrf_token, token):
            return self.web.json_error(
                403, f"the session's CSRF token is missing from {sessions.CSRF_HEADER}"
            )
        try:
            status, result = call(session, json_body(self.event) if writes else {})
        except WorkspaceInputError as error:
            return self.web.json_error(400, error.message, error.field)
        except NotAllowed as error:
            return self.web.json_error(403, str(error))
        except WorkspaceNotFound as error:
            return self.web.json_error(404, str(error))
        except WorkspaceConflict as error:
            return self.web.json_error(409, str(error))
        return Response(
            status_code=status,
            content_type=content_types.APPLICATION_JSON,
            body=result,
            headers={"Cache-Control": "no-store"},
        )

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
