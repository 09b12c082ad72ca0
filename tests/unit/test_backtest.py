"""The policy lab's backtest on small histories whose answers are worked out by hand from the shipped
policy (policies/default.yaml, segment "standard"): emails go out on working days from 09:00 in the
customer's zone (UTC here), at least 3 days apart; tasks are made when their step falls due."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from arcollect.dunning.backtest import BacktestError, History, document, measures, replay
from arcollect.dunning.backtest_page import render
from arcollect.entities import Customer, Dispute, DocumentType, Invoice, Promise
from arcollect.policy import parse_policy, shipped_policy

CUSTOMER = "Müller & Söhne, Köln"
START, END = date(2026, 1, 1), date(2026, 4, 30)


def customer(**changes: Any) -> Customer:
    return replace(Customer(CUSTOMER, "Müller & Söhne", "ap@mueller.example", country=None), **changes)


def invoice(number: str = "INV/2026/001", **changes: Any) -> Invoice:
    base = Invoice(
        customer_id=CUSTOMER,
        invoice_number=number,
        currency="EUR",
        amount=Decimal("1200.00"),
        open_amount=Decimal("1200.00"),
        invoice_date=date(2026, 1, 5),  # a Monday
        due_date=date(2026, 2, 4),  # a Wednesday, 30 days' terms
    )
    return replace(base, **changes)


def run(*invoices: Invoice, **history: Any) -> dict[str, Any]:
    customers = history.pop("customers", {CUSTOMER: customer()})
    result = replay(
        History(tuple(invoices), customers, **history), shipped_policy(), start=START, end=END, team_size=1
    )
    return {"measures": measures(result), "contacts": [(c.at, c.kind, c.step_id) for c in result.contacts]}


def at(day: int, month: int, hour: int = 0) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def test_an_unpaid_invoice_gets_every_step_of_the_policy_in_order() -> None:
    out = run(invoice())
    contacts = [(when, kind, step) for when, kind, step in out["contacts"] if kind in ("email", "call")]
    assert contacts == [
        (at(19, 1, 9), "email", "outreach"),  # invoice date + 14 (a Monday), at the window's opening
        (at(2, 2, 9), "email", "courtesy"),  # due - 3 is Sunday 1 Feb: Monday morning
        (at(5, 2, 9), "email", "due"),  # due + 1, a Thursday; 3 days after the courtesy email
        (at(11, 2), "call", "first_call"),  # due + 7: a task when the day begins
        (at(18, 2, 9), "email", "reminder"),  # due + 14
        (at(25, 2), "call", "second_call"),  # due + 21
        (at(6, 3, 9), "email", "firm"),  # due + 30, a Friday
        (at(21, 3), "call", "payment_plan_call"),  # due + 45
        (at(6, 4, 9), "email", "final_notice"),  # due + 60 is Sunday 5 April: Monday; it has 4+ touches
    ]
    m = out["measures"]
    assert (m["emails"], m["calls"]) == (6, 3)
    # Reached 30 days past due (6 March) with outreach, courtesy, due, two calls and the reminder before it.
    assert m["invoices_30_days_past_due"] == 1
    assert m["invoices_30_days_past_due_with_4_touches"] == 1
    assert m["share_with_4_touches_before_30_dpd"] == 1.0
    assert m["first_touch_age_days"]["p50"] == -16.0  # 19 January is 16 days before the due date
    assert m["tasks"]["escalation"] == 1 and m["tasks"]["credit_hold"] == 1  # due + 60, due + 75
    assert "agency_decision" in m["steps_never_fired"]  # due + 90 is 5 May: after the window
    assert m["touches_per_invoice"] == 9.0


def test_a_paid_invoice_leaves_the_sweep_the_day_it_was_paid() -> None:
    out = run(invoice(paid_date=date(2026, 2, 10)))
    assert [step for _, _, step in out["contacts"] if step != "late_alert"] == ["outreach", "courtesy", "due"]
    m = out["measures"]
    assert m["invoices_30_days_past_due"] == 0
    assert m["collected"] == {"EUR": "1200.00"}
    assert m["touches_per_1000_collected"] == {"EUR": 2.5}  # 3 touches for 1,200 EUR


def test_an_invoice_paid_before_the_window_is_not_in_it() -> None:
    out = run(invoice(paid_date=date(2025, 12, 31)))
    assert out["contacts"] == [] and out["measures"]["invoices_in_window"] == 0


def test_credits_that_cover_the_invoice_stop_every_reminder() -> None:
    note = invoice(
        "CN/2026/007",
        document_type=DocumentType.CREDIT_NOTE.value,
        amount=Decimal("1500"),
        due_date=date(2026, 1, 5),
    )
    out = run(invoice(), note)
    kinds = {kind for _, kind, _ in out["contacts"]}
    assert "email" not in kinds and "call" not in kinds
    assert out["measures"]["tasks"]["credit_balance"] >= 1  # a collector applies the credit instead


def test_a_dispute_holds_the_invoice_while_it_is_open() -> None:
    dispute = Dispute(
        CUSTOMER,
        "D1",
        "INV/2026/001",
        "wrong_amount_or_price",
        "",
        created_at=at(3, 2, 12),
        resolved_at=at(2, 3, 8),
    )
    out = run(invoice(), disputes=(dispute,))
    during = [c for c in out["contacts"] if at(4, 2) <= c[0] < at(2, 3)]
    assert during == []
    after = [
        (when, step) for when, kind, step in out["contacts"] if when >= at(2, 3) and kind in ("email", "call")
    ]
    # Back when it was resolved (08:00 on 2 March) with only the latest step that fell due while it was
    # held (second_call, due + 21; first_call and reminder are passed over, not sent late in a burst),
    # then firm on 6 March.
    assert after[:2] == [(at(2, 3, 8), "second_call"), (at(6, 3, 9), "firm")]


def test_a_broken_promise_pauses_then_brings_the_missed_promise_steps() -> None:
    promise = Promise(CUSTOMER, "P1", ("INV/2026/001",), date(2026, 2, 20), created_at=at(6, 2, 10))
    out = run(invoice(), promises=(promise,))
    paused = [c for c in out["contacts"] if at(6, 2, 11) <= c[0] < at(24, 2)]
    assert paused == []  # promised for 20 February, plus 3 days' grace
    steps = [(kind, step.partition("#")[0]) for when, kind, step in out["contacts"] if when >= at(24, 2)]
    assert ("email", "missed_promise") in steps[:2] and ("call", "missed_promise_call") in steps[:2]


def test_a_go_live_backlog_gets_one_statement_not_a_burst() -> None:
    old = invoice("INV/2025/090", invoice_date=date(2025, 9, 1), due_date=date(2025, 10, 1))
    out = run(old)
    emails = [(when, step) for when, kind, step in out["contacts"] if kind == "email"]
    assert emails[0] == (at(1, 1, 9) if date(2026, 1, 1).weekday() < 5 else emails[0][0], "golive_statement")
    assert [step for _, step in emails].count("golive_statement") == 1
    assert len([e for e in emails if e[0] < at(8, 1)]) == 1  # one email in the first week, not every step


def test_a_customer_without_an_address_gets_no_email_unless_assumed_contactable() -> None:
    history = History((invoice(),), {})
    silent = measures(replay(history, shipped_policy(), start=START, end=END))
    assert silent["emails"] == 0 and silent["tasks"]["fix_contact"] >= 1
    assumed = measures(replay(history, shipped_policy(), start=START, end=END, contactable=True))
    assert assumed["emails"] == 6
    assert any("assumed reachable" in note for note in assumed["notes"])


def test_calls_per_collector_spread_over_the_team_and_working_days() -> None:
    invoices = [invoice(f"INV/2026/{n:03d}", customer_id=f"C {n}") for n in range(4)]
    customers = {f"C {n}": customer(customer_id=f"C {n}") for n in range(4)}
    result = replay(History(tuple(invoices), customers), shipped_policy(), start=START, end=END, team_size=2)
    m = measures(result)
    assert m["calls"] == 12
    # Four customers in turn over two collectors: each gets 2 calls on each call day.
    assert m["calls_per_collector_per_day"]["max"] == 2.0
    assert m["calls_per_collector_per_day"]["p50"] == 0.0  # most working days have no call


def test_the_document_keys_policies_by_name_and_the_page_escapes_them() -> None:
    history = History((invoice(),), {CUSTOMER: customer()})
    text = _shipped_text()
    firm = "{id: firm, trigger: {days: 30}, action: email, template: firm}"
    assert firm in text
    draft = parse_policy(text.replace(firm, firm.replace("30", "20")), source="draft")
    replays = [
        replay(history, shipped_policy(), start=START, end=END, policy_name="<b>shipped</b>"),
        replay(history, draft, start=START, end=END, policy_name="draft.yaml"),
    ]
    doc = document(history, replays, "the table")
    assert list(doc["policies"]) == ["<b>shipped</b>", "draft.yaml"]
    for key in (
        "invoices_30_days_past_due",
        "share_with_4_touches_before_30_dpd",
        "emails",
        "calls",
        "calls_per_collector_per_day",
        "first_touch_age_days",
    ):
        assert key in doc["policies"]["draft.yaml"]
    assert set(doc["policies"]["draft.yaml"]["calls_per_collector_per_day"]) >= {"p50", "p95", "max"}
    json.dumps(doc)  # all of it is JSON
    page = render(doc)
    assert "<b>shipped</b>" not in page and "&lt;b&gt;shipped&lt;/b&gt;" in page
    assert "<script" not in page.lower()


def test_a_window_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(BacktestError, match="before --from"):
        replay(History((), {}), shipped_policy(), start=END, end=START)


def _shipped_text() -> str:
    from pathlib import Path

    import arcollect

    return (Path(arcollect.__file__).parent / "policies" / "default.yaml").read_text()


def test_the_response_model_learns_a_touchs_lift_and_labels_its_estimate() -> None:
    from arcollect.dunning.response import PastTouch, fit

    # 120 invoices due 4 February: the 60 emailed on the 5th pay on the 8th; the others pay in April.
    invoices, touches = [], []
    for n in range(120):
        emailed = n % 2 == 0
        paid = date(2026, 2, 8) if emailed else date(2026, 4, 20)
        invoices.append(invoice(f"INV/{n}", customer_id=f"C {n}", paid_date=paid))
        if emailed:
            touches.append(PastTouch(f"C {n}", f"INV/{n}", "due", at(5, 2, 9)))
    model = fit(invoices, touches, shipped_policy(), start=START, end=END)
    assert not isinstance(model, str)
    [lift] = [row for row in model.describe() if row["kind"] == "email" and row["age"] == "1_30"]
    assert lift["paid_within_7_days_of_touch"] == 1.0 and lift["lift"] > 0.5 and lift["lift_low"] > 0
    history = History(
        tuple(invoices),
        {f"C {n}": customer(customer_id=f"C {n}") for n in range(120)},
        touches=tuple(touches),
    )
    doc = document(history, [replay(history, shipped_policy(), start=START, end=END)], "the table")
    guess = doc["estimate"]
    assert guess["label"] == "estimate" and "model" in guess and "uncertainty" in guess
    figures = guess["policies"]["policy"]
    assert (
        figures["available"]
        and figures["low"]
        <= figures["invoices_paid_within_7_days_of_a_touch_beyond_baseline"]
        <= figures["high"]
    )
    assert "an estimate, not a replay" in render(doc).lower()


def test_without_touches_in_the_history_there_is_no_estimate_and_it_says_why() -> None:
    history = History((invoice(),), {CUSTOMER: customer()})
    doc = document(history, [replay(history, shipped_policy(), start=START, end=END)], "ERP files")
    assert doc["estimate"]["why_not"].startswith("no estimate: the history has 0 dunning touch(es)")
    assert doc["estimate"]["policies"]["policy"] == {
        "label": "estimate",
        "available": False,
        "why": doc["estimate"]["why_not"],
    }


def test_the_models_untouched_days_counted_by_intervals_match_a_day_by_day_count() -> None:
    import random
    from collections import Counter
    from datetime import timedelta

    from arcollect.dunning.response import RESPONSE_DAYS, _count_untouched_days, age_of

    rng = random.Random(7)  # noqa: S311 (reproducible test data)
    for _ in range(300):
        issued = START + timedelta(days=rng.randint(-60, 100))
        due = issued + timedelta(days=rng.randint(-10, 60))
        paid = due + timedelta(days=rng.randint(-20, 120)) if rng.random() < 0.8 else None
        bill = invoice(invoice_date=issued, due_date=due, paid_date=paid)
        touched = {issued + timedelta(days=rng.randint(0, 90)) for _ in range(rng.randint(0, 4))}
        fast: Counter[tuple[str, bool]] = Counter()
        _count_untouched_days(bill, touched, START, END, fast)
        slow: Counter[tuple[str, bool]] = Counter()
        day = max(issued, START)
        last = min(paid - timedelta(days=1) if paid else END, END)
        while day <= last:
            if not any(day - timedelta(days=back) in touched for back in range(RESPONSE_DAYS + 1)):
                soon = paid is not None and day <= paid <= day + timedelta(days=RESPONSE_DAYS)
                slow[(age_of((day - due).days), soon)] += 1
            day += timedelta(days=1)
        assert +fast == +slow, (issued, due, paid, touched)
