"""Portal: API Gateway REST proxy -> here. Pages, the JSON API and the rules all live in arcollect.portal;
the wiring to AWS is arcollect/app/portal.py, and this module hands every request to it."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from arcollect.app.portal import build_portal
from arcollect.observability import logger, metrics, tracer
from arcollect.settings import get_settings

app = build_portal(get_settings())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
