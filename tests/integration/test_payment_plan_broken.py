"""A broken payment plan's email, through the dunning function against moto (issue 20, item 3): the
customer is told which instalment was missed, its date and what is still open of it (the ``plan_broken``
template), not the wording of a promise to pay; once, however many ticks follow."""

from __future__ import annotations

from tests.integration import test_payment_plans as agreed
from tests.integration.dunning_world import World, utc
from tests.integration.test_payment_plans import FIRST, MUELLER, SECOND, THREE, Console, emails_to, pay, plans

world = agreed.world
console = agreed.console


def test_a_broken_plan_tells_the_customer_the_missed_instalment_its_date_and_what_is_open_of_it(
    world: World, console: Console
) -> None:
    # Given 3 x 600.00 EUR agreed on 23 November, and 250.00 paid towards the first instalment
    assert console.post_json(THREE).status == 201
    [plan] = plans()
    pay("ZE/2026/1126", "2026-11-26", "250.00", SECOND)
    # When the first instalment's due day (1 December) and grace pass with 350.00 of it still open
    world.run(utc(2026, 11, 24, 7), utc(2026, 12, 9, 12))
    # Then the plan is broken and the customer gets the plan's own email, once
    [broken] = plans()
    assert (broken.status, broken.missed_instalment) == ("broken", 1)
    [email] = [e for e in emails_to(MUELLER) if e.step == f"missed_promise#{plan.plan_id}"]
    assert email.subject == ("Instalment 1 of 3 of your payment plan not received: 350.00 EUR due 1 Dec 2026")
    body = email.message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "Instalment 1 of 3 of your payment plan, 350.00 EUR due on 1 Dec 2026, has not reached us" in text
    assert "promised" not in text.lower()  # not the missed-promise wording
    assert sorted(email.invoices) == [FIRST, SECOND]
