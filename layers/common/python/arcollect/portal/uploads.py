"""What a dispute attachment must be before it is linked to its dispute: its declared size at most, and
of its declared type by its content (the first bytes of the file), not by its name or the browser's
word. Pure: the service reads the object and asks here."""

from __future__ import annotations

from typing import Final

# The largest attachment a customer may upload (the presigned POST's content-length-range allows at
# most the declared size, and never more than this).
MAX_ATTACHMENT_BYTES: Final = 10 * 1024 * 1024
# How many leading bytes identify a binary type (text is checked whole).
SNIFF_BYTES: Final = 16

_SIGNATURES: Final = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
}
TYPE_NAMES: Final = {
    "application/pdf": "a PDF",
    "image/png": "a PNG image",
    "image/jpeg": "a JPEG image",
    "text/plain": "a plain-text file",
}


def is_text(content_type: str) -> bool:
    """Whether ``content_type`` is checked by reading the whole file (text) rather than its start."""
    return content_type == "text/plain"


def content_problem(content_type: str, content: bytes) -> str | None:
    """Why ``content`` (the file's first SNIFF_BYTES, or all of it for text) is not ``content_type``,
    or None when it is."""
    expected = TYPE_NAMES.get(content_type, content_type)
    if not content:
        return "the file is empty"
    if is_text(content_type):
        if b"\x00" in content:
            return f"it is not {expected}: it holds binary data"
        try:
            content.decode("utf-8")
        except UnicodeDecodeError:
            return f"it is not {expected}: it is not UTF-8 text"
        return None
    signatures = _SIGNATURES.get(content_type)
    if signatures is None:
        return f"{content_type} files are not accepted"
    if any(content.startswith(signature) for signature in signatures):
        return None
    actual = sniffed_type(content)
    found = TYPE_NAMES.get(actual, "something else") if actual else "something else"
    return f"it was declared as {expected} but its content is {found}"


def sniffed_type(content: bytes) -> str | None:
    """The accepted type ``content``'s first bytes show, if any (text is never guessed)."""
    for content_type, signatures in _SIGNATURES.items():
        if any(content.startswith(signature) for signature in signatures):
            return content_type
    return None


__all__ = ["MAX_ATTACHMENT_BYTES", "SNIFF_BYTES", "TYPE_NAMES", "content_problem", "is_text", "sniffed_type"]
