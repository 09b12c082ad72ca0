"""The EventBridge envelope the scheduled ticks and SES's events arrive in, read without pydantic.

Powertools' parser models would validate the same three fields, but importing pydantic for them cost
the dunning and reports functions about 70 ms of every cold start (``make bench``). The fields read
here are the ones the functions use; anything malformed is refused with what and where.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from arcollect.clock import InvalidInstant, parse_instant


class MalformedEvent(ValueError):
    """An event that is not an EventBridge event: which field, and what was wrong with it."""


@dataclass(frozen=True)
class EventEnvelope:
    """``source``, ``time`` (aware, UTC) and ``detail`` of an EventBridge event."""

    source: str
    detail_type: str
    time: datetime
    detail: Mapping[str, Any]


def read_eventbridge(event: Mapping[str, Any]) -> EventEnvelope:
    """The envelope of ``event``; raises ``MalformedEvent`` naming the first field that is missing or
    of the wrong kind."""
    if not isinstance(event, Mapping):
        raise MalformedEvent(f"an EventBridge event is a JSON object, not {type(event).__name__}")
    source = event.get("source")
    if not isinstance(source, str) or not source:
        raise MalformedEvent("EventBridge event: 'source' is missing or not text")
    detail_type = event.get("detail-type", "")
    if not isinstance(detail_type, str):
        raise MalformedEvent("EventBridge event: 'detail-type' is not text")
    detail = event.get("detail", {})
    if not isinstance(detail, Mapping):
        raise MalformedEvent("EventBridge event: 'detail' is not an object")
    raw_time = event.get("time")
    if not isinstance(raw_time, str):
        raise MalformedEvent("EventBridge event: 'time' is missing or not text")
    try:
        time = parse_instant(raw_time, what="EventBridge event 'time'")
    except InvalidInstant as error:
        raise MalformedEvent(str(error)) from error
    return EventEnvelope(source=source, detail_type=detail_type, time=time, detail=detail)
