"""Secrets Manager: the portal link-signing key, with the key it replaced while a rotation lasts.

The secret holds the key as it is (as the stack created it), or, once rotated (`arcollect
rotate-link-key`), JSON: ``{"current": ..., "previous": ..., "previous_until": ISO 8601}``. Links are
signed with the current key; a link signed with the previous one still opens until ``previous_until``
(when the last link emailed under it expires), so a rotation breaks no link in anyone's inbox.

Read at most every ``REFRESH_SECONDS`` per process: a warm function sees a rotation within minutes
and, meanwhile, still opens the links signed with the new key's predecessor it knows.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from arcollect.clock import format_instant, parse_instant
from arcollect.store.errors import StoreError, StoreUnavailable

REFRESH_SECONDS: Final = 300.0


@dataclass(frozen=True)
class LinkKeys:
    """The key links are signed with, and the previous one with the instant it stops opening links."""

    current: bytes
    previous: bytes | None = None
    previous_until: datetime | None = None

    def verifying(self, now: datetime) -> tuple[bytes, ...]:
        """The keys a link may be signed with at ``now``: the current one first."""
        still = self.previous is not None and self.previous_until is not None and now < self.previous_until
        return (self.current, self.previous) if still and self.previous else (self.current,)


def parse_link_keys(value: str) -> LinkKeys:
    """The secret's value: a key as it is, or the JSON a rotation writes."""
    try:
        found: Any = json.loads(value)
    except ValueError:
        found = None
    if not isinstance(found, dict) or "current" not in found:
        return LinkKeys(value.encode())
    until = found.get("previous_until")
    return LinkKeys(
        str(found["current"]).encode(),
        str(found["previous"]).encode() if found.get("previous") else None,
        parse_instant(str(until), what="previous_until") if until else None,
    )


_cache: dict[str, tuple[float, LinkKeys]] = {}
_lock = threading.Lock()


def link_keys(secret_arn: str) -> LinkKeys:
    """The link keys, read again once ``REFRESH_SECONDS`` have passed."""
    with _lock:
        cached = _cache.get(secret_arn)
        if cached is not None and time.monotonic() - cached[0] < REFRESH_SECONDS:
            return cached[1]
    keys = parse_link_keys(_read(secret_arn))
    with _lock:
        _cache[secret_arn] = (time.monotonic(), keys)
    return keys


def forget_link_keys() -> None:
    """Read the keys afresh at the next use (a new account's secret under the same name: the tests')."""
    with _lock:
        _cache.clear()


def link_signing_key(secret_arn: str) -> bytes:
    """The key new links are signed with."""
    return link_keys(secret_arn).current


def rotate_link_key(secret_arn: str, *, now: datetime, link_days: int) -> LinkKeys:
    """A new signing key; the one it replaces keeps opening links for ``link_days`` (the life of a link
    signed just before). Rotating again within that time ends the oldest key's grace early."""
    before = parse_link_keys(_read(secret_arn))
    rotated = LinkKeys(secrets.token_urlsafe(48).encode(), before.current, now + timedelta(days=link_days))
    document = {
        "current": rotated.current.decode(),
        "previous": before.current.decode(),
        "previous_until": format_instant(rotated.previous_until or now),
    }
    try:
        boto3.client("secretsmanager").put_secret_value(
            SecretId=secret_arn, SecretString=json.dumps(document)
        )
    except ClientError as error:
        raise StoreError(f"writing the link-signing key {secret_arn}: {error}") from error
    except BotoCoreError as error:
        raise StoreUnavailable(f"writing the link-signing key: {error}") from error
    with _lock:
        _cache.pop(secret_arn, None)
    return rotated


def _read(secret_arn: str) -> str:
    try:
        value = boto3.client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"]
    except ClientError as error:
        raise StoreError(f"reading the link-signing key {secret_arn}: {error}") from error
    except BotoCoreError as error:
        raise StoreUnavailable(f"reading the link-signing key: {error}") from error
    return str(value)
