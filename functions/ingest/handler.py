"""Ingest: S3 ObjectCreated under incoming/ -> SQS -> here; also the chunks of large files, which this
function sends back to its own queue so they load in parallel. Each record goes through Powertools'
batch utilities (a record that fails comes back, then the DLQ); the wiring and the use case it calls
are in arcollect/app/ingest.py."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext

from arcollect.app.ingest import build_ingest
from arcollect.observability import logger, metrics, tracer
from arcollect.settings import get_settings

app = build_ingest(get_settings())


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(
        event=event, record_handler=app.record_handler, processor=app.processor, context=context
    )
