"""Reminder emails: every template in every language, per-currency totals, formats, escaping, headers."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from arcollect.clock import format_instant
from arcollect.contract import HEADER_SENT_AT
from arcollect.dunning.emails import (
    HEADER_CUSTOMER,
    HEADER_INVOICES,
    HEADER_STEP,
    HEADER_TOUCH,
    LANGUAGES,
    Contact,
    ReminderEmail,
    UnknownTemplate,
    format_date,
    format_money,
    language_for,
    render_email,
)
from arcollect.entities import Customer, Invoice
from arcollect.policy import TEMPLATES, template_problems

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
PORTAL = "https://portal.example.com/a/tok123"


def customer(language: str | None = "en", name: str = "Acme Corp") -> Customer:
    return Customer(customer_id="C-1", name=name, email="ap@acme.example", language=language)


def invoice(number: str, amount: str, currency: str = "EUR", *, due: date, **more: object) -> Invoice:
    return Invoice(
        customer_id="C-1",
        invoice_number=number,
        currency=currency,
        amount=Decimal(amount),
        open_amount=Decimal(amount),
        invoice_date=date(2026, 10, 1),
        due_date=due,
        **more,  # type: ignore[arg-type]
    )


INVOICES = (
    invoice("INV-1001", "1234.56", due=date(2026, 11, 10), pay_url="https://pay.example.com/INV-1001"),
    invoice("INV-1002", "100.00", due=date(2026, 11, 20), po_number="PO-77"),
    invoice("INV-1003", "250.00", "USD", due=date(2026, 11, 22), pay_url="https://pay.example.com/INV-1003"),
)


def email(**changes: object) -> ReminderEmail:
    base = ReminderEmail(
        customer=customer(),
        invoices=INVOICES,
        template="due",
        step="due",
        recipients=("ap@acme.example", "finance@acme.example"),
        sender="ar@seller.example",
        portal_url=PORTAL,
        now=NOW,
        touch_id="touch-42",
        promised_date=date(2026, 11, 20),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


def reparsed(message: EmailMessage) -> EmailMessage:
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_template_renders_both_parts_in_every_language(template: str, language: str) -> None:
    # Given three invoices in two currencies, one with a PO number, two with a pay link
    reminder = email(template=template, customer=customer(language))

    # When the email is rendered
    message = reparsed(render_email(reminder))

    # Then it is multipart/alternative with a text and an HTML part
    assert message.get_content_type() == "multipart/alternative"
    text, html = parts(message)
    assert message["Content-Language"] == language
    assert message["Subject"]
    for body in (text, html):
        # naming every invoice, the portal and both pay links
        for number in ("INV-1001", "INV-1002", "INV-1003"):
            assert number in body
        assert "PO-77" in body
        assert PORTAL in body
        assert "https://pay.example.com/INV-1001" in body
        assert "https://pay.example.com/INV-1003" in body
        # with one total per currency, never their sum
        assert format_money(Decimal("1334.56"), "EUR", language) in body
        assert format_money(Decimal("250"), "USD", language) in body
        assert format_money(Decimal("1584.56"), "EUR", language) not in body
    # and the portal is a button (a link) in the HTML part
    assert f'href="{PORTAL}"' in html
    assert 'href="https://pay.example.com/INV-1001"' in html


def test_the_english_email_reads_as_expected() -> None:
    # Given the "due" template in English
    # When rendered
    message = render_email(email())
    text, html = parts(message)

    # Then subject, greeting, days late and totals are there, formatted the English way
    assert message["Subject"] == "3 invoices are now past due (1,334.56 EUR + 250.00 USD)"
    assert text.startswith("Dear Acme Corp,\n")
    assert "1,234.56 EUR" in text
    assert "13 days overdue" in text
    assert "1 day overdue" in text
    assert "10 Nov 2026" in text
    assert "Total open: 1,334.56 EUR" in text
    assert "Total open: 250.00 USD" in text
    assert "Accounts Receivable" in text
    assert "<table" in html and "max-width:600px" in html and "<style" not in html


def test_german_numbers_and_dates() -> None:
    # Given a customer writing in German (with a region)
    reminder = email(customer=customer("de-DE"), template="reminder")

    # When rendered
    message = render_email(reminder)
    text, html = parts(message)

    # Then amounts use a point for thousands and a comma for decimals, dates are dd.mm.yyyy
    assert "1.234,56 EUR" in text and "1.234,56 EUR" in html
    assert "Offener Gesamtbetrag: 1.334,56 EUR" in text
    assert "10.11.2026" in text
    assert "13 Tage überfällig" in text
    assert text.startswith("Guten Tag Acme Corp,")
    assert message["Subject"] == "Zahlungserinnerung: 3 überfällige Rechnungen (1.334,56 EUR + 250,00 USD)"


def test_french_numbers_and_dates() -> None:
    # Given a customer writing in Canadian French
    reminder = email(customer=customer("fr_CA"), template="firm")

    # When rendered
    text, _ = parts(render_email(reminder))

    # Then thousands are grouped by a (narrow no-break) space, decimals by a comma, dates are dd/mm/yyyy
    assert "1\u202f234,56 EUR" in text
    assert "10/11/2026" in text
    assert "13 jours de retard" in text
    assert text.startswith("Bonjour Acme Corp,")


def test_formats_of_money_and_dates() -> None:
    # Given amounts and a date, When formatted per language, Then each language has its conventions
    assert format_money(Decimal("1234567.5"), "EUR", "en") == "1,234,567.50 EUR"
    assert format_money(Decimal("1234.56"), "EUR", "de") == "1.234,56 EUR"
    assert format_money(Decimal("1234.56"), "EUR", "fr").replace("\u202f", " ") == "1 234,56 EUR"
    assert format_money(Decimal("999"), "USD", "en") == "999.00 USD"
    assert format_money(Decimal("1500"), "JPY", "en") == "1,500 JPY"
    assert format_date(date(2026, 11, 23), "en") == "23 Nov 2026"
    assert format_date(date(2026, 11, 3), "de") == "03.11.2026"
    assert format_date(date(2026, 11, 23), "fr") == "23/11/2026"


def test_courtesy_says_when_the_invoice_falls_due() -> None:
    # Given invoices not yet due
    upcoming = (
        invoice("INV-2001", "10.00", due=date(2026, 11, 28)),
        invoice("INV-2002", "20.00", due=date(2026, 11, 24)),
        invoice("INV-2003", "30.00", due=date(2026, 11, 23)),
    )

    # When the courtesy email is rendered
    message = render_email(email(template="courtesy", invoices=upcoming))
    text, _ = parts(message)

    # Then it counts the days until each due date instead of days late
    assert "due in 5 days" in text
    assert "due tomorrow" in text
    assert "due today" in text
    assert "overdue" not in text
    assert message["Subject"] == "Coming due: 3 invoices (60.00 EUR)"


def test_a_single_invoice_gets_the_singular_wording() -> None:
    # Given one invoice
    one = (INVOICES[0],)

    # When rendered in each language, Then the subject names that invoice
    assert render_email(email(invoices=one))["Subject"] == "Invoice INV-1001 is now past due (1,234.56 EUR)"
    german = render_email(email(invoices=one, customer=customer("de")))
    assert german["Subject"] == "Rechnung INV-1001 ist überfällig (1.234,56 EUR)"


def test_html_escapes_customer_provided_strings() -> None:
    # Given a customer name, invoice number and PO number with markup in them
    reminder = email(
        customer=customer(name="<script>alert(1)</script> & Co"),
        invoices=(invoice("<b>INV</b>", "5.00", due=date(2026, 11, 1), po_number='"><img src=x>'),),
    )

    # When rendered
    text, html = parts(render_email(reminder))

    # Then the HTML part shows them as text, never as markup
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html
    assert "<b>INV</b>" not in html and "&lt;b&gt;INV&lt;/b&gt;" in html
    assert "<img" not in html
    # and the text part keeps them verbatim
    assert "<script>alert(1)</script> & Co" in text


def test_line_breaks_in_names_do_not_inject_headers() -> None:
    # Given a customer name, an owner name and an invoice number with CR/LF and a header after them
    reminder = email(
        customer=replace(customer(name="Evil\r\nBcc: victim@example.com"), customer_id="C-1\r\nX-Evil: 1"),
        owner=Contact(name="Jane\r\nBcc: boss@example.com", email="jane@seller.example"),
        sender_name="AR\nBcc: x@example.com",
        invoices=(invoice("INV-1\r\nBcc: y@example.com", "5.00", due=date(2026, 11, 1)),),
    )

    # When rendered and read back
    message = reparsed(render_email(reminder))

    # Then no header was added and the values stay on their own line
    assert message["Bcc"] is None
    assert message["X-Evil"] is None
    assert message[HEADER_CUSTOMER] == "C-1 X-Evil: 1"
    assert message[HEADER_INVOICES] == "INV-1 Bcc: y@example.com"
    assert message["From"].addresses[0].display_name == "AR Bcc: x@example.com"
    assert message["Reply-To"].addresses[0].addr_spec == "jane@seller.example"
    text, _ = parts(message)
    assert "Dear Evil Bcc: victim@example.com," in text


def test_headers() -> None:
    # Given an email with an owner who has an address
    reminder = email(
        step="final_notice#2", template="final_notice", owner=Contact("Jane Roe", "jane@seller.example")
    )

    # When rendered and read back
    message = reparsed(render_email(reminder))

    # Then every header is there, the dates come from "now"
    assert message["From"] == "Accounts Receivable <ar@seller.example>"
    assert [a.addr_spec for a in message["To"].addresses] == ["ap@acme.example", "finance@acme.example"]
    assert message["Date"].datetime == NOW
    assert message["Message-ID"].startswith("<touch-42.") and message["Message-ID"].endswith(
        "@seller.example>"
    )
    assert message["Reply-To"] == "Jane Roe <jane@seller.example>"
    assert message[HEADER_CUSTOMER] == "C-1"
    assert message[HEADER_STEP] == "final_notice#2"
    assert message[HEADER_INVOICES] == "INV-1001,INV-1002,INV-1003"
    assert message[HEADER_SENT_AT] == format_instant(NOW)
    assert message[HEADER_TOUCH] == "touch-42"
    # and the owner signs
    text, html = parts(message)
    assert "Jane Roe" in text and "Jane Roe" in html


def test_the_same_touch_gets_the_same_message_id() -> None:
    # Given one touch rendered twice, When compared, Then the Message-ID is stable
    assert render_email(email())["Message-ID"] == render_email(email())["Message-ID"]
    assert render_email(email())["Message-ID"] != render_email(email(touch_id="touch-43"))["Message-ID"]


@pytest.mark.parametrize(
    ("owner", "reply_to", "signer"),
    [
        (None, None, "Accounts Receivable"),
        (Contact("Jane Roe"), None, "Jane Roe"),
        (Contact("Jane Roe", "jane@seller.example"), "jane@seller.example", "Jane Roe"),
    ],
)
def test_reply_to_only_with_an_owner_email(owner: Contact | None, reply_to: str | None, signer: str) -> None:
    # Given an owner with or without an address (or none)
    # When rendered
    message = reparsed(render_email(email(owner=owner)))

    # Then Reply-To is set only for an owner with an address, and the owner (or the team) signs
    if reply_to is None:
        assert message["Reply-To"] is None
    else:
        assert message["Reply-To"].addresses[0].addr_spec == reply_to
    text, _ = parts(message)
    assert text.split("Kind regards,\n", 1)[1].startswith(signer)


def test_missed_promise_shows_the_promised_date() -> None:
    # Given a promise to pay by 20 Nov that was not kept
    # When the missed_promise email is rendered in English and German
    english = render_email(email(template="missed_promise", promised_date=date(2026, 11, 20)))
    german = render_email(email(template="missed_promise", customer=customer("de")))

    # Then the promised date is in the subject and both parts
    text, html = parts(english)
    assert "20 Nov 2026" in english["Subject"]
    assert "Promised payment date: 20 Nov 2026" in text
    assert "20 Nov 2026" in html
    assert "20.11.2026" in parts(german)[0]


def test_missed_promise_falls_back_to_the_invoices_promise() -> None:
    # Given no promised_date but invoices that carry the promise
    promised = tuple(replace(i, promised_until=date(2026, 11, 18)) for i in INVOICES)

    # When rendered, Then the invoices' promise date is shown
    text, _ = parts(render_email(email(template="missed_promise", promised_date=None, invoices=promised)))
    assert "18 Nov 2026" in text


def test_missed_promise_without_any_date_is_an_error() -> None:
    with pytest.raises(ValueError, match="promised_date"):
        render_email(email(template="missed_promise", promised_date=None))


def test_other_templates_do_not_show_a_promised_date() -> None:
    text, _ = parts(render_email(email(template="due", promised_date=date(2026, 11, 20))))
    assert "Promised payment date" not in text


def test_unknown_template_is_a_clear_error() -> None:
    # Given a template name that does not exist, When rendered, Then the error lists the known names
    with pytest.raises(UnknownTemplate, match=r"unknown email template 'past_due'.*courtesy.*missed_promise"):
        render_email(email(template="past_due"))


def test_invalid_emails_are_refused() -> None:
    with pytest.raises(ValueError, match="invoice"):
        render_email(email(invoices=()))
    with pytest.raises(ValueError, match="recipient"):
        render_email(email(recipients=()))
    with pytest.raises(ValueError, match="aware"):
        render_email(email(now=datetime(2026, 11, 23, 9, 0)))
    with pytest.raises(ValueError, match="portal_url"):
        render_email(email(portal_url="javascript:alert(1)"))


def test_a_pay_link_that_is_not_http_is_not_linked() -> None:
    # Given a pay_url that is not a web link
    reminder = email(
        invoices=(invoice("INV-9", "5.00", due=date(2026, 11, 1), pay_url="javascript:alert(1)"),)
    )

    # When rendered, Then it is nowhere in the email
    text, html = parts(render_email(reminder))
    assert "javascript:" not in text and "javascript:" not in html


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("de-DE", "de"),
        ("de", "de"),
        ("FR", "fr"),
        ("fr_CA", "fr"),
        (" en-GB ", "en"),
        ("es", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_language_for(language: str | None, expected: str) -> None:
    assert language_for(customer(language)) == expected


def test_template_problems() -> None:
    # Given known and unknown names (one repeated)
    problems = template_problems(["due", "past_due", "firm", "past_due", "final"])

    # Then there is one message per unknown name, each listing the known ones
    assert len(problems) == 2
    assert "'past_due'" in problems[0] and "'final'" in problems[1]
    assert all("courtesy, outreach, due, reminder, firm, final_notice, missed_promise" in p for p in problems)
    assert template_problems(sorted(TEMPLATES)) == []


def test_the_outbox_reads_back_every_invoice_number_of_a_long_folded_header(tmp_path: object) -> None:
    from pathlib import Path

    from arcollect_cli.outbox import read_outbox

    # Given a reminder about enough invoices that its invoices header is folded across lines
    numbers = [f"INV-2026-{n:06}" for n in range(40)]
    many = tuple(invoice(n, "10.00", due=date(2026, 10, 1)) for n in numbers)
    message = render_email(replace(email(), invoices=many))
    folder = Path(str(tmp_path))
    (folder / "m-1.eml").write_bytes(message.as_bytes())
    # When the outbox reads it back, Then the numbers come back exactly, without folding spaces
    [read] = read_outbox(folder)
    assert read["invoice_numbers"] == numbers


def test_the_outbox_lists_a_team_digest_at_its_send_time_with_a_dash_for_its_customer(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json
    from pathlib import Path

    from arcollect.workspace.digest import render_digest
    from arcollect_cli.main import main
    from arcollect_cli.target import Target
    from tests.unit.workspace_fake import work_item

    # Given the local outbox with a reminder to a customer and, an hour later, a collector's daily
    # digest (about no one customer: it carries no customer, but its send time as every email does)
    folder = Path(str(tmp_path))
    (folder / "m-1.eml").write_bytes(render_email(email()).as_bytes())
    later = NOW + timedelta(hours=1)
    digest = render_digest(
        "cora", "Cora", "cora@seller.example", [work_item("T-1", 80)], day=NOW.date(), now=later,
        sender="ar@seller.example", console_url=None,
    )  # fmt: skip
    (folder / "m-0.eml").write_bytes(digest)

    def resolve(cls: type[Target], stack: str | None, root: Path) -> Target:
        return Target(outputs={"Local": {"Outbox": str(folder)}}, local=True)

    monkeypatch.setattr(Target, "resolve", classmethod(resolve))
    # When `arcollect outbox` lists them
    assert main(["outbox"]) == 0
    lines = capsys.readouterr().out.splitlines()
    # Then the digest comes after the reminder, at its time, with "-" for the customer (never None)
    subject = render_email(email())["Subject"]
    assert lines == [
        f"{format_instant(NOW)}  C-1  ap@acme.example, finance@acme.example  {subject}",
        f"{format_instant(later)}  -  cora@seller.example  Your collections worklist for 2026-11-23: "
        "1 task(s) due",
    ]
    assert "None" not in "\n".join(lines)
    # And the JSON keeps the customer null and the time as the reminder's is written
    assert main(["outbox", "--json"]) == 0
    listed = {e["message_id"]: e for e in json.loads(capsys.readouterr().out)}
    assert listed["m-0"]["customer_id"] is None and listed["m-0"]["sent_at"] == "2026-11-23T10:00:00Z"
    assert listed["m-1"]["customer_id"] == "C-1"


def test_the_portal_link_is_never_rewritten_by_ses_click_tracking() -> None:
    # The configuration set publishes click events, so SES would rewrite every link through its
    # tracking domain: the signed portal link must reach the customer as it is
    _, html = parts(render_email(email()))
    anchors = re.findall(r"<a [^>]*>", html)
    portal = [a for a in anchors if PORTAL in a]
    assert portal and all("ses:no-track" in a for a in portal)


def test_the_fresh_link_email_is_never_rewritten_by_ses_click_tracking() -> None:
    from arcollect.portal.link_email import render_fresh_link

    link = "https://portal.example.com/l/token.signature"
    message = render_fresh_link(
        customer(), to="ap@acme.example", link=link, days=30, sender="ar@seller.example",
        sender_name="Seller AR", now=NOW, touch_id="fresh-1",
    )  # fmt: skip
    _, html = parts(message)
    [anchor] = [a for a in re.findall(r"<a [^>]*>", html) if link in a]
    assert "ses:no-track" in anchor


def test_days_late_count_on_the_customers_local_day() -> None:
    # 09:00 on 24 November in Auckland is 20:00 UTC on the 23rd: the engine's day is the 24th, and the
    # email says what is late on the customer's own calendar, not a day less.
    at = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
    local = render_email(email(now=at, today=date(2026, 11, 24)))
    utc = render_email(email(now=at))
    assert "14 days overdue" in parts(local)[0] and "2 days overdue" in parts(local)[0]
    assert "13 days overdue" in parts(utc)[0]
