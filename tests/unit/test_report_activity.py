"""The collections-activity figures of a report, over its window, on a hand-made portfolio."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

from arcollect.entities import Activity, Dispute, Invoice, Payment, Promise, Task
from arcollect.reports.activity import activity_figures, paid_dates
from arcollect.store.reports import ReportData, Touch

AS_OF = date(2026, 3, 31)  # with a 30-day window: (2026-03-01, 2026-03-31]


def at(day: int, month: int = 3) -> datetime:
    return datetime(2026, month, day, 9, tzinfo=UTC)


def invoice(number: str, amount: str = "100", **kw: object) -> Invoice:
    return Invoice(
        "C1", number, "EUR", Decimal(amount), Decimal(amount), date(2026, 2, 1), date(2026, 3, 1), **kw
    )  # type: ignore[arg-type]


def paid_in_the_erp(number: str, day: date) -> Invoice:
    return replace(invoice(number), open_amount=Decimal(0), status="closed", paid_date=day)


def payment(pid: str, number: str, amount: str, day: date) -> Payment:
    return Payment("C1", pid, day, Decimal(amount), "EUR", applied_amount=Decimal(amount), applied_to=number)


def portfolio() -> ReportData:
    promise = Promise("C1", "P", ("A",), date(2026, 3, 10), at(1), Decimal(100), "EUR")
    return ReportData(
        # C was paid on the ERP's paid date (closed, nothing open), with no payment of ours to show it.
        # P was partly paid: the file gave a paid date with 40 still open, so it is not paid.
        invoices=[
            invoice("A"),
            invoice("B"),
            paid_in_the_erp("C", date(2026, 3, 20)),
            replace(invoice("P"), open_amount=Decimal(40), paid_date=date(2026, 3, 9)),
        ],
        # A is paid in two parts, the second 5 days after its reminder; B only partly.
        payments=[
            payment("p1", "A", "40", date(2026, 3, 8)),
            payment("p2", "A", "60", date(2026, 3, 12)),
            payment("p3", "B", "50", date(2026, 3, 9)),
        ],
        promises=[
            replace(promise, status="kept", settled_at=at(14)),
            promise.__class__(
                **{**promise.__dict__, "promise_id": "Q", "status": "broken", "settled_at": at(15)}
            ),
            promise.__class__(
                **{**promise.__dict__, "promise_id": "R", "status": "kept", "settled_at": at(1, 1)}
            ),
        ],
        disputes=[
            Dispute("C1", "D1", "B", "other", "", at(2), status="resolved_valid", resolved_at=at(6)),
            Dispute("C1", "D2", "C", "other", "", at(20)),
        ],
        tasks=[
            Task("C1", "t1", "call", "Call", at(2), status="done", assignee="ali", closed_at=at(3)),
            Task("C2", "t2", "call", "Call", at(2), assignee="ali"),
            Task("C3", "t3", "call", "Call", at(2), status="done", assignee="bo", closed_at=at(1, 1)),
        ],
        activities=[
            Activity("C1", at(7), "a1", "email_delivery", "delivered"),
            Activity("C1", at(7), "a2", "email_bounce", "bounced"),
            Activity("C1", at(7, 1), "a3", "email_delivery", "delivered long ago"),
        ],
        touches=[
            Touch("C1", "A", "reminder", at(7)),
            Touch("C1", "B", "reminder", at(7)),
            Touch("C1", "B", "firm", at(20)),
            Touch("C1", "C", "agency#2", at(1)),
            Touch("C1", "P", "firm", at(7)),
        ],
    )


def test_the_activity_figures_count_what_happened_in_the_window() -> None:
    figures = activity_figures(portfolio(), as_of=AS_OF, window_days=30)
    # Settled in the window (Mar 1 < day <= Mar 31): P kept, Q broken (R was settled in January).
    assert (figures["promises_kept"], figures["promises_broken"], figures["promise_kept_rate"]) == (
        1,
        1,
        "0.50",
    )
    assert (figures["disputes_opened"], figures["disputes_resolved"]) == (2, 1)
    assert figures["dispute_average_age_days"] == "4.0"
    # The agency#2 touch of Mar 1 is outside (the start is exclusive): 4 touches, 1 customer, 3 invoices.
    assert (figures["touches"], figures["touches_per_customer"], figures["touches_per_invoice"]) == (
        4,
        "4.00",
        "1.33",
    )
    assert (figures["emails_delivered"], figures["emails_bounced"]) == (1, 1)
    assert figures["collector_productivity"] == {
        "ali": {"tasks_completed": 1, "tasks_per_day": "0.03", "accounts": 2},
    }  # bo's only task was done in January: not in this window
    # reminder: A (paid in full Mar 12, 5 days after) and B (never paid in full); firm: B, and P (its
    # paid date of Mar 9, 2 days after, is a partial payment's: 40 still open).
    assert figures["step_effectiveness"] == {
        "firm": {"invoices": 2, "paid_within_7_days": 0, "share": "0.00"},
        "reminder": {"invoices": 2, "paid_within_7_days": 1, "share": "0.50"},
    }


def test_an_invoice_is_paid_when_its_payments_reach_its_amount_else_on_the_erps_paid_date() -> None:
    data = portfolio()
    assert paid_dates(data.invoices, data.payments) == {
        ("C1", "A"): date(2026, 3, 12),
        ("C1", "C"): date(2026, 3, 20),
    }


def test_an_empty_table_gives_nulls_not_errors() -> None:
    figures = activity_figures(ReportData(), as_of=AS_OF, window_days=90)
    assert figures["promise_kept_rate"] is None and figures["touches_per_customer"] is None
    assert figures["collector_productivity"] == {} and figures["step_effectiveness"] == {}


def test_a_report_counts_only_what_was_paid_by_its_as_of_date() -> None:
    """A reminder of Mar 28 paid on Apr 2: the report as of Mar 31 says not (yet) paid, whenever it is run
    again; the one as of Apr 5 counts it. The ERP's paid date is held to the same day."""
    data = ReportData(
        invoices=[invoice("D"), paid_in_the_erp("E", date(2026, 4, 1))],
        payments=[payment("p9", "D", "100", date(2026, 4, 2))],
        touches=[Touch("C1", "D", "reminder", at(28)), Touch("C1", "E", "reminder", at(28))],
    )
    before = activity_figures(data, as_of=AS_OF, window_days=30)["step_effectiveness"]
    assert before == {"reminder": {"invoices": 2, "paid_within_7_days": 0, "share": "0.00"}}
    after = activity_figures(data, as_of=date(2026, 4, 5), window_days=30)["step_effectiveness"]
    assert after == {"reminder": {"invoices": 2, "paid_within_7_days": 2, "share": "1.00"}}
    assert paid_dates(data.invoices, data.payments, AS_OF) == {}
    assert paid_dates(data.invoices, data.payments, date(2026, 4, 1)) == {("C1", "E"): date(2026, 4, 1)}


def test_an_invoice_still_open_is_not_paid_on_the_paid_date_of_its_partial_payment() -> None:
    """A file stated a paid date with an open amount left (ingest keeps the partial payment's day): the
    invoice is not paid yet, in the activity report or anywhere else."""
    partly = replace(invoice("P"), open_amount=Decimal(40), paid_date=date(2026, 3, 20))
    assert partly.paid_in_full_on is None
    assert paid_dates([partly], []) == {}
    assert paid_dates([replace(partly, open_amount=Decimal(0))], []) == {("C1", "P"): date(2026, 3, 20)}
