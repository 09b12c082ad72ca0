"""The first day and the order of steps, through the real dunning handler against moto with explicit
ticks: a go-live's backlog gets one statement of overdue invoices and the policy goes on from each
invoice's age; a milder step never follows a firmer one (short terms)."""

from __future__ import annotations

import json
from datetime import date

import pytest

from arcollect.decisions import decisions_of
from arcollect.dunning.engine import Outcome
from arcollect_cli.main import main
from tests.integration.conftest import invoke
from tests.integration.dunning_world import World, through_the_cli, utc
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

    through_the_cli(monkeypatch)
    # When `arcollect dunning preview` asks what the first send window's tick will do
    capsys.readouterr()
    assert main(["dunning", "preview", "--at", "2026-11-20T08:00:00Z"]) == 0
    lines = capsys.readouterr().out.splitlines()
    # Then the small invoice's alert is not applicable, with the reason, once; it superseded nothing
    alert = [line for line in lines if "large_invoice_alert" in line]
    assert (
        "  INV-S: not_applicable large_invoice_alert - open amount 250.00 EUR is below 10000.00 EUR" in alert
    )
    assert [line for line in alert if line.startswith("  INV-S:")] == [
        "  INV-S: not_applicable large_invoice_alert - open amount 250.00 EUR is below 10000.00 EUR"
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


# --- an invoice not yet due beside a go-live backlog -------------------------------------------------

MUELLER = "Müller & Söhne, GmbH"
# Six invoices overdue on Tuesday 2026-12-08 (8 to 99 days), 25,925.76 EUR in all, when first seen.
BACKLOG = (
    ("RE/2026/0010", date(2026, 11, 30), "4200.00"),
    ("RE/2026/0011", date(2026, 11, 15), "3150.50"),
    ("RE/2026/0012", date(2026, 10, 31), "5000.00"),
    ("RE/2026/0013", date(2026, 10, 15), "2875.26"),
    ("RE/2026/0014", date(2026, 9, 30), "6100.00"),
    ("RE/2026/0015", date(2026, 8, 31), "4600.00"),
)
NOT_DUE = "RE/2026/0100"  # dated 2026-11-17, due 2026-12-17: its outreach fell due on 2026-12-01


def mueller_world() -> World:
    world = World(through_handler=True)
    world.customer(MUELLER, name="Müller & Söhne GmbH", language="de", email="buchhaltung@mueller.example")
    for number, due, amount in BACKLOG:
        world.invoice(
            number, customer_id=MUELLER, invoice_date=date.fromordinal(due.toordinal() - 30), due_date=due,
            amount=amount,
        )  # fmt: skip
    world.invoice(
        NOT_DUE, customer_id=MUELLER, invoice_date=date(2026, 11, 17), due_date=date(2026, 12, 17),
        amount="999.99",
    )  # fmt: skip
    return world


def test_a_go_live_statement_counts_and_totals_only_the_overdue_invoices(
    aws: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a go-live backlog of six overdue invoices and one not yet due (due in 9 days), whose own
    # "here is your invoice" outreach fell due a week before the first look
    world = mueller_world()
    through_the_cli(monkeypatch)
    # When `arcollect dunning preview` asks what the first send window's tick will do
    capsys.readouterr()
    assert main(["dunning", "preview", "--at", "2026-12-08T08:00:00Z", "--json"]) == 0
    [plan] = json.loads(capsys.readouterr().out)["customers"]
    # Then the statement lists the seven, the one not yet due apart, for information
    email = plan["email"]
    assert email["template"] == "overdue_statement" and len(email["invoice_numbers"]) == 7
    assert email["for_information"] == [NOT_DUE]
    why = {(d["invoice"], d["step"]): (d["outcome"], d["why"]) for d in plan["decisions"]}
    outcome, reason = why[(NOT_DUE, "outreach")]
    assert outcome == Outcome.EMAIL.value
    assert "not yet due (due 2026-12-17): listed for information" in reason
    assert "of 6 overdue invoice(s), not in its count or total" in reason
    assert "lists 6 overdue invoice(s), and 1 not yet due" in why[("RE/2026/0015", "golive_statement")][1]
    # When the tick runs
    world.tick(utc(2026, 12, 8, 8))
    # Then the statement's subject, body and total count the six overdue invoices only
    [statement] = world.emails(MUELLER)
    assert statement.subject == "Kontoauszug: 6 überfällige Rechnungen (25.925,76 EUR)"
    text = statement.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    counted, _, apart = text.partition("Offener Gesamtbetrag: 25.925,76 EUR")
    assert apart, "the total is the six overdue invoices' 25,925.76 EUR"
    assert all(number in counted for number, _, _ in BACKLOG) and NOT_DUE not in counted
    # And the invoice not yet due is listed after the total, apart, for information
    assert "Noch nicht fällig, zu Ihrer Information" in apart
    assert f"Rechnung {NOT_DUE}" in apart and "(fällig in 9 Tagen)" in apart and "999,99 EUR" in apart
    page = statement.message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert page.index("25.925,76 EUR") < page.index("Noch nicht fällig") < page.index(NOT_DUE)
    # And each overdue invoice got exactly one statement; the one not yet due took its own step with it
    assert sum(e.step == "golive_statement" for e in world.emails(MUELLER)) == 1
    for number, _, _ in BACKLOG:
        assert "golive_statement" in world.get(number, MUELLER).steps_done
    assert world.get(NOT_DUE, MUELLER).steps_done == ("outreach",)
    # And the timeline says the same as the preview and the email
    recorded = [
        decision
        for activity in world.timeline(MUELLER)
        for decision in decisions_of(activity)
        if decision.invoice_number == NOT_DUE
    ]
    assert [(d.step, d.outcome) for d in recorded] == [("outreach", "emailed")]
    assert (
        "listed for information" in recorded[0].reason and "not in its count or total" in recorded[0].reason
    )
    [sent] = [a for a in world.timeline(MUELLER) if a.kind == "email_sent"]
    assert sent.detail["for_information"] == NOT_DUE
    assert "1 of them not yet due, listed for information" in sent.summary


def test_an_invoice_not_yet_due_beside_a_go_live_statement_keeps_its_own_schedule(aws: None) -> None:
    # Given the go-live backlog and the invoice due 2026-12-17, and the statement sent on 2026-12-08
    world = mueller_world()
    # When the sweep runs past its due date
    world.run(utc(2026, 12, 8, 8), utc(2026, 12, 22))
    # Then it is not dropped from the sweep: its courtesy reminder goes 3 days before due (Monday 14th)
    # and its own past-due email once it is late (the 18th's waits for the 3 days between emails after
    # an email on the 17th: Monday 21st), as they would have without the go-live
    emails = world.emails(MUELLER)
    assert emails[0].subject == "Kontoauszug: 6 überfällige Rechnungen (25.925,76 EUR)"  # not counted in it
    listing = [(e.at.date(), e.step) for e in emails if NOT_DUE in e.invoices]
    assert listing == [
        (date(2026, 12, 8), "golive_statement"),
        (date(2026, 12, 14), "final_notice"),  # with the steps of RE/2026/0010 and 0013 due that day
        (date(2026, 12, 21), "due"),
    ]
    # And the final notice it rode along with on the 14th counts and totals the two overdue invoices only,
    # listing it apart, not yet due (the subject said 3 overdue invoices before)
    [final] = [e for e in emails if e.at.date() == date(2026, 12, 14)]
    assert final.subject.startswith("Letzte Mahnung: 2 überfällige Rechnungen (")
    text = final.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    counted, _, apart = text.partition("Noch nicht fällig, zu Ihrer Information")
    assert NOT_DUE in apart and NOT_DUE not in counted
    steps = world.get(NOT_DUE, MUELLER).steps_done
    assert {"outreach", "courtesy", "due"} <= set(steps) and "golive_statement" not in steps
    # And no statement went twice
    assert [e.step for e in emails].count("golive_statement") == 1


def test_a_statement_with_credits_takes_them_off_the_overdue_total_only(aws: None) -> None:
    # Given the go-live backlog, the invoice not yet due, and a credit note of 1,000.00 EUR
    world = mueller_world()
    credit_note(MUELLER, "GS/2026/0007", "1000.00")
    # When the first send window's tick runs
    world.tick(utc(2026, 12, 8, 8))
    # Then the statement asks for the six overdue invoices less the credit; the one not yet due is in
    # no total
    [statement] = world.emails(MUELLER)
    assert statement.subject == "Kontoauszug: 6 überfällige Rechnungen (24.925,76 EUR)"
    text = statement.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Offener Gesamtbetrag: 25.925,76 EUR" in text and "Zu zahlen: 24.925,76 EUR" in text
    assert text.index("Zu zahlen: 24.925,76 EUR") < text.index(f"Rechnung {NOT_DUE}")


def test_credits_covering_the_overdue_invoices_stop_the_statement_and_ask_for_nothing(aws: None) -> None:
    # Given credits that cover the six overdue invoices (25,925.76 EUR) but not the seven (26,925.75 EUR)
    world = mueller_world()
    credit_note(MUELLER, "GS/2026/0008", "26000.00")
    # When the first send window's tick runs
    world.tick(utc(2026, 12, 8, 8))
    # Then nothing is sent (no statement asking for 0.00, no outreach net of credits the overdue
    # invoices take): a collector applies the credits
    assert world.emails(MUELLER) == []
    assert [t.kind for t in world.tasks(MUELLER)].count("credit_balance") == 1
    suppressed = [
        decision
        for activity in world.timeline(MUELLER)
        for decision in decisions_of(activity)
        if decision.invoice_number == NOT_DUE
    ]
    assert [(d.step, d.outcome) for d in suppressed] == [("outreach", "suppressed")]
    assert "the statement it would be listed in (for information)" in suppressed[0].reason


def credit_note(customer_id: str, number: str, amount: str) -> None:
    from decimal import Decimal

    from arcollect.entities import DocumentType, Invoice
    from arcollect.store.repositories import Invoices

    Invoices().save(
        Invoice(
            customer_id=customer_id,
            invoice_number=number,
            currency="EUR",
            amount=Decimal(amount),
            open_amount=Decimal(amount),
            invoice_date=date(2026, 11, 20),
            due_date=date(2026, 11, 20),
            document_type=DocumentType.CREDIT_NOTE.value,
        )
    )
