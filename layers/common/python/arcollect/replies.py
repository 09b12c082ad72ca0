"""Reply addresses: each reminder says "reply to ``reply+<token>@<inbound domain>``", and the token finds
the customer and the touch the customer answered (the inbox threads the reply by it, ``arcollect.inbox``).

The token is random (120 bits, ``secrets``), never derived from the customer id or the touch: a customer
cannot guess another's address, nor file a message into someone else's timeline. It maps to the customer
and the touch through an item written before the reminder is sent (``store/inbox.py``). A message's
Message-ID (ours, or the one SES puts in its place) is the other way to thread a reply; ``thread_key``
is how both sides spell it."""

from __future__ import annotations

import base64
import json
import re
import secrets
from collections.abc import Mapping
from typing import Final

# The timeline entries a received reply is filed as (arcollect/inbox/filing.py), which the 360 shows
# with their flags and attachments.
KIND_REPLY: Final = "reply_received"
KIND_AUTO_REPLY: Final = "auto_reply_received"
KIND_UNREADABLE: Final = "reply_unreadable"
REPLY_KINDS: Final = (KIND_REPLY, KIND_AUTO_REPLY, KIND_UNREADABLE)

# The local part before the token: plus-addressing, so a mailbox that ignores ``+...`` still works.
REPLY_PREFIX: Final = "reply+"
# 15 random bytes: 24 base32 characters, 120 bits. With the prefix the local part is 30 octets, well
# inside the 64 octets RFC 5321 (section 4.5.3.1.1) allows a local part. Lower case only: some mail
# servers change the case of a local part, and base32 has no two letters that differ only by case.
TOKEN_BYTES: Final = 15
MAX_LOCAL_PART: Final = 64
_TOKEN = re.compile(r"^[a-z2-7]{24}$")
_LOCAL_PART = REPLY_PREFIX.rstrip("+")


def new_token() -> str:
    """A fresh, unguessable reply token."""
    return base64.b32encode(secrets.token_bytes(TOKEN_BYTES)).decode("ascii").lower().rstrip("=")


def reply_address(token: str, domain: str) -> str:
    """The reply address of ``token`` on the inbound domain (``reply+<token>@<domain>``)."""
    if not _TOKEN.match(token):
        raise ValueError(f"reply token {token!r} is not 24 base32 characters")
    local = f"{REPLY_PREFIX}{token}"
    if len(local.encode()) > MAX_LOCAL_PART:  # pragma: no cover - a constant's guard
        raise ValueError(f"reply address local part {local!r} is longer than {MAX_LOCAL_PART} octets")
    return f"{local}@{domain.strip().lower()}"


def token_of(address: str, domain: str | None = None) -> str | None:
    """The token of a reply address (on ``domain``, when one is given), else None: any other address,
    a token of the wrong shape, another domain."""
    local, at, host = address.strip().strip("<>").rpartition("@")
    if not at:
        return None
    if domain and host.lower() != domain.strip().lower():
        return None
    name, plus, token = local.lower().partition("+")
    if not plus or name != _LOCAL_PART:
        return None
    return token if _TOKEN.match(token) else None


def thread_key(message_id: str) -> str | None:
    """How a Message-ID is looked up: its left part, lower case (``<abc.123@x.example>`` -> ``abc.123``).
    SES replaces the Message-ID of what it sends by ``<SES message id>@<region>.amazonses.com``, so a
    reply's In-Reply-To names SES's id, whose left part is the id SendRawEmail answered; the local stack
    keeps ours. None for an empty one."""
    text = message_id.strip().strip("<>").strip()
    left = text.rpartition("@")[0] if "@" in text else text
    left = left.strip().lower()
    return left[:200] or None


def message_ids(header: str | None) -> list[str]:
    """The message ids of an In-Reply-To or References header, in order (``<a@b> <c@d>``)."""
    if not header:
        return []
    found = re.findall(r"<([^<>\s]+)>", header)
    return found or [part for part in header.split() if "@" in part]


def attachments_of(detail: Mapping[str, str]) -> list[dict[str, str]]:
    """The attachments a filed reply lists (``name``, ``key``, ``type``, ``size``), in order; none for
    any other entry, or a list that cannot be read."""
    try:
        found = json.loads(detail.get("attachments") or "[]")
    except ValueError:
        return []
    if not isinstance(found, list):
        return []
    return [
        {k: str(a.get(k, "")) for k in ("name", "key", "type", "size")}
        for a in found
        if isinstance(a, dict) and a.get("key")
    ]
