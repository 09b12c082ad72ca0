"""What a command prints: progress lines on standard error, and its result (JSON with ``--json``, else
text) on standard output."""

from __future__ import annotations

import json
import sys
from typing import Any


def progress(message: str) -> None:
    print(f"arcollect: {message}", file=sys.stderr, flush=True)


def emit(document: Any, as_json: bool, text: str) -> None:
    print(json.dumps(document, indent=2, default=str) if as_json else text)
