"""The final notice lists the statutory late-payment charges, in every language, labelled as such and
outside the total asked unless the policy adds them (docs/late-charges.md)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from arcollect.dunning.emails import LANGUAGES, format_money, render_email
from arcollect.interest import Charges
from tests.unit.test_dunning_emails import customer, email, parts, reparsed

AS_OF = date(2026, 11, 23)
EUR = Charges(currency="EUR", as_of=AS_OF, days_late=13, interest=Decimal("5.87"), compensation=Decimal(40))
USD = Charges(currency="USD", as_of=AS_OF, days_late=1, interest=Decimal("0.07"), compensation=Decimal(0))
TITLES = {
    "en": "Statutory late-payment charges to date",
    "de": "Gesetzliche Verzugszinsen und Pauschale bis heute",
    "fr": "Pénalités de retard et indemnité forfaitaire légales à ce jour",
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_final_notice_lists_the_charges_outside_the_total(language: str) -> None:
    reminder = email(
        template="final_notice",
        step="final_notice",
        customer=customer(language),
        late_charges=(("INV-1001", EUR), ("INV-1003", USD)),
    )
    text, html = parts(reparsed(render_email(reminder)))
    for body in (text, html):
        assert TITLES[language] in body
        for amount, currency in (("5.87", "EUR"), ("40", "EUR"), ("0.07", "USD")):
            assert format_money(Decimal(amount), currency, language) in body
        # the totals asked are the open amounts alone
        assert format_money(Decimal("1334.56"), "EUR", language) in body
        assert format_money(Decimal("1380.43"), "EUR", language) not in body


def test_when_the_policy_adds_them_the_total_asked_includes_them() -> None:
    reminder = email(template="final_notice", late_charges=(("INV-1001", EUR),), charges_added=True)
    text, html = parts(reparsed(render_email(reminder)))
    for body in (text, html):
        assert "1,380.43 EUR" in body  # 1,334.56 + 5.87 + 40
        assert "they are included in the total above" in body
    assert "They are not included" not in text


def test_without_charges_nothing_is_said_of_them() -> None:
    text, html = parts(reparsed(render_email(email(template="final_notice"))))
    assert "late-payment" not in text and "late-payment" not in html
