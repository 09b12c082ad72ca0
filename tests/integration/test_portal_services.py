"""The portal's domain services against moto: sessions, links, account, promises, disputes, contacts."""

from __future__ import annotations

import csv
import io
import os
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import boto3
import pytest

from arcollect.calendar import Calendar
from arcollect.contract import document_key
from arcollect.entities import Invoice, Promise
from arcollect.policy import shipped_policy
from arcollect.portal.access import LinkRevoked, NotFound, RateLimited, index_contacts
from arcollect.portal.inputs import PortalInputError
from arcollect.portal.links import LinkExpired, LinkInvalid, sign_token
from arcollect.portal.self_service import Portal
from arcollect.portal.views import InvoiceFilter, InvoiceSort
from arcollect.promises import promise_to_pay
from arcollect.store.mail import SesMailer
from arcollect.store.models import EmailLookupItem, PortalSessionItem
from arcollect.store.repositories import Customers, Invoices
from arcollect.store.secrets import link_signing_key
from tests.integration.dunning_world import World, sent_emails, utc

NOW = utc(2026, 3, 10, 9)
TODAY = NOW.date()
PAY_TEMPLATE = "https://pay.example.com/?invoice={invoice_number}&amount={open_amount}&currency={currency}"


def key() -> bytes:
    return link_signing_key(os.environ["LINK_SECRET_ARN"])


def make_portal(**changes: Any) -> Portal:
    arguments: dict[str, Any] = {
        "link_key": key,
        "policies": shipped_policy,
        "mailer": SesMailer(configuration_set=os.environ["SES_CONFIGURATION_SET"]),
        "sender": os.environ["SENDER_EMAIL"],
        "portal_base_url": os.environ["PORTAL_BASE_URL"],
        "drop_bucket": os.environ["DROP_BUCKET"],
        "payment_url_template": PAY_TEMPLATE,
    }
    arguments.update(changes)
    return Portal(**arguments)


@pytest.fixture
def world(aws: None) -> World:
    world = World()
    world.customer("C-1", email="ap@one.example", other_emails=("Billing@One.example",))
    world.customer("C-2", email="ap@two.example", owner=None)
    due = date(2026, 3, 1)
    world.invoice("INV-1", invoice_date=date(2026, 2, 1), due_date=due)
    world.invoice("INV-2", invoice_date=date(2026, 2, 1), due_date=due, amount="250.00")
    world.invoice(
        "INV-3", invoice_date=date(2026, 3, 1), due_date=date(2026, 3, 31), amount="80.00", currency="USD"
    )
    world.invoice(
        "CN-1",
        invoice_date=date(2026, 2, 5),
        due_date=date(2026, 2, 5),
        amount="100.00",
        document_type="credit_note",
    )
    world.invoice("B-1", customer_id="C-2", invoice_date=date(2026, 2, 1), due_date=due, amount="999.00")
    index_contacts([c for c in (Customers().get("C-1"), Customers().get("C-2")) if c is not None])
    return world


@pytest.fixture
def portal(world: World) -> Portal:
    return make_portal()


# --- access ---------------------------------------------------------------------------------------------


def test_a_link_opens_a_session_that_idles_out_and_ends(portal: Portal) -> None:
    session = portal.open_link(sign_token("C-1", key=key(), now=NOW), now=NOW)
    assert session.customer_id == "C-1"
    assert len(session.session_id) >= 43 and session.csrf_token
    assert session.expires_at == NOW + timedelta(hours=8)

    later = portal.resume(session.session_id, now=NOW + timedelta(minutes=25))
    assert later is not None and later.last_seen_at == NOW + timedelta(minutes=25)
    # 25 + 29 minutes: still alive because resuming moved last-seen.
    assert portal.resume(session.session_id, now=NOW + timedelta(minutes=54)) is not None
    assert portal.resume(session.session_id, now=NOW + timedelta(minutes=85)) is None
    assert portal.resume(session.session_id, now=NOW + timedelta(minutes=86)) is None  # deleted

    other = portal.open_link(sign_token("C-1", key=key(), now=NOW), now=NOW)
    portal.end(other.session_id)
    assert portal.resume(other.session_id, now=NOW) is None
    assert portal.resume("no-such-session", now=NOW) is None


def test_a_session_ends_after_eight_hours_however_busy(portal: Portal) -> None:
    session = portal.open_link(sign_token("C-1", key=key(), now=NOW), now=NOW)
    at = NOW
    while at < NOW + timedelta(hours=8) - timedelta(minutes=20):
        at += timedelta(minutes=20)
        assert portal.resume(session.session_id, now=at) is not None
    assert portal.resume(session.session_id, now=NOW + timedelta(hours=8)) is None


def test_forged_tampered_expired_and_unknown_links_are_refused(portal: Portal) -> None:
    token = sign_token("C-1", key=key(), now=NOW)
    with pytest.raises(LinkInvalid):
        portal.open_link(sign_token("C-1", key=b"not our key", now=NOW), now=NOW)
    payload, _, signature = token.partition(".")
    with pytest.raises(LinkInvalid):
        portal.open_link(f"{payload}x.{signature}", now=NOW)
    with pytest.raises(LinkExpired):
        portal.open_link(token, now=NOW + timedelta(days=30))
    with pytest.raises(LinkInvalid):
        portal.open_link(sign_token("C-404", key=key(), now=NOW), now=NOW)


def test_revoking_ends_older_links_and_sessions_but_not_newer_links(portal: Portal) -> None:
    old = sign_token("C-1", key=key(), now=NOW)
    session = portal.open_link(old, now=NOW)
    other_customer = portal.open_link(sign_token("C-2", key=key(), now=NOW), now=NOW)

    portal.revoke_links("C-1", now=NOW + timedelta(minutes=5))

    with pytest.raises(LinkRevoked):
        portal.open_link(old, now=NOW + timedelta(minutes=6))
    assert portal.resume(session.session_id, now=NOW + timedelta(minutes=6)) is None
    assert portal.resume(other_customer.session_id, now=NOW + timedelta(minutes=6)) is not None
    fresh = sign_token("C-1", key=key(), now=NOW + timedelta(minutes=7))
    assert portal.open_link(fresh, now=NOW + timedelta(minutes=8)).customer_id == "C-1"
    assert any(a.kind == "links_revoked" for a in World().timeline("C-1"))
    with pytest.raises(NotFound):
        portal.revoke_links("C-404", now=NOW)


def test_a_revocation_in_the_same_second_as_a_link_tells_before_from_after(portal: Portal) -> None:
    # Given links issued at 12:00:00.300 and at 12:00:00.700, and a revocation stored at .500 between
    # them (the flaky end-to-end run: link and revocation in one second, the revocation stored whole)
    second = datetime(2026, 11, 3, 12, 0, 0, tzinfo=UTC)
    before = sign_token("C-1", key=key(), now=second + timedelta(milliseconds=300))
    after = sign_token("C-1", key=key(), now=second + timedelta(milliseconds=700))
    portal.revoke_links("C-1", now=second + timedelta(milliseconds=500))
    # Then the link issued before the revocation is refused, and the one issued after it opens
    with pytest.raises(LinkRevoked):
        portal.open_link(before, now=second + timedelta(seconds=1))
    assert portal.open_link(after, now=second + timedelta(seconds=1)).customer_id == "C-1"


def test_sessions_are_stored_by_digest_with_a_ttl(portal: Portal) -> None:
    session = portal.open_link(sign_token("C-1", key=key(), now=NOW), now=NOW)
    [item] = list(PortalSessionItem.query("CUST#C-1", PortalSessionItem.sk.startswith("SESSION#")))
    assert session.session_id not in item.sk
    assert item.expires_at == int((NOW + timedelta(hours=8)).timestamp())


# --- fresh links ----------------------------------------------------------------------------------------


def test_a_known_address_gets_one_fresh_link_and_an_unknown_one_nothing(portal: Portal) -> None:
    assert portal.request_link("  BILLING@one.example ", now=NOW, client="203.0.113.9") is None
    assert portal.request_link("nobody@nowhere.example", now=NOW, client="203.0.113.9") is None

    [email] = sent_emails()
    assert email.customer_id == "C-1"
    assert email.to == ["Billing@One.example"]
    body = email.message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    link = next(word for word in text.split() if word.startswith("https://portal.example.com/l/"))
    assert portal.open_link(link.rsplit("/", 1)[1], now=NOW).customer_id == "C-1"
    [message] = [m for m in portal.messages("C-1") if m.kind == "fresh_link_sent"]
    assert message.detail["to"] == "Billing@One.example"


def test_link_requests_are_rate_limited_per_address_and_per_client(portal: Portal) -> None:
    for n in range(5):
        portal.request_link("nobody@nowhere.example", now=NOW + timedelta(minutes=n), client=f"10.0.0.{n}")
    with pytest.raises(RateLimited):
        portal.request_link("nobody@nowhere.example", now=NOW + timedelta(minutes=6), client="10.0.0.99")
    # Same for a known address (the limit tells nothing about the address).
    for n in range(5):
        portal.request_link(f"user{n}@else.example", now=NOW, client="198.51.100.1")
    with pytest.raises(RateLimited):
        portal.request_link("ap@two.example", now=NOW, client="198.51.100.1")
    assert sent_emails() == []  # the refused request for a known address sent nothing
    # A new hour, a new allowance.
    portal.request_link("nobody@nowhere.example", now=NOW + timedelta(hours=1), client="10.0.0.1")


def test_a_client_over_its_limit_cannot_block_a_customers_address(portal: Portal) -> None:
    # Given one machine that spent its hourly allowance, then asks for the customer's address 20 times
    for n in range(5):
        portal.request_link(f"nobody{n}@nowhere.example", now=NOW, client="192.0.2.66")
    for _ in range(20):
        with pytest.raises(RateLimited):
            portal.request_link("billing@one.example", now=NOW, client="192.0.2.66")
    # When the customer asks from their own machine, the same hour
    portal.request_link("billing@one.example", now=NOW, client="203.0.113.9")
    # Then their link goes: the refused requests spent the other machine's allowance, not the address's
    assert [email.to for email in sent_emails()] == [["Billing@One.example"]]


def test_a_malformed_address_is_refused(portal: Portal) -> None:
    with pytest.raises(PortalInputError) as error:
        portal.request_link("not an address", now=NOW, client="x")
    assert error.value.field == "email"


# --- reading the account --------------------------------------------------------------------------------


def test_the_account_shows_totals_statuses_and_pay_links(portal: Portal) -> None:
    view = portal.account("C-1", today=TODAY)
    eur, usd = view.totals
    assert (eur.currency, eur.total_due, eur.overdue) == ("EUR", Decimal("1150.00"), Decimal("1150.00"))
    assert (eur.aging["d1_30"], eur.aging["d31_60"]) == (Decimal("1250.00"), Decimal("-100.00"))
    assert (usd.total_due, usd.overdue, usd.aging["current"]) == (Decimal("80.00"), 0, Decimal("80.00"))
    numbers = [v.invoice.invoice_number for v in view.invoices]
    assert numbers == ["CN-1", "INV-1", "INV-2", "INV-3"]
    assert "B-1" not in numbers
    by_number = {v.invoice.invoice_number: v for v in view.invoices}
    assert by_number["INV-1"].status == "overdue" and by_number["INV-1"].days_overdue == 9
    assert by_number["INV-3"].status == "due"
    assert by_number["CN-1"].pay_url is None
    url = by_number["INV-1"].pay_url
    assert url is not None
    assert parse_qs(urlsplit(url).query) == {"invoice": ["INV-1"], "amount": ["1000.00"], "currency": ["EUR"]}

    by_amount = portal.account("C-1", today=TODAY, sort=InvoiceSort.AMOUNT, descending=True)
    assert [v.invoice.invoice_number for v in by_amount.invoices] == ["INV-1", "INV-2", "INV-3", "CN-1"]
    due = portal.account("C-1", today=TODAY, show=InvoiceFilter.DUE)
    assert [v.invoice.invoice_number for v in due.invoices] == ["INV-3"]
    with pytest.raises(NotFound):
        portal.account("C-404", today=TODAY)


def test_an_invoice_of_another_customer_looks_like_a_missing_one(portal: Portal) -> None:
    with pytest.raises(NotFound):
        portal.invoice("C-1", "B-1", today=TODAY)
    with pytest.raises(NotFound):
        portal.invoice("C-1", "NOPE", today=TODAY)
    with pytest.raises(NotFound):
        portal.pay_url("C-1", "B-1")
    with pytest.raises(PortalInputError):
        portal.pay_url("C-1", "CN-1")
    assert portal.pay_url("C-2", "B-1").startswith("https://pay.example.com/?invoice=B-1")


def test_an_invoice_links_its_document_when_the_erp_dropped_one(portal: Portal) -> None:
    assert portal.invoice("C-1", "INV-1", today=TODAY).document_url is None
    boto3.client("s3").put_object(
        Bucket=os.environ["DROP_BUCKET"], Key="incoming/documents/C-1/INV-1.pdf", Body=b"%PDF-1.7"
    )
    detail = portal.invoice("C-1", "INV-1", today=TODAY)
    assert detail.document_url is not None
    assert "incoming/documents/C-1/INV-1.pdf" in detail.document_url
    # Signature Version 4: the URL lives X-Amz-Expires seconds from X-Amz-Date
    query = parse_qs(urlsplit(detail.document_url).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert int(query["X-Amz-Expires"][0]) == 300


def test_two_customers_with_the_same_invoice_number_each_see_only_their_own_document(
    portal: Portal,
) -> None:
    # Given C-2 has an invoice numbered like C-1's (SAP numbers repeat across company codes and years),
    # and the ERP dropped only C-2's PDF, under company code 2000
    amount = Decimal("10.00")
    issued, due = date(2026, 3, 1), date(2026, 3, 31)
    Invoices().save(Invoice("C-2", "INV-1", "EUR", amount, amount, issued, due, company_code="2000"))
    key = document_key("C-2", "INV-1", "2000")
    assert key == "incoming/documents/C-2/2000/INV-1.pdf"
    boto3.client("s3").put_object(Bucket=os.environ["DROP_BUCKET"], Key=key, Body=b"%PDF-1.7 C-2")
    # Then C-1's invoice page links no document (never C-2's), and C-2's links its own
    assert portal.invoice("C-1", "INV-1", today=TODAY).document_url is None
    url = portal.invoice("C-2", "INV-1", today=TODAY).document_url
    assert url is not None and unquote(urlsplit(url).path).endswith("/incoming/documents/C-2/2000/INV-1.pdf")


def test_a_statement_lists_the_open_items_in_csv_and_xlsx(portal: Portal) -> None:
    statement = portal.statement("C-1", today=TODAY, fmt="csv")
    assert statement.filename == "statement-C-1-2026-03-10.csv"
    assert statement.body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(statement.body.decode("utf-8-sig"))))
    assert [r[0] for r in rows if r and r[0].startswith(("INV", "CN"))] == ["CN-1", "INV-1", "INV-2", "INV-3"]
    assert rows[-2][:3] == ["EUR", "1150.00", "1150.00"]
    xlsx = portal.statement("C-1", today=TODAY, fmt="XLSX")
    assert xlsx.filename.endswith(".xlsx") and xlsx.body.startswith(b"PK")
    with pytest.raises(PortalInputError) as error:
        portal.statement("C-1", today=TODAY, fmt="pdf")
    assert error.value.field == "format"


# --- promises -------------------------------------------------------------------------------------------


def _ticks(world: World, start: date, end: date) -> None:
    day = start
    while day <= end:
        world.tick(utc(day.year, day.month, day.day, 9))
        day += timedelta(days=1)


def test_a_promise_pauses_its_invoice_and_the_others_are_still_reminded(world: World, portal: Portal) -> None:
    _ticks(world, date(2026, 3, 1), date(2026, 3, 9))
    before = len(world.emails("C-1"))

    receipt = portal.promise(
        "C-1", invoice_numbers=["INV-1"], amount="1000", promised_until="2026-03-25", now=NOW
    )
    assert (receipt.amount, receipt.currency, receipt.promised_until) == (
        Decimal("1000"),
        "EUR",
        date(2026, 3, 25),
    )
    paused = world.get("INV-1")
    promise = Promise("C-1", receipt.promise_id, ("INV-1",), date(2026, 3, 25), NOW)
    policies = shipped_policy()
    expected = promise_to_pay(promise, policies=policies, calendar=Calendar(), zone_name="Europe/Berlin")
    assert paused.next_action_at == expected
    assert paused.promise_id == receipt.promise_id
    promised = portal.account("C-1", today=TODAY, show=InvoiceFilter.PROMISED).invoices
    assert [v.invoice.invoice_number for v in promised] == ["INV-1"]

    _ticks(world, date(2026, 3, 10), date(2026, 3, 25))
    later = world.emails("C-1")[before:]
    assert later, "INV-2 is still reminded"
    assert all("INV-1" not in e.invoices for e in later)
    assert any("INV-2" in e.invoices for e in later)
    [entry] = [a for a in world.timeline("C-1") if a.kind == "promise_made"]
    assert "1000.00 EUR" in entry.summary and "2026-03-25" in entry.summary
    detail = portal.invoice("C-1", "INV-1", today=TODAY)
    assert detail.view.status == "promised"
    assert detail.promises[0]["promise_id"] == receipt.promise_id


@pytest.mark.parametrize(
    ("changes", "field", "text"),
    [
        ({"invoice_numbers": []}, "invoice_numbers", "at least one"),
        ({"invoice_numbers": ["B-1"]}, "invoice_numbers", "not on your account"),
        ({"invoice_numbers": ["CN-1"]}, "invoice_numbers", "credit note"),
        ({"invoice_numbers": ["INV-1", "INV-3"]}, "invoice_numbers", "one currency"),
        ({"amount": "1250.01"}, "amount", "more than the open total"),
        ({"amount": "-5"}, "amount", "amount"),
        ({"amount": "0"}, "amount", "more than zero"),
        ({"promised_until": "2026-03-09"}, "promised_until", "past"),
        ({"promised_until": "2026-04-10"}, "promised_until", "at most 30 days"),
        ({"promised_until": "10.03.2026"}, "promised_until", "YYYY-MM-DD"),
    ],
)
def test_a_promise_with_bad_input_names_the_field(
    portal: Portal, changes: dict[str, Any], field: str, text: str
) -> None:
    arguments: dict[str, Any] = {
        "invoice_numbers": ["INV-1", "INV-2"],
        "amount": "1250.00",
        "promised_until": "2026-03-20",
        "now": NOW,
    }
    arguments.update(changes)
    with pytest.raises(PortalInputError) as error:
        portal.promise("C-1", **arguments)
    assert error.value.field == field
    assert text in error.value.message


def test_an_invoice_takes_one_open_promise_at_a_time(portal: Portal) -> None:
    portal.promise("C-1", invoice_numbers=["INV-1"], amount="10", promised_until="2026-03-20", now=NOW)
    with pytest.raises(PortalInputError, match="already has a promise"):
        portal.promise("C-1", invoice_numbers=["INV-1"], amount="10", promised_until="2026-03-21", now=NOW)


# --- disputes -------------------------------------------------------------------------------------------


def test_a_dispute_stops_dunning_for_its_invoice_and_gives_the_owner_a_task(
    world: World, portal: Portal
) -> None:
    _ticks(world, date(2026, 3, 1), date(2026, 3, 9))
    before = len(world.emails("C-1"))

    receipt = portal.dispute(
        "C-1",
        invoice_number="INV-1",
        reason="damaged_or_defective",
        comment="Pallet arrived broken",
        attachment=("../../photo of pallet.JPG", "image/jpeg", 12345),
        now=NOW,
    )
    disputed = world.get("INV-1")
    assert disputed.disputed and disputed.next_action_at is None
    assert receipt.upload_url is not None
    # A presigned POST to the pending key: the dispute names no attachment until the file is checked
    assert receipt.upload_fields["key"] == f"attachments/pending/C-1/{receipt.dispute_id}/photo_of_pallet.jpg"
    assert receipt.upload_fields["Content-Type"] == "image/jpeg"

    [task] = [t for t in world.tasks("C-1") if t.kind == "dispute"]
    assert task.title == "Dispute on INV-1: damaged or defective"
    assert task.detail["assignee"] == "dana@seller.example"
    assert any(a.kind == "dispute_opened" for a in world.timeline("C-1"))

    _ticks(world, date(2026, 3, 10), date(2026, 3, 25))
    later = world.emails("C-1")[before:]
    assert later and all("INV-1" not in e.invoices for e in later)
    assert any("INV-2" in e.invoices for e in later)

    detail = portal.invoice("C-1", "INV-1", today=TODAY)
    assert detail.view.status == "disputed"
    assert detail.disputes[0]["reason"] == "damaged_or_defective"
    with pytest.raises(PortalInputError, match="already disputed"):
        portal.dispute(
            "C-1", invoice_number="INV-1", reason="other", comment="again", attachment=None, now=NOW
        )
    with pytest.raises(PortalInputError, match="disputed"):
        portal.promise("C-1", invoice_numbers=["INV-1"], amount="1", promised_until="2026-03-20", now=NOW)


def test_a_dispute_without_an_owner_goes_to_the_manager(portal: Portal, world: World) -> None:
    receipt = portal.dispute(
        "C-2", invoice_number="B-1", reason="already_paid", comment="", attachment=None, now=NOW
    )
    assert receipt.upload_url is None
    [task] = [t for t in world.tasks("C-2") if t.kind == "dispute"]
    assert task.detail["assignee"] == shipped_policy().settings.manager


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"reason": "because"}, "reason"),
        ({"invoice_number": " "}, "invoice_number"),
        ({"reason": "other", "comment": " "}, "comment"),
        ({"comment": "x" * 2001}, "comment"),
        ({"attachment": ("a.exe", "application/x-msdownload", 10)}, "attachment"),
        ({"attachment": ("a.pdf", "application/pdf", 11 * 1024 * 1024)}, "attachment"),
        ({"attachment": ("a.exe", "application/pdf", 10)}, "attachment"),
        ({"attachment": ("a.pdf", "application/pdf", 0)}, "attachment"),
    ],
)
def test_a_dispute_with_bad_input_names_the_field(
    portal: Portal, changes: dict[str, Any], field: str
) -> None:
    arguments: dict[str, Any] = {
        "invoice_number": "INV-2",
        "reason": "wrong_quantity",
        "comment": "",
        "attachment": None,
        "now": NOW,
    }
    arguments.update(changes)
    with pytest.raises(PortalInputError) as error:
        portal.dispute("C-1", **arguments)
    assert error.value.field == field
    assert not World().get("INV-2").disputed


def test_a_credit_note_cannot_be_disputed(portal: Portal, world: World) -> None:
    with pytest.raises(PortalInputError, match="invoice CN-1 is a credit note") as error:
        portal.dispute("C-1", invoice_number="CN-1", reason="other", comment="x", attachment=None, now=NOW)
    assert error.value.field == "invoice_number"
    assert not world.get("CN-1").disputed
    assert [t for t in world.tasks("C-1") if t.kind == "dispute"] == []
    assert not any(a.kind == "dispute_opened" for a in world.timeline("C-1"))


def test_a_customer_cannot_touch_another_customers_invoices(portal: Portal, world: World) -> None:
    # The same field error as for a missing invoice, and as a promise answers: nothing tells them apart
    for number in ("B-1", "F/1"):
        with pytest.raises(PortalInputError, match=f"invoice {number} is not on your account") as error:
            portal.dispute(
                "C-1", invoice_number=number, reason="other", comment="x", attachment=None, now=NOW
            )
        assert error.value.field == "invoice_number"
    with pytest.raises(PortalInputError):
        portal.promise("C-1", invoice_numbers=["B-1"], amount="1", promised_until="2026-03-20", now=NOW)
    untouched = world.get("B-1", "C-2")
    assert not untouched.disputed and untouched.promise_id is None
    assert world.tasks("C-2") == []


# --- contact details ------------------------------------------------------------------------------------


def test_updating_contacts_moves_the_lookup_and_the_fingerprint(portal: Portal, world: World) -> None:
    before = Customers().get("C-1")
    assert before is not None
    updated = portal.update_contact(
        "C-1",
        email="Payables@One.example",
        other_emails="ap@one.example; second@one.example",
        phone="+49 (30) 123-456",
        language="de",
        now=NOW,
    )
    stored = Customers().get("C-1")
    assert stored == updated
    assert stored.email == "Payables@One.example"
    assert stored.other_emails == ("ap@one.example", "second@one.example")
    assert stored.fingerprint != before.fingerprint
    assert stored.name == before.name and stored.owner == before.owner
    lookups = {item.pk for item in EmailLookupItem.scan() if item.customer_id == "C-1"}
    assert lookups == {"EMAIL#payables@one.example", "EMAIL#ap@one.example", "EMAIL#second@one.example"}
    [entry] = [a for a in world.timeline("C-1") if a.kind == "contact_updated"]
    assert entry.detail["email"] == "ap@one.example -> Payables@One.example"
    assert entry.detail["language"] == "en -> de"

    portal.request_link("billing@one.example", now=NOW, client="c")
    portal.request_link("second@one.example", now=NOW, client="c")
    # The replaced address was told of the change; the fresh link went to an address on file only
    assert [(e.step, e.to) for e in sent_emails()] == [
        ("contact_notice", ["Billing@One.example"]),
        ("fresh_link", ["second@one.example"]),
    ]


def test_a_changed_ap_address_ends_the_links_sent_before_and_warns_the_replaced_address(
    portal: Portal, world: World
) -> None:
    # Given a link emailed last week, and the session it opened
    emailed = sign_token("C-1", key=key(), now=NOW - timedelta(days=7))
    session = portal.open_link(emailed, now=NOW - timedelta(minutes=5))
    # When the session's holder replaces every AP address with their own
    portal.update_contact(
        "C-1", email="attacker@evil.example", other_emails="", phone="", language="en", now=NOW
    )
    # Then the emailed link opens nothing any more, a new link does, and the session goes on
    with pytest.raises(LinkRevoked):
        portal.open_link(emailed, now=NOW + timedelta(minutes=1))
    assert (
        portal.open_link(sign_token("C-1", key=key(), now=NOW + timedelta(seconds=1)), now=NOW).customer_id
        == "C-1"
    )
    assert portal.resume(session.session_id, now=NOW + timedelta(minutes=1)) is not None
    # And each replaced address got a notice without any link in it
    notices = [e for e in sent_emails() if e.step == "contact_notice"]
    assert sorted(a for e in notices for a in e.to) == ["Billing@One.example", "ap@one.example"]
    for notice in notices:
        text = notice.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "attacker@evil.example" in text and "https://" not in text
    kinds = [a.kind for a in world.timeline("C-1")]
    assert kinds.count("contact_notice_sent") == 2 and "links_revoked" in kinds


def test_contact_details_left_out_stay_and_the_language_shown_keeps_the_one_on_file(
    portal: Portal, world: World
) -> None:
    world.change_customer("C-1", language="de-DE", phone="+49 30 1234/56")
    # None leaves the further addresses, the phone and the language; the phone on file is taken back
    kept = portal.update_contact(
        "C-1", email="ap@one.example", other_emails=None, phone="+49 30 1234/56", language="de", now=NOW
    )
    assert (kept.other_emails, kept.phone, kept.language) == (
        ("Billing@One.example",),
        "+49 30 1234/56",
        "de-DE",
    )
    assert not any(a.kind == "contact_updated" for a in world.timeline("C-1"))
    # Another language offered replaces it
    changed = portal.update_contact(
        "C-1", email="ap@one.example", other_emails=None, phone=None, language="fr-FR", now=NOW
    )
    assert changed.language == "fr" and changed.phone == "+49 30 1234/56"
    [entry] = [a for a in world.timeline("C-1") if a.kind == "contact_updated"]
    assert entry.detail == {"language": "de-DE -> fr"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"email": ""}, "email"),
        ({"email": "ap@"}, "email"),
        ({"other_emails": "ok@one.example, broken"}, "other_emails"),
        ({"phone": "call me"}, "phone"),
        ({"phone": "1" * 41}, "phone"),
        ({"language": "xx"}, "language"),
    ],
)
def test_bad_contact_details_name_the_field(portal: Portal, changes: dict[str, Any], field: str) -> None:
    arguments: dict[str, Any] = {
        "email": "ap@one.example",
        "other_emails": "",
        "phone": "",
        "language": "",
        "now": NOW,
    }
    arguments.update(changes)
    with pytest.raises(PortalInputError) as error:
        portal.update_contact("C-1", **arguments)
    assert error.value.field == field


def test_contacts_of_an_unknown_customer_are_not_found(portal: Portal) -> None:
    with pytest.raises(NotFound):
        portal.update_contact("C-404", email="a@b.example", other_emails="", phone="", language="", now=NOW)


def test_messages_are_newest_first(portal: Portal) -> None:
    portal.request_link("ap@one.example", now=NOW, client="c")
    portal.request_link("ap@one.example", now=NOW + timedelta(minutes=1), client="c")
    messages = portal.messages("C-1")
    assert [m.at for m in messages] == [NOW + timedelta(minutes=1), NOW]


def test_a_bad_payment_template_is_refused_at_construction(aws: None) -> None:
    with pytest.raises(ValueError, match="payment_url_template"):
        make_portal(payment_url_template="https://pay.example.com/{nope}")


def test_portal_without_payment_template_has_no_pay_link(world: World) -> None:
    portal = make_portal(payment_url_template=None)
    with pytest.raises(PortalInputError, match="cannot be paid online"):
        portal.pay_url("C-1", "INV-1")
