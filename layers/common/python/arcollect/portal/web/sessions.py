"""The session cookie, the CSRF check and what a request tells us about itself (time, client, base path).

The cookie carries only the opaque session id the Portal issued; the customer id is looked up from it
(Portal.resume) and never read from the request. Every state-changing request must also present the
session's CSRF token (a hidden form field, or the ``X-CSRF-Token`` header for the JSON API), compared in
constant time.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime

from aws_lambda_powertools.shared.cookies import Cookie, SameSite
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from arcollect.portal.access import SESSION_ABSOLUTE_HOURS

COOKIE_NAME = "arc_session"
COOKIE_MAX_AGE = SESSION_ABSOLUTE_HOURS * 3600
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


def session_cookie(session_id: str) -> Cookie:
    """``arc_session=<id>; Path=/; Max-Age=28800; HttpOnly; Secure; SameSite=Lax``."""
    return Cookie(
        COOKIE_NAME,
        session_id,
        path="/",
        secure=True,
        http_only=True,
        max_age=COOKIE_MAX_AGE,
        same_site=SameSite.LAX_MODE,
    )


def cleared_cookie() -> Cookie:
    return Cookie(
        COOKIE_NAME, "", path="/", secure=True, http_only=True, max_age=0, same_site=SameSite.LAX_MODE
    )


def header(event: APIGatewayProxyEvent, name: str) -> str | None:
    """A request header, case-insensitively (API Gateway passes the client's spelling through)."""
    wanted = name.lower()
    for key, value in (event.headers or {}).items():
        if key.lower() == wanted:
            return str(value)
    return None


def session_id_from(event: APIGatewayProxyEvent) -> str | None:
    """The session id from the ``Cookie`` header(s), or None."""
    values: list[str] = []
    for key, many in (event.multi_value_headers or {}).items():
        if key.lower() == "cookie":
            values.extend(many or [])
    if not values:
        single = header(event, "Cookie")
        values = [single] if single else []
    for value in values:
        for part in value.split(";"):
            name, sep, content = part.strip().partition("=")
            if sep and name == COOKIE_NAME and content:
                return content.strip().strip('"')
    return None


def csrf_matches(expected: str, supplied: str | None) -> bool:
    """Constant-time comparison; a missing or empty token never matches."""
    if not supplied or not expected:
        return False
    return hmac.compare_digest(expected.encode(), supplied.encode())


def request_time(event: APIGatewayProxyEvent) -> datetime:
    """ "Now" is when API Gateway received the request."""
    epoch_ms = event.request_context.request_time_epoch
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)


def client_of(event: APIGatewayProxyEvent) -> str:
    """The client address the rate limits count by."""
    return event.request_context.identity.source_ip or "unknown"


def base_path(event: APIGatewayProxyEvent) -> str:
    """The prefix every link we render needs: ``/<stage>`` when the browser is on the execute-api URL,
    empty behind a custom domain and on the local stack (whose events look like execute-api's but whose
    URLs carry no stage)."""
    context = event.request_context
    stage = context.stage
    host = (header(event, "Host") or "").lower()
    if (
        stage
        and stage != "$default"
        and host.endswith(".amazonaws.com")
        and (context.path or "").startswith(f"/{stage}/")
    ):
        return f"/{stage}"
    return ""


def public_base_url(event: APIGatewayProxyEvent) -> str:
    """The portal's own URL as the browser sees it, ending in ``/`` (what emailed links start with).

    The host is API Gateway's ``domainName`` (the API's own or custom domain: API Gateway routes by it,
    so a client cannot make it name another site), else the Host header (the local stack)."""
    context = event.request_context
    domain = str(context.get("domainName") or header(event, "Host") or "localhost")
    proto = (header(event, "X-Forwarded-Proto") or "").lower()
    if proto not in ("http", "https"):
        local = domain.split(":")[0] in ("localhost", "127.0.0.1")
        proto = "http" if local else "https"
    return f"{proto}://{domain}{base_path(event)}/"
