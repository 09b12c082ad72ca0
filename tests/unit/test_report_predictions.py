"""The report run's predictions in memory: the same table in any order gives the same model bytes and
the same table; the forecast's weekly interval; the customer-average rule with too little history."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from arcollect.entities import Invoice
from arcollect.outlook import PayOutlook
from arcollect.reports.forecast import DelayHistory, OpenItem, cash_forecast, paid_by
from arcollect.reports.predicted import MIN_TRAINING, predict_portfolio, predictions_table
from arcollect.store.reports import ReportData

AS_OF = date(2026, 6, 30)


def invoice(customer: str, number: str, issued: date, late: int | None) -> Invoice:
    due = issued + timedelta(days=30)
    paid = None if late is None else due + timedelta(days=late)
    settled = paid is not None and paid <= AS_OF
    return Invoice(
        customer_id=customer,
        invoice_number=number,
        currency="EUR",
        amount=Decimal("100"),
        open_amount=Decimal(0) if settled else Decimal("100"),
        invoice_date=issued,
        due_date=due,
        status="closed" if settled else "open",
        paid_date=paid,
    )


def portfolio() -> list[Invoice]:
    out = []
    for n in range(15):
        issued = date(2025, 6, 1) + timedelta(days=21 * n)
        out.append(invoice("A", f"A-{n:02d}", issued, 20 + n % 7))
        out.append(invoice("B", f"B-{n:02d}", issued, n % 3))
    out += [invoice("A", "A-OPEN", date(2026, 6, 1), None), invoice("B", "B-OPEN", date(2026, 6, 10), None)]
    return out


def test_the_same_table_in_any_order_gives_the_same_model_and_table() -> None:
    first = predict_portfolio(ReportData(invoices=portfolio()), AS_OF)
    shuffled = portfolio()
    random.Random(7).shuffle(shuffled)  # noqa: S311 (a fixed shuffle, not a secret)
    again = predict_portfolio(ReportData(invoices=shuffled), AS_OF)
    assert first.basis == "model" and first.model_files() == again.model_files()
    assert predictions_table(first, {}) == predictions_table(again, {})
    assert {o.invoice_number for o in first.outlooks} == {"A-OPEN", "B-OPEN"}


def test_with_too_little_history_the_customer_average_rule_says_so() -> None:
    few = [invoice("A", f"A-{n}", date(2026, 1, 1) + timedelta(days=30 * n), 10 + n) for n in range(3)]
    few.append(invoice("A", "A-OPEN", date(2026, 6, 1), None))
    result = predict_portfolio(ReportData(invoices=few), AS_OF)
    assert MIN_TRAINING > 3 and result.basis == "customer_average" and result.model_files() == {}
    assert "too little history" in result.note
    (outlook,) = result.outlooks
    assert outlook.days_late == 11 and outlook.low == outlook.high == outlook.pay_date
    assert "the customer-average rule" in outlook.factors_text()


def test_a_closed_invoice_without_a_paid_day_is_paid_when_its_payments_settled_it() -> None:
    from arcollect.entities import Payment
    from arcollect.reports.predicted import with_paid_dates

    closed = replace(invoice("A", "A-1", date(2026, 1, 1), None), status="closed", open_amount=Decimal(0))
    payments = [
        Payment("A", "P1", date(2026, 2, 10), Decimal("60"), "EUR", applied_to="A-1"),
        Payment("A", "P2", date(2026, 2, 20), Decimal("40"), "EUR", applied_to="A-1"),
    ]
    (paid,) = with_paid_dates([closed], payments)
    assert paid.paid_date == date(2026, 2, 20)


def outlook(pay: date, low: date, high: date) -> PayOutlook:
    return PayOutlook("A", "A-1", AS_OF, AS_OF, pay, low, high, Decimal("0.5"), ())


def test_an_invoice_is_paid_by_its_interval_as_its_quantiles_say() -> None:
    o = outlook(AS_OF + timedelta(days=10), AS_OF + timedelta(days=5), AS_OF + timedelta(days=20))
    assert paid_by(o, AS_OF + timedelta(days=4)) == 0.0
    assert paid_by(o, o.low) == 0.1 and paid_by(o, o.pay_date) == 0.5 and paid_by(o, o.high) == 0.9
    assert paid_by(o, o.high + timedelta(days=10)) == 1.0
    assert 0.5 < paid_by(o, AS_OF + timedelta(days=15)) < 0.9


def test_the_forecast_on_predictions_has_an_interval_around_each_week() -> None:
    o = outlook(AS_OF + timedelta(days=10), AS_OF + timedelta(days=3), AS_OF + timedelta(days=25))
    item = OpenItem("A", "EUR", AS_OF, Decimal("1000.00"), "A-1")
    weeks = cash_forecast(as_of=AS_OF, open_items=[item], history=DelayHistory(), outlooks={("A", "A-1"): o})[
        "EUR"
    ]
    assert weeks[1]["expected"] == "1000.00"  # its predicted day falls in week 2
    for week in weeks:
        assert Decimal(week["low"]) <= Decimal(week["expected"]) <= Decimal(week["high"])
    assert Decimal(weeks[0]["high"]) > 0 and Decimal(weeks[3]["high"]) > 0  # it may come earlier or later
    assert all(week["low"] == "0.00" and week["high"] == "0.00" for week in weeks[6:])
    plain = cash_forecast(as_of=AS_OF, open_items=[item], history=DelayHistory())["EUR"]
    assert plain[0]["expected"] == "1000.00" and "low" not in plain[0]
