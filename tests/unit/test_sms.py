"""The text message rules (arcollect/sms.py): numbers, parts, opt-out keywords, the policy's settings."""

from __future__ import annotations

import re

import pytest

from arcollect.policy import PolicyError, parse_policy, shipped_policy
from arcollect.sms import (
    GSM7,
    UCS2,
    DeliveryReceipt,
    MessageTooLong,
    NumberError,
    ReceiptError,
    check_body,
    count_segments,
    fit,
    is_opt_in,
    is_opt_out,
    normalise_number,
    parse_rules,
    why_not_textable,
)

# --- numbers ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("+49 151 23456789", None, "+4915123456789"),  # international, with spaces
        ("+49 (0)151 2345-6789", "DE", "+4915123456789"),  # the "(0)" Germans write inside it
        ("0151 23456789", "DE", "+4915123456789"),  # national, the country makes it one number
        ("0049 151 23456789", "FR", "+4915123456789"),  # 00 is the international prefix
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("07911 123456", "GB", "+447911123456"),
        ("(212) 555-0101", "US", "+12125550101"),  # the US plan cannot tell mobile from fixed: taken
        ("079 123 45 67", "CH", "+41791234567"),
    ],
)
def test_numbers_are_normalised_to_e164_when_unambiguous(
    raw: str, country: str | None, expected: str
) -> None:
    assert normalise_number(raw, country) == expected


@pytest.mark.parametrize(
    ("raw", "country", "why"),
    [
        ("0151 23456789", None, "no country code and the customer has no country"),
        ("0151 23456789", "XX", "not a country"),
        ("030 1234567", "DE", "a fixed line"),  # Berlin landline: no texts
        ("+4915123456789012", None, "at most 15 digits"),  # 16 digits: not E.164
        ("+0151 2345678", None, "not E.164"),  # a country code never starts with 0
        ("0151 2345", "DE", "not a valid number in DE"),  # too short for the German plan
        ("call 0151 23456789", "DE", "holds letters"),
        ("+49 151 2345 6789 ext. 12", None, "holds letters"),
        ("+49 151 2345;6789", None, "not a phone number"),
        ("", "DE", "no mobile number"),
        ("+1 800 555 0199", None, "toll-free"),
    ],
)
def test_numbers_that_cannot_be_texted_are_refused_with_the_reason(
    raw: str, country: str | None, why: str
) -> None:
    with pytest.raises(NumberError, match=why):
        normalise_number(raw, country)


def test_a_national_number_is_read_with_the_customers_country_not_ours() -> None:
    # Given the same digits, read as French and as German
    # Then they are different numbers (or none): the country decides, never a default
    assert normalise_number("0612345678", "FR") == "+33612345678"
    with pytest.raises(NumberError):
        normalise_number("0612345678", "US")


def test_why_not_textable_names_the_first_obstacle() -> None:
    assert why_not_textable(None, "DE", False) == "no mobile number in the customer master"
    assert "opted out" in (why_not_textable("+4915123456789", "DE", True) or "")
    assert "fixed line" in (why_not_textable("030 1234567", "DE", False) or "")
    assert why_not_textable("0151 23456789", "DE", False) is None
    # a number the carrier said cannot receive texts, however the master writes it; another is fine
    assert "cannot receive texts" in (why_not_textable("0151 23456789", "DE", False, "+4915123456789") or "")
    assert why_not_textable("0151 98765432", "DE", False, "+4915123456789") is None


# --- delivery receipts -----------------------------------------------------------------------------------


def _detail(event_type: str, **context: str) -> dict[str, object]:
    return {
        "eventType": event_type,
        "messageId": "862a8790-60c0-4430-9b2b-658bdexample",
        "destinationPhoneNumber": "+4915123456789",
        "messageStatusDescription": "Destination is unreachable",
        "context": {"customer_id": "Müller & Söhne, GmbH", "touch_id": "t-1", "step": "due", **context},
    }


@pytest.mark.parametrize(
    ("event_type", "outcome", "unusable"),
    [
        ("TEXT_DELIVERED", "delivered", False),
        ("TEXT_SUCCESSFUL", "delivered", False),
        ("TEXT_QUEUED", "pending", False),
        ("TEXT_PENDING", "pending", False),
        ("TEXT_UNREACHABLE", "undelivered", False),
        ("TEXT_TTL_EXPIRED", "undelivered", False),
        ("TEXT_UNKNOWN", "undelivered", False),
        ("TEXT_SPAM", "undelivered", False),
        ("TEXT_INVALID", "undelivered", True),
        ("TEXT_BLOCKED", "undelivered", True),
    ],
)
def test_a_receipt_says_delivered_undelivered_or_not_yet(
    event_type: str, outcome: str, unusable: bool
) -> None:
    receipt = DeliveryReceipt.parse(_detail(event_type))
    assert (receipt.outcome, receipt.number_unusable) == (outcome, unusable)
    assert (
        receipt.customer_id == "Müller & Söhne, GmbH" and receipt.touch_id == "t-1" and receipt.step == "due"
    )
    if outcome == "undelivered":
        assert receipt.reason.endswith("(Destination is unreachable)")


def test_a_receipt_without_our_context_says_what_is_missing() -> None:
    with pytest.raises(ReceiptError, match="no context"):
        DeliveryReceipt.parse({"eventType": "TEXT_DELIVERED", "messageId": "m"})
    detail = _detail("TEXT_DELIVERED")
    detail["context"] = {"customer_id": "C1"}
    with pytest.raises(ReceiptError, match=r"context\.touch_id"):
        DeliveryReceipt.parse(detail)


# --- parts -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "encoding", "units", "parts"),
    [
        ("a" * 160, GSM7, 160, 1),
        ("a" * 161, GSM7, 161, 2),
        ("a" * 306, GSM7, 306, 2),  # 2 x 153
        ("a" * 307, GSM7, 307, 3),
        ("€" * 80, GSM7, 160, 1),  # € is an escape plus a character: two septets
        ("€" * 81, GSM7, 162, 2),
        ("a" * 159 + "€", GSM7, 161, 2),  # one € too many for one part
        ("Müller & Söhne: ÄÖÜäöüß é è à ù ì ò Ç É Ñ ñ @ £ $ ¥", GSM7, 51, 1),  # all in GSM 03.38
        ("[x]{y}~|^\\", GSM7, 16, 1),  # extension table, two each: 8 x 2 + 2... counted below
        ("ą" * 70, UCS2, 70, 1),  # one non-GSM character makes all UCS-2: 70 a part
        ("ą" * 71, UCS2, 71, 2),
        ("ą" * 134, UCS2, 134, 2),  # 2 x 67
        ("ą" * 135, UCS2, 135, 3),
        ("a" * 100 + "ç", UCS2, 101, 2),  # a lower-case c cedilla is not GSM: 101 UCS-2 units, 2 parts
        ("😀" * 35, UCS2, 70, 1),  # outside the BMP: two UTF-16 units each
        ("😀" * 36, UCS2, 72, 2),
        ("", GSM7, 0, 0),
    ],
)
def test_segments(text: str, encoding: str, units: int, parts: int) -> None:
    found = count_segments(text)
    assert (found.encoding, found.parts) == (encoding, parts)
    if text != "[x]{y}~|^\\":
        assert found.units == units
    else:
        # [ ] { } ~ | ^ \ are eight extension characters (two septets each), x and y one each.
        assert found.units == 8 * 2 + 2


def test_a_two_unit_character_never_straddles_two_parts() -> None:
    # Given 152 plain characters then a euro sign: 154 septets, 2 parts either way, but
    # 153 + € + 152 fills the first part to 153 and the € cannot be split: 3 parts, not ceil(307/153)=3
    text = "a" * 152 + "€" + "a" * 152  # 306 septets: ceil(306/153) = 2, yet the € straddles
    assert count_segments(text).units == 306
    assert count_segments(text).parts == 3
    # And a surrogate pair is never split in UCS-2 either
    ucs = "ą" * 66 + "😀" + "ą" * 66  # 134 units: 2 parts of 67 if it could be split, 3 since it cannot
    assert count_segments(ucs).parts == 3


def test_check_body_refuses_over_the_policys_parts_and_says_by_how_much() -> None:
    assert check_body("a" * 306, 2).parts == 2
    with pytest.raises(MessageTooLong, match=r"3 parts .*307 GSM-7 units.* allows 2"):
        check_body("a" * 307, 2)
    with pytest.raises(MessageTooLong, match="empty"):
        check_body("   ", 2)
    with pytest.raises(MessageTooLong, match="at most 1600"):
        check_body("a" * 1601, 20)


def test_fit_cuts_at_a_word_to_the_parts_allowed() -> None:
    text = " ".join(["word"] * 60)  # 299 characters
    cut = fit(text, 1)
    assert count_segments(cut).parts == 1 and cut.endswith("...") and cut.startswith("word word")
    assert fit("short", 1) == "short"


# --- opt-outs --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    ["STOP", "stop", " Stop ", "STOP.", "Stop please", "ARRET", "arret", "UNSUBSCRIBE", "OPT-OUT", "optout",
     "TD", "quit", "CANCEL", "END", "REMOVE"],
)  # fmt: skip
def test_aws_opt_out_keywords(reply: str) -> None:
    assert is_opt_out(reply)


@pytest.mark.parametrize("reply", ["", "Please call me", "I will pay, don't stop", "STOPP", "unstop", "Help"])
def test_other_replies_are_no_opt_out(reply: str) -> None:
    assert not is_opt_out(reply)


def test_a_policy_adds_its_own_keywords() -> None:
    rules, problems = parse_rules({"opt_out_keywords": ["stopp", "Abmelden", "OPT OUT"]})
    assert problems == []
    assert is_opt_out("Stopp", rules.opt_out_keywords)
    assert is_opt_out("abmelden bitte", rules.opt_out_keywords)
    assert is_opt_out("opt out", rules.opt_out_keywords)
    assert not is_opt_out("Stopp", ())


@pytest.mark.parametrize("reply", ["START", "start", "Start.", "UNSTOP", "unstop please", " Start "])
def test_start_and_unstop_opt_back_in(reply: str) -> None:
    assert is_opt_in(reply) and not is_opt_out(reply)


@pytest.mark.parametrize("reply", ["", "STOP", "Started paying", "restart", "Please start calling me"])
def test_other_replies_are_no_opt_in(reply: str) -> None:
    assert not is_opt_in(reply)


def test_a_policy_adds_its_own_opt_in_words_and_none_may_also_opt_out() -> None:
    rules, problems = parse_rules({"opt_out_keywords": ["Abmelden"], "opt_in_keywords": ["Anmelden"]})
    assert problems == [] and is_opt_in("anmelden", rules.opt_in_keywords)
    _, problems = parse_rules(
        {"opt_out_keywords": ["Abmelden", "START"], "opt_in_keywords": ["abmelden", "STOP"]}
    )
    assert sorted(where for where, _ in problems) == [
        "settings.sms.opt_in_keywords[0]",
        "settings.sms.opt_in_keywords[1]",
        "settings.sms.opt_out_keywords[1]",
    ]


# --- the policy's settings.sms ---------------------------------------------------------------------------


def test_the_shipped_policy_texts_at_most_two_parts() -> None:
    rules = shipped_policy().settings.sms
    assert rules.max_parts == 2 and rules.send_window is None


def test_a_policy_sets_the_parts_and_stricter_hours() -> None:
    text = (
        "settings:\n  sms:\n    max_parts: 1\n"
        "    send_window: {days: [mon, tue, wed, thu, fri], start: '10:00', end: '12:00'}\n"
        "    opt_out_keywords: [STOPP]\n"
    )
    policies = parse_policy(_with_defaults(text), source="test.yaml")
    rules = policies.settings.sms
    assert rules.max_parts == 1
    assert (rules.send_window.start.hour, rules.send_window.end.hour) == (10, 12)
    assert rules.opt_out_keywords == ("STOPP",)


@pytest.mark.parametrize(
    ("sms", "where"),
    [
        ("{max_parts: 0}", "settings.sms.max_parts"),
        ("{max_parts: 11}", "settings.sms.max_parts"),
        ("{max_parts: two}", "settings.sms.max_parts"),
        ("{send_window: {start: '18:00', end: '09:00'}}", "settings.sms.send_window"),
        ("{opt_out_keywords: [' STOP']}", "settings.sms.opt_out_keywords[0]"),
        ("{opt_out_keywords: STOP}", "settings.sms.opt_out_keywords"),
        ("{segments: 2}", "settings.sms"),
    ],
)
def test_a_bad_sms_setting_is_a_policy_error_naming_its_key(sms: str, where: str) -> None:
    with pytest.raises(PolicyError, match=re.escape(where) + ":"):
        parse_policy(_with_defaults(f"settings:\n  sms: {sms}\n"), source="test.yaml")


def _with_defaults(settings_text: str) -> str:
    """The shipped policy with ``settings_text``'s settings block in place of its own."""
    import yaml

    from arcollect.policy import SHIPPED_POLICY

    shipped = yaml.safe_load(SHIPPED_POLICY.read_text())
    shipped.setdefault("settings", {}).update(yaml.safe_load(settings_text)["settings"])
    return yaml.safe_dump(shipped, sort_keys=False)
