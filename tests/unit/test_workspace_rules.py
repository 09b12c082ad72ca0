"""The workspace's pure rules: the priority score, call outcomes, dispute transitions, promise
settlement and the policy's routing and collectors."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arcollect.disputes import DisputeStatus, sla_overdue
from arcollect.entities import Customer, Invoice, Payment, Promise
from arcollect.policy import PolicyError, parse_policy, shipped_policy
from arcollect.priority import MAX_SCORE, Factors, factors_for, risk_class, score
from arcollect.promises import PromiseStatus, settle
from arcollect.workspace.disputes import check_transition, parse_credit
from arcollect.workspace.model import CallOutcome, WorkspaceInputError
from arcollect.workspace.outcomes import MAX_ATTEMPTS, add_working_days, decide
from arcollect.workspace.view import days_late

TODAY = date(2026, 3, 10)


def invoice(number: str, due: date, amount: str = "100", currency: str = "EUR", **kw: object) -> Invoice:
    return Invoice("C", number, currency, Decimal(amount), Decimal(amount), date(2026, 1, 1), due, **kw)  # type: ignore[arg-type]


def customer(**kw: object) -> Customer:
    return Customer("C", "Customer", "ap@c.example", **kw)  # type: ignore[arg-type]


# --- the priority score ----------------------------------------------------------------------------


def test_each_factor_is_capped_and_the_total_is_their_sum() -> None:
    top = Factors("dispute", Decimal(10**9), "EUR", date(2020, 1, 1), 9, Decimal(10**12), "high")
    points, reasons = score(top, TODAY)
    assert points == MAX_SCORE == 100
    assert {r.factor: r.points for r in reasons} == {
        "amount": 30, "days": 25, "promises": 15, "risk": 15, "value": 10, "kind": 5,
    }  # fmt: skip
    nothing, none = score(Factors("note"), TODAY)
    assert nothing == 0 and none == ()


def test_amount_points_grow_with_the_order_of_magnitude() -> None:
    points = [score(Factors("x", Decimal(a), "EUR"), TODAY)[0] for a in (100, 1_000, 10_000, 100_000)]
    assert points == [12, 18, 24, 30]


@given(
    st.decimals(min_value=0, max_value=10**7, places=2),
    st.decimals(min_value=0, max_value=10**7, places=2),
    st.integers(min_value=0, max_value=400),
)
def test_more_past_due_never_lowers_the_score(low: Decimal, high: Decimal, days: int) -> None:
    low, high = sorted((low, high))
    due = date.fromordinal(TODAY.toordinal() - days)
    assert (
        score(Factors("call", low, "EUR", due), TODAY)[0]
        <= score(Factors("call", high, "EUR", due), TODAY)[0]
    )


def test_factors_take_the_late_open_invoices_and_the_largest_currency() -> None:
    invoices = [
        invoice("A", date(2026, 3, 1), "500"),
        invoice("B", date(2026, 2, 1), "200"),
        invoice("C", date(2026, 3, 1), "900", "USD"),
        invoice("D", date(2026, 4, 1), "99999"),  # not yet due
    ]
    factors = factors_for("call", invoices, customer(annual_sales=Decimal(5)), TODAY)
    assert (factors.currency, factors.past_due_amount, factors.oldest_due_on) == (
        "USD",
        Decimal(900),
        date(2026, 2, 1),
    )
    assert Factors.from_detail("call", factors.as_detail()) == factors


@pytest.mark.parametrize(
    ("erp", "kept", "broken", "expected"),
    [
        (None, 0, 0, "low"),
        ("A", 0, 0, "low"),
        ("C", 0, 0, "high"),
        ("medium", 5, 0, "medium"),
        (None, 1, 1, "medium"),
        (None, 0, 2, "high"),
        ("low", 4, 1, "low"),
        (None, 0, 1, "low"),  # one promise is not a pattern
    ],
)
def test_risk_class_takes_the_erps_class_raised_by_the_promise_record(
    erp: str | None, kept: int, broken: int, expected: str
) -> None:
    assert risk_class(customer(risk=erp, promises_kept=kept, promises_broken=broken)) == expected


# --- outcomes ------------------------------------------------------------------------------------------


def test_failed_attempts_come_back_on_working_days_until_the_last() -> None:
    friday = date(2026, 3, 13)
    assert add_working_days(friday, 1) == date(2026, 3, 16)
    voicemail = decide(CallOutcome.VOICEMAIL, attempts=0, today=friday, title="Call")
    assert (
        not voicemail.close_task and voicemail.follow_up_on == date(2026, 3, 17) and voicemail.attempts == 1
    )
    last = decide(CallOutcome.NO_ANSWER, attempts=MAX_ATTEMPTS - 1, today=friday, title="Call")
    assert last.close_task and last.follow_up_on is None


@pytest.mark.parametrize(
    "outcome", [o for o in CallOutcome if o not in (CallOutcome.VOICEMAIL, CallOutcome.NO_ANSWER)]
)
def test_the_other_outcomes_close_the_task(outcome: CallOutcome) -> None:
    assert decide(outcome, attempts=0, today=TODAY, title="Call").close_task


# --- disputes ------------------------------------------------------------------------------------------


def test_the_dispute_workflow_allows_only_its_transitions() -> None:
    check_transition("open", DisputeStatus.IN_REVIEW)
    check_transition("in_review", DisputeStatus.RESOLVED_CREDIT)
    check_transition("resolved_valid", DisputeStatus.CLOSED)
    for current, wanted in [
        ("open", DisputeStatus.CLOSED),
        ("closed", DisputeStatus.OPEN),
        ("in_review", DisputeStatus.OPEN),
    ]:
        with pytest.raises(WorkspaceInputError):
            check_transition(current, wanted)


def test_a_credit_is_required_with_resolved_credit_and_bounded_by_the_open_amount() -> None:
    assert parse_credit("1,200.50", DisputeStatus.RESOLVED_CREDIT, Decimal(2000), "EUR") == Decimal("1200.50")
    for text in ("", "abc", "0", "-5", "3000", "1.234"):
        with pytest.raises(WorkspaceInputError):
            parse_credit(text, DisputeStatus.RESOLVED_CREDIT, Decimal(2000), "EUR")
    with pytest.raises(WorkspaceInputError):
        parse_credit("10", DisputeStatus.RESOLVED_VALID, Decimal(2000), "EUR")


def test_a_credit_has_up_to_the_invoices_currencys_decimals() -> None:
    assert parse_credit("1.234", DisputeStatus.RESOLVED_CREDIT, Decimal(2), "KWD") == Decimal("1.234")
    assert parse_credit("1,500", DisputeStatus.RESOLVED_CREDIT, Decimal(2000), "JPY") == Decimal(1500)
    with pytest.raises(WorkspaceInputError) as refused:
        parse_credit("100.5", DisputeStatus.RESOLVED_CREDIT, Decimal(2000), "JPY")
    assert (refused.value.field, refused.value.message) == (
        "credit_amount",
        "100.5 has decimal places, and JPY has none (its smallest unit is 1)",
    )


def test_sla_overdue_only_while_unresolved() -> None:
    opened = datetime(2026, 3, 1, tzinfo=UTC)
    now = datetime(2026, 3, 12, tzinfo=UTC)
    assert sla_overdue("open", opened, now, 10) and sla_overdue("in_review", opened, now, 10)
    assert not sla_overdue("resolved_valid", opened, now, 10) and not sla_overdue("open", opened, now, 11)


# --- promises -----------------------------------------------------------------------------------------------


def promise(amount: str = "100") -> Promise:
    return Promise(
        "C", "P", ("A",), date(2026, 3, 20), datetime(2026, 3, 10, tzinfo=UTC), Decimal(amount), "EUR"
    )


def paid(amount: str, day: date, to: str = "A") -> Payment:
    return Payment(
        "C", f"pay-{amount}-{day}", day, Decimal(amount), "EUR", applied_amount=Decimal(amount), applied_to=to
    )


def test_partial_payments_add_up_to_keep_a_promise_and_only_count_in_its_window() -> None:
    open_a = [invoice("A", date(2026, 3, 1), "150")]
    payments = [paid("60", date(2026, 3, 12)), paid("40", date(2026, 3, 22)), paid("500", date(2026, 3, 1))]
    kept = settle(promise(), invoices=open_a, payments=payments, today=date(2026, 3, 24), grace_days=3)
    assert kept == settle(
        promise(), invoices=open_a, payments=payments[:2], today=date(2026, 3, 24), grace_days=3
    )
    assert kept.status is PromiseStatus.KEPT and kept.paid_amount == Decimal(100)
    late = [paid("60", date(2026, 3, 12)), paid("40", date(2026, 3, 24))]  # after date + grace
    broken = settle(promise(), invoices=open_a, payments=late, today=date(2026, 3, 24), grace_days=3)
    assert broken.status is PromiseStatus.BROKEN and broken.paid_amount == Decimal(60)
    waiting = settle(promise(), invoices=open_a, payments=late[:1], today=date(2026, 3, 21), grace_days=3)
    assert waiting.status is PromiseStatus.OPEN


def test_a_promise_whose_invoices_are_all_settled_is_kept() -> None:
    settled = [invoice("A", date(2026, 3, 1), "150", status="closed")]
    assert (
        settle(promise(), invoices=settled, payments=[], today=date(2026, 3, 24), grace_days=3).status
        is PromiseStatus.KEPT
    )


# --- the policy's workspace sections -----------------------------------------------------------


def test_dispute_routing_and_collectors_are_validated_with_their_key_paths() -> None:
    text = """
segments:
  - {name: all, policy: p, collectors: [ali, {bad: 1}]}
policies:
  p: {steps: [{id: call, trigger: {days: 1}, action: call}]}
disputes:
  sla_days: 0
  departments:
    billing: {email: not-an-address, reasons: [wrong_amount_or_price, haggling]}
    ops: {reasons: [wrong_amount_or_price], sla_days: x}
"""
    with pytest.raises(PolicyError) as error:
        parse_policy(text, source="test.yaml")
    message = str(error.value)
    for expected in (
        "segments[0].collectors",
        "disputes.sla_days",
        "disputes.departments.billing.email",
        "'haggling' is not a dispute reason",
        "disputes.departments.ops.reasons: 'wrong_amount_or_price' is routed to billing already",
        "disputes.departments.ops.sla_days",
    ):
        assert expected in message


def test_the_shipped_policy_routes_by_reason_with_department_slas() -> None:
    routing = shipped_policy().disputes
    billing = routing.route("duplicate_invoice")
    assert billing is not None and billing.name == "billing" and billing.sla_days == 5
    assert routing.route("made_up") is not None  # "other"'s department catches the rest


def test_an_invoice_can_be_disputed_while_open_owed_and_undisputed() -> None:
    from datetime import date
    from decimal import Decimal

    from arcollect.disputes import why_not_disputable
    from arcollect.entities import Invoice

    open_invoice = Invoice(
        "C 1", "INV/1", "EUR", Decimal(100), Decimal(40), date(2026, 1, 1), date(2026, 2, 1)
    )
    assert why_not_disputable(open_invoice) is None
    assert why_not_disputable(replace(open_invoice, disputed=True)) == "is already disputed"
    assert why_not_disputable(replace(open_invoice, open_amount=Decimal(0))) == "is already settled"
    assert why_not_disputable(replace(open_invoice, status="closed")) == "is already settled"


def test_under_the_shipped_policy_work_can_go_to_any_collector_by_name() -> None:
    from arcollect.policy import shipped_policy
    from arcollect.workspace.reassignment import known_staff

    # The shipped policy names only its manager: the team's collectors live in the ERP's owner column,
    # so a manager must be able to give work to any of them.
    assert known_staff(shipped_policy()) == set()
    named = replace(shipped_policy(), team={**shipped_policy().team, "ali": shipped_policy().contact("ali")})
    assert known_staff(named) == {"ali", "collections-manager"}  # type: ignore[arg-type]


def test_the_customers_days_late_count_only_invoices_paid_in_full() -> None:
    """The 360's and the worklist's payment history: an invoice still open with a paid date (a partial
    payment's day, as ingest keeps it) is not paid yet, so it is not counted paid on time."""
    due = date(2026, 3, 1)
    paid = replace(invoice("A", due), open_amount=Decimal(0), status="closed", paid_date=date(2026, 3, 21))
    partly = replace(invoice("B", due), open_amount=Decimal(40), paid_date=date(2026, 3, 1))
    assert days_late([paid, partly]) == [(date(2026, 3, 21), 20)]
