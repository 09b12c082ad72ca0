"""What S3 refuses of a browser upload by presigned POST, which moto stores whatever it is sent.

S3 checks the form against its policy before it stores anything: the policy's signature (SigV4 with the
signer's secret key), its expiration, every condition (exact ``eq`` matches, ``starts-with``, and
``content-length-range`` on the file's size), and that every form field is named by a condition (except
``policy``, ``x-amz-signature``, ``file`` and ``x-ignore-*``). The local stack refuses the same with
S3's codes, so a dispute upload the portal would have refused on AWS is refused locally too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class S3Refusal:
    code: str
    message: str
    status: int


def _denied(why: str) -> S3Refusal:
    return S3Refusal("AccessDenied", f"Invalid according to Policy: {why}", 403)


_UNSIGNED = {"policy", "x-amz-signature", "file"}


def _signing_key(secret: str, day: str, region: str, service: str) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def post_refusal(
    form: Mapping[str, str], size: int, *, bucket: str, now: datetime, secrets: Mapping[str, str]
) -> S3Refusal | None:
    """Why S3 would refuse this presigned POST (``form``: its fields by name, ``size``: the file's
    bytes), or None when it would store it. ``secrets`` maps access key ids to their secret keys."""
    fields = {name.lower(): value for name, value in form.items()}
    encoded = fields.get("policy")
    if not encoded:
        # An anonymous POST: only a public-write bucket takes it, and ours block public access.
        return S3Refusal("AccessDenied", "Access Denied", 403)
    credential = fields.get("x-amz-credential", "")
    parts = credential.split("/")
    if len(parts) != 5 or fields.get("x-amz-algorithm") != "AWS4-HMAC-SHA256":
        return S3Refusal("InvalidArgument", "POST requires a valid x-amz-credential and x-amz-algorithm", 400)
    access_key, day, region, service, _ = parts
    secret = secrets.get(access_key)
    if secret is None:
        return S3Refusal(
            "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.", 403
        )
    expected = hmac.new(
        _signing_key(secret, day, region, service), encoded.encode(), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected, fields.get("x-amz-signature", "")):
        return S3Refusal(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.",
            403,
        )
    try:
        policy: dict[str, Any] = json.loads(base64.b64decode(encoded))
        expiration = datetime.fromisoformat(str(policy["expiration"]).replace("Z", "+00:00"))
        conditions: list[Any] = list(policy["conditions"])
    except (ValueError, KeyError, TypeError):
        return _denied("Policy could not be parsed.")
    if now >= expiration:
        return _denied("Policy expired.")
    values = {**fields, "bucket": bucket}
    named: set[str] = set()
    for condition in conditions:
        if isinstance(condition, dict):
            for name, value in condition.items():
                named.add(name.lower())
                if values.get(name.lower()) != value:
                    return _denied(f'Policy Condition failed: ["eq", "${name}", "{value}"]')
            continue
        operator, name, value = (str(condition[0]).lower(), condition[1], condition[2])
        if operator == "content-length-range":
            if size > int(value):
                return S3Refusal(
                    "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", 400
                )
            if size < int(name):
                return S3Refusal(
                    "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size", 400
                )
            continue
        field = str(name).lstrip("$").lower()
        named.add(field)
        actual = values.get(field, "")
        if operator == "eq" and actual != value:
            return _denied(f'Policy Condition failed: ["eq", "{name}", "{value}"]')
        if operator == "starts-with" and not actual.startswith(str(value)):
            return _denied(f'Policy Condition failed: ["starts-with", "{name}", "{value}"]')
    extra = sorted(
        name
        for name in fields
        if name not in named and name not in _UNSIGNED and not name.startswith("x-ignore-")
    )
    if extra:
        return _denied(f"Extra input fields: {', '.join(extra)}")
    return None


__all__ = ["S3Refusal", "post_refusal"]
