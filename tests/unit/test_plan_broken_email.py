"""The ``plan_broken`` email in every language: the missed instalment's number, date and what is still
open of it, in the language's own formats, and nothing of a promised date."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from arcollect.dunning.emails import render_email
from arcollect.plans import InstalmentReminder
from tests.unit.test_dunning_emails import customer, email, parts, reparsed

MISSED = InstalmentReminder(
    plan_id="plan-0123456789abcdef", number=2, count=3, due_date=date(2027, 1, 4),
    amount=Decimal("1300.50"), currency="EUR", reminders=(), grace_days=3, missed=True,
)  # fmt: skip


@pytest.mark.parametrize(
    ("language", "subject", "words"),
    [
        (
            "en",
            "Instalment 2 of 3 of your payment plan not received: 1,300.50 EUR due 4 Jan 2027",
            "the plan has ended",
        ),
        (
            "de",
            "Rate 2 von 3 Ihrer Ratenzahlung nicht eingegangen: 1.300,50 EUR, fällig am 04.01.2027",
            "die Vereinbarung ist damit beendet",
        ),
        (
            "fr",
            "Échéance 2 sur 3 de votre plan de paiement non reçue\u00a0: "
            "1\u202f300,50\u00a0EUR au 04/01/2027",
            "le plan a donc pris fin",
        ),
    ],
)
def test_a_broken_plan_names_the_missed_instalment_in_the_customers_language(
    language: str, subject: str, words: str
) -> None:
    reminder = replace(
        email(template="plan_broken", customer=customer(language, name="Müller & Söhne GmbH")),
        instalment=MISSED,
        promised_date=None,
    )
    message = reparsed(render_email(reminder))
    # (white space compared as words: a long subject is folded, and its no-break spaces encoded)
    assert str(message["Subject"]).split() == subject.split()
    text, html = parts(message)
    assert words in text
    assert "Müller &amp; Söhne GmbH" in html
