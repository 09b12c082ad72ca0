"""Every invoices preset against customer ids and invoice numbers as real ERPs hold them (``Brennan & Sons,
PC``, ``Müller/Søn GmbH``, ``株式会社 山田商事``, a padded ``  O'Brien  Ltd ``, ``INV/2026/00187``,
``INV#1042/B``...), end to end through the real handlers against moto: the ERP's file and the customer
master dropped for ingest, the reminder the hourly sweep sends, the portal reached from its link (every
invoice page, pay, dispute, PDF and statement link), the timeline (SES's delivery event included, and the
staff console's 360 view) and the KPI report files. One test per invoices preset; the generic customers
preset is in every one of them, the generic payments preset in the generic one."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit

import boto3
import pytest
import requests
from markupsafe import escape

from arcollect.console import StaffConsole
from arcollect.contract import document_key
from arcollect.dunning.emails import format_money, language_for
from arcollect.portal.web import build_app
from arcollect.store.portal import PortalObjects
from arcollect.store.repositories import Activities, Customers, Invoices
from arcollect.store.staff import StaffSessionStore
from arcollect.workspace.services import Workspace
from arcollect_cli.lambda_runtime import LambdaContext, load_handler
from tests.integration.conftest import invoke, load_event
from tests.integration.dunning_world import Sent, sent_emails
from tests.integration.ingest_flow import ingest
from tests.integration.real_world import (
    ACCOUNTS,
    EXPORTS,
    PAY_BASE,
    PORTAL_HOST,
    STAFF_PASSWORD,
    Browser,
    Document,
    Export,
    customers_file,
    hidden,
    hrefs,
    pay_url,
    staff_directory,
    utc,
)

HOME_CURRENCY = "USD"
DROP = os.environ["DROP_BUCKET"]
REPORTS = os.environ["REPORTS_BUCKET"]
# A day whose every hour (UTC) reaches one customer's 09:00-11:00 send window, Tokyo to Chicago.
TICKS = [utc(2026, 11, 24) + timedelta(hours=hour) for hour in range(16)]
BROWSED_AT = utc(2026, 11, 24, 16)
SES_TAG = re.compile(r"[A-Za-z0-9_-]{1,256}")
TOKEN = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
# Each invoice is already late when first loaded: the go-live statement is its first email.
SUBJECTS = {
    "en": "Statement of your overdue invoice {number} ({total})",
    "de": "Kontoauszug: überfällige Rechnung {number} ({total})",
    "fr": "Relevé de votre facture échue {number} ({total})",
}
GREETINGS = {"en": "Dear {name},", "de": "Guten Tag {name},", "fr": "Bonjour {name},"}
LABELS = {"en": "Invoice", "de": "Rechnung", "fr": "Facture"}


def neutralise(text: str) -> str:
    """A spreadsheet cell's text as exports must write it: one that starts like a formula gets a quote."""
    return f"'{text}" if text.startswith(("=", "+", "-", "@")) else text


@dataclass
class Sends:
    """What the dunning function handed SES: the tags of each message and the id SES gave it."""

    tags: list[dict[str, str]]
    message_ids: list[str]


@pytest.fixture
def ses_sends(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sends]:
    # moto takes any message tag; SES refuses a message whose tag values leave [A-Za-z0-9_-]. A spy on
    # the dunning function's mailer keeps what reached SES, to hold it to SES's rule.
    mailer = load_handler("dunning").app.mailer
    sends = Sends([], [])
    send = mailer.send

    def spy(*, sender: str, to: list[str], raw: bytes, tags: dict[str, str]) -> str:
        message_id = send(sender=sender, to=to, raw=raw, tags=tags)
        sends.tags.append(dict(tags))
        sends.message_ids.append(message_id)
        return message_id

    monkeypatch.setattr(mailer, "send", spy)
    yield sends


@pytest.mark.parametrize("preset", sorted(EXPORTS))
def test_real_world_ids_go_through_ingest_dunning_portal_timeline_and_reports(
    preset: str, ses_sends: Sends, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The presets without a currency column take the deployment's home currency: fix it.
    monkeypatch.setenv("HOME_CURRENCY", HOME_CURRENCY)
    export = EXPORTS[preset](HOME_CURRENCY)

    # Given the customer master and the ERP's open items, each dropped as the ERP would
    ingested(export)
    # And the invoice PDFs the ERP dropped beside them, named by invoice number
    s3 = boto3.client("s3")
    for document in export.documents:
        s3.put_object(Bucket=DROP, Key=document_path(document), Body=pdf(document))

    # When the hourly sweep runs through the day the reminders fall due
    for at in TICKS:
        invoke("dunning", dict(load_event("scheduler_tick.json"), time=at.isoformat()))

    # Then each customer got one reminder showing its id and invoice number exactly
    emails = {email.customer_id: email for email in sent_emails()}
    assert sorted(emails) == sorted(a.customer_id for a in ACCOUNTS)
    assert len(sent_emails()) == len(ACCOUNTS)
    links = {
        document.account.customer_id: reminder(emails[document.account.customer_id], document)
        for document in export.documents
    }
    # And SES got only tag values it takes, the customer's id recoverable from them
    assert len(ses_sends.tags) == len(ACCOUNTS)
    for tags in ses_sends.tags:
        assert all(SES_TAG.fullmatch(name) and SES_TAG.fullmatch(value) for name, value in tags.items()), tags

    for document in export.documents:
        customer_id = document.account.customer_id
        # When the customer follows the link in the email
        portal_visit(links[customer_id], document, pay_link=export.preset == "generic", texts=export.texts)
        # And SES reports the email delivered
        index = [t["touch_id"] for t in ses_sends.tags].index(emails[customer_id].touch)
        delivered(ses_sends.tags[index], ses_sends.message_ids[index], document)
        # Then the customer's timeline has the email, its delivery, the visit and the dispute, ids intact
        timeline_shows(document, ses_sends.message_ids[index])

    # And the staff console's 360 view of each customer shows the same timeline
    staff_360(export.documents)

    # When the daily report runs
    result = invoke("reports", {"action": "run", "as_of": "2026-11-24", "cadence": "daily"})
    # Then its files name every customer exactly: JSON as is, CSV and XLSX quoted and neutralised, HTML
    # escaped
    assert "kpi/2026-11-24/customers-by-risk.csv" in result["written"]
    reports_show(export.documents)


# --- ingest ---------------------------------------------------------------------------------------------


def ingested(export: Export) -> None:
    customers = ingest("incoming/customers/customers.csv", customers_file(ACCOUNTS))
    assert (customers["accepted"], customers["rejected"]) == (len(ACCOUNTS), 0)
    summary = ingest(f"incoming/invoices/{export.preset}/{export.filename}", export.body)
    counts = (summary["rows_read"], summary["accepted"], summary["skipped"], summary["rejected"])
    assert counts == (export.rows, export.accepted, export.skipped, 0), summary
    if export.payments is not None:
        paid = ingest("incoming/payments/payments.csv", export.payments)
        assert (paid["accepted"], paid["rejected"], paid["payments_applied"]) == (
            export.payments_accepted,
            0,
            export.payments_accepted,
        ), paid
    # Every invoice landed on its customer of the master, the blanks around the id trimmed alike on both
    # sides: no placeholder customer was made for an id spelled differently.
    assert summary["placeholders_created"] == 0
    for document in export.documents:
        customer_id = document.account.customer_id
        customer = Customers().get(customer_id)
        assert customer is not None and (customer.name, customer.email) == (
            document.account.name,
            document.account.email,
        )
        invoice = Invoices().get(customer_id, document.number)
        assert invoice is not None, (customer_id, document.number)
        assert (invoice.customer_id, invoice.invoice_number) == (customer_id, document.number)
        stored = (
            invoice.amount,
            invoice.open_amount,
            invoice.currency,
            invoice.invoice_date,
            invoice.due_date,
        )
        assert stored == (
            document.amount,
            document.open_amount,
            document.currency,
            document.invoice_date,
            document.due_date,
        )


def pdf(document: Document) -> bytes:
    return f"%PDF-1.4 invoice {document.number}".encode()


# --- the dunning email ----------------------------------------------------------------------------------


def reminder(email: Sent, document: Document) -> str:
    """Check one reminder; the portal link it carries."""
    account = document.account
    customer = Customers().get(account.customer_id)
    assert customer is not None
    language = language_for(customer)
    total = format_money(document.open_amount, document.currency, language)
    assert (email.step, email.invoices, email.to) == ("golive_statement", [document.number], [account.email])
    # (A subject is one line of single spaces: the French no-break spaces become plain ones there.)
    subject = SUBJECTS[language].format(number=document.number, total=total)
    assert email.subject == " ".join(subject.split())
    text_part = email.message.get_body(("plain",))
    html_part = email.message.get_body(("html",))
    assert text_part is not None and html_part is not None
    text, page = text_part.get_content(), html_part.get_content()
    greeting = GREETINGS[language].format(name=account.name)
    # The plain text shows the name and number as they are; the HTML escapes them (& ' " < >).
    assert greeting in text
    assert re.search(rf"^{LABELS[language]} {re.escape(document.number)}( \(|$)", text, re.MULTILINE), text
    assert f">{escape(greeting)}</p>" in page and f"<strong>{escape(document.number)}</strong>" in page
    if escape(account.name) != account.name:
        assert account.name not in page
    # One portal link, the same in both parts: https on the portal's host, a signed token naming exactly
    # this customer, nothing else in it.
    [link] = set(re.findall(r"https://portal\.example\.com/\S*", text))
    assert set(re.findall(r'href="(https://portal[^"]*)"', page)) == {str(escape(link))}
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.query, parts.fragment) == ("https", PORTAL_HOST, "", "")
    token = parts.path.removeprefix("/l/")
    assert TOKEN.fullmatch(token), link
    payload = token.split(".")[0]
    assert (
        json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["c"] == account.customer_id
    )
    return link


# --- the portal ------------------------------------------------------------------------------------------


def portal_visit(link: str, document: Document, *, pay_link: bool, texts: frozenset[str]) -> None:
    browser = Browser(BROWSED_AT)
    number, segment = document.number, quote(document.number, safe="")
    # The link shows a landing page (a prefetching mail scanner opens nothing); its button opens it
    opened = browser.follow_link(link)
    assert (opened.status, opened.headers["Location"]) == (303, ["/account"])

    # The account lists the invoice, its page linked with the number as ONE path segment
    account = browser.get("/account")
    assert account.status == 200
    assert f">{escape(number)}</a></th>" in account.text
    invoice_links = [h for h in hrefs(account.text) if h.startswith("/invoices/")]
    expected = [f"/invoices/{segment}"] + ([f"/invoices/{segment}/pay"] if pay_link else [])
    assert invoice_links == expected

    # The invoice's page, reached by that link (no 404, no double decoding)
    page = browser.get(invoice_links[0])
    assert page.status == 200, page.text
    assert f'<h2 id="facts-title">Invoice {escape(number)}</h2>' in page.text
    links = hrefs(page.text)
    # Pay: to the ERP's pay link (the generic file has one per invoice), else "cannot be paid online"
    pay = browser.get(f"/invoices/{segment}/pay")
    if pay_link:
        assert f"/invoices/{segment}/pay" in links
        assert (pay.status, pay.headers["Location"]) == (303, [pay_url(number)])
        assert pay_url(number) == PAY_BASE + segment
    else:
        assert (pay.status, "cannot be paid online" in pay.text) == (400, True)
        assert f'href="/invoices/{segment}"' in pay.text  # back to the invoice, a working link
    # The PDF: a presigned link to the object the ERP dropped, which S3 serves
    [document_url] = [h for h in links if h.startswith("https://") and "amazonaws.com" in h]
    assert unquote(urlsplit(document_url).path) == "/" + document_path(document)
    downloaded = requests.get(document_url, timeout=10)
    assert (downloaded.status_code, downloaded.content) == (200, pdf(document))
    # Dispute: the form comes with this invoice chosen, and a dispute of it is recorded
    [dispute_link] = [h for h in links if h.startswith("/dispute?")]
    form = browser.get(dispute_link)
    assert form.status == 200
    assert f'<option value="{escape(number)}" selected>' in form.text
    done = browser.post(
        "/dispute",
        {
            "csrf_token": hidden(form.text, "csrf_token"),
            "invoice_number": number,
            "reason": "wrong_amount_or_price",
            "comment": f"{number}: the price is not what {document.account.name} agreed",
        },
    )
    assert done.status == 200, done.text
    assert escape(number) in done.text

    # The statement: the number and the customer as text cells, formulas neutralised, CSV quoted
    statement = browser.get("/statement.csv")
    assert statement.status == 200
    disposition = statement.header("Content-Disposition")
    assert re.fullmatch(r'attachment; filename="statement-[A-Za-z0-9_.-]+-2026-11-24\.csv"', disposition)
    rows = list(csv.reader(io.StringIO(statement.body.decode("utf-8-sig"))))
    assert rows[1:3] == [
        ["Customer", neutralise(document.account.name)],
        ["Customer number", neutralise(document.account.customer_id)],
    ]
    [line] = [row for row in rows if row and row[0] == number]
    assert line[9:11] == [
        neutralise(document.po_number) if "po_number" in texts else "",
        neutralise(document.description) if "description" in texts else "",
    ]
    workbook = load_xlsx(browser.get("/statement.xlsx").body)
    cells = [[c for c in row if c is not None] for row in workbook["Statement"].iter_rows(values_only=True)]
    assert cells[2] == ["Customer number", neutralise(document.account.customer_id)]
    assert [row[0] for row in cells if row and row[0] == number] == [number]

    # The JSON API names the invoice by the same encoded segment
    api = browser.get(f"/api/v1/invoices/{segment}")
    assert api.status == 200, api.text
    assert json.loads(api.body)["invoice"]["invoice_number"] == number

    # The messages page lists the reminder
    messages = browser.get("/messages")
    assert messages.status == 200
    assert f"to {escape(document.account.email)}</td>" in messages.text


def load_xlsx(body: bytes) -> Any:
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    return load_workbook(io.BytesIO(body), read_only=True)


# --- the timeline ----------------------------------------------------------------------------------------


def delivered(tags: dict[str, str], message_id: str, document: Document) -> None:
    """SES's Delivery event for the message, with the tags it was sent with, through EventBridge."""
    event = load_event("ses_bounce.json")
    detail = event["detail"]
    event["detail-type"] = "Email Delivered"
    event["time"] = "2026-11-24T15:30:00Z"
    del detail["bounce"]
    detail["eventType"] = "Delivery"
    detail["delivery"] = {
        "timestamp": "2026-11-24T15:29:59.000Z",
        "recipients": [document.account.email],
        "smtpResponse": "250 2.0.0 OK",
    }
    detail["mail"].update(
        messageId=message_id,
        destination=[document.account.email],
        tags={"ses:configuration-set": ["arcollect-test"], **{name: [value] for name, value in tags.items()}},
    )
    outcome = invoke("dunning", event)
    assert (outcome["message_id"], outcome["event_type"], outcome["recorded"]) == (
        message_id,
        "Delivery",
        True,
    )


def timeline_shows(document: Document, message_id: str) -> None:
    timeline = Activities().timeline(document.account.customer_id)
    kinds = [entry.kind for entry in timeline]
    for kind in ("email_sent", "email_delivery", "portal_opened", "dispute_opened"):
        assert kinds.count(kind) == 1, kinds
    [sent] = [entry for entry in timeline if entry.kind == "email_sent"]
    assert (sent.customer_id, sent.detail["invoices"], sent.activity_id) == (
        document.account.customer_id,
        document.number,
        message_id,
    )
    [dispute] = [entry for entry in timeline if entry.kind == "dispute_opened"]
    assert document.number in dispute.summary


def document_path(document: Document) -> str:
    """Where the ERP drops the invoice's PDF: by customer, and by company code where the ERP has one
    (SAP's numbers repeat across company codes)."""
    invoice = Invoices().get(document.account.customer_id, document.number)
    assert invoice is not None
    return document_key(invoice.customer_id, invoice.invoice_number, invoice.company_code)


def staff_360(documents: tuple[Document, ...]) -> None:
    """A collector signs in to the staff console (the portal function's pages and Portal, with a console
    on a moto user pool: the tests' function has none) and goes to each customer by its id as typed."""
    handler = load_handler("portal")
    console = StaffConsole(
        workspace=Workspace(
            policies=handler.app.policies,
            mailer=handler.app.mailer,
            sender=os.environ["SENDER_EMAIL"],
            reports=PortalObjects(),
            reports_bucket=REPORTS,
        ),
        directory=staff_directory(),
        sessions=StaffSessionStore(),
    )
    app = build_app(handler.app.portal_at, environment_name="test", staff=console)
    staff = Browser(BROWSED_AT, send=lambda event: app.resolve(event, LambdaContext("arcollect-portal")))
    form = staff.get("/staff/sign-in")
    signed_in = staff.post(
        "/staff/sign-in",
        {"username": "cora", "password": STAFF_PASSWORD, "csrf_token": hidden(form.text, "csrf_token")},
    )
    assert signed_in.status == 303, signed_in.text
    for document in documents:
        customer_id = document.account.customer_id
        # "Go to customer" with the id as typed: the console answers with the 360's address
        found = staff.get(f"/staff/customers?{urlencode({'customer_id': customer_id})}")
        assert (found.status, found.headers["Location"]) == (
            303,
            [f"/staff/customers/{quote(customer_id, safe='')}"],
        )
        page = staff.get(found.header("Location"))
        assert page.status == 200, page.text
        assert f'Customer <span class="id">{escape(customer_id)}</span>' in page.text
        assert f"<dd>{escape(document.number)}</dd>" in page.text  # the reminder's invoices
        assert "Customer opened the portal from a link" in page.text


# --- the reports -----------------------------------------------------------------------------------------


def report(name: str) -> bytes:
    return bytes(boto3.client("s3").get_object(Bucket=REPORTS, Key=f"kpi/2026-11-24/{name}")["Body"].read())


def reports_show(documents: tuple[Document, ...]) -> None:
    accounts = [d.account for d in documents]
    document = json.loads(report("kpis.json"))
    assert sorted((c["customer_id"], c["name"]) for c in document["customers_by_risk"]) == sorted(
        (a.customer_id, a.name) for a in accounts
    )
    text = report("customers-by-risk.csv").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][1:3] == ["Customer number", "Name"]
    assert sorted((row[1], row[2]) for row in rows[1:]) == sorted(
        (neutralise(a.customer_id), neutralise(a.name)) for a in accounts
    )
    # Commas and quotes are CSV-quoted; a leading @ gets the quote that keeps it from being a formula.
    assert '"Brennan & Sons, PC","Brennan & Sons, PC"' in text
    assert '"\'@Home Interiors, LLC","\'@Home ""Loft"" Interiors, LLC"' in text
    workbook = load_xlsx(report("kpi-report.xlsx"))
    listed = [row[1:3] for row in workbook["Customers by risk"].iter_rows(min_row=2, values_only=True)]
    assert sorted(listed) == sorted((neutralise(a.customer_id), neutralise(a.name)) for a in accounts)
    page = report("summary.html").decode()
    for account in accounts:
        assert f"<td>{escape(account.customer_id)}</td><td>{escape(account.name)}</td>" in page


# --- Unicode forms ----------------------------------------------------------------------------------------


def test_an_id_written_with_decomposed_accents_is_the_masters_customer(aws: None) -> None:
    # Given the master naming the customer with composed accents (NFC, as typed on most systems)
    ingest("incoming/customers/customers.csv", customers_file(ACCOUNTS))
    french = next(d for d in EXPORTS["generic"](HOME_CURRENCY).documents if d.account.country == "FR")
    decomposed = unicodedata.normalize("NFD", french.account.customer_id)
    assert decomposed != french.account.customer_id
    # When an export spells the same name with decomposed accents
    body = (
        "customer_id,invoice_number,invoice_date,due_date,amount,currency\n"
        f'"{decomposed}",{french.number},2026-10-05,2026-11-04,1150.00,EUR\n'
    ).encode()
    summary = ingest("incoming/invoices/generic/open_items.csv", body)
    # Then the invoice is the master's customer's, and no look-alike customer is made
    assert (summary["accepted"], summary["placeholders_created"]) == (1, 0)
    assert Invoices().get(french.account.customer_id, french.number) is not None
