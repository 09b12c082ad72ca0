"""Signed, expiring, customer-scoped portal links.

A link token is ``<payload>.<signature>``: the payload is base64url JSON naming the customer (``c``),
the expiry (``e``, whole seconds) and the instant it was issued (``t``, milliseconds): revocation
compares it with the customer's ``links_valid_from``, stored to the millisecond too, and a link issued
in the same millisecond as the revocation is revoked (it fails closed). Tokens from before ``t`` carry
whole seconds (``i``) and count as issued at the start of that second; tokens older still, with neither,
count as issued at the epoch, so any revocation ends them. The signature is HMAC-SHA256 over the
payload with the key kept in Secrets Manager. Nothing in the token is secret, but nothing in it can be
changed without the key.

Whole seconds were not enough: a revocation stored to the second could not tell a link issued a moment
before it, in the same second, from one issued after it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

DEFAULT_LINK_DAYS = 30
LINK_PATH = "l/"


class LinkInvalid(ValueError):
    """The token was not made with our key, or was changed after it was made."""


class LinkExpired(ValueError):
    """The token is genuine but past its expiry."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(key: bytes, payload: str) -> str:
    return _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())


@dataclass(frozen=True)
class LinkClaims:
    """What a genuine, unexpired token says."""

    customer_id: str
    issued_at: datetime  # to the millisecond (older tokens: the start of their second, or the epoch)
    expires_at: datetime

    def revoked_by(self, valid_from: datetime | None) -> bool:
        """True when the customer's links were revoked at ``valid_from`` and this one was issued before,
        or in the same millisecond (it fails closed)."""
        if valid_from is None:
            return False
        return _milliseconds(self.issued_at) <= _milliseconds(valid_from)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


def _milliseconds(at: datetime) -> int:
    """Milliseconds since the epoch, in integers (no float rounding at the millisecond's edge)."""
    return (at - _EPOCH) // _MILLISECOND


def sign_token(customer_id: str, *, key: bytes, now: datetime, days: int = DEFAULT_LINK_DAYS) -> str:
    if days <= 0:
        raise ValueError("a link must live at least one day")
    expires = int((now + timedelta(days=days)).timestamp())
    claims = {"c": customer_id, "e": expires, "t": _milliseconds(now)}
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    return f"{payload}.{_signature(key, payload)}"


def read_token(token: str, *, key: bytes, now: datetime, also: Sequence[bytes] = ()) -> LinkClaims:
    """The claims of a genuine, unexpired token; raises LinkInvalid or LinkExpired. ``also``: keys a
    genuine token may be signed with besides ``key`` (the one a rotation replaced, while it lasts)."""
    payload, _, signature = token.strip().partition(".")
    # Compared as UTF-8 bytes: ``compare_digest`` raises on a str with non-ASCII characters, and a
    # link typed or mangled with one must be refused (403), not crash the page (500).
    given = signature.encode()
    genuine = any(hmac.compare_digest(given, _signature(k, payload).encode()) for k in (key, *also))
    if not payload or not signature or not genuine:
        raise LinkInvalid("this link is not valid")
    try:
        claims = json.loads(_unb64(payload))
        customer_id, expires = str(claims["c"]), int(claims["e"])
        # An older token has whole seconds, read as the first millisecond (a revocation in that second
        # ends it: it fails closed); one older still has no issue time at all.
        issued_ms = int(claims["t"]) if "t" in claims else int(claims.get("i", 0)) * 1000
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise LinkInvalid("this link is not valid") from error
    if now.timestamp() >= expires:
        raise LinkExpired("this link has expired")
    return LinkClaims(
        customer_id=customer_id,
        issued_at=_EPOCH + issued_ms * _MILLISECOND,
        expires_at=datetime.fromtimestamp(expires, UTC),
    )


def verify_token(token: str, *, key: bytes, now: datetime) -> str:
    """The customer id the token grants access to; raises LinkInvalid or LinkExpired. (Revocation needs
    the customer's ``links_valid_from``: ``Portal.open_link`` checks it with ``read_token``.)"""
    return read_token(token, key=key, now=now).customer_id


def portal_link(
    base_url: str, customer_id: str, *, key: bytes, now: datetime, days: int = DEFAULT_LINK_DAYS
) -> str:
    """The full link a reminder carries."""
    return f"{base_url.rstrip('/')}/{LINK_PATH}{sign_token(customer_id, key=key, now=now, days=days)}"
