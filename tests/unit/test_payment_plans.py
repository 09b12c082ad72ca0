"""The payment plan rules (arcollect/plans.py), no AWS: equal instalments add up to the cent, a request
is checked field by field and against the policy's limits for customers, the same request gives the same
id, and where a plan stands follows from the payments (oldest instalment first) and the invoices' open
amount (credits off the last instalments)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from arcollect.entities import Allocation, Invoice, Payment
from arcollect.inputs import InputError
from arcollect.plans import (
    Instalment,
    PaymentPlan,
    PlanLimits,
    PlanStatus,
    RequestedInstalment,
    checked_plan,
    even_instalments,
    parse_limits,
    reminder_for,
    standing,
)
from arcollect.policy import SHIPPED_POLICY

CUSTOMER = "Müller & Söhne, GmbH"
NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)
TODAY = NOW.date()


def _invoice(number: str, open_amount: str, **changes: object) -> Invoice:
    return Invoice(
        customer_id=CUSTOMER, invoice_number=number, currency=str(changes.pop("currency", "EUR")),
        amount=Decimal(open_amount), open_amount=Decimal(open_amount), invoice_date=date(2026, 10, 1),
        due_date=date(2026, 10, 31), **changes,  # type: ignore[arg-type]
    )  # fmt: skip


BOOK = {
    "INV/2026/0042": _invoice("INV/2026/0042", "1200.00"),
    "INV/2026/0043": _invoice("INV/2026/0043", "600.00"),
    "INV/2026/0099": _invoice("INV/2026/0099", "80.00", currency="USD"),
    "GS/2026/0007": _invoice("GS/2026/0007", "200.00", document_type="credit_note"),
    "INV/2026/0050": _invoice("INV/2026/0050", "99.00", disputed=True),
    "INV/2026/0100": _invoice("INV/2026/0100", "0.05"),
    "INV/2026/0101": _invoice("INV/2026/0101", "500.00", agency="Inkasso Nord"),
}


def _plan(limits: PlanLimits | None = None, **request: object) -> PaymentPlan:
    arguments: dict[str, object] = {"invoice_numbers": ["INV/2026/0042", "INV/2026/0043"], **request}
    return checked_plan(
        CUSTOMER, lookup=BOOK.get, today=TODAY, now=NOW, source="dana", limits=limits,
        **arguments,  # type: ignore[arg-type]
    )  # fmt: skip


def test_equal_instalments_add_up_to_the_cent_the_last_taking_the_remainder() -> None:
    parts = even_instalments(
        Decimal("1000.00"), count=3, first_due=date(2026, 12, 1), every_days=30, currency="EUR"
    )
    assert [amount for _, amount in parts] == [Decimal("333.33"), Decimal("333.33"), Decimal("333.34")]
    assert [day for day, _ in parts] == [date(2026, 12, 1), date(2026, 12, 31), date(2027, 1, 30)]
    assert sum(amount for _, amount in parts) == Decimal("1000.00")


@pytest.mark.parametrize(
    ("currency", "total", "amounts"),
    [
        ("JPY", "1000", ["333", "333", "334"]),
        ("KWD", "1.000", ["0.333", "0.333", "0.334"]),
        ("EUR", "1000.00", ["333.33", "333.33", "333.34"]),
    ],
)
def test_equal_instalments_are_in_the_currencys_minor_unit(
    currency: str, total: str, amounts: list[str]
) -> None:
    parts = even_instalments(
        Decimal(total), count=3, first_due=date(2026, 12, 1), every_days=30, currency=currency
    )
    assert [amount for _, amount in parts] == [Decimal(a) for a in amounts]
    assert sum(amount for _, amount in parts) == Decimal(total)


def test_an_instalment_finer_than_the_currencys_unit_is_refused_and_one_at_it_is_taken() -> None:
    book = {
        "JP-1": _invoice("JP-1", "1000", currency="JPY"),
        "KW-1": _invoice("KW-1", "1.000", currency="KWD"),
    }

    def plan_of(number: str, *amounts: str) -> PaymentPlan:
        return checked_plan(
            CUSTOMER, invoice_numbers=[number], lookup=book.get, today=TODAY, now=NOW, source="dana",
            instalments=[RequestedInstalment(f"2026-12-{day:02d}", a) for day, a in enumerate(amounts, 1)],
        )  # fmt: skip

    with pytest.raises(InputError) as refused:
        plan_of("JP-1", "500.5", "499.5")
    assert (refused.value.field, refused.value.message) == (
        "instalments",
        "instalment 1: 500.5 has decimal places, and JPY has none (its smallest unit is 1)",
    )
    assert [i.amount for i in plan_of("KW-1", "0.333", "0.667").instalments] == [
        Decimal("0.333"),
        Decimal("0.667"),
    ]


@pytest.mark.parametrize(
    ("currency", "instalment", "paid", "settled"),
    [
        ("GBP", "100.001", "100.00", True),  # 0.001 GBP left: "0.00 GBP"
        ("GBP", "100.005", "100.00", False),  # 0.005 GBP left: written 0.01 GBP (half up), reminded
        ("JPY", "333.4", "333", True),  # 0.4 JPY left: "0 JPY"
        ("JPY", "333.5", "333", False),  # 0.5 JPY left: written 1 JPY
        ("KWD", "1.0004", "1.000", True),  # 0.0004 KWD left: "0.000 KWD"
    ],
)
def test_an_instalment_whose_remainder_rounds_to_nothing_is_paid_and_the_next_is_reminded(
    currency: str, instalment: str, paid: str, settled: bool
) -> None:
    # Given a plan of two instalments (agreed before amounts were held to the currency's unit), its
    # invoice open for what the payment left
    first, second = Decimal(instalment), Decimal(500)
    plan = PaymentPlan(
        CUSTOMER, "plan-0123456789abcdef", ("INV-1",), currency,
        (Instalment(1, date(2026, 12, 1), first), Instalment(2, date(2027, 1, 4), second)), NOW, "dana",
    )  # fmt: skip
    invoice = _invoice(
        "INV-1", str(first + second - Decimal(paid)), currency=currency, promise_id=plan.plan_id
    )
    payment = Payment(
        customer_id=CUSTOMER, payment_id="P-1", payment_date=date(2026, 11, 30), amount=Decimal(paid),
        currency=currency, applied_amount=Decimal(paid), allocations=(Allocation("INV-1", Decimal(paid)),),
    )  # fmt: skip
    # When the sweep looks at it on the first instalment's due day, and after its grace
    state = standing(plan, invoices=[invoice], payments=[payment], today=date(2026, 12, 1), grace_days=3)
    late = standing(plan, invoices=[invoice], payments=[payment], today=date(2026, 12, 5), grace_days=3)
    reminder = reminder_for(plan, state, limits=PlanLimits(), grace_days=3)
    assert reminder is not None
    if settled:
        # Then what is left of the first rounds to nothing: it is paid, the second is reminded, and the
        # plan is not broken by it
        assert state.instalments[0].settled and (reminder.number, reminder.amount) == (2, second)
        assert late.status is PlanStatus.OPEN
    else:
        # Then what is left shows as one minor unit: it is still asked for
        assert not state.instalments[0].settled and (reminder.number, reminder.amount) == (
            1,
            first - Decimal(paid),
        )
        assert late.status is PlanStatus.BROKEN


def test_the_same_request_gives_the_same_plan_id_and_another_a_different_one() -> None:
    first = _plan(count=3, first_due="2026-12-01", every_days=31)
    again = _plan(count=3, first_due="2026-12-01", every_days=31)
    other = _plan(count=2, first_due="2026-12-01", every_days=31)
    assert first.plan_id == again.plan_id != other.plan_id


@pytest.mark.parametrize(
    ("request_", "field", "words"),
    [
        ({"invoice_numbers": []}, "invoice_numbers", "choose at least one invoice"),
        ({"invoice_numbers": ["INV/9999"]}, "invoice_numbers", "INV/9999 is not on this account"),
        ({"invoice_numbers": ["GS/2026/0007"]}, "invoice_numbers", "credit note"),
        ({"invoice_numbers": ["INV/2026/0050"]}, "invoice_numbers", "is disputed"),
        (
            {"invoice_numbers": ["INV/2026/0101"]},
            "invoice_numbers",
            "with the collection agency Inkasso Nord",
        ),
        ({"invoice_numbers": ["INV/2026/0042", "INV/2026/0099"]}, "invoice_numbers", "one currency"),
        ({"count": "1", "first_due": "2026-12-01"}, "count", "at least 2 instalments"),
        ({"count": "x", "first_due": "2026-12-01"}, "count", "whole number"),
        ({"count": "3", "first_due": "01.12.2026"}, "first_due", "YYYY-MM-DD"),
        ({"count": "3", "first_due": "2026-11-20"}, "instalments", "before today (2026-11-23)"),
        ({"count": "3", "first_due": "2026-12-01", "every_days": "0"}, "every_days", "from 1 to 366"),
        ({"count": "36", "first_due": "9999-12-01", "every_days": "366"}, "first_due", "too far ahead"),
        (
            {"invoice_numbers": ["INV/2026/0100"], "count": "6", "first_due": "2026-12-01"},
            "instalments",
            "instalment 1 would be 0.00 EUR: 0.05 EUR is too little for 6 instalments",
        ),
        (
            {
                "invoice_numbers": ["INV/2026/0043"],
                "count": "36",
                "first_due": "2026-12-01",
                "every_days": "40",
            },
            "instalments",
            "at most 1095 days",
        ),
        (
            {
                "instalments": [
                    RequestedInstalment("2026-12-01", "900"),
                    RequestedInstalment("2026-12-01", "900"),
                ]
            },
            "instalments",
            "falls after the one before (2026-12-01 does not)",
        ),
        (
            {
                "instalments": [
                    RequestedInstalment("2026-12-01", "900"),
                    RequestedInstalment("2027-01-01", "800"),
                ]
            },
            "instalments",
            "add up to 1700.00 EUR; the chosen invoices have 1800.00 EUR open",
        ),
        (
            {
                "instalments": [
                    RequestedInstalment("2026-12-01", "900.001"),
                    RequestedInstalment("2027-01-01", "1"),
                ]
            },
            "instalments",
            "instalment 1: 900.001 has more decimal places than EUR's 2 (its smallest unit is 0.01)",
        ),
    ],
)
def test_a_request_is_refused_naming_the_field_and_what_is_wrong(
    request_: dict[str, object], field: str, words: str
) -> None:
    with pytest.raises(InputError) as refused:
        _plan(**request_)
    assert refused.value.field == field and words in refused.value.message, refused.value


def test_the_policys_limits_bind_a_customer_and_not_a_collector() -> None:
    limits = PlanLimits(max_instalments=6, max_days=180, min_instalment=Decimal(50))
    many = {"count": "8", "first_due": "2026-12-01", "every_days": "14"}
    assert len(_plan(**many).instalments) == 8
    with pytest.raises(InputError, match=r"at most 6 instalments \(the limit for a plan agreed online\)"):
        _plan(limits, **many)
    with pytest.raises(InputError, match=r"at most 180 days from today \(2027-05-22\)"):
        _plan(limits, count="3", first_due="2026-12-01", every_days="120")
    small = [RequestedInstalment("2026-12-01", "1790"), RequestedInstalment("2027-01-01", "10")]
    with pytest.raises(
        InputError, match=re.escape("instalment 2 is 10.00 EUR; each instalment of a plan agreed online")
    ):
        _plan(limits, instalments=small)


def test_the_policys_payment_plans_are_checked_with_clear_errors() -> None:
    assert parse_limits(None) == (PlanLimits(), [])
    limits, problems = parse_limits({"max_instalments": 12, "min_instalment": "25.50"})
    assert (limits.max_instalments, limits.min_instalment, problems) == (12, Decimal("25.50"), [])
    _, problems = parse_limits(
        {"max_instalments": 1, "max_days": "a year", "min_instalment": -5, "colour": 1}
    )
    assert problems == [
        "settings.payment_plans.colour: unknown setting; the known ones are max_instalments, max_days, "
        "min_instalment, reminder_days_before",
        "settings.payment_plans.max_instalments: expected a whole number from 2 to 36, found 1",
        "settings.payment_plans.max_days: expected a whole number from 1 to 1095, found 'a year'",
        "settings.payment_plans.min_instalment: expected an amount of 0 or more, found -5",
    ]


def _paid(amount: str, day: date, number: str = "INV/2026/0042") -> Payment:
    return Payment(
        customer_id=CUSTOMER, payment_id=f"P-{amount}-{day}", payment_date=day, amount=Decimal(amount),
        currency="EUR", applied_amount=Decimal(amount), allocations=(Allocation(number, Decimal(amount)),),
    )  # fmt: skip


def test_payments_go_to_the_instalments_oldest_first_and_credits_off_the_last() -> None:
    plan = _plan(count=3, first_due="2026-12-01", every_days=31)
    # (a plan's invoices carry its id where a promise's would be: what keeps them in it)
    invoices = [
        _invoice("INV/2026/0042", "300.00", promise_id=plan.plan_id),
        _invoice("INV/2026/0043", "400.00", promise_id=plan.plan_id),
    ]
    # 900 paid since the plan (a payment before it does not count), 200 credited on INV/2026/0043
    payments = [_paid("900.00", date(2026, 11, 30)), _paid("50.00", date(2026, 11, 1))]
    state = standing(plan, invoices=invoices, payments=payments, today=date(2026, 12, 2), grace_days=3)
    assert (state.paid, state.credited, state.status) == (
        Decimal("900.00"),
        Decimal("200.00"),
        PlanStatus.OPEN,
    )
    assert [(s.asked, s.paid, s.remaining) for s in state.instalments] == [
        (Decimal("600.00"), Decimal("600.00"), Decimal(0)),
        (Decimal("600.00"), Decimal("300.00"), Decimal("300.00")),
        (Decimal("400.00"), Decimal(0), Decimal("400.00")),
    ]
    assert state.current is not None and state.current.instalment.number == 2
    reminder = reminder_for(plan, state, limits=PlanLimits(), grace_days=3)
    assert reminder is not None and (reminder.number, reminder.amount) == (2, Decimal("300.00"))
    assert [day for _, day in reminder.reminders] == [date(2026, 12, 29), date(2027, 1, 1)]
    # The grace passes with instalment 2 short: broken; everything paid: completed
    late = standing(plan, invoices=invoices, payments=payments, today=date(2027, 1, 5), grace_days=3)
    assert late.status is PlanStatus.BROKEN and late.missed is not None and late.missed.instalment.number == 2
    closed = [_invoice(n, "0.00", promise_id=plan.plan_id) for n in ("INV/2026/0042", "INV/2026/0043")]
    paid_up = standing(plan, invoices=closed, payments=payments, today=date(2027, 3, 1), grace_days=3)
    assert paid_up.status is PlanStatus.COMPLETED


def test_a_disputed_invoice_leaves_the_plan_its_open_amount_off_the_last_instalments() -> None:
    plan = _plan(count=3, first_due="2026-12-01", every_days=31)  # 600.00 x 3 for 1200.00 + 600.00
    in_plan = _invoice("INV/2026/0042", "1200.00", promise_id=plan.plan_id)
    payments = [_paid("100.00", date(2026, 11, 30), "INV/2026/0043")]
    # Disputed while still carrying the plan's id (the ERP's file said so), or after leaving it (the id
    # taken off with the dispute, still open once the dispute is resolved): out of the plan either way;
    # what was paid on it before still counts towards the instalments
    for left in (
        _invoice("INV/2026/0043", "500.00", promise_id=plan.plan_id, disputed=True),
        _invoice("INV/2026/0043", "500.00", dispute_id="d-1", disputed=True),
        _invoice("INV/2026/0043", "500.00"),
    ):
        state = standing(plan, invoices=[in_plan, left], payments=payments, today=TODAY, grace_days=3)
        assert [(s.asked, s.remaining) for s in state.instalments] == [
            (Decimal("600.00"), Decimal("500.00")),
            (Decimal("600.00"), Decimal("600.00")),
            (Decimal("100.00"), Decimal("100.00")),
        ], left
        assert (state.open_amount, state.credited) == (Decimal("1200.00"), Decimal("500.00"))
    # The same invoice still in the plan: nothing comes off
    kept = _invoice("INV/2026/0043", "500.00", promise_id=plan.plan_id)
    whole = standing(plan, invoices=[in_plan, kept], payments=payments, today=TODAY, grace_days=3)
    assert whole.credited == 0 and whole.open_amount == Decimal("1700.00")


def test_a_dispute_of_a_planned_invoice_says_it_leaves_the_plan_and_tells_the_erp() -> None:
    from arcollect.changes import ChangeKind
    from arcollect.entities import Activity
    from arcollect.plans import with_withdrawal

    entry = Activity(CUSTOMER, NOW, "dispute-d-1", "dispute_opened", "Dispute of INV/2026/0042 logged")
    planned = _invoice("INV/2026/0042", "1200.00", promise_id="plan-0123456789abcdef")
    left = with_withdrawal(entry, planned, at=NOW, by="portal")
    assert left.detail["plan_id"] == "plan-0123456789abcdef"
    assert left.summary.endswith("it leaves payment plan plan-0123456789abcdef, whose last instalments come "
                                 "down by 1200.00 EUR")  # fmt: skip
    [change] = left.changes
    assert (change.kind, change.invoice_numbers, change.amount) == (
        ChangeKind.PLAN_INVOICE_WITHDRAWN,
        ("INV/2026/0042",),
        Decimal("1200.00"),
    )
    assert with_withdrawal(left, planned, at=NOW, by="portal") == left  # once, however often asked
    # A promise to pay (not a plan), or no promise: unchanged
    promised = _invoice("INV/2026/0042", "1200.00", promise_id="ptp-1")
    assert with_withdrawal(entry, promised, at=NOW, by="portal") == entry
    assert with_withdrawal(entry, BOOK["INV/2026/0043"], at=NOW, by="portal") == entry


def test_policy_show_says_what_a_customer_may_agree_online() -> None:
    from arcollect.policy import parse_policy, shipped_policy
    from arcollect_cli.dunning import policy_document

    shipped = policy_document(shipped_policy())["settings"]["payment_plans"]
    assert shipped == {
        "max_instalments": 6,
        "max_days": 180,
        "min_instalment": "50",
        "reminder_days_before": 3,
    }
    text = SHIPPED_POLICY.read_text().replace(
        "max_instalments: 6, max_days: 180", "max_instalments: 12, max_days: 365"
    )
    uploaded = policy_document(parse_policy(text, source="upload"))["settings"]["payment_plans"]
    assert (uploaded["max_instalments"], uploaded["max_days"]) == (12, 365)
