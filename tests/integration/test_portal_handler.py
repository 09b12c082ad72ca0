"""Portal: the API Gateway proxy event in, an HTML or JSON response with security headers out -- the
real handler and the real Portal, against moto."""

from __future__ import annotations

import html
import json
import os
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest

from arcollect.entities import Activity
from arcollect.languages import LANGUAGES
from arcollect.portal.links import sign_token
from arcollect.store.portal import PortalStore
from arcollect.store.repositories import Customers
from arcollect.store.secrets import link_signing_key, rotate_link_key
from tests.integration.conftest import invoke, load_event
from tests.integration.dunning_world import World

HOST = "portal.example.com"
# The secret the integration fixture stores under LINK_SECRET_ARN.
LINK_KEY = b"integration-test-link-key"


def request(
    method: str,
    path: str,
    *,
    cookie: str | None = None,
    headers: dict[str, str] | None = None,
    body: str | None = None,
) -> dict[str, Any]:
    event = load_event("apigw_get.json")
    event["httpMethod"] = method
    event["path"] = path
    event["pathParameters"] = {"proxy": path.lstrip("/")}
    event["requestContext"]["path"] = f"/live{path}"
    event["requestContext"]["httpMethod"] = method
    all_headers = {**event["headers"], "Host": HOST, **(headers or {})}
    if cookie:
        all_headers["Cookie"] = f"arc_session={cookie}"
    event["headers"] = all_headers
    event["multiValueHeaders"] = {name: [value] for name, value in all_headers.items()}
    event["body"] = body
    return dict(invoke("portal", event))


def get(path: str, **kw: Any) -> dict[str, Any]:
    return request("GET", path, **kw)


def open_link(token: str, **kw: Any) -> dict[str, Any]:
    """What the landing page's "Open my account" button sends: the token as a form POST to /l."""
    headers = {"Content-Type": "application/x-www-form-urlencoded", **kw.pop("headers", {})}
    return request("POST", "/l", body=urlencode({"token": token}), headers=headers, **kw)


def headers_of(response: dict[str, Any]) -> dict[str, list[str]]:
    headers = response["multiValueHeaders"]
    assert isinstance(headers, dict)
    return headers


def request_time() -> datetime:
    epoch_ms = load_event("apigw_get.json")["requestContext"]["requestTimeEpoch"]
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)


def test_health_answers_ok() -> None:
    response = get("/health")
    assert response["statusCode"] == 200
    assert json.loads(str(response["body"])) == {"status": "ok", "environment": "test"}


def test_an_unknown_path_gets_a_404_page() -> None:
    response = get("/no/such/page")
    assert response["statusCode"] == 404
    assert headers_of(response)["Content-Type"] == ["text/html"]
    assert "Page not found" in str(response["body"])
    assert "/no/such/page" in str(response["body"])


def test_every_response_carries_the_security_headers() -> None:
    for path in ("/health", "/", "/missing", "/link", "/account", "/api/v1/account", "/static/portal.css"):
        headers = headers_of(get(path))
        assert headers["X-Content-Type-Options"] == ["nosniff"], path
        assert headers["Referrer-Policy"] == ["no-referrer"]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"][0]
        assert headers["Strict-Transport-Security"][0].startswith("max-age=")


def test_a_path_is_escaped_in_the_404_page() -> None:
    body = str(get("/<script>alert(1)</script>")["body"])
    assert "<script>alert" not in body
    assert "&lt;script&gt;" in body


def test_without_a_session_pages_redirect_and_the_api_says_401() -> None:
    page = get("/account")
    assert page["statusCode"] == 303
    assert headers_of(page)["Location"] == ["/link?reason=ended"]
    api = get("/api/v1/account")
    assert api["statusCode"] == 401
    assert "message" in json.loads(str(api["body"]))["error"]


def test_the_static_files_and_the_openapi_document_are_served() -> None:
    css = get("/static/portal.css")
    assert css["statusCode"] == 200
    assert "immutable" in headers_of(css)["Cache-Control"][0]
    document = json.loads(str(get("/api/v1/openapi.json")["body"]))
    assert "/api/v1/invoices/{number}" in document["paths"]
    assert get("/api/v1/docs")["statusCode"] == 200


def test_a_forged_link_gets_a_403_page_with_the_fresh_link_form(aws: None) -> None:
    response = get("/l/not.a-real-token")
    assert response["statusCode"] == 403
    assert 'action="/link"' in str(response["body"])
    assert "Set-Cookie" not in headers_of(response)


@pytest.mark.parametrize("tail", ["é", "%C3%A9", "ß"])
def test_a_link_with_a_non_ascii_signature_gets_a_403_not_a_500(aws: None, tail: str) -> None:
    World().customer("C-1")
    token = sign_token("C-1", key=LINK_KEY, now=request_time())
    response = get(f"/l/{token[:-1]}{tail}")
    assert response["statusCode"] == 403
    assert "Set-Cookie" not in headers_of(response)


def test_an_expired_link_gets_a_410_page(aws: None) -> None:
    World().customer("C-1")
    token = sign_token(
        "C-1",
        key=LINK_KEY,
        now=request_time() - timedelta(days=60),
        days=30,
    )
    response = get(f"/l/{token}")
    assert response["statusCode"] == 410
    assert "expired" in str(response["body"])


def test_a_genuine_link_opens_a_session_for_the_pages_and_the_api(aws: None) -> None:
    world = World()
    world.customer("C-1", name="Acme Trading")
    world.invoice("INV-77", invoice_date=date(2026, 10, 1), due_date=date(2026, 10, 31), amount="120.00")
    token = sign_token("C-1", key=LINK_KEY, now=request_time() - timedelta(days=1))
    opened = open_link(token)
    assert opened["statusCode"] == 303
    assert headers_of(opened)["Location"] == ["/account"]
    cookie = headers_of(opened)["Set-Cookie"][0]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Lax" in cookie
    match = re.match(r"arc_session=([^;]+);", cookie)
    assert match
    session_id = match.group(1)

    account = get("/account", cookie=session_id)
    assert account["statusCode"] == 200
    assert "INV-77" in str(account["body"]) and "Acme Trading" in str(account["body"])

    api = json.loads(str(get("/api/v1/account", cookie=session_id)["body"]))
    assert api["customer"]["customer_id"] == "C-1"
    refused = request("POST", "/logout", cookie=session_id, body="csrf_token=wrong")
    assert refused["statusCode"] == 403
    logout = request("POST", "/logout", cookie=session_id, body=f"csrf_token={api['csrf_token']}")
    assert logout["statusCode"] == 303
    assert get("/account", cookie=session_id)["statusCode"] == 303


def table_items() -> list[dict[str, Any]]:
    table = boto3.client("dynamodb")
    pages = table.get_paginator("scan").paginate(TableName=os.environ["TABLE_NAME"], ConsistentRead=True)
    return sorted((item for page in pages for item in page["Items"]), key=json.dumps)


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_following_a_link_only_shows_the_landing_page_and_writes_nothing(aws: None, method: str) -> None:
    # Given a customer and a genuine emailed link
    World().customer("C-1")
    token = sign_token("C-1", key=LINK_KEY, now=request_time() - timedelta(days=1))
    before = table_items()
    # When a mail scanner (or the person) fetches the link
    landing = request(method, f"/l/{token}")
    # Then it gets the landing page with its one button, and no session, no "opened" entry, no write
    assert landing["statusCode"] == 200
    headers = headers_of(landing)
    assert "Set-Cookie" not in headers
    assert headers["Cache-Control"] == ["no-store"] and headers["Referrer-Policy"] == ["no-referrer"]
    if method == "GET":
        body = str(landing["body"])
        assert 'method="post" action="/l"' in body and f'name="token" value="{token}"' in body
        assert "Open my account" in body and "<script>" not in body
    assert table_items() == before
    assert "portal_opened" not in json.dumps(before)


def test_the_landing_page_button_opens_the_session_and_records_the_opening(aws: None) -> None:
    World().customer("C-1")
    token = sign_token("C-1", key=LINK_KEY, now=request_time() - timedelta(days=1))
    # When the person selects "Open my account" (a same-origin form POST)
    opened = open_link(token, headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"})
    # Then the session cookie is set, the account follows, and the timeline says the portal was opened
    assert opened["statusCode"] == 303 and headers_of(opened)["Location"] == ["/account"]
    assert headers_of(opened)["Set-Cookie"][0].startswith("arc_session=")
    assert sum("portal_opened" in json.dumps(item) for item in table_items()) == 1


def test_the_exchange_takes_only_a_same_site_form_post(aws: None) -> None:
    World().customer("C-1")
    token = sign_token("C-1", key=LINK_KEY, now=request_time() - timedelta(days=1))
    before = table_items()
    as_json = request(
        "POST", "/l", body=json.dumps({"token": token}), headers={"Content-Type": "application/json"}
    )
    from_elsewhere = open_link(token, headers={"Sec-Fetch-Site": "cross-site"})
    other_origin = open_link(token, headers={"Origin": "https://evil.example"})
    assert as_json["statusCode"] == 415
    assert from_elsewhere["statusCode"] == other_origin["statusCode"] == 403
    for response in (as_json, from_elsewhere, other_origin):
        assert "Set-Cookie" not in headers_of(response)
    assert table_items() == before


def test_a_revoked_link_opens_nothing_on_post_either(aws: None) -> None:
    World().customer("C-1")
    token = sign_token("C-1", key=LINK_KEY, now=request_time() - timedelta(days=1))
    # When the customer's links are revoked after this one was sent
    PortalStore().revoke_links(
        "C-1",
        request_time() - timedelta(hours=1),
        Activity(
            customer_id="C-1",
            at=request_time() - timedelta(hours=1),
            activity_id="revoke-1",
            kind="links_revoked",
            summary="Links revoked",
        ),
    )
    # Then both the landing page and the exchange refuse it
    assert get(f"/l/{token}")["statusCode"] == 403
    refused = open_link(token)
    assert refused["statusCode"] == 403 and "no longer valid" in str(refused["body"])
    assert "Set-Cookie" not in headers_of(refused)


def test_a_rotated_key_breaks_no_link_already_emailed_until_its_grace_ends(aws: None) -> None:
    World().customer("C-1")
    at = request_time()
    emailed = sign_token("C-1", key=LINK_KEY, now=at - timedelta(days=3))
    # When ops rotate the link-signing key (`arcollect rotate-link-key`)
    rotated = rotate_link_key(os.environ["LINK_SECRET_ARN"], now=at, link_days=30)
    assert rotated.current != LINK_KEY and rotated.previous == LINK_KEY
    fresh = sign_token("C-1", key=rotated.current, now=at)
    # Then the link already emailed opens, and so does one signed with the new key
    assert open_link(emailed)["statusCode"] == 303
    assert open_link(fresh)["statusCode"] == 303
    # And new links are signed with the new key
    assert link_signing_key(os.environ["LINK_SECRET_ARN"]) == rotated.current
    # When the key is rotated again with no grace (it leaked), the first key opens nothing any more
    again = rotate_link_key(os.environ["LINK_SECRET_ARN"], now=at, link_days=0)
    assert open_link(emailed)["statusCode"] == 403
    assert open_link(fresh)["statusCode"] == 403
    assert open_link(sign_token("C-1", key=again.current, now=at))["statusCode"] == 303


# --- what the forms and the API take back: languages, contact details, disputes ----------------------


def sign_in(customer_id: str = "C-1") -> tuple[str, str]:
    """A session for the customer through its emailed link: (session id, CSRF token)."""
    opened = open_link(sign_token(customer_id, key=LINK_KEY, now=request_time() - timedelta(days=1)))
    match = re.match(r"arc_session=([^;]+);", headers_of(opened)["Set-Cookie"][0])
    assert match
    account = json.loads(str(get("/api/v1/account", cookie=match.group(1))["body"]))
    return match.group(1), str(account["csrf_token"])


def post_form(path: str, session: tuple[str, str], fields: dict[str, str]) -> dict[str, Any]:
    return request(
        "POST",
        path,
        cookie=session[0],
        body=urlencode({"csrf_token": session[1], **fields}),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


def call_api(method: str, path: str, session: tuple[str, str], body: Any) -> tuple[int, Any]:
    response = request(
        method,
        path,
        cookie=session[0],
        body=json.dumps(body),
        headers={"Content-Type": "application/json", "X-CSRF-Token": session[1]},
    )
    return int(response["statusCode"]), json.loads(str(response["body"]))


def form_values(page: str) -> dict[str, str]:
    """What the browser sends for a form as shown: each input's value and each select's chosen option."""
    inputs = re.findall(r'<input [^>]*name="(\w+)" [^>]*value="([^"]*)"', page)
    values = {name: html.unescape(value) for name, value in inputs}
    for name, options in re.findall(r'<select [^>]*name="(\w+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.findall(r'<option value="([^"]*)" selected>', options)
        values[name] = chosen[0] if chosen else re.findall(r'<option value="([^"]*)"', options)[0]
    values.pop("csrf_token", None)
    return values


def offered_languages(page: str) -> list[str]:
    select = re.search(r'<select [^>]*name="language"[^>]*>(.*?)</select>', page, re.S)
    assert select
    return re.findall(r'<option value="([^"]*)"', select.group(1))


@pytest.mark.parametrize(("on_file", "shown"), [("pt", "en"), ("de-DE", "de"), ("FR", "fr"), (None, "en")])
def test_the_contact_form_sent_back_as_shown_saves_a_new_phone_and_keeps_the_language(
    aws: None, on_file: str | None, shown: str
) -> None:
    # Given a customer whose ERP wrote its language as it likes (ingest keeps it as written)
    World().customer("C-1", language=on_file, phone="+49 30 1234/56 ext. 7")
    session = sign_in()
    # When the contact page is opened
    page = str(get("/contact", cookie=session[0])["body"])
    # Then it offers exactly the languages we write reminders in, the one on file shown as we write it
    assert offered_languages(page) == list(LANGUAGES)
    sent = form_values(page)
    assert sent["language"] == shown
    # And the form sent back as shown, with only the phone changed, is saved
    saved = post_form("/contact", session, {**sent, "phone": "+49 30 123456"})
    assert saved["statusCode"] == 200 and "Your contact details are saved" in str(saved["body"])
    stored = Customers().get("C-1")
    assert stored is not None and stored.phone == "+49 30 123456"
    # And the language on file is what it was: showing it as we write it changed nothing
    assert stored.language == on_file


def test_the_contact_form_sent_back_unchanged_changes_nothing(aws: None) -> None:
    World().customer("C-1", language="de-DE", phone="+49 30 1234/56 ext. 7")
    session = sign_in()
    sent = form_values(str(get("/contact", cookie=session[0])["body"]))
    assert post_form("/contact", session, sent)["statusCode"] == 200
    stored = Customers().get("C-1")
    assert stored is not None and (stored.language, stored.phone) == ("de-DE", "+49 30 1234/56 ext. 7")
    assert "contact_updated" not in json.dumps(table_items())


def test_the_contact_form_changes_the_language_to_another_one_offered_and_refuses_the_rest(
    aws: None,
) -> None:
    World().customer("C-1", language="de-DE")
    session = sign_in()
    sent = form_values(str(get("/contact", cookie=session[0])["body"]))
    assert post_form("/contact", session, {**sent, "language": "fr"})["statusCode"] == 200
    stored = Customers().get("C-1")
    assert stored is not None and stored.language == "fr"
    refused = post_form("/contact", session, {**sent, "language": "pt"})
    assert refused["statusCode"] == 400
    assert "&#39;pt&#39; is not offered: choose one of en, de, fr" in str(refused["body"])


def test_the_api_takes_the_accounts_own_contact_details_back_and_leaves_out_what_is_left_out(
    aws: None,
) -> None:
    # Given a French customer without a phone, and one further AP address
    World().customer("C-1", language="fr", other_emails=("billing@c-1.example",))
    session = sign_in()
    _, account = call_api("GET", "/api/v1/account", session, None)
    assert account["customer"]["phone"] is None
    # When the account's own customer is sent back (phone null), or only the email
    status, body = call_api("PUT", "/api/v1/contact", session, account["customer"])
    assert status == 200, body
    assert "contact_updated" not in json.dumps(table_items())
    status, body = call_api("PUT", "/api/v1/contact", session, {"email": "pay@c-1.example"})
    # Then what was left out stays as it was: still French, still the further address, still no phone
    assert status == 200, body
    assert (body["email"], body["language"], body["phone"], body["other_emails"]) == (
        "pay@c-1.example",
        "fr",
        None,
        ["billing@c-1.example"],
    )
    # And a region code counts as its base language; "" clears the phone
    status, body = call_api(
        "PUT", "/api/v1/contact", session, {"email": "pay@c-1.example", "language": "de-AT", "phone": "+43 1"}
    )
    assert status == 200 and (body["language"], body["phone"]) == ("de", "+43 1")
    status, body = call_api("PUT", "/api/v1/contact", session, {"email": "pay@c-1.example", "phone": ""})
    assert status == 200 and body["phone"] is None
    status, body = call_api("PUT", "/api/v1/contact", session, {"email": "pay@c-1.example", "language": "pt"})
    assert status == 400 and body["error"]["field"] == "language"


def dispute_world() -> World:
    world = World()
    world.customer("C-1")
    world.customer("C-2")
    world.invoice("INV-1", invoice_date=date(2026, 10, 1), due_date=date(2026, 10, 31), amount="120.00")
    world.invoice(
        "CN-1",
        invoice_date=date(2026, 10, 5),
        due_date=date(2026, 10, 5),
        amount="30.00",
        document_type="credit_note",
    )
    world.invoice(
        "B-1", customer_id="C-2", invoice_date=date(2026, 10, 1), due_date=date(2026, 10, 31), amount="9.00"
    )
    return world


def test_a_credit_note_cannot_be_disputed_on_the_page_or_the_api(aws: None) -> None:
    world = dispute_world()
    session = sign_in()
    # The credit note's page offers no dispute; an invoice's does
    assert "Dispute this invoice" not in str(get("/invoices/CN-1", cookie=session[0])["body"])
    assert "Dispute this invoice" in str(get("/invoices/INV-1", cookie=session[0])["body"])
    # A dispute of it is refused next to the invoice field, and through the API with the field named
    page = post_form("/dispute", session, {"invoice_number": "CN-1", "reason": "wrong_quantity"})
    assert page["statusCode"] == 400
    assert "invoice CN-1 is a credit note" in str(page["body"])
    assert 'id="invoice_number-error"' in str(page["body"])
    status, body = call_api(
        "POST", "/api/v1/disputes", session, {"invoice_number": "CN-1", "reason": "wrong_quantity"}
    )
    assert status == 400 and body["error"]["field"] == "invoice_number"
    assert "credit note" in body["error"]["message"]
    # And nothing was recorded: not disputed, no collector task, no change for the ERP
    assert not world.get("CN-1").disputed
    assert world.tasks("C-1") == []
    assert "dispute_opened" not in json.dumps(table_items())


@pytest.mark.parametrize("number", ["F/1", "B-1"])
def test_disputing_an_invoice_not_on_the_account_is_a_field_error_as_for_a_promise(
    aws: None, number: str
) -> None:
    world = dispute_world()
    session = sign_in()
    expected = f"invoice {number} is not on your account"
    page = post_form("/dispute", session, {"invoice_number": number, "reason": "wrong_quantity"})
    promised = post_form(
        "/promise", session, {"invoice_numbers": number, "amount": "1", "promised_until": "2026-12-01"}
    )
    assert page["statusCode"] == promised["statusCode"] == 400
    assert expected in str(page["body"]) and expected in str(promised["body"])
    assert 'id="invoice_number-error"' in str(page["body"])
    status, body = call_api(
        "POST", "/api/v1/disputes", session, {"invoice_number": number, "reason": "wrong_quantity"}
    )
    promise_status, promise_body = call_api(
        "POST",
        "/api/v1/promises",
        session,
        {"invoice_numbers": [number], "amount": "1", "promised_until": "2026-12-01"},
    )
    assert (status, promise_status) == (400, 400)
    assert body == {"error": {"field": "invoice_number", "message": expected}}
    assert promise_body["error"]["message"] == expected
    assert not world.get("B-1", "C-2").disputed and world.tasks("C-2") == []
