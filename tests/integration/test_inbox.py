"""The replies inbox against moto, through the handlers: a reminder sent by the dunning function carries
its own reply address; the customer's answer, written by SES under inbox/ in the drop bucket, reaches
the ingest function through the S3 notification and is threaded to its customer and touch (by that
address, by In-Reply-To, by the sender), filed once in the timeline with its attachments and flags, and
makes a task for the owner. Auto-replies are filed and make none; the unknown and the unreadable go to
the managers' unassigned list."""

from __future__ import annotations

import html
import json
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import boto3
import pytest

from arcollect.console import StaffConsole
from arcollect.entities import Activity, Customer, Invoice, Task
from arcollect.inbox.filing import UNTHREADED
from arcollect.portal.web import build_app
from arcollect.replies import thread_key, token_of
from arcollect.settings import get_settings
from arcollect.store.keys import UNASSIGNED
from arcollect.store.portal import PortalObjects
from arcollect.store.repositories import Accounts, Activities, Customers, Invoices, Tasks
from arcollect.store.staff import StaffSessionStore
from arcollect.workspace.services import Workspace
from arcollect_cli.lambda_runtime import LambdaContext, load_handler
from tests.integration.conftest import invoke, load_event
from tests.integration.dunning_world import sent_emails
from tests.integration.ingest_flow import deliver, upload
from tests.integration.real_world import STAFF_PASSWORD, Browser, hidden, hrefs, staff_directory, utc
from tests.integration.test_ingest_handler import notification

DATA = Path(__file__).resolve().parent.parent / "data" / "inbox"
DOMAIN = "replies.example.com"
PLACEHOLDER_TOKEN = "a" * 24
PLACEHOLDER_ID = "00000000-placeholder-0000@email.amazonses.com"
CUSTOMER = "Müller & Söhne, GmbH"
INVOICE = "INV/2026/0042"
TICK_AT = "2026-11-23T09:00:00Z"  # a Monday, 10:00 in Berlin
OWNER = "dana@seller.example"


@pytest.fixture
def inbound(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The stack deployed with an inbound domain: both functions read it at their cold start."""
    monkeypatch.setenv("INBOUND_DOMAIN", DOMAIN)
    get_settings.cache_clear()
    load_handler("dunning", fresh=True)
    load_handler("ingest", fresh=True)
    yield
    monkeypatch.delenv("INBOUND_DOMAIN")
    get_settings.cache_clear()
    load_handler("dunning", fresh=True)
    load_handler("ingest", fresh=True)


def a_customer(customer_id: str = CUSTOMER, email: str = "ap@mueller.example", **changes: Any) -> None:
    customer = Customer(
        customer_id=customer_id,
        name=customer_id,
        email=email,
        country="DE",
        time_zone="Europe/Berlin",
        owner=changes.pop("owner", OWNER),
        **changes,
    )
    Customers().save(customer)
    # As ingest does for the customers it loads: "which customer is this address?"
    Accounts().index_contacts([customer])
    Invoices().save(
        Invoice(
            customer_id=customer_id,
            invoice_number=INVOICE,
            currency="EUR",
            amount=Decimal("1190.00"),
            open_amount=Decimal("1190.00"),
            invoice_date=date(2026, 10, 23),
            due_date=date(2026, 11, 22),
            next_action_at=datetime(2026, 11, 23, 8, tzinfo=UTC),
            steps_done=("outreach", "courtesy"),
        )
    )


def tick() -> None:
    invoke("dunning", dict(load_event("scheduler_tick.json"), time=TICK_AT))


def fixture(name: str, *, token: str | None = None, in_reply_to: str | None = None) -> bytes:
    raw = (DATA / name).read_bytes()
    if token:
        raw = raw.replace(PLACEHOLDER_TOKEN.encode(), token.encode())
    if in_reply_to:
        raw = raw.replace(PLACEHOLDER_ID.encode(), in_reply_to.encode())
    return raw


def receive(raw: bytes, key: str = "inbox/0abc1def2ghi3jkl") -> None:
    """SES's receipt rule writes the message; S3 notifies the ingest queue; the function takes it."""
    version = upload(key, raw)
    deliver(notification(key, version, len(raw)))


def replies(customer_id: str = CUSTOMER) -> list[Activity]:
    return [a for a in Activities().timeline(customer_id) if a.kind.endswith("reply_received")]


def reply_tasks(customer_id: str = CUSTOMER) -> list[Task]:
    return [t for t in Tasks().for_customer(customer_id) if t.kind == "reply"]


def reply_token() -> str:
    [sent] = sent_emails()
    token = token_of(str(sent.message["Reply-To"].addresses[0].addr_spec), DOMAIN)
    assert token is not None
    return token


def test_a_reminder_carries_its_own_reply_address_on_the_inbound_domain(inbound: None) -> None:
    # Given a customer with an invoice due
    a_customer()
    # When the dunning function sends the reminder
    tick()
    # Then its Reply-To is a per-touch address on the inbound domain, in the owner's name, within the
    # 64 octets a local part may have
    [sent] = sent_emails()
    [reply_to] = sent.message["Reply-To"].addresses
    assert reply_to.domain == DOMAIN
    assert reply_to.username.startswith("reply+") and len(reply_to.username.encode()) <= 64
    assert token_of(reply_to.addr_spec, DOMAIN) is not None
    assert reply_to.addr_spec != OWNER  # the owner signs; the inbox receives


def test_without_an_inbound_domain_the_reply_to_is_the_owners_mailbox(aws: None) -> None:
    a_customer()
    tick()
    [sent] = sent_emails()
    assert "reply+" not in str(sent.message["Reply-To"])


def test_paid_yesterday_with_a_remittance_pdf_is_threaded_by_its_address_and_filed_once(
    inbound: None,
) -> None:
    # Given a reminder sent, and the customer's answer to its reply address with a PDF attached
    a_customer()
    tick()
    [sent] = sent_emails()
    raw = fixture("paid_remittance.eml", token=reply_token())
    # When SES delivers it, and delivers it again (SES and S3 are at least once)
    receive(raw, key="inbox/first-delivery")
    receive(raw, key="inbox/first-delivery")
    receive(raw, key="inbox/second-copy")
    # Then it is in the customer's timeline once, threaded to the touch, flagged with the words
    [reply] = replies()
    assert reply.kind == "reply_received"
    assert reply.detail["threaded_by"] == "reply address"
    assert reply.detail["touch_id"] == sent.touch
    assert reply.detail["says_paid"] == "paid, bank transfer, remittance"
    assert "disputes" not in reply.detail
    assert reply.detail["from_name"] == "Zoë Łukasiewicz"
    assert "> Dear customer" not in reply.detail["text"]  # the quoted reminder is not theirs
    # With its attachment kept in the drop bucket, byte for byte
    [attachment] = json.loads(reply.detail["attachments"])
    assert attachment["name"] == "Remittance INV-2026-0042 über.pdf"
    assert attachment["type"] == "application/pdf"
    body = boto3.client("s3").get_object(Bucket=os.environ["DROP_BUCKET"], Key=attachment["key"])["Body"]
    assert body.read().startswith(b"%PDF-1.4")
    assert attachment["key"].startswith("attachments/replies/Müller & Söhne, GmbH/")
    # And one task for the owner, saying what the reply says
    [task] = reply_tasks()
    assert task.assignee == OWNER
    assert "says paid (paid, bank transfer, remittance)" in task.title


def test_a_french_dispute_is_threaded_by_in_reply_to_sess_message_id(inbound: None) -> None:
    # Given a reminder SES accepted (SES replaces our Message-ID by <its id>@email.amazonses.com)
    a_customer("Dupont Frères", email="compta@dupont-freres.example", owner="ali@seller.example")
    tick()
    ses_id = next(a for a in Activities().timeline("Dupont Frères") if a.kind == "email_sent").activity_id
    # When the customer answers by a Cc to an address we never gave, naming SES's id in In-Reply-To
    receive(fixture("dispute_fr.eml", in_reply_to=f"{ses_id}@email.amazonses.com"))
    # Then the headers thread it, and it is flagged as a dispute with the words in their spelling
    [reply] = replies("Dupont Frères")
    assert reply.detail["threaded_by"] == "In-Reply-To"
    assert reply.detail["disputes"] == "contestons, erroné, endommagée"
    assert reply.detail["from_name"] == "Françoise Léger"
    assert reply.detail["subject"] == "RE : Rappel de paiement"
    [task] = reply_tasks("Dupont Frères")
    assert task.assignee == "ali@seller.example"


def test_a_reply_naming_our_own_message_id_is_threaded_too(inbound: None) -> None:
    # The local stack's SES keeps our Message-ID: the reminder's own id threads as well.
    a_customer()
    tick()
    [sent] = sent_emails()
    ours = str(sent.message["Message-ID"]).strip("<>")
    assert thread_key(ours)
    receive(fixture("dispute_fr.eml", in_reply_to=ours))
    [reply] = replies()
    assert reply.detail["threaded_by"] == "In-Reply-To"


def test_a_german_out_of_office_is_filed_makes_no_task_and_pauses_nothing(inbound: None) -> None:
    a_customer()
    tick()
    before = Invoices().get(CUSTOMER, INVOICE)
    receive(fixture("out_of_office_de.eml", token=reply_token()))
    [reply] = replies()
    assert reply.kind == "auto_reply_received"
    assert reply.detail["auto_reply"] == "auto-submitted: auto-replied"
    assert reply.summary.startswith("Automatic reply from Jürgen Müller <j.mueller@mueller.example>")
    assert reply_tasks() == []
    assert Invoices().get(CUSTOMER, INVOICE) == before  # nothing paused, nothing rescheduled


def test_a_reply_from_a_known_contact_without_address_or_headers_is_threaded_by_its_sender(
    inbound: None,
) -> None:
    a_customer()
    raw = fixture("paid_remittance.eml")  # the placeholder token: never given
    receive(raw)
    [reply] = replies()
    assert reply.detail["threaded_by"] == "sender"
    assert "touch_id" not in reply.detail


def test_a_message_to_an_unknown_token_from_a_stranger_is_a_task_for_the_managers(inbound: None) -> None:
    a_customer()
    receive(fixture("unknown_token.eml"))
    assert replies() == []
    [entry] = [a for a in Activities().timeline(UNTHREADED)]
    assert "reply address zzzzzzzzzzzzzzzzzzzzzzzz unknown" in entry.detail["threaded_by"]
    [task] = reply_tasks(UNTHREADED)
    assert task.assignee == UNASSIGNED  # the list the managers hand out
    assert "office@stranger.example" in task.title


def test_an_unreadable_object_is_recorded_with_why_never_dropped(inbound: None) -> None:
    receive(b"\x00\x01\x02 this is not an email \xff", key="inbox/garbage")
    receive(b"\x00\x01\x02 this is not an email \xff", key="inbox/garbage")
    [entry] = Activities().timeline(UNTHREADED)
    assert entry.kind == "reply_unreadable"
    assert "not an email message" in entry.detail["error"]
    assert entry.detail["raw_key"] == "inbox/garbage"
    [task] = reply_tasks(UNTHREADED)
    assert "could not be read" in task.title


def test_the_360_shows_a_reply_with_its_flag_and_opens_its_attachment(inbound: None) -> None:
    # Given a customer's "paid yesterday" reply, filed through the ingest function
    a_customer()
    receive(fixture("paid_remittance.eml"))
    # When a collector opens the customer's 360 in the staff console
    handler = load_handler("portal")
    staff = StaffConsole(
        workspace=Workspace(
            policies=handler.app.policies,
            mailer=handler.app.mailer,
            sender=os.environ["SENDER_EMAIL"],
            reports=PortalObjects(),
            drop_bucket=os.environ["DROP_BUCKET"],
        ),
        directory=staff_directory("cora"),
        sessions=StaffSessionStore(),
    )
    app = build_app(handler.app.portal_at, environment_name="test", staff=staff)
    browser = Browser(utc(2026, 11, 24, 9), send=lambda event: app.resolve(event, LambdaContext("portal")))
    form = browser.get("/staff/sign-in")
    signed_in = browser.post(
        "/staff/sign-in",
        {"username": "cora", "password": STAFF_PASSWORD, "csrf_token": hidden(form.text, "csrf_token")},
    )
    assert signed_in.status == 303, signed_in.text
    path = "/staff/customers/" + quote(CUSTOMER, safe="")
    page = browser.get(path)
    # Then the reply is on the timeline with its flag and the words, and its task is open
    assert page.status == 200, page.text
    assert "Says paid:</strong> paid, bank transfer, remittance" in page.text
    assert "Read the reply from Zoë Łukasiewicz" in page.text
    [link] = [h for h in hrefs(page.text) if "/reply-attachment?key=" in h]
    assert "Remittance INV-2026-0042 über.pdf" in page.text
    # And its attachment opens through a short-lived link to that file only
    opened = browser.get(html.unescape(link))
    assert opened.status == 303
    assert "attachments/replies/" in unquote(opened.header("Location"))
    forged = browser.get(path + "/reply-attachment?key=" + quote("incoming/invoices/secret.csv", safe=""))
    assert forged.status == 404
