"""What the portal's route modules share: the resolver whose responses carry the security headers,
the ``Web`` each route is handed (the current request, the Portal, and the ways to answer), the
exceptions a route raises to give up, and the prefixes of the API and the staff console.

The route modules (``pages``, ``api``, ``staff``) import from here, and only ``app`` imports them:
imports go one way, down.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.shared.cookies import Cookie
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from arcollect.portal.access import Session
from arcollect.portal.pages import SECURITY_HEADERS
from arcollect.portal.self_service import Portal
from arcollect.portal.web import sessions
from arcollect.portal.web.render import render

API_PREFIX = "/api/v1"
STAFF_PREFIX = "/staff"
# Every response under /staff, error pages and 404s included: never cached, never indexed.
STAFF_HEADERS: dict[str, str] = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex, nofollow"}


class ApiError(Exception):
    """A JSON API error: ``{"error": {"field": ..., "message": ...}}`` with ``status``."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


class PageRedirect(Exception):
    """An HTML route gives up with a 303 to ``location`` (a path under the portal)."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


class CsrfRejected(Exception):
    """A form arrived without the session's CSRF token."""


class PortalResolver(APIGatewayRestResolver):
    """APIGatewayRestResolver whose every response carries the portal's security headers."""

    def _get_base_path(self) -> str:
        return sessions.base_path(self.current_event)

    def _convert_matches_into_route_keys(self, match: re.Match[str]) -> dict[str, str]:
        # API Gateway's REST proxy hands over the path as the browser sent it, percent-encoded; a route's
        # value is one decoded segment: /invoices/INV%2F2026%2F00187 is invoice INV/2026/00187.
        keys: dict[str, str] = super()._convert_matches_into_route_keys(match)
        return {name: unquote(value) for name, value in keys.items()}

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        return with_security_headers(super().resolve(event, context))


def with_security_headers(result: dict[str, Any]) -> dict[str, Any]:
    """Add each security header the response does not already set (a route may set a narrower one)."""
    multi: dict[str, list[str]] = result.setdefault("multiValueHeaders", {}) or {}
    result["multiValueHeaders"] = multi
    single: dict[str, str] = result.get("headers") or {}
    present = {name.lower() for name in (*multi, *single)}
    for name, value in SECURITY_HEADERS.items():
        if name.lower() not in present:
            multi[name] = [value]
    return result


# The Portal itself, or a function giving the Portal for the portal's public base URL (the handler's
# case: the portal function has no PORTAL_BASE_URL, it learns its URL from the request).
PortalSource = Portal | Callable[[str], Portal]


@dataclass
class Web:
    """What every route needs: the resolver (for the current event) and the Portal."""

    app: PortalResolver
    source: PortalSource
    environment_name: str = "dev"

    @property
    def event(self) -> APIGatewayProxyEvent:
        return self.app.current_event

    @property
    def portal(self) -> Portal:
        if isinstance(self.source, Portal):
            return self.source
        return self.source(sessions.public_base_url(self.event))

    def now(self) -> datetime:
        return sessions.request_time(self.event)

    def base(self) -> str:
        return sessions.base_path(self.event)

    def client(self) -> str:
        return sessions.client_of(self.event)

    def session(self) -> Session | None:
        session_id = sessions.session_id_from(self.event)
        if not session_id:
            return None
        return self.portal.resume(session_id, now=self.now())

    def query(self, name: str) -> str | None:
        values = (self.event.multi_value_query_string_parameters or {}).get(name)
        if values:
            return str(values[-1])
        return (self.event.query_string_parameters or {}).get(name)

    def form(self) -> dict[str, list[str]]:
        """The url-encoded form body (names to every value given)."""
        body = self.event.decoded_body or ""
        return parse_qs(body, keep_blank_values=True, max_num_fields=500)

    def is_api(self) -> bool:
        return is_api_path(self.event.path)

    def html(
        self,
        template: str,
        status: int = 200,
        *,
        session: Session | None = None,
        headers: Mapping[str, str] | None = None,
        cookies: list[Cookie] | None = None,
        **context: Any,
    ) -> Response[str]:
        body = render(
            template,
            {
                "base": self.base(),
                "signed_in": session is not None,
                "csrf_token": session.csrf_token if session else "",
                "errors": {},
                **context,
            },
        )
        return Response(
            status_code=status,
            content_type=content_types.TEXT_HTML,
            body=body,
            headers=dict(headers or {}),
            cookies=cookies,
        )

    def message(
        self,
        status: int,
        title: str,
        *paragraphs: str,
        session: Session | None = None,
        show_link_form: bool = False,
        back: tuple[str, str] | None = None,
    ) -> Response[str]:
        return self.html(
            "message.html",
            status,
            session=session,
            title=title,
            paragraphs=paragraphs,
            show_link_form=show_link_form,
            back=back,
        )

    def redirect(self, location: str, *, cookies: list[Cookie] | None = None) -> Response[str]:
        """303 to an absolute URL, or to a path under the portal (the stage prefix added)."""
        target = location if location.startswith("https://") else f"{self.base()}{location}"
        return Response(status_code=303, headers={"Location": target}, body="", cookies=cookies)

    def json_error(self, status: int, message: str, field: str | None = None) -> Response[Any]:
        return Response(
            status_code=status,
            content_type=content_types.APPLICATION_JSON,
            body={"error": {"field": field, "message": message}},
        )


class StaffRoutes(Protocol):
    """The staff console as the portal's app sees it (``arcollect.console.StaffConsole``): it registers
    its routes under /staff on the resolver it is handed, and answers a path there that none serves."""

    def register(self, web: Web) -> None: ...

    def not_found_page(self, web: Web) -> Response[str]: ...


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


def staff_message(
    web: Web, status: int, title: str, *paragraphs: str, back: tuple[str, str] | None = None
) -> Response[str]:
    """A message page in the staff console's layout, for no one signed in (a path under /staff that no
    route serves, or no console at all)."""
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


def is_api_path(path: str) -> bool:
    return path == API_PREFIX or path.startswith(f"{API_PREFIX}/")


def is_staff_path(path: str) -> bool:
    return path == STAFF_PREFIX or path.startswith(f"{STAFF_PREFIX}/")


__all__ = [
    "API_PREFIX",
    "STAFF_HEADERS",
    "STAFF_PREFIX",
    "ApiError",
    "CsrfRejected",
    "PageRedirect",
    "PortalResolver",
    "PortalSource",
    "StaffRoutes",
    "Web",
    "is_api_path",
    "is_staff_path",
    "staff_message",
    "with_security_headers",
]
