"""The first day and the order of steps, through the real dunning handler against moto with explicit
ticks: a go-live's backlog gets one statement of overdue invoices and the policy goes on from each
invoice's age; a milder step never follows a firmer one (short terms)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from arcollect.decisions import decisions_of
from arcollect.dunning.engine import Outcome
from arcollect_cli.main import main
from arcollect_cli.target import Target
from tests.integration.conftest import invoke
from tests.integration.dunning_world import World, utc
from tests.integration.test_dunning_scenarios import notes


def test_a_go_live_backlog_of_several_invoices_is_one_statement_in_the_first_send_window(aws: None) -> None:
    # Given a customer whose three invoices were already 20, 50 and 100 days late when first loaded
    # (Thursday 2026-11-19, 23:00 Berlin: outside the send window), and one not yet due
    world = World(through_handler=True)
    world.customer("C-1", name="Brennan & Sons, PC")
    world.invoice("INV/2026/00187", invoice_date=date(2026, 9, 30), due_date=date(2026, 10, 30))
    world.invoice(
        "INV/2026/00150", invoice_date=date(2026, 9, 1), due_date=date(2026, 9, 30), amount="250.00"
    )
    world.invoice(
        "INV/2026/00101", invoice_date=date(2026, 7, 11), due_date=date(2026, 8, 11), amount="80.00"
    )
    world.invoice("INV/2026/00201", invoice_date=date(2026, 11, 10), due_date=date(2026, 12, 10))
    at = utc(2026, 11, 19, 22)
    # When `arcollect dunning preview` asks what the first tick will do
    decided = notes(world, at)
    # Then it says: the statement waits for the send window; the missed steps are superseded by it
    assert {(n, step) for n, outcome, step in decided if outcome == Outcome.DEFERRED.value} >= {
        ("INV/2026/00187", "golive_statement"),
        ("INV/2026/00150", "golive_statement"),
        ("INV/2026/00101", "golive_statement"),
    }
    superseded = {(n, step) for n, outcome, step in decided if outcome == Outcome.SKIPPED.value}
    assert ("INV/2026/00101", "firm") in superseded and ("INV/2026/00187", "due") in superseded
    # And the preview through the function (`arcollect dunning preview --at`) for the first send window
    # shows the statement going with the three late invoices, and the tasks their age brings
    [plan] = invoke("dunning", {"action": "preview", "at": "2026-11-20T08:00:00Z"})["customers"]
    assert plan["email"]["template"] == "overdue_statement" and plan["email"]["step"] == "golive_statement"
    assert sorted(plan["email"]["invoice_numbers"]) == ["INV/2026/00101", "INV/2026/00150", "INV/2026/00187"]
    assert "agency" in [task["kind"] for task in plan["tasks"]]
    # When the sweep runs a week
    world.run(at, utc(2026, 11, 26))
    # Then one statement lists the three late invoices, Friday 09:00 Berlin; the one not due is not in it
    [statement] = [e for e in world.emails("C-1") if e.step == "golive_statement"]
    assert statement.at == utc(2026, 11, 20, 8)
    assert sorted(statement.invoices) == ["INV/2026/00101", "INV/2026/00150", "INV/2026/00187"]
    assert statement.subject.startswith("Statement of your 3 overdue invoices")
    text = statement.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "INV/2026/00101" in text and "moved our accounts receivable" in text
    # And every late invoice got an email: none is left with tasks only
    for number in ("INV/2026/00187", "INV/2026/00150", "INV/2026/00101"):
        assert "golive_statement" in world.get(number).steps_done
    # And the 100-day invoice's age implies the agency decision: the task is made with the statement
    assert "2026-11-20 08:00 agency agency_decision" in world.log()


def test_a_go_live_preview_says_an_alert_below_its_amount_does_not_apply_not_that_it_was_superseded(
    aws: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a go-live backlog: a small invoice and a large one, both past the large-invoice alert's day
    # (5 days before due; it applies from 10,000 open)
    world = World(through_handler=True)
    world.customer("C-1")
    world.invoice("INV-S", invoice_date=date(2026, 9, 1), due_date=date(2026, 10, 1), amount="250.00")
    world.invoice("INV-L", invoice_date=date(2026, 9, 1), due_date=date(2026, 10, 1), amount="25000.00")

    def resolve(cls: type[Target], stack: str | None, root: Path) -> Target:
        return Target(outputs={}, local=True)

    def through_the_function(self: Target, function_output: str, event: dict[str, Any]) -> Any:
        return invoke("dunning", event)

    monkeypatch.setattr(Target, "resolve", classmethod(resolve))
    monkeypatch.setattr(Target, "invoke", through_the_function)
    # When `arcollect dunning preview` asks what the first send window's tick will do
    capsys.readouterr()
    assert main(["dunning", "preview", "--at", "2026-11-20T08:00:00Z"]) == 0
    lines = capsys.readouterr().out.splitlines()
    # Then the small invoice's alert is not applicable, with the reason, once; it superseded nothing
    alert = [line for line in lines if "large_invoice_alert" in line]
    assert "  INV-S: not_applicable large_invoice_alert - open amount 250.00 EUR is below 10000" in alert
    assert [line for line in alert if line.startswith("  INV-S:")] == [
        "  INV-S: not_applicable large_invoice_alert - open amount 250.00 EUR is below 10000"
    ]
    # And the large invoice's alert, which would have been made, gave way to the statement
    superseded = "  INV-L: skipped large_invoice_alert - superseded by the statement of overdue invoices"
    assert any(line.startswith(superseded) for line in alert)
    # And the JSON says the same
    assert main(["dunning", "preview", "--at", "2026-11-20T08:00:00Z", "--json"]) == 0
    [plan] = json.loads(capsys.readouterr().out)["customers"]
    decided = {(d["invoice"], d["step"]): d["outcome"] for d in plan["decisions"]}
    assert decided[("INV-S", "large_invoice_alert")] == Outcome.NOT_APPLICABLE.value
    assert decided[("INV-L", "large_invoice_alert")] == Outcome.SKIPPED.value
    # When the tick runs, Then what it sends is unchanged: one statement for both invoices, which counts
    # as the same contact steps of each (the alert is no touch either way)
    world.tick(utc(2026, 11, 20, 8))
    [statement] = world.emails("C-1")
    assert statement.step == "golive_statement" and sorted(statement.invoices) == ["INV-L", "INV-S"]
    assert world.get("INV-S").steps_done == world.get("INV-L").steps_done
    assert "large_invoice_alert" not in world.get("INV-S").steps_done


def test_a_go_live_invoice_of_a_do_not_contact_customer_gets_no_statement(aws: None) -> None:
    world = World(through_handler=True)
    world.customer("C-1", do_not_contact=True)
    world.invoice("INV-1", invoice_date=date(2026, 9, 1), due_date=date(2026, 9, 30))
    decided = notes(world, utc(2026, 11, 20, 8))
    assert ("INV-1", Outcome.SUPPRESSED.value, "golive_statement") in decided
    world.run(utc(2026, 11, 19, 22), utc(2026, 11, 24))
    assert world.emails("C-1") == []


def test_on_short_terms_the_outreach_never_follows_the_past_due_email(aws: None) -> None:
    # Given net-7 terms: the "here is your invoice" outreach (14 days after the invoice date) would
    # fall a week after the past-due email (the day after the due date)
    world = World(through_handler=True)
    world.customer("C-1")
    world.invoice("INV-1", invoice_date=date(2026, 11, 2), due_date=date(2026, 11, 9))
    # When `arcollect dunning preview` looks at the courtesy reminder's morning, before any tick
    decided = notes(world, utc(2026, 11, 6, 8))
    # Then it shows the courtesy reminder going and the outreach skipped, overtaken by it
    assert ("INV-1", Outcome.EMAIL.value, "courtesy") in decided
    assert ("INV-1", Outcome.SKIPPED.value, "outreach") in decided
    # When the sweep runs from the invoice date for four weeks
    world.run(utc(2026, 11, 2), utc(2026, 11, 30))
    # Then the emails go courtesy, due, reminder: never back to the outreach
    steps = [e.step for e in world.emails("C-1")]
    assert "outreach" not in steps
    assert steps == ["courtesy", "due", "reminder"]
    # And the timeline and the preview say why: overtaken by the firmer step
    reasons = [
        decision.line()
        for activity in world.timeline()
        for decision in decisions_of(activity)
        if decision.step == "outreach"
    ]
    assert reasons and all("skipped: overtaken by the firmer step" in reason for reason in reasons)
    assert any("overtaken by the firmer step courtesy" in reason for reason in reasons)


def test_a_go_live_statement_ses_may_not_have_sent_is_reviewed_not_forgotten(aws: None) -> None:
    # Given a go-live backlog whose statement SES times out on (it may or may not have gone)
    from arcollect.store.mail import SendOutcomeUnknown

    world = World()
    world.customer("C-1")
    world.invoice("INV/2026/00150", invoice_date=date(2026, 9, 1), due_date=date(2026, 9, 30))
    world.invoice("INV/2026/00101", invoice_date=date(2026, 7, 11), due_date=date(2026, 8, 11))
    original, calls = world.mailer.send, []

    def send(**kwargs: object) -> str:
        calls.append(kwargs)
        if len(calls) == 1:
            original(**kwargs)  # SES took it; its answer was lost
            raise SendOutcomeUnknown("SES SendEmail failed, the message may have gone: Read timeout")
        return original(**kwargs)

    world.mailer.send = send  # type: ignore[method-assign]
    # When the first send window's tick runs, then the schedule goes on for a week
    first = world.tick(utc(2026, 11, 20, 8))
    # Then the stage's calls wait for the statement (a call would hide its reservation from later ticks)
    assert first.report.outcomes["waiting_for_statement"] >= 1
    assert not [t for t in world.tasks() if t.kind != "review_touch"]
    world.run_every_hour(utc(2026, 11, 20, 9), utc(2026, 11, 21, 9))
    world.run(utc(2026, 11, 21, 9), utc(2026, 11, 27))
    # And the statement went once, was never resent, and past its lease a manager reviews it; the
    # calls its stage brings are made with that review, and the policy goes on from there
    assert [e.step for e in world.emails()].count("golive_statement") == 1
    log = world.log()
    assert "2026-11-20 08:00 review_touch" not in log  # within the lease it is in flight, not in doubt
    reviews = [line for line in log if line.endswith("review_touch")]
    assert reviews == ["2026-11-20 09:00 review_touch"]
    calls_made = [line for line in log if " call " in line or " agency " in line]
    assert calls_made and calls_made[0].startswith("2026-11-20 09:00")
    for number in ("INV/2026/00150", "INV/2026/00101"):
        assert "golive_statement" in world.get(number).steps_done
