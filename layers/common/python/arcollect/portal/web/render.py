"""Jinja2 rendering (autoescaped) and the static assets the pages link to."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from arcollect.decisions import decisions_of
from arcollect.entities import DisputeReason
from arcollect.money import smallest_unit, written
from arcollect.replies import attachments_of

if TYPE_CHECKING:
    from jinja2 import Environment

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

# The portal's own assets; the Swagger UI assets are the ones Powertools ships.
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


@dataclass(frozen=True)
class Asset:
    body: str
    content_type: str
    version: str


@cache
def static_asset(name: str) -> Asset | None:
    """One of the portal's own files under static/, or None (no path tricks: a flat allow-list)."""
    allowed = {path.name: path for path in STATIC.iterdir() if path.suffix in STATIC_TYPES}
    path = allowed.get(name)
    if path is None:
        return None
    body = path.read_text(encoding="utf-8")
    version = hashlib.sha256(body.encode()).hexdigest()[:12]
    return Asset(body=body, content_type=STATIC_TYPES[path.suffix], version=version)


def money(amount: Decimal | int | str, currency: str) -> str:
    """``1,234.50 EUR``, ``150,000 JPY``: amounts are always shown with their currency, in its minor
    unit as the reminders write them (``money.written``), never summed across currencies."""
    return written(amount, currency)


def unit(currency: str) -> str:
    """``0.01 EUR``, ``1 JPY``, ``0.001 KWD``: the smallest amount of ``currency`` (its ISO 4217 minor
    unit), as the plan forms say what equal instalments are rounded to."""
    return written(smallest_unit(currency), currency)


def path_segment(value: str) -> str:
    """``value`` as one URL path segment, ``/`` included (Jinja2's ``urlencode`` keeps ``/``, which made
    invoice INV/2026/00187's page /invoices/INV/2026/00187: three segments, no such page)."""
    return quote(str(value), safe="")


AGING_LABELS = {
    "current": "Not yet due",
    "d1_30": "1 to 30 days late",
    "d31_60": "31 to 60 days late",
    "d61_90": "61 to 90 days late",
    "d91_plus": "More than 90 days late",
}
REASON_LABELS = {
    DisputeReason.NOT_RECEIVED: "Goods or services not received",
    DisputeReason.DAMAGED: "Damaged or defective",
    DisputeReason.WRONG_AMOUNT: "Wrong amount or price",
    DisputeReason.WRONG_QUANTITY: "Wrong quantity",
    DisputeReason.DUPLICATE: "Duplicate invoice",
    DisputeReason.ALREADY_PAID: "Already paid",
    DisputeReason.NO_PO: "Missing or wrong purchase order number",
    DisputeReason.OTHER: "Something else",
}
STATUS_LABELS = {
    "overdue": "Overdue",
    "due": "Due",
    "disputed": "In dispute",
    "promised": "Payment promised",
    "plan": "In a payment plan",
    "credit": "Credit",
    "agency": "With a collection agency",
}


@cache
def environment() -> Environment:
    """The pages' Jinja2 environment, made (and Jinja2 imported) for the first page rendered: API calls
    and redirects never pay for it."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"], default_for_string=True, default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = money
    env.filters["unit"] = unit
    env.filters["segment"] = path_segment
    env.globals["AGING_LABELS"] = AGING_LABELS
    env.globals["STATUS_LABELS"] = STATUS_LABELS
    # A sweep's decisions entry lists each decision with its reason (arcollect/decisions.py).
    env.filters["decisions"] = decisions_of
    # A filed reply lists its attachments (arcollect/replies.py); the 360 links each.
    env.filters["reply_attachments"] = attachments_of
    return env


def render(template: str, context: Mapping[str, Any]) -> str:
    """The template rendered with ``context`` plus ``static(name)`` for versioned asset URLs."""
    base = str(context.get("base", ""))

    def static(name: str) -> str:
        asset = static_asset(name)
        suffix = f"?v={asset.version}" if asset else ""
        return f"{base}/static/{name}{suffix}"

    return environment().get_template(template).render({**context, "static": static})
