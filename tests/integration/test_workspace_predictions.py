"""The predictions where collectors work (issue 19, item 2): the reports run scores the open invoices
and keeps each prediction in the table; the worklist's score gains "expected to pay late", explained,
and the customer's 360 (and its page) shows each open invoice's prediction with its factors. The
workspace reads what the run left: it never imports the model, nor the reports."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from arcollect.entities import Invoice, Task
from arcollect.store.mail import SesMailer
from arcollect.store.portal import PortalObjects
from arcollect.store.repositories import Invoices
from arcollect.workspace.services import Workspace
from tests.integration.conftest import invoke, load_event
from tests.integration.dunning_world import World, utc
from tests.integration.test_reports_predictions import _invoice
from tests.integration.test_workspace import DANA, ROUTED, policy_with

NOW = utc(2026, 3, 10, 8)
TODAY = NOW.date()


@pytest.fixture
def world(aws: None) -> World:
    """C-1 paid a year of invoices 40-odd days late and has one 8 days late now; C-2 always paid on
    time; the report of the day before has run."""
    world = World(policies=policy_with(ROUTED))
    world.customer("C-1", phone="+49 30 1234")
    world.customer("C-2")
    repository = Invoices()
    for month in range(12):
        issued = date(2025, 1, 1) + timedelta(days=30 * month)
        for customer, late in (("C-1", 40 + month % 4), ("C-2", month % 2)):
            repository.save(_paid(customer, f"{customer}-{month:02d}", issued, late))
    world.invoice("INV-1", invoice_date=date(2026, 2, 1), due_date=date(2026, 3, 2), amount="1200.00")
    world.invoice(
        "INV-9", customer_id="C-2", invoice_date=date(2026, 2, 1), due_date=date(2026, 3, 2), amount="1200.00"
    )
    tick = dict(load_event("scheduler_tick.json"), time="2026-03-09T05:00:00Z")
    assert invoke("reports", tick)["predictions"]["basis"] == "model"
    return world


def _paid(customer: str, number: str, issued: date, late: int) -> Invoice:
    invoice = _invoice(customer, number, issued, None)
    paid = invoice.due_date + timedelta(days=late)
    return replace(invoice, status="closed", open_amount=Decimal(0), paid_date=paid)


def workspace(world: World) -> Workspace:
    return Workspace(
        policies=lambda: world.policies,
        mailer=SesMailer(configuration_set=os.environ["SES_CONFIGURATION_SET"]),
        sender=os.environ["SENDER_EMAIL"],
        reports=PortalObjects(),
        reports_bucket=os.environ["REPORTS_BUCKET"],
        store=world.workspace,
    )


def call(world: World, customer_id: str, number: str, task_id: str) -> None:
    assert world.workspace.tasks.add_task(
        Task(
            customer_id=customer_id,
            task_id=task_id,
            kind="call",
            title=f"Call about {number}",
            created_at=NOW,
            detail={"invoices": number},
            assignee=DANA.username,
            due_on=TODAY,
        )
    )


def test_the_worklist_scores_expected_to_pay_late_and_says_why(world: World) -> None:
    call(world, "C-1", "INV-1", "call-late")
    call(world, "C-2", "INV-9", "call-ontime")
    items = {i.task_id: i for i in workspace(world).worklist(DANA.username, now=NOW)}
    late, ontime = items["call-late"], items["call-ontime"]
    [reason] = [r for r in late.reasons if r.factor == "late"]
    assert reason.points > 5
    assert reason.text.startswith("expected to pay late: INV-1 expected on ")
    assert "chance of over 30 days late" in reason.text and "customer paid its last" in reason.text
    assert late.score == sum(r.points for r in late.reasons)
    # Same amount, same days past due: the one expected to pay late comes first
    assert late.score > ontime.score
    assert all(r.factor != "late" or r.points < reason.points for r in ontime.reasons)


def test_the_360_shows_each_open_invoices_prediction_with_its_factors(world: World) -> None:
    account = workspace(world).account("C-1", now=NOW)
    prediction = account.predictions["INV-1"]
    assert prediction.as_of == date(2026, 3, 9) and prediction.low <= prediction.pay_date <= prediction.high
    assert prediction.pay_date > date(2026, 3, 31)  # about 40 days late, like its history
    assert 1 <= len(prediction.factors) <= 3
    assert any("customer paid its last" in f.text for f in prediction.factors)
    assert prediction.probability_over_30_days_late is not None


def test_an_invoice_paid_since_the_report_shows_no_prediction(world: World) -> None:
    [invoice] = [i for i in Invoices().for_customer("C-1") if i.invoice_number == "INV-1"]
    Invoices().save(replace(invoice, status="closed", open_amount=Decimal(0), paid_date=TODAY))
    assert "INV-1" not in workspace(world).account("C-1", now=NOW).predictions
