"""The rules of a text message (SMS), as AWS End User Messaging SMS and the networks apply them.

Pure rules, no AWS: a destination number in E.164, a message's encoding and parts, the opt-out
keywords. The sources of each limit (docs/sms.md lists them too):

- E.164 (ITU-T E.164): ``+``, a country code, at most 15 digits in all. The API's own pattern for
  ``DestinationPhoneNumber`` is looser (``\\+?[1-9][0-9]{1,18}``, botocore's pinpoint-sms-voice-v2
  model); the service then refuses what is not a dialable number of a country (``CANNOT_PARSE``), so
  the number is checked here as E.164 and against the country's numbering plan (Google's
  libphonenumber metadata, the ``phonenumberslite`` package).
- "SMS character limits" (AWS End User Messaging SMS user guide): one part is 140 bytes: 160 GSM 03.38
  characters or 70 characters of anything else (UCS-2); a message of several parts carries a header in
  each, so a part holds 153 GSM characters or 67 UCS-2. The GSM extension table's characters (``€``,
  ``[``, ``]``, ``{``, ``}``, ``\\``, ``^``, ``~``, ``|``, form feed) take two of the 160 (an escape and
  the character, 3GPP TS 23.038 6.2.1.1), and one such pair is never split across two parts; a
  character outside the BMP (an emoji) is two UCS-2 code units and is never split either.
- ``MessageBody``: 1 to 1600 characters, not only white space (the API reference of SendTextMessage).
- "Required opt-out keywords" (the user guide): ARRET, CANCEL, END, OPT-OUT, OPTOUT, QUIT, REMOVE,
  STOP, TD, UNSUBSCRIBE, matched case-insensitively at the start of the reply ("When your number
  receives a message that begins with a keyword"). A policy may add its own (as an account can add
  opt-out keywords to a phone number or pool; those must be set in AWS too).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

# E.164: a country code and the national number, 15 digits at most (ITU-T E.164 section 6).
E164_MAX_DIGITS: Final = 15
_E164: Final = re.compile(r"\+[1-9][0-9]{1,14}")

GSM_SINGLE_PART: Final = 160
GSM_PART: Final = 153
UCS2_SINGLE_PART: Final = 70
UCS2_PART: Final = 67
# SendTextMessage's MessageBody (API reference): 1 to 1600 characters.
BODY_MAX_CHARS: Final = 1600

GSM7: Final = "GSM-7"
UCS2: Final = "UCS-2"

# GSM 03.38 (3GPP TS 23.038) default alphabet, in code order; the escape (0x1B) is left out.
_GSM_BASIC: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Its extension table: each is an escape plus a character, two septets.
_GSM_EXTENDED: Final = frozenset("\f^{}\\[~]|€")

# The keywords AWS End User Messaging SMS opts a number out on ("Required opt-out keywords").
AWS_OPT_OUT_KEYWORDS: Final = frozenset(
    {"ARRET", "CANCEL", "END", "OPT-OUT", "OPTOUT", "QUIT", "REMOVE", "STOP", "TD", "UNSUBSCRIBE"}
)
# The keywords that opt a number back in: the user guide's "Required opt-out keywords" says a recipient
# resubscribes with UNSTOP or START (the keywords' action is opt-in). A policy may add its own words.
AWS_OPT_IN_KEYWORDS: Final = frozenset({"START", "UNSTOP"})
# A keyword: 1 to 30 characters, not starting or ending with a space (the user guide's "Keywords").
KEYWORD_MAX_CHARS: Final = 30


class NumberError(ValueError):
    """A number a text cannot go to; the message says what is wrong with it and what would do."""


class MessageTooLong(ValueError):
    """A message longer than the parts it is allowed."""


@dataclass(frozen=True)
class Segments:
    """How a text travels: its encoding, its length in that encoding's units, and its parts."""

    encoding: str  # GSM-7 | UCS-2
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    parts: int

    @property
    def per_part(self) -> int:
        """The units one part holds for this message (a single part holds more than each of several)."""
        if self.encoding == GSM7:
            return GSM_SINGLE_PART if self.parts <= 1 else GSM_PART
        return UCS2_SINGLE_PART if self.parts <= 1 else UCS2_PART


def is_gsm7(text: str) -> bool:
    """Whether every character of ``text`` is in the GSM 03.38 alphabet or its extension table."""
    return all(c in _GSM_BASIC or c in _GSM_EXTENDED for c in text)


def _units(text: str, encoding: str) -> list[int]:
    """Each character's units: 1 or 2 septets in GSM-7, 1 or 2 UTF-16 code units in UCS-2."""
    if encoding == GSM7:
        return [2 if c in _GSM_EXTENDED else 1 for c in text]
    return [2 if ord(c) > 0xFFFF else 1 for c in text]


def count_segments(text: str) -> Segments:
    """The encoding AWS picks (GSM-7 when every character allows it: "the most efficient encoding") and
    the parts the text is billed as. A two-unit character never straddles two parts, so a part may
    hold one unit less than its capacity."""
    encoding = GSM7 if is_gsm7(text) else UCS2
    units = _units(text, encoding)
    total = sum(units)
    single, part = (GSM_SINGLE_PART, GSM_PART) if encoding == GSM7 else (UCS2_SINGLE_PART, UCS2_PART)
    if total <= single:
        return Segments(encoding, total, 1 if text else 0)
    parts, used = 1, 0
    for width in units:
        if used + width > part:
            parts, used = parts + 1, 0
        used += width
    return Segments(encoding, total, max(parts, math.ceil(total / part)))


def check_body(text: str, max_parts: int) -> Segments:
    """The text's parts, or MessageTooLong saying by how much it is over (parts and units)."""
    if not text.strip():
        raise MessageTooLong("the message is empty (AWS refuses a body of white space only)")
    if len(text) > BODY_MAX_CHARS:
        raise MessageTooLong(f"{len(text)} characters; SendTextMessage takes at most {BODY_MAX_CHARS}")
    found = count_segments(text)
    if found.parts > max_parts:
        raise MessageTooLong(
            f"{found.parts} parts ({found.units} {found.encoding} units) but the policy allows {max_parts}"
            f" (a part holds {GSM_PART if found.encoding == GSM7 else UCS2_PART} {found.encoding} units"
            f" when several, {GSM_SINGLE_PART if found.encoding == GSM7 else UCS2_SINGLE_PART} alone)"
        )
    return found


def fit(text: str, max_parts: int, ellipsis: str = "...") -> str:
    """``text`` cut (at a word, with ``ellipsis``) to fit ``max_parts``; unchanged when it fits."""
    try:
        check_body(text, max_parts)
        return text
    except MessageTooLong:
        pass
    words = text.split(" ")
    while len(words) > 1:
        words.pop()
        candidate = " ".join(words).rstrip(" ,;:.") + ellipsis
        if count_segments(candidate).parts <= max_parts:
            return candidate
    raise MessageTooLong(f"not even one word of the message fits in {max_parts} part(s)")


def normalise_number(raw: str, country: str | None) -> str:
    """The E.164 form of ``raw``, a mobile number a text can go to, or NumberError saying why not.

    A number written with ``+`` (or ``00``) and its country code is read as it is. A national number
    (``0151 2345678``) is read only with the customer's country, and only when that country's
    numbering plan makes it one valid number; anything else is refused with the reason, never guessed.
    Fixed-line numbers are refused (they cannot receive texts); a number the plan cannot tell
    fixed-line from mobile (the US, Canada) is taken."""
    import phonenumbers  # the numbering plans: imported when a number is read, not at every cold start

    text = (raw or "").strip()
    if not text:
        raise NumberError("no mobile number")
    if re.search(r"[^\W\d_]", text):
        raise NumberError(f"{raw!r} holds letters: a mobile number is digits, spaces, +, -, / and ()")
    compact = re.sub(r"[\s\-./()]", "", text)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if not re.fullmatch(r"\+?[0-9]+", compact):
        raise NumberError(f"{raw!r} is not a phone number (digits, spaces, +, -, / and () only)")
    if compact.startswith("+"):
        if not _E164.fullmatch(compact):
            raise NumberError(
                f"{raw!r} is not E.164: + then a country code and at most {E164_MAX_DIGITS} digits in all"
            )
        region = None
    else:
        code = (country or "").strip().upper()
        if not code:
            raise NumberError(
                f"{raw!r} has no country code and the customer has no country: write it as +<country code>"
            )
        if phonenumbers.country_code_for_region(code) == 0:
            raise NumberError(f"{raw!r} has no country code and {code!r} is not a country we can read it for")
        region = code
    try:
        parsed = phonenumbers.parse(compact, region)
    except phonenumbers.NumberParseException as error:
        raise NumberError(f"{raw!r} cannot be read as a phone number: {error}") from None
    if parsed.extension:
        raise NumberError(f"{raw!r} has an extension: a text goes to a mobile number without one")
    if not phonenumbers.is_valid_number(parsed):
        where = f" in {region}" if region else ""
        raise NumberError(f"{raw!r} is not a valid number{where} (its length or prefix fits no number plan)")
    kind = phonenumbers.number_type(parsed)
    if kind not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        label = {
            phonenumbers.PhoneNumberType.FIXED_LINE: "a fixed line",
            phonenumbers.PhoneNumberType.TOLL_FREE: "a toll-free number",
            phonenumbers.PhoneNumberType.PREMIUM_RATE: "a premium-rate number",
            phonenumbers.PhoneNumberType.VOIP: "a VoIP number",
        }.get(kind, "not a mobile number")
        raise NumberError(f"{raw!r} is {label}: texts go to mobile numbers only")
    number = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if not _E164.fullmatch(number):  # pragma: no cover - libphonenumber formats E.164 itself
        raise NumberError(f"{raw!r} does not make an E.164 number")
    return number


def keyword_of(body: str) -> str:
    """The reply's first word, as AWS matches keywords: case-insensitive, trailing punctuation off."""
    words = (body or "").strip().split()
    return words[0].strip(".,!?;:").upper() if words else ""


def is_opt_out(body: str, extra_keywords: Iterable[str] = ()) -> bool:
    """Whether a reply opts its number out: it begins with one of AWS's required opt-out keywords or
    one the policy adds (a reply of the keyword alone, or the keyword followed by more words)."""
    return _begins_with(body, AWS_OPT_OUT_KEYWORDS | {k.strip().upper() for k in extra_keywords if k.strip()})


def is_opt_in(body: str, extra_keywords: Iterable[str] = ()) -> bool:
    """Whether a reply opts its number back in: it begins with START or UNSTOP (AWS's opt-in keywords)
    or one the policy adds (``settings.sms.opt_in_keywords``), as ``is_opt_out`` matches."""
    return _begins_with(body, AWS_OPT_IN_KEYWORDS | {k.strip().upper() for k in extra_keywords if k.strip()})


def _begins_with(body: str, keywords: frozenset[str] | set[str]) -> bool:
    text = (body or "").strip().upper()
    if not text:
        return False
    if keyword_of(text) in keywords:
        return True
    # A keyword of several words ("OPT OUT" added by a policy) is matched at the start of the reply.
    return any(" " in k and (text == k or text.startswith(k + " ")) for k in keywords)


def check_keyword(keyword: str, where: str) -> str:
    """A policy's own opt-out keyword as AWS takes one (1 to 30 characters, no space at either end)."""
    text = str(keyword)
    if not text or len(text) > KEYWORD_MAX_CHARS or text != text.strip():
        raise ValueError(
            f"{where}: {keyword!r} is not a keyword (1 to {KEYWORD_MAX_CHARS} characters, "
            "no space at the start or end)"
        )
    return text.upper()


def why_not_textable(
    mobile: str | None, country: str | None, opted_out: bool, undeliverable: str | None = None
) -> str | None:
    """Why a customer cannot be texted (no number, opted out, a number that is not a mobile one in
    E.164 or its country's plan, a number the carrier said cannot receive texts), None when it can: the
    engine picks the next channel then."""
    if not mobile:
        return "no mobile number in the customer master"
    if opted_out:
        return "the customer opted out of text messages (replied STOP or the like)"
    try:
        number = normalise_number(mobile, country)
    except NumberError as error:
        return f"the mobile number cannot be texted: {error}"
    if undeliverable and undeliverable in (mobile, number):
        return f"the carrier says {number} cannot receive texts (a delivery receipt): fix the mobile number"
    return None


# A reminder text is at most this many parts unless the policy says otherwise (settings.sms.max_parts).
DEFAULT_MAX_PARTS: Final = 2
# More parts than this is no short text any more (and each is billed): a policy may not ask for more.
MAX_PARTS_CEILING: Final = 10


@dataclass(frozen=True)
class SmsRules:
    """The policy's ``settings.sms``: the parts a reminder text may take, hours stricter than the send
    window (both must be open), and opt-out keywords beyond AWS's own."""

    max_parts: int = DEFAULT_MAX_PARTS
    send_window: Any = None  # calendar.SendWindow | None
    opt_out_keywords: tuple[str, ...] = ()
    # Words that opt a number back in beyond START and UNSTOP (a policy's localized ones: ANMELDEN).
    opt_in_keywords: tuple[str, ...] = ()


def parse_rules(value: object, where: str = "settings.sms") -> tuple[SmsRules, list[tuple[str, str]]]:
    """``settings.sms`` read: ``{max_parts, send_window: {days, start, end}, opt_out_keywords: [...]}``;
    the rules and every problem as (key, message)."""
    from arcollect.calendar import SendWindow, WindowError

    if value is None:
        return SmsRules(), []
    if not isinstance(value, dict):
        return SmsRules(), [(where, "expected {max_parts, send_window, opt_out_keywords}")]
    problems: list[tuple[str, str]] = []
    known = ("max_parts", "send_window", "opt_out_keywords", "opt_in_keywords")
    unknown = sorted(str(k) for k in value if k not in known)
    if unknown:
        problems.append((where, f"unknown key(s) {unknown}; expected {', '.join(known)}"))
    parts = value.get("max_parts", DEFAULT_MAX_PARTS)
    if isinstance(parts, bool) or not isinstance(parts, int) or not 1 <= parts <= MAX_PARTS_CEILING:
        problems.append(
            (f"{where}.max_parts", f"expected a whole number 1 to {MAX_PARTS_CEILING}, found {parts!r}")
        )
        parts = DEFAULT_MAX_PARTS
    window = None
    if value.get("send_window") is not None:
        try:
            window = SendWindow.parse(value["send_window"], f"{where}.send_window")
        except WindowError as error:
            problems.append((f"{where}.send_window", str(error)))
    keywords = _keywords(value, "opt_out_keywords", where, problems)
    opt_in = _keywords(value, "opt_in_keywords", where, problems)
    for index, keyword in enumerate(opt_in):
        if keyword in keywords or keyword in AWS_OPT_OUT_KEYWORDS:
            problems.append(
                (
                    f"{where}.opt_in_keywords[{index}]",
                    f"{keyword!r} is an opt-out keyword: a reply cannot be both",
                )
            )
    for index, keyword in enumerate(keywords):
        if keyword in AWS_OPT_IN_KEYWORDS:
            problems.append(
                (
                    f"{where}.opt_out_keywords[{index}]",
                    f"{keyword!r} is an opt-in keyword: a reply cannot be both",
                )
            )
    rules = SmsRules(
        max_parts=parts, send_window=window, opt_out_keywords=tuple(keywords), opt_in_keywords=tuple(opt_in)
    )
    return rules, problems


def _keywords(value: dict[str, Any], key: str, where: str, problems: list[tuple[str, str]]) -> list[str]:
    keywords: list[str] = []
    raw = value.get(key) or []
    if not isinstance(raw, list):
        problems.append((f"{where}.{key}", f"expected a list of keywords, found {raw!r}"))
        raw = []
    for index, keyword in enumerate(raw):
        try:
            keywords.append(check_keyword(str(keyword), f"{where}.{key}[{index}]"))
        except ValueError as error:
            problems.append((f"{where}.{key}[{index}]", str(error)))
    return keywords


# The reminder's first words by its email template; the rest says the same for every step.
_OPENING = {
    "en": {
        "final_notice": "Final notice",
        "firm": "Overdue",
        "courtesy": "Coming due",
        "due": "Due today",
        "missed_promise": "Promised payment not received",
        "instalment_reminder": "Instalment due",
        "plan_broken": "Payment plan instalment missed",
        "": "Payment reminder",
    },
    "de": {
        "final_notice": "Letzte Mahnung",
        "firm": "Zahlung überfällig",
        "courtesy": "Bald fällig",
        "due": "Heute fällig",
        "missed_promise": "Zugesagte Zahlung nicht erhalten",
        "instalment_reminder": "Rate fällig",
        "plan_broken": "Rate nicht erhalten",
        "": "Zahlungserinnerung",
    },
    "fr": {
        "final_notice": "Dernier rappel",
        "firm": "Paiement en retard",
        "courtesy": "Echéance proche",
        "due": "Echéance aujourd'hui",
        "missed_promise": "Paiement promis non reçu",
        "instalment_reminder": "Echéance de votre plan",
        "plan_broken": "Echéance du plan impayée",
        "": "Rappel de paiement",
    },
}
# Every word here is in the GSM 03.38 alphabet, so a text stays GSM-7 (160/153 per part), not UCS-2.
_BODY = {
    "en": "{sender}: {opening}, {count}. View and pay: {link} Reply STOP to opt out.",
    "de": "{sender}: {opening}, {count}. Ansehen und zahlen: {link} Abmelden: STOP",
    "fr": "{sender}: {opening}, {count}. Voir et payer: {link} STOP pour ne plus recevoir de SMS.",
}
_COUNT = {
    "en": ("1 invoice", "{n} invoices"),
    "de": ("1 Rechnung", "{n} Rechnungen"),
    "fr": ("1 facture", "{n} factures"),
}


def compose(template: str, invoice_count: int, sender: str, link: str, language: str | None) -> str:
    """The text of a reminder: who sends it, what it is, how many invoices, the link, how to opt out.
    No amounts: the portal shows them (net of credits, with any charges) as of the moment it is opened."""
    lang = (language or "en").split("-")[0].split("_")[0].lower()
    lang = lang if lang in _BODY else "en"
    opening = _OPENING[lang].get(template) or _OPENING[lang][""]
    one, many = _COUNT[lang]
    count = one if invoice_count == 1 else many.format(n=invoice_count)
    return _BODY[lang].format(sender=sender, opening=opening, count=count, link=link)


def shortest_text(template: str, sender: str, link: str, language: str | None) -> str:
    """The shortest form (when the full one is over the parts allowed): the opening and the link."""
    lang = (language or "en").split("-")[0].split("_")[0].lower()
    lang = lang if lang in _OPENING else "en"
    opening = _OPENING[lang].get(template) or _OPENING[lang][""]
    return f"{sender}: {opening}: {link} STOP=opt out"


def text_does_not_fit(
    template: str, sender: str, link: str, language: str | None, max_parts: int
) -> str | None:
    """Why no reminder text with ``link`` fits the ``max_parts`` the policy allows (None: one does):
    the full text may be cut to its shortest form (the opening and the link), so only when that is over
    does the step need another channel. Known before the text is written, so the channel is chosen
    with it (a long customer id makes a long signed link; non-ASCII makes the whole text UCS-2)."""
    try:
        check_body(shortest_text(template, sender, link, language), max_parts)
    except MessageTooLong as error:
        return f"the reminder text does not fit: {error}"
    return None


__all__ = [
    "AWS_OPT_IN_KEYWORDS",
    "AWS_OPT_OUT_KEYWORDS",
    "GSM7",
    "UCS2",
    "MessageTooLong",
    "NumberError",
    "Segments",
    "SmsRules",
    "check_body",
    "compose",
    "count_segments",
    "fit",
    "is_opt_in",
    "is_opt_out",
    "normalise_number",
    "parse_rules",
    "shortest_text",
    "text_does_not_fit",
    "why_not_textable",
]


# --- delivery receipts --------------------------------------------------------------------------------
# AWS End User Messaging SMS sends each text's delivery status to EventBridge's default bus (the user
# guide, "Monitoring with EventBridge"; "Event types for SMS, MMS, and voice"). The text's Context comes
# back in the event: the customer, the touch and the step find their records (dunning/texts.py).
RECEIPT_SOURCE: Final = "aws.sms-voice"
RECEIPT_DETAIL_TYPE: Final = "Text Message Delivery Status Updated"
# In an invoice's ``bounced_steps``: a step whose text the carrier said was not delivered; the step's
# id alone there: its email bounced. Either way the engine sends the same step again by the channels
# after the one that failed, once (``<step>@bounced``).
TEXT_UNDELIVERED: Final = "@sms"
# The Context entry that marks a text as arcollect's, with the environment's name (the rule's filter).
CONTEXT_SENDER: Final = "arcollect"
DELIVERED_EVENTS: Final = frozenset({"TEXT_DELIVERED", "TEXT_SUCCESSFUL"})
# A final status that says the customer did not get the text, and in words a collector reads.
UNDELIVERED_EVENTS: Final[dict[str, str]] = {
    "TEXT_BLOCKED": "the phone or its carrier blocks texts from us",
    "TEXT_CARRIER_BLOCKED": "the carrier blocked it",
    "TEXT_SPAM": "the carrier took it for spam",
    "TEXT_PROTECT_BLOCKED": "the account's protect configuration blocked it",
    "TEXT_INVALID": "the number cannot receive texts",
    "TEXT_INVALID_MESSAGE": "the carrier refused the message",
    "TEXT_UNREACHABLE": "the phone was off or out of the network",
    "TEXT_CARRIER_UNREACHABLE": "the carrier's network could not be reached",
    "TEXT_TTL_EXPIRED": "it could not be delivered in time",
    "TEXT_UNKNOWN": "the carrier never said it was delivered",
}
# The number itself is wrong (a person fixes it), not the moment or the carrier.
NUMBER_UNUSABLE_EVENTS: Final = frozenset({"TEXT_INVALID", "TEXT_BLOCKED"})
# Not final yet: nothing to do until the final status comes (up to 72 hours, then TEXT_UNKNOWN).
PENDING_EVENTS: Final = frozenset({"TEXT_QUEUED", "TEXT_PENDING"})


class ReceiptError(ValueError):
    """An event that is not a readable delivery receipt of one of our texts."""


@dataclass(frozen=True)
class DeliveryReceipt:
    """One delivery status of a reminder text."""

    event_type: str
    message_id: str
    customer_id: str
    touch_id: str
    step: str
    to: str
    description: str

    @classmethod
    def parse(cls, detail: dict[str, Any]) -> DeliveryReceipt:
        """The receipt in an event's ``detail``; a field missing says which."""
        context = detail.get("context")
        if not isinstance(context, dict):
            raise ReceiptError("the delivery receipt has no context: it is not a text arcollect sent")
        values = {
            "eventType": detail.get("eventType"),
            "messageId": detail.get("messageId"),
            "context.customer_id": context.get("customer_id"),
            "context.touch_id": context.get("touch_id"),
        }
        missing = [name for name, value in values.items() if not isinstance(value, str) or not value]
        if missing:
            raise ReceiptError(f"the delivery receipt has no {', '.join(missing)}")
        return cls(
            event_type=str(detail["eventType"]),
            message_id=str(detail["messageId"]),
            customer_id=str(context["customer_id"]),
            touch_id=str(context["touch_id"]),
            step=str(context.get("step") or ""),
            to=str(detail.get("destinationPhoneNumber") or ""),
            description=str(detail.get("messageStatusDescription") or ""),
        )

    @property
    def outcome(self) -> str:
        """``delivered``, ``undelivered`` (final: the customer did not get it) or ``pending``."""
        if self.event_type in DELIVERED_EVENTS:
            return "delivered"
        if self.event_type in UNDELIVERED_EVENTS:
            return "undelivered"
        return "pending"

    @property
    def reason(self) -> str:
        """Why it was not delivered, in words, with the carrier's own description when it gave one."""
        words = UNDELIVERED_EVENTS.get(self.event_type, self.event_type)
        return f"{words} ({self.description})" if self.description else words

    @property
    def number_unusable(self) -> bool:
        return self.event_type in NUMBER_UNUSABLE_EVENTS
