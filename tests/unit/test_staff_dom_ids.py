"""The staff console's HTML ids made from store values (``console/common.py`` ``dom_id``): two invoice,
payment or dispute numbers that differ only in punctuation or accents (``FA/2024/0042`` and
``FA-2024-0042``, ``RÖ/2025/000`` and ``RÜ/2025/000``) get different ids on the 360 page, and each link
and label points at its own invoice's element."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from html import escape
from html.parser import HTMLParser
from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st

from arcollect.console.common import dom_id
from arcollect.entities import Payment
from tests.unit.test_predictions_in_use import DUE, outlook
from tests.unit.test_staff_web import StaffClient, client, collector, directory, sessions, workspace
from tests.unit.workspace_fake import NOW, TODAY, FakeWorkspace, account_360, work_item

# The fixtures, shared with test_staff_web.
__all__ = ["client", "collector", "directory", "sessions", "workspace"]

CUSTOMER = "Müller & Söhne, GmbH"
NUMBERS = ("FA/2024/0042", "FA-2024-0042", "RÖ/2025/000", "RÜ/2025/000", "FA_2f2024_2f0042")
# The names around a dom_id in the templates: the id alone must not be able to run into another one's.
AFFIXES = ("", "-title", "-note", "-allocations", "-allocations-hint", "-status")


class _Page(HTMLParser):
    """Every id of the page, every reference to an id (fragment links, labels, ARIA), and each h3's text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.refs: list[str] = []
        self.headings: dict[str, str] = {}
        self._heading: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if values.get("id"):
            self.ids.append(values["id"])
        if values.get("href", "").startswith("#") and len(values["href"]) > 1:
            self.refs.append(values["href"][1:])
        for name in ("for", "aria-labelledby", "aria-describedby"):
            self.refs.extend(values.get(name, "").split())
        if tag == "h3" and values.get("id"):
            self._heading = values["id"]
            self.headings[self._heading] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "h3":
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self._heading:
            self.headings[self._heading] += data


def _page(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    page.close()
    return page


def test_dom_id_keeps_letters_and_digits_and_escapes_every_other_byte() -> None:
    assert dom_id("INV1") == "INV1"
    assert dom_id("FA/2024/0042") == "FA_2f2024_2f0042"
    assert dom_id("FA-2024-0042") == "FA_2d2024_2d0042"
    assert dom_id("FA_2f2024_2f0042") == "FA_5f2f2024_5f2f0042"
    assert dom_id("RÖ/2025/000") == "R_c3_96_2f2025_2f000"
    assert dom_id("RÜ/2025/000") == "R_c3_9c_2f2025_2f000"
    assert dom_id("") == ""
    assert len({dom_id(number) for number in NUMBERS}) == len(NUMBERS)


@given(st.text(), st.text())
def test_dom_id_is_injective_and_a_plain_id(one: str, other: str) -> None:
    assert re.fullmatch(r"[A-Za-z0-9_]*", dom_id(one))
    assert dom_id(one) == dom_id(one)
    if one != other:
        assert dom_id(one) != dom_id(other)
        # With the templates' prefixes and suffixes too ("-" never comes out of dom_id)
        assert {f"cash-{dom_id(one)}{a}" for a in AFFIXES}.isdisjoint(
            {f"cash-{dom_id(other)}{a}" for a in AFFIXES}
        )


def test_the_360_page_gives_each_invoice_its_own_ids_and_links(
    collector: StaffClient, workspace: FakeWorkspace
) -> None:
    base = account_360()
    invoices = tuple(
        replace(
            base.open_invoices[0], customer_id=CUSTOMER, invoice_number=number, open_amount=Decimal(100 + i)
        )
        for i, number in enumerate(NUMBERS)
    )
    predictions = {
        number: replace(outlook(number, "0.5", DUE + timedelta(days=10 + i)), customer_id=CUSTOMER)
        for i, number in enumerate(NUMBERS)
    }
    payments = tuple(
        Payment(
            customer_id=CUSTOMER,
            payment_id=payment_id,
            payment_date=TODAY - timedelta(days=3),
            amount=Decimal("50"),
            currency="EUR",
            unapplied_amount=Decimal("50"),
        )
        for payment_id in ("ZE/2026/99", "ZE-2026-99")
    )
    disputes = tuple(
        replace(
            base.disputes[0], customer_id=CUSTOMER, dispute_id=dispute_id, created_at=NOW - timedelta(days=1)
        )
        for dispute_id in ("D/1", "D-1")
    )
    workspace.accounts[CUSTOMER] = replace(
        base,
        customer=replace(base.customer, customer_id=CUSTOMER, name=CUSTOMER),
        open_invoices=invoices,
        predictions=predictions,
        payments=payments,
        disputes=disputes,
    )
    path = f"/staff/customers/{quote(CUSTOMER, safe='')}"
    assert path == "/staff/customers/M%C3%BCller%20%26%20S%C3%B6hne%2C%20GmbH"
    reply = collector.get(path)
    assert reply.status == 200
    page = _page(reply.text)

    # Then no id is on the page twice, and every link, label and ARIA reference finds its element
    assert [i for i, n in Counter(page.ids).items() if n > 1] == []
    assert sorted(set(page.refs) - set(page.ids)) == []
    # And each invoice's "Expected" link goes to that invoice's own prediction
    for number in NUMBERS:
        row = re.search(rf'<th scope="row">{re.escape(escape(number))}</th>(.*?)</tr>', reply.text, re.S)
        assert row, number
        [target] = re.findall(r'href="#([^"]+)"', row.group(1))
        assert target in page.ids
        assert page.headings[f"{target}-title"].startswith(f"Invoice {number}: expected ")
        assert predictions[number].pay_date.isoformat() in page.headings[f"{target}-title"]
    # And each payment's apply-cash form and each dispute's move form is its own
    for payment in payments:
        assert f"payment {payment.payment_id}," in page.headings[f"cash-{dom_id(payment.payment_id)}-title"]
    assert {f"move-{dom_id(d.dispute_id)}" for d in disputes} <= set(page.ids)
    # And the worklist's "apply cash" task links to its own payment's form on the 360
    workspace.worklists["cora"] = [
        work_item(f"apply-cash-{p.payment_id}", 50 - i, customer_id=CUSTOMER, kind="apply_cash")
        for i, p in enumerate(payments)
    ]
    worklist = collector.get("/staff/worklist").text
    for payment in payments:
        task = quote(f"apply-cash-{payment.payment_id}", safe="")
        [fragment] = re.findall(rf'href="{re.escape(path)}\?task={re.escape(task)}#([^"]+)"', worklist)
        assert page.headings[f"{fragment}-title"].startswith(f"Apply cash: payment {payment.payment_id},")
