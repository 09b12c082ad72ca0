"""The report run's predictions in memory: the same table in any order gives the same model bytes and
the same table; the forecast's weekly interval; the customer-average rule with too little history, its
factors adding up to the day; an invoice the ERP flags as disputed counts as an open dispute."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from arcollect.entities import Dispute, Invoice
from arcollect.outlook import PayOutlook, shown_days
from arcollect.predictions import MIN_TRAINING
from arcollect.reports.forecast import DelayHistory, OpenItem, cash_forecast, paid_by
from arcollect.reports.predicted import predict_portfolio, predictions_table
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


def test_under_the_rule_the_factors_add_up_to_the_days_late_shown() -> None:
    """An invoice due long ago is expected the day after the as-of day, not on its due date plus the
    customer's average: the move is a factor of its own, so what a collector reads adds up."""
    few = [
        invoice("A", f"A-{n}", date(2026, 1, 1) + timedelta(days=30 * n), d) for n, d in enumerate((10, 11))
    ]
    old = invoice("A", "A-OLD", date(2025, 6, 1), None)  # due 2025-07-01
    result = predict_portfolio(ReportData(invoices=[*few, old]), AS_OF)
    assert result.basis == "customer_average"
    (outlook,) = result.outlooks
    assert outlook.pay_date == AS_OF + timedelta(days=1) and outlook.days_late == 365
    assert [(f.name, shown_days(f.days)) for f in outlook.factors] == [
        ("still_open", 354),
        ("customer_average", 11),  # 10.5 days on average, half up: 11
    ]
    assert sum(shown_days(f.days) for f in outlook.factors) == outlook.days_late
    assert outlook.factors_text() == (
        "still unpaid at 2026-06-30: not expected before the next day (+354 d); customer paid its 2 "
        "invoices 10.5 days late on average (the customer-average rule) (+11 d)"
    )
    (row,) = predictions_table(result, {})["invoices"]
    assert [f["days"] for f in row["factors"]] == ["354.0", "11.0"] and row["days_late"] == 365
    # Not moved: one factor, the whole days the average adds
    due_later = invoice("A", "A-NEXT", date(2026, 6, 15), None)  # due 2026-07-15, expected 07-26
    (outlook,) = predict_portfolio(ReportData(invoices=[*few, due_later]), AS_OF).outlooks
    assert [(f.name, shown_days(f.days)) for f in outlook.factors] == [("customer_average", 11)]
    assert outlook.days_late == 11


def test_an_invoice_the_erp_flags_as_disputed_counts_as_an_open_dispute() -> None:
    """The ERP's flag adds the dispute's days, and says the ERP flags it; a dispute recorded here on the
    same invoice counts once, in its own words; a flag from a file dated after the as-of day is not known
    on it (a backfill)."""
    flagged = replace(portfolio()[-2], erp_disputed=True, disputed=True)  # A-OPEN
    assert flagged.invoice_number == "A-OPEN"
    plain = predict_portfolio(ReportData(invoices=portfolio()), AS_OF).by_invoice()[("A", "A-OPEN")]
    result = predict_portfolio(ReportData(invoices=[*portfolio()[:-2], flagged, portfolio()[-1]]), AS_OF)
    erp = result.by_invoice()[("A", "A-OPEN")]
    assert not any(f.name == "dispute" for f in plain.factors)
    (dispute,) = [f for f in erp.factors if f.name == "dispute"]
    assert dispute.days == Decimal("14.0")
    assert "the ERP flags this invoice as disputed" in dispute.text and "(+14 d)" in erp.factors_text()
    assert erp.pay_date > plain.pay_date
    assert (
        result.by_invoice()[("B", "B-OPEN")]
        == predict_portfolio(ReportData(invoices=portfolio()), AS_OF).by_invoice()[("B", "B-OPEN")]
    )

    recorded = Dispute("A", "dsp-1", "A-OPEN", "pricing", "", datetime(2026, 6, 20, tzinfo=UTC))
    both = predict_portfolio(
        ReportData(invoices=[*portfolio()[:-2], flagged, portfolio()[-1]], disputes=[recorded]), AS_OF
    ).by_invoice()[("A", "A-OPEN")]
    (once,) = [f for f in both.factors if f.name == "dispute"]
    assert once.text.startswith("an open dispute on this invoice") and both.pay_date == erp.pay_date

    later = replace(flagged, source_as_of=datetime(2026, 7, 1, 4, tzinfo=UTC))
    backfill = predict_portfolio(ReportData(invoices=[*portfolio()[:-2], later, portfolio()[-1]]), AS_OF)
    assert backfill.by_invoice()[("A", "A-OPEN")] == plain
    known = replace(flagged, source_as_of=datetime(2026, 6, 30, 23, tzinfo=UTC))
    today = predict_portfolio(ReportData(invoices=[*portfolio()[:-2], known, portfolio()[-1]]), AS_OF)
    assert today.by_invoice()[("A", "A-OPEN")] == erp


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
    # Every EUR amount to the cent, the weeks with nothing in them too ("0.00", never "0")
    assert {w["expected"] for w in weeks} == {"1000.00", "0.00"} and plain[1]["expected"] == "0.00"
    fine = OpenItem("A", "EUR", AS_OF, Decimal("12.345"), "A-1")  # in finer units than cents: kept, exact
    assert cash_forecast(as_of=AS_OF, open_items=[fine], history=DelayHistory())["EUR"][0]["expected"] == (
        "12.345"
    )


def test_the_forecast_keeps_each_currencys_minor_unit() -> None:
    # A yen amount (no decimals) and a Kuwaiti dinar one (three), on the predictions and on the rule
    o = outlook(AS_OF + timedelta(days=10), AS_OF + timedelta(days=3), AS_OF + timedelta(days=25))
    items = [
        OpenItem("A", "JPY", AS_OF, Decimal("1488332"), "A-1"),
        OpenItem("B", "KWD", AS_OF, Decimal("3550.675"), "B-1"),
    ]
    outlooks = {("A", "A-1"): o, ("B", "B-1"): replace(o, customer_id="B", invoice_number="B-1")}
    predicted = cash_forecast(as_of=AS_OF, open_items=items, history=DelayHistory(), outlooks=outlooks)
    rule = cash_forecast(as_of=AS_OF, open_items=items, history=DelayHistory())
    # The sums with the currency's decimals (never "1488332.00" nor "3550.68"), an empty week "0", "0.000":
    # on the rule, both in week 1 (overdue, no history); on the predictions, in week 2 (the predicted day)
    assert [w["expected"] for w in rule["JPY"][:3]] == ["1488332", "0", "0"]
    assert [w["expected"] for w in rule["KWD"][:3]] == ["3550.675", "0.000", "0.000"]
    assert [w["expected"] for w in predicted["JPY"][:3]] == ["0", "1488332", "0"]
    assert [w["expected"] for w in predicted["KWD"][:3]] == ["0.000", "3550.675", "0.000"]
    # The interval's bounds are rounded to the currency's unit: whole yen, the fils (0.001 KWD)
    for currency, places in (("JPY", 0), ("KWD", 3)):
        for week in predicted[currency]:
            for bound in (week["low"], week["high"]):
                assert len(bound.partition(".")[2]) == places, (currency, bound)
            assert Decimal(week["low"]) <= Decimal(week["expected"]) <= Decimal(week["high"])
    assert (predicted["JPY"][0]["high"], predicted["KWD"][0]["high"]) == ("1384939", "3304.013")  # not .01
    assert predicted["JPY"][6]["low"] == predicted["JPY"][6]["high"] == "0"
    assert predicted["KWD"][6]["low"] == predicted["KWD"][6]["high"] == "0.000"
    # An amount given in finer units than its currency's is kept, exact (never rounded)
    fine = [OpenItem("A", "JPY", AS_OF, Decimal("100.5")), OpenItem("A", "BHD", AS_OF, Decimal("12.3456"))]
    weeks = cash_forecast(as_of=AS_OF, open_items=fine, history=DelayHistory())
    assert (weeks["JPY"][0]["expected"], weeks["BHD"][0]["expected"]) == ("100.5", "12.3456")
