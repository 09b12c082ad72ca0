"""What dunning does while the freshness hold (``arcollect.freshness``) lasts: the manager's daily
alert email and their task for the day."""

from __future__ import annotations

from email.message import EmailMessage

from arcollect.entities import Task
from arcollect.freshness import STALE_FEED, FeedAge, FeedCheck
from arcollect.mailing import stamp_sent

# The check itself is domain; this name stays for the dunning wiring (arcollect.app) until it imports
# arcollect.freshness.

_HELD = (
    "While a feed is stale, the hourly sweep sends no reminder email and creates no call or alert task "
    "(they depend on balances the ERP may have changed), and settles no promise to pay. Anniversary "
    "check-ins still go. Nothing is lost: the held invoices stay due, and the first tick after a current "
    "file arrives works them, catching up without a burst."
)


def hold_alert(check: FeedCheck, *, sender: str, to: str, console_url: str | None) -> bytes:
    """The manager's daily email while dunning holds: what is stale, since when, what to do; sent at the
    check's ``at`` (the tick's time)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    stale = ", ".join(f"{feed.kind}" for feed in check.stale)
    message["Subject"] = f"Dunning is on hold: the ERP's {stale} feed is stale ({check.day.isoformat()})"
    stamp_sent(message, check.at)
    lines = [
        f"{check.reason}.",
        "",
        "The ERP's feeds as of this morning:",
        *(f"  - {feed.describe()}" + _received(feed) for feed in check.feeds if feed.checked),
        "",
        _HELD,
        "",
        "What to do: check the ERP's scheduled export and the drop bucket (incoming/<feed>/), and the "
        "ingest results and dead-letter queue (`arcollect status`). A company that sends invoices only, "
        "with paid dates, sets `payments_feed: paid_dates` in the policy's freshness section.",
    ]
    if console_url:
        lines += ["", f"Status: {console_url}"]
    lines += ["", "(arcollect freshness hold; you get this once a day while it lasts)"]
    message.set_content("\n".join(lines))
    return message.as_bytes()


def _received(feed: FeedAge) -> str:
    if feed.newest is None:
        return ""
    return f", received {feed.newest.received_at.isoformat()} as {feed.newest.key}"


def hold_task(check: FeedCheck, *, manager: str) -> Task:
    """The manager's task for one business day of a hold: one a day however many ticks run (its id is
    the day's), the day before's closed as superseded, all closed when the feeds are current again."""
    stale = " and ".join(feed.kind for feed in check.stale)
    return Task(
        customer_id="",
        task_id=f"{STALE_FEED}-{check.day.strftime('%Y%m%d')}",
        kind=STALE_FEED,
        title=f"The ERP's {stale} feed is stale: reminders are on hold until a current file arrives",
        created_at=check.at,
        detail={"episode": check.key, "reason": check.reason or "", "day": check.day.isoformat()},
        assignee=manager,
        due_on=check.day,
    )
