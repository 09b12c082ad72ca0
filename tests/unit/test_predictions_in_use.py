"""Predictions where collectors work (issue 19, item 2): the worklist's "expected to pay late" factor
(the domain's priority rule) and the 360 page's predicted pay dates with their factors."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from arcollect.entities import Invoice
from arcollect.outlook import CUSTOMER_AVERAGE, OutlookFactor, PayOutlook
from arcollect.priority import Factors, factors_for, score
from tests.unit.test_staff_web import (  # noqa: F401
    StaffClient,
    client,
    collector,
    directory,
    sessions,
    workspace,
)
from tests.unit.workspace_fake import TODAY, FakeWorkspace, account_360

DUE = TODAY - timedelta(days=40)


def outlook(number: str, chance: str | None, pay: date, **kw: object) -> PayOutlook:
    values: dict[str, object] = {
        "customer_id": "C1",
        "invoice_number": number,
        "as_of": TODAY - timedelta(days=1),
        "due_date": DUE,
        "pay_date": pay,
        "low": pay - timedelta(days=5),
        "high": pay + timedelta(days=12),
        "probability_over_30_days_late": None if chance is None else Decimal(chance),
        "factors": (
            OutlookFactor(
                "customer_history", Decimal("20.2"), "customer paid its last 6 invoices 42 days late"
            ),
            OutlookFactor("amount", Decimal("3.4"), "amount above this customer's usual"),
            OutlookFactor("promise", Decimal("-5"), "open promise to pay on 2026-04-14"),
        ),
    }
    values.update(kw)
    return PayOutlook(**values)  # type: ignore[arg-type]


def invoice(number: str) -> Invoice:
    return Invoice(
        customer_id="C1",
        invoice_number=number,
        currency="EUR",
        amount=Decimal("1000"),
        open_amount=Decimal("1000"),
        invoice_date=DUE - timedelta(days=30),
        due_date=DUE,
    )


def test_expected_to_pay_late_scores_the_likeliest_late_invoice_and_explains_it() -> None:
    late = outlook("INV-1", "0.8", DUE + timedelta(days=45))
    early = outlook("INV-2", "0.1", DUE + timedelta(days=2))
    factors = factors_for(
        "call", [invoice("INV-1"), invoice("INV-2")], None, TODAY, outlooks={"INV-1": late, "INV-2": early}
    )
    _, reasons = score(factors, TODAY)
    [reason] = [r for r in reasons if r.factor == "late"]
    assert reason.points == 8
    assert reason.text.startswith(
        f"expected to pay late: INV-1 expected on {late.pay_date.isoformat()}, 45 days late"
    )
    assert f"45 days late, as the report of {late.as_of.isoformat()} predicted (80%: " in reason.text
    assert "an 80% chance" not in reason.text and "a 80% chance" in reason.text
    assert reason.text.endswith("customer paid its last 6 invoices 42 days late (+20 d)")
    # Kept on the task like the other factors
    assert Factors.from_detail("call", factors.as_detail()) == factors
    # No prediction (the sweep's tasks, or before any report ran): no such factor
    _, without = score(factors_for("call", [invoice("INV-1")], None, TODAY), TODAY)
    assert all(r.factor != "late" for r in without)


def test_under_the_customer_average_rule_late_means_expected_over_30_days_late() -> None:
    rule = outlook(
        "INV-1",
        None,
        DUE + timedelta(days=35),
        basis=CUSTOMER_AVERAGE,
        fallback=True,
        low=DUE + timedelta(days=35),
    )
    rule = replace(rule, high=rule.pay_date)
    _, reasons = score(factors_for("call", [invoice("INV-1")], None, TODAY, outlooks={"INV-1": rule}), TODAY)
    [reason] = [r for r in reasons if r.factor == "late"]
    assert reason.points == 10 and "the customer-average rule" in reason.text


def test_the_360_page_shows_each_open_invoices_prediction_with_its_factors(
    workspace: FakeWorkspace,  # noqa: F811
    collector: StaffClient,  # noqa: F811
) -> None:
    predicted = outlook("INV-1", "0.62", DUE + timedelta(days=45))
    workspace.accounts["C1"] = replace(account_360(), predictions={"INV-1": predicted})
    text = collector.get("/staff/customers/C1").text
    assert "Predicted pay dates" in text
    assert 'id="prediction-INV_2d1"' in text and 'href="#prediction-INV_2d1"' in text
    assert f"Invoice INV-1: expected {predicted.pay_date.isoformat()}" in text
    assert predicted.interval_text() in text and "62%" in text
    assert "customer paid its last 6 invoices 42 days late (+20 d)" in text
    assert "open promise to pay on 2026-04-14 (-5 d)" in text


def test_without_predictions_the_360_page_has_no_such_section(collector: StaffClient) -> None:  # noqa: F811
    assert "Predicted pay dates" not in collector.get("/staff/customers/C1").text
