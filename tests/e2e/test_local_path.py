"""The whole path on the local stack, driven only through the `arcollect` command and HTTP, as a user would:
a generated company dropped into S3 lands in DynamoDB, a tick emails a reminder into the outbox, the
portal serves the customer's page from the emailed link, a report lands in S3 and in the fetched folder."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from arcollect.contract import Output
from arcollect.dunning.engine import GO_LIVE_STATEMENT, MISSED_PROMISE
from arcollect.policy import shipped_policy
from tests.e2e.conftest import RunningStack, recent_send_morning

pytestmark = pytest.mark.e2e

# A recent working morning: 09:00 in London, 10:00 in Berlin and Paris (inside the default send window),
# still night in the Americas; recent, so the links the reminders carry still open the portal today.
TICK_AT = recent_send_morning()


def http_get(url: str, cookie: str | None = None) -> tuple[int, dict[str, str], str]:
    """One GET, redirects not followed (the portal's link answer is a redirect that sets a cookie)."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})  # noqa: S310
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def http_post_form(url: str, form: dict[str, str]) -> tuple[int, dict[str, str], str]:
    """One form POST, redirects not followed."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    data = urllib.parse.urlencode(form).encode()
    request = urllib.request.Request(  # noqa: S310
        url, data=data, headers={"Content-Type": "application/x-www-form-urlencoded"}, method="POST"
    )
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def open_link(link: str) -> tuple[dict[str, str], str]:
    """Follow an emailed link as a browser does: the landing page (which opens nothing, so a mail
    scanner's prefetch has no effect), its "Open my account" button's POST, whose session cookie opens
    the account page."""
    cookie, location = session_from_link(link)
    status, page_headers, body = http_get(location, cookie)
    assert status == 200, status
    return page_headers, body


def session_from_link(link: str) -> tuple[str, str]:
    """The landing page and its button's POST: the session cookie, and where the POST sends the browser."""
    status, headers, landing = http_get(link)
    assert status == 200, status
    assert "Set-Cookie" not in headers and headers["Cache-Control"] == "no-store"
    assert headers["Referrer-Policy"] == "no-referrer"
    action = re.search(r'<form method="post" action="([^"]+)">', landing)
    token = re.search(r'name="token" value="([^"]+)"', landing)
    assert action and token and "Open my account" in landing
    button = urllib.parse.urljoin(link, action.group(1))
    status, headers, _ = http_post_form(button, {"token": token.group(1)})
    assert status == 303, status
    assert headers["Referrer-Policy"] == "no-referrer"
    cookie = headers["Set-Cookie"].split(";", 1)[0]
    assert "HttpOnly" in headers["Set-Cookie"] and "SameSite=Lax" in headers["Set-Cookie"]
    return cookie, urllib.parse.urljoin(link, headers["Location"])


@pytest.fixture(scope="module")
def company(local_stack: RunningStack) -> Path:
    out = local_stack.workdir / "company"
    local_stack.arcollect(
        "generate",
        "--customers",
        "25",
        "--months",
        "2",
        "--seed",
        "3",
        "--out",
        str(out),
        "--simulate-days",
        "5",
    )
    return out


@pytest.fixture(scope="module")
def ingested(local_stack: RunningStack, company: Path) -> dict[str, dict[str, Any]]:
    results = {}
    for kind, path in (
        ("customers", "customers.csv"),
        ("invoices", "invoices.csv"),
        ("payments", "payments/history.csv"),
    ):
        results[kind] = local_stack.json("ingest", str(company / path), "--kind", kind)
    return results


def test_dropped_files_land_in_dynamodb_with_every_row_accounted_for(
    local_stack: RunningStack, company: Path, ingested: dict[str, dict[str, Any]]
) -> None:
    manifest = json.loads((company / "manifest.json").read_text())
    rows = {f["path"]: f["rows"] for f in manifest["files"]}
    invoices = ingested["invoices"]
    assert invoices["rows_read"] == rows["invoices.csv"]
    assert invoices["rows_read"] == invoices["accepted"] + invoices["rejected"] + invoices["skipped"]
    assert invoices["rejected"] == len(manifest["bad_rows"])
    assert ingested["customers"]["accepted"] == rows["customers.csv"]
    # The customer's 360 view is read back from the table.
    first_customer = (company / "customers.csv").read_text().splitlines()[1].split(",")[0]
    shown = local_stack.json("show", "customer", first_customer)
    assert shown["customer"]["customer_id"] == first_customer
    assert shown["invoices"], "the customer's invoices are in the table"


def test_an_identical_re_upload_changes_nothing(
    local_stack: RunningStack, company: Path, ingested: dict[str, dict[str, Any]]
) -> None:
    again = local_stack.json("ingest", str(company / "customers.csv"), "--kind", "customers")
    # Every row is accepted again, and every one of them is unchanged: nothing is written.
    assert again["unchanged"] == again["accepted"] == ingested["customers"]["accepted"]


def test_a_tick_sends_reminders_into_the_outbox_once(
    local_stack: RunningStack, ingested: dict[str, dict[str, Any]]
) -> None:
    # When the hourly dunning tick runs at a time after many due dates (the command returns once the
    # customers it fanned out through the dunning queue are worked)
    first = local_stack.json("tick", "dunning", "--at", TICK_AT)
    # Then reminders were emailed, each visible in the outbox with what the touch was about
    assert first["customers"] > 0
    outbox = local_stack.json("outbox")
    assert outbox
    if not first["fanned_out"]:  # worked inline: the tick's own count is the outbox
        assert len(outbox) == first["emails_sent"]
    # The policy's steps, and the engine's own: a go-live's statement (the company's invoices are loaded
    # late already) and a missed promise's reminder.
    policy_steps = {step.id for p in shipped_policy().policies.values() for step in p.steps}
    policy_steps |= {GO_LIVE_STATEMENT, MISSED_PROMISE}
    for email in outbox:
        assert email["sent_at"] == TICK_AT  # the function's "now", not the wall clock
        assert email["step"].partition("#")[0] in policy_steps
        assert email["invoice_numbers"]
        assert email["to"] and email["customer_id"]
        assert "/l/" in email["text"]
    # And one email per customer: a customer's invoices are consolidated
    assert len({e["customer_id"] for e in outbox}) == len(outbox)
    # And a repeated tick for the same hour sends nothing more
    again = local_stack.json("tick", "dunning", "--at", TICK_AT)
    assert again["duplicate"] is True
    assert len(local_stack.json("outbox")) == len(outbox)


def test_the_portal_serves_pages_over_http_and_the_emailed_link_opens_the_account(
    local_stack: RunningStack, ingested: dict[str, dict[str, Any]]
) -> None:
    portal = local_stack.outputs[Output.PORTAL_URL]
    status, headers, body = http_get(portal + "health")
    assert (status, json.loads(body)["status"]) == (200, "ok")
    assert http_get(portal + "no/such/page")[0] == 404
    outbox = local_stack.json("outbox") or []
    if not outbox:
        local_stack.json("tick", "dunning", "--at", TICK_AT)
        outbox = local_stack.json("outbox")
    email = outbox[0]
    link = next(word for word in email["text"].split() if "/l/" in word)
    headers, body = open_link(link)
    assert headers["Referrer-Policy"] == "no-referrer"
    for number in email["invoice_numbers"]:
        assert number in body
    # A tampered link is refused with a clear page
    status, _, body = http_get(link[:-3] + "abc")
    assert status == 403
    assert "not valid" in body
    # The CLI makes the same kind of link
    cli_link = local_stack.arcollect("portal-link", email["customer_id"]).stdout.strip()
    assert email["invoice_numbers"][0] in open_link(cli_link)[1]
    # And revoking the customer's links (a link forwarded to the wrong person) stops both, with a page
    local_stack.arcollect("portal-revoke", email["customer_id"])
    for revoked in (link, cli_link):
        status, _, body = http_get(revoked)
        assert status == 403 and "fresh link" in body.lower()


def test_a_report_lands_in_s3_and_in_the_fetched_folder(
    local_stack: RunningStack, ingested: dict[str, dict[str, Any]]
) -> None:
    result = local_stack.json("tick", "reports", "--at", "2026-11-03T05:00:00Z")
    files = ("kpis.json", "kpi-report.xlsx", "summary.html", "summary.csv", "aging.csv", "forecast.csv")
    for name in files:
        assert f"kpi/2026-11-03/{name}" in result["written"] and f"latest/{name}" in result["written"]
    target = local_stack.workdir / "fetched"
    local_stack.arcollect("reports", "fetch", "--to", str(target))
    assert all((target / name).is_file() for name in files)
    kpis = json.loads((target / "kpis.json").read_text())
    assert kpis["as_of"] == "2026-11-03"
    assert kpis["by_currency"], "the generated company has open receivables"


def test_cli_errors_are_one_clear_line(local_stack: RunningStack) -> None:
    result = local_stack.arcollect("tick", "dunning", "--at", "tomorrow", check=False)
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0
    assert "not an ISO-8601 timestamp" in result.stderr
    missing = local_stack.arcollect("ingest", "nope.csv", "--kind", "invoices", check=False)
    assert missing.returncode != 0 and "no such file" in missing.stderr


def test_a_dispute_attachment_is_uploaded_by_presigned_post_and_checked_over_http(
    local_stack: RunningStack, ingested: dict[str, dict[str, Any]]
) -> None:
    import requests

    portal = local_stack.outputs[Output.PORTAL_URL]
    outbox = local_stack.json("outbox") or []
    if not outbox:
        local_stack.json("tick", "dunning", "--at", TICK_AT)
        outbox = local_stack.json("outbox")
    # Given a customer signed in through the link's landing page (the button's POST)
    email = outbox[-1]
    link = next(word for word in email["text"].split() if "/l/" in word)
    token = link.rsplit("/l/", 1)[1]
    signed_in = requests.Session()
    assert signed_in.get(link, timeout=30).status_code == 200
    opened = signed_in.post(portal + "l", data={"token": token}, timeout=30, allow_redirects=False)
    assert opened.status_code == 303
    # The cookie is Secure: sent by hand over the local stack's plain http
    signed_in.headers["Cookie"] = opened.headers["Set-Cookie"].split(";", 1)[0]
    csrf = {"X-CSRF-Token": signed_in.get(portal + "api/v1/account", timeout=30).json()["csrf_token"]}
    invoices = signed_in.get(portal + "api/v1/invoices", timeout=30).json()["invoices"]
    open_ones = [i for i in invoices if i["status"] in ("overdue", "due")]
    assert len(open_ones) >= 1
    pdf = b"%PDF-1.4\n% a delivery note\n%%EOF\n"

    def dispute(number: str, size: int) -> dict[str, Any]:
        body = {
            "invoice_number": number,
            "reason": "damaged_or_defective",
            "attachment": {"file_name": "note.pdf", "content_type": "application/pdf", "size": size},
        }
        answer = signed_in.post(portal + "api/v1/disputes", json=body, headers=csrf, timeout=30)
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    receipt = dispute(open_ones[0]["invoice_number"], len(pdf))
    url, fields = receipt["upload_url"], receipt["upload_fields"]
    # When the browser's multipart POST sends more than declared, the emulator refuses it as S3 does
    refused = requests.post(url, data=fields, files={"file": ("note.pdf", pdf + b"x")}, timeout=30)
    assert refused.status_code == 400 and "<Code>EntityTooLarge</Code>" in refused.text
    # And the declared file is taken, then checked and linked by the portal
    stored = requests.post(url, data=fields, files={"file": ("note.pdf", pdf)}, timeout=30)
    assert stored.status_code == 204, stored.text
    confirm = f"{portal}api/v1/disputes/{receipt['dispute_id']}/attachment"
    confirmed = signed_in.post(confirm, headers=csrf, timeout=30)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["file_name"] == "note.pdf" and confirmed.json()["size"] == len(pdf)
    shown = local_stack.json("show", "customer", email["customer_id"])
    assert any(entry["kind"] == "dispute_attachment_added" for entry in shown["timeline"])
