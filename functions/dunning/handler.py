"""Dunning: the hourly tick, the per-customer work it fans out, SES email events, and previews.

Events, by shape:
- an EventBridge Scheduler tick: its ``time`` is the sweep's "now";
- SQS records from the dunning queue: one customer's work each (partial failures are reported);
- EventBridge events from ``aws.ses``: bounces, complaints, deliveries... of our configuration set;
- EventBridge events from ``aws.sms-voice``: the delivery status of our reminder texts;
- ``{"action": "preview", "at": "<ISO 8601>"[, "policy": "<draft policy text>"]}`` (a direct invocation):
  what a sweep would do (under the draft, if given), no writes (and whether the freshness hold holds it);
- ``{"action": "digest", "at": "<ISO 8601>"}``: the day's digests now (DIGEST_HOUR_UTC's tick sends them).
The invocation's ``at`` (its wire name) is ``now`` from here down, as a tick's ``time`` is
(docs/architecture.md, "The "now" convention"). The wiring and its use cases: arcollect/app/dunning.py.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from arcollect.app.dunning import build_dunning
from arcollect.clock import parse_instant
from arcollect.events import read_eventbridge
from arcollect.observability import logger, metrics, tracer
from arcollect.settings import get_settings

app = build_dunning(get_settings())


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if isinstance(event.get("Records"), list):
        return app.work(event["Records"])
    if event.get("action") in ("preview", "digest"):
        now = parse_instant(str(event.get("at") or ""), what="at")
        return app.preview(now, event.get("policy")) if event["action"] == "preview" else app.digests(now)
    return app.on_event(read_eventbridge(event))
