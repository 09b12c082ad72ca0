"""When a reminder email may go out: the customer's local send window, weekends and public holidays.

Everything here is pure: instants come in as aware datetimes and go out as UTC; nothing reads the clock.

Local times that a DST change makes odd are resolved by one rule: a local wall time ``n`` on a day means
*the earliest instant at which the local clock shows ``n`` or later*. So

* a time that does not exist (02:30 on spring-forward day in New York) is the instant the clock jumps
  (03:00 EDT), the first valid instant after it;
* a time that happens twice (01:30 on fall-back day in New York) is its first occurrence (EDT).

The rule is monotonic, so a day's window ``[start, end)`` never overlaps the next day's.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    import holidays

__all__ = ["Calendar", "SendWindow", "WindowError", "local_today", "resolve_zone"]

#: How far ``next_opening`` looks ahead before it gives up (a year of holidays plus slack).
MAX_SCAN_DAYS = 400

_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DAY_KEYS: dict[str, int] = {
    **{name[:3].lower(): number for number, name in enumerate(_DAY_NAMES)},
    **{name.lower(): number for number, name in enumerate(_DAY_NAMES)},
}
_TIME_TEXT = re.compile(r"(\d{1,2}):(\d{2})")
_WINDOW_KEYS = ("days", "start", "end")
# Names zoneinfo resolves that are not a place: they depend on the host or mean "no zone".
_NOT_A_PLACE = frozenset({"localtime", "posixrules", "Factory"})


class WindowError(ValueError):
    """A send window that cannot be used: bad policy text, an impossible window, no send day in reach."""


def _hhmm(value: time) -> str:
    return value.strftime("%H:%M:%S" if value.second or value.microsecond else "%H:%M")


@dataclass(frozen=True)
class SendWindow:
    """The local hours on which reminders may go out: ``start`` inclusive, ``end`` exclusive, same day."""

    weekdays: frozenset[int] = field(default=frozenset({0, 1, 2, 3, 4}))  # Monday = 0
    start: time = time(9)
    end: time = time(11)

    def __post_init__(self) -> None:
        weekdays = frozenset(self.weekdays)
        object.__setattr__(self, "weekdays", weekdays)
        bad = sorted(day for day in weekdays if not isinstance(day, int) or not 0 <= day <= 6)
        if bad:
            raise WindowError(f"weekdays must be 0 (Monday) to 6 (Sunday), got {bad}")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise WindowError("start and end are local wall times and must not carry a time zone")
        if self.end <= self.start:
            raise WindowError(
                f"end {_hhmm(self.end)} must be after start {_hhmm(self.start)} (no overnight windows)"
            )

    @classmethod
    def parse(cls, data: Mapping[str, object], where: str) -> SendWindow:
        """Read ``{"days": ["mon", ...], "start": "09:00", "end": "11:00"}``; missing keys keep defaults."""
        if not isinstance(data, Mapping):
            raise WindowError(f"{where}: expected a mapping with {', '.join(_WINDOW_KEYS)}, got {data!r}")
        unknown = sorted(str(key) for key in data if key not in _WINDOW_KEYS)
        if unknown:
            raise WindowError(f"{where}: unknown key(s) {unknown}; expected {', '.join(_WINDOW_KEYS)}")
        default = cls()
        weekdays = _parse_days(data["days"], where) if "days" in data else default.weekdays
        start = _parse_time(data["start"], f"{where}.start") if "start" in data else default.start
        end = _parse_time(data["end"], f"{where}.end") if "end" in data else default.end
        try:
            return cls(weekdays=weekdays, start=start, end=end)
        except WindowError as error:
            raise WindowError(f"{where}: {error}") from None


def _parse_days(value: object, where: str) -> frozenset[int]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise WindowError(f"{where}.days: expected a list of day names such as [mon, tue], got {value!r}")
    days: set[int] = set()
    for item in value:
        number = _DAY_KEYS.get(item.strip().lower()) if isinstance(item, str) else None
        if number is None:
            raise WindowError(
                f"{where}.days: {item!r} is not a day name; use mon, tue, wed, thu, fri, sat, sun"
            )
        days.add(number)
    if not days:
        raise WindowError(f"{where}.days: name at least one day")
    return frozenset(days)


def _parse_time(value: object, where: str) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        # PyYAML (YAML 1.1) reads unquoted 9:00 or 11:00 as a base-60 number: 540, 660.
        raise WindowError(
            f"{where}: got the number {value}; YAML reads an unquoted time such as 11:00 as a number, "
            'so quote it: "11:00"'
        )
    if not isinstance(value, str):
        raise WindowError(f'{where}: expected a time such as "09:00", got {value!r}')
    match = _TIME_TEXT.fullmatch(value.strip())
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise WindowError(f'{where}: {value!r} is not a time of day as HH:MM, such as "09:00"')
    return time(int(match[1]), int(match[2]))


def _zone(name: str) -> ZoneInfo | None:
    if name in _NOT_A_PLACE:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # ValueError: a path such as "../x" or "/etc/x"
        return None


def resolve_zone(name: str | None, fallback: str = "UTC") -> tuple[ZoneInfo, str | None]:
    """The customer's IANA zone, else ``fallback``; the second item says what was wrong, None if nothing.

    ``None`` (no zone recorded) quietly takes the fallback. An invalid fallback falls back to UTC.
    """
    problem: str | None = None
    if name is not None:
        zone = _zone(name.strip()) if isinstance(name, str) else None
        if zone is not None:
            return zone, None
        problem = f"unknown time zone {name!r}; using {fallback}"
    zone = _zone(fallback.strip())
    if zone is not None:
        return zone, problem
    fallback_problem = f"unknown fallback time zone {fallback!r}; using UTC"
    return ZoneInfo("UTC"), fallback_problem if problem is None else f"{problem}; {fallback_problem}"


def local_today(zone_name: str | None, at: datetime, fallback: str = "UTC") -> date:
    """A customer's local today: the date at the instant ``at`` in their zone ``zone_name`` (resolved as
    ``resolve_zone`` does, ``fallback`` when it is missing or unknown)."""
    zone, _ = resolve_zone(zone_name, fallback)
    return at.astimezone(zone).date()


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{at!r} is naive; pass an aware datetime")
    return at.astimezone(UTC)


def _local_naive(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def _local_to_utc(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The earliest instant at which the clock in ``zone`` shows ``wall`` on ``day`` or later (UTC)."""
    naive = datetime.combine(day, wall)
    guesses = [naive.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)]
    exact = [guess for guess in guesses if _local_naive(guess, zone) == naive]
    if exact:
        return min(exact)  # ambiguous: the first occurrence

    # In a gap: the clock jumps over ``naive`` between the two guesses. Bisect on whole seconds (tz
    # transitions fall on whole seconds) for the first instant whose wall time is ``naive`` or later.
    def reached(second: int) -> bool:
        return _local_naive(datetime.fromtimestamp(second, UTC), zone) >= naive

    low, high = math.floor(min(guesses).timestamp()), math.ceil(max(guesses).timestamp())
    if reached(low):
        return datetime.fromtimestamp(low, UTC)
    while high - low > 1:
        middle = (low + high) // 2
        if reached(middle):
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


class Calendar:
    """Public holidays per country, cached; pure (no clock).

    Countries are ISO 3166 alpha-2 codes (case and surrounding blanks ignored; the ``holidays`` package
    also accepts its aliases such as UK and alpha-3 codes). National public holidays only, no subdivision;
    names in English. An unknown country (or None) has no holidays: weekends only; ``knows`` says so.
    """

    def __init__(self) -> None:
        self._tables: dict[tuple[str, int], holidays.HolidayBase] = {}
        self._unsupported: set[str] = set()

    # -- holidays -----------------------------------------------------------------------------------------

    @staticmethod
    def _code(country: str | None) -> str | None:
        if not isinstance(country, str):
            return None
        return country.strip().upper() or None

    def _table(self, country: str | None, year: int) -> holidays.HolidayBase | None:
        code = self._code(country)
        if code is None or code in self._unsupported:
            return None
        table = self._tables.get((code, year))
        if table is None:
            # Imported on the first holiday lookup: its calendars cost a cold start about 15 ms.
            import holidays

            try:
                # expand=False: a lookup outside ``year`` must not silently grow the cached table;
                # language="en_US": otherwise names follow the process locale (LANG).
                table = holidays.country_holidays(code, years=year, expand=False, language="en_US")
            except NotImplementedError:  # "Country XX not available"
                self._unsupported.add(code)
                return None
            self._tables[(code, year)] = table
        return table

    def knows(self, country: str | None) -> bool:
        """False for None or a country the holidays package does not cover (then: weekends only)."""
        code = self._code(country)
        if code is None or code in self._unsupported:
            return False
        if any(key[0] == code for key in self._tables):
            return True
        return self._table(code, 2000) is not None

    def holiday_name(self, day: date, country: str | None) -> str | None:
        """The public holiday's name (several joined by "; "), None on a working day or unknown country."""
        table = self._table(country, day.year)
        if table is None:
            return None
        name = table.get(day)
        return None if name is None else str(name)

    def is_holiday(self, day: date, country: str | None) -> bool:
        return self.holiday_name(day, country) is not None

    def is_send_day(self, day: date, country: str | None, window: SendWindow) -> bool:
        return day.weekday() in window.weekdays and not self.is_holiday(day, country)

    # -- instants -----------------------------------------------------------------------------------------

    def day_start(self, day: date, zone: ZoneInfo) -> datetime:
        """00:00 local of ``day`` as UTC; if midnight does not exist that day, the first instant after it."""
        return _local_to_utc(day, time(0), zone)

    def _window_on(self, day: date, zone: ZoneInfo, window: SendWindow) -> tuple[datetime, datetime]:
        return _local_to_utc(day, window.start, zone), _local_to_utc(day, window.end, zone)

    def is_open(self, at: datetime, zone: ZoneInfo, country: str | None, window: SendWindow) -> bool:
        instant = _aware(at)
        local_day = instant.astimezone(zone).date()
        for offset in (-1, 0, 1):  # a fold across midnight can put ``at`` in a neighbouring day's window
            day = local_day + timedelta(days=offset)
            if self.is_send_day(day, country, window):
                start, end = self._window_on(day, zone, window)
                if start <= instant < end:
                    return True
        return False

    def next_opening(self, at: datetime, zone: ZoneInfo, country: str | None, window: SendWindow) -> datetime:
        """``at`` (UTC) if the window is open then, else the start of the next window on a send day (UTC).

        Raises WindowError when no send day falls within MAX_SCAN_DAYS (e.g. a window with no weekdays).
        """
        instant = _aware(at)
        day = instant.astimezone(zone).date() - timedelta(days=1)
        try:
            for _ in range(MAX_SCAN_DAYS + 2):
                if self.is_send_day(day, country, window):
                    start, end = self._window_on(day, zone, window)
                    if instant < end and start < end:
                        return max(start, instant)
                day += timedelta(days=1)
        except OverflowError:
            pass
        raise WindowError(
            f"no send day within {MAX_SCAN_DAYS} days of {instant.isoformat()} "
            f"(days {sorted(window.weekdays)}, country {country!r})"
        )

    def why_closed(self, at: datetime, zone: ZoneInfo, country: str | None, window: SendWindow) -> str | None:
        """None when open, else why not: the local day is off, a public holiday, or outside the hours."""
        if self.is_open(at, zone, country, window):
            return None
        day = _aware(at).astimezone(zone).date()
        if day.weekday() not in window.weekdays:
            return f"weekend ({_DAY_NAMES[day.weekday()]})"
        name = self.holiday_name(day, country)
        if name is not None:
            return f"public holiday: {name} ({self._code(country)})"
        return f"outside {_hhmm(window.start)}-{_hhmm(window.end)} {zone}"
