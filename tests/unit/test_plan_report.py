"""The payment plans' figures of the KPI report (reports/plans.py), no AWS: statuses as of the report's
day, what is open under the active plans and due within four weeks, the kept rate of the plans settled in
the window, per currency; and the sheet made of them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

from arcollect.entities import Allocation, Invoice, Payment
from arcollect.plans import Instalment, PaymentPlan
from arcollect.reports.plans import plan_figures, plans_sheet

MUELLER = "Müller & Söhne, GmbH"
AS_OF = date(2026, 12, 10)


def _plan(plan_id: str, *amounts: str, currency: str = "EUR", **more: object) -> PaymentPlan:
    return PaymentPlan(
        customer_id=MUELLER, plan_id=plan_id, invoice_numbers=(f"INV/2026/{plan_id[-4:]}",),
        currency=currency,
        instalments=tuple(
            Instalment(n, date(2026, 12, 1 + 14 * (n - 1)) if n < 3 else date(2027, 1, 20), Decimal(a))
            for n, a in enumerate(amounts, start=1)
        ),
        created_at=datetime(2026, 11, 23, 10, tzinfo=UTC), source="cora", **more,  # type: ignore[arg-type]
    )  # fmt: skip


def _invoice(plan: PaymentPlan, open_amount: str) -> Invoice:
    return Invoice(
        customer_id=MUELLER, invoice_number=plan.invoice_numbers[0], currency=plan.currency,
        amount=plan.total, open_amount=Decimal(open_amount), invoice_date=date(2026, 10, 1),
        due_date=date(2026, 10, 31), promise_id=plan.plan_id,
    )  # fmt: skip


def test_plans_by_status_open_amount_due_soon_and_kept_rate_as_of_the_report_day() -> None:
    settled = datetime(2026, 12, 5, 9, tzinfo=UTC)
    active = _plan("plan-0042", "600.00", "600.00", "600.00")
    usd = _plan("plan-0099", "100.00", "100.00", currency="USD")
    kept = _plan("plan-0043", "50.00", "50.00", status="completed", settled_at=settled)
    broken = _plan("plan-0044", "80.00", "80.00", status="broken", settled_at=settled, missed_instalment=1)
    cancelled = _plan("plan-0045", "70.00", "70.00", status="cancelled", settled_at=settled)
    # settled after the report's day: still active on it; agreed after it: not there at all
    later = _plan(
        "plan-0046", "90.00", "90.00", status="completed", settled_at=datetime(2026, 12, 20, tzinfo=UTC)
    )
    future = replace(_plan("plan-0047", "10.00", "10.00"), created_at=datetime(2026, 12, 11, tzinfo=UTC))
    plans = [active, usd, kept, broken, cancelled, later, future]
    invoices = [_invoice(active, "1100.00"), _invoice(usd, "200.00"), _invoice(later, "180.00")]
    # fmt: off
    payments = [
        Payment(
            customer_id=MUELLER,
            payment_id=f"ZE/{day}",
            payment_date=day,
            amount=Decimal(amount),
            currency="EUR",
            applied_amount=Decimal(amount),
            allocations=(Allocation(active.invoice_numbers[0], Decimal(amount)),),
        )
        for day, amount in ((date(2026, 12, 1), "700.00"), (date(2026, 12, 11), "400.00"))
    ]
    # fmt: on
    part = plan_figures(plans, invoices, payments, as_of=AS_OF, window_days=30, grace_days=3)
    assert part["by_status"] == [
        {"status": "active", "currency": "EUR", "count": 2, "amount": "1980.00"},
        {"status": "active", "currency": "USD", "count": 1, "amount": "200.00"},
        {"status": "completed", "currency": "EUR", "count": 1, "amount": "100.00"},
        {"status": "broken", "currency": "EUR", "count": 1, "amount": "160.00"},
        {"status": "cancelled", "currency": "EUR", "count": 1, "amount": "140.00"},
    ]
    # 700.00 paid by the day (the 400.00 of the 11th not yet): 500.00 of instalment 2 (due 15 Dec) is due
    # within four weeks, instalment 3 (20 Jan) is not; the plan settled on the 20th has both open
    [eur, dollars] = part["active"]
    assert eur == {
        "currency": "EUR", "plans": 2, "open_amount": "1280.00",
        "due_soon_count": 3, "due_soon_amount": "680.00",
    }  # fmt: skip
    assert dollars["open_amount"] == "200.00" and dollars["due_soon_count"] == 2
    assert part["settled"] == [{"currency": "EUR", "completed": 1, "broken": 1, "kept_rate": "0.5000"}]
    # The sheet: a row per status, per currency of the active plans, and the kept rate as a share
    sheet = plans_sheet(part)
    assert (sheet.title, sheet.csv_name) == ("Payment plans", "payment-plans.csv")
    assert sheet.blocks[2].rows == [["EUR", 1, 1, Decimal("0.5000")]]


def test_no_settled_plan_in_the_window_has_no_kept_rate() -> None:
    old = _plan(
        "plan-0043", "50.00", "50.00", status="completed", settled_at=datetime(2026, 9, 1, tzinfo=UTC)
    )
    part = plan_figures([old], [], [], as_of=AS_OF, window_days=30, grace_days=3)
    assert part["settled"] == [] and part["active"] == []
    assert part["by_status"] == [{"status": "completed", "currency": "EUR", "count": 1, "amount": "100.00"}]
