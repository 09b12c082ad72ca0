"""Every KPI formula on a small hand-checked world (the expected numbers are worked out in comments).

The world, as of 2026-06-30 with the default 90-day window: the window is (2026-04-01, 2026-06-30].

customer A (company code 1000, segment retail), EUR:
  INV-1  1000.00  dated 03-01 due 03-31  paid 600.00 on 03-20 and 400.00 on 05-10 (settled 05-10)
  INV-2   500.00  dated 05-01 due 05-31  paid 500.00 on 07-15: after the as-of date, so open then
  INV-3   300.00  dated 06-15 due 07-15  open
  CN-1    100.00  credit note dated 06-20 due 06-20, open (counts -100.00)
customer B (no company code, no segment), EUR:
  INV-4   200.00  dated 01-10 due 02-09  open (141 days past due)
  WO-1     50.00  write-off dated 06-01, open (counts -50.00)
  INV-5   400.00  dated 04-10 due 05-10  closed, paid_date 06-09, no payment rows
  INV-6   250.00  dated 04-20 due 05-20  closed on 06-05 without a payment
customer C (unknown to the master data), USD:
  INV-7   100.00  dated 06-25 due 07-25  open
  INV-8    70.00  dated 06-26 due 12-31  open
The stored state is today's (INV-1 and INV-2 closed, paid): it must not change a past as-of date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from arcollect.entities import Customer, Invoice, Payment
from arcollect.reports.forecast import DelayHistory, OpenItem, cash_forecast, expected_on
from arcollect.reports.kpis import compute_kpis, risk_class

AS_OF = date(2026, 6, 30)


def doc(
    customer: str,
    number: str,
    amount: str,
    dated: date,
    due: date,
    *,
    kind: str = "invoice",
    open_amount: str | None = None,
    company: str | None = None,
    currency: str = "EUR",
    paid_date: date | None = None,
    closed_on: date | None = None,
    source_as_of: datetime | None = None,
) -> Invoice:
    still_open = Decimal(amount if open_amount is None else open_amount)
    return Invoice(
        customer,
        number,
        currency,
        Decimal(amount),
        still_open,
        dated,
        due,
        status="open" if still_open > 0 else "closed",
        document_type=kind,
        paid_date=paid_date,
        closed_on=closed_on,
        company_code=company,
        source_as_of=source_as_of,
    )


def pay(
    customer: str, payment_id: str, day: date, amount: str, invoice: str, currency: str = "EUR"
) -> Payment:
    value = Decimal(amount)
    return Payment(customer, payment_id, day, value, currency, invoice, None, value, Decimal(0), invoice)


INVOICES = [
    doc("A", "INV-1", "1000.00", date(2026, 3, 1), date(2026, 3, 31), open_amount="0", company="1000",
        paid_date=date(2026, 5, 10)),
    doc("A", "INV-2", "500.00", date(2026, 5, 1), date(2026, 5, 31), open_amount="0", company="1000",
        paid_date=date(2026, 7, 15)),
    doc("A", "INV-3", "300.00", date(2026, 6, 15), date(2026, 7, 15), company="1000"),
    doc("A", "CN-1", "100.00", date(2026, 6, 20), date(2026, 6, 20), kind="credit_note", company="1000"),
    doc("B", "INV-4", "200.00", date(2026, 1, 10), date(2026, 2, 9)),
    doc("B", "WO-1", "50.00", date(2026, 6, 1), date(2026, 6, 1), kind="write_off"),
    doc("B", "INV-5", "400.00", date(2026, 4, 10), date(2026, 5, 10), open_amount="0",
        paid_date=date(2026, 6, 9)),
    doc("B", "INV-6", "250.00", date(2026, 4, 20), date(2026, 5, 20), open_amount="0",
        closed_on=date(2026, 6, 5)),
    doc("C", "INV-7", "100.00", date(2026, 6, 25), date(2026, 7, 25), currency="USD"),
    doc("C", "INV-8", "70.00", date(2026, 6, 26), date(2026, 12, 31), currency="USD"),
]  # fmt: skip
PAYMENTS = [
    pay("A", "P-1", date(2026, 3, 20), "600.00", "INV-1"),
    pay("A", "P-2", date(2026, 5, 10), "400.00", "INV-1"),
    pay("A", "P-3", date(2026, 7, 15), "500.00", "INV-2"),
    pay("B", "P-4", date(2026, 5, 1), "999.00", "INV-1"),  # another customer's invoice: not A's
]
CUSTOMERS = {
    "A": Customer("A", "Alpha GmbH", "ap@alpha.example", segment="retail"),
    "B": Customer("B", "Beta SA", "ap@beta.example"),
}


def kpis(as_of: date = AS_OF, **options: Any) -> dict[str, Any]:
    return compute_kpis(as_of=as_of, invoices=INVOICES, payments=PAYMENTS, customers=CUSTOMERS, **options)


def test_the_balance_and_aging_come_from_dated_payments_not_the_stored_open_amounts() -> None:
    eur = kpis()["by_currency"]["EUR"]
    # INV-2 (paid 07-15, after the as-of date) is open: 500 + 300 - 100 + 200 - 50 = 850.00
    assert eur["ar_total"] == "850.00"
    # only INV-3 is not yet due
    assert eur["ar_current"] == "300.00"
    # 500 - 100 + 200 - 50 = 550.00
    assert eur["ar_past_due"] == "550.00"
    # INV-2 30 days, CN-1 10 days, WO-1 29 days: 500 - 100 - 50 = 350.00; INV-4 141 days: 91+
    assert eur["aging"] == {
        "current": "300.00",
        "d1_30": "350.00",
        "d31_60": "0",
        "d61_90": "0",
        "d91_plus": "200.00",
    }
    assert eur["open_invoices"] == 5  # INV-2, INV-3, CN-1, INV-4, WO-1


def test_sales_dso_and_its_split() -> None:
    eur = kpis()["by_currency"]["EUR"]
    # invoices dated in (04-01, 06-30]: INV-2 500 + INV-3 300 + INV-5 400 + INV-6 250 = 1450.00
    assert eur["credit_sales"] == "1450.00"
    # 850 / 1450 x 90 = 52.758... ; 300 / 1450 x 90 = 18.620... ; 52.758 - 18.620 = 34.137...
    assert eur["dso_days"] == "52.8"
    assert eur["best_possible_dso_days"] == "18.6"
    assert eur["average_days_delinquent"] == "34.1"


def test_countback_dso_walks_back_calendar_months() -> None:
    eur = kpis()["by_currency"]["EUR"]
    # 850 - June's 300 = 550 (30 days); - May's 500 = 50 (31 days, 61 in all);
    # April sold 650 >= 50: 61 + 50 / 650 x 30 = 63.307...
    assert eur["countback_dso_days"] == "63.3"


def test_cei_uses_the_balance_at_the_window_start() -> None:
    eur = kpis()["by_currency"]["EUR"]
    # at 04-01: INV-1 had 400 open (600 paid 03-20), INV-4 200: ar_begin 600.00
    assert eur["ar_begin"] == "600.00"
    # (600 + 1450 - 850) / (600 + 1450 - 300) x 100 = 1200 / 1750 x 100 = 68.571...
    assert eur["cei_percent"] == "68.6"


def test_write_offs_paid_in_window_and_days_to_pay() -> None:
    eur = kpis()["by_currency"]["EUR"]
    assert eur["write_offs"] == "50.00"
    # INV-1 settled 05-10 by P-2; INV-5 paid on its paid_date 06-09; INV-6 was closed, not paid
    assert eur["paid_in_window"] == 2
    # to pay: INV-1 03-01 -> 05-10 = 70 days, INV-5 04-10 -> 06-09 = 60 days: 65.0
    assert eur["average_days_to_pay"] == "65.0"
    # late: INV-1 03-31 -> 05-10 = 40 days, INV-5 05-10 -> 06-09 = 30 days: 35.0
    assert eur["average_days_late"] == "35.0"
    # money received in the window: P-2 400.00 (P-1 is before it, P-3 after the as-of date)
    assert eur["collected_in_window"] == "400.00"


def test_early_payment_counts_as_zero_days_late() -> None:
    early = doc("A", "E-1", "10.00", date(2026, 6, 1), date(2026, 6, 30), open_amount="0")
    result = compute_kpis(
        as_of=AS_OF,
        invoices=[early],
        payments=[pay("A", "P-E", date(2026, 6, 10), "10.00", "E-1")],
        customers={},
    )["by_currency"]["EUR"]
    # paid 9 days after the invoice date, 20 days before the due date
    assert (result["average_days_to_pay"], result["average_days_late"]) == ("9.0", "0.0")


def test_figures_per_company_code_and_segment() -> None:
    document = kpis()
    company = document["by_company_code"]["1000"]["EUR"]
    # A's documents: 500 + 300 - 100 = 700.00; sales 500 + 300 = 800.00; at 04-01 INV-1's 400.00
    assert (company["ar_total"], company["credit_sales"], company["ar_begin"]) == (
        "700.00",
        "800.00",
        "400.00",
    )
    # 700 / 800 x 90 = 78.75 and 300 / 800 x 90 = 33.75: half a tenth rounds up
    assert (company["dso_days"], company["best_possible_dso_days"]) == ("78.8", "33.8")
    none = document["by_company_code"]["(none)"]
    # B: 200 - 50 = 150.00 of 650.00 sales: 150 / 650 x 90 = 20.769...; nothing current: 0.0
    assert (none["EUR"]["ar_total"], none["EUR"]["dso_days"], none["EUR"]["best_possible_dso_days"]) == (
        "150.00",
        "20.8",
        "0.0",
    )
    # (200 + 650 - 150) / (200 + 650 - 0) x 100 = 700 / 850 x 100 = 82.35...
    assert none["EUR"]["cei_percent"] == "82.4"
    assert set(none) == {"EUR", "USD"}  # C has no company code either
    segments = document["by_segment"]
    assert segments["retail"]["EUR"]["ar_total"] == "700.00"
    assert segments["(none)"]["EUR"]["ar_total"] == "150.00"
    # a segment of one's own choosing: the customer's name, "unknown" for C
    by_name = kpis(segment_of=lambda customer: customer.name if customer else "unknown")["by_segment"]
    assert sorted(by_name) == ["Alpha GmbH", "Beta SA", "unknown"]
    assert by_name["unknown"]["USD"]["ar_total"] == "170.00"


def test_division_by_zero_gives_null() -> None:
    usd = kpis()["by_currency"]["USD"]
    # 170 / 170 x 90 = 90.0 twice; the June sales cover it: 170 / 170 x 30 = 30.0
    assert (usd["dso_days"], usd["best_possible_dso_days"], usd["countback_dso_days"]) == (
        "90.0",
        "90.0",
        "30.0",
    )
    # CEI: (0 + 170 - 170) / (0 + 170 - 170): 0 / 0; nothing paid: no averages
    assert usd["cei_percent"] is None
    assert (usd["average_days_to_pay"], usd["average_days_late"], usd["paid_in_window"]) == (None, None, 0)
    # no sales in the window at all: no DSO
    later = kpis(as_of=date(2027, 6, 30))["by_currency"]["USD"]
    assert later["credit_sales"] == "0"
    assert (later["dso_days"], later["best_possible_dso_days"], later["average_days_delinquent"]) == (
        None,
        None,
        None,
    )


def test_history_is_reproduced_for_any_as_of_date() -> None:
    # a month later INV-2 is paid (07-15) and INV-1's settlement has left the window
    eur = kpis(as_of=date(2026, 7, 31))["by_currency"]["EUR"]
    # 300 - 100 + 200 - 50 = 350.00
    assert eur["ar_total"] == "350.00"
    # before anything was invoiced nothing is open or sold
    empty = kpis(as_of=date(2025, 12, 31))
    assert empty["by_currency"] == {} and empty["forecast"] == {} and empty["customers_by_risk"] == []
    # the order of the inputs does not matter
    again = compute_kpis(
        as_of=AS_OF, invoices=reversed(INVOICES), payments=reversed(PAYMENTS), customers=CUSTOMERS
    )
    assert again == kpis()


def test_an_open_amount_no_payment_explains_counts_from_the_file_that_said_so() -> None:
    # stored open 60 of 100, no payment rows, known from a file of 06-10
    partly = doc("A", "X-1", "100.00", date(2026, 6, 1), date(2026, 7, 1), open_amount="60.00",
                 source_as_of=datetime(2026, 6, 10, 12, tzinfo=UTC))  # fmt: skip
    before = compute_kpis(as_of=date(2026, 6, 9), invoices=[partly], payments=[], customers={})
    after = compute_kpis(as_of=date(2026, 6, 10), invoices=[partly], payments=[], customers={})
    assert before["by_currency"]["EUR"]["ar_total"] == "100.00"
    assert after["by_currency"]["EUR"]["ar_total"] == "60.00"
    # closed with no payment and no date at all: only dated payments count, so it stays open
    unexplained = doc("A", "X-2", "80.00", date(2026, 6, 1), date(2026, 7, 1), open_amount="0")
    result = compute_kpis(as_of=AS_OF, invoices=[unexplained], payments=[], customers={})
    assert result["by_currency"]["EUR"]["ar_total"] == "80.00"


def test_customers_ranked_by_risk() -> None:
    rows = kpis()["customers_by_risk"]
    # A: 500 - 100 = 400.00 past due (oldest INV-2, 30 days); history INV-1 40 days late -> high
    # B: 200 - 50 = 150.00 past due (INV-4, 141 days) -> high; history INV-5 30 days late
    # C: nothing past due, 170.00 open, no history -> low
    assert [(r["customer_id"], r["ar_past_due"], r["oldest_days_past_due"], r["risk"]) for r in rows] == [
        ("A", "400.00", 30, "high"),
        ("B", "150.00", 141, "high"),
        ("C", "0", 0, "low"),
    ]
    assert (rows[0]["name"], rows[0]["ar_total"], rows[0]["average_days_late"]) == (
        "Alpha GmbH",
        "700.00",
        "40.0",
    )
    assert (rows[2]["name"], rows[2]["average_days_late"]) == (None, None)


@pytest.mark.parametrize(
    ("oldest", "late", "risk"),
    [(91, None, "high"), (0, Decimal(31), "high"), (31, None, "medium"), (0, Decimal("10.5"), "medium"),
     (30, Decimal(10), "low")],
)  # fmt: skip
def test_risk_classes(oldest: int, late: Decimal | None, risk: str) -> None:
    assert risk_class(oldest, late) == risk


def test_the_forecast_buckets_by_week_from_the_day_after() -> None:
    forecast = kpis()["forecast"]
    eur, usd = forecast["EUR"], forecast["USD"]
    assert len(eur) == len(usd) == 13
    assert (eur[0]["week_start"], eur[0]["week_end"]) == ("2026-07-01", "2026-07-07")
    assert (eur[12]["week_start"], eur[12]["week_end"]) == ("2026-09-23", "2026-09-29")
    # A pays 40 days late: INV-2 05-31 + 40 = 07-10 (week 2); INV-3 07-15 + 40 = 08-24 (week 8,
    # 08-19..08-25); CN-1 06-20 + 40 = 07-30 (week 5, 07-29..08-04).
    # B pays 30 days late: INV-4 02-09 + 30 = 03-11 is overdue: week 1; WO-1 06-01 + 30 = 07-01: week 1.
    expected = ["0.00"] * 13  # every amount to the cent, an empty week's too
    expected[0], expected[1], expected[4], expected[7] = "150.00", "500.00", "-100.00", "300.00"
    assert [week["expected"] for week in eur] == expected
    # C has no history: the portfolio's (40 + 30) / 2 = 35 days. INV-7 07-25 + 35 = 08-29 (week 9,
    # 08-26..09-01); INV-8 12-31 + 35 is after week 13: not shown.
    expected = ["0.00"] * 13
    expected[8] = "100.00"
    assert [week["expected"] for week in usd] == expected


def test_forecast_delays_round_half_up_and_never_before_tomorrow() -> None:
    history = DelayHistory()
    history.add("A", 1)
    history.add("A", 2)  # 1.5 days -> 2
    assert history.delay_days("A") == 2
    assert history.delay_days("nobody") == 2  # the portfolio's average is the same 1.5
    assert DelayHistory().delay_days("A") == 0
    assert expected_on(date(2026, 1, 1), 5, AS_OF) == date(2026, 7, 1)
    # an item expected on day 7 is in week 1, on day 8 in week 2
    items = [
        OpenItem("A", "EUR", date(2026, 7, 5), Decimal("1")),  # + 2 = 07-07
        OpenItem("A", "EUR", date(2026, 7, 6), Decimal("2")),  # + 2 = 07-08
    ]
    weeks = cash_forecast(as_of=AS_OF, open_items=items, history=history)["EUR"]
    assert [week["expected"] for week in weeks[:3]] == ["1.00", "2.00", "0.00"]
