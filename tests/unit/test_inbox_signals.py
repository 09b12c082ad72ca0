"""What a received reply says, without AWS: reply addresses and Message-IDs, auto-replies by header and
by subject in several languages, and the "says paid" / "disputes" words in the customer's own text
(never in the reminder they quoted)."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from arcollect.inbox.messages import UnreadableMessage, read_message
from arcollect.inbox.signals import auto_reply, flags
from arcollect.replies import (
    MAX_LOCAL_PART,
    message_ids,
    new_token,
    reply_address,
    thread_key,
    token_of,
)

DOMAIN = "replies.example.com"


def message(body: str = "Hello", subject: str = "Re: Payment reminder", **headers: str) -> bytes:
    mail = EmailMessage()
    mail["From"] = "Zoë Łukasiewicz <ap@mueller.example>"
    mail["To"] = f"reply+{'a' * 24}@{DOMAIN}"
    mail["Subject"] = subject
    mail["Message-ID"] = "<m1@mail.mueller.example>"
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(body)
    return mail.as_bytes()


def test_a_reply_address_is_random_short_enough_and_read_back_only_on_its_domain() -> None:
    tokens = {new_token() for _ in range(200)}
    assert len(tokens) == 200
    token = tokens.pop()
    address = reply_address(token, "Replies.Example.COM")
    local = address.split("@")[0]
    assert len(local.encode()) <= MAX_LOCAL_PART == 64
    assert token_of(address, DOMAIN) == token
    assert token_of(address.upper(), DOMAIN) == token  # a server that changed the case
    assert token_of(f"<{address}>", DOMAIN) == token
    assert token_of(address, "other.example") is None
    assert token_of(f"reply+{token[:-1]}@{DOMAIN}", DOMAIN) is None
    assert token_of(f"dana+{token}@{DOMAIN}", DOMAIN) is None
    with pytest.raises(ValueError, match="24 base32"):
        reply_address("not-a-token", DOMAIN)


def test_message_ids_are_looked_up_by_their_left_part() -> None:
    assert thread_key("<0100018c-abc@email.amazonses.com>") == "0100018c-abc"
    assert thread_key("<Due.1a2b@Seller.Example>") == "due.1a2b"
    assert message_ids("<a@b> \r\n <c@d>") == ["a@b", "c@d"]
    assert message_ids(None) == []


@pytest.mark.parametrize(
    "subject",
    [
        "Out of Office: Payment reminder",
        "Automatic reply: Payment reminder",
        "Abwesenheitsnotiz: Zahlungserinnerung",
        "Automatische Antwort: Zahlungserinnerung",
        "Réponse automatique : Rappel de paiement",
        "Absence du bureau",
        "Respuesta automática: Recordatorio de pago",
        "Fuera de la oficina",
        "Automatisch antwoord: Betalingsherinnering",
        "Afwezig",
    ],
)
def test_out_of_office_subjects_in_several_languages_are_auto_replies(subject: str) -> None:
    assert auto_reply(read_message(message(subject=subject))) is not None


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("Auto-Submitted", "auto-replied"),
        ("X-Autoreply", "yes"),
        ("Precedence", "auto_reply"),
        ("Precedence", "bulk"),
    ],
)
def test_auto_reply_headers(header: str, value: str) -> None:
    found = auto_reply(read_message(message(**{header: value})))
    assert found is not None and value in found


def test_a_person_s_reply_is_not_an_auto_reply() -> None:
    assert auto_reply(read_message(message(Auto_Submitted="no", subject="Re: Payment reminder"))) is None


@pytest.mark.parametrize(
    ("body", "flag", "words"),
    [
        ("We paid yesterday, remittance attached.", "says_paid", ("paid", "remittance")),
        ("Der Betrag wurde gestern überwiesen.", "says_paid", ("überwiesen",)),
        ("La facture a été réglée par virement.", "says_paid", ("réglée", "virement")),
        (
            "La factura ya está pagada, adjunto el comprobante de pago.",
            "says_paid",
            ("pagada", "comprobante de pago"),
        ),
        ("De factuur is gisteren betaald.", "says_paid", ("betaald",)),
        ("We dispute this invoice: wrong amount.", "disputes", ("dispute", "wrong amount")),
        ("Reklamation: die Ware kam beschädigt an.", "disputes", ("reklamation", "beschädigt")),
        ("Nous contestons cette facture, le montant est erroné.", "disputes", ("contestons", "erroné")),
        ("El importe es incorrecto, no recibido.", "disputes", ("incorrecto", "no recibido")),
        ("Het bedrag is onjuist.", "disputes", ("onjuist",)),
    ],
)
def test_what_a_reply_says_is_flagged_with_the_words_in_its_own_spelling(
    body: str, flag: str, words: tuple[str, ...]
) -> None:
    assert flags(read_message(message(body=body)))[flag] == words


def test_the_quoted_reminder_and_unpaid_do_not_flag_anything() -> None:
    body = (
        "Thanks, we will look at it next week.\n\n"
        "On Mon, 23 Nov 2026 at 10:00, Accounts Receivable <ar@seller.example> wrote:\n"
        "> If you have already paid, please ignore this reminder. To dispute an invoice...\n"
    )
    assert flags(read_message(message(body=body))) == {}
    assert flags(read_message(message(body="Invoice 42 is still unpaid on our side."))) == {}
    # the reminder's own subject after "Re:" is ours, not the customer's
    assert flags(read_message(message(subject="Re: Dispute notice", body="OK"))) == {}


def test_what_cannot_be_read_says_why() -> None:
    with pytest.raises(UnreadableMessage, match="empty"):
        read_message(b"  \r\n")
    with pytest.raises(UnreadableMessage, match="not an email message"):
        read_message(b"\x00\x01 binary junk \xff")


def test_names_and_attachments_survive_their_encodings() -> None:
    mail = EmailMessage()
    mail["From"] = "Françoise Léger <compta@dupont.example>"
    mail["Subject"] = "Avis de virement"
    mail.set_content("Voir pièce jointe.")
    mail.add_attachment(b"%PDF-1.4\n", maintype="application", subtype="pdf", filename="Avis/INV 2026 é.pdf")
    read = read_message(mail.as_bytes())
    assert (read.sender_name, read.sender) == ("Françoise Léger", "compta@dupont.example")
    [attachment] = read.attachments
    assert attachment.name == "Avis-INV 2026 é.pdf"
    assert attachment.content == b"%PDF-1.4\n"


def test_a_part_in_a_charset_python_does_not_know_is_still_read() -> None:
    raw = (
        b"From: ap@mueller.example\r\nSubject: Zahlung\r\nMessage-ID: <c@x>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: text/plain; charset="x-unknown-charset"\r\n\r\nWir haben gestern bezahlt.\r\n'
    )
    read = read_message(raw)
    assert "bezahlt" in read.text
    assert flags(read) == {"says_paid": ("bezahlt",)}
