"""Time: every entry point takes "now" from its event; nothing in the domain reads the wall clock."""

from __future__ import annotations

from datetime import UTC, date, datetime


class InvalidInstant(ValueError):
    """A timestamp in an event or a command line that is not an ISO-8601 instant."""


def parse_instant(value: str, *, what: str = "time") -> datetime:
    """Parse an ISO-8601 instant (``Z`` or an offset) into an aware UTC datetime."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as error:
        raise InvalidInstant(f"{what} {value!r} is not an ISO-8601 timestamp") from error
    if parsed.tzinfo is None:
        raise InvalidInstant(f"{what} {value!r} has no time zone; add Z or an offset such as +00:00")
    return parsed.astimezone(UTC)


def format_instant(value: datetime) -> str:
    """UTC ISO-8601 with a ``Z``, second precision: the form stored in the table and sorted by it."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_instant_ms(value: datetime) -> str:
    """UTC ISO-8601 with a ``Z``, to the millisecond: for instants compared finer than a second (when a
    customer's links were revoked)."""
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def anniversary_in(since: date, year: int) -> date:
    """The anniversary of ``since`` in ``year`` (29 February falls on 28 February in common years)."""
    try:
        return since.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def next_anniversary(since: date, on_or_after: date) -> date:
    """The first anniversary of ``since`` on or after ``on_or_after``."""
    candidate = anniversary_in(since, on_or_after.year)
    return candidate if candidate >= on_or_after else anniversary_in(since, on_or_after.year + 1)
