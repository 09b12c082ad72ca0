"""The 360's Dunning state says who holds a customer's dunning, through the portal function's staff
console against moto: a collector's hold put on with the console's own form (the profile's
collector_hold, not the ERP's dunning_hold) is shown as such, with when, who and why, and its release
too."""

from __future__ import annotations

import html
import re

from arcollect.store.repositories import Customers
from tests.integration.dunning_world import World
from tests.integration.test_manual_work import MUELLER, Console, world

# The fixture, shared with test_manual_work.
__all__ = ["world"]


def hold_state(page: str) -> str:
    found = re.search(r'<li id="dunning-hold">(.*?)</li>', page, re.S)
    assert found, page
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1)))


def test_a_collectors_hold_is_shown_as_one_with_when_who_and_why_and_its_release(world: World) -> None:
    console = Console(world)
    assert hold_state(console.browser.get(console.page).text) == "Not on hold."
    held = console.browser.post(
        f"{console.page}/hold", {**console.form(), "hold": "on", "reason": "In legal review"}
    )
    assert held.status == 303 and held.header("Location").endswith("?done=hold-on")
    customer = Customers().get(MUELLER)
    assert customer is not None and (customer.collector_hold, customer.dunning_hold) == (True, False)
    page = console.browser.get(console.page + "?done=hold-on").text
    assert "The customer is on dunning hold." in page
    line = hold_state(page)
    assert line.startswith("On dunning hold: a collector's hold since 2026-03-10 (")
    assert line.endswith(
        "put the customer on dunning hold: In legal review). No reminders, no dunning tasks until it is "
        "released."
    )
    # The form offers what can be done here: release the collector's hold.
    assert re.search(r'id="hold-off"[^>]* checked', page)
    released = console.browser.post(f"{console.page}/hold", {**console.form(), "hold": "off", "reason": ""})
    assert released.status == 303
    assert hold_state(console.browser.get(console.page).text) == "Not on hold."
