"""The reminder's machine-readable headers carry the customer id and invoice numbers exactly as stored
(``arcollect outbox`` reads them back): blanks inside an id are part of it, non-Latin text survives the
header's encoding, and only line breaks are taken out."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from arcollect.dunning.emails import HEADER_CUSTOMER, HEADER_INVOICES, render_email
from tests.unit.test_dunning_emails import customer, email, invoice, reparsed


def test_ids_go_into_the_headers_as_they_are() -> None:
    reminder = email(
        customer=replace(customer(), customer_id="O'Brien  Ltd"),
        invoices=(
            invoice("請求-2026/0099", "5.00", due=date(2026, 11, 1)),
            invoice("SO-2026/0042  A", "7.00", due=date(2026, 11, 1)),
        ),
    )
    message = reparsed(render_email(reminder))
    assert message[HEADER_CUSTOMER] == "O'Brien  Ltd"
    assert message[HEADER_INVOICES] == "請求-2026/0099,SO-2026/0042  A"


def test_line_breaks_in_an_id_still_become_one_blank() -> None:
    reminder = email(customer=replace(customer(), customer_id="C-1\r\n\r\nX-Evil: 1"))
    assert reparsed(render_email(reminder))[HEADER_CUSTOMER] == "C-1 X-Evil: 1"
