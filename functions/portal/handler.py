"""Portal: API Gateway REST proxy -> here. Routes stay thin; pages and rules live in arcollect.portal."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from arcollect.observability import logger, metrics, tracer
from arcollect.portal.account import account_summary
from arcollect.portal.links import LinkExpired, LinkInvalid, verify_token
from arcollect.portal.pages import (
    SECURITY_HEADERS,
    account_page,
    home_page,
    link_problem_page,
    not_found_page,
)
from arcollect.settings import get_settings
from arcollect.store import bind_table
from arcollect.store.repositories import Customers, Invoices
from arcollect.store.secrets import link_signing_key

settings = get_settings()
bind_table(settings.require("table_name"))
app = APIGatewayRestResolver()
customers = Customers()
invoices = Invoices()


def _html(status: int, body: str) -> Response[str]:
    return Response(
        status_code=status, content_type=content_types.TEXT_HTML, body=body, headers=SECURITY_HEADERS
    )


def _request_time() -> datetime:
    """ "Now" is when API Gateway received the request."""
    epoch_ms = app.current_event.request_context.request_time_epoch
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)


@app.get("/health")
def health() -> Response[Any]:
    return Response(
        status_code=200,
        content_type=content_types.APPLICATION_JSON,
        body={"status": "ok", "environment": settings.environment_name},
        headers=SECURITY_HEADERS,
    )


@app.get("/")
def home() -> Response[str]:
    return _html(200, home_page())


@app.get("/l/<token>")
def link(token: str) -> Response[str]:
    now = _request_time()
    try:
        customer_id = verify_token(token, key=link_signing_key(settings.require("link_secret_arn")), now=now)
    except (LinkInvalid, LinkExpired) as problem:
        return _html(403 if isinstance(problem, LinkInvalid) else 410, link_problem_page(str(problem)))
    summary = account_summary(customer_id, customers=customers, invoices=invoices, today=now.date())
    if summary is None:
        return _html(404, not_found_page(app.current_event.path))
    return _html(200, account_page(summary, today=now.date()))


@app.not_found
def not_found(_: Exception) -> Response[str]:
    return _html(404, not_found_page(app.current_event.path))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
