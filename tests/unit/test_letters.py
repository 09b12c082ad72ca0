"""Dunning letters (issue 21, item 1): the PDF turned back into text shows the right figures in the
customer's language; one test renders the page to an image and reads the QR code back. And the
channels a step names (item 4): validated with clear errors, and chosen in order by the engine."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from arcollect.calendar import Calendar
from arcollect.credits import CREDIT_NOTE, CreditLine
from arcollect.dunning.emails import ReminderEmail
from arcollect.dunning.engine import FIX_CONTACT, CustomerPlan, Outcome, evaluate
from arcollect.dunning.letters import render_letter
from arcollect.entities import Customer, Invoice
from arcollect.ingest.schema import postal_address
from arcollect.interest import invoice_charges
from arcollect.policy import Channel, PolicyError, parse_policy, shipped_policy
from tests.unit.test_interest import EU

D = Decimal
NOW = datetime(2024, 6, 30, 8, tzinfo=UTC)
PORTAL = "https://portal.example.com/l/M%C3%BCller%20%26%20S%C3%B6hne%2C%20GmbH?t=abc.def"
MUELLER = Customer(
    customer_id="Müller & Söhne, GmbH",
    name="Müller & Söhne, GmbH",
    email="",
    language="de-DE",
    country="DE",
    time_zone="Europe/Berlin",
    postal_address=("Königsallee 12", "Hinterhaus, 2. OG", "40212 Düsseldorf"),
)


def _invoice(
    number: str, amount: str, open_amount: str | None = None, due: date = date(2024, 5, 31)
) -> Invoice:
    return Invoice(
        customer_id=MUELLER.customer_id,
        invoice_number=number,
        currency="EUR",
        amount=D(amount),
        open_amount=D(open_amount or amount),
        invoice_date=date(2024, 5, 1),
        due_date=due,
        po_number="PO 4711/A",
    )


def _letter(customer: Customer = MUELLER, **changes: object) -> tuple[ReminderEmail, list[str]]:
    invoices = (
        _invoice("INV/2026/0042", "1234.56"),
        _invoice("INV/2026/0043", "250.00", due=date(2024, 6, 10)),
    )
    # Computed by interest.py, as the delivery does: 30 days of 1,234.56 at 12.5% (ECB 4.50 + 8) / 365
    # = 12.683...; 20 days of 250.00 = 1.712... ; EUR 40 compensation each.
    charges = tuple((i.invoice_number, invoice_charges(EU, i, NOW.date(), [], [])) for i in invoices)
    assert [(c.interest, c.compensation) for _, c in charges] == [(D("12.68"), D(40)), (D("1.71"), D(40))]
    letter = ReminderEmail(
        customer=customer,
        invoices=invoices,
        template="final_notice",
        step="final_notice",
        recipients=(customer.name, *customer.postal_address),
        sender="ar@seller.example",
        portal_url=PORTAL,
        now=NOW,
        touch_id="letter-0123456789abcdef01234567",
        credits=(CreditLine(CREDIT_NOTE, "CN/2026/0007", "EUR", D("100.00"), date(2024, 6, 1)),),
        today=NOW.date(),
        late_charges=charges,
    )
    return replace(letter, **changes), [c for c in (customer.name, *customer.postal_address)]  # type: ignore[arg-type]


def _text(pdf: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_a_german_letter_shows_the_open_items_the_net_amount_the_charges_and_the_link() -> None:
    letter, address = _letter()
    rendered = render_letter(letter, letter_id=letter.touch_id, address=tuple(address))
    text = " ".join(_text(rendered.pdf).split())
    assert rendered.language == "de" and rendered.pages >= 1
    for line in address:  # the window of the envelope
        assert line in text
    # The open items in German figures and dates, the credit note, and the net asked.
    assert "INV/2026/0042" in text and "INV/2026/0043" in text and "PO 4711/A" in text
    assert "1.234,56 EUR" in text and "250,00 EUR" in text and "31.05.2024" in text
    assert "CN/2026/0007" in text and "-100,00 EUR" in text
    assert "Offener Gesamtbetrag 1.484,56 EUR" in text  # the gross
    assert "Zu zahlen 1.384,56 EUR" in text  # net of the credit note
    # The statutory charges from interest.py, said to be outside the total.
    assert "12,68 EUR" in text and "1,71 EUR" in text and "40,00 EUR" in text
    assert "nicht enthalten" in text
    assert PORTAL in text.replace(" ", "")
    assert "Letzte Mahnung" in text and "Datum: 30.06.2024" in text


def test_an_english_letter_uses_english_words_and_figures() -> None:
    customer = replace(MUELLER, language="en", name="Brennan & Sons, PC")
    letter, address = _letter(customer)
    text = " ".join(_text(render_letter(letter, letter_id="L-1", address=tuple(address)).pdf).split())
    assert "1,234.56 EUR" in text and "31 May 2024" in text and "Brennan & Sons, PC" in text
    assert "Final notice" in text or "final notice" in text.lower()


def test_a_french_letter_groups_thousands_with_a_narrow_no_break_space() -> None:
    letter, address = _letter(replace(MUELLER, language="fr-FR"))
    text = _text(render_letter(letter, letter_id="L-1", address=tuple(address)).pdf)
    assert "1\u202f234,56 EUR" in text and "Reste à payer 1\u202f384,56 EUR" in text
    assert "Date : 30/06/2024" in text  # French punctuation keeps its no-break space


def test_rendering_the_same_letter_twice_gives_the_same_bytes() -> None:
    letter, address = _letter()
    first = render_letter(letter, letter_id=letter.touch_id, address=tuple(address))
    again = render_letter(letter, letter_id=letter.touch_id, address=tuple(address))
    assert first.sha256 == again.sha256 and first.pdf == again.pdf


def test_a_letter_needs_an_address() -> None:
    letter, _ = _letter()
    with pytest.raises(ValueError, match="postal address"):
        render_letter(letter, letter_id="L-1", address=("Müller & Söhne, GmbH",))


def test_the_printed_page_carries_a_qr_code_of_the_portal_link() -> None:
    import pypdfium2
    import zxingcpp

    letter, address = _letter()
    rendered = render_letter(letter, letter_id=letter.touch_id, address=tuple(address))
    page = pypdfium2.PdfDocument(rendered.pdf)[0]
    image = page.render(scale=200 / 72).to_pil().convert("L")  # 200 dpi, as a scanner or a phone sees it
    assert image.getextrema()[0] < 64  # something dark is printed: not a blank page
    codes = zxingcpp.read_barcodes(image)
    assert [code.text for code in codes if code.format == zxingcpp.BarcodeFormat.QRCode] == [PORTAL]


# --- the postal address from the customer master ---------------------------------------------------------


def test_the_postal_lines_follow_the_country() -> None:
    row = {"address_line1": "Königsallee  12", "postal_code": "40212", "city": "Düsseldorf"}
    assert postal_address(row, "DE") == ("Königsallee 12", "40212 Düsseldorf")
    uk = {"address_line1": "10 Downing St", "postal_code": "SW1A 2AA", "city": "London"}
    assert postal_address(uk, "GB") == ("10 Downing St", "LONDON", "SW1A 2AA")
    us = {
        "address_line1": "1 Main St",
        "address_line2": "Suite 5",
        "postal_code": "MA 02110",
        "city": "Boston",
    }
    assert postal_address(us, "US") == ("1 Main St", "Suite 5", "Boston MA 02110")
    assert postal_address({"address_line1": "Hauptstr. 1"}, "DE") == ()  # no city: no letter


# --- channels --------------------------------------------------------------------------------------------

POLICY = """
segments:
  - {name: everyone, policy: standard}
policies:
  standard:
    steps:
      - {id: reminder, trigger: {days: 7}, action: email, template: reminder}
      - id: final_notice
        trigger: {days: 30}
        action: email
        template: final_notice
        channels: [email, letter]
      - {id: by_post, trigger: {days: 45}, action: email, template: final_notice, channels: [letter, email]}
"""


def test_channels_are_validated_with_the_key_that_holds_each_mistake() -> None:
    broken = POLICY.replace("channels: [email, letter]", "channels: [email, fax, email]").replace(
        "channels: [letter, email]}", "channels: letter}"
    )
    broken += "      - {id: call, trigger: {days: 50}, action: call, channels: [letter]}\n"
    with pytest.raises(PolicyError) as error:
        parse_policy(broken, source="test")
    message = str(error.value)
    assert (
        "policies.standard.steps[1].channels[1]: 'fax' is not a channel; the channels are: email, letter, sms"
        in message
    )
    assert "policies.standard.steps[1].channels[2]: 'email' is listed twice" in message
    assert "policies.standard.steps[2].channels: expected a list of channels" in message
    assert "policies.standard.steps[3].channels: only email steps reach the customer by a channel" in message


def test_the_shipped_final_notice_goes_by_letter_when_email_cannot_reach() -> None:
    steps = {step.id: step for step in shipped_policy().policies["standard"].steps}
    assert steps["final_notice"].channels == (Channel.EMAIL, Channel.LETTER)
    assert all(s.channels == (Channel.EMAIL,) for i, s in steps.items() if i != "final_notice")


def _plan(
    customer: Customer, *, at: datetime = datetime(2024, 7, 1, 7, 30, tzinfo=UTC), **invoice: object
) -> CustomerPlan:
    # 09:30 in Berlin on a Monday: in the send window; the reminder (day 7) was sent.
    base = replace(_invoice("INV/2026/0042", "1234.56"), **{"steps_done": ("reminder",), **invoice})  # type: ignore[arg-type]
    return evaluate(
        customer_id=customer.customer_id,
        customer=customer,
        invoices=[base],
        now=at,
        policies=parse_policy(POLICY, source="test"),
        calendar=Calendar(),
    )


def test_email_first_then_a_letter_when_there_is_no_email() -> None:
    with_email = _plan(replace(MUELLER, email="ap@mueller.example"))
    assert with_email.email is not None and with_email.letter is None
    plan = _plan(MUELLER)  # no email address: the letter carries the final notice
    assert plan.email is None and plan.letter is not None
    assert plan.letter.channel is Channel.LETTER and plan.letter.touch_id.startswith("letter-")
    assert plan.letter.recipients == ("Müller & Söhne, GmbH", *MUELLER.postal_address)
    (note,) = [n for n in plan.notes if n.step_id == "final_notice"]
    assert note.outcome is Outcome.LETTER
    assert "by letter (no email: the customer has no email address)" in note.reason
    assert not [t for t in plan.tasks if t.kind == FIX_CONTACT]


def test_a_bounced_address_sends_the_letter_too() -> None:
    bounced = replace(MUELLER, email="ap@mueller.example", suppressed_emails=("ap@mueller.example",))
    plan = _plan(bounced)
    assert plan.letter is not None and plan.email is None
    assert any(
        "every address bounced or complained" in n.reason for n in plan.notes if n.outcome is Outcome.LETTER
    )


def test_no_email_and_no_postal_address_no_letter_a_task_and_a_reason() -> None:
    plan = _plan(replace(MUELLER, postal_address=()))
    assert plan.email is None and plan.letter is None
    (task,) = [t for t in plan.tasks if t.kind == FIX_CONTACT]
    assert "no channel reaches the customer" in task.title
    assert "letter: no postal address in the customer master" in task.title
    (note,) = [n for n in plan.notes if n.step_id == "final_notice"]
    assert note.outcome is Outcome.SUPPRESSED


def test_a_letter_first_step_posts_even_to_a_customer_with_email_and_outside_the_send_window() -> None:
    customer = replace(MUELLER, email="ap@mueller.example")
    sunday_night = datetime(2024, 7, 14, 22, tzinfo=UTC)  # no email goes now; a letter is posted any time
    plan = _plan(customer, at=sunday_night, steps_done=("reminder", "final_notice"))
    assert plan.letter is not None and plan.letter.step_id == "by_post" and plan.email is None


def test_do_not_contact_sends_no_letter_and_makes_no_task() -> None:
    plan = _plan(replace(MUELLER, do_not_contact=True))
    assert plan.letter is None and not [t for t in plan.tasks if t.kind == FIX_CONTACT]


TEXT_FIRST = POLICY.replace("channels: [email, letter]", "channels: [sms, email, letter]")


def test_a_text_first_step_texts_a_mobile_and_falls_back_from_a_fixed_line() -> None:
    policies = parse_policy(TEXT_FIRST, source="test")
    invoice = replace(_invoice("INV/2026/0042", "1234.56"), steps_done=("reminder",))

    def plan(customer: Customer) -> CustomerPlan:
        at = datetime(2024, 7, 1, 7, 30, tzinfo=UTC)
        return evaluate(
            customer_id=customer.customer_id,
            customer=customer,
            invoices=[invoice],
            now=at,
            policies=policies,
            calendar=Calendar(),
        )

    texted = plan(replace(MUELLER, mobile="+4915112345678"))
    assert texted.text is not None and texted.email is None and texted.letter is None
    assert (texted.text.channel, texted.text.recipients) == (Channel.SMS, ("+4915112345678",))
    assert texted.text.touch_id.startswith("sms-")
    # A German fixed line cannot be texted: the next channel that reaches the customer carries it.
    landline = plan(replace(MUELLER, mobile="+492111234567"))
    assert landline.text is None and landline.letter is not None
    (note,) = [n for n in landline.notes if n.step_id == "final_notice"]
    assert "no sms: the mobile number cannot be texted" in note.reason
    assert "no email: the customer has no email address" in note.reason
    opted_out = plan(replace(MUELLER, mobile="+4915112345678", sms_opted_out=True))
    assert opted_out.letter is not None


def test_the_preview_shows_the_letter_and_its_channel() -> None:
    from arcollect.dunning.sweep import plan_as_dict
    from arcollect_cli.dunning import preview_text

    shown = plan_as_dict(_plan(MUELLER))
    assert shown["email"] is None and shown["text"] is None
    assert shown["letter"]["channel"] == "letter"
    assert shown["letter"]["to"] == ["Müller & Söhne, GmbH", *MUELLER.postal_address]
    assert shown["letter"]["touches"] == ["INV/2026/0042:final_notice"]
    text = preview_text({"at": "2024-07-01T07:30:00+00:00", "customers": [shown]})
    assert (
        "post letter  final_notice (step final_notice) to Müller & Söhne, GmbH / Königsallee 12 / "
        "Hinterhaus, 2. OG / 40212 Düsseldorf: INV/2026/0042" in text
    )


def test_the_backtest_counts_the_touches_each_channel_carried() -> None:
    from arcollect.dunning.backtest import History, measures, replay
    from arcollect_cli.backtest import summary_text

    # Two customers, one invoice each, due 31 May 2024: one with email, one reachable only by post.
    reachable = replace(MUELLER, customer_id="Brennan & Sons, PC", email="ap@brennan.example")
    invoices = (
        _invoice("INV/2026/0042", "1234.56"),
        replace(_invoice("INV/2026/0042", "99.00"), customer_id=reachable.customer_id),
    )
    result = replay(
        History(invoices, {MUELLER.customer_id: MUELLER, reachable.customer_id: reachable}),
        parse_policy(POLICY, source="test"),
        start=date(2024, 5, 1),
        end=date(2024, 7, 31),
        team_size=1,
    )
    figures = measures(result)
    # The reminder (day 7) is email only: Müller gets none. On day 30 Brennan gets the final notice by
    # email; Müller, never touched, gets the statement of overdue invoices that stands in for the steps
    # missed, by the final notice's channels: by letter. The by_post step (day 45): a letter to both.
    assert figures["channels"] == {"email": 2, "letter": 3, "sms": 0}
    assert figures["emails"] == 2
    letters = sorted((c.customer_id, c.step_id) for c in result.contacts if c.kind == "letter")
    assert letters == [
        ("Brennan & Sons, PC", "by_post"),
        ("Müller & Söhne, GmbH", "by_post"),
        ("Müller & Söhne, GmbH", "golive_statement"),
    ]
    summary = summary_text(
        {
            "window": {"from": "2024-05-01", "to": "2024-07-31"},
            "history": {"source": "test", "notes": []},
            "policies": {"draft": figures},
        }
    )
    assert "draft: 2 emails, 3 letters, 0 calls" in summary


@pytest.mark.parametrize("language", ["en-GB", "de-DE", "fr-FR"])
def test_no_letter_asks_the_customer_to_reply_to_an_email(language: str) -> None:
    # Given every template's words in each language, as a letter says them
    from arcollect.dunning.emails import TEMPLATE_ORDER, reminder_words
    from arcollect.dunning.letters import as_letter
    from arcollect.plans import InstalmentReminder

    customer = replace(MUELLER, language=language)
    for template in TEMPLATE_ORDER:
        letter, _ = _letter(
            customer,
            template=template,
            step=template,
            promised_date=date(2024, 6, 20),
            instalment=InstalmentReminder("plan-1", 2, 3, date(2024, 7, 5), D("350.00"), "EUR", (), 3),
        )
        words = as_letter(reminder_words(letter), language[:2])
        # Then neither the intro nor the closing speaks of replying to an email: paper cannot be answered
        for key in ("intro", "closing"):
            said = words[key].lower()
            assert not any(mail in said for mail in ("email", "e-mail")), (template, key, words[key])


def test_a_statement_letter_lists_an_invoice_not_yet_due_apart_and_out_of_its_total() -> None:
    # A go-live statement by letter whose second invoice's own pre-due step joined it (a policy that
    # posts its outreach): counted and totalled are the overdue invoice only.
    not_due = _invoice("INV/2026/0050", "999.99", due=date(2024, 7, 15))
    letter, address = _letter(
        template="overdue_statement",
        step="golive_statement",
        invoices=(_invoice("INV/2026/0042", "1234.56"), not_due),
        credits=(),
        late_charges=(),
        for_information=(not_due.invoice_number,),
    )
    text = " ".join(_text(render_letter(letter, letter_id="L-2", address=tuple(address)).pdf).split())
    assert "Kontoauszug: überfällige Rechnung INV/2026/0042 (1.234,56 EUR)" in text
    total = text.index("Offener Gesamtbetrag 1.234,56 EUR")
    assert total < text.index("Noch nicht fällig, zu Ihrer Information") < text.index("INV/2026/0050")
    assert "fällig in 15 Tagen" in text and "999,99 EUR" in text
