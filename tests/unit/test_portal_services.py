"""The portal's pure parts: statements, link tokens with issued-at and revocation, input validation."""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]

from arcollect.cells import neutralise
from arcollect.entities import Customer, Invoice
from arcollect.inputs import InputError, parse_amount
from arcollect.languages import LANGUAGES, written_language
from arcollect.portal.account import currency_totals, invoice_status
from arcollect.portal.inputs import (
    ATTACHMENT_MAX_BYTES,
    PortalInputError,
    normalise_email,
    parse_attachment,
    parse_contact,
    parse_dispute,
    parse_email_list,
    parse_language,
    parse_phone,
    safe_file_name,
)
from arcollect.portal.link_email import render_fresh_link
from arcollect.portal.links import LinkExpired, LinkInvalid, read_token, sign_token, verify_token
from arcollect.portal.statements import statement_csv, statement_filename, statement_xlsx
from arcollect.promises import parse_promise_date

KEY = b"unit-test-key"
NOW = datetime(2026, 3, 10, 9, 30, 15, tzinfo=UTC)
TODAY = date(2026, 3, 10)
CUSTOMER = Customer(customer_id="C-1", name='=HYPERLINK("http://evil")', email="ap@one.example")


def invoice(number: str, **changes: object) -> Invoice:
    values: dict[str, object] = {
        "customer_id": "C-1",
        "invoice_number": number,
        "currency": "EUR",
        "amount": Decimal("100.00"),
        "open_amount": Decimal("100.00"),
        "invoice_date": date(2026, 2, 1),
        "due_date": date(2026, 3, 1),
    }
    values.update(changes)
    return Invoice(**values)  # type: ignore[arg-type]


ITEMS = [
    invoice("INV-1", description="+cmd|' /C calc'!A0"),
    invoice("INV-2", open_amount=Decimal("40.50"), po_number="@SUM(1)"),
    invoice("CN-1", document_type="credit_note", amount=Decimal("30"), open_amount=Decimal("30")),
    invoice("US-1", currency="USD", due_date=date(2026, 4, 1), description="-2+3"),
    invoice("PAID", status="closed", open_amount=Decimal(0)),
]


# --- statements ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("INV-1", "INV-1"),
        ("", ""),
        (None, ""),
    ],
)
def test_cells_that_could_start_a_formula_are_neutralised(text: str | None, safe: str) -> None:
    assert neutralise(text) == safe


def test_the_csv_statement_lists_open_items_with_totals_per_currency() -> None:
    body = statement_csv(CUSTOMER, ITEMS, TODAY)
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[1] == ["Customer", '\'=HYPERLINK("http://evil")']
    assert rows[3] == ["As of", "2026-03-10"]
    header = rows.index(
        [
            "Invoice number",
            "Type",
            "Invoice date",
            "Due date",
            "Days overdue",
            "Status",
            "Currency",
            "Amount",
            "Open amount",
            "PO number",
            "Description",
        ]
    )
    items = {
        row[0]: row for row in rows[header + 1 :] if row and row[0] in {"INV-1", "INV-2", "CN-1", "US-1"}
    }
    assert set(items) == {"INV-1", "INV-2", "CN-1", "US-1"}
    assert "PAID" not in [row[0] for row in rows if row]
    assert items["INV-1"][10] == "'+cmd|' /C calc'!A0"
    assert items["INV-2"][9] == "'@SUM(1)"
    assert items["US-1"][10] == "'-2+3"
    assert items["CN-1"][7:9] == ["-30.00", "-30.00"]  # amounts are ours: not neutralised
    assert items["INV-1"][4:6] == ["9", "overdue"]
    totals = {row[0]: row for row in rows[-2:]}
    assert totals["EUR"][:3] == ["EUR", "110.50", "110.50"]
    assert totals["USD"][:4] == ["USD", "100.00", "0.00", "100.00"]


def test_the_xlsx_statement_holds_numbers_dates_and_neutralised_text() -> None:
    body = statement_xlsx(CUSTOMER, ITEMS, TODAY)
    sheet = load_workbook(io.BytesIO(body), read_only=True)["Statement"]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[1][:2] == ["Customer", '\'=HYPERLINK("http://evil")']
    by_number = {row[0]: row for row in rows if row and row[0] in {"INV-1", "CN-1"}}
    assert by_number["CN-1"][8] == -30
    assert by_number["INV-1"][3] == datetime(2026, 3, 1)
    assert by_number["INV-1"][10] == "'+cmd|' /C calc'!A0"
    assert not any(isinstance(cell, str) and cell.startswith("=") for row in rows for cell in row)


def test_statement_file_names_are_safe() -> None:
    assert statement_filename("C-1", TODAY, "csv") == "statement-C-1-2026-03-10.csv"
    assert statement_filename("../a b", TODAY, "xlsx") == "statement-.._a_b-2026-03-10.xlsx"


def test_totals_count_credit_notes_negative_and_status_has_an_order() -> None:
    [eur, usd] = currency_totals([i for i in ITEMS if i.is_open], TODAY)
    assert (eur.total_due, eur.overdue, eur.aging["d1_30"], eur.aging["d31_60"]) == (
        Decimal("110.50"),
        Decimal("110.50"),
        Decimal("110.50"),
        Decimal(0),
    )
    assert (usd.total_due, usd.overdue, usd.aging["current"]) == (Decimal("100.00"), 0, Decimal("100.00"))
    both = invoice("X", disputed=True, promise_id="p", promised_until=TODAY)
    assert invoice_status(both, TODAY) == "disputed"
    assert invoice_status(invoice("X", promise_id="p", promised_until=TODAY), TODAY) == "promised"
    assert invoice_status(invoice("X"), TODAY) == "overdue"
    assert invoice_status(invoice("X", due_date=TODAY), TODAY) == "due"


# --- link tokens ---------------------------------------------------------------------------------------


def test_a_token_carries_its_issue_time() -> None:
    claims = read_token(sign_token("C-1", key=KEY, now=NOW, days=7), key=KEY, now=NOW)
    assert claims.customer_id == "C-1"
    assert claims.issued_at == NOW.replace(microsecond=NOW.microsecond // 1000 * 1000)
    assert claims.expires_at == NOW + timedelta(days=7)
    with pytest.raises(LinkExpired):
        read_token(sign_token("C-1", key=KEY, now=NOW, days=7), key=KEY, now=NOW + timedelta(days=7))
    assert verify_token(sign_token("C-1", key=KEY, now=NOW), key=KEY, now=NOW) == "C-1"


def test_revocation_compares_issue_time_to_the_millisecond_and_fails_closed_within_it() -> None:
    # Given a link issued at 12:00:00.300 (the clock controlled: no wall time involved)
    issued = datetime(2026, 12, 6, 12, 0, 0, 300_000, tzinfo=UTC)
    claims = read_token(sign_token("C-1", key=KEY, now=issued), key=KEY, now=issued)
    assert not claims.revoked_by(None)
    # Then a revocation later in the same second ends it, as does one in the same millisecond
    assert claims.revoked_by(issued + timedelta(milliseconds=400))
    assert claims.revoked_by(issued + timedelta(microseconds=500))
    assert claims.revoked_by(issued)
    assert claims.revoked_by(issued + timedelta(minutes=1))
    # And a revocation earlier in the same second does not: the link was issued after it
    assert not claims.revoked_by(issued - timedelta(milliseconds=200))
    assert not claims.revoked_by(issued - timedelta(seconds=1))


def test_a_whole_second_token_is_ended_by_a_revocation_in_its_second() -> None:
    # A token from before millisecond issue times: "i" in whole seconds
    second = int(datetime(2026, 12, 6, 12, 0, 0, tzinfo=UTC).timestamp())
    old = _token({"c": "C-1", "e": second + 86_400, "i": second})
    claims = read_token(old, key=KEY, now=datetime(2026, 12, 6, 12, 0, 1, tzinfo=UTC))
    assert claims.revoked_by(datetime(2026, 12, 6, 12, 0, 0, 100_000, tzinfo=UTC))
    assert not claims.revoked_by(datetime(2026, 12, 6, 11, 59, 59, 999_000, tzinfo=UTC))


def _token(claims: dict[str, object], key: bytes = KEY) -> str:
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    signature = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def test_a_token_from_before_issued_at_is_ended_by_any_revocation() -> None:
    old = _token({"c": "C-1", "e": int((NOW + timedelta(days=3)).timestamp())})
    claims = read_token(old, key=KEY, now=NOW)
    assert claims.issued_at == datetime(1970, 1, 1, tzinfo=UTC)
    assert claims.revoked_by(datetime(2020, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "no-dot",
        _token({"c": "C-1", "e": 9_999_999_999}, key=b"forged"),
        _token({"c": "C-1"}),
        _token({"e": 9_999_999_999}),
        _token({"c": "C-1", "e": "soon"}),
        _token(["C-1"]),  # type: ignore[arg-type]
    ],
)
def test_forged_tampered_and_malformed_tokens_are_invalid(bad: str) -> None:
    with pytest.raises(LinkInvalid):
        read_token(bad, key=KEY, now=NOW)


def test_a_changed_payload_breaks_the_signature() -> None:
    token = sign_token("C-1", key=KEY, now=NOW)
    payload, _, signature = token.partition(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["c"] = "C-2"
    changed = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(LinkInvalid):
        read_token(f"{changed}.{signature}", key=KEY, now=NOW)
    with pytest.raises(ValueError):
        sign_token("C-1", key=KEY, now=NOW, days=0)


def test_the_fresh_link_email_has_text_and_html_and_escapes_the_name() -> None:
    customer = Customer(customer_id="C-1", name="<b>Acme</b>", email="ap@one.example")
    message = render_fresh_link(
        customer,
        to="ap@one.example",
        link="https://portal.example.com/l/abc.def",
        days=30,
        sender="collections@example.com",
        sender_name="Accounts Receivable",
        now=NOW,
        touch_id="fresh-link-1",
    )
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    assert "https://portal.example.com/l/abc.def" in text.get_content()
    assert "&lt;b&gt;Acme&lt;/b&gt;" in html.get_content()
    assert message["X-Arcollect-Customer"] == "C-1"


# --- input validation ----------------------------------------------------------------------------------


def test_email_addresses_are_validated_with_the_field_named() -> None:
    assert normalise_email("  AP@One.Example ") == "AP@One.Example"
    for bad in ("", "ap", "ap@", "@one.example", "a b@one.example", "ap@one", "ap@@one.example", "a..b@x.de"):
        with pytest.raises(PortalInputError) as error:
            normalise_email(bad)
        assert error.value.field == "email"
    assert parse_email_list("a@x.example; b@x.example,A@x.example\nc@x.example") == (
        "a@x.example",
        "b@x.example",
        "c@x.example",
    )
    with pytest.raises(PortalInputError) as error:
        parse_email_list("a@x.example; nope")
    assert error.value.field == "other_emails" and "'nope'" in error.value.message


def test_phone_and_language() -> None:
    assert parse_phone(" +49 (30) 123-456 ") == "+49 (30) 123-456"
    assert parse_phone("") is None
    with pytest.raises(PortalInputError, match="digits"):
        parse_phone("+49 30 CALL")
    with pytest.raises(PortalInputError, match="40"):
        parse_phone("1" * 41)
    assert parse_language("DE") == "de"
    assert parse_language("") is None
    with pytest.raises(PortalInputError, match="'pt' is not offered: choose one of en, de, fr"):
        parse_language("pt")


def test_the_portal_takes_exactly_the_languages_the_reminders_are_written_in() -> None:
    # One list: what the contact form offers is what the parser takes and what reminders are written in.
    from arcollect.dunning.emails import LANGUAGES as EMAIL_LANGUAGES
    from arcollect.portal.web.pages import LANGUAGE_CHOICES

    assert [code for code, _ in LANGUAGE_CHOICES] == list(LANGUAGES) == list(EMAIL_LANGUAGES)
    for code in LANGUAGES:
        assert parse_language(code) == (None if code == written_language(None) else code)
    with pytest.raises(PortalInputError):
        parse_language("es")


@pytest.mark.parametrize(
    ("sent", "on_file", "kept"),
    [
        # a region code counts as its base language
        ("de-DE", None, "de"),
        ("fr_CA", "en", "fr"),
        # the language on file sent back as written, or as the form shows it, changes nothing
        ("de-DE", "de-DE", "de-DE"),
        ("de", "de-DE", "de-DE"),
        ("de-AT", "de-DE", "de-DE"),
        ("pt", "pt", "pt"),
        ("en", "pt", "pt"),
        ("en", None, None),
        # left out: unchanged
        (None, "fr", "fr"),
        ("", "fr", "fr"),
        # another offered language replaces it, as its base code
        ("fr", "de-DE", "fr"),
        ("en", "de-DE", "en"),
    ],
)
def test_a_language_is_kept_as_on_file_unless_another_one_is_chosen(
    sent: str | None, on_file: str | None, kept: str | None
) -> None:
    assert parse_language(sent, on_file) == kept


def test_a_phone_on_file_is_taken_back_as_it_is_and_none_leaves_it() -> None:
    on_file = "+49 30 1234/56 ext. 7"
    assert parse_phone(on_file, on_file) == on_file
    assert parse_phone(f" {on_file} ", on_file) == on_file
    assert parse_phone(None, on_file) == on_file
    assert parse_phone("", on_file) is None
    with pytest.raises(PortalInputError, match="digits"):
        parse_phone("+49 30 9999/1", on_file)


def test_contact_details_left_out_stay_as_on_file() -> None:
    on_file = Customer(
        customer_id="C-1",
        name="One",
        email="ap@one.example",
        other_emails=("b@one.example",),
        phone="+1 555",
        language="fr-CA",
    )
    kept = parse_contact(
        email="new@one.example", other_emails=None, phone=None, language=None, current=on_file
    )
    assert (kept.email, kept.other_emails, kept.phone, kept.language) == (
        "new@one.example",
        ("b@one.example",),
        "+1 555",
        "fr-CA",
    )
    cleared = parse_contact(email="ap@one.example", other_emails="", phone="", language="en", current=on_file)
    assert (cleared.other_emails, cleared.phone, cleared.language) == ((), None, "en")


@pytest.mark.parametrize(
    ("text", "amount"),
    [("1250", "1250"), ("1250.5", "1250.5"), ("1,250.50", "1250.50"), ("1250,50", "1250.50"), (" 12 ", "12")],
)
def test_amounts_are_read_as_decimals(text: str, amount: str) -> None:
    assert parse_amount(text, "EUR") == Decimal(amount)


def test_a_comma_amount_of_a_three_decimal_currency_that_reads_two_ways_is_refused() -> None:
    """ "1,500" KWD is 1.500 with a decimal comma or 1500 with a thousands one: both owed amounts, so asked,
    never guessed (it was read as 1500). Of a two-decimal currency it can only be 1500; "1,5" is 1.5."""
    with pytest.raises(InputError) as raised:
        parse_amount("1,500", "KWD")
    assert (raised.value.field, raised.value.message) == (
        "amount",
        "1,500 KWD could be read two ways: write 1.500 or 1500",
    )
    assert parse_amount("1,500", "EUR") == Decimal(1500)
    assert parse_amount("1,500", "JPY") == Decimal(1500)
    assert parse_amount("1,5", "KWD") == Decimal("1.5")
    assert parse_amount("1,500.250", "KWD") == Decimal("1500.250")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "such as"),
        ("abc", "such as"),
        ("-5", "such as"),
        ("0", "more than zero"),
        ("1.234", "1.234 has more decimal places than EUR's 2 (its smallest unit is 0.01)"),
    ],
)
def test_bad_amounts_say_why(text: str, message: str) -> None:
    with pytest.raises(PortalInputError) as error:
        parse_amount(text, "EUR")
    assert error.value.field == "amount" and message in error.value.message


def test_promise_dates_must_lie_between_today_and_the_limit() -> None:
    assert parse_promise_date("2026-03-10", today=TODAY, max_days=30) == TODAY
    assert parse_promise_date("2026-04-09", today=TODAY, max_days=30) == date(2026, 4, 9)
    for text, message in (("2026-04-10", "2026-04-09"), ("2026-03-09", "past"), ("tomorrow", "YYYY-MM-DD")):
        with pytest.raises(PortalInputError) as error:
            parse_promise_date(text, today=TODAY, max_days=30)
        assert error.value.field == "promised_until" and message in error.value.message


def test_dispute_reasons_and_comments() -> None:
    assert parse_dispute("wrong_quantity", "  ") == (parse_dispute("wrong_quantity", "")[0], "")
    with pytest.raises(PortalInputError, match="choose one of"):
        parse_dispute("nope", "")
    with pytest.raises(PortalInputError, match="other"):
        parse_dispute("other", " ")
    with pytest.raises(PortalInputError, match="2000"):
        parse_dispute("other", "x" * 2001)


def test_attachments_get_safe_names_and_allowed_types_only() -> None:
    assert safe_file_name("C:\\Users\\me\\Scan 01.PDF", "application/pdf") == "Scan_01.pdf"
    assert safe_file_name("../../etc/passwd", "text/plain") == "passwd.txt"
    assert safe_file_name("...", "image/png") == "attachment.png"
    assert safe_file_name("photo.jpeg", "image/jpeg") == "photo.jpeg"
    with pytest.raises(PortalInputError, match=r"\.exe"):
        safe_file_name("invoice.exe", "application/pdf")
    assert parse_attachment(None) is None
    assert parse_attachment(("a.pdf", "application/pdf; charset=binary", 10)) == (
        "a.pdf",
        "application/pdf",
        10,
    )
    with pytest.raises(PortalInputError, match="PDF, PNG, JPEG"):
        parse_attachment(("a.html", "text/html", 10))
    with pytest.raises(PortalInputError, match="10 MB"):
        parse_attachment(("a.pdf", "application/pdf", ATTACHMENT_MAX_BYTES + 1))
    with pytest.raises(PortalInputError, match="empty"):
        parse_attachment(("a.pdf", "application/pdf", 0))


@pytest.mark.parametrize(
    ("stored", "currency", "written"),
    [
        ("845.2", "EUR", "845.20"),
        ("845", "EUR", "845.00"),
        ("845.20", "EUR", "845.20"),
        ("1.234", "KWD", "1.234"),
        ("1.2", "KWD", "1.200"),
        ("-3.5", "EUR", "-3.50"),
        ("150000.00", "JPY", "150000"),
        ("150000", "JPY", "150000"),
    ],
)
def test_statement_amounts_have_their_currencys_decimals_whatever_the_erp_wrote(
    stored: str, currency: str, written: str
) -> None:
    from arcollect.portal.statements import _money

    assert str(_money(Decimal(stored), currency)) == written
