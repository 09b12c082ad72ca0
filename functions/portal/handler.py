"""Portal: API Gateway REST proxy -> here. Routes stay thin; pages and rules live in arcollect.portal."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from arcollect.observability import logger, metrics, tracer
from arcollect.portal.pages import SECURITY_HEADERS, home_page, not_found_page
from arcollect.settings import get_settings

settings = get_settings()
app = APIGatewayRestResolver()


def _html(status: int, body: str) -> Response[str]:
    return Response(
        status_code=status, content_type=content_types.TEXT_HTML, body=body, headers=SECURITY_HEADERS
    )


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


@app.not_found
def not_found(_: Exception) -> Response[str]:
    return _html(404, not_found_page(app.current_event.path))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
