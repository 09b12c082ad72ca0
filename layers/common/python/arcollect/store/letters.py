"""The letters handed to a print-and-mail service: ``outgoing/letters/<day>/<letter id>.pdf`` and its
manifest ``<letter id>.json`` beside it, in the drop bucket (the change feed's bucket: what leaves
arcollect for another system leaves through ``outgoing/``).

The manifest is written last: a letter is handed over when its manifest exists, so the service reads
manifests only, and a PDF without one (a run that failed between the two) is never printed. Both keys
follow from the letter id and its day, so writing a letter again writes the same objects.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from arcollect.contract import DropPrefix
from arcollect.store.errors import ObjectMissing
from arcollect.store.objects import ObjectStore

LETTERS_PREFIX = DropPrefix.LETTERS
PDF_CONTENT_TYPE = "application/pdf"
MANIFEST_CONTENT_TYPE = "application/json"


def letter_key(day: date, letter_id: str) -> str:
    """Where a letter's PDF is written (its manifest: the same key ending in ``.json``)."""
    return f"{LETTERS_PREFIX}{day.isoformat()}/{letter_id}.pdf"


def manifest_key(day: date, letter_id: str) -> str:
    return f"{LETTERS_PREFIX}{day.isoformat()}/{letter_id}.json"


class LetterObjects:
    """Writes and reads the letters in the drop bucket (see the module docstring)."""

    def __init__(self, bucket: str, client: Any | None = None) -> None:
        self.bucket = bucket
        self._objects = ObjectStore(client)

    def post(self, day: date, letter_id: str, pdf: bytes, manifest: dict[str, Any]) -> str:
        """Write the PDF, then its manifest (the hand-over); returns the PDF's key. Raises the store's
        errors: the caller frees the letter's touches, and a later run writes it again."""
        key = letter_key(day, letter_id)
        self._objects.put_bytes(self.bucket, key, pdf, PDF_CONTENT_TYPE)
        body = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False).encode()
        self._objects.put_bytes(self.bucket, manifest_key(day, letter_id), body, MANIFEST_CONTENT_TYPE)
        return key

    def posted(self, day: date, letter_id: str) -> dict[str, Any] | None:
        """The manifest of a letter handed over, or None when it was not (no manifest)."""
        try:
            text = self._objects.read_text(self.bucket, manifest_key(day, letter_id))
        except ObjectMissing:
            return None
        if text is None:
            return None
        manifest: dict[str, Any] = json.loads(text)
        return manifest
