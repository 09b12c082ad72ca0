"""A collector's own work against moto: tasks and follow-ups made from the staff console with a due day
(on the worklist by it, worked like any task, on the timeline), and one-off emails (a statement, a fresh
portal link, a payment confirmation) sent through the touch ledger once per form, however often it is
clicked or retried; never to a do-not-contact customer or a bounced address; SES's failures told apart."""

from __future__ import annotations

import html
import json
import os
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest

from arcollect.console import StaffConsole
from arcollect.entities import Allocation, Payment
from arcollect.portal.web import build_app
from arcollect.store import keys
from arcollect.store.mail import SesMailer
from arcollect.store.models import EmailTouchItem
from arcollect.store.portal import PortalObjects
from arcollect.store.repositories import Accounts
from arcollect.store.staff import StaffSessionStore
from arcollect.workspace.model import WorkspaceConflict, WorkspaceInputError
from arcollect.workspace.one_off import MailUnavailable, one_off_touch_id
from arcollect.workspace.services import Workspace
from arcollect_cli.lambda_runtime import LambdaContext, load_handler
from tests.integration.dunning_world import World, sent_emails
from tests.integration.real_world import STAFF_PASSWORD, Browser, hidden, staff_directory
from tests.integration.ses_faults import READ_TIMEOUT, THROTTLED, ses_failing_once
from tests.integration.test_workspace import DANA, NOW, ROUTED, TODAY, policy_with

MUELLER = "Müller & Söhne, GmbH"
INVOICE = "INV/2026/0042"
LATER = "INV/2026/0043"
CREDIT = "GS/2026/0007"
THURSDAY = (TODAY + timedelta(days=2)).isoformat()  # NOW is Tuesday 10 March 2026


@pytest.fixture
def world(aws: None) -> World:
    world = World(policies=policy_with(ROUTED))
    world.customer(MUELLER, name="Müller & Söhne GmbH", email="kreditoren@mueller-soehne.example")
    world.invoice(
        INVOICE, customer_id=MUELLER, invoice_date=date(2026, 2, 1), due_date=date(2026, 3, 2),
        amount="1200.00", open_amount="700.00",
    )  # fmt: skip
    world.invoice(
        LATER,
        customer_id=MUELLER,
        invoice_date=date(2026, 2, 20),
        due_date=date(2026, 4, 30),
        amount="300.00",
    )
    world.invoice(
        CREDIT, customer_id=MUELLER, invoice_date=date(2026, 2, 25), due_date=date(2026, 2, 25),
        amount="50.00", document_type="credit_note",
    )  # fmt: skip
    # A partial payment of INV/2026/0042, with 25.00 the remittance named no invoice for.
    Accounts().add_payments(
        [
            Payment(
                MUELLER,
                "PAY/2026/118",
                date(2026, 3, 6),
                Decimal("525.00"),
                "EUR",
                reference="RA 2026-118",
                applied_amount=Decimal("500.00"),
                unapplied_amount=Decimal("25.00"),
                allocations=(Allocation(INVOICE, Decimal("500.00")),),
            )
        ]
    )
    return world


def workspace(world: World) -> Workspace:
    return Workspace(
        policies=lambda: world.policies,
        mailer=SesMailer(configuration_set=os.environ["SES_CONFIGURATION_SET"]),
        sender=os.environ["SENDER_EMAIL"],
        reports=PortalObjects(),
        reports_bucket=os.environ["REPORTS_BUCKET"],
        store=world.workspace,
        link_for=lambda customer_id, now, _: f"https://portal.example.com/l/{len(customer_id)}.{now:%Y%m%d}",
        link_days=30,
    )


def _timeline(world: World, kind: str) -> list[str]:
    return [a.summary for a in world.timeline(MUELLER) if a.kind == kind]


def _to_customer() -> list[Any]:
    return [e for e in sent_emails() if e.customer_id == MUELLER]


# --- tasks and follow-ups ------------------------------------------------------------------------------


def test_a_collector_makes_a_follow_up_on_the_worklist_by_its_due_day_and_works_it_like_any_task(
    world: World,
) -> None:
    ws = workspace(world)
    # When Dana makes "call back Thursday" for herself, about the late invoice
    made = ws.create_task(
        MUELLER, title="Call back Thursday: Frau Weber checks the remittance", due_on=THURSDAY, by=DANA,
        now=NOW, note="She was in a meeting", invoice_numbers=[INVOICE], key="form-1",
    )  # fmt: skip
    assert made.created and made.task.assignee == DANA.username and made.task.kind == "follow_up"
    # Then it is on her worklist, due Thursday, not overdue, scored by the invoice it is about
    [item] = ws.worklist(DANA.username, now=NOW)
    assert (item.task_id, item.due_on, item.overdue) == (made.task.task_id, date(2026, 3, 12), False)
    assert item.invoice_numbers == (INVOICE,) and item.past_due_amount == Decimal("700.00")
    # And on Friday it is overdue
    [late] = ws.worklist(DANA.username, now=NOW + timedelta(days=3))
    assert late.overdue
    # And the timeline says who made it for whom
    assert _timeline(world, "task_created") == [
        "Dana made a follow-up for themselves, due 2026-03-12: Call back Thursday: Frau Weber checks the "
        "remittance. Note: She was in a meeting"
    ]
    # When she works it like any other task
    receipt = ws.record_outcome(
        MUELLER, made.task.task_id, outcome="reached", note="Paid Friday", by=DANA, now=NOW
    )
    assert receipt.task_closed
    assert ws.worklist(DANA.username, now=NOW) == []
    assert any("Paid Friday" in s for s in _timeline(world, "call_reached"))


def test_a_task_for_a_colleague_is_on_their_worklist_and_one_form_makes_one_task(world: World) -> None:
    ws = workspace(world)
    first = ws.create_task(
        MUELLER, title="Call Herr Müller", due_on=TODAY.isoformat(), by=DANA, now=NOW, assignee="ali",
        kind="call", key="form-2",
    )  # fmt: skip
    # A double click, a retried request: the same form again makes nothing more
    again = ws.create_task(
        MUELLER, title="Call Herr Müller", due_on=TODAY.isoformat(), by=DANA, now=NOW, assignee="ali",
        kind="call", key="form-2",
    )  # fmt: skip
    assert first.created and not again.created and again.task.task_id == first.task.task_id
    assert [(i.task_id, i.kind) for i in ws.worklist("ali", now=NOW)] == [(first.task.task_id, "call")]
    assert _timeline(world, "task_created") == ["Dana made a call for ali, due 2026-03-10: Call Herr Müller"]


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"due_on": (TODAY - timedelta(days=1)).isoformat()}, "due_on", "2026-03-09 is in the past"),
        ({"due_on": "12.03.2026"}, "due_on", "is not a date"),
        ({"due_on": ""}, "due_on", "is required"),
        ({"title": "   "}, "title", "is required"),
        ({"customer_id": "Müller & Söhne GmbH"}, "customer_id", "there is no customer 'Müller & Söhne GmbH'"),
        ({"assignee": "zed"}, "assignee", "'zed' is not a collector of the policy's team"),
        ({"kind": "lunch"}, "kind", "'lunch' is not one of"),
        ({"invoice_numbers": ["INV/2026/9999"]}, "invoice_numbers", "'INV/2026/9999' is not on this"),
    ],
)
def test_a_task_that_cannot_be_made_says_what_and_where(
    world: World, changes: dict[str, Any], field: str, words: str
) -> None:
    arguments: dict[str, Any] = {"customer_id": MUELLER, "title": "Call back", "due_on": THURSDAY, **changes}
    with pytest.raises(WorkspaceInputError) as refused:
        workspace(world).create_task(by=DANA, now=NOW, key="k", **arguments)
    assert refused.value.field == field and words in refused.value.message
    assert [t for t in world.tasks(MUELLER)] == []


# --- one-off emails ------------------------------------------------------------------------------------


def test_a_statement_goes_once_per_form_lists_the_open_items_and_is_on_the_timeline(world: World) -> None:
    ws = workspace(world)
    sent = ws.send_one_off(MUELLER, template="statement", key="send-1", by=DANA, now=NOW)
    # A double click and a retried request: SES is not asked again, the answer is the same
    for _ in range(2):
        again = ws.send_one_off(MUELLER, template="statement", key="send-1", by=DANA, now=NOW)
        assert again.repeated and (again.status, again.message_id) == ("sent", sent.message_id)
    [email] = _to_customer()
    assert (sent.status, sent.to) == ("sent", ("kreditoren@mueller-soehne.example",))
    assert email.step == "statement" and email.touch == sent.touch_id and email.invoices == [INVOICE, LATER]
    text = email.message.get_body(("plain",)).get_content()
    # The open items, the credit note and the unapplied cash, the balance net of them
    assert "INV/2026/0042: 700.00 EUR" in text and "8 days overdue" in text
    assert "INV/2026/0043: 300.00 EUR" in text and "Credit note GS/2026/0007: -50.00 EUR" in text
    assert "PAY/2026/118: -25.00 EUR" in text and "Balance: 925.00 EUR" in text
    assert "https://portal.example.com/l/" in text
    # Signed by the collector, whose address gets the answer
    assert str(email.message["Reply-To"]) == "Dana <dana@seller.example>"
    assert _timeline(world, "email_one_off") == [
        "Dana sent a statement of the open items to kreditoren@mueller-soehne.example"
    ]
    # A new form is a new email
    ws.send_one_off(MUELLER, template="statement", key="send-2", by=DANA, now=NOW + timedelta(hours=1))
    assert len(_to_customer()) == 2


def test_a_fresh_portal_link_and_a_payment_confirmation(world: World) -> None:
    ws = workspace(world)
    ws.send_one_off(MUELLER, template="portal_link", key="link-1", by=DANA, now=NOW)
    ws.send_one_off(
        MUELLER, template="payment_confirmation", key="pay-1", by=DANA, now=NOW, payment_id="PAY/2026/118"
    )
    link, confirmation = _to_customer()
    assert (
        link.step == "portal_link"
        and "https://portal.example.com/l/20.20260310" in link.message.get_body(("plain",)).get_content()
    )
    text = confirmation.message.get_body(("plain",)).get_content()
    assert confirmation.subject == "We received your payment of 525.00 EUR"
    assert "on 2026-03-06 (your reference RA 2026-118)" in text
    assert "invoice INV/2026/0042: 500.00 EUR" in text and "25.00 EUR of it is not applied" in text
    assert len(_timeline(world, "email_one_off")) == 2
    # A confirmation needs a payment of this customer
    for payment_id, words in (("", "choose the payment"), ("PAY/2026/999", "no payment 'PAY/2026/999'")):
        with pytest.raises(WorkspaceInputError) as refused:
            ws.send_one_off(
                MUELLER, template="payment_confirmation", key=f"pay-{payment_id}", by=DANA, now=NOW,
                payment_id=payment_id,
            )  # fmt: skip
        assert refused.value.field == "payment_id" and words in refused.value.message
    assert len(_to_customer()) == 2


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"do_not_contact": True}, "do-not-contact"),
        ({"email": ""}, "no email address on file"),
        (
            {"suppressed_emails": ("kreditoren@mueller-soehne.example",)},
            "every address on file bounced or complained (kreditoren@mueller-soehne.example)",
        ),
    ],
)
def test_no_email_to_a_do_not_contact_customer_a_bounced_address_or_none(
    world: World, changes: dict[str, Any], words: str
) -> None:
    world.change_customer(MUELLER, **changes)
    with pytest.raises(WorkspaceInputError) as refused:
        workspace(world).send_one_off(MUELLER, template="statement", key="send-1", by=DANA, now=NOW)
    assert refused.value.field == "to" and words in refused.value.message
    assert _to_customer() == [] and _timeline(world, "email_one_off") == []


def test_a_bounced_address_is_left_out_and_a_dunning_hold_does_not_stop_a_persons_email(world: World) -> None:
    world.change_customer(
        MUELLER, other_emails=("ap@mueller-soehne.example",),
        suppressed_emails=("kreditoren@mueller-soehne.example",), collector_hold=True,
    )  # fmt: skip
    receipt = workspace(world).send_one_off(MUELLER, template="portal_link", key="k", by=DANA, now=NOW)
    assert receipt.to == ("ap@mueller-soehne.example",)
    assert [e.to for e in _to_customer()] == [["ap@mueller-soehne.example"]]


def test_do_not_contact_set_after_the_page_was_read_is_refused_by_the_reservation(world: World) -> None:
    ws = workspace(world)
    # The profile the use case read says reachable; the table says do-not-contact by the time it reserves
    real = world.workspace.customer
    world.change_customer(MUELLER, do_not_contact=True)
    world.workspace.customer = lambda customer_id: replace(real(customer_id), do_not_contact=False)  # type: ignore[method-assign, type-var]
    with pytest.raises(WorkspaceInputError, match="do-not-contact"):
        ws.send_one_off(MUELLER, template="statement", key="k", by=DANA, now=NOW)
    assert _to_customer() == []


def test_an_email_ses_refuses_is_recorded_said_and_not_tried_again_by_the_same_form(world: World) -> None:
    # An underscore in the domain: ingest takes it, SES refuses it
    world.change_customer(MUELLER, email="kreditoren@mueller_soehne.example")
    ws = workspace(world)
    for _ in range(2):
        with pytest.raises(WorkspaceInputError) as refused:
            ws.send_one_off(MUELLER, template="statement", key="send-1", by=DANA, now=NOW)
        assert refused.value.field == "to" and "Domain contains illegal character" in refused.value.message
    [summary] = _timeline(world, "email_one_off_refused")
    assert "refused the statement of the open items Dana sent to kreditoren@mueller_soehne.example" in summary
    record = EmailTouchItem.get(keys.customer_pk(MUELLER), keys.email_sk(one_off_touch_id(MUELLER, "send-1")))
    assert record.status == "refused" and "Domain contains illegal character" in (record.refusal or "")
    # Once the address is fixed, a new form sends it
    world.change_customer(MUELLER, email="kreditoren@mueller-soehne.example")
    assert ws.send_one_off(MUELLER, template="statement", key="send-2", by=DANA, now=NOW).status == "sent"
    assert len(_to_customer()) == 1


def test_ses_throttled_sends_nothing_and_the_same_form_goes_once_later(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    ses_failing_once(monkeypatch, THROTTLED, accepted=False)
    ws = workspace(world)
    with pytest.raises(MailUnavailable, match="nothing was sent"):
        ws.send_one_off(MUELLER, template="statement", key="send-1", by=DANA, now=NOW)
    assert _to_customer() == [] and _timeline(world, "email_one_off") == []
    assert ws.send_one_off(MUELLER, template="statement", key="send-1", by=DANA, now=NOW).status == "sent"
    assert ws.send_one_off(MUELLER, template="statement", key="send-1", by=DANA, now=NOW).repeated
    assert len(_to_customer()) == 1


def test_an_answer_ses_lost_is_never_sent_twice(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    # SES took the message, then the answer timed out
    ses_failing_once(monkeypatch, READ_TIMEOUT, accepted=True)
    ws = workspace(world)
    first = ws.send_one_off(MUELLER, template="statement", key="send-1", by=DANA, now=NOW)
    retried = ws.send_one_off(MUELLER, template="statement", key="send-1", by=DANA, now=NOW)
    assert (first.status, retried.status, retried.repeated) == ("unconfirmed", "unconfirmed", True)
    assert len(_to_customer()) == 1
    [summary] = _timeline(world, "email_one_off_unconfirmed")
    assert "may or may not have gone" in summary
    # SES's send event completes it, as it does a reminder's
    [email] = _to_customer()
    assert world.store.touches.complete_from_ses(MUELLER, first.touch_id, "ses-message-1", NOW)
    after = ws.send_one_off(MUELLER, template="statement", key="send-1", by=DANA, now=NOW)
    assert (after.status, after.message_id) == ("sent", "ses-message-1") and email.touch == first.touch_id


def test_a_key_reused_for_another_email_or_missing_is_refused(world: World) -> None:
    ws = workspace(world)
    ws.send_one_off(MUELLER, template="statement", key="send-1", by=DANA, now=NOW)
    with pytest.raises(WorkspaceConflict):
        ws.send_one_off(MUELLER, template="portal_link", key="send-1", by=DANA, now=NOW)
    for arguments, field in (
        ({"template": "statement", "key": ""}, "idempotency_key"),
        ({"template": "invoice_copy", "key": "x"}, "template"),
    ):
        with pytest.raises(WorkspaceInputError) as refused:
            ws.send_one_off(MUELLER, by=DANA, now=NOW, **arguments)
        assert refused.value.field == field
    with pytest.raises(WorkspaceInputError) as unknown:
        ws.send_one_off("Müller und Söhne", template="statement", key="x", by=DANA, now=NOW)
    assert unknown.value.field == "customer_id"
    assert len(_to_customer()) == 1


# --- through the portal function: the staff console's forms and JSON routes ------------------------------


class Console:
    """The portal function's app with a staff console (the tests' stack has no user pool), a signed-in
    collector's browser, and JSON requests with the session's CSRF token in the header."""

    def __init__(self, world: World) -> None:
        handler = load_handler("portal")
        staff = StaffConsole(
            workspace=Workspace(
                policies=lambda: world.policies, mailer=handler.app.mailer, sender=os.environ["SENDER_EMAIL"],
                link_for=handler.app.staff_link, link_days=30,
            ),
            directory=staff_directory("dana@seller.example", "dana@seller.example"),
            sessions=StaffSessionStore(),
        )  # fmt: skip
        app = build_app(handler.app.portal_at, environment_name="test", staff=staff)
        self.headers: dict[str, str] = {}

        def send(event: dict[str, Any]) -> dict[str, Any]:
            event["headers"] = {**event["headers"], **self.headers}
            event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
            return dict(app.resolve(event, LambdaContext("portal")))

        self.browser = Browser(NOW, send=send)
        form = self.browser.get("/staff/sign-in")
        token = hidden(form.text, "csrf_token")
        signed_in = self.browser.post(
            "/staff/sign-in",
            {"username": "dana@seller.example", "password": STAFF_PASSWORD, "csrf_token": token},
        )
        assert signed_in.status == 303, signed_in.text
        self.page = f"/staff/customers/{quote(MUELLER, safe='')}"

    def form(self) -> dict[str, str]:
        """The 360 page's CSRF token and the idempotency key of its forms (fresh on every page)."""
        text = self.browser.get(self.page).text
        return {"csrf_token": hidden(text, "csrf_token"), "idempotency_key": hidden(text, "idempotency_key")}

    def json(self, path: str, body: dict[str, Any], *, csrf: bool = True) -> tuple[int, dict[str, Any]]:
        token = self.form()["csrf_token"]
        self.headers = {"X-CSRF-Token": token} if csrf else {}
        try:
            reply = self.browser.request("POST", path, json.dumps(body))
        finally:
            self.headers = {}
        return reply.status, json.loads(reply.text) if reply.text.startswith("{") else {}


def test_through_the_console_a_collector_makes_a_follow_up_and_a_double_submit_makes_one(
    world: World,
) -> None:
    console = Console(world)
    page = console.browser.get(console.page).text
    assert f'action="{console.page}/tasks"' in page and f'action="{console.page}/emails"' in page
    fields = console.form()
    # A due day in the past, an empty title: the page again with the message beside the field, 400
    past = console.browser.post(
        f"{console.page}/tasks", {**fields, "title": "Call back", "due_on": "2026-03-09"}
    )
    assert past.status == 400 and 'id="task-due_on-error"' in past.text
    assert "2026-03-09 is in the past (today is 2026-03-10)" in past.text and 'value="Call back"' in past.text
    untitled = console.browser.post(f"{console.page}/tasks", {**fields, "title": " ", "due_on": THURSDAY})
    assert untitled.status == 400 and 'id="task-title-error"' in untitled.text
    # Twice the same form: one task, on the collector's worklist with its due day
    form = {
        **fields,
        "title": "Call back Thursday",
        "due_on": THURSDAY,
        "kind": "call",
        "invoice_numbers": INVOICE,
    }
    for _ in range(2):
        made = console.browser.post(f"{console.page}/tasks", form)
        assert made.status == 303 and made.header("Location").endswith("?done=task")
    [task] = [t for t in world.tasks(MUELLER) if t.title == "Call back Thursday"]
    assert (task.assignee, task.due_on, task.kind) == ("dana@seller.example", date(2026, 3, 12), "call")
    worklist = console.browser.get("/staff/worklist").text
    assert "Call back Thursday" in worklist and "2026-03-12" in worklist
    shown = html.unescape(console.browser.get(console.page).text)
    assert "made a call for themselves, due 2026-03-12: Call back Thursday" in shown
    # Worked like any task: "no answer" keeps it open for the next working day, "reached" closes it
    outcome = f"{console.page}/tasks/{quote(task.task_id, safe='')}/outcome"
    chosen = console.browser.get(f"{console.page}?task={quote(task.task_id, safe='')}").text
    assert f'action="{outcome}"' in chosen
    token = hidden(chosen, "csrf_token")
    assert (
        console.browser.post(outcome, {"csrf_token": token, "outcome": "no_answer", "note": ""}).status == 303
    )
    assert [(t.status, t.due_on) for t in world.tasks(MUELLER) if t.task_id == task.task_id] == [
        ("open", date(2026, 3, 11))
    ]
    reached = {"csrf_token": token, "outcome": "reached", "note": "Remittance is on its way"}
    assert console.browser.post(outcome, reached).status == 303
    assert [t.status for t in world.tasks(MUELLER) if t.task_id == task.task_id] == ["done"]
    assert "Call back Thursday" not in console.browser.get("/staff/worklist").text
    # A customer that does not exist: 400, saying which
    nobody = console.browser.post(
        f"/staff/customers/{quote('Müller und Söhne', safe='')}/tasks",
        {**console.form(), "title": "x", "due_on": THURSDAY},
    )
    assert nobody.status == 400 and "customer_id: there is no customer" in nobody.text


def test_through_the_console_a_statement_goes_once_however_often_the_form_is_sent(world: World) -> None:
    console = Console(world)
    fields = console.form()
    first = console.browser.post(f"{console.page}/emails", {**fields, "template": "statement"})
    again = console.browser.post(f"{console.page}/emails", {**fields, "template": "statement"})
    assert first.header("Location").endswith("?done=email") and again.header("Location").endswith(
        "?done=email-again"
    )
    [email] = _to_customer()
    assert email.step == "statement"
    # The link in it is signed by the portal function's key, under the portal's URL
    text = email.message.get_body(("plain",)).get_content()
    assert "/l/" in text
    assert "This form was sent already" in console.browser.get(f"{console.page}?done=email-again").text
    # A confirmation without its payment: 400 beside the field
    refused = console.browser.post(
        f"{console.page}/emails", {**console.form(), "template": "payment_confirmation"}
    )
    assert refused.status == 400 and 'id="email-payment_id-error"' in refused.text
    confirmed = console.browser.post(
        f"{console.page}/emails",
        {**console.form(), "template": "payment_confirmation", "payment_id": "PAY/2026/118"},
    )
    assert confirmed.status == 303 and len(_to_customer()) == 2
    # Do-not-contact: refused with the reason on the form
    world.change_customer(MUELLER, do_not_contact=True)
    blocked = console.browser.post(f"{console.page}/emails", {**console.form(), "template": "portal_link"})
    assert blocked.status == 400 and "marked do-not-contact" in blocked.text and len(_to_customer()) == 2


def test_through_the_console_ses_failing_is_said_and_a_retry_sends_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    console = Console(world)
    fields = {**console.form(), "template": "statement"}
    ses_failing_once(monkeypatch, THROTTLED, accepted=False)
    busy = console.browser.post(f"{console.page}/emails", fields)
    assert busy.status == 503 and "nothing was sent" in busy.text and _to_customer() == []
    for _ in range(2):
        assert console.browser.post(f"{console.page}/emails", fields).status == 303
    assert len(_to_customer()) == 1
    # SES refusing the address for good: 400, the reason beside the form, on the timeline
    world.change_customer(MUELLER, email="kreditoren@mueller_soehne.example")
    refused = console.browser.post(f"{console.page}/emails", {**console.form(), "template": "statement"})
    assert refused.status == 400 and "Domain contains illegal character" in refused.text
    assert len(_timeline(world, "email_one_off_refused")) == 1 and len(_to_customer()) == 1


def test_the_json_routes_make_a_task_and_send_once_with_errors_saying_what_and_where(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    console = Console(world)
    api = f"/staff/api/customers/{quote(MUELLER, safe='')}"
    task = {"title": "Call back Thursday", "due_on": THURSDAY, "idempotency_key": "json-1", "assignee": "ali"}
    assert console.json(f"{api}/tasks", task, csrf=False)[0] == 403
    signed_out = Browser(NOW, send=console.browser.send).request("POST", f"{api}/tasks", json.dumps(task))
    assert signed_out.status == 401 and json.loads(signed_out.text)["error"]["message"].startswith("sign in")
    status, made = console.json(f"{api}/tasks", task)
    assert status == 201 and made["created"] and made["task"]["assignee"] == "ali"
    assert made["task"]["due_on"] == "2026-03-12"
    status, again = console.json(f"{api}/tasks", task)
    assert status == 200 and not again["created"] and again["task"]["task_id"] == made["task"]["task_id"]
    for body, field in (
        ({**task, "due_on": "2026-03-01", "idempotency_key": "json-2"}, "due_on"),
        ({**task, "title": "", "idempotency_key": "json-3"}, "title"),
        ({**task, "invoice_numbers": "INV/2026/0042"}, "invoice_numbers"),
    ):
        status, answer = console.json(f"{api}/tasks", body)
        assert status == 400 and answer["error"]["field"] == field, answer
    status, answer = console.json(f"/staff/api/customers/{quote('Nobody GmbH', safe='')}/tasks", task)
    assert (status, answer["error"]["field"]) == (400, "customer_id")
    assert "there is no customer 'Nobody GmbH'" in answer["error"]["message"]

    email = {"template": "statement", "idempotency_key": "json-send-1"}
    ses_failing_once(monkeypatch, THROTTLED, accepted=False)
    assert console.json(f"{api}/emails", email)[0] == 503
    status, sent = console.json(f"{api}/emails", email)
    assert (
        status == 201
        and sent["email"]["status"] == "sent"
        and sent["email"]["to"] == ["kreditoren@mueller-soehne.example"]
    )
    status, repeated = console.json(f"{api}/emails", email)
    assert (
        status == 200
        and repeated["email"]["repeated"]
        and repeated["email"]["message_id"] == sent["email"]["message_id"]
    )
    assert len(_to_customer()) == 1
    status, answer = console.json(f"{api}/emails", {"template": "statement"})
    assert (status, answer["error"]["field"]) == (400, "idempotency_key")
    world.change_customer(MUELLER, email="", other_emails=())
    status, answer = console.json(
        f"{api}/emails", {"template": "portal_link", "idempotency_key": "json-send-2"}
    )
    assert (status, answer["error"]["field"]) == (400, "to") and "no email address on file" in answer[
        "error"
    ]["message"]
