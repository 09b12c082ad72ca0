"""Every event delivered three times, as at-least-once delivery may: the S3 notifications of the ERP's
files, the SQS messages of ingest's chunks and of dunning's fan-out, the scheduled dunning and report
ticks, and SES's events. The customers get no email twice, and the table and the reports end exactly as
after a single delivery."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import boto3

from tests.integration.conftest import invoke, load_event, stack_resources
from tests.integration.dunning_world import sent_emails
from tests.integration.ingest_flow import upload
from tests.integration.real_world import (
    ACCOUNTS,
    DOCUMENTS,
    Account,
    Document,
    customers_file,
    generic,
    sap,
    utc,
)
from tests.integration.test_ingest_handler import notification, sqs_event
from tests.reliability.figures import Figures, scale

DROP = os.environ["DROP_BUCKET"]
REPORTS = os.environ["REPORTS_BUCKET"]
TABLE = os.environ["TABLE_NAME"]
QUEUES = {"ingest": os.environ["INGEST_QUEUE_URL"], "dunning": os.environ["DUNNING_QUEUE_URL"]}
# A day whose hours reach every customer's send window, Tokyo to Chicago (tests/integration/real_world).
TICKS = [utc(2026, 11, 24) + timedelta(hours=hour) for hour in range(16)]


def _more(count: int) -> tuple[list[Account], list[Document]]:
    """More customers, enough for the sweep to fan its work out through the dunning queue."""
    accounts = [
        Account(
            f"Kunde & Söhne, Nr. {n}",
            f"Kunde & Söhne, Nr. {n}",
            f"ap{n}@kunde{n}.example",
            "DE",
            "Europe/Berlin",
            "de",
        )
        for n in range(count)
    ]
    documents = [replace(DOCUMENTS[1], account=a, number=f"RE/2026/{n:05d}") for n, a in enumerate(accounts)]
    return accounts, documents


def _files() -> list[tuple[str, bytes]]:
    """The customer master, a European SAP export (semicolons, day-first dates, 1.234,56) and our own
    layout's invoices and payments (partial payments), ids with spaces, '&', commas, accents, '/'."""
    accounts, documents = _more(scale(24, 150))
    european, ours = sap((*DOCUMENTS, *documents)), generic(DOCUMENTS)
    assert ours.payments is not None
    return [
        ("incoming/customers/customers.csv", customers_file((*ACCOUNTS, *accounts))),
        (f"incoming/invoices/{european.preset}/{european.filename}", european.body),
        (f"incoming/invoices/{ours.preset}/{ours.filename}", ours.body),
        ("incoming/payments/payments.csv", ours.payments),
    ]


def _drain(function: str, times: int) -> int:
    """Deliver every message the functions queued, each ``times`` times (the same message id, as SQS
    redelivers), until the queue is empty. Returns how many messages there were."""
    sqs, queue, delivered = boto3.client("sqs"), QUEUES[function], 0
    while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
        for _ in range(times):
            outcome = invoke(function, sqs_event(*(m["Body"] for m in messages)))
            assert outcome == {"batchItemFailures": []}, outcome
        for message in messages:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        delivered += len(messages)
    return delivered


def _ses_events() -> Iterator[dict[str, Any]]:
    """SES's Send and Delivery events for every email sent, and a bounce for the first."""
    for index, email in enumerate(sent_emails()):
        tags = {"touch_id": [email.touch], "customer_id": [email.customer_id]}
        kinds = ["Send", "Delivery"] + (["Bounce"] if index == 0 else [])
        for kind in kinds:
            event = load_event("ses_bounce.json")
            detail = event["detail"]
            event["detail-type"] = f"Email {kind}"
            event["time"] = "2026-11-24T16:00:00Z"
            detail["eventType"] = kind
            detail["mail"].update(messageId=f"ses-{email.touch}", destination=email.to)
            detail["mail"]["tags"].update(tags)
            if kind != "Bounce":
                del detail["bounce"]
                detail[kind.lower()] = {"timestamp": "2026-11-24T15:59:00.000Z", "recipients": email.to}
            else:
                detail["bounce"]["bouncedRecipients"][0]["emailAddress"] = email.to[0]
            yield event


def _snapshot(versions: dict[str, str]) -> dict[str, Any]:
    """The whole table (every item, every attribute), the reports bucket's objects and the drop bucket's
    results and rejections (their content hashed), as values two accounts can compare: S3's version ids
    and SES's message ids (new in every account) are written as what they stand for."""
    items: list[Any] = []
    for page in boto3.client("dynamodb").get_paginator("scan").paginate(TableName=TABLE):
        items.extend(page["Items"])
    names = dict(versions)
    names.update(
        {
            item["message_id"]["S"]: f"<SES message for touch {item['touch_id']['S']}>"
            for item in items
            if "S" in item.get("message_id", {}) and "touch_id" in item
        }
    )
    items = [
        {k: v for k, v in item.items() if k not in WALL_CLOCK}
        for item in json.loads(_named(json.dumps(items, ensure_ascii=False), names))
    ]
    items.sort(key=lambda item: (item["pk"]["S"], item["sk"]["S"]))
    s3, objects = boto3.client("s3"), {}
    for bucket, prefix in ((REPORTS, ""), (DROP, "results/"), (DROP, "rejected/"), (DROP, "outgoing/")):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for entry in page.get("Contents", []):
                body = s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
                with contextlib.suppress(UnicodeDecodeError):
                    body = _named(body.decode(), names).encode()
                objects[f"{bucket}/{_named(entry['Key'], names)}"] = hashlib.sha256(body).hexdigest()
    return {"items": items, "objects": objects}


def _named(text: str, names: dict[str, str]) -> str:
    for value, name in names.items():
        text = text.replace(value, name)
    return text


# Set by the wall clock, not by the events: when a reservation was really made (its lease runs on it).
WALL_CLOCK = frozenset({"reserved_by_clock"})


def scenario(times: int) -> tuple[dict[str, Any], int, dict[str, int]]:
    """The ERP's files, a day of hourly sweeps, SES's events and the daily report, each event delivered
    ``times`` times. Returns the end state, how many emails SES sent, and how many events of each kind
    were delivered."""
    delivered = {"s3": 0, "sqs": 0, "scheduled": 0, "ses": 0}
    with stack_resources():
        versions: dict[str, str] = {}
        for key, body in _files():
            version = upload(key, body)
            versions[version] = f"<version of {key}>"
            for _ in range(times):
                outcome = invoke("ingest", sqs_event(notification(key.replace(" ", "+"), version, len(body))))
                assert outcome == {"batchItemFailures": []}, outcome
            delivered["s3"] += times
            delivered["sqs"] += times * _drain("ingest", times)
        for at in TICKS:
            for _ in range(times):
                invoke("dunning", dict(load_event("scheduler_tick.json"), time=at.isoformat()))
            delivered["scheduled"] += times
            delivered["sqs"] += times * _drain("dunning", times)
        for event in list(_ses_events()):
            for _ in range(times):
                invoke("dunning", event)
            delivered["ses"] += times
        report_tick = dict(load_event("scheduler_tick.json"), time="2026-11-25T05:00:00Z")
        report_tick["detail"] = {"cadence": "daily"}
        for _ in range(times):
            invoke("reports", report_tick)
        delivered["scheduled"] += times
        emails = len(sent_emails())
        return _snapshot(versions), emails, delivered


def _differences(once: dict[str, Any], thrice: dict[str, Any]) -> list[str]:
    different = []
    keyed_once = {(i["pk"]["S"], i["sk"]["S"]): i for i in once["items"]}
    keyed_thrice = {(i["pk"]["S"], i["sk"]["S"]): i for i in thrice["items"]}
    for key in sorted(keyed_once.keys() | keyed_thrice.keys()):
        a, b = keyed_once.get(key), keyed_thrice.get(key)
        if a != b:
            attributes = sorted(
                name
                for name in (a or {}).keys() | (b or {}).keys()
                if (a or {}).get(name) != (b or {}).get(name)
            )
            different.append(
                f"item {key}: {', '.join(attributes) if a and b else 'missing' if a else 'extra'}"
            )
    for name in sorted(once["objects"].keys() | thrice["objects"].keys()):
        if once["objects"].get(name) != thrice["objects"].get(name):
            different.append(f"object {name}")
    return different


def test_every_event_delivered_three_times_ends_as_one_delivery(figures: Figures) -> None:
    once, emails_once, _ = scenario(1)
    thrice, emails_thrice, delivered = scenario(3)
    assert emails_once >= len(ACCOUNTS), "every customer gets its statement: the scenario must send"
    different = _differences(once, thrice)
    assert all(delivered.values()), delivered
    figures.record("replayed_events", sum(delivered.values()), "deliveries", ">=1")
    figures.check("replay_duplicate_emails", emails_thrice - emails_once, "emails", "0")
    figures.check(
        "replay_table_and_reports_differences",
        len(different),
        "items",
        "0",
        why=json.dumps(different[:20], ensure_ascii=False),
    )
