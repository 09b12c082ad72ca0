"""Reminder texts through the dunning function against moto, with a strict stand-in for AWS End User
Messaging SMS at the client boundary (moto has no pinpoint-sms-voice-v2): a step whose channels put
``sms`` first texts the customer's mobile once, with a fresh portal link, within the customer's hours;
a STOP reply opts the number out, and the next reminder goes by email instead."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest

from arcollect.changes import CHANGES_PREFIX
from arcollect.contract import DropPrefix
from arcollect.decisions import decisions_of
from arcollect.dunning.texts import ReceiptTooEarly, Texting
from arcollect.entities import Customer, Invoice
from arcollect.policy import SHIPPED_POLICY
from arcollect.store.repositories import Activities, Customers, Invoices
from arcollect.store.sms import SmsSender
from arcollect.store.text_ledger import TextLedger
from arcollect_cli.lambda_runtime import load_handler
from arcollect_cli.local.sms import (
    LOCAL_CONFIGURATION_SET,
    LOCAL_OPT_OUT_LIST,
    LOCAL_ORIGINATION_IDENTITY,
    FakeSmsClient,
    SentText,
    receipt_event,
    sns_record,
)
from tests.integration.conftest import invoke, load_event
from tests.integration.dunning_world import sent_emails

TICK_AT = "2026-11-23T09:00:00Z"  # a Monday: 10:00 in Berlin, inside the send window
CUSTOMER = "Müller & Söhne, GmbH"
MOBILE = "+4915123456789"
DUE_STEP = "- {id: due, trigger: {days: 1}, action: email, template: due}"


@pytest.fixture
def sms(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSmsClient]:
    """The dunning function's SMS client, the strict stand-in (the stack's identity and lists)."""
    fake = FakeSmsClient.local()
    app = load_handler("dunning").app
    sender = SmsSender(
        origination_identity=LOCAL_ORIGINATION_IDENTITY,
        configuration_set=LOCAL_CONFIGURATION_SET,
        opt_out_list=LOCAL_OPT_OUT_LIST,
        client=fake,
    )
    monkeypatch.setattr(app, "texting", Texting(sender=sender, ledger=TextLedger()))
    yield fake


def upload_policy(channels: str = "[sms, email]", sms_settings: str = "") -> None:
    """The shipped policy with its `due` step sent by text first (and email when no text can go)."""
    text = SHIPPED_POLICY.read_text()
    assert DUE_STEP in text
    text = text.replace(DUE_STEP, DUE_STEP[:-1] + f", channels: {channels}}}")
    if sms_settings:
        text = text.replace("settings:\n", f"settings:\n  sms: {sms_settings}\n", 1)
    boto3.client("s3").put_object(Bucket=os.environ["DROP_BUCKET"], Key=DropPrefix.DUNNING_POLICY, Body=text)


def customer(mobile: str | None = MOBILE, **changes: Any) -> None:
    Customers().save(
        Customer(
            customer_id=CUSTOMER,
            name=CUSTOMER,
            email="ap@mueller-soehne.example",
            country="DE",
            time_zone="Europe/Berlin",
            language="de",
            mobile=mobile,
            **changes,
        )
    )


def due_invoice(
    number: str,
    customer_id: str = CUSTOMER,
    due_date: date = date(2026, 11, 22),
    steps_done: tuple[str, ...] = ("outreach", "courtesy"),
) -> None:
    """An invoice that became late on 2026-11-22: its `due` step falls due on the 23rd (an earlier due
    date and no steps done: a go-live's backlog)."""
    Invoices().save(
        Invoice(
            customer_id=customer_id,
            invoice_number=number,
            currency="EUR",
            amount=Decimal("100.00"),
            open_amount=Decimal("100.00"),
            invoice_date=due_date - timedelta(days=30),
            due_date=due_date,
            next_action_at=datetime(2026, 11, 23, 8, tzinfo=UTC),
            steps_done=steps_done,
        )
    )


def tick(at: str = TICK_AT) -> dict[str, Any]:
    result: dict[str, Any] = invoke("dunning", dict(load_event("scheduler_tick.json"), time=at))
    return result


def test_a_step_texts_its_reminder_once_with_a_fresh_portal_link(sms: FakeSmsClient) -> None:
    # Given a customer with a mobile number and two invoices whose `due` step texts first
    upload_policy()
    customer()
    due_invoice("INV/2026/0042")
    due_invoice("INV/2026/0043")
    # When the tick runs
    outcome = tick()
    # Then one text went to the mobile number, in German, with a signed portal link, in at most 2 parts
    (text,) = sms.sent
    assert text.to == MOBILE and text.origination_identity == LOCAL_ORIGINATION_IDENTITY
    assert text.message_type == "TRANSACTIONAL" and text.configuration_set == LOCAL_CONFIGURATION_SET
    assert "2 Rechnungen" in text.body and "https://portal.example.com/l/" in text.body
    assert text.encoding == "GSM-7" and 1 <= text.parts <= 2
    assert text.context == {
        "customer_id": CUSTOMER,
        "touch_id": text.context["touch_id"],
        "step": "due",
        "arcollect": "dev",  # the environment: the rule that brings its delivery receipts back matches it
    }
    # And no email carried the step (the text did), and the sweep counted it
    assert sent_emails() == []
    assert outcome["outcomes"].get("text_sent") == 1
    # And the text is in the timeline, and the invoices moved past the step
    (entry,) = [a for a in Activities().timeline(CUSTOMER) if a.kind == "sms_sent"]
    assert entry.detail["to"] == MOBILE and entry.detail["invoices"] == "INV/2026/0042,INV/2026/0043"
    assert entry.detail["parts"] == str(text.parts) and entry.detail["body"] == text.body
    for number in ("INV/2026/0042", "INV/2026/0043"):
        invoice = Invoices().get(CUSTOMER, number)
        assert invoice is not None and "due" in invoice.steps_done
    # And a second run of the same tick texts nobody again
    tick()
    assert len(sms.sent) == 1


def test_a_crash_after_the_service_took_the_text_never_texts_twice(
    sms: FakeSmsClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the completion of a text fails once after the service accepted it
    upload_policy()
    customer()
    due_invoice("INV/2026/0042")
    original = TextLedger.complete_text
    calls = {"n": 0}

    def crash_once(self: TextLedger, *args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("the function died after SendTextMessage")
        original(self, *args, **kwargs)

    monkeypatch.setattr(TextLedger, "complete_text", crash_once)
    assert tick()["failed_customers"] == 1
    # When the next ticks find the invoice still due
    tick("2026-11-23T09:30:00Z")
    tick("2026-11-24T09:00:00Z")
    # Then the reservation stood: the text went once, never again, and no email doubled it
    assert len(sms.sent) == 1
    assert sent_emails() == []


def test_outside_the_policys_sms_hours_nothing_is_texted_until_they_open(sms: FakeSmsClient) -> None:
    # Given SMS hours stricter than the send window: 10:30 to 11:00 Berlin time
    upload_policy(
        sms_settings="{send_window: {days: [mon, tue, wed, thu, fri], start: '10:30', end: '11:00'}}"
    )
    customer()
    due_invoice("INV/2026/0042")
    # When the 10:00 Berlin tick runs, then nothing is texted (nor emailed: the step is the text's)
    outcome = tick()
    assert sms.sent == [] and sent_emails() == []
    assert outcome["outcomes"].get("text_skipped_outside_sms_hours") == 1
    # And when a tick at 10:30 Berlin runs, the text goes
    tick("2026-11-23T09:30:00Z")
    assert [t.to for t in sms.sent] == [MOBILE]


def test_a_stop_reply_opts_the_number_out_and_the_step_goes_by_email(sms: FakeSmsClient) -> None:
    # Given a customer texted once, who replies "Stop" (as AWS's two-way topic delivers it)
    upload_policy()
    customer()
    due_invoice("INV/2026/0042")
    tick()
    assert len(sms.sent) == 1
    reply = sns_record(sms.reply(MOBILE, "Stop"), datetime(2026, 11, 23, 10, 5, tzinfo=UTC))
    answered = invoke("dunning", {"Records": [reply]})
    # Then the customer is opted out, on the timeline, and on the service's opt-out list
    assert answered["replies"][0]["customers"] == [CUSTOMER]
    stored = Customers().get(CUSTOMER)
    assert stored is not None and stored.sms_opted_out
    assert any(a.kind == "sms_opted_out" for a in Activities().timeline(CUSTOMER))
    assert MOBILE in sms.opt_out_lists[LOCAL_OPT_OUT_LIST]
    # And a reply repeated changes nothing more
    again = invoke(
        "dunning",
        {"Records": [sns_record(sms.reply(MOBILE, "STOP"), datetime(2026, 11, 23, 10, 6, tzinfo=UTC))]},
    )
    assert again["replies"][0]["customers"] == []
    # When the next invoice's `due` step falls due
    due_invoice("INV/2026/0050")
    tick("2026-11-24T09:00:00Z")
    # Then it goes by email (the next channel), not by text
    assert len(sms.sent) == 1
    assert [e.invoices for e in sent_emails()] == [["INV/2026/0050"]]


def test_a_reply_that_is_no_keyword_goes_on_the_timeline_once_and_opts_nothing_out(
    sms: FakeSmsClient,
) -> None:
    # Given a customer texted once, who answers with a sentence that merely contains "stop"
    upload_policy()
    customer()
    due_invoice("INV/2026/0042")
    tick()
    body = "I will pay on Friday, please don't stop the delivery"
    reply = sns_record(sms.reply(MOBILE, body), datetime(2026, 11, 23, 10, 5, tzinfo=UTC))
    # When SNS delivers it (twice: at least once)
    answered = invoke("dunning", {"Records": [reply]})
    invoke("dunning", {"Records": [reply]})
    # Then nothing is opted out, and what the customer wrote is on the timeline once, for a collector
    assert answered["replies"][0] == {"opt_out": False, "customers": [CUSTOMER]}
    stored = Customers().get(CUSTOMER)
    assert stored is not None and not stored.sms_opted_out
    (entry,) = [a for a in Activities().timeline(CUSTOMER) if a.kind == "sms_reply"]
    assert entry.detail["body"] == body and entry.detail["in_reply_to"] == sms.sent[0].message_id


def test_a_number_aws_lists_as_opted_out_is_refused_and_the_customer_marked(sms: FakeSmsClient) -> None:
    # Given the number opted out on AWS's side (a STOP to another of the account's numbers)
    upload_policy()
    customer()
    due_invoice("INV/2026/0042")
    sms.opt_out_lists["Default"].add(MOBILE)
    # When the tick texts it
    outcome = tick()
    # Then the service refused it, nothing was sent, the customer is marked opted out on the timeline
    assert sms.sent == []
    assert outcome["outcomes"].get("text_opted_out") == 1
    (entry,) = [a for a in Activities().timeline(CUSTOMER) if a.kind == "sms_opted_out"]
    assert "DESTINATION_PHONE_NUMBER_OPTED_OUT" in entry.summary
    stored = Customers().get(CUSTOMER)
    assert stored is not None and stored.sms_opted_out
    # And the step was freed: the next tick (still in the send window) sends it by email
    tick("2026-11-23T09:30:00Z")
    assert sms.sent == [] and [e.invoices for e in sent_emails()] == [["INV/2026/0042"]]


def test_a_customer_with_a_fixed_line_only_gets_the_email(sms: FakeSmsClient) -> None:
    # Given a customer master whose "mobile" is a Berlin landline
    upload_policy()
    customer(mobile="030 1234567")
    due_invoice("INV/2026/0042")
    # When the tick runs, then no text is tried: the email carries the step
    tick()
    assert sms.sent == []
    assert [e.invoices for e in sent_emails()] == [["INV/2026/0042"]]


def test_without_an_origination_identity_the_stack_sends_no_text(aws: None) -> None:
    # Given the stack's default settings (no SMS_ORIGINATION_IDENTITY)
    assert load_handler("dunning").app.texting is None


def test_the_customer_masters_mobile_column_is_stored_in_e164_or_flagged(s3: Any) -> None:
    from tests.integration.ingest_flow import ingest

    # Given a customers file in the generic layout with a mobile column: a German national number, a
    # London landline, a US number and a national number of a customer without a country
    body = (
        "customer_id,name,email,country,mobile\n"
        f'"{CUSTOMER}","{CUSTOMER}",ap@mueller.example,DE,0151 2345 6789\n'
        '"Brennan & Sons, PC",Brennan & Sons,ap@brennan.example,GB,020 7946 0000\n'
        "C/US/1,Acme Inc,ap@acme.example,US,(212) 555-0101\n"
        "C-NOWHERE,Nowhere Ltd,ap@nowhere.example,,0151 23456789\n"
    ).encode()
    # When it is ingested
    result = ingest("incoming/customers/master.csv", body)
    # Then every row is a customer and no column was ignored
    assert result["ignored_columns"] == [] and result["accepted"] == 4
    mueller, brennan, acme, nowhere = (
        Customers().get(c) for c in (CUSTOMER, "Brennan & Sons, PC", "C/US/1", "C-NOWHERE")
    )
    # And a number the country makes one mobile number is stored in E.164
    assert mueller is not None and mueller.mobile == MOBILE and mueller.data_quality == ()
    assert acme is not None and acme.mobile == "+12125550101"
    # And one that cannot be texted is kept as written, with the reason in its data quality
    assert brennan is not None and brennan.mobile == "020 7946 0000"
    assert any(
        line.startswith("mobile cannot be texted") and "fixed line" in line for line in brennan.data_quality
    )
    assert nowhere is not None and nowhere.mobile == "0151 23456789"
    assert any("no country code and the customer has no country" in line for line in nowhere.data_quality)


def _client_error(code: str, status: int, reason: str = "") -> Exception:
    from botocore.exceptions import ClientError

    response: dict[str, Any] = {
        "Error": {"Code": code, "Message": code},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    if reason:
        response["Reason"] = reason
    return ClientError(response, "SendTextMessage")  # type: ignore[arg-type]


def test_an_account_that_sends_nothing_frees_the_text_for_a_later_tick(sms: FakeSmsClient) -> None:
    # Given the account's monthly SMS spend limit is reached at the first tick
    upload_policy()
    customer()
    due_invoice("INV/2026/0042")
    sms.fail_next.append(
        _client_error("ServiceQuotaExceededException", 402, "MONTHLY_SPEND_LIMIT_REACHED_FOR_TEXT")
    )
    # When the tick runs, then nothing went and the touch was released (not refused, not in doubt)
    assert tick()["outcomes"].get("text_blocked") == 1
    assert sms.sent == []
    # And the next tick, the limit raised, sends it once
    tick("2026-11-23T09:30:00Z")
    assert [t.to for t in sms.sent] == [MOBILE]


def test_a_text_whose_answer_was_lost_is_never_sent_again(sms: FakeSmsClient) -> None:
    # Given the service fails with a 5xx after the request went out (it may have sent the text)
    upload_policy()
    customer()
    due_invoice("INV/2026/0042")
    sms.fail_next.append(_client_error("InternalServerException", 500))
    assert tick()["outcomes"].get("text_outcome_unknown") == 1
    # When later ticks find the invoice still due, then the reservation holds: no second text, no email
    tick("2026-11-23T09:30:00Z")
    tick("2026-11-24T09:00:00Z")
    assert sms.sent == [] and sent_emails() == []


# A long customer id with non-ASCII characters: its signed portal link is long (the id travels in it).
LONG_CUSTOMER = "Müller & Söhne, GmbH — Zweigniederlassung Köln"


def test_a_text_over_the_policys_parts_goes_by_the_next_channel_and_says_why(sms: FakeSmsClient) -> None:
    # Given a policy that allows one part, and a customer whose signed portal link alone is longer
    # than 160 characters (the channel is chosen knowing the text's length)
    upload_policy(sms_settings="{max_parts: 1}")
    Customers().save(
        Customer(
            customer_id=LONG_CUSTOMER,
            name=LONG_CUSTOMER,
            email="ap@mueller-koeln.example",
            country="DE",
            time_zone="Europe/Berlin",
            language="de",
            mobile=MOBILE,
        )
    )
    due_invoice("INV/2026/0042", customer_id=LONG_CUSTOMER)
    # When the tick runs, and again an hour later
    outcome = tick()
    tick("2026-11-23T10:00:00Z")
    # Then no text is sent, and the step goes once by email (its next channel), not skipped every tick
    assert sms.sent == [] and outcome["outcomes"].get("text_skipped_too_long", 0) == 0
    assert [(e.customer_id, e.step, e.invoices) for e in sent_emails()] == [
        (LONG_CUSTOMER, "due", ["INV/2026/0042"])
    ]
    # And the decision on the timeline says why the text could not carry it
    [why] = [
        d.reason
        for entry in Activities().timeline(LONG_CUSTOMER)
        for d in decisions_of(entry)
        if d.step == "due"
    ]
    assert "no sms: the reminder text does not fit" in why and "the policy allows 1" in why, why


def test_a_stop_the_services_list_cannot_take_now_still_opts_the_customer_out(sms: FakeSmsClient) -> None:
    # Given a customer texted once, and the service's opt-out list failing for a moment
    upload_policy()
    customer()
    due_invoice("INV/2026/0042")
    tick()
    original = sms.put_opted_out_number
    calls = {"n": 0}

    def failing_once(**params: Any) -> dict[str, Any]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise _client_error("InternalServerException", 500)
        return original(**params)

    sms.put_opted_out_number = failing_once  # type: ignore[method-assign]
    reply = sns_record(sms.reply(MOBILE, "STOP"), datetime(2026, 11, 23, 10, 5, tzinfo=UTC))
    # When the reply's record fails (SNS will deliver it again), the customer is opted out already
    with pytest.raises(Exception, match="opt-out list did not take the number"):
        invoke("dunning", {"Records": [reply]})
    stored = Customers().get(CUSTOMER)
    assert stored is not None and stored.sms_opted_out
    # And SNS's second delivery puts the number on the service's list, changing nothing of ours
    assert invoke("dunning", {"Records": [reply]})["replies"][0]["customers"] == []
    assert MOBILE in sms.opt_out_lists[LOCAL_OPT_OUT_LIST]


def test_a_start_reply_opts_the_number_back_in_and_the_next_step_is_texted(sms: FakeSmsClient) -> None:
    # Given a customer texted once, who replied STOP (opted out: ours, the service's lists, the flag)
    upload_policy(sms_settings="{opt_in_keywords: [ANMELDEN]}")
    customer()
    due_invoice("INV/2026/0042")
    tick()
    stop = sns_record(sms.reply(MOBILE, "STOP"), datetime(2026, 11, 23, 10, 5, tzinfo=UTC))
    invoke("dunning", {"Records": [stop]})
    assert MOBILE in sms.opted_out
    # When the customer replies "Start" (SNS delivers it twice)
    start = sns_record(sms.reply(MOBILE, "Start"), datetime(2026, 11, 23, 11, 0, tzinfo=UTC))
    first = invoke("dunning", {"Records": [start]})
    again = invoke("dunning", {"Records": [start]})
    # Then the customer is textable again, once, with a timeline entry; the number is on no list
    assert first["replies"][0] == {
        "opt_out": False,
        "opt_in": True,
        "keyword": "START",
        "customers": [CUSTOMER],
    }
    assert again["replies"][0]["customers"] == []
    stored = Customers().get(CUSTOMER)
    assert stored is not None and not stored.sms_opted_out
    assert sorted(a.kind for a in Activities().timeline(CUSTOMER) if a.kind.startswith("sms_opt")) == [
        "sms_opted_in",
        "sms_opted_out",
    ]
    assert MOBILE not in sms.opted_out
    # And the next invoice's `due` step is texted again, not emailed
    due_invoice("INV/2026/0050")
    tick("2026-11-24T09:00:00Z")
    assert len(sms.sent) == 2 and sent_emails() == []
    # And a STOP after that opts the customer out again, with its own timeline entry
    invoke(
        "dunning",
        {"Records": [sns_record(sms.reply(MOBILE, "stop"), datetime(2026, 11, 24, 10, tzinfo=UTC))]},
    )
    stored = Customers().get(CUSTOMER)
    assert stored is not None and stored.sms_opted_out
    kinds = [a.kind for a in Activities().timeline(CUSTOMER) if a.kind.startswith("sms_opt")]
    assert sorted(kinds) == ["sms_opted_in", "sms_opted_out", "sms_opted_out"]
    # And the policy's own word opts back in, but the service keeps a number it let go within 30 days:
    # the customer stays opted out, and the timeline says why
    back = invoke(
        "dunning",
        {"Records": [sns_record(sms.reply(MOBILE, "Anmelden"), datetime(2026, 11, 25, 10, tzinfo=UTC))]},
    )
    assert (
        back["replies"][0]["opt_in"] is False
        and "PHONE_NUMBER_CANNOT_BE_OPTED_IN" in back["replies"][0]["refused"]
    )
    stored = Customers().get(CUSTOMER)
    assert stored is not None and stored.sms_opted_out
    assert any(a.kind == "sms_opt_in_refused" for a in Activities().timeline(CUSTOMER))


# --- delivery receipts ------------------------------------------------------------------------------


def texted(sms: FakeSmsClient) -> SentText:
    """A customer texted its `due` step (sms first, email after) for INV/2026/0042: the text."""
    upload_policy()
    customer()
    due_invoice("INV/2026/0042")
    tick()
    (text,) = sms.sent
    return text


def receipt(text: SentText, event_type: str, at: str = "2026-11-23T09:20:00Z") -> dict[str, Any]:
    """The receipt AWS sends to EventBridge for ``text``, invoked as the rule delivers it."""
    instant = datetime.fromisoformat(at.replace("Z", "+00:00"))
    event = receipt_event(
        {"message_id": text.message_id, "to": text.to, "context": text.context}, event_type, instant
    )
    result: dict[str, Any] = invoke("dunning", event)
    return result


def test_a_text_the_carrier_did_not_deliver_goes_again_by_the_next_channel_once(sms: FakeSmsClient) -> None:
    # Given a step texted first, email after, and its text sent
    text = texted(sms)
    # When the carrier says the phone was unreachable (a final status)
    outcome = receipt(text, "TEXT_UNREACHABLE")
    # Then the text and its invoice say so, and the timeline says why
    assert outcome["outcome"] == "undelivered" and outcome["recorded"]
    assert outcome["fell_back"] == [["INV/2026/0042", "due"]]
    invoice = Invoices().get(CUSTOMER, "INV/2026/0042")
    assert invoice is not None and "due@sms" in invoice.bounced_steps
    (entry,) = [a for a in Activities().timeline(CUSTOMER) if a.kind == "sms_undelivered"]
    assert "the phone was off or out of the network" in entry.summary and entry.detail["to"] == MOBILE
    # And the same receipt delivered again changes nothing
    assert receipt(text, "TEXT_UNREACHABLE")["recorded"] is False
    # When the next tick runs (inside the send window: 10:30 in Berlin), the step goes by email, once
    tick("2026-11-23T09:30:00Z")
    assert [e.invoices for e in sent_emails()] == [["INV/2026/0042"]]
    assert len(sms.sent) == 1
    tick("2026-11-23T09:45:00Z")
    tick("2026-11-24T09:00:00Z")
    assert len(sent_emails()) == 1
    invoice = Invoices().get(CUSTOMER, "INV/2026/0042")
    assert invoice is not None and "due@bounced" in invoice.steps_done
    # And the customer stays textable: the phone was off, the number is right
    stored = Customers().get(CUSTOMER)
    assert stored is not None and stored.sms_undeliverable is None


def test_a_number_that_cannot_receive_texts_is_not_texted_again_until_the_master_gives_another(
    sms: FakeSmsClient,
) -> None:
    text = texted(sms)
    # When the carrier says the number cannot receive texts
    outcome = receipt(text, "TEXT_INVALID")
    assert outcome["recorded"]
    stored = Customers().get(CUSTOMER)
    assert stored is not None and stored.sms_undeliverable == MOBILE
    (entry,) = [a for a in Activities().timeline(CUSTOMER) if a.kind == "sms_undelivered"]
    assert "the number is not texted again" in entry.summary
    # And the change feed tells the ERP to correct the number, as it does for a bounced address
    s3 = boto3.client("s3")
    listed = s3.list_objects_v2(Bucket=os.environ["DROP_BUCKET"], Prefix=CHANGES_PREFIX).get("Contents", [])
    bodies = [s3.get_object(Bucket=os.environ["DROP_BUCKET"], Key=o["Key"])["Body"].read() for o in listed]
    (change,) = [json.loads(b) for b in bodies if b"mobile_undeliverable" in b]
    assert (change["kind"], change["phone"], change["reason"]) == (
        "mobile_undeliverable",
        MOBILE,
        "TEXT_INVALID",
    )
    # Then the next invoice's step goes by email, and says why the text could not go
    due_invoice("INV/2026/0050")
    tick("2026-11-24T09:00:00Z")
    assert len(sms.sent) == 1
    # (one email: the text's fallback and the new invoice's step, consolidated)
    assert sorted(n for e in sent_emails() for n in e.invoices) == ["INV/2026/0042", "INV/2026/0050"]
    reasons = [d.reason for a in Activities().timeline(CUSTOMER) for d in decisions_of(a)]
    assert any("cannot receive texts" in reason for reason in reasons), reasons
    # When the customer master gives a new mobile (ingest keeps the dunning function's field)
    customer(mobile="+4915198765432", sms_undeliverable=MOBILE)
    due_invoice("INV/2026/0051")
    tick("2026-11-25T09:00:00Z")
    # Then the new number is texted
    assert [t.to for t in sms.sent] == [MOBILE, "+4915198765432"]


def test_a_delivered_text_goes_on_the_timeline_once_and_changes_nothing_else(sms: FakeSmsClient) -> None:
    text = texted(sms)
    assert receipt(text, "TEXT_QUEUED")["outcome"] == "pending"  # not final: nothing yet
    assert receipt(text, "TEXT_DELIVERED")["recorded"] is True
    assert receipt(text, "TEXT_DELIVERED")["recorded"] is False
    (entry,) = [a for a in Activities().timeline(CUSTOMER) if a.kind == "sms_delivered"]
    assert entry.detail["to"] == MOBILE
    invoice = Invoices().get(CUSTOMER, "INV/2026/0042")
    assert invoice is not None and invoice.bounced_steps == ()
    # A failure after the delivery (carriers can) still sends the step again: the customer may not have it
    assert receipt(text, "TEXT_CARRIER_BLOCKED")["recorded"] is True


def test_a_receipt_for_a_text_this_stack_did_not_send_is_said_and_changes_nothing(sms: FakeSmsClient) -> None:
    text = texted(sms)
    stranger = SentText(
        **{**text.__dict__, "message_id": "not-ours", "context": {**text.context, "touch_id": "t-x"}}
    )
    outcome = receipt(stranger, "TEXT_INVALID")
    assert outcome.get("unknown_text") is True and outcome["recorded"] is False
    stored = Customers().get(CUSTOMER)
    assert stored is not None and stored.sms_undeliverable is None


def test_a_go_live_statement_by_text_counts_for_the_steps_it_stands_in_for(sms: FakeSmsClient) -> None:
    """The statement of a go-live's backlog, carried by a text, records the missed steps as taken with it
    (as its email does): none of them is texted or emailed after it, the same day or later."""
    policy = re.sub(
        r"(action: email, template: \w+)\}", r"\1, channels: [sms, email]}", SHIPPED_POLICY.read_text()
    )
    boto3.client("s3").put_object(
        Bucket=os.environ["DROP_BUCKET"], Key=DropPrefix.DUNNING_POLICY, Body=policy
    )
    customer()
    due_invoice("INV/2026/0007", due_date=date(2026, 10, 23), steps_done=())
    tick()
    (text,) = sms.sent
    assert text.context["step"] == "golive_statement"
    invoice = Invoices().get(CUSTOMER, "INV/2026/0007")
    assert invoice is not None
    assert {"golive_statement", "outreach", "courtesy", "due"} <= set(invoice.steps_done)
    # A look at the customer later the same day (its invoice made due now) sends nothing it stood in for
    Invoices().save(replace(invoice, next_action_at=datetime(2026, 11, 23, 9, 30, tzinfo=UTC)))
    tick("2026-11-23T09:30:00Z")
    assert len(sms.sent) == 1 and sent_emails() == []


def test_a_receipt_before_the_texts_completion_is_recorded_fails_so_it_comes_again(
    sms: FakeSmsClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a text the service took whose completion was not written (the function died after it)
    upload_policy()
    customer()
    due_invoice("INV/2026/0042")

    def died(self: TextLedger, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the function died after SendTextMessage")

    monkeypatch.setattr(TextLedger, "complete_text", died)
    tick()
    (text,) = sms.sent
    # When its receipt arrives, it fails (EventBridge delivers it again, then keeps it in the DLQ)
    with pytest.raises(ReceiptTooEarly, match="before its completion was recorded"):
        receipt(text, "TEXT_UNREACHABLE")
    invoice = Invoices().get(CUSTOMER, "INV/2026/0042")
    assert invoice is not None and invoice.bounced_steps == ()


def test_a_crash_after_the_marks_still_remembers_the_unusable_number_on_the_retry(
    sms: FakeSmsClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = texted(sms)
    original = TextLedger.mark_unusable
    calls = {"n": 0}

    def crash_once(self: TextLedger, customer_id: str, number: str) -> bool:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("the function died between the marks and the profile")
        return original(self, customer_id, number)

    monkeypatch.setattr(TextLedger, "mark_unusable", crash_once)
    with pytest.raises(RuntimeError, match="died between"):
        receipt(text, "TEXT_INVALID")
    # EventBridge delivers the receipt again: the marks are there already, the profile is written now
    assert receipt(text, "TEXT_INVALID")["recorded"] is False
    stored = Customers().get(CUSTOMER)
    assert stored is not None and stored.sms_undeliverable == MOBILE
