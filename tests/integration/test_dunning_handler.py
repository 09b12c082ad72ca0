"""The dunning function: ticks take "now" from their event, large sweeps fan out through the queue,
queue work reports partial failures, previews write nothing, SES events change what happens next, and
an uploaded policy replaces the shipped one (a broken one stops dunning, loudly)."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import boto3
import pytest

from arcollect.contract import DropPrefix
from arcollect.dunning.sweep import INLINE_CUSTOMERS
from arcollect.entities import Customer, Invoice
from arcollect.policy import SHIPPED_POLICY
from arcollect.store.dunning import DunningStore
from arcollect.store.models import TableItem
from arcollect.store.repositories import Activities, Customers, Invoices, Tasks
from arcollect_cli.lambda_runtime import load_handler
from tests.integration.conftest import invoke, load_event
from tests.integration.dunning_world import sent_emails

TICK_AT = "2026-11-23T09:00:00Z"  # a Monday: 10:00 in Berlin, inside the send window


def customer(customer_id: str, **changes: Any) -> None:
    Customers().save(
        Customer(
            customer_id=customer_id,
            name=f"Customer {customer_id}",
            email=changes.pop("email", f"ap@{customer_id.lower()}.example"),
            country="DE",
            time_zone="Europe/Berlin",
            **changes,
        )
    )


def due_invoice(customer_id: str, number: str, next_action_at: datetime | None, **changes: Any) -> None:
    """An invoice that became late on 2026-11-22 (its `due` step falls due on the 23rd)."""
    Invoices().save(
        Invoice(
            customer_id=customer_id,
            invoice_number=number,
            currency="EUR",
            amount=Decimal("100.00"),
            open_amount=Decimal("100.00"),
            invoice_date=date(2026, 10, 23),
            due_date=date(2026, 11, 22),
            next_action_at=next_action_at,
            # Earlier steps were taken: the `due` email is what is due now.
            steps_done=("outreach", "courtesy"),
            **changes,
        )
    )


def tick(at: str = TICK_AT) -> dict[str, Any]:
    result: dict[str, Any] = invoke("dunning", dict(load_event("scheduler_tick.json"), time=at))
    return result


def queued() -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=os.environ["DUNNING_QUEUE_URL"], MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        messages += batch
        for message in batch:
            sqs.delete_message(
                QueueUrl=os.environ["DUNNING_QUEUE_URL"], ReceiptHandle=message["ReceiptHandle"]
            )
    return messages


def sqs_records(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Records": [
            {"messageId": m["MessageId"], "body": m["Body"], "eventSource": "aws:sqs", "attributes": {}}
            for m in messages
        ]
    }


def test_the_tick_reads_only_what_is_due_at_its_scheduled_time(aws: None) -> None:
    # Given two invoices due before the tick, one due after it, one with nothing pending
    for customer_id in ("C-1", "C-2", "C-3", "C-4"):
        customer(customer_id)
    due_invoice("C-1", "INV-1", datetime(2026, 11, 23, 8, tzinfo=UTC))
    due_invoice("C-2", "INV-2", datetime(2026, 11, 23, 9, tzinfo=UTC))
    due_invoice("C-3", "INV-3", datetime(2026, 11, 23, 10, tzinfo=UTC))
    due_invoice("C-4", "INV-4", None)
    # When the scheduler fires for 09:00 (the event's time, whatever the wall clock says)
    result = tick()
    # Then the sweep read exactly the two due items from the sparse index and reminded both customers
    assert (result["scheduled_at"], result["due_items"], result["duplicate"]) == (TICK_AT, 2, False)
    assert (result["customers"], result["emails_sent"]) == (2, 2)
    assert sorted((e.customer_id, e.step, tuple(e.invoices)) for e in sent_emails()) == [
        ("C-1", "due", ("INV-1",)),
        ("C-2", "due", ("INV-2",)),
    ]
    # And each reminder is in its customer's timeline, with what it was about
    [entry] = [a for a in Activities().timeline("C-1") if a.kind == "email_sent"]
    assert (entry.detail["step"], entry.detail["invoices"], entry.detail["template"]) == (
        "due",
        "INV-1",
        "due",
    )


def test_a_repeated_tick_is_recognised_and_sends_nothing_twice(aws: None) -> None:
    customer("C-1")
    due_invoice("C-1", "INV-1", datetime(2026, 11, 23, 8, tzinfo=UTC))
    first = tick()
    again = tick()
    assert (first["duplicate"], again["duplicate"]) == (False, True)
    assert len(sent_emails()) == 1
    assert tick("2026-11-23T10:00:00Z")["duplicate"] is False
    assert len(sent_emails()) == 1


def test_a_large_sweep_fans_out_one_message_per_customer_and_workers_send(aws: None) -> None:
    # Given more due customers than a sweep works inline
    count = INLINE_CUSTOMERS + 3
    for index in range(count):
        customer(f"C-{index}")
        due_invoice(f"C-{index}", f"INV-{index}", datetime(2026, 11, 23, 8, tzinfo=UTC))
    # When the tick runs
    result = tick()
    # Then it sends nothing itself and queues one work item per customer, with its due invoices
    assert (result["fanned_out"], result["emails_sent"], len(sent_emails())) == (count, 0, 0)
    messages = queued()
    assert len(messages) == count
    body = json.loads(messages[0]["Body"])
    assert body["kind"] == "dunning_customer" and len(body["invoices"]) == 1
    # When the queue delivers them, one of them twice (SQS is at-least-once), plus a malformed message
    junk = {"MessageId": "junk", "Body": "not json"}
    response = invoke("dunning", sqs_records([*messages, messages[0], junk]))
    # Then every customer got one email, and only the malformed message is reported back for retry
    assert response == {"batchItemFailures": [{"itemIdentifier": "junk"}]}
    assert len(sent_emails()) == count
    assert len({e.customer_id for e in sent_emails()}) == count


def test_a_batch_of_queued_work_reads_the_policy_once_and_the_next_batch_reads_it_again(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a sweep that fanned its customers out to the queue
    count = INLINE_CUSTOMERS + 2
    for index in range(count):
        customer(f"C-{index}")
        due_invoice(f"C-{index}", f"INV-{index}", datetime(2026, 11, 23, 8, tzinfo=UTC))
    tick()
    messages = queued()
    # And a count of the dunning function's reads of the policy file (ops may replace it at any time)
    objects = load_handler("dunning").app.objects
    reads: list[str] = []
    read_text = objects.read_text

    def counted(bucket: str, key: str) -> str | None:
        reads.extend([key] if key == DropPrefix.DUNNING_POLICY else [])
        return read_text(bucket, key)

    monkeypatch.setattr(objects, "read_text", counted)
    # When the queue delivers them in two batches
    half = len(messages) // 2
    assert invoke("dunning", sqs_records(messages[:half])) == {"batchItemFailures": []}
    assert invoke("dunning", sqs_records(messages[half:])) == {"batchItemFailures": []}
    # Then each batch read the policy in force once, not once per message, and every customer was sent to
    assert len(reads) == 2
    assert len({e.customer_id for e in sent_emails()}) == count


def test_a_batch_whose_every_message_fails_reports_each_for_retry(aws: None) -> None:
    junk = [{"MessageId": "junk-1", "Body": "not json"}, {"MessageId": "junk-2", "Body": "{}"}]
    assert invoke("dunning", sqs_records(junk)) == {
        "batchItemFailures": [{"itemIdentifier": "junk-1"}, {"itemIdentifier": "junk-2"}]
    }


def test_preview_lists_what_would_happen_and_changes_nothing(aws: None) -> None:
    customer("C-1", owner="dana@seller.example")
    due_invoice("C-1", "INV-1", datetime(2026, 11, 23, 8, tzinfo=UTC))
    due_invoice("C-1", "INV-2", datetime(2026, 11, 23, 8, tzinfo=UTC), disputed=True)
    # When a preview for the tick's time is asked through the function
    result = invoke("dunning", {"action": "preview", "at": TICK_AT})
    # Then it names the email, the task and the suppressed invoice with reasons
    [plan] = result["customers"]
    assert plan["email"]["template"] == "due" and plan["email"]["invoice_numbers"] == ["INV-1"]
    assert [t["kind"] for t in plan["tasks"]] == ["owner_alert"]
    assert {
        "invoice": "INV-2",
        "outcome": "suppressed",
        "step": None,
        "why": ("disputed: left out until the dispute is resolved"),
    } in plan["decisions"]
    # And nothing was sent, created or moved
    assert sent_emails() == [] and Tasks().for_customer("C-1") == []
    assert Invoices().get("C-1", "INV-1").next_action_at == datetime(2026, 11, 23, 8, tzinfo=UTC)  # type: ignore[union-attr]


def test_a_preview_without_a_valid_time_is_refused(aws: None) -> None:
    with pytest.raises(Exception, match="not an ISO-8601 timestamp"):
        invoke("dunning", {"action": "preview", "at": "next tuesday"})


def test_a_preview_under_a_draft_policy_plans_with_the_draft_and_writes_nothing(aws: None) -> None:
    customer("C-1")
    due_invoice("C-1", "INV-1", datetime(2026, 11, 23, 8, tzinfo=UTC))
    draft = SHIPPED_POLICY.read_text().replace(
        "- {id: due, trigger: {days: 1}, action: email, template: due}",
        "- {id: due, trigger: {days: 1}, action: call, title: Call on the first late day}",
    )
    before = sorted(json.dumps(item.serialize(), sort_keys=True) for item in TableItem.scan())
    in_force = invoke("dunning", {"action": "preview", "at": TICK_AT})
    drafted = invoke("dunning", {"action": "preview", "at": TICK_AT, "policy": draft})
    assert in_force["customers"][0]["email"]["step"] == "due"
    assert drafted["policy"] == "draft" and drafted["customers"][0]["email"] is None
    assert "Call on the first late day" in {task["title"] for task in drafted["customers"][0]["tasks"]}
    assert sorted(json.dumps(item.serialize(), sort_keys=True) for item in TableItem.scan()) == before
    assert sent_emails() == []
    with pytest.raises(Exception, match="the draft policy is not a valid dunning policy"):
        invoke("dunning", {"action": "preview", "at": TICK_AT, "policy": "policies: {x: {steps: []}}"})


def test_an_uploaded_policy_replaces_the_shipped_one(aws: None) -> None:
    # Given a policy upload whose `due` step is a call instead of an email
    text = SHIPPED_POLICY.read_text().replace(
        "- {id: due, trigger: {days: 1}, action: email, template: due}",
        "- {id: due, trigger: {days: 1}, action: call, title: Call on the first late day}",
    )
    boto3.client("s3").put_object(Bucket=os.environ["DROP_BUCKET"], Key=DropPrefix.DUNNING_POLICY, Body=text)
    customer("C-1")
    due_invoice("C-1", "INV-1", datetime(2026, 11, 23, 8, tzinfo=UTC))
    # When the tick runs
    tick()
    # Then the uploaded policy decided: a call task, no email
    assert sent_emails() == []
    assert sorted(t.title for t in Tasks().for_customer("C-1")) == [
        "Call on the first late day",
        "Invoice became late",
    ]


def test_a_broken_uploaded_policy_stops_dunning_with_the_reason(aws: None) -> None:
    boto3.client("s3").put_object(
        Bucket=os.environ["DROP_BUCKET"], Key=DropPrefix.DUNNING_POLICY, Body=b"policies: {x: {steps: []}}"
    )
    customer("C-1")
    due_invoice("C-1", "INV-1", datetime(2026, 11, 23, 8, tzinfo=UTC))
    with pytest.raises(Exception, match="is not a valid dunning policy") as raised:
        tick()
    assert "policies.x.steps: a policy needs a list of at least one step" in str(raised.value)
    assert sent_emails() == []


def test_a_bounce_is_recorded_once_and_the_address_is_not_used_again(aws: None) -> None:
    # Given a customer with two addresses, and SES's bounce event for the first
    customer("C-1001", email="ap@customer.example", other_emails=("finance@customer.example",))
    event = load_event("ses_bounce.json")
    # When it arrives, and arrives again (EventBridge delivers at least once)
    first = invoke("dunning", event)
    second = invoke("dunning", event)
    # Then one timeline entry says what happened and when the bounce happened
    assert (first["recorded"], second["recorded"]) == (True, False)
    assert first["suppressed"] == ["ap@customer.example"]
    [entry] = Activities().timeline("C-1001")
    assert entry.kind == "email_bounce"
    assert entry.at == datetime(2026, 11, 23, 9, 5, 11, tzinfo=UTC)
    assert entry.detail["recipients"] == "ap@customer.example"
    # And the next reminder goes to the other address only
    assert Customers().get("C-1001").reachable_emails == ("finance@customer.example",)  # type: ignore[union-attr]
    due_invoice("C-1001", "INV-1", datetime(2026, 11, 23, 8, tzinfo=UTC))
    tick()
    [email] = sent_emails()
    assert email.to == ["finance@customer.example"]


def test_a_transient_bounce_suppresses_nothing(aws: None) -> None:
    customer("C-1001", email="ap@customer.example")
    event = load_event("ses_bounce.json")
    event["detail"]["bounce"]["bounceType"] = "Transient"
    assert invoke("dunning", event)["suppressed"] == []
    assert Customers().get("C-1001").reachable_emails == ("ap@customer.example",)  # type: ignore[union-attr]


def test_an_event_for_mail_we_did_not_tag_is_ignored(aws: None) -> None:
    event = load_event("ses_bounce.json")
    del event["detail"]["mail"]["tags"]["customer_id"]
    assert invoke("dunning", event)["recorded"] is False


def test_a_promise_pauses_its_invoices_in_the_index(aws: None) -> None:
    from arcollect.entities import Promise

    customer("C-1")
    due_invoice("C-1", "INV-1", datetime(2026, 11, 23, 8, tzinfo=UTC))
    promise = Promise("C-1", "P-1", ("INV-1",), date(2026, 12, 1), datetime(2026, 11, 22, tzinfo=UTC))
    assert DunningStore().make_promise(promise, datetime(2026, 12, 4, 23, tzinfo=UTC)) is True
    assert DunningStore().make_promise(promise, datetime(2026, 12, 4, 23, tzinfo=UTC)) is False
    assert tick()["due_items"] == 0
    paused = Invoices().get("C-1", "INV-1")
    assert paused is not None and (paused.promise_id, paused.promised_until) == ("P-1", date(2026, 12, 1))


def test_a_steady_sweep_reads_only_the_index_and_a_changed_profile_is_noticed(aws: None) -> None:
    from benchmarks.dunning_sweep import items_read

    # Given a customer whose first reminder went out (the engine kept a copy of the profile beside
    # the invoice when it scheduled the next step)
    customer("C-1")
    due_invoice("C-1", "INV-1", datetime(2026, 11, 23, 8, tzinfo=UTC))
    tick()
    # When the next step (the call task, 7 days late) falls due
    with items_read() as counts:
        result = tick("2026-11-29T00:00:00Z")
    # Then the sweep read the one index item and nothing else
    assert result["tasks_created"] == 1
    assert sum(counts.values()) == result["due_items"] == 1
    # When the customer's AP address changes in the master data before the next email step
    Customers().save(replace(Customers().get("C-1"), email="new-ap@c-1.example"))  # type: ignore[arg-type]
    result = tick("2026-12-07T09:00:00Z")
    # Then the stale copy is noticed when the reminder is reserved, and the email goes to the new address
    assert result["outcomes"].get("stale_profile_copy") == 1
    assert [e.to for e in sent_emails()][-1] == ["new-ap@c-1.example"]
