"""The languages arcollect writes to customers in, and which of them a customer's ``language`` means.

One list for every feature: the reminders (emails, letters and texts, ``dunning/``) are written in these
languages, and the portal's contact form offers exactly these and takes nothing else, so it never
offers a language the reminders cannot be written in nor refuses one they are. A language added here
needs its words in ``dunning/templates/wording.yaml`` (checked on load) and in ``sms.py``.

A customer's ``language`` is kept as the ERP wrote it (``de-DE``, ``FR``, ``pt``): ingest takes any
code. It means its base language when that is one of these, else the first (English).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# The first is the fallback for any other language.
LANGUAGES: tuple[str, ...] = ("en", "de", "fr")
# Each language by its own name, as a customer looks for it in a list.
LANGUAGE_NAMES: Mapping[str, str] = {"en": "English", "de": "Deutsch", "fr": "Français"}


def base_language(code: str | None) -> str:
    """The language part of a code, lower case: ``de-DE`` -> ``de``, ``FR`` -> ``fr``,
    ``de_AT.UTF-8`` -> ``de``; "" for none."""
    return re.split(r"[-_.@\s]", (code or "").strip(), maxsplit=1)[0].lower()


def written_language(code: str | None) -> str:
    """The language we write in to a customer whose ``language`` is ``code``: its base language when we
    have it, else the first (``de-DE`` -> ``de``, ``pt`` -> ``en``, none -> ``en``)."""
    base = base_language(code)
    return base if base in LANGUAGES else LANGUAGES[0]
