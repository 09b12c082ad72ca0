"""Each customer's send-slot record from the table the report read (issue 19, item 5): the reminder
emails sent (the timeline's ``email_sent``), what followed them (portal opens and actions, payments),
and the portfolio's sum; kept for the sweep, which learns each customer's hour from it
(arcollect/send_times.py). Only when the policy learns send times."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

from arcollect.calendar import resolve_zone
from arcollect.policy import PolicySet
from arcollect.send_times import RESPONSE_KINDS, SENT_KIND, SendRecord, portfolio_stats, tally
from arcollect.store.reports import ReportData


def send_records(data: ReportData, policies: PolicySet, as_of: date) -> dict[str, SendRecord]:
    """Per customer with a reminder sent by the end of ``as_of`` (UTC): their record and the portfolio's."""
    end = datetime.combine(as_of + timedelta(days=1), time(0), UTC)
    sends: dict[str, list[datetime]] = defaultdict(list)
    responses: dict[str, list[datetime]] = defaultdict(list)
    for activity in data.activities:
        if activity.at >= end:
            continue
        if activity.kind == SENT_KIND:
            sends[activity.customer_id].append(activity.at)
        elif activity.kind in RESPONSE_KINDS:
            responses[activity.customer_id].append(activity.at)
    paid: dict[str, list[date]] = defaultdict(list)
    for payment in data.payments:
        if payment.payment_date <= as_of:
            paid[payment.customer_id].append(payment.payment_date)
    fallback = policies.settings.time_zone
    own = {}
    for customer_id, sent in sends.items():
        customer = data.customers.get(customer_id)
        zone, _ = resolve_zone(customer.time_zone if customer else None, fallback)
        own[customer_id] = tally(sent, responses[customer_id], paid[customer_id], zone)
    portfolio = portfolio_stats(own)
    return {customer_id: SendRecord(record, portfolio) for customer_id, record in own.items()}
