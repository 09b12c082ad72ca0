"""Portal links (signed, expiring, tamper-proof) and the local API Gateway proxy event shape."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from arcollect.portal.links import LinkExpired, LinkInvalid, portal_link, read_token, sign_token, verify_token
from arcollect.store.secrets import LinkKeys, parse_link_keys
from arcollect_cli.local.apigateway import proxy_event, response_parts

KEY = b"k" * 48
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_a_link_grants_its_customer_until_it_expires() -> None:
    token = sign_token("C-1", key=KEY, now=NOW, days=30)
    assert verify_token(token, key=KEY, now=NOW + timedelta(days=29)) == "C-1"
    with pytest.raises(LinkExpired):
        verify_token(token, key=KEY, now=NOW + timedelta(days=30))


def test_a_changed_customer_or_another_key_is_refused() -> None:
    token = sign_token("C-1", key=KEY, now=NOW)
    payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged_payload = (
        base64.urlsafe_b64encode(json.dumps({**claims, "c": "C-2"}).encode()).rstrip(b"=").decode()
    )
    non_ascii = [token[:-1] + "é", f"{payload}.{signature[:-1]}\u00a0", f"é{payload}.{signature}"]
    for bad in (f"{forged_payload}.{signature}", token[:-2] + "xx", "garbage", "", "a.b", *non_ascii):
        with pytest.raises(LinkInvalid):
            verify_token(bad, key=KEY, now=NOW)
    with pytest.raises(LinkInvalid):
        verify_token(token, key=b"another key", now=NOW)


def test_portal_link_joins_the_base_url_and_token() -> None:
    link = portal_link("https://pay.example.com/", "C-1", key=KEY, now=NOW)
    assert link.startswith("https://pay.example.com/l/")
    assert verify_token(link.rsplit("/", 1)[1], key=KEY, now=NOW) == "C-1"


def test_a_request_becomes_an_api_gateway_proxy_event() -> None:
    event = proxy_event(
        "POST",
        "/api/v1/promises?x=1&x=2",
        [("Content-Type", "application/json"), ("Cookie", "a=1")],
        b'{"a": 1}',
        "127.0.0.1",
    )
    assert event["path"] == "/api/v1/promises"
    assert event["resource"] == "/{proxy+}"
    assert event["pathParameters"] == {"proxy": "api/v1/promises"}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"]}
    assert event["queryStringParameters"] == {"x": "2"}
    assert event["body"] == '{"a": 1}' and event["isBase64Encoded"] is False
    assert event["requestContext"]["path"] == "/live/api/v1/promises"
    binary = proxy_event("PUT", "/upload", [("Content-Type", "application/pdf")], b"%PDF\x00", "127.0.0.1")
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == b"%PDF\x00"


def test_a_proxy_response_becomes_status_headers_and_bytes() -> None:
    status, headers, body = response_parts(
        {
            "statusCode": 302,
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "headers": {"Location": "/x"},
            "body": base64.b64encode(b"\x00\x01").decode(),
            "isBase64Encoded": True,
        }
    )
    assert status == 302
    assert headers == [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("Location", "/x")]
    assert body == b"\x00\x01"


def test_the_secret_holds_a_key_as_it_is_or_a_rotation_with_the_previous_one() -> None:
    assert parse_link_keys("plain-key") == LinkKeys(b"plain-key")
    rotated = parse_link_keys(
        json.dumps({"current": "new", "previous": "old", "previous_until": "2026-12-23T09:00:00Z"})
    )
    assert rotated.verifying(NOW) == (b"new", b"old")
    assert rotated.verifying(datetime(2026, 12, 23, 9, tzinfo=UTC)) == (b"new",)


def test_a_link_signed_with_the_previous_key_opens_only_when_that_key_is_given() -> None:
    token = sign_token("C-1", key=b"old" * 16, now=NOW)
    with pytest.raises(LinkInvalid):
        read_token(token, key=KEY, now=NOW)
    assert read_token(token, key=KEY, now=NOW, also=(b"old" * 16,)).customer_id == "C-1"
