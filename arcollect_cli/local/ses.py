"""What real SES v2 refuses in ``SendEmail`` and moto takes: the local stack's SES refuses it too.

moto accepts any message tag, any configuration set name, any message size and most malformed
addresses. Code that passes against it can have every reminder refused on AWS (a customer id such as
``Brennan & Sons, PC`` in a tag is enough). These rules make the emulator refuse, with the error code
and status SES v2 answers, so the code's handling of a refusal runs locally and in the tests as it does
on AWS. Sources, as of writing:

- message tags: the SES API references' ``MessageTag`` (names and values: ASCII letters, digits, ``_``
  and ``-``); the length and the refusals' wording as SES words them (recorded from AWS by LocalStack's
  SES snapshot tests: "Tag value cannot exceed 255 characters.", "Invalid tag value <...>: only
  alphanumeric ASCII characters, '_', and '-' are allowed."); ``ses:feedback-id-a``/``-b`` are the
  names SES reserves with its prefix (the developer guide's "fine-grained feedback"). The reference
  gives no count of tags per message; 50, SES's limit on a resource's tags, is the ceiling here.
- addresses: the SendEmail reference ("UserName@[SubDomain.]Domain.TopLevelDomain"; one invalid
  recipient rejects the whole message) and ``Destination`` (local parts 7-bit ASCII, no SMTPUTF8;
  domains in Punycode); the wording is the one SES answers with ("Missing final '@domain'", "Domain
  contains illegal character", ...), which v2 returns as ``BadRequestException``.
- at most 50 recipients (To, Cc and Bcc together) and 40 MB per message through the v2 API (the
  developer guide's "Service quotas in Amazon SES"; "Recipient count exceeds 50.").
- the configuration set must exist (``NotFoundException``) and its name be 1-64 characters of the tag
  alphabet (the quotas page and CreateConfigurationSet).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from email import message_from_bytes
from email.policy import compat32
from typing import Any, Final

TAG_MAX_CHARS: Final = 255
TAGS_PER_MESSAGE: Final = 50
RECIPIENTS_PER_MESSAGE: Final = 50
MESSAGE_MAX_BYTES: Final = 40 * 1024 * 1024
CONFIGURATION_SET_MAX_CHARS: Final = 64
# The two tag names SES takes with its own prefix (a colon is no tag character otherwise).
RESERVED_TAG_NAMES: Final = frozenset({"ses:feedback-id-a", "ses:feedback-id-b"})

_TAG_TEXT: Final = re.compile(r"[A-Za-z0-9_-]+")
# RFC 5322's atext: what an unquoted local part may hold between its dots.
_ATEXT: Final = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+")
_DOMAIN_LABEL: Final = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_CONTROL_OR_SPACE: Final = re.compile(r"[\x00-\x20\x7f]")
_ALLOWED: Final = "only alphanumeric ASCII characters, '_', and '-' are allowed."
# The headers whose addresses SES reads from a raw message (senders and recipients).
ADDRESS_HEADERS: Final = ("From", "Sender", "Reply-To", "To", "Cc", "Bcc")
RECIPIENT_HEADERS: Final = ("To", "Cc", "Bcc")


@dataclass(frozen=True)
class SesRefusal:
    """SES's answer to a request it refuses: the error code, its message and the HTTP status."""

    code: str
    message: str
    status: int = 400


def _bad_request(message: str) -> SesRefusal:
    return SesRefusal("BadRequestException", message)


def tag_refusal(tags: Sequence[Mapping[str, Any]]) -> SesRefusal | None:
    """Why SES refuses these message tags (None: it takes them)."""
    if len(tags) > TAGS_PER_MESSAGE:
        return _bad_request(f"The number of message tags cannot exceed {TAGS_PER_MESSAGE}.")
    for tag in tags:
        name, value = str(tag.get("Name") or ""), str(tag.get("Value") or "")
        for what, text in (("name", name), ("value", value)):
            if not text:
                return _bad_request(f"The tag {what} must be specified.")
            if len(text) > TAG_MAX_CHARS:
                return _bad_request(f"Tag {what} cannot exceed {TAG_MAX_CHARS} characters.")
            if what == "name" and text in RESERVED_TAG_NAMES:
                continue
            if not _TAG_TEXT.fullmatch(text):
                return _bad_request(f"Invalid tag {what} <{text}>: {_ALLOWED}")
    return None


def _mailbox(address: str) -> str:
    """The address itself: the part in angle brackets when a display name goes with it."""
    text = address.strip()
    if text.endswith(">") and "<" in text:
        return text[text.rindex("<") + 1 : -1].strip()
    return text


def address_problem(address: str) -> str | None:
    """What is wrong with one address (``ap@example.com``; a display name around it is fine), in SES's
    words; None when SES takes it."""
    mailbox = _mailbox(address)
    if not mailbox:
        return f"Invalid email address {mailbox}."
    local, at, domain = mailbox.rpartition("@")
    if not at:
        return "Missing final '@domain'"
    if not local:
        return "Missing local name"
    if not domain:
        return "Missing domain"
    quoted = local.startswith('"') and local.endswith('"') and len(local) > 1
    if not quoted:
        if _CONTROL_OR_SPACE.search(local):
            return "Local address contains control or whitespace"
        if not local.isascii():
            return "Local address contains illegal character"
        if local.startswith("."):
            return "Local address starts with dot"
        if local.endswith("."):
            return "Local address ends with dot"
        if ".." in local:
            return "Local address contains dot-dot"
        if not all(_ATEXT.fullmatch(part) for part in local.split(".")):
            return "Local address contains illegal character"
    elif not local.isascii():
        return "Local address contains illegal character"
    if _CONTROL_OR_SPACE.search(domain):
        return "Domain contains control or whitespace"
    if domain.startswith("."):
        return "Domain starts with dot"
    if domain.endswith("."):
        return "Domain ends with dot"
    if ".." in domain:
        return "Domain contains dot-dot"
    labels = domain.split(".")
    if not domain.isascii() or not all(_DOMAIN_LABEL.fullmatch(label) for label in labels):
        return "Domain contains illegal character"
    if len(labels) < 2:
        return f"Invalid email address {mailbox}."
    return None


def _address_refusal(addresses: Iterable[str]) -> SesRefusal | None:
    for address in addresses:
        problem = address_problem(address)
        if problem is not None:
            return _bad_request(problem)
    return None


def _header_addresses(values: Sequence[str]) -> list[str]:
    """The addresses of address headers as SES reads them: each comma-separated entry (commas inside
    quotes or angle brackets belong to the entry), unfolded."""
    found: list[str] = []
    for value in values:
        text = re.sub(r"\r?\n[ \t]+", " ", value)
        entry, quoted, angled = "", False, False
        for char in text:
            if char == '"' and not angled:
                quoted = not quoted
            elif char == "<" and not quoted:
                angled = True
            elif char == ">" and not quoted:
                angled = False
            elif char == "," and not quoted and not angled:
                found.append(entry)
                entry = ""
                continue
            entry += char
        found.append(entry)
    return [entry for entry in found if entry.strip()]


def send_email_refusal(
    request: Mapping[str, Any], raw: bytes | None, configuration_sets: Iterable[str]
) -> SesRefusal | None:
    """Why SES v2 refuses this ``SendEmail`` request (its JSON body; ``raw`` the decoded MIME message
    of ``Content.Raw``); None when these rules let it through to what moto checks itself."""
    refused = tag_refusal(request.get("EmailTags") or [])
    if refused:
        return refused
    name = request.get("ConfigurationSetName")
    if name is not None:
        if not name or len(name) > CONFIGURATION_SET_MAX_CHARS:
            return _bad_request(
                f"Configuration set name cannot exceed {CONFIGURATION_SET_MAX_CHARS} characters."
            )
        if not _TAG_TEXT.fullmatch(name):
            return _bad_request(f"Invalid configuration set name <{name}>: {_ALLOWED}")
        if name not in set(configuration_sets):
            return SesRefusal("NotFoundException", f"Configuration set <{name}> does not exist.", 404)
    destination = request.get("Destination") or {}
    recipients = [
        str(a) for key in ("ToAddresses", "CcAddresses", "BccAddresses") for a in destination.get(key) or []
    ]
    senders = [str(a) for a in request.get("ReplyToAddresses") or []]
    for key in ("FromEmailAddress", "FeedbackForwardingEmailAddress"):
        if request.get(key) is not None:
            senders.append(str(request[key]))
    refused = _address_refusal([*senders, *recipients])
    if refused:
        return refused
    if raw is not None:
        if len(raw) > MESSAGE_MAX_BYTES:
            return SesRefusal(
                "MessageRejected",
                f"Message length is more than {MESSAGE_MAX_BYTES} bytes long: '{len(raw)}'.",
            )
        message = message_from_bytes(raw, policy=compat32)
        headers = {name: [str(v) for v in message.get_all(name) or []] for name in ADDRESS_HEADERS}
        refused = _address_refusal(a for name in ADDRESS_HEADERS for a in _header_addresses(headers[name]))
        if refused:
            return refused
        if not recipients:
            # Without a destination SES sends to the message's own recipients.
            recipients = [a for name in RECIPIENT_HEADERS for a in _header_addresses(headers[name])]
    if len(recipients) > RECIPIENTS_PER_MESSAGE:
        return _bad_request(f"Recipient count exceeds {RECIPIENTS_PER_MESSAGE}.")
    return None
