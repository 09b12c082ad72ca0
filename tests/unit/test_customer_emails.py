"""The one-off emails' words (arcollect/customer_emails.py), without AWS: a statement's lines and totals
per currency net of credits, escaping in the HTML part, ids that cannot add a header, the payment
confirmation's applications."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from arcollect.credits import CREDIT_NOTE, UNAPPLIED_CASH, CreditLine
from arcollect.customer_emails import (
    Signature,
    render_payment_confirmation,
    render_portal_link,
    render_statement,
)
from arcollect.dunning.emails import format_money
from arcollect.entities import Allocation, Customer, Invoice, Payment
from arcollect.money import MINOR_UNITS, written

NOW = datetime(2026, 3, 10, 8, tzinfo=UTC)
CUSTOMER = Customer("Müller & Söhne, GmbH", "Müller & Söhne <GmbH>", "kreditoren@mueller-soehne.example")
DANA = Signature("Dana Weiß", "dana@seller.example")


def _invoice(number: str, amount: str, due: date, currency: str = "EUR", **changes: object) -> Invoice:
    return Invoice(
        CUSTOMER.customer_id, number, currency, Decimal(amount), Decimal(amount), date(2026, 1, 15), due,
        **changes,  # type: ignore[arg-type]
    )  # fmt: skip


def _parts(message: object) -> tuple[str, str]:
    text = message.get_body(("plain",)).get_content()  # type: ignore[attr-defined]
    html = message.get_body(("html",)).get_content()  # type: ignore[attr-defined]
    return text, html


def test_a_statement_lists_the_open_items_and_the_balance_per_currency_net_of_credits() -> None:
    invoices = [
        _invoice("INV/2026/0043", "300.00", date(2026, 4, 30)),
        _invoice("INV/2026/0042", "1200.00", date(2026, 3, 2), disputed=True),
        _invoice("INV/2026/0050", "150000", date(2026, 3, 10), currency="JPY"),
    ]
    credits = [
        CreditLine(CREDIT_NOTE, "GS/2026/0007", "EUR", Decimal("50.00"), date(2026, 2, 25)),
        CreditLine(UNAPPLIED_CASH, "PAY/2026/118", "EUR", Decimal("25.00"), date(2026, 3, 6)),
    ]
    message = render_statement(
        CUSTOMER, invoices=invoices, credits=credits, today=date(2026, 3, 10), to=CUSTOMER.email,
        link="https://portal.example.com/l/abc", signature=DANA, sender="ar@seller.example",
        sender_name="Seller AR", now=NOW, touch_id="one-off-1",
    )  # fmt: skip
    text, html = _parts(message)
    # Oldest due first, how late each is, the disputed one marked
    assert text.index("INV/2026/0042") < text.index("INV/2026/0050") < text.index("INV/2026/0043")
    assert "(8 days overdue (in dispute))" in text and "(due today)" in text and "(due 2026-04-30)" in text
    # Per currency, never added across them; euros net of the credit note and the unapplied cash
    assert "Balance: 1,425.00 EUR + 150,000 JPY" in text
    assert "Credit note GS/2026/0007: -50.00 EUR" in text
    assert "Payment received, not yet applied PAY/2026/118: -25.00 EUR" in text
    # The HTML part escapes the customer's name; the headers name the customer, its invoices, the sender
    assert "Müller &amp; Söhne &lt;GmbH&gt;" in html and "<GmbH>" not in html
    assert message["X-Arcollect-Invoices"] == "INV/2026/0042,INV/2026/0050,INV/2026/0043"
    assert message["X-Arcollect-Step"] == "statement" and message["X-Arcollect-Touch"] == "one-off-1"
    assert str(message["Reply-To"]) == "Dana Weiß <dana@seller.example>"


def test_an_id_with_a_line_break_adds_no_header() -> None:
    customer = Customer("C-1\r\nBcc: evil@example.com", "C-1", "ap@c-1.example")
    message = render_portal_link(
        customer, to=customer.email, link="https://portal.example.com/l/abc", days=30, signature=DANA,
        sender="ar@seller.example", sender_name="Seller AR", now=NOW, touch_id="one-off-2",
    )  # fmt: skip
    assert message["Bcc"] is None
    assert "\n" not in str(message["X-Arcollect-Customer"])
    text, _ = _parts(message)
    assert "https://portal.example.com/l/abc" in text and "works for 30 days" in text


def test_a_payment_confirmation_names_what_it_paid_and_what_is_left_unapplied() -> None:
    payment = Payment(
        CUSTOMER.customer_id, "PAY/2026/118", date(2026, 3, 6), Decimal("525.00"), "EUR", reference="RA 118",
        applied_amount=Decimal("500.00"), unapplied_amount=Decimal("25.00"),
        allocations=(
            Allocation("INV/2026/0042", Decimal("300.00")), Allocation("INV/2026/0043", Decimal("200.00"))
        ),
    )  # fmt: skip
    message = render_payment_confirmation(
        CUSTOMER, payment=payment, to=CUSTOMER.email, signature=Signature("Dana"), sender="ar@seller.example",
        sender_name="Seller AR", now=NOW, touch_id="one-off-3",
    )  # fmt: skip
    text, _ = _parts(message)
    assert message["Subject"] == "We received your payment of 525.00 EUR" and message["Reply-To"] is None
    assert "on 2026-03-06 (your reference RA 118)." in text
    assert "- invoice INV/2026/0042: 300.00 EUR\n- invoice INV/2026/0043: 200.00 EUR" in text
    assert "25.00 EUR of it is not applied to an invoice yet" in text


def test_money_keeps_each_currencys_minor_units() -> None:
    assert written(Decimal("1234.5"), "EUR") == "1,234.50 EUR"
    assert written(Decimal("1234.5"), "JPY") == "1,235 JPY"
    assert written(Decimal("1.2345"), "KWD") == "1.235 KWD"


@pytest.mark.parametrize("currency", sorted({*MINOR_UNITS, "EUR", "GBP", "USD"}))
def test_a_statement_writes_every_amount_as_the_english_reminder_does(currency: str) -> None:
    # Given a customer with an invoice in a currency of ISO 4217's table (none, two, three or four
    # decimals: VND, XOF and UGX have none, IQD and LYD three, as JPY and KWD)
    invoices = [_invoice("INV-1", "150000", date(2026, 3, 2), currency=currency)]
    credits = [CreditLine(CREDIT_NOTE, "GS-1", currency, Decimal("1000"), date(2026, 2, 25))]
    # When a collector sends the statement, and a payment's confirmation
    text, html = _parts(
        render_statement(
            CUSTOMER, invoices=invoices, credits=credits, today=date(2026, 3, 10), to=CUSTOMER.email,
            link=None, signature=DANA, sender="ar@seller.example", sender_name="Seller AR", now=NOW,
            touch_id="one-off-2",
        )
    )  # fmt: skip
    payment = Payment(
        CUSTOMER.customer_id, "PAY-1", date(2026, 3, 9), Decimal("150000"), currency,
        applied_amount=Decimal("150000"), allocations=(Allocation("INV-1", Decimal("150000")),),
    )  # fmt: skip
    confirmation, _ = _parts(
        render_payment_confirmation(
            CUSTOMER, payment=payment, to=CUSTOMER.email, signature=DANA, sender="ar@seller.example",
            sender_name="Seller AR", now=NOW, touch_id="one-off-3",
        )
    )  # fmt: skip
    # Then each amount has the currency's decimals, exactly as the reminder writes it in English
    line, credit, balance = (format_money(Decimal(a), currency, "en") for a in ("150000", "-1000", "149000"))
    assert f"- INV-1: {line}, invoice date" in text and f'<td style="text-align: right;">{line}</td>' in html
    assert f"GS-1: {credit}" in text and f"Balance: {balance}" in text
    assert f"payment of {line} on" in confirmation and f"invoice INV-1: {line}" in confirmation
