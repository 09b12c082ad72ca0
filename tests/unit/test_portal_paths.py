"""Invoice numbers with ``/``, ``#``, blanks and non-Latin letters in the portal's URLs: each page links
an invoice by its number as ONE percent-encoded path segment, and every route (pages, JSON API, staff
console) reads the segment back decoded, once."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import quote

import pytest

from arcollect.portal.web.render import path_segment
from tests.unit.portal_client import Client, client, portal, signed_in
from tests.unit.portal_fake import FakePortal

__all__ = ["client", "portal", "signed_in"]  # the fixtures, from the shared portal client

NUMBERS = ["INV/2026/00187", "INV#1042/B", "SO-2026/0042 A", "請求-2026/0099", "50%25 rebate"]


@pytest.fixture
def awkward(portal: FakePortal) -> FakePortal:
    """C1's invoices numbered as real ERPs number them: the first with INV-1's pay link, the rest
    like INV-2 (none)."""
    first, second = portal.invoices["C1"][:2]
    portal.invoices["C1"] = [replace(first, invoice_number=NUMBERS[0])] + [
        replace(second, invoice_number=number) for number in NUMBERS[1:]
    ]
    return portal


def test_a_path_segment_encodes_every_reserved_character() -> None:
    assert path_segment("INV/2026/00187") == "INV%2F2026%2F00187"
    assert path_segment("INV#1042/B") == "INV%231042%2FB"
    assert path_segment("請求-2026/0099") == "%E8%AB%8B%E6%B1%82-2026%2F0099"
    assert path_segment("AH (rev. 2)?x=1&y") == "AH%20%28rev.%202%29%3Fx%3D1%26y"


def test_the_account_links_each_invoice_by_one_encoded_segment(
    awkward: FakePortal, signed_in: Client
) -> None:
    page = signed_in.get("/account").text
    listed = [invoice.invoice_number for invoice in awkward.invoices["C1"]]
    for number in listed:
        assert f'href="/invoices/{quote(number, safe="")}"' in page
    assert f'href="/invoices/{quote(listed[0], safe="")}/pay"' in page


@pytest.mark.parametrize("number", NUMBERS[:2])
def test_an_encoded_segment_reaches_the_invoice_once_decoded(
    awkward: FakePortal, signed_in: Client, number: str
) -> None:
    segment = quote(number, safe="")
    page = signed_in.get(f"/invoices/{segment}")
    assert page.status == 200
    assert f"Invoice {number}</h2>" in page.text
    api = signed_in.get(f"/api/v1/invoices/{segment}")
    assert (api.status, api.json()["invoice"]["invoice_number"]) == (200, number)


def test_a_segment_is_decoded_once_not_twice(awkward: FakePortal, signed_in: Client) -> None:
    # "50%25 rebate" is the invoice "50%25 rebate" (its own "%25"), sent as "50%2525%20rebate"
    assert signed_in.get(f"/invoices/{quote('50%25 rebate', safe='')}").status == 200
    # and "50%25%20rebate" decoded once is "50% rebate", which is no invoice of C1's
    assert signed_in.get("/invoices/50%25%20rebate").status == 404


def test_pay_and_its_way_back_keep_the_number_whole(awkward: FakePortal, signed_in: Client) -> None:
    paid = signed_in.get(f"/invoices/{quote(NUMBERS[0], safe='')}/pay")
    assert (paid.status, paid.header("Location")) == (303, "https://pay.example/1")
    cannot = signed_in.get(f"/invoices/{quote(NUMBERS[1], safe='')}/pay")
    assert cannot.status == 400
    assert f'href="/invoices/{quote(NUMBERS[1], safe="")}"' in cannot.text


def test_a_raw_slash_is_no_invoice(awkward: FakePortal, signed_in: Client) -> None:
    assert signed_in.get("/invoices/INV/2026/00187").status == 404
