"""Signed, expiring, customer-scoped portal links.

A link token is ``<payload>.<signature>``: the payload is base64url JSON naming the customer and the
expiry; the signature is HMAC-SHA256 over the payload with the key kept in Secrets Manager. Nothing in
the token is secret, but nothing in it can be changed without the key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta

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


def sign_token(customer_id: str, *, key: bytes, now: datetime, days: int = DEFAULT_LINK_DAYS) -> str:
    expires = int((now + timedelta(days=days)).timestamp())
    payload = _b64(json.dumps({"c": customer_id, "e": expires}, separators=(",", ":")).encode())
    return f"{payload}.{_signature(key, payload)}"


def verify_token(token: str, *, key: bytes, now: datetime) -> str:
    """The customer id the token grants access to; raises LinkInvalid or LinkExpired."""
    payload, _, signature = token.partition(".")
    if not payload or not signature or not hmac.compare_digest(signature, _signature(key, payload)):
        raise LinkInvalid("this link is not valid")
    try:
        claims = json.loads(_unb64(payload))
        customer_id, expires = str(claims["c"]), int(claims["e"])
    except (ValueError, KeyError, TypeError) as error:
        raise LinkInvalid("this link is not valid") from error
    if now.timestamp() >= expires:
        raise LinkExpired("this link has expired")
    return customer_id


def portal_link(
    base_url: str, customer_id: str, *, key: bytes, now: datetime, days: int = DEFAULT_LINK_DAYS
) -> str:
    """The full link a reminder carries."""
    return f"{base_url.rstrip('/')}/{LINK_PATH}{sign_token(customer_id, key=key, now=now, days=days)}"
