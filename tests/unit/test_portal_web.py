"""The portal's web layer against an in-memory Portal, driven with API Gateway REST proxy events."""

from __future__ import annotations

import copy
import re
from dataclasses import replace

import pytest

from arcollect.languages import LANGUAGES
from arcollect.portal.web import build_app
from tests.unit.portal_client import EVENT, HOST, Client, Context, Reply, client, portal, signed_in
from tests.unit.portal_fake import FakePortal

__all__ = ["client", "portal", "signed_in"]  # the fixtures, from the shared portal client


def error_id_for(body: str, field: str) -> bool:
    """The field's control points at its message with aria-describedby, and the message is there."""
    control = re.search(rf'<(?:input|select|textarea|fieldset)[^>]*id="{field}"[^>]*>', body)
    return bool(control) and f"{field}-error" in control.group(0) and f'id="{field}-error"' in body  # type: ignore[union-attr]


# --- signing in --------------------------------------------------------------------------------------


def test_a_link_shows_a_landing_page_whose_button_posts_the_token(client: Client, portal: FakePortal) -> None:
    # When the emailed link is followed (by the person, or a mail scanner prefetching it)
    reply = client.get("/l/good")
    # Then it shows one button posting the token, opens no session and sets no cookie
    assert reply.status == 200 and not reply.cookies and not portal.sessions
    assert reply.header("Cache-Control") == "no-store"
    assert reply.header("Referrer-Policy") == "no-referrer"
    assert "script-src 'self'" in reply.header("Content-Security-Policy")
    form = re.search(r'<form method="post" action="/l">(.*?)</form>', reply.text, re.DOTALL)
    assert form and '<input type="hidden" name="token" value="good">' in form.group(1)
    assert "Open my account</button>" in form.group(1)
    assert "<script>" not in reply.text  # nothing submits it by itself: scanners run scripts


def test_the_landing_page_escapes_the_token(
    client: Client, portal: FakePortal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(portal, "check_link", lambda token, now: None)
    reply = client.get("/l/good%22%3E%3Cb%3Ex")
    assert reply.status == 200
    assert "<b>x" not in reply.text and 'value="good&#34;&gt;&lt;b&gt;x"' in reply.text


def test_a_head_of_the_link_opens_no_session(client: Client, portal: FakePortal) -> None:
    reply = client.request("HEAD", "/l/good")
    assert reply.status == 200 and not reply.cookies and not portal.sessions


def test_the_button_exchanges_the_token_for_a_session_cookie_and_a_redirect(client: Client) -> None:
    reply = client.open_link("good")
    assert reply.status == 303
    assert reply.header("Location") == "/account"
    assert reply.header("Referrer-Policy") == "no-referrer"
    cookie = reply.cookies[0]
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")}
    assert cookie.startswith("arc_session=sid1;")
    assert {"httponly", "secure", "path", "max-age", "samesite"} <= set(attributes)
    assert attributes["path"] == "Path=/"
    assert attributes["max-age"] == "Max-Age=28800"
    assert attributes["samesite"] == "SameSite=Lax"
    assert "good" not in reply.header("Location")


def test_on_the_execute_api_url_links_keep_the_stage(client: Client) -> None:
    host = "abc123.execute-api.us-east-1.amazonaws.com"
    assert 'action="/live/l"' in client.get("/l/good", host=host).text
    reply = client.open_link("good", host=host)
    assert reply.header("Location") == "/live/account"


@pytest.mark.parametrize(
    ("token", "status", "words"),
    [("forged", 403, "not valid"), ("expired", 410, "expired"), ("revoked", 403, "no longer valid")],
)
def test_link_problems_explain_and_offer_a_fresh_link(
    client: Client, token: str, status: int, words: str
) -> None:
    for reply in (client.get(f"/l/{token}"), client.open_link(token)):
        assert reply.status == status
        assert words in reply.text
        assert 'action="/link"' in reply.text and 'name="email"' in reply.text
        assert not reply.cookies


def test_the_exchange_refuses_what_is_not_a_same_site_form(client: Client, portal: FakePortal) -> None:
    as_json = client.post("/l", json_body={"token": "good"})
    cross_site = client.open_link("good", headers={"Sec-Fetch-Site": "cross-site"})
    other_origin = client.open_link("good", headers={"Origin": "https://evil.example"})
    assert as_json.status == 415
    assert cross_site.status == other_origin.status == 403
    assert not portal.sessions
    # Under the page's no-referrer policy a same-origin form POST carries Origin: null
    same = client.open_link("good", headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"})
    assert same.status == 303 and portal.sessions


def test_the_fresh_link_form_gives_the_same_answer_whoever_asks(client: Client, portal: FakePortal) -> None:
    assert client.get("/link").status == 200
    known = client.post("/link", form={"email": "ap@acme.example"})
    unknown = client.post("/link", form={"email": "nobody@nowhere.example"})
    assert known.status == unknown.status == 200
    assert "If the address is on file, a link is on its way" in known.text
    assert known.text == unknown.text
    assert portal.link_requests[0] == ("ap@acme.example", "203.0.113.20")


def test_a_malformed_address_is_shown_next_to_the_field(client: Client) -> None:
    reply = client.post("/link", form={"email": "nope"})
    assert reply.status == 400
    assert error_id_for(reply.text, "email")
    assert "enter an email address" in reply.text


def test_too_many_link_requests_get_a_429_page(client: Client) -> None:
    reply = client.post("/link", form={"email": "flood@acme.example"})
    assert reply.status == 429
    assert "Too many requests" in reply.text


def test_home_offers_the_form_and_sends_a_signed_in_customer_to_the_account(client: Client) -> None:
    assert 'action="/link"' in client.get("/").text
    client.sign_in()
    assert client.get("/").header("Location") == "/account"


# --- authenticated pages -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/account",
        "/invoices/INV-1",
        "/invoices/INV-1/pay",
        "/statement.csv",
        "/promise",
        "/dispute",
        "/contact",
        "/messages",
    ],
)
def test_without_a_session_pages_send_to_the_session_ended_page(client: Client, path: str) -> None:
    reply = client.get(path)
    assert reply.status == 303
    assert reply.header("Location") == "/link?reason=ended"
    ended = client.get("/link", query={"reason": "ended"})
    assert "Your session has ended" in ended.text and 'name="email"' in ended.text


def test_an_unknown_cookie_is_no_session(client: Client) -> None:
    client.cookie = "made-up"
    assert client.get("/account").status == 303
    assert client.get("/api/v1/account").status == 401


def test_the_account_shows_totals_per_currency_and_the_invoices(
    signed_in: Client, portal: FakePortal
) -> None:
    reply = signed_in.get("/account")
    assert reply.status == 200
    body = reply.text
    assert "140.00 EUR" in body and "250.50 USD" in body  # never one sum across currencies
    assert "390.50" not in body
    assert "INV-1" in body and "INV-2" in body
    assert "SECRET-9" not in body
    assert "Acme &lt;Trading&gt; Ltd" in body  # escaped
    assert '<th scope="col"' in body and 'href="#main"' in body
    assert "<style" not in body and "<script>" not in body and " style=" not in body
    assert '<link rel="stylesheet" href="/static/portal.css?v=' in body


def test_the_account_sorts_and_filters_from_the_query(signed_in: Client, portal: FakePortal) -> None:
    reply = signed_in.get("/account", query={"sort": "amount", "order": "desc", "show": "overdue"})
    assert reply.status == 200
    name, customer, args = portal.calls[-1]
    assert (name, customer) == ("account", "C1")
    assert args == {"sort": "amount", "descending": True, "show": "overdue"}
    assert 'aria-sort="descending"' in reply.text
    # nonsense falls back to the defaults
    signed_in.get("/account", query={"sort": "drop table", "show": "x"})
    assert portal.calls[-1][2] == {"sort": "due_date", "descending": False, "show": "all"}


def test_an_invoice_page_links_its_document_or_prints(signed_in: Client) -> None:
    with_document = signed_in.get("/invoices/INV-1")
    assert with_document.status == 200
    assert "https://docs.example/INV-1.pdf?sig=1" in with_document.text
    without = signed_in.get("/invoices/INV-2")
    assert "prints as a summary" in without.text and "data-print" in without.text


def test_another_customers_invoice_is_not_found(signed_in: Client) -> None:
    assert signed_in.get("/invoices/SECRET-9").status == 404
    assert signed_in.get("/api/v1/invoices/SECRET-9").status == 404


def test_pay_redirects_or_explains(signed_in: Client) -> None:
    reply = signed_in.get("/invoices/INV-1/pay")
    assert reply.status == 303 and reply.header("Location") == "https://pay.example/1"
    cannot = signed_in.get("/invoices/INV-2/pay")
    assert cannot.status == 400 and "cannot be paid online" in cannot.text


@pytest.mark.parametrize(("fmt", "kind"), [("csv", "text/csv"), ("xlsx", "spreadsheetml")])
def test_statements_download_as_attachments(signed_in: Client, fmt: str, kind: str) -> None:
    reply = signed_in.get(f"/statement.{fmt}")
    assert reply.status == 200
    assert kind in reply.header("Content-Type")
    assert reply.header("Content-Disposition") == f'attachment; filename="statement-C1.{fmt}"'
    assert reply.bytes.startswith(b"invoice," if fmt == "csv" else b"PK")


def test_messages_list_the_history_newest_first(signed_in: Client) -> None:
    body = signed_in.get("/messages").text
    assert body.index("Second reminder") < body.index("Reminder: INV-1 is overdue")


# --- forms and CSRF ----------------------------------------------------------------------------------


def test_a_promise_is_recorded_for_the_session_customer_only(signed_in: Client, portal: FakePortal) -> None:
    form_page = signed_in.get("/promise")
    assert 'name="invoice_numbers" value="INV-1"' in form_page.text
    assert 'value="INV-3"' not in form_page.text  # disputed
    assert f'name="csrf_token" value="{signed_in.csrf}"' in form_page.text
    reply = signed_in.post(
        "/promise",
        form={
            "csrf_token": signed_in.csrf,
            "invoice_numbers": ["INV-1", "INV-2"],
            "amount": "350.50",
            "promised_until": "2026-12-10",
            "customer_id": "C2",
        },
    )
    assert reply.status == 200
    assert "2026-12-10" in reply.text
    assert portal.calls[-1][:2] == ("promise", "C1")


def test_a_bad_promise_is_shown_next_to_the_field(signed_in: Client) -> None:
    reply = signed_in.post(
        "/promise",
        form={
            "csrf_token": signed_in.csrf,
            "invoice_numbers": "INV-1",
            "amount": "lots",
            "promised_until": "2026-12-10",
        },
    )
    assert reply.status == 400
    assert error_id_for(reply.text, "amount")
    assert 'value="lots"' in reply.text  # what was typed stays
    assert "checked" in reply.text
    none = signed_in.post(
        "/promise", form={"csrf_token": signed_in.csrf, "amount": "1", "promised_until": "2026-12-10"}
    )
    assert none.status == 400 and error_id_for(none.text, "invoice_numbers")


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/promise", {"invoice_numbers": "INV-1", "amount": "1", "promised_until": "2026-12-01"}),
        ("/dispute", {"invoice_number": "INV-1", "reason": "other", "comment": "x"}),
        ("/contact", {"email": "new@acme.example"}),
        ("/logout", {}),
    ],
)
@pytest.mark.parametrize("token", [None, "", "wrong"])
def test_a_post_without_the_csrf_token_is_refused(
    signed_in: Client, portal: FakePortal, path: str, form: dict[str, str], token: str | None
) -> None:
    calls = len(portal.calls)
    sent = dict(form) if token is None else {**form, "csrf_token": token}
    reply = signed_in.post(path, form=sent)
    assert reply.status == 403
    assert "This form has expired" in reply.text
    assert len(portal.calls) == calls and not portal.ended


def test_a_dispute_without_attachment(signed_in: Client, portal: FakePortal) -> None:
    page = signed_in.get("/dispute", query={"invoice": "INV-2"})
    assert '<option value="INV-2" selected>' in page.text
    assert 'value="already_paid"' in page.text
    reply = signed_in.post(
        "/dispute",
        form={
            "csrf_token": signed_in.csrf,
            "invoice_number": "INV-2",
            "reason": "already_paid",
            "comment": "paid",
        },
    )
    assert reply.status == 200 and "D1" in reply.text
    assert "upload-form" not in reply.text
    assert portal.calls[-1] == ("dispute", "C1", {"invoice_number": "INV-2", "attachment": None})


def test_a_dispute_with_an_attachment_offers_the_upload_honestly(
    signed_in: Client, portal: FakePortal
) -> None:
    reply = signed_in.post(
        "/dispute",
        form={
            "csrf_token": signed_in.csrf,
            "invoice_number": "INV-1",
            "reason": "damaged_or_defective",
            "comment": "broken",
            "attachment_name": "photo.png",
            "attachment_type": "image/png",
            "attachment_size": "2048",
        },
    )
    assert reply.status == 200
    assert portal.calls[-1][2]["attachment"] == ("photo.png", "image/png", 2048)
    assert (
        'data-upload-url="https://drop.s3.amazonaws.com/attachments/D1/file.pdf?X-Amz-Signature=abc"'
        in reply.text
    )
    assert "reply to any of our emails with the document attached" in reply.text  # the no-JS way
    csp = reply.header("Content-Security-Policy")
    assert "connect-src 'self' https://drop.s3.amazonaws.com;" in csp
    assert "script-src 'self';" in csp


def test_the_receipt_posts_the_file_to_s3_then_asks_the_portal_to_check_it(signed_in: Client) -> None:
    reply = signed_in.post(
        "/dispute",
        form={
            "csrf_token": signed_in.csrf,
            "invoice_number": "INV-1",
            "reason": "damaged_or_defective",
            "comment": "broken",
            "attachment_name": "po.pdf",
            "attachment_type": "application/pdf",
            "attachment_size": "2048",
        },
    )
    form = re.search(r'<form class="js-only upload-form"[^>]*>', reply.text)
    assert form and 'method="post" action="/disputes/D1/attachment"' in form.group(0)
    assert f'name="csrf_token" value="{signed_in.csrf}"' in reply.text
    assert 'data-upload-fields="{&#34;Content-Type&#34;: &#34;application/pdf&#34;}"' in form.group(0)


def test_confirming_an_attachment_shows_what_was_attached(signed_in: Client, portal: FakePortal) -> None:
    refused = signed_in.post("/disputes/D1/attachment", form={"csrf_token": "wrong"})
    assert refused.status == 403 and not [c for c in portal.calls if c[0] == "confirm_attachment"]
    done = signed_in.post("/disputes/D1/attachment", form={"csrf_token": signed_in.csrf})
    assert done.status == 200 and 'role="status"' in done.text
    assert "po.pdf" in done.text and "D1" in done.text
    assert portal.calls[-1] == ("confirm_attachment", "C1", {"dispute_id": "D1"})


def test_a_refused_attachment_says_what_and_where(signed_in: Client) -> None:
    reply = signed_in.post("/disputes/D-BAD/attachment", form={"csrf_token": signed_in.csrf})
    assert reply.status == 400
    assert "reference D-BAD" in reply.text and "its content is a PNG image" in reply.text


def test_another_customers_dispute_cannot_be_confirmed(signed_in: Client) -> None:
    assert signed_in.post("/disputes/D2/attachment", form={"csrf_token": signed_in.csrf}).status == 404
    csrf = {"X-CSRF-Token": signed_in.csrf}
    assert signed_in.post("/api/v1/disputes/D2/attachment", headers=csrf).status == 404


def test_the_api_confirms_an_attachment(signed_in: Client) -> None:
    assert signed_in.post("/api/v1/disputes/D1/attachment").status == 403  # no CSRF header
    csrf = {"X-CSRF-Token": signed_in.csrf}
    ok = signed_in.post("/api/v1/disputes/D1/attachment", headers=csrf)
    assert ok.status == 200
    assert ok.json() == {
        "dispute_id": "D1",
        "file_name": "po.pdf",
        "content_type": "application/pdf",
        "size": 2048,
    }
    bad = signed_in.post("/api/v1/disputes/D-BAD/attachment", headers=csrf)
    assert bad.status == 400 and bad.json()["error"]["field"] == "attachment"


def test_a_dispute_needs_a_reason(signed_in: Client) -> None:
    reply = signed_in.post(
        "/dispute",
        form={"csrf_token": signed_in.csrf, "invoice_number": "INV-1", "reason": "", "comment": ""},
    )
    assert reply.status == 400 and error_id_for(reply.text, "reason")


def test_contact_details_are_shown_saved_and_checked(signed_in: Client, portal: FakePortal) -> None:
    page = signed_in.get("/contact")
    assert 'value="ap@acme.example"' in page.text
    for name in ("email", "other_emails", "phone", "language"):
        assert f'<label for="{name}">' in page.text
    saved = signed_in.post(
        "/contact",
        form={
            "csrf_token": signed_in.csrf,
            "email": "pay@acme.example",
            "other_emails": "a@acme.example, b@acme.example",
            "phone": "+44 20 7946 0000",
            "language": "de",
            "customer_id": "C2",
        },
    )
    assert saved.status == 200 and "saved" in saved.text
    assert portal.customers["C1"].email == "pay@acme.example"
    assert portal.customers["C2"].email == "ap@other.example"
    bad = signed_in.post("/contact", form={"csrf_token": signed_in.csrf, "email": "nope", "language": "en"})
    assert bad.status == 400 and error_id_for(bad.text, "email")


def test_the_contact_form_offers_only_the_languages_the_portal_takes(
    signed_in: Client, portal: FakePortal
) -> None:
    portal.customers["C1"] = replace(portal.customers["C1"], language="de-DE")
    page = signed_in.get("/contact")
    select = re.search(r'<select id="language".*?</select>', page.text, re.S)
    assert select
    assert re.findall(r'<option value="([^"]*)"', select.group(0)) == list(LANGUAGES)
    # A region code on file is shown as its base language, which is one of the choices
    assert re.findall(r'<option value="([^"]*)" selected>', select.group(0)) == ["de"]


def test_api_contact_properties_left_out_or_null_are_passed_on_as_unchanged(
    signed_in: Client, portal: FakePortal
) -> None:
    csrf = {"X-CSRF-Token": signed_in.csrf}
    account = signed_in.get("/api/v1/account").json()
    assert account["customer"]["phone"] is None
    # The account's own customer sent back (phone null) is taken
    echoed = signed_in.request("PUT", "/api/v1/contact", json_body=account["customer"], headers=csrf)
    assert echoed.status == 200, echoed.text
    assert portal.calls[-1][2]["phone"] is None
    # Only the email: the rest is passed on as None, which the Portal reads as "unchanged"
    only_email = signed_in.request(
        "PUT", "/api/v1/contact", json_body={"email": "x@acme.example"}, headers=csrf
    )
    assert only_email.status == 200
    assert portal.calls[-1][2] == {
        "email": "x@acme.example",
        "other_emails": None,
        "phone": None,
        "language": None,
    }
    assert portal.customers["C1"].language == "en"


def test_logout_ends_the_session_and_clears_the_cookie(signed_in: Client, portal: FakePortal) -> None:
    session_id = signed_in.cookie
    reply = signed_in.post("/logout", form={"csrf_token": signed_in.csrf})
    assert reply.status == 303 and reply.header("Location") == "/link?reason=signed-out"
    assert portal.ended == [session_id]
    assert "arc_session=;" in reply.cookies[0] and "Max-Age=0" in reply.cookies[0]
    assert signed_in.get("/account").status == 303


def test_the_customer_cannot_be_chosen_by_query_parameters(signed_in: Client, portal: FakePortal) -> None:
    for path in ("/account", "/api/v1/account", "/api/v1/invoices", "/statement.csv"):
        signed_in.get(path, query={"customer_id": "C2", "customer": "C2"})
    assert {call[1] for call in portal.calls} == {"C1"}
    assert "SECRET-9" not in signed_in.get("/api/v1/invoices", query={"customer_id": "C2"}).text


# --- security headers and static files ---------------------------------------------------------------

EVERY_KIND = [
    ("GET", "/"),
    ("GET", "/health"),
    ("GET", "/l/good"),
    ("GET", "/l/forged"),
    ("GET", "/link"),
    ("GET", "/account"),
    ("GET", "/nope"),
    ("GET", "/api/v1/account"),
    ("GET", "/api/v1/nope"),
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/api/v1/docs"),
    ("GET", "/static/portal.css"),
    ("GET", "/static/portal.js"),
    ("POST", "/api/v1/promises"),
]


@pytest.mark.parametrize(("method", "path"), EVERY_KIND)
def test_every_response_carries_the_security_headers(client: Client, method: str, path: str) -> None:
    reply = client.request(method, path)
    csp = reply.header("Content-Security-Policy")
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert reply.header("Strict-Transport-Security").startswith("max-age=")
    assert reply.header("X-Content-Type-Options") == "nosniff"
    assert reply.header("Referrer-Policy") == "no-referrer"
    if path.startswith("/static/"):
        assert "max-age=31536000" in reply.header("Cache-Control")
    else:
        assert reply.header("Cache-Control") == "no-store"


def test_signed_in_pages_also_carry_them(signed_in: Client) -> None:
    for path in (
        "/account",
        "/invoices/INV-1",
        "/promise",
        "/dispute",
        "/contact",
        "/messages",
        "/statement.csv",
    ):
        reply = signed_in.get(path)
        assert reply.status == 200, path
        assert reply.header("Cache-Control") == "no-store"
        assert "script-src 'self'" in reply.header("Content-Security-Policy")


def test_static_files_are_served_and_nothing_else(client: Client) -> None:
    css = client.get("/static/portal.css")
    assert css.status == 200 and css.header("Content-Type").startswith("text/css")
    assert ":focus" in css.text and "@media print" in css.text
    assert client.get("/static/portal.js").header("Content-Type").startswith("text/javascript")
    assert client.get("/static/handler.py").status == 404
    assert client.get("/static/..%2Fapp.py").status == 404


def test_an_unknown_path_is_a_404_page_with_the_path_escaped(client: Client) -> None:
    reply = client.get("/<script>alert(1)</script>")
    assert reply.status == 404
    assert "<script>alert" not in reply.text and "&lt;script&gt;" in reply.text


# --- the JSON API ------------------------------------------------------------------------------------


def test_api_session_sets_the_cookie(client: Client) -> None:
    reply = client.post("/api/v1/session", json_body={"token": "good"})
    assert reply.status == 200
    assert reply.json()["customer_id"] == "C1"
    assert reply.json()["expires_at"].startswith("2026-")
    assert reply.cookies[0].startswith("arc_session=sid1;") and "HttpOnly" in reply.cookies[0]


@pytest.mark.parametrize(("token", "status"), [("forged", 403), ("revoked", 403), ("expired", 410)])
def test_api_session_refuses_bad_links(client: Client, token: str, status: int) -> None:
    reply = client.post("/api/v1/session", json_body={"token": token})
    assert reply.status == status
    assert reply.json()["error"]["field"] == "token"
    assert not reply.cookies


def test_api_without_a_session_is_401(client: Client) -> None:
    for path in ("/api/v1/account", "/api/v1/invoices", "/api/v1/invoices/INV-1", "/api/v1/messages"):
        reply = client.get(path)
        assert reply.status == 401, path
        assert "message" in reply.json()["error"]


def test_api_account_and_invoices(signed_in: Client, portal: FakePortal) -> None:
    account = signed_in.get("/api/v1/account").json()
    assert account["csrf_token"] == signed_in.csrf
    assert [t["currency"] for t in account["totals"]] == ["EUR", "USD"]
    assert account["totals"][0]["total_due"] == "140.00"
    invoices = signed_in.get(
        "/api/v1/invoices", query={"sort": "number", "order": "desc", "show": "all"}
    ).json()
    assert [i["invoice_number"] for i in invoices["invoices"]] == ["INV-3", "INV-2", "INV-1"]
    assert signed_in.get("/api/v1/invoices", query={"sort": "nonsense"}).status == 400
    detail = signed_in.get("/api/v1/invoices/INV-1").json()
    assert detail["invoice"]["open_amount"] == "100.00" and detail["document_url"].startswith("https://")
    messages = signed_in.get("/api/v1/messages").json()["messages"]
    assert messages[0]["summary"] == "Second reminder"


def test_api_changes_need_the_csrf_header(signed_in: Client, portal: FakePortal) -> None:
    body = {"invoice_numbers": ["INV-1"], "amount": "100", "promised_until": "2026-12-01"}
    for headers in ({}, {"X-CSRF-Token": "wrong"}):
        reply = signed_in.post("/api/v1/promises", json_body=body, headers=headers)
        assert reply.status == 403
        assert reply.json()["error"]["field"] == "X-CSRF-Token"
    assert not [c for c in portal.calls if c[0] == "promise"]
    ok = signed_in.post("/api/v1/promises", json_body=body, headers={"X-CSRF-Token": signed_in.csrf})
    assert ok.status == 201 and ok.json()["promise_id"] == "P1"


def test_api_promises_disputes_and_contact_act_for_the_session_customer(
    signed_in: Client, portal: FakePortal
) -> None:
    csrf = {"X-CSRF-Token": signed_in.csrf}
    promise = signed_in.post(
        "/api/v1/promises",
        json_body={
            "customer_id": "C2",
            "invoice_numbers": ["INV-1"],
            "amount": "5",
            "promised_until": "2026-12-01",
        },
        headers=csrf,
    )
    assert promise.status == 201
    dispute = signed_in.post(
        "/api/v1/disputes",
        json_body={
            "customer_id": "C2",
            "invoice_number": "INV-2",
            "reason": "wrong_quantity",
            "comment": "we ordered 5",
            "attachment": {"file_name": "po.pdf", "content_type": "application/pdf", "size": 1000},
        },
        headers=csrf,
    )
    assert dispute.status == 201 and dispute.json()["upload_url"].startswith("https://")
    contact = signed_in.request(
        "PUT",
        "/api/v1/contact",
        json_body={
            "customer_id": "C2",
            "email": "x@acme.example",
            "other_emails": ["y@acme.example"],
            "language": "fr",
        },
        headers=csrf,
    )
    assert contact.status == 200 and contact.json()["customer_id"] == "C1"
    assert portal.customers["C1"].other_emails == ("y@acme.example",)
    assert portal.customers["C2"].email == "ap@other.example"
    assert {call[1] for call in portal.calls} == {"C1"}


def test_api_input_errors_name_the_field(signed_in: Client) -> None:
    csrf = {"X-CSRF-Token": signed_in.csrf}
    bad_amount = signed_in.post(
        "/api/v1/promises",
        json_body={"invoice_numbers": ["INV-1"], "amount": "lots", "promised_until": "2026-12-01"},
        headers=csrf,
    )
    assert bad_amount.status == 400
    assert bad_amount.json() == {"error": {"field": "amount", "message": "enter an amount like 1250.00"}}
    bad_reason = signed_in.post(
        "/api/v1/disputes", json_body={"invoice_number": "INV-1", "reason": "bored"}, headers=csrf
    )
    assert bad_reason.status == 400 and bad_reason.json()["error"]["field"] == "reason"
    missing = signed_in.post("/api/v1/promises", json_body={"amount": "1"}, headers=csrf)
    assert missing.status == 400 and missing.json()["error"]["field"] in {"invoice_numbers", "promised_until"}
    # Another customer's invoice, named in a body, is a field error (as the real Portal answers it)
    not_ours = signed_in.post(
        "/api/v1/promises",
        json_body={"invoice_numbers": ["SECRET-9"], "amount": "1", "promised_until": "2026-12-01"},
        headers=csrf,
    )
    assert not_ours.status == 400 and not_ours.json()["error"]["field"] == "invoice_numbers"


def test_api_link_requests(client: Client, portal: FakePortal) -> None:
    reply = client.post("/api/v1/link-requests", json_body={"email": "ap@acme.example"})
    assert reply.status == 202 and "on its way" in reply.json()["message"]
    assert client.post("/api/v1/link-requests", json_body={"email": "nope"}).status == 400
    assert client.post("/api/v1/link-requests", json_body={"email": "flood@acme.example"}).status == 429


def test_the_openapi_document_lists_every_api_path(client: Client) -> None:
    reply = client.get("/api/v1/openapi.json")
    assert reply.status == 200
    document = reply.json()
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {
        "/api/v1/session",
        "/api/v1/link-requests",
        "/api/v1/account",
        "/api/v1/invoices",
        "/api/v1/invoices/{number}",
        "/api/v1/messages",
        "/api/v1/promises",
        "/api/v1/disputes",
        "/api/v1/disputes/{dispute_id}/attachment",
        "/api/v1/contact",
        "/api/v1/payment-plans",
    }
    assert "put" in document["paths"]["/api/v1/contact"]
    schemas = document["components"]["schemas"]
    assert {"PromiseIn", "DisputeIn", "AccountOut", "ErrorOut"} <= set(schemas)
    assert "customer_id" not in schemas["PromiseIn"]["properties"]


def test_swagger_ui_is_served_from_self_with_a_hashed_inline_script(client: Client) -> None:
    reply = client.get("/api/v1/docs")
    assert reply.status == 200
    assert "cdn" not in reply.text.lower() and "https://" not in reply.text.split("spec:")[0]
    assert "../../static/swagger-ui/swagger-ui-bundle.min.js" in reply.text
    csp = reply.header("Content-Security-Policy")
    assert re.search(r"script-src 'self' 'sha256-[A-Za-z0-9+/=]+';", csp)
    assert "unsafe-inline" not in csp
    bundle = client.get("/static/swagger-ui/swagger-ui-bundle.min.js")
    assert bundle.status == 200 and bundle.header("Content-Type").startswith("text/javascript")
    assert client.get("/static/swagger-ui/swagger-ui.min.css").status == 200


def test_api_bodies_that_are_not_json_objects_are_400(client: Client) -> None:
    for body in ("{not json", "[1, 2]", "null"):
        event = copy.deepcopy(EVENT)
        event.update(httpMethod="POST", path="/api/v1/session", body=body)
        event["headers"] = {"Host": HOST, "Content-Type": "application/json"}
        event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
        reply = Reply(client.app.resolve(event, Context()))  # type: ignore[arg-type]
        assert reply.status == 400, body
        assert set(reply.json()["error"]) == {"field", "message"}


def test_a_portal_factory_gets_the_public_url_the_request_came_in_on() -> None:
    asked: list[str] = []
    fake = FakePortal()

    def portal_at(base_url: str) -> FakePortal:
        asked.append(base_url)
        return fake

    client = Client(fake, build_app(portal_at))
    client.post("/link", form={"email": "ap@acme.example"})
    client.get("/link", host="abc123.execute-api.us-east-1.amazonaws.com")
    assert (
        client.post("/link", form={"email": "ap@acme.example"}, host="localhost:3000", headers={}).status
        == 200
    )
    assert asked[0] == "https://portal.example.com/"
    assert "http://localhost:3000/" in asked
