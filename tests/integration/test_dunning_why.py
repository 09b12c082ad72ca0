"""Why, after the fact: every decision a sweep makes about an invoice is in the customer's timeline with
its reason and the policy's revision, and `arcollect show customer ID` returns them (the 360 view lists
the same entries), through the real dunning handler against moto."""

from __future__ import annotations

from datetime import date

from arcollect.policy import shipped_policy
from arcollect_cli.show import customer_360
from tests.integration.dunning_world import World, utc

CUSTOMER = "Brennan & Sons, PC"
# Due 2026-11-10: by Tuesday 2026-11-24 (14 days late) every step up to the reminder email was taken.
STEPS_DONE = ("outreach", "courtesy", "due", "late_alert", "first_call")


def _decided(customer_id: str, on: date) -> set[tuple[str | None, str | None, str]]:
    document = customer_360(customer_id)
    assert document is not None
    return {
        (d["invoice_number"], d["step"], d["outcome"])
        for d in document["dunning_decisions"]
        if d["at"].startswith(on.isoformat())
    }


def test_why_a_customer_did_or_did_not_get_a_reminder_on_tuesday(aws: None) -> None:
    # Given three late invoices: one plain, one disputed, one promised for Friday
    world = World(through_handler=True)
    world.customer(CUSTOMER, email="ap@brennan-sons.example", country="US", time_zone="America/New_York")
    for number, changes in (
        ("INV/2026/00187", {}),
        ("INV/2026/00188", {"disputed": True}),
        ("INV/2026/00189", {"promised_until": date(2026, 11, 27)}),
    ):
        world.invoice(
            number,
            customer_id=CUSTOMER,
            invoice_date=date(2026, 10, 11),
            due_date=date(2026, 11, 10),
            steps_done=STEPS_DONE,
            **changes,
        )
    # When the sweep runs from Monday night (New York) into Tuesday 2026-11-24
    world.run_every_hour(utc(2026, 11, 24, 3), utc(2026, 11, 24, 18))
    # Then `arcollect show customer` says, for Tuesday: the reminder waited for the send window, then
    # went; the disputed and the promised invoices were suppressed
    decided = _decided(CUSTOMER, date(2026, 11, 24))
    assert ("INV/2026/00187", "reminder", "waiting for the send window") in decided
    assert ("INV/2026/00187", "reminder", "emailed") in decided
    assert ("INV/2026/00188", None, "suppressed") in decided
    assert ("INV/2026/00189", None, "suppressed") in decided
    document = customer_360(CUSTOMER)
    assert document is not None
    reasons = {d["invoice_number"]: d["reason"] for d in document["dunning_decisions"]}
    assert reasons["INV/2026/00188"].startswith("disputed")
    assert reasons["INV/2026/00189"].startswith("promise to pay by 2026-11-27")
    # And every entry names the policy's revision
    assert {d["policy_revision"] for d in document["dunning_decisions"]} == {shipped_policy().revision}
    [email] = world.emails(CUSTOMER)
    assert email.invoices == ["INV/2026/00187"]


def test_a_bounced_customer_is_told_apart_from_one_nothing_was_due_for(aws: None) -> None:
    world = World(through_handler=True)
    world.customer(CUSTOMER, email="ap@brennan-sons.example", suppressed_emails=("ap@brennan-sons.example",))
    world.invoice(
        "INV/2026/00187",
        customer_id=CUSTOMER,
        invoice_date=date(2026, 10, 11),
        due_date=date(2026, 11, 10),
        steps_done=STEPS_DONE,
    )
    world.run(utc(2026, 11, 24, 7), utc(2026, 11, 24, 18))
    document = customer_360(CUSTOMER)
    assert document is not None
    [bounced] = [d for d in document["dunning_decisions"] if d["step"] == "reminder"]
    assert bounced["outcome"] == "suppressed"
    assert bounced["reason"].startswith("every address bounced or complained")
    assert world.emails(CUSTOMER) == []
