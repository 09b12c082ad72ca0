"""A customer's reply on the 360, in Debian's Chromium, against `arcollect local up` (issue 20, item 5):
"paid yesterday, remittance attached" is delivered as SES would (`arcollect inbox drop`), threaded to
Müller & Söhne by its sender, and the owner finds it on the customer's timeline flagged "Says paid" with
the words that matched, its PDF linked, and its task among the open tasks; axe-core finds no serious or
critical violation on that page. What the test compares the page with comes from `arcollect` (`inbox
drop`, `show customer`), never from the page itself."""

from __future__ import annotations

import csv
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin

import pytest
from playwright.sync_api import expect

from arcollect_cli.generate import CUSTOMER_COLUMNS, INVOICE_COLUMNS
from arcollect_cli.local.spec import DEMO_COLLECTORS
from tests.e2e.browser.conftest import Shot, run_axe, save_axe_report, serious_violations, staff_sign_in
from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e

INBOX = Path(__file__).resolve().parents[2] / "data" / "inbox"
MUELLER = "Müller & Söhne, GmbH"
OWNER = DEMO_COLLECTORS[2]


@pytest.fixture(scope="module")
def filed(local_stack: RunningStack) -> dict[str, Any]:
    """Müller & Söhne (its AP address the reply's sender) ingested, then the reply dropped."""
    today = datetime.now(UTC).date()
    customer = dict.fromkeys(CUSTOMER_COLUMNS, "")
    customer.update(
        customer_id=MUELLER, name="Müller & Söhne GmbH", email="ap@mueller.example", country="DE",
        time_zone="Europe/Berlin", language="de", owner=OWNER,
    )  # fmt: skip
    invoice = dict.fromkeys(INVOICE_COLUMNS, "")
    invoice.update(
        customer_id=MUELLER, invoice_number="INV/2026/0042",
        invoice_date=(today - timedelta(days=60)).isoformat(),
        due_date=(today - timedelta(days=30)).isoformat(), amount="1250.00", currency="EUR",
        open_amount="1250.00", document_type="invoice",
    )  # fmt: skip
    for kind, row in (("customers", customer), ("invoices", invoice)):
        path = local_stack.workdir / f"inbox-{kind}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(row))
            writer.writeheader()
            writer.writerow(row)
        local_stack.json("ingest", str(path), "--kind", kind)
    shutil.copy(INBOX / "paid_remittance.eml", local_stack.workdir / "paid_remittance.eml")
    result: dict[str, Any] = local_stack.json("inbox", "drop", "paid_remittance.eml")
    assert result["customer_id"] == MUELLER, result
    return result


def test_a_threaded_reply_appears_on_the_360_with_its_flag(
    request: pytest.FixtureRequest,
    local_stack: RunningStack,
    browser: Any,
    page: Any,
    shot: Shot,
    filed: dict[str, Any],
) -> None:
    staff_url = local_stack.outputs["Local"]["StaffConsole"].rstrip("/")
    [task] = [t for t in local_stack.json("show", "customer", MUELLER)["tasks"] if t["kind"] == "reply"]
    # When the owner opens the customer's 360
    staff_sign_in(page, staff_url, OWNER)
    page.goto(f"{staff_url}/customers/{quote(MUELLER, safe='')}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Müller & Söhne GmbH")
    # Then the timeline has the reply, flagged with the words that matched, and its PDF linked
    timeline = page.get_by_role("region", name="Timeline")
    expect(timeline.locator(".flag-paid")).to_have_text("Says paid: paid, bank transfer, remittance")
    expect(timeline).to_contain_text("we paid INV/2026/0042 yesterday by bank transfer")
    attachment = timeline.get_by_role("link", name="Remittance INV-2026-0042 über.pdf")
    expect(attachment).to_have_attribute("href", re.compile(r"/reply-attachment\?key=attachments/replies/"))
    # (which answers a short-lived download of that file)
    opened = page.request.get(urljoin(page.url, str(attachment.get_attribute("href"))), max_redirects=0)
    assert opened.status == 303 and "Remittance" in opened.headers["location"], opened.headers
    # And its task is among the open tasks, for the owner
    assert task["assignee"] == OWNER and task["status"] == "open", task
    expect(page.get_by_role("link", name=task["title"])).to_be_visible()
    shot("1-reply-on-360")
    # And axe-core finds nothing serious on that page (a script: only this context bypasses the CSP)
    ctx = browser.new_context(bypass_csp=True)
    try:
        axe_page = ctx.new_page()
        staff_sign_in(axe_page, staff_url, OWNER)
        axe_page.goto(f"{staff_url}/customers/{quote(MUELLER, safe='')}")
        expect(axe_page.locator(".flag-paid")).to_be_visible()
        results = run_axe(axe_page)
        save_axe_report(request, results)
        assert serious_violations(results) == [], serious_violations(results)
    finally:
        ctx.close()
