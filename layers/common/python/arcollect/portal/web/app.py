"""The portal's web layer: one Powertools resolver serving the HTML pages, the JSON API under /api/v1,
its OpenAPI document and Swagger UI, and the static assets.

``build_app(portal)`` wires everything to a ``Portal`` (the real one in the handler, a fake in tests).
Every response leaves through ``PortalResolver.resolve`` (``common.py``), which adds the security
headers a route did not set itself, so error pages, 404s and validation errors carry them too.

This is the one module that imports the route modules (``pages``, ``api``): each registers its routes
onto the resolver it is handed, and takes what it shares with the others from ``common``. The staff
console (``arcollect.console``) sits above the portal: it is handed in (``staff``) and registers its own
routes, so the portal never imports it.

Three resolvers serve the one function: the customer's pages and the static files, built at once; the
staff console, built on the first request under /staff; and the JSON API with its OpenAPI validation,
document and Swagger UI, built on the first request under /api/v1. The staff console brings the whole
worklist machinery, and the API's request models are pydantic models: a customer following an emailed
link waits for neither (``make bench``, cold starts).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import aws_lambda_powertools.event_handler as powertools_event_handler
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.utilities.typing import LambdaContext

from arcollect.portal.access import NotFound, RateLimited
from arcollect.portal.inputs import PortalInputError
from arcollect.portal.web.common import (
    API_PREFIX,
    ApiError,
    CsrfRejected,
    PageRedirect,
    PortalResolver,
    PortalSource,
    StaffRoutes,
    Web,
    is_api_path,
    is_staff_path,
    staff_message,
    with_staff_headers,
)
from arcollect.portal.web.render import static_asset

DOCS_PATH = f"{API_PREFIX}/docs"
OPENAPI_PATH = f"{API_PREFIX}/openapi.json"
API_TITLE = "arcollect customer portal API"
API_VERSION = "1.0.0"
# Swagger UI's own files, as Powertools ships them: served by this function, never from a CDN.
SWAGGER_ASSETS_DIR = Path(powertools_event_handler.__file__).resolve().parent / "openapi" / "swagger_ui"
SWAGGER_ASSETS = {
    "swagger-ui-bundle.min.js": "text/javascript; charset=utf-8",
    "swagger-ui.min.css": "text/css; charset=utf-8",
}
# Relative to /api/v1/docs, so it works under a stage prefix and behind a custom domain alike.
SWAGGER_BASE_URL = "../../static/swagger-ui"
STATIC_CACHE = "public, max-age=31536000, immutable"  # the pages link them with ?v=<content hash>
SWAGGER_ASSET_CACHE = "public, max-age=86400"  # fixed names: a day

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


# The staff console (``arcollect.console.StaffConsole``): an instance, a function that makes one (the
# handler's: it needs the user pool), or None when the deployment has no staff user pool.
StaffSource = StaffRoutes | Callable[[], StaffRoutes | None] | None


class PortalApp:
    """The portal's resolvers behind one ``resolve``; the staff console's and the API's are built on
    their first request."""

    def __init__(
        self,
        pages: PortalResolver,
        build_staff: Callable[[], PortalResolver],
        build_api: Callable[[], PortalResolver],
    ) -> None:
        self.pages = pages
        self._builders = {"staff": build_staff, "api": build_api}
        self._built: dict[str, PortalResolver] = {}

    def _resolver(self, name: str) -> PortalResolver:
        if name not in self._built:
            self._built[name] = self._builders[name]()
        return self._built[name]

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        path = str(event.get("path") or "")
        if is_api_path(path):
            return self._resolver("api").resolve(event, context)
        if is_staff_path(path):
            return with_staff_headers(self._resolver("staff").resolve(event, context))
        return self.pages.resolve(event, context)


def build_app(portal: PortalSource, *, environment_name: str = "dev", staff: StaffSource = None) -> PortalApp:
    """The whole portal, wired to ``portal`` (a Portal, or a function of the portal's public base URL
    returning one), with the staff console under /staff when ``staff`` gives one (without it, /staff
    answers 503 "staff console not configured")."""
    from arcollect.portal.web import pages, plan_pages

    def resolver(register: Callable[[Web], None], **options: Any) -> PortalResolver:
        app = PortalResolver(**options)
        register(Web(app=app, source=portal, environment_name=environment_name))
        return app

    def customer_pages(web: Web) -> None:
        _static_routes(web.app)
        _health(web)
        pages.register(web)
        plan_pages.register_pages(web)
        _errors(web)

    def staff_console(web: Web) -> None:
        console = staff() if callable(staff) else staff
        if console is not None:
            console.register(web)

        def staff_not_found() -> Response[str]:
            return _no_console(web) if console is None else console.not_found_page(web)

        _errors(web, staff_not_found=staff_not_found)

    def api(web: Web) -> None:
        from arcollect.portal.web import api, plan_api

        api.register(web)
        plan_api.register_api(web)
        _openapi(web.app)
        _errors(web)

    return PortalApp(
        resolver(customer_pages),
        lambda: resolver(staff_console),
        lambda: resolver(api, enable_validation=True),
    )


def _health(web: Web) -> None:
    @web.app.get("/health", include_in_schema=False)
    def health() -> Response[Any]:
        return Response(
            status_code=200,
            content_type=content_types.APPLICATION_JSON,
            body={"status": "ok", "environment": web.environment_name},
        )


def _static_routes(app: PortalResolver) -> None:
    @app.get("/static/<name>", include_in_schema=False)
    def static(name: str) -> Response[str]:
        asset = static_asset(name)
        if asset is None:
            raise NotFound(name)
        return Response(
            status_code=200,
            content_type=asset.content_type,
            body=asset.body,
            headers={"Cache-Control": STATIC_CACHE},
        )

    @app.get("/static/swagger-ui/<name>", include_in_schema=False)
    def swagger_asset(name: str) -> Response[str]:
        content_type = SWAGGER_ASSETS.get(name)
        if content_type is None:
            raise NotFound(name)
        return Response(
            status_code=200,
            content_type=content_type,
            body=_swagger_file(name),
            headers={"Cache-Control": SWAGGER_ASSET_CACHE},
        )


_swagger_files: dict[str, str] = {}


def _swagger_file(name: str) -> str:
    if name not in _swagger_files:
        _swagger_files[name] = (SWAGGER_ASSETS_DIR / name).read_text(encoding="utf-8")
    return _swagger_files[name]


def swagger_csp(html: str) -> str:
    """The CSP for Powertools' Swagger page: its files from 'self', and only its own inline bootstrap
    script, allowed by hash (no 'unsafe-inline')."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(html)
    )
    return (
        f"default-src 'none'; script-src 'self' {hashes}; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )


def _swagger_headers(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    response: Response[Any] = next_middleware(app)
    content_type = response.headers.get("Content-Type", "")
    if isinstance(response.body, str) and str(content_type).startswith("text/html"):
        response.headers["Content-Security-Policy"] = swagger_csp(response.body)
    return response


def _openapi(app: PortalResolver) -> None:
    description = (
        "The customer self-service portal as JSON. Authenticate by exchanging the token from an email "
        "link at POST /api/v1/session (it sets the arc_session cookie); send the csrf_token from GET "
        "/api/v1/account as the X-CSRF-Token header on every POST and PUT."
    )

    def servers() -> list[Any]:
        from aws_lambda_powertools.event_handler.openapi.models import Server

        return [Server(url=app._get_base_path() or "/")]

    app.enable_swagger(
        path=DOCS_PATH,
        title=API_TITLE,
        version=API_VERSION,
        description=description,
        swagger_base_url=SWAGGER_BASE_URL,
        middlewares=[_swagger_headers],
    )

    @app.get(OPENAPI_PATH, include_in_schema=False)
    def openapi_document() -> Response[str]:
        return Response(
            status_code=200,
            content_type=content_types.APPLICATION_JSON,
            body=app.get_openapi_json_schema(
                title=API_TITLE, version=API_VERSION, description=description, servers=servers()
            ),
        )


def _errors(web: Web, *, staff_not_found: Callable[[], Response[str]] | None = None) -> None:
    # Powertools' exception_handler is unannotated: register by call, so the handlers stay typed.
    handles: Any = web.app.exception_handler

    def api_error(error: ApiError) -> Response[Any]:
        return web.json_error(error.status, error.message, error.field)

    def validation_error(error: RequestValidationError) -> Response[Any]:
        problems = error.errors()
        first = problems[0] if problems else {}
        if first.get("type") == "json_invalid":
            return web.json_error(400, "the request body is not valid JSON")
        location = [
            str(part)
            for part in first.get("loc", ())
            if part not in ("body", "query", "path") and not isinstance(part, int)
        ]
        field = ".".join(location) or None
        return web.json_error(400, str(first.get("msg", "invalid request")), field)

    def page_redirect(redirect: PageRedirect) -> Response[Any]:
        return web.redirect(redirect.location)

    def csrf_rejected(_: CsrfRejected) -> Response[Any]:
        if web.is_api():
            return web.json_error(403, "missing or wrong X-CSRF-Token header", "X-CSRF-Token")
        return web.message(
            403,
            "This form has expired",
            "For your security we could not accept this form. Go back, reload the page and try again.",
            back=("/account", "Back to your account"),
        )

    def not_found_error(_: NotFound) -> Response[Any]:
        if web.is_api():
            return web.json_error(404, "not found")
        return _not_found_page(web)

    def rate_limited(_: RateLimited) -> Response[Any]:
        if web.is_api():
            return web.json_error(429, "too many requests; try again in an hour")
        return web.message(
            429,
            "Too many requests",
            "We have sent several links recently. Please wait an hour, then try again, or open the link "
            "in the most recent email we sent you.",
        )

    def input_error(error: PortalInputError) -> Response[Any]:
        if web.is_api():
            return web.json_error(400, error.message, error.field)
        return web.message(
            400, "We could not do that", error.message, back=("/account", "Back to your account")
        )

    handles(ApiError)(api_error)
    handles(RequestValidationError)(validation_error)
    handles(PageRedirect)(page_redirect)
    handles(CsrfRejected)(csrf_rejected)
    handles(NotFound)(not_found_error)
    handles(RateLimited)(rate_limited)
    handles(PortalInputError)(input_error)

    @web.app.not_found
    def not_found(_: Exception) -> Response[Any]:
        path = web.event.path
        if staff_not_found is not None and is_staff_path(path):
            return staff_not_found()
        if web.is_api():
            return web.json_error(404, "no such endpoint")
        return _not_found_page(web)


def _no_console(web: Web) -> Response[str]:
    """Every path under /staff when the deployment has no staff user pool."""
    return staff_message(
        web,
        503,
        "Staff console not configured",
        "The staff console is not configured for this deployment: it has no staff user pool.",
        "An administrator sets STAFF_USER_POOL_ID and STAFF_CLIENT_ID on the portal function to "
        "switch it on.",
    )


def _not_found_page(web: Web) -> Response[str]:
    return web.message(
        404,
        "Page not found",
        f"There is no page at {web.event.path}.",
        "To see your account, open the link in the most recent email we sent you.",
    )


__all__ = [
    "DOCS_PATH",
    "OPENAPI_PATH",
    "PortalApp",
    "build_app",
]
