"""What a customer typed into the portal, read and checked: contact details, a dispute and its declared
attachment, a statement's format.

Pure: no store, no clock. Bad input raises ``PortalInputError`` naming the form field (or JSON property)
and what is wrong; the page shows it next to that field and the API answers it with a 400.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from arcollect.entities import Customer, DisputeReason
from arcollect.inputs import InputError
from arcollect.languages import LANGUAGES, base_language, written_language
from arcollect.portal.statements import FORMATS as STATEMENT_FORMATS
from arcollect.portal.uploads import MAX_ATTACHMENT_BYTES

# Input the portal cannot take; ``field`` names the form field / JSON property. The domain's input
# error: the rules the portal shares with the staff console (a promise to pay) raise it too.
PortalInputError = InputError

# Dispute attachments: at most this size (arcollect.portal.uploads, the presigned POST's bound).
ATTACHMENT_MAX_BYTES = MAX_ATTACHMENT_BYTES
ATTACHMENT_TYPES = ("application/pdf", "image/png", "image/jpeg", "text/plain")

_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
_PHONE = re.compile(r"^[+0-9 ()-]*$")
MAX_OTHER_EMAILS = 10
MAX_COMMENT_CHARS = 2000
_ATTACHMENT_EXTENSIONS = {
    "application/pdf": (".pdf",),
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
    "text/plain": (".txt",),
}


@dataclass(frozen=True)
class ContactDetails:
    """The AP contact details to keep on file, as the customer asked for them, checked
    (``other_emails`` without the primary)."""

    email: str
    other_emails: tuple[str, ...]
    phone: str | None
    language: str | None


@dataclass(frozen=True)
class DisputeRequest:
    """A dispute as the customer raised it, checked; ``attachment`` is (safe file name, content type,
    size) of the file they mean to upload next, if any."""

    reason: DisputeReason
    comment: str
    attachment: tuple[str, str, int] | None


def normalise_email(text: str, field_name: str = "email") -> str:
    """The address without surrounding blanks (as typed otherwise); PortalInputError if malformed."""
    address = (text or "").strip()
    if not address:
        raise PortalInputError(field_name, "enter an email address")
    if len(address) > 254 or ".." in address or not _EMAIL.match(address):
        raise PortalInputError(field_name, f"{address!r} is not a valid email address (e.g. ap@example.com)")
    return address


def parse_email_list(text: str, field_name: str = "other_emails") -> tuple[str, ...]:
    """Addresses separated by ``;`` or ``,`` (or new lines), each valid, without repeats."""
    found: list[str] = []
    for part in re.split(r"[;,\s]+", text or ""):
        if not part:
            continue
        address = normalise_email(part, field_name)
        if address.lower() not in (a.lower() for a in found):
            found.append(address)
    if len(found) > MAX_OTHER_EMAILS:
        raise PortalInputError(field_name, f"at most {MAX_OTHER_EMAILS} further addresses")
    return tuple(found)


def parse_phone(text: str | None, current: str | None = None) -> str | None:
    """The phone number to keep on file: None leaves ``current``, blank means none. The number on file
    is taken back as it is (ingest keeps what the ERP wrote, which may break the rules for a new one)."""
    if text is None:
        return current
    phone = text.strip()
    if current is not None and phone == current.strip():
        return current
    if len(phone) > 40:
        raise PortalInputError("phone", "at most 40 characters")
    if not _PHONE.match(phone):
        raise PortalInputError("phone", "use digits, spaces, +, - and brackets only")
    return phone or None


def parse_language(text: str | None, current: str | None = None) -> str | None:
    """The language to keep on file: one we write in (``arcollect.languages``), a region code counting
    as its base language (``de-DE`` is ``de``). None or blank leaves ``current``, and so do the language
    on file as written and the one it is shown as (``written_language``: ``de`` for ``de-DE``, ``en``
    for ``pt``): a form sent back as shown, or the API's own ``language`` sent back, changes nothing."""
    code = (text or "").strip()
    if not code or code.lower() == (current or "").strip().lower():
        return current
    language = base_language(code)
    if language not in LANGUAGES:
        raise PortalInputError("language", f"{code!r} is not offered: choose one of {', '.join(LANGUAGES)}")
    return current if language == written_language(current) else language


def parse_contact(
    *,
    email: str,
    other_emails: str | None,
    phone: str | None,
    language: str | None,
    current: Customer | None = None,
) -> ContactDetails:
    """The contact form (or the API's body), field by field in the form's order (the first bad field is
    the one named). None for ``other_emails``, ``phone`` or ``language`` leaves what ``current`` has."""
    primary = normalise_email(email, "email")
    kept = current.other_emails if current else ()
    listed = parse_email_list(other_emails) if other_emails is not None else kept
    others = tuple(a for a in listed if a.lower() != primary.lower())
    return ContactDetails(
        email=primary,
        other_emails=others,
        phone=parse_phone(phone, current.phone if current else None),
        language=parse_language(language, current.language if current else None),
    )


def parse_dispute(reason: str, comment: str) -> tuple[DisputeReason, str]:
    try:
        why = DisputeReason((reason or "").strip())
    except ValueError as error:
        choices = ", ".join(r.value for r in DisputeReason)
        raise PortalInputError("reason", f"choose one of: {choices}") from error
    text = (comment or "").strip()
    if len(text) > MAX_COMMENT_CHARS:
        raise PortalInputError("comment", f"at most {MAX_COMMENT_CHARS} characters ({len(text)} given)")
    if why is DisputeReason.OTHER and not text:
        raise PortalInputError("comment", "describe the problem when the reason is 'other'")
    return why, text


def safe_file_name(name: str, content_type: str) -> str:
    """A file name safe as the last part of an S3 key (no path, no odd characters), whose extension
    matches ``content_type`` (the canonical one is appended when it has none)."""
    base = re.split(r"[/\\]", (name or "").strip())[-1]
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._") or "attachment"
    allowed = _ATTACHMENT_EXTENSIONS[content_type]
    stem, dot, extension = base.rpartition(".")
    if dot and f".{extension.lower()}" in allowed:
        stem, suffix = stem, f".{extension.lower()}"
    elif dot and 1 <= len(extension) <= 5 and extension.isalnum():
        raise PortalInputError(
            "attachment",
            f"a .{extension} file cannot be uploaded as {content_type} (use {', '.join(allowed)})",
        )
    else:
        stem, suffix = base, allowed[0]
    return f"{(stem.strip('._') or 'attachment')[:100]}{suffix}"


def parse_attachment(attachment: tuple[str, str, int] | None) -> tuple[str, str, int] | None:
    """(safe file name, content type, size) of a declared attachment, validated."""
    if attachment is None:
        return None
    name, content_type, size = attachment
    content_type = (content_type or "").split(";")[0].strip().lower()
    if content_type not in ATTACHMENT_TYPES:
        raise PortalInputError("attachment", "attach a PDF, PNG, JPEG or plain-text file")
    if not isinstance(size, int) or size <= 0:
        raise PortalInputError("attachment", "the file is empty")
    if size > ATTACHMENT_MAX_BYTES:
        raise PortalInputError(
            "attachment", f"the file is larger than {ATTACHMENT_MAX_BYTES // (1024 * 1024)} MB"
        )
    return safe_file_name(name, content_type), content_type, size


def parse_dispute_request(
    *, reason: str, comment: str, attachment: tuple[str, str, int] | None
) -> DisputeRequest:
    """The dispute form: its reason and comment, then the attachment it declares."""
    why, text = parse_dispute(reason, comment)
    return DisputeRequest(reason=why, comment=text, attachment=parse_attachment(attachment))


def parse_statement_format(fmt: str) -> str:
    """The statement's format: "csv" or "xlsx", whatever the case and blanks."""
    kind = (fmt or "").strip().lower()
    if kind not in STATEMENT_FORMATS:
        raise PortalInputError("format", "choose csv or xlsx")
    return kind
