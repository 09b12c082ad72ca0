"""The customer portal in Debian's Chromium: the emailed link opens the account, the page passes axe-core,
a tampered link shows the error page, and a customer promises a date, disputes an invoice, downloads a
statement and updates the contact, each leaving a screenshot in .artifacts/screenshots/.

Checks go through roles and labels, not CSS classes, so they outlive the pages' markup."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.browser.conftest import (
    ARTIFACTS,
    Shot,
    link_in,
    run_axe,
    save_axe_report,
    serious_violations,
)
from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e


def tampered(link: str) -> str:
    # Change the token's last character: the signature no longer matches.
    return link[:-1] + ("A" if link[-1] != "A" else "B")


def open_account(page: Any, link: str) -> Any:
    """Follow the emailed link to its landing page, and press its one button (the page opens nothing
    by itself, so a mail scanner that prefetches links opens no session)."""
    landing = page.goto(link)
    assert landing is not None and landing.status == 200, f"{link} answered {landing and landing.status}"
    assert landing.header_value("cache-control") == "no-store"
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Open my account").click()
    response = navigation.value
    assert response is not None and response.status == 200, f"the button answered {response}"
    assert response.url.endswith("/account")
    return response


# --- against the portal as it is now -------------------------------------------------------------


def test_the_emailed_link_opens_the_account_with_its_open_invoices(
    local_stack: RunningStack, page: Any, shot: Shot, email: dict[str, Any], link: str
) -> None:
    csp_messages: list[str] = []
    page.on(
        "console",
        lambda m: csp_messages.append(m.text) if "Content Security Policy" in m.text else None,
    )
    response = open_account(page, link)
    assert response.header_value("referrer-policy") == "no-referrer"
    assert "default-src 'none'" in (response.header_value("content-security-policy") or "")
    customer = local_stack.json("show", "customer", email["customer_id"])["customer"]
    expect(page.get_by_role("heading", level=1)).to_contain_text(customer["name"])
    invoices = page.get_by_role("table")
    expect(invoices).to_be_visible()
    for number in email["invoice_numbers"]:
        expect(invoices.get_by_role("row").filter(has_text=number)).to_have_count(1)
    shot("account")
    assert not csp_messages, f"the page broke its own CSP: {csp_messages}"


def test_the_page_csp_refuses_injected_scripts(page: Any, link: str) -> None:
    # The CSP the browser enforces is what keeps a script out of the page: an injected one is refused.
    open_account(page, link)
    with pytest.raises(Exception, match=re.compile("Content Security Policy|refused", re.IGNORECASE)):
        page.add_script_tag(content="window.injected = true")
    assert page.evaluate("() => window.injected === undefined")


def test_the_link_alone_opens_nothing_until_the_button_is_pressed(
    local_stack: RunningStack, context: Any, page: Any, shot: Shot, email: dict[str, Any], link: str
) -> None:
    # Given a link a mail scanner could prefetch, scripts and all
    opened_before = portal_openings(local_stack, email["customer_id"])
    # When it is only loaded
    landing = page.goto(link)
    page.wait_for_load_state("networkidle")
    # Then the landing page shows one button, and there is no session and no "opened" entry
    assert landing is not None and landing.status == 200
    expect(page.get_by_role("button", name="Open my account")).to_be_visible()
    assert not [c for c in context.cookies() if c["name"] == "arc_session"]
    assert portal_openings(local_stack, email["customer_id"]) == opened_before
    shot("landing")
    # When the person presses the button, the account opens and the opening is recorded once
    with page.expect_navigation():
        page.get_by_role("button", name="Open my account").click()
    expect(page.get_by_role("table")).to_be_visible()
    assert [c for c in context.cookies() if c["name"] == "arc_session"]
    assert portal_openings(local_stack, email["customer_id"]) == opened_before + 1


def portal_openings(local_stack: RunningStack, customer_id: str) -> int:
    timeline = local_stack.json("show", "customer", customer_id)["timeline"]
    return sum(1 for entry in timeline if entry["kind"] == "portal_opened")


@pytest.mark.parametrize("which", ["landing", "account", "tampered-link"])
def test_the_pages_have_no_serious_or_critical_accessibility_violations(
    request: pytest.FixtureRequest, browser: Any, shot: Shot, link: str, which: str
) -> None:
    # axe-core is a script: under the page's CSP it cannot run, so this context (only) bypasses the CSP.
    ctx = browser.new_context(bypass_csp=True)
    try:
        axe_page = ctx.new_page()
        axe_page.goto(tampered(link) if which == "tampered-link" else link)
        if which == "account":
            with axe_page.expect_navigation():
                axe_page.get_by_role("button", name="Open my account").click()
        results = run_axe(axe_page)
        report = save_axe_report(request, results)
        shot(which, axe_page)
    finally:
        ctx.close()
    bad = serious_violations(results)
    assert not bad, f"axe-core found serious or critical violations (full list: {report}): " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}" for v in bad
    )


def test_a_tampered_link_shows_the_error_page(
    page: Any, shot: Shot, email: dict[str, Any], link: str
) -> None:
    response = page.goto(tampered(link))
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text("not valid")
    for number in email["invoice_numbers"]:
        expect(page.get_by_text(number)).to_have_count(0)
    expect(page.get_by_role("table")).to_have_count(0)
    shot("error")


# --- the forms ------------------------------------------------------------------------------------


def invoice_row(page: Any, number: str) -> Any:
    return page.get_by_role("row").filter(has_text=number)


def test_a_customer_promises_a_payment_date(
    page: Any, shot: Shot, portal_url: str, emails: list[dict[str, Any]]
) -> None:
    email = emails[0]
    number = email["invoice_numbers"][0]
    open_account(page, link_in(email))
    page.goto(portal_url + "promise")
    page.get_by_role("checkbox", name=re.compile(re.escape(number))).check()
    page.get_by_label("Amount").fill("100.00")  # substring: "Amount", "Amount you will pay"
    # A week from today (the portal takes dates from today up to its limit, 30 days ahead)
    page.get_by_label("Date").fill((date.today() + timedelta(days=7)).isoformat())
    shot("filled")
    page.get_by_role("button", name=re.compile(r"^Promise", re.IGNORECASE)).click()
    expect(page.get_by_role("status")).to_be_visible()
    page.goto(portal_url + "account")
    expect(invoice_row(page, number)).to_contain_text(re.compile("promised", re.IGNORECASE))
    shot("promised")


def test_a_customer_disputes_an_invoice(
    page: Any, shot: Shot, portal_url: str, emails: list[dict[str, Any]]
) -> None:
    email = emails[1 % len(emails)]  # another customer than the promise's, when there is one
    number = email["invoice_numbers"][-1]
    open_account(page, link_in(email))
    page.goto(portal_url + "dispute")
    choose = page.get_by_label("Invoice", exact=True)  # a select of the open invoices, or checkboxes
    if choose.count():
        choose.select_option(number)
    else:
        page.get_by_role("checkbox", name=re.compile(re.escape(number))).check()
    page.get_by_label("Reason").select_option(index=1)
    page.get_by_label(re.compile("Comment|What is wrong", re.IGNORECASE)).fill("The goods arrived damaged.")
    shot("filled")
    page.get_by_role("button", name="Dispute").click()  # substring: "Dispute", "Send the dispute"
    expect(page.get_by_role("status").first).to_be_visible()
    page.goto(portal_url + "account")
    expect(invoice_row(page, number)).to_contain_text(re.compile("disput", re.IGNORECASE))
    shot("disputed")


def test_a_customer_disputes_an_invoice_with_a_pdf_which_is_checked_and_attached(
    page: Any, shot: Shot, portal_url: str, emails: list[dict[str, Any]], tmp_path: Path
) -> None:
    email = emails[2 % len(emails)]
    open_account(page, link_in(email))
    page.goto(portal_url + "dispute")
    choose = page.get_by_label("Invoice", exact=True)
    number = choose.locator("option").nth(1).get_attribute("value")
    choose.select_option(number)
    page.get_by_label("Reason").select_option(index=1)
    page.get_by_label(re.compile("Comment|What is wrong", re.IGNORECASE)).fill("See the delivery note.")
    note = tmp_path / "delivery-note.pdf"
    note.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
    page.get_by_label("Choose a file").set_input_files(str(note))
    page.get_by_role("button", name="Dispute").click()
    expect(page.get_by_role("status").first).to_contain_text("recorded your dispute")
    # The receipt page asks for the file again, posts it to S3, and the portal checks it
    page.get_by_label(re.compile("Choose delivery-note.pdf again")).set_input_files(str(note))
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Document received")
    expect(page.get_by_role("status")).to_contain_text("We have checked delivery-note.pdf")
    shot("attached")


def test_a_customer_downloads_a_statement(page: Any, shot: Shot, email: dict[str, Any], link: str) -> None:
    open_account(page, link)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download statement (CSV)").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    saved = ARTIFACTS / "downloads" / download.suggested_filename
    download.save_as(saved)
    text = Path(saved).read_text()
    for number in email["invoice_numbers"]:
        assert number in text
    shot("account")


def test_a_customer_updates_the_contact_email(page: Any, shot: Shot, portal_url: str, link: str) -> None:
    open_account(page, link)
    page.goto(portal_url + "contact")
    # "Email" or "Accounts payable email", not "Other email addresses"
    email = page.get_by_label(re.compile(r"^(accounts payable )?email", re.IGNORECASE))
    email.fill("payables@example.com")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text(re.compile("saved|updated", re.IGNORECASE))
    expect(email).to_have_value("payables@example.com")
    shot("saved")
