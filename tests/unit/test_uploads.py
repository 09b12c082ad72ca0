"""The attachment check by content, and the S3 presigned-POST rules the local emulator enforces."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest

from arcollect.portal.uploads import content_problem
from arcollect_cli.local.s3post import post_refusal


@pytest.mark.parametrize(
    ("content_type", "content", "problem"),
    [
        ("application/pdf", b"%PDF-1.4\n", None),
        ("application/pdf", b"\x89PNG\r\n\x1a\n", "its content is a PNG image"),
        ("application/pdf", b"<html><body>", "its content is something else"),
        ("image/png", b"\x89PNG\r\n\x1a\n\x00", None),
        ("image/jpeg", b"\xff\xd8\xff\xe0", None),
        ("image/jpeg", b"%PDF-1.4", "its content is a PDF"),
        ("text/plain", "Grüße, 3 pallets\n".encode(), None),
        ("text/plain", b"abc\x00def", "binary data"),
        ("text/plain", b"\xff\xfe\xfd", "not UTF-8"),
        ("application/pdf", b"", "empty"),
    ],
)
def test_the_type_is_checked_by_content(content_type: str, content: bytes, problem: str | None) -> None:
    found = content_problem(content_type, content)
    assert found is None if problem is None else (found is not None and problem in found)


NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def signed_form(conditions: list[object], expires: datetime = NOW + timedelta(minutes=15)) -> dict[str, str]:
    fields = {
        "key": "attachments/pending/C1/D1/po.pdf",
        "Content-Type": "application/pdf",
        "x-amz-algorithm": "AWS4-HMAC-SHA256",
        "x-amz-credential": "local/20261124/us-east-1/s3/aws4_request",
        "x-amz-date": "20261124T090000Z",
    }
    policy = {
        "expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "conditions": [
            {"bucket": "drop"},
            *conditions,
            *({k: v} for k, v in fields.items() if k.startswith("x-")),
        ],
    }
    encoded = base64.b64encode(json.dumps(policy).encode()).decode()
    key = b"AWS4local"
    for part in ("20261124", "us-east-1", "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, encoded.encode(), hashlib.sha256).hexdigest()
    return {**fields, "policy": encoded, "x-amz-signature": signature}


CONDITIONS: list[object] = [
    {"key": "attachments/pending/C1/D1/po.pdf"},
    {"Content-Type": "application/pdf"},
    ["content-length-range", 1, 100],
]


def refusal(form: dict[str, str], size: int = 50, now: datetime = NOW) -> tuple[str, str] | None:
    found = post_refusal(form, size, bucket="drop", now=now, secrets={"local": "local"})
    return (found.code, found.message) if found else None


def test_a_post_within_its_policy_is_stored() -> None:
    assert refusal(signed_form(CONDITIONS)) is None


def test_s3_refuses_what_breaks_the_policy() -> None:
    form = signed_form(CONDITIONS)
    assert refusal(form, size=101) == (
        "EntityTooLarge",
        "Your proposed upload exceeds the maximum allowed size",
    )
    assert refusal(form, size=0)[0] == "EntityTooSmall"  # type: ignore[index]
    assert refusal(form, now=NOW + timedelta(minutes=16)) == (
        "AccessDenied",
        "Invalid according to Policy: Policy expired.",
    )
    assert refusal({**form, "Content-Type": "text/html"}) == (
        "AccessDenied",
        'Invalid according to Policy: Policy Condition failed: ["eq", "$Content-Type", "application/pdf"]',
    )
    assert refusal({**form, "acl": "public-read"}) == (
        "AccessDenied",
        "Invalid according to Policy: Extra input fields: acl",
    )
    assert refusal({**form, "x-amz-signature": "0" * 64})[0] == "SignatureDoesNotMatch"  # type: ignore[index]
    assert refusal({k: v for k, v in form.items() if k != "policy"})[0] == "AccessDenied"  # type: ignore[index]
    other_key = {**form, "x-amz-credential": form["x-amz-credential"].replace("local", "nobody", 1)}
    assert refusal(other_key)[0] == "InvalidAccessKeyId"  # type: ignore[index]
