"""Send windows: local hours, weekends, public holidays, DST changes; no wall clock anywhere."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arcollect.calendar import Calendar, SendWindow, WindowError, resolve_zone

DEFAULT = SendWindow()
EVERY_DAY = frozenset(range(7))
LONDON = ZoneInfo("Europe/London")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def calendar() -> Calendar:
    return Calendar()


# -- window edges ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (datetime(2026, 11, 24, 8, 59, 59), False),
        (datetime(2026, 11, 24, 9, 0), True),  # start inclusive
        (datetime(2026, 11, 24, 10, 59, 59, 999999), True),
        (datetime(2026, 11, 24, 11, 0), False),  # end exclusive
        (datetime(2026, 11, 24, 23, 0), False),
    ],
)
def test_window_edges(calendar: Calendar, local: datetime, expected: bool) -> None:
    # Given a Tuesday in Berlin and the default 09:00-11:00 window
    at = local.replace(tzinfo=BERLIN)
    # When asked whether it is open / Then start is inclusive and end exclusive
    assert calendar.is_open(at, BERLIN, "DE", DEFAULT) is expected
    assert (calendar.why_closed(at, BERLIN, "DE", DEFAULT) is None) is expected


@pytest.mark.parametrize("day", [date(2026, 11, 28), date(2026, 11, 29)])
def test_weekend_is_closed(calendar: Calendar, day: date) -> None:
    # Given a Saturday or Sunday at 10:00 local
    at = datetime.combine(day, time(10), LONDON)
    # When / Then it is closed, and the reason names the day
    assert not calendar.is_open(at, LONDON, "GB", DEFAULT)
    assert calendar.why_closed(at, LONDON, "GB", DEFAULT) == f"weekend ({day:%A})"
    assert not calendar.is_send_day(day, "GB", DEFAULT)


def test_weekend_follows_the_window_days(calendar: Calendar) -> None:
    # Given a window that sends Sunday to Thursday
    window = SendWindow(weekdays=frozenset({6, 0, 1, 2, 3}))
    # When / Then Sunday is a send day and Friday is not
    assert calendar.is_send_day(date(2026, 11, 29), None, window)
    assert not calendar.is_send_day(date(2026, 11, 27), None, window)


def test_why_closed_outside_hours(calendar: Calendar) -> None:
    # Given a working Tuesday in London at 12:00
    at = datetime(2026, 11, 24, 12, 0, tzinfo=LONDON)
    # When / Then
    assert calendar.why_closed(at, LONDON, "GB", DEFAULT) == "outside 09:00-11:00 Europe/London"


# -- public holidays ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "day", "name"),
    [
        ("US", date(2026, 11, 26), "Thanksgiving Day"),
        ("US", date(2026, 7, 3), "Independence Day (observed)"),
        ("DE", date(2026, 12, 25), "Christmas Day"),
        ("DE", date(2026, 12, 26), "Second Day of Christmas"),
        ("GB", date(2026, 12, 26), "Boxing Day"),
        ("GB", date(2026, 12, 28), "Boxing Day (observed)"),
        ("FR", date(2026, 7, 14), "National Day"),
        ("JP", date(2026, 11, 23), "Labor Thanksgiving Day"),
        ("JP", date(2026, 5, 6), "Substitute Holiday"),
        (" gb ", date(2026, 12, 25), "Christmas Day"),  # case and blanks ignored
    ],
)
def test_public_holidays(calendar: Calendar, country: str, day: date, name: str) -> None:
    # Given a country's public holiday
    # When asked / Then it is a holiday by name (English, whatever the process locale) and not a send day
    assert calendar.is_holiday(day, country)
    assert calendar.holiday_name(day, country) == name
    assert not calendar.is_send_day(day, country, DEFAULT)


@pytest.mark.parametrize(
    ("country", "day"),
    [
        ("US", date(2026, 11, 27)),
        ("DE", date(2026, 12, 28)),
        ("GB", date(2026, 12, 29)),
        ("FR", date(2026, 7, 15)),
    ],
)
def test_working_days_are_not_holidays(calendar: Calendar, country: str, day: date) -> None:
    # Given an ordinary working day / When asked / Then it is a send day
    assert not calendar.is_holiday(day, country)
    assert calendar.holiday_name(day, country) is None
    assert calendar.is_send_day(day, country, DEFAULT)


def test_why_closed_names_the_holiday(calendar: Calendar) -> None:
    # Given Christmas Day 2026 (a Friday) in London at 10:00
    at = datetime(2026, 12, 25, 10, 0, tzinfo=LONDON)
    # When / Then
    assert calendar.why_closed(at, LONDON, "gb", DEFAULT) == "public holiday: Christmas Day (GB)"


def test_holiday_on_a_weekend_reports_the_weekend(calendar: Calendar) -> None:
    # Given Boxing Day 2026, a Saturday
    at = datetime(2026, 12, 26, 10, 0, tzinfo=LONDON)
    # When / Then the weekend wins
    assert calendar.why_closed(at, LONDON, "GB", DEFAULT) == "weekend (Saturday)"


@pytest.mark.parametrize("country", [None, "", "XX", "ZZ", "not a country"])
def test_unknown_country_means_weekends_only(calendar: Calendar, country: str | None) -> None:
    # Given a country the holidays package does not know (or none)
    # When asked about Christmas Day, a Friday / Then no holiday, no crash, and knows() says so
    assert not calendar.knows(country)
    assert not calendar.is_holiday(date(2026, 12, 25), country)
    assert calendar.is_send_day(date(2026, 12, 25), country, DEFAULT)
    assert not calendar.is_send_day(date(2026, 12, 26), country, DEFAULT)
    at = datetime(2026, 12, 25, 9, 0, tzinfo=LONDON)
    assert calendar.next_opening(at, LONDON, country, DEFAULT) == at


@pytest.mark.parametrize("country", ["US", "de", "GB", "FR", "JP"])
def test_known_countries(calendar: Calendar, country: str) -> None:
    assert calendar.knows(country)


def test_tables_are_cached_per_country_and_year(calendar: Calendar) -> None:
    # Given lookups across two years
    for day in (date(2026, 1, 1), date(2026, 12, 25), date(2027, 1, 1)):
        calendar.is_holiday(day, "DE")
    # When / Then one table per (country, year), and a cached table did not grow into other years
    tables = calendar._tables
    assert sorted(tables) == [("DE", 2026), ("DE", 2027)]
    assert {day.year for day in tables[("DE", 2026)]} == {2026}


# -- next_opening ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "country", "at", "expected"),
    [
        # Friday afternoon => Monday 09:00 local
        (LONDON, "GB", datetime(2026, 11, 27, 14, 0), datetime(2026, 11, 30, 9, 0)),
        # open now => now
        (LONDON, "GB", datetime(2026, 11, 27, 10, 15), datetime(2026, 11, 27, 10, 15)),
        # before the window => today 09:00
        (LONDON, "GB", datetime(2026, 11, 27, 6, 0), datetime(2026, 11, 27, 9, 0)),
        # the day before a holiday => the day after it
        (NEW_YORK, "US", datetime(2026, 11, 25, 12, 0), datetime(2026, 11, 27, 9, 0)),
        (BERLIN, "DE", datetime(2026, 12, 24, 12, 0), datetime(2026, 12, 28, 9, 0)),
        (LONDON, "GB", datetime(2026, 12, 24, 12, 0), datetime(2026, 12, 29, 9, 0)),
        (ZoneInfo("Europe/Paris"), "FR", datetime(2026, 7, 13, 12, 0), datetime(2026, 7, 15, 9, 0)),
        (ZoneInfo("Asia/Tokyo"), "JP", datetime(2026, 5, 1, 12, 0), datetime(2026, 5, 7, 9, 0)),
    ],
)
def test_next_opening(
    calendar: Calendar, zone: ZoneInfo, country: str, at: datetime, expected: datetime
) -> None:
    # Given a local instant / When the next opening is asked
    opening = calendar.next_opening(at.replace(tzinfo=zone), zone, country, DEFAULT)
    # Then it is the expected local time, returned in UTC
    assert opening.tzinfo is UTC
    assert opening == expected.replace(tzinfo=zone)


@pytest.mark.parametrize(
    ("zone", "friday", "friday_utc", "monday_utc"),
    [
        (BERLIN, date(2026, 3, 27), utc(2026, 3, 27, 8), utc(2026, 3, 30, 7)),
        (BERLIN, date(2026, 10, 23), utc(2026, 10, 23, 7), utc(2026, 10, 26, 8)),
        (NEW_YORK, date(2026, 3, 6), utc(2026, 3, 6, 14), utc(2026, 3, 9, 13)),
        (NEW_YORK, date(2026, 10, 30), utc(2026, 10, 30, 13), utc(2026, 11, 2, 14)),
        (SYDNEY, date(2026, 4, 3), utc(2026, 4, 2, 22), utc(2026, 4, 5, 23)),
        (SYDNEY, date(2026, 10, 2), utc(2026, 10, 1, 23), utc(2026, 10, 4, 22)),
    ],
)
def test_dst_change_keeps_local_opening(
    calendar: Calendar, zone: ZoneInfo, friday: date, friday_utc: datetime, monday_utc: datetime
) -> None:
    # Given a Friday before a weekend with a DST change, at 08:00 local
    at = datetime.combine(friday, time(8), zone)
    # When the next openings on Friday and after it are asked
    first = calendar.next_opening(at, zone, None, DEFAULT)
    second = calendar.next_opening(first + timedelta(hours=2), zone, None, DEFAULT)
    # Then both open at 09:00 local, while the UTC instant moves by an hour
    assert (first, second) == (friday_utc, monday_utc)
    assert first.astimezone(zone).time() == second.astimezone(zone).time() == time(9)
    assert abs((second - first) - timedelta(days=3)) == timedelta(hours=1)


def test_window_starting_at_a_nonexistent_time(calendar: Calendar) -> None:
    # Given 02:30-04:00 every day; 02:30 does not exist on 2026-03-08 in New York (02:00 EST -> 03:00 EDT)
    window = SendWindow(weekdays=EVERY_DAY, start=time(2, 30), end=time(4))
    at = datetime(2026, 3, 8, 0, 0, tzinfo=NEW_YORK)
    # When the next opening is asked
    opening = calendar.next_opening(at, NEW_YORK, None, window)
    # Then it is the first valid instant after 02:30: the jump itself, 03:00 EDT
    assert opening == utc(2026, 3, 8, 7, 0)
    assert opening.astimezone(NEW_YORK).time() == time(3)
    assert not calendar.is_open(opening - timedelta(microseconds=1), NEW_YORK, None, window)
    assert calendar.is_open(utc(2026, 3, 8, 7, 59), NEW_YORK, None, window)
    assert not calendar.is_open(utc(2026, 3, 8, 8, 0), NEW_YORK, None, window)  # 04:00 EDT


def test_window_starting_at_an_ambiguous_time(calendar: Calendar) -> None:
    # Given 01:30-03:00 every day; 01:30 happens twice on 2026-11-01 in New York (EDT, then EST)
    window = SendWindow(weekdays=EVERY_DAY, start=time(1, 30), end=time(3))
    at = datetime(2026, 11, 1, 0, 0, tzinfo=NEW_YORK)
    # When the next opening is asked
    opening = calendar.next_opening(at, NEW_YORK, None, window)
    # Then it is the first occurrence (01:30 EDT = 05:30 UTC) and the window runs until 03:00 EST
    assert opening == utc(2026, 11, 1, 5, 30)
    assert calendar.is_open(utc(2026, 11, 1, 6, 30), NEW_YORK, None, window)  # 01:30 EST, second pass
    assert calendar.is_open(utc(2026, 11, 1, 7, 59), NEW_YORK, None, window)
    assert not calendar.is_open(utc(2026, 11, 1, 8, 0), NEW_YORK, None, window)


def test_window_ending_at_an_ambiguous_time_ends_at_its_first_occurrence(calendar: Calendar) -> None:
    # Given 00:30-01:30 on fall-back day in New York
    window = SendWindow(weekdays=EVERY_DAY, start=time(0, 30), end=time(1, 30))
    # When / Then the window closes at the first 01:30 (EDT) and stays closed through the second hour
    assert calendar.is_open(utc(2026, 11, 1, 5, 29), NEW_YORK, None, window)
    assert not calendar.is_open(utc(2026, 11, 1, 5, 30), NEW_YORK, None, window)
    assert not calendar.is_open(utc(2026, 11, 1, 6, 0), NEW_YORK, None, window)  # 01:00 EST


@pytest.mark.parametrize(
    ("zone", "day", "expected"),
    [
        (BERLIN, date(2026, 3, 29), utc(2026, 3, 28, 23)),
        (BERLIN, date(2026, 3, 30), utc(2026, 3, 29, 22)),
        (NEW_YORK, date(2026, 11, 1), utc(2026, 11, 1, 4)),
        (NEW_YORK, date(2026, 11, 2), utc(2026, 11, 2, 5)),
        (SYDNEY, date(2026, 10, 4), utc(2026, 10, 3, 14)),
        # midnight does not exist: Santiago springs forward 00:00 -> 01:00 on 2026-09-06
        (ZoneInfo("America/Santiago"), date(2026, 9, 6), utc(2026, 9, 6, 4)),
        # a whole day that never happened in Samoa: the first instant after is 2011-12-31 00:00 local
        (ZoneInfo("Pacific/Apia"), date(2011, 12, 30), utc(2011, 12, 30, 10)),
    ],
)
def test_day_start(calendar: Calendar, zone: ZoneInfo, day: date, expected: datetime) -> None:
    # Given a local day / When its start is asked / Then it is local midnight (or the first instant after)
    start = calendar.day_start(day, zone)
    assert start == expected
    assert start.tzinfo is UTC


def test_next_opening_gives_up_without_send_days(calendar: Calendar) -> None:
    # Given a window with no weekdays / When the next opening is asked / Then it raises instead of looping
    with pytest.raises(WindowError, match="no send day"):
        calendar.next_opening(utc(2026, 1, 1), LONDON, "GB", SendWindow(weekdays=frozenset()))


def test_naive_instants_are_refused(calendar: Calendar) -> None:
    with pytest.raises(ValueError, match="naive"):
        calendar.is_open(datetime(2026, 1, 1, 10), LONDON, "GB", DEFAULT)


# -- zones -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fallback", "key", "problem"),
    [
        ("Europe/Berlin", "UTC", "Europe/Berlin", None),
        (" Australia/Sydney ", "UTC", "Australia/Sydney", None),
        (None, "UTC", "UTC", None),
        (None, "Europe/London", "Europe/London", None),
        ("Mars/Olympus_Mons", "Europe/London", "Europe/London", "unknown time zone 'Mars/Olympus_Mons'"),
        ("", "UTC", "UTC", "unknown time zone ''"),
        ("../../etc/passwd", "UTC", "UTC", "unknown time zone"),
        ("/etc/localtime", "UTC", "UTC", "unknown time zone"),
        ("localtime", "UTC", "UTC", "unknown time zone 'localtime'"),
        ("europe/berlin", "UTC", "UTC", "unknown time zone"),
        ("Mars/Olympus_Mons", "Nowhere/Else", "UTC", "unknown fallback time zone 'Nowhere/Else'"),
    ],
)
def test_resolve_zone(name: str | None, fallback: str, key: str, problem: str | None) -> None:
    # Given a zone name / When resolved / Then the zone, and what went wrong if anything (never a crash)
    zone, found = resolve_zone(name, fallback)
    assert zone.key == key
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


# -- SendWindow.parse --------------------------------------------------------------------------------------


def test_parse_full_window() -> None:
    # Given policy YAML for Sunday-Thursday 08:30-10:00
    data = {"days": ["sun", "Mon", "tuesday", "wed", "thu"], "start": "08:30", "end": "10:00"}
    # When parsed / Then
    assert SendWindow.parse(data, "policy.window") == SendWindow(
        weekdays=frozenset({6, 0, 1, 2, 3}), start=time(8, 30), end=time(10)
    )


def test_parse_empty_mapping_keeps_defaults() -> None:
    assert SendWindow.parse({}, "w") == SendWindow()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"days": ["mon", "funday"]}, "w.days: 'funday' is not a day name"),
        ({"days": "mon"}, "w.days: expected a list"),
        ({"days": []}, "w.days: name at least one day"),
        ({"days": [1]}, "w.days: 1 is not a day name"),
        ({"start": "11:00", "end": "09:00"}, "w: end 09:00 must be after start 11:00"),
        ({"start": "10:00", "end": "10:00"}, "w: end 10:00 must be after start 10:00"),
        ({"start": "9am"}, "w.start: '9am' is not a time of day"),
        ({"end": "25:00"}, "w.end: '25:00' is not a time of day"),
        ({"end": "10:60"}, "w.end: '10:60' is not a time of day"),
        ({"start": 540}, "w.start: got the number 540; YAML reads an unquoted time"),
        ({"start": None}, "w.start: expected a time"),
        ({"begin": "09:00"}, "w: unknown key(s) ['begin']"),
    ],
)
def test_parse_errors(data: dict[str, object], message: str) -> None:
    # Given bad window YAML / When parsed / Then a WindowError names where and what
    with pytest.raises(WindowError) as error:
        SendWindow.parse(data, "w")
    assert message in str(error.value)


def test_parse_rejects_a_non_mapping() -> None:
    with pytest.raises(WindowError, match=r"^w: expected a mapping"):
        SendWindow.parse(["mon"], "w")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [{"weekdays": frozenset({7})}, {"start": time(11), "end": time(9)}, {"start": time(9, tzinfo=UTC)}],
)
def test_constructor_validates(kwargs: dict[str, object]) -> None:
    with pytest.raises(WindowError):
        SendWindow(**kwargs)  # type: ignore[arg-type]


# -- property ----------------------------------------------------------------------------------------------

ZONES = [
    "UTC",
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "Australia/Sydney",
    "Australia/Lord_Howe",  # 30-minute DST shift
    "Asia/Kathmandu",
    "America/Santiago",  # transitions at midnight
    "Pacific/Chatham",
]
WINDOWS = [
    SendWindow(),
    SendWindow(weekdays=EVERY_DAY, start=time(2, 30), end=time(3)),
    SendWindow(weekdays=EVERY_DAY, start=time(1, 30), end=time(2, 15)),
    SendWindow(weekdays=frozenset({6}), start=time(0), end=time(0, 30)),
    SendWindow(weekdays=frozenset({5, 6}), start=time(22), end=time(23, 59)),
]


@settings(max_examples=150, deadline=None)
@given(
    at=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)),
    zone_name=st.sampled_from(ZONES),
    country=st.sampled_from([None, "US", "DE", "GB", "JP", "AU", "XX"]),
    window=st.sampled_from(WINDOWS),
)
def test_next_opening_is_the_first_open_instant(
    at: datetime, zone_name: str, country: str | None, window: SendWindow
) -> None:
    # Given any instant, zone, country and window
    calendar, zone = Calendar(), ZoneInfo(zone_name)
    # When the next opening is asked
    opening = calendar.next_opening(at, zone, country, window)
    # Then it is not before `at`, the window is open then, and not open at any earlier quarter hour
    assert opening >= at
    assert opening.tzinfo is UTC
    assert calendar.is_open(opening, zone, country, window)
    if opening > at:
        assert not calendar.is_open(opening - timedelta(microseconds=1), zone, country, window)
    if opening - at < timedelta(days=4):
        probe = at
        while probe < opening:
            assert not calendar.is_open(probe, zone, country, window)
            probe += timedelta(minutes=15)
