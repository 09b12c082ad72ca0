"""An open amount below the currency's smallest unit is never asked for, through the real dunning handler
against moto: an invoice left with 0.001 GBP (a payment of 100.001 on 100.00) would be reminded as
"Amount open: 0.00 GBP". It gets no reminder; a collector gets one task to clear it in the ERP, and it
stays in the sweep (an amount that grows again is reminded as usual)."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal

import pytest

from arcollect.decisions import decisions_of
from arcollect_cli.main import main
from tests.integration.dunning_world import World, through_the_cli, utc
from tests.integration.test_dunning_scenarios import notes

# Due 2026-10-01: the "due" email falls due on Friday 2026-10-02 (09:00 London is 08:00 UTC).
DUE_DAY = utc(2026, 10, 2, 8)


def zeros(text: str) -> list[str]:
    """Every amount of zero an email writes ("0.00 GBP", "0 JPY", "0.000 KWD")."""
    return re.findall(r"(?<![\d.,])0(?:\.0+)? [A-Z]{3}\b", text)


def uk_world() -> World:
    world = World(through_handler=True)
    world.customer("C-GB", country="GB", time_zone="Europe/London", email="ap@uk-buyer.example")
    for number, open_amount in (("INV-R", "0.001"), ("INV-2", "250.00")):
        world.invoice(
            number, customer_id="C-GB", invoice_date=date(2026, 9, 1), due_date=date(2026, 10, 1),
            amount="100.00" if number == "INV-R" else open_amount, open_amount=open_amount, currency="GBP",
            steps_done=("outreach", "courtesy"),
        )  # fmt: skip
    return world


def test_a_residual_below_a_penny_is_not_reminded_and_a_collector_clears_it(aws: None) -> None:
    # Given two late invoices in the regular schedule: one left with 0.001 GBP, one with 250.00 GBP
    world = uk_world()
    # When the preview looks at the past-due email's morning
    decided = {(n, outcome, step) for n, outcome, step in notes(world, DUE_DAY, "C-GB")}
    # Then the 250.00 is emailed; the residual is not, and a collector is asked to clear it
    assert ("INV-2", "email", "due") in decided
    assert ("INV-R", "suppressed", None) in decided and ("INV-R", "task", "clear_residual#0.001") in decided
    assert not {d for d in decided if d[0] == "INV-R" and d[1] == "email"}
    # When the tick runs
    world.tick(DUE_DAY)
    # Then the email lists the 250.00 GBP only: nothing asks for 0.00
    [email] = world.emails("C-GB")
    assert email.invoices == ["INV-2"]
    text = email.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "INV-R" not in text and zeros(text) == [] and "Total open: 250.00 GBP" in text
    # And one task asks a collector to clear the residual in the ERP
    [task] = [t for t in world.tasks("C-GB") if t.kind == "clear_residual"]
    assert "INV-R 0.001 GBP" in task.title and task.detail["invoices"] == "INV-R"
    assert task.assignee == "dana@seller.example"
    # And the timeline says why
    reasons = [
        decision.reason
        for activity in world.timeline("C-GB")
        for decision in decisions_of(activity)
        if decision.invoice_number == "INV-R" and decision.outcome == "suppressed"
    ]
    assert reasons == [
        "open amount 0.001 GBP rounds to 0.00 GBP (the smallest unit of GBP is 0.01): nothing to ask for, "
        "no reminder; a collector clears it in the ERP"
    ]
    # And it is still in the sweep, at its next step's day, its task recorded once
    residual = world.get("INV-R", "C-GB")
    assert residual.next_action_at is not None and "clear_residual#0.001" in residual.steps_done
    assert "due" not in residual.steps_done


def test_a_residual_is_never_reminded_however_long_the_sweep_runs(aws: None) -> None:
    # Given the residual and the 250.00 invoice
    world = uk_world()
    # When the sweep runs for three months
    world.run(DUE_DAY, utc(2027, 1, 1))
    # Then no email or call ever lists the residual (the 250.00 is reminded all along), and its task
    # was made once, however many of its steps' days the sweep looked at it
    assert all("INV-R" not in email.invoices for email in world.emails("C-GB"))
    assert [e.step for e in world.emails("C-GB")] == ["due", "reminder", "firm", "final_notice"]
    tasks = world.tasks("C-GB")
    assert [t.kind for t in tasks].count("clear_residual") == 1
    assert not [t for t in tasks if t.kind == "call" and "INV-R" in t.detail["invoices"].split(",")]
    looked = [
        activity.at
        for activity in world.timeline("C-GB")
        for decision in decisions_of(activity)
        if decision.invoice_number == "INV-R" and decision.outcome == "suppressed"
    ]
    assert len(looked) > 1


def test_a_residual_that_grows_again_is_reminded_at_its_next_step(aws: None) -> None:
    # Given the residual, found on the past-due email's day
    world = uk_world()
    world.run(DUE_DAY, utc(2026, 10, 20))
    assert all("INV-R" not in email.invoices for email in world.emails("C-GB"))
    # When a payment is reversed and the invoice owes 100.00 GBP again
    world.change("INV-R", "C-GB", open_amount=Decimal("100.00"))
    world.run(utc(2026, 10, 20), utc(2026, 11, 10))
    # Then it is reminded at its next steps, as any late invoice: it never left the sweep
    assert [(e.step, e.invoices) for e in world.emails("C-GB") if "INV-R" in e.invoices] == [
        ("firm", ["INV-2", "INV-R"])
    ]
    assert any("INV-R" in t.detail["invoices"].split(",") for t in world.tasks("C-GB") if t.kind == "call")


def test_what_rounds_to_zero_follows_each_currencys_minor_unit(
    aws: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a go-live backlog in three currencies: yen have no decimals, Kuwaiti dinar three, euro two
    world = World(through_handler=True)
    world.customer("C-1", email="ap@c-1.example")
    amounts = {
        "JPY-DUST": ("JPY", "0.4"),
        "JPY-ONE": ("JPY", "1"),
        "KWD-DUST": ("KWD", "0.0004"),
        "KWD-FILS": ("KWD", "0.001"),
        "EUR-DUST": ("EUR", "0.004"),
        "EUR-CENT": ("EUR", "0.005"),  # written as 0.01 EUR (half up, as every reminder rounds)
    }
    for number, (currency, amount) in amounts.items():
        world.invoice(
            number, invoice_date=date(2026, 9, 1), due_date=date(2026, 10, 1), amount="100",
            open_amount=amount, currency=currency,
        )  # fmt: skip

    through_the_cli(monkeypatch)
    # When `arcollect dunning preview` asks what the first send window's tick will do
    capsys.readouterr()
    assert main(["dunning", "preview", "--at", "2026-11-20T08:00:00Z", "--json"]) == 0
    [plan] = json.loads(capsys.readouterr().out)["customers"]
    # Then the statement lists what shows as at least one minor unit; one task takes the rest
    assert sorted(plan["email"]["invoice_numbers"]) == ["EUR-CENT", "JPY-ONE", "KWD-FILS"]
    [task] = [t for t in plan["tasks"] if t["kind"] == "clear_residual"]
    assert sorted(task["invoice_numbers"]) == ["EUR-DUST", "JPY-DUST", "KWD-DUST"]
    # When the tick runs, Then the statement shows no amount of zero
    world.tick(utc(2026, 11, 20, 8))
    [statement] = world.emails("C-1")
    text = statement.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert (
        "Amount open: 1 JPY" in text and "Amount open: 0.001 KWD" in text and "Amount open: 0.01 EUR" in text
    )
    assert zeros(text) == []
    for number in ("EUR-DUST", "JPY-DUST", "KWD-DUST"):
        assert world.get(number).steps_done == (f"clear_residual#{amounts[number][1]}",)
