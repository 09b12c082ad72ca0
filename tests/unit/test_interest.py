"""Statutory late-payment charges, worked out by hand (docs/late-charges.md).

Interest: base x rate / 100 x days / 365 per stretch of days with one base and one rate, summed
unrounded and rounded to cents once at the end.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import arcollect
from arcollect.entities import Allocation, Customer, Invoice, Payment
from arcollect.interest import (
    Compensation,
    DayCount,
    InterestRule,
    LateCharges,
    RatePeriod,
    Reduction,
    charges,
    compensation_for,
    invoice_charges,
    reductions_for,
)
from arcollect.money import in_minor_units
from arcollect.policy import PolicyError, parse_policy, shipped_policy

D = Decimal

# ECB main refinancing rate as a member state's reference rate for each half-year, plus 8 points.
EU_RATES = InterestRule(
    reference_rates=(RatePeriod(date(2024, 1, 1), D("4.50")), RatePeriod(date(2024, 7, 1), D("4.25"))),
    margin=D(8),
)
EU = LateCharges(interest=EU_RATES, compensation=Compensation.EU)

# Bank of England base rate on 31 December / 30 June, for the half-year that follows, plus 8%.
UK_RATES = InterestRule(
    reference_rates=(
        RatePeriod(date(2024, 1, 1), D("5.25")),
        RatePeriod(date(2024, 7, 1), D("5.25")),
        RatePeriod(date(2025, 1, 1), D("4.75")),
    ),
    margin=D(8),
)
UK = LateCharges(interest=UK_RATES, compensation=Compensation.UK)


def test_eu_rate_change_mid_period_a_partial_payment_and_a_credit_note() -> None:
    """EUR 10,000 due 31 May 2024, seen on 31 July 2024 (61 days late):

    | days                  | n  | base   | rate   | interest = base x rate x n / 365 |
    | 1 Jun - 14 Jun        | 14 | 10,000 | 12.50% | 17,500 / 365 = 47.945205...      |
    | 15 Jun (paid 4,000)   | 16 |  6,000 | 12.50% | 12,000 / 365 = 32.876712...      |
      - 30 Jun
    | 1 Jul (rate 4.25+8)   |  9 |  6,000 | 12.25% |  6,615 / 365 = 18.123287...      |
      - 9 Jul
    | 10 Jul (credit 1,000) | 22 |  5,000 | 12.25% | 13,475 / 365 = 36.917808...      |
      - 31 Jul
    total 49,590 / 365 = 135.863013... -> EUR 135.86, and EUR 40 compensation.
    """
    result = charges(
        EU,
        amount=D(10000),
        currency="EUR",
        due_date=date(2024, 5, 31),
        as_of=date(2024, 7, 31),
        reductions=(
            Reduction(date(2024, 7, 10), D(1000), "credit_note"),
            Reduction(date(2024, 6, 15), D(4000), "payment"),
        ),
    )
    assert [(p.first_day.isoformat(), p.days, p.base, p.rate) for p in result.periods] == [
        ("2024-06-01", 14, D(10000), D("12.50")),
        ("2024-06-15", 16, D(6000), D("12.50")),
        ("2024-07-01", 9, D(6000), D("12.25")),
        ("2024-07-10", 22, D(5000), D("12.25")),
    ]
    assert sum(p.interest for p in result.periods) == D(49590) / D(365)
    assert result.interest == D("135.86")
    assert result.compensation == D(40)
    assert result.total == D("175.86")
    assert result.days_late == 61 and result.currency == "EUR" and result.uncovered_days == 0
    # Rounding each period first would give a cent more: 47.95 + 32.88 + 18.12 + 36.92 = 135.87.
    assert sum(in_minor_units(p.interest, "EUR") for p in result.periods) == D("135.87")


@pytest.mark.parametrize(
    ("currency", "interest"), [("JPY", D(136)), ("KWD", D("135.863")), ("EUR", D("135.86"))]
)
def test_interest_is_rounded_to_the_currencys_minor_unit(currency: str, interest: Decimal) -> None:
    # The EU example's days (135.863... unrounded) in yen, dinar and euro: whole yen, fils, cents
    result = charges(
        EU, amount=D(10000), currency=currency, due_date=date(2024, 5, 31), as_of=date(2024, 7, 31),
        reductions=(
            Reduction(date(2024, 7, 10), D(1000), "credit_note"), Reduction(date(2024, 6, 15), D(4000)),
        ),
    )  # fmt: skip
    assert (result.interest, result.compensation) == (interest, D(40))


def test_eu_compensation_is_40_in_the_invoices_currency_whatever_its_size() -> None:
    for amount in (D("12.00"), D(1000), D(250000)):
        assert compensation_for(Compensation.EU, amount) == D(40)
    sek = charges(
        LateCharges(compensation=Compensation.EU),
        amount=D(500),
        currency="SEK",
        due_date=date(2024, 1, 31),
        as_of=date(2024, 2, 1),
    )
    assert (sek.currency, sek.interest, sek.compensation) == ("SEK", D(0), D(40))


@pytest.mark.parametrize(
    ("debt", "compensation"),
    [
        (D("999.99"), D(40)),
        (D("1000.00"), D(70)),
        (D("9999.99"), D(70)),
        (D("10000.00"), D(100)),
        (D("250000"), D(100)),
    ],
)
def test_uk_compensation_tiers_by_the_debts_amount(debt: Decimal, compensation: Decimal) -> None:
    result = charges(UK, amount=debt, currency="GBP", due_date=date(2024, 3, 31), as_of=date(2024, 4, 1))
    assert result.compensation == compensation


def test_uk_under_1000_interest_and_40() -> None:
    """GBP 800 due 31 Mar 2024, 30 days late on 30 Apr: 800 x 13.25% x 30 / 365 = 3,180 / 365 =
    8.712328... -> 8.71, and GBP 40."""
    result = charges(UK, amount=D(800), currency="GBP", due_date=date(2024, 3, 31), as_of=date(2024, 4, 30))
    assert (result.days_late, result.interest, result.compensation) == (30, D("8.71"), D(40))


def test_uk_1000_to_9999_interest_and_70() -> None:
    """GBP 5,000 due 31 Mar 2024, 30 days late: 5,000 x 13.25% x 30 / 365 = 19,875 / 365 = 54.452054...
    -> 54.45, and GBP 70."""
    result = charges(UK, amount=D(5000), currency="GBP", due_date=date(2024, 3, 31), as_of=date(2024, 4, 30))
    assert (result.interest, result.compensation) == (D("54.45"), D(70))


def test_uk_10000_and_more_across_a_rate_change_with_a_partial_payment_and_100() -> None:
    """GBP 12,000 due 31 Dec 2024; 2,000 paid on 20 Jan 2025; seen on 28 Feb 2025 (59 days late). The
    rate for 2025 is 4.75 + 8 = 12.75%:
    1 Jan - 19 Jan: 19 days x 12,000 x 12.75% = 29,070 / 365
    20 Jan - 28 Feb: 40 days x 10,000 x 12.75% = 51,000 / 365
    total 80,070 / 365 = 219.369863... -> 219.37; compensation on the debt of 12,000: GBP 100."""
    result = charges(
        UK,
        amount=D(12000),
        currency="GBP",
        due_date=date(2024, 12, 31),
        as_of=date(2025, 2, 28),
        reductions=(Reduction(date(2025, 1, 20), D(2000)),),
    )
    assert [(p.days, p.base, p.rate) for p in result.periods] == [
        (19, D(12000), D("12.75")),
        (40, D(10000), D("12.75")),
    ]
    assert (result.interest, result.compensation, result.total) == (D("219.37"), D(100), D("319.37"))


def test_a_rate_change_mid_period_in_the_uk_uses_each_half_years_rate() -> None:
    """GBP 1,000 due 15 Dec 2024, seen on 10 Jan 2025: 16 days at 13.25% (16 Dec - 31 Dec) and 10 at
    12.75%: (1,000 x 13.25 x 16 + 1,000 x 12.75 x 10) / 100 / 365 = (2,120 + 1,275) / 365 = 9.301369...
    -> 9.30."""
    result = charges(UK, amount=D(1000), currency="GBP", due_date=date(2024, 12, 15), as_of=date(2025, 1, 10))
    assert [(p.days, p.rate) for p in result.periods] == [(16, D("13.25")), (10, D("12.75"))]
    assert result.interest == D("9.30")


def test_a_fixed_annual_rate_actual_365_counts_a_leap_years_366_days() -> None:
    rule = LateCharges(interest=InterestRule(annual_rate=D(8)))
    year = charges(
        rule, amount=D(1000), currency="EUR", due_date=date(2022, 12, 31), as_of=date(2023, 12, 31)
    )
    leap = charges(
        rule, amount=D(1000), currency="EUR", due_date=date(2023, 12, 31), as_of=date(2024, 12, 31)
    )
    assert (year.interest, leap.interest) == (D("80.00"), D("80.22"))  # 1,000 x 8% x 366 / 365
    per_360 = LateCharges(interest=InterestRule(annual_rate=D(8), day_count=DayCount.ACTUAL_360))
    assert charges(
        per_360, amount=D(1000), currency="EUR", due_date=date(2022, 12, 31), as_of=date(2023, 12, 31)
    ).interest == D("81.11")  # 1,000 x 8% x 365 / 360 = 81.111...


def test_nothing_before_late_a_paid_invoice_stops_and_days_before_the_table_are_named() -> None:
    on_due = charges(EU, amount=D(100), currency="EUR", due_date=date(2024, 5, 31), as_of=date(2024, 5, 31))
    assert (on_due.interest, on_due.compensation, on_due.days_late, on_due.any) == (D(0), D(0), 0, False)
    paid = charges(
        EU,
        amount=D(1000),
        currency="EUR",
        due_date=date(2024, 5, 31),
        as_of=date(2024, 8, 31),
        reductions=(Reduction(date(2024, 6, 11), D(1200)),),  # overpaid: the base stops at zero
    )
    # 10 days x 1,000 x 12.5% / 365 = 3.424657... -> 3.42; then nothing.
    assert paid.interest == D("3.42") and paid.periods[-1].base == 0
    early = charges(EU, amount=D(1000), currency="EUR", due_date=date(2023, 12, 26), as_of=date(2024, 1, 5))
    # 5 days (27 - 31 Dec) before the table's first period earn nothing and are counted;
    # 5 days in January: 1,000 x 12.5% x 5 / 365 = 1.712328... -> 1.71.
    assert (early.uncovered_days, early.interest) == (5, D("1.71"))


CHARGES = """
late_charges:
  customers:
    C-UK: {interest: {reference_rates: [{from: 2025-01-01, rate: 4.75}], margin: 8}, compensation: uk}
    C-NONE: false
"""
STANDARD_EU = """    late_charges:
      interest:
        reference_rates:
          - {from: 2024-07-01, rate: 4.25}
          - {from: 2024-01-01, rate: "4.50"}
        margin: 8
      compensation: eu
"""


def with_charges() -> str:
    shipped = (Path(arcollect.__file__).parent / "policies" / "default.yaml").read_text()
    marker = "    # Until someone decides, the agency decision comes back every 30 days, three more times.\n"
    assert marker in shipped
    return shipped.replace(marker, STANDARD_EU + marker, 1) + CHARGES


def test_the_shipped_policy_charges_nothing() -> None:
    policies = shipped_policy()
    assert all(policy.late_charges is None for policy in policies.policies.values())
    assert policies.customer_late_charges == {}
    assert (
        policies.late_charges_for(Customer(customer_id="C1", name="A", email=None), date(2026, 1, 1)) is None
    )


def test_a_policy_charges_its_segment_and_a_customer_entry_wins() -> None:
    policies = parse_policy(with_charges(), source="test")
    today = date(2026, 1, 1)
    standard = policies.late_charges_for(Customer(customer_id="C1", name="A", email=None), today)
    assert standard == LateCharges(interest=EU_RATES, compensation=Compensation.EU)  # sorted by start
    assert standard is not None and standard.add_to_open_amount is False
    uk = policies.late_charges_for(Customer(customer_id="C-UK", name="B", email=None), today)
    assert uk is not None and uk.compensation is Compensation.UK
    assert uk.interest is not None and uk.interest.rate_on(date(2025, 3, 1)) == D("12.75")
    assert policies.late_charges_for(Customer(customer_id="C-NONE", name="C", email=None), today) is None
    key_account = Customer(customer_id="C2", name="D", email=None, annual_sales=D(20_000_000))
    assert policies.late_charges_for(key_account, today) is None


def test_every_mistake_in_late_charges_is_named_with_its_key() -> None:
    broken = (
        with_charges().replace(
            STANDARD_EU,
            """    late_charges:
      interest:
        annual_rate: 9
        margin: 8
        day_count: 30/360
      compensation: fr
      add_to_open_amount: "yes"
      fees: 5
""",
        )
        + """    C-BAD:
      interest:
        reference_rates: [{from: "2024-02-30", rate: 4}, {from: 2024-01-01}, {from: 2024-01-01, rate: -1}]
    C-EMPTY: {add_to_open_amount: true}
    C-BOTH: {interest: {annual_rate: 8, reference_rates: [{from: 2024-01-01, rate: 4}]}}
"""
    )
    with pytest.raises(PolicyError) as caught:
        parse_policy(broken, source="test")
    message = str(caught.value)
    for expected in (
        "policies.standard.late_charges.fees: unknown key",
        "policies.standard.late_charges.interest.margin: a margin goes with `reference_rates`",
        "policies.standard.late_charges.interest.day_count: '30/360' is not one of actual/365, actual/360",
        "policies.standard.late_charges.compensation: 'fr' is not one of eu, uk",
        "policies.standard.late_charges.add_to_open_amount: expected true or false, found 'yes'",
        "late_charges.customers.C-BAD.interest.reference_rates[0].from: expected a date YYYY-MM-DD",
        "late_charges.customers.C-BAD.interest.reference_rates[1].rate: is required",
        "late_charges.customers.C-BAD.interest.reference_rates[2].rate: expected a non-negative amount",
        "late_charges.customers.C-EMPTY: charges nothing",
        "late_charges.customers.C-BOTH.interest: give either `annual_rate` or `reference_rates`",
    ):
        assert expected in message, expected


def test_a_date_yaml_cannot_read_is_a_policy_error_not_a_crash() -> None:
    broken = with_charges().replace("{from: 2024-07-01, rate: 4.25}", "{from: 2024-13-01, rate: 4.25}")
    with pytest.raises(PolicyError, match=r"not valid YAML: month must be in 1\.\.12"):
        parse_policy(broken, source="test")


def test_add_to_open_amount_is_read_when_the_policy_says_so() -> None:
    text = with_charges().replace(
        "      compensation: eu\n", "      compensation: eu\n      add_to_open_amount: true\n"
    )
    charges_ = parse_policy(text, source="test").policies["standard"].late_charges
    assert charges_ is not None and charges_.add_to_open_amount is True


def _invoice(**changes: Any) -> Invoice:
    base = Invoice(
        customer_id="C1",
        invoice_number="INV-EU",
        currency="EUR",
        amount=D(10000),
        open_amount=D(5000),
        invoice_date=date(2024, 5, 1),
        due_date=date(2024, 5, 31),
    )
    return replace(base, **changes)


def test_the_dated_records_give_the_reductions_and_what_none_dates_counts_from_the_start() -> None:
    payment = Payment(
        customer_id="C1",
        payment_id="P1",
        payment_date=date(2024, 6, 15),
        amount=D(4500),
        currency="EUR",
        allocations=(Allocation("INV-EU", D(4000)), Allocation("INV-OTHER", D(500))),
    )
    other_currency = replace(payment, payment_id="P2", currency="USD")
    note = _invoice(
        invoice_number="CN-1",
        document_type="credit_note",
        amount=D(1000),
        open_amount=D(0),
        status="closed",
        invoice_date=date(2024, 7, 10),
        credit_match="INV-EU",
    )
    found = reductions_for(_invoice(), [payment, other_currency], [note, _invoice(invoice_number="X")])
    assert found == [
        Reduction(date(2024, 6, 15), D(4000), "payment"),
        Reduction(date(2024, 7, 10), D(1000), "credit_note"),
    ]
    # The EU example again, from the records.
    result = invoice_charges(EU, _invoice(), date(2024, 7, 31), [payment], [note])
    assert result is not None and result.interest == D("135.86")
    # Without the credit note, its 1,000 is undated: it counts from the invoice date (never overcharged).
    undated = reductions_for(_invoice(), [payment], [])
    assert undated[-1] == Reduction(date(2024, 5, 1), D(1000), "undated")
    lower = invoice_charges(EU, _invoice(), date(2024, 7, 31), [payment], [])
    assert lower is not None and lower.interest < D("135.86")


def test_credit_notes_invoices_not_yet_late_and_closed_ones_have_no_charges() -> None:
    today = date(2024, 7, 31)
    assert invoice_charges(EU, _invoice(document_type="credit_note"), today) is None
    assert invoice_charges(EU, _invoice(due_date=today), today) is None
    assert invoice_charges(EU, _invoice(open_amount=D(0), status="closed"), today) is None


def test_policy_show_says_what_each_policy_and_customer_is_charged() -> None:
    from arcollect_cli.dunning import policy_document, policy_table

    policies = parse_policy(with_charges(), source="test")
    table = policy_table(policies)
    assert (
        "  late charges: interest at the reference rate + 8 points (2 dated rates, the latest 4.25% from "
        "2024-07-01), actual/365; EU compensation per invoice; not added to the open amount"
    ) in table
    assert "customer C-NONE: late charges: none" in table
    document = policy_document(policies)
    assert document["policies"]["key-accounts"]["late_charges"] is None
    assert document["customer_late_charges"]["C-UK"].endswith(
        "UK compensation per invoice; not added to the open amount"
    )
    assert "late charges" not in policy_table(shipped_policy())
