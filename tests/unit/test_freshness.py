"""The freshness hold's verdict: feed ages in business days of the company's calendar, as-of dates,
invoices-only companies and feeds that never delivered. Pure: no AWS, no clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time
from email import message_from_bytes, policy
from zoneinfo import ZoneInfo

import pytest

from arcollect.calendar import Calendar
from arcollect.dunning.freshness import hold_alert, hold_task
from arcollect.entities import FeedFile
from arcollect.freshness import STALE_FEED, as_of_day, business_days_after, check_feeds
from arcollect.policy import (
    SHIPPED_POLICY,
    Freshness,
    PaymentsFeed,
    PolicyError,
    parse_policy,
    shipped_policy,
)

DEFAULT = Freshness()
INVOICES_ONLY = Freshness(payments_feed=PaymentsFeed.PAID_DATES)
BERLIN = ZoneInfo("Europe/Berlin")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def dropped(kind: str, at: datetime, first: datetime | None = None) -> FeedFile:
    """A file ingested as the ERP drops it: no as-of declared, so its data is as of the drop."""
    return FeedFile(kind, f"incoming/{kind}/{at:%Y%m%d}.csv", "v1", at, at, first_as_of=first)


def declared(kind: str, day: date, received: datetime) -> FeedFile:
    """A file with ``arcollect-as-of: <day>``: ingest reads it as the end of that day (UTC)."""
    return FeedFile(
        kind, f"incoming/{kind}/{day}.csv", "v1", datetime.combine(day, time(23, 59, 59), UTC), received
    )


@pytest.fixture
def calendar() -> Calendar:
    return Calendar()


# --- business days ---------------------------------------------------------------------------------


def test_a_weekend_is_not_business_days(calendar: Calendar) -> None:
    # Given a file as of Friday 2026-11-20
    friday = date(2026, 11, 20)
    # Then it is 0 business days old over the weekend, 1 on Monday, 3 on Wednesday
    assert business_days_after(friday, date(2026, 11, 21), calendar, None) == 0
    assert business_days_after(friday, date(2026, 11, 22), calendar, None) == 0
    assert business_days_after(friday, date(2026, 11, 23), calendar, None) == 1
    assert business_days_after(friday, date(2026, 11, 25), calendar, None) == 3
    # And a day not later than the file is 0
    assert business_days_after(friday, friday, calendar, None) == 0
    assert business_days_after(friday, date(2026, 11, 19), calendar, None) == 0


def test_public_holidays_of_the_company_country_are_not_business_days(calendar: Calendar) -> None:
    # Given a file as of Thursday 24 December 2026 (25 and 26 December are German public holidays)
    christmas_eve = date(2026, 12, 24)
    # Then on Tuesday 29 December it is 2 business days old in Germany (the 28th and 29th)...
    assert business_days_after(christmas_eve, date(2026, 12, 29), calendar, "DE") == 2
    # ...and 3 with weekends only (no country: the 25th counts)
    assert business_days_after(christmas_eve, date(2026, 12, 29), calendar, None) == 3


def test_the_default_allows_two_business_days(calendar: Calendar) -> None:
    # Given both feeds' newest files dropped on Friday morning
    files = {kind: dropped(kind, utc(2026, 11, 20, 6)) for kind in ("invoices", "payments")}
    # Then Monday and Tuesday are fine and Wednesday holds
    for at, held in (
        (utc(2026, 11, 23, 9), False),
        (utc(2026, 11, 24, 23), False),
        (utc(2026, 11, 25, 0), True),
    ):
        check = check_feeds(files, at=at, freshness=DEFAULT, calendar=calendar)
        assert check.held is held, at
    check = check_feeds(files, at=utc(2026, 11, 25, 9), freshness=DEFAULT, calendar=calendar)
    assert [feed.kind for feed in check.stale] == ["invoices", "payments"]
    assert check.reason == (
        "dunning held: stale invoices feed (newest file 2026-11-20, 3 business days old; max 2) and "
        "stale payments feed (newest file 2026-11-20, 3 business days old; max 2)"
    )


def test_the_holidays_of_the_policy_country_extend_the_allowance(calendar: Calendar) -> None:
    # Given files as of Christmas Eve, and a German company's policy
    files = {kind: dropped(kind, utc(2026, 12, 24, 6)) for kind in ("invoices", "payments")}
    german = replace(DEFAULT, country="DE", time_zone="Europe/Berlin")
    at = utc(2026, 12, 29, 9)
    # Then on the 29th it is current in Germany, stale where the 25th is a business day
    assert not check_feeds(files, at=at, freshness=german, calendar=calendar).held
    assert check_feeds(files, at=at, freshness=DEFAULT, calendar=calendar).held


def test_business_days_begin_at_midnight_in_the_company_time_zone(calendar: Calendar) -> None:
    # Given files dropped Friday 2026-11-20 at 20:00 UTC, which is already Saturday in Sydney
    files = {kind: dropped(kind, utc(2026, 11, 20, 20)) for kind in ("invoices", "payments")}
    sydney = replace(DEFAULT, time_zone="Australia/Sydney")
    # When it is Wednesday 09:00 in Sydney (Tuesday 22:00 UTC)
    at = utc(2026, 11, 24, 22)
    # Then in Sydney the data is as of Saturday and Monday to Wednesday make 3 business days: held;
    # while in UTC (Tuesday evening, data as of Friday) it is 2 days old
    sydney_check = check_feeds(files, at=at, freshness=sydney, calendar=calendar)
    assert sydney_check.day == date(2026, 11, 25)
    assert sydney_check.feeds[0].as_of_day == date(2026, 11, 21)
    assert sydney_check.held
    assert not check_feeds(files, at=at, freshness=DEFAULT, calendar=calendar).held


# --- as-of metadata ----------------------------------------------------------------------------------


def test_the_age_counts_from_the_data_as_of_not_the_delivery(calendar: Calendar) -> None:
    # Given a payments file received Wednesday that declares it is as of the Friday before
    files = {
        "invoices": dropped("invoices", utc(2026, 11, 25, 6)),
        "payments": declared("payments", date(2026, 11, 20), received=utc(2026, 11, 25, 6)),
    }
    # Then on Wednesday it is 3 business days old: a late re-send brings nothing current
    check = check_feeds(files, at=utc(2026, 11, 25, 9), freshness=DEFAULT, calendar=calendar)
    assert [feed.kind for feed in check.stale] == ["payments"]
    assert check.stale[0].age_business_days == 3


def test_a_declared_day_is_that_whole_day_east_of_utc(calendar: Calendar) -> None:
    # Given a file as of Friday 2026-11-20 (23:59:59 UTC, which is Saturday 00:59 in Berlin)
    berlin = replace(DEFAULT, time_zone="Europe/Berlin")
    file = declared("payments", date(2026, 11, 20), received=utc(2026, 11, 21, 5))
    # Then it is as of Friday for a Berlin company: 3 business days old on Wednesday, not 2
    assert as_of_day(file.as_of, BERLIN) == date(2026, 11, 20)
    files = {"invoices": dropped("invoices", utc(2026, 11, 25, 6)), "payments": file}
    check = check_feeds(files, at=utc(2026, 11, 25, 9), freshness=berlin, calendar=calendar)
    assert check.held and check.stale[0].age_business_days == 3
    # And a dropped instant is read in the company's zone
    assert as_of_day(utc(2026, 11, 20, 23, 30), BERLIN) == date(2026, 11, 21)


# --- feeds that never delivered ----------------------------------------------------------------------


def test_before_the_first_file_there_is_nothing_to_judge(calendar: Calendar) -> None:
    # Given no file at all (a table seeded by hand), or a customer master alone
    for files in ({}, {"customers": dropped("customers", utc(2026, 1, 5))}):
        # Then nothing is held, however late it is
        check = check_feeds(files, at=utc(2026, 11, 25, 9), freshness=DEFAULT, calendar=calendar)
        assert not check.held
        assert check.reason is None
        # And the customer master is never checked
        assert next(f for f in check.feeds if f.kind == "customers").max_age_business_days is None


def test_a_payments_feed_that_never_started_gets_the_grace_then_holds(calendar: Calendar) -> None:
    # Given the ERP's first invoices file on Monday 23 November, daily invoices since, and no payments
    monday = utc(2026, 11, 23, 6)

    def files(day: int) -> dict[str, FeedFile]:
        return {"invoices": dropped("invoices", utc(2026, 11, day, 6), first=monday)}

    # Then Tuesday and Wednesday are within the grace of 2 business days...
    assert not check_feeds(files(24), at=utc(2026, 11, 24, 9), freshness=DEFAULT, calendar=calendar).held
    assert not check_feeds(files(25), at=utc(2026, 11, 25, 9), freshness=DEFAULT, calendar=calendar).held
    # ...and Thursday holds: the payments feed never started
    check = check_feeds(files(26), at=utc(2026, 11, 26, 9), freshness=DEFAULT, calendar=calendar)
    assert check.held
    payments = check.stale[0]
    assert (payments.kind, payments.newest, payments.age_business_days) == ("payments", None, 3)
    assert check.reason == (
        "dunning held: stale payments feed (no file received yet, 3 business days since the first file "
        "of the other feeds; max 2)"
    )


def test_a_feed_without_first_as_of_counts_from_its_newest_file(calendar: Calendar) -> None:
    # Given an invoices feed recorded before the first file was remembered (no first_as_of)
    files = {"invoices": dropped("invoices", utc(2026, 11, 26, 6))}
    # Then the missing payments feed is judged from the invoices file itself
    check = check_feeds(files, at=utc(2026, 11, 26, 9), freshness=DEFAULT, calendar=calendar)
    assert not check.held
    assert check.feeds[1].age_business_days == 0


# --- invoices only --------------------------------------------------------------------------------------


def test_an_invoices_only_company_is_never_held_for_payments(calendar: Calendar) -> None:
    # Given a company whose invoices carry paid dates and that sends no payments file
    files = {"invoices": dropped("invoices", utc(2026, 12, 7, 6), first=utc(2026, 11, 2, 6))}
    # Then a current invoices feed does not hold, however long payments never came
    check = check_feeds(files, at=utc(2026, 12, 8, 9), freshness=INVOICES_ONLY, calendar=calendar)
    assert not check.held
    payments = next(f for f in check.feeds if f.kind == "payments")
    assert payments.max_age_business_days is None and not payments.checked
    # But a stale invoices feed still holds
    stale = check_feeds(files, at=utc(2026, 12, 11, 9), freshness=INVOICES_ONLY, calendar=calendar)
    assert [feed.kind for feed in stale.stale] == ["invoices"]


# --- the policy ---------------------------------------------------------------------------------------


def test_the_shipped_policy_allows_two_business_days_of_both_feeds() -> None:
    freshness = shipped_policy().freshness
    assert freshness == Freshness(2, 2, PaymentsFeed.SEPARATE, None, "UTC")
    assert freshness.checked_feeds == {"invoices": 2, "payments": 2}


def _policy(freshness: str) -> str:
    """The shipped policy with its freshness section replaced."""
    text = SHIPPED_POLICY.read_text(encoding="utf-8")
    start = text.index("freshness:\n")
    end = text.index("\n\n", start)
    return text[:start] + freshness + text[end:]


def test_a_policy_says_invoices_only_with_its_own_limits_and_calendar() -> None:
    text = _policy(
        "freshness:\n  invoices_max_age_business_days: 1\n  payments_feed: paid_dates\n"
        "  country: de\n  time_zone: Europe/Berlin"
    )
    freshness = parse_policy(text, source="policy.yaml").freshness
    assert freshness == Freshness(1, 2, PaymentsFeed.PAID_DATES, "DE", "Europe/Berlin")
    assert freshness.checked_feeds == {"invoices": 1}


def test_the_time_zone_defaults_to_the_policy_settings() -> None:
    text = _policy("freshness:\n  payments_max_age_business_days: 0")
    text = text.replace("  time_zone: UTC ", "  time_zone: America/Chicago ", 1)
    freshness = parse_policy(text, source="policy.yaml").freshness
    assert (freshness.time_zone, freshness.payments_max_age_business_days) == ("America/Chicago", 0)


def test_a_wrong_freshness_section_is_refused_with_every_problem() -> None:
    text = _policy(
        "freshness:\n  invoices_max_age_business_days: -1\n  payments_feed: sometimes\n"
        "  country: Atlantis\n  time_zone: Mars/Olympus\n  payment_max_age: 3"
    )
    with pytest.raises(PolicyError) as raised:
        parse_policy(text, source="policy.yaml")
    message = str(raised.value)
    for key in (
        "freshness.invoices_max_age_business_days",
        "freshness.payments_feed",
        "freshness.country",
        "freshness.time_zone",
        "payment_max_age",
    ):
        assert key in message, (key, message)


# --- the manager's alert and task ----------------------------------------------------------------------


def test_the_day_task_and_alert_say_what_is_stale_and_what_to_do(calendar: Calendar) -> None:
    files = {
        "invoices": dropped("invoices", utc(2026, 11, 25, 6)),
        "payments": dropped("payments", utc(2026, 11, 20, 6)),
    }
    check = check_feeds(files, at=utc(2026, 11, 25, 9), freshness=DEFAULT, calendar=calendar)
    task = hold_task(check, manager="collections-manager")
    # One task a day: its id is the day's
    assert task.task_id == f"{STALE_FEED}-20261125"
    assert (task.kind, task.assignee, task.due_on, task.customer_id) == (
        STALE_FEED,
        "collections-manager",
        date(2026, 11, 25),
        "",
    )
    assert "payments feed is stale" in task.title
    later = check_feeds(files, at=utc(2026, 11, 25, 17), freshness=DEFAULT, calendar=calendar)
    assert hold_task(later, manager="m").task_id == task.task_id
    raw = hold_alert(
        check, sender="ar@seller.example", to="boss@seller.example", console_url="https://x/staff/status"
    )
    email = message_from_bytes(raw, policy=policy.default)
    assert email["Subject"] == "Dunning is on hold: the ERP's payments feed is stale (2026-11-25)"
    # Sent at the check's time (the tick's), as every email says it: Date and X-Arcollect-Sent-At
    assert email["Date"].datetime == utc(2026, 11, 25, 9)
    assert email["X-Arcollect-Sent-At"] == "2026-11-25T09:00:00Z"
    body = email.get_content()  # type: ignore[attr-defined]
    assert "stale payments feed (newest file 2026-11-20, 3 business days old; max 2)" in body
    assert "incoming/payments/20261120.csv" in body
    assert "payments_feed: paid_dates" in body
    assert "https://x/staff/status" in body


def test_the_preview_text_leads_with_the_hold() -> None:
    from arcollect_cli.dunning import preview_text

    held = {
        "at": "2026-11-05T09:00:00Z",
        "freshness": {"held": True, "reason": "dunning held: stale payments feed (...)"},
        "customers": [],
    }
    assert preview_text(held).splitlines() == [
        "dunning held: stale payments feed (...): nothing below but check-ins would go",
        "nothing is due at 2026-11-05T09:00:00Z",
    ]
    current = dict(held, freshness={"held": False, "reason": None})
    assert preview_text(current) == "nothing is due at 2026-11-05T09:00:00Z"
