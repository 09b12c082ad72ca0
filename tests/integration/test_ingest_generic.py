"""Generic-layout CSV files dropped in S3 land in DynamoDB: S3 -> SQS -> ingest handler, against moto."""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import date
from decimal import Decimal
from typing import Any

import boto3

from arcollect.entities import Customer, FileStatus
from arcollect.store import keys
from arcollect.store.models import TableItem
from arcollect.store.repositories import Customers, IngestFiles, Invoices, Payments, Tasks
from tests.integration.conftest import invoke, load_event
from tests.integration.dunning_world import sent_emails
from tests.integration.test_ingest_handler import drop, notification, sqs_event

DROP = os.environ["DROP_BUCKET"]

CUSTOMERS = (
    "\ufeffcustomer_id;name;email;country;time_zone;credit_limit\n"
    "C-1;Acme GmbH;ap@acme.example;DE;;5000.00\n"
    "C-2;Globex Inc;billing@globex.example;US;America/Chicago;\n"
    "C-3;Broken;not-an-email;DE;;\n"
).encode()
INVOICES = (
    b"customer_id,invoice_number,invoice_date,due_date,amount,currency,open_amount,paid_date,disputed,description\n"
    b'C-1,INV-1,2026-10-01,2026-10-31,100.00,EUR,,,no,"Widgets, large"\n'
    b"C-1,INV-2,2026-10-05,2026-11-04,250.00,EUR,,,yes,\n"
    b"C-1,INV-3,2026-09-01,2026-09-30,40.00,EUR,0,2026-09-28,,\n"
    b"\n"
    b"C-2,INV-4,2026-10-09,2026-11-08,75.50,USD,,,,\n"
    b"C-9,INV-5,2026-10-10,2026-11-09,12.00,EUR,,,,\n"
    b"C-1,INV-6,2026-10-10,2026-10-01,12.00,EUR,,,,\n"
    b"C-1,INV-7,2026-10-10,2026-11-09,12.00,XXX,,,,\n"
)
PAYMENTS = (
    b"customer_id\tpayment_id\tpayment_date\tamount\tcurrency\tinvoice_number\treference\n"
    b"C-1\tP-1\t2026-11-10\t30.00\tEUR\tINV-1\t\n"
    b"C-1\tP-2\t2026-11-11\t250.00\tEUR\t\tINV-2\n"
    b"C-2\tP-3\t2026-11-12\t10.00\tEUR\tINV-4\t\n"
)


def ingest(s3: Any, key: str, body: bytes) -> str:
    version = drop(s3, key, body)
    assert invoke("ingest", sqs_event(notification(key, version, len(body)))) == {"batchItemFailures": []}
    return version


def read(s3: Any, key: str) -> bytes:
    return bytes(s3.get_object(Bucket=DROP, Key=key)["Body"].read())


def account_items() -> list[dict[str, Any]]:
    """Every item of the customers' partitions, raw (the file register aside)."""
    items = boto3.client("dynamodb").scan(TableName=os.environ["TABLE_NAME"])["Items"]
    return sorted(
        (item for item in items if item["pk"]["S"].startswith("CUST#")),
        key=lambda i: (i["pk"]["S"], i["sk"]["S"]),
    )


def indexed(customer_id: str) -> dict[str, str]:
    """sk -> next_action_at of a customer's items in the sweep's sparse index."""
    shard = keys.next_action_shard(keys.customer_pk(customer_id))
    return {
        item.sk: str(item.next_action_at)
        for item in TableItem.by_next_action.query(shard)
        if item.pk == keys.customer_pk(customer_id)
    }


def load_all(s3: Any) -> None:
    ingest(s3, "incoming/customers/2026-11-23.csv", CUSTOMERS)
    ingest(s3, "incoming/invoices/2026-11-23.csv", INVOICES)


def test_customers_and_invoices_land_with_results_and_rejected_rows(s3: Any) -> None:
    # Given a customers file (BOM, ';') and an invoices file (quoted comma, blank line, bad rows)
    # When both are dropped and their notifications delivered
    load_all(s3)
    # Then customers are upserted; a single-zone country gives the time zone
    assert Customers().get("C-1") == Customer(
        "C-1",
        "Acme GmbH",
        "ap@acme.example",
        country="DE",
        time_zone="Europe/Berlin",
        credit_limit=Decimal("5000.00"),
    )
    assert Customers().get("C-2").time_zone == "America/Chicago"  # type: ignore[union-attr]
    # And a customer whose AP email is broken is kept, without the address, and flagged
    broken = Customers().get("C-3")
    assert broken is not None and broken.email == ""
    assert broken.data_quality == ("email is not one address of the form name@domain.tld",)
    # And invoices are in the table, open ones in the sweep's index from their invoice date (the next
    # sweep places each at its first policy step)
    invoice = Invoices().get("C-1", "INV-1")
    assert invoice is not None
    assert (invoice.amount, invoice.open_amount, invoice.description) == (100, 100, "Widgets, large")
    assert Invoices().get("C-1", "INV-2").disputed is True  # type: ignore[union-attr]
    assert indexed("C-1") == {
        "INV#INV-1": "2026-10-01T00:00:00Z",
        "INV#INV-2": "2026-10-05T00:00:00Z",
        "INV#INV-6": "2026-10-10T00:00:00Z",
    }
    # And a settled invoice with a paid date is closed, with its payment on that date
    closed = Invoices().get("C-1", "INV-3")
    assert (closed.status, closed.paid_date) == ("closed", date(2026, 9, 28))  # type: ignore[union-attr]
    [paid] = Payments().for_customer("C-1")
    assert (paid.payment_id, paid.payment_date, paid.amount) == ("PAIDDATE-INV-3", date(2026, 9, 28), 40)
    # And the unknown customer's invoice is kept, under a placeholder customer
    placeholder = Customers().get("C-9")
    assert placeholder is not None and placeholder.placeholder
    assert Invoices().get("C-9", "INV-5") is not None
    # And a collector is asked to complete its master data, once
    [task] = Tasks().for_customer("C-9")
    assert (task.kind, task.status) == ("complete_master_data", "open")
    # And the results say what happened to every row
    results = json.loads(read(s3, "results/invoices/2026-11-23.csv.json"))
    version = IngestFiles().get("incoming/invoices/2026-11-23.csv", results["version"])
    assert version is not None and version.status is FileStatus.INGESTED
    assert {
        name: results[name] for name in ("rows_read", "accepted", "rejected", "skipped", "unchanged")
    } == {
        "rows_read": 7,  # the blank line is not a row
        "accepted": 6,  # INV-6, due before it was issued, is kept with a note
        "rejected": 1,
        "skipped": 0,
        "unchanged": 0,
    }
    assert (results["payments_applied"], results["placeholders_created"], results["errors"]) == (1, 1, [])
    assert (results["kind"], results["finished_at"], results["key"]) == (
        "invoices",
        "2026-11-23T12:00:00Z",
        "incoming/invoices/2026-11-23.csv",
    )
    rejected = list(
        csv.DictReader(io.StringIO(read(s3, "rejected/invoices/2026-11-23.csv.errors.csv").decode()))
    )
    assert [(r["row"], r["column"], r["value"]) for r in rejected] == [
        ("9", "currency", "XXX"),
    ]
    customers = json.loads(read(s3, "results/customers/2026-11-23.csv.json"))
    assert (customers["accepted"], customers["rejected"]) == (3, 0)
    assert {"row": 4, "column": "email", "value": "not-an-email"}.items() <= customers["notes"][0].items()


def test_payments_settle_invoices_partially_and_fully(s3: Any) -> None:
    # Given the customers and invoices
    load_all(s3)
    # When a payments file (tab-delimited) arrives
    ingest(s3, "incoming/payments/2026-11-23.csv", PAYMENTS)
    # Then a partial payment keeps its invoice open and in the index
    partial = Invoices().get("C-1", "INV-1")
    assert (partial.open_amount, partial.status) == (70, "open")  # type: ignore[union-attr]
    # And a full payment (matched by its reference) closes its invoice and takes it out of the index
    full = Invoices().get("C-1", "INV-2")
    assert (full.open_amount, full.status, full.paid_date) == (0, "closed", date(2026, 11, 11))  # type: ignore[union-attr]
    assert indexed("C-1") == {
        "INV#INV-1": "2026-10-01T00:00:00Z",
        "INV#INV-6": "2026-10-10T00:00:00Z",
    }
    # And money in another currency than its invoice is kept unapplied
    [p3] = Payments().for_customer("C-2")
    assert (p3.applied_amount, p3.unapplied_amount, p3.applied_to) == (0, 10, None)
    payments = {p.payment_id: p for p in Payments().for_customer("C-1")}
    assert (payments["P-2"].applied_amount, payments["P-2"].applied_to) == (250, "INV-2")
    results = json.loads(read(s3, "results/payments/2026-11-23.csv.json"))
    assert (results["accepted"], results["payments_applied"], results["invoices_closed"]) == (3, 2, 1)
    assert results["notes"] == [
        {
            "row": 4,
            "column": "invoice_number",
            "value": "INV-4",
            "note": "kept unapplied: invoice INV-4 is in USD",
        }
    ]


def test_a_duplicate_notification_writes_nothing(s3: Any) -> None:
    # Given everything ingested once
    load_all(s3)
    key = "incoming/payments/p.csv"
    version = ingest(s3, key, PAYMENTS)
    before = account_items()
    # When S3 delivers the payments notification again
    body = notification(key, version, len(PAYMENTS))
    assert invoke("ingest", sqs_event(body)) == {"batchItemFailures": []}
    # Then no payment is applied twice, no item changed and the results were not rewritten
    assert account_items() == before
    versions = s3.list_object_versions(Bucket=DROP, Prefix="results/payments/p.csv.json")["Versions"]
    assert len(versions) == 1


def test_the_same_content_as_a_new_version_is_counted_unchanged_and_writes_nothing(s3: Any) -> None:
    # Given everything ingested once
    load_all(s3)
    ingest(s3, "incoming/payments/p.csv", PAYMENTS)
    before = account_items()
    # When the ERP uploads the same files again (new object versions)
    for key, body in (
        ("incoming/customers/2026-11-23.csv", CUSTOMERS),
        ("incoming/payments/p.csv", PAYMENTS),
    ):
        ingest(s3, key, body)
        # Then every accepted row is unchanged and the table is as it was
        results = json.loads(read(s3, key.replace("incoming/", "results/") + ".json"))
        assert results["unchanged"] == results["accepted"] > 0
        assert results["payments_applied"] == 0
    assert account_items() == before


def test_a_real_customer_replaces_its_placeholder(s3: Any) -> None:
    # Given an invoice that named an unknown customer
    ingest(s3, "incoming/invoices/i.csv", INVOICES)
    assert Customers().get("C-9").placeholder is True  # type: ignore[union-attr]
    # When the customer master arrives
    ingest(s3, "incoming/customers/c.csv", b"customer_id,name,email\nC-9,Initech,ap@initech.example\n")
    # Then the customer is complete and no longer a placeholder
    assert Customers().get("C-9") == Customer(
        "C-9",
        "Initech",
        "ap@initech.example",
        data_quality=("country is missing: holidays and the time zone cannot be derived",),
    )


def test_a_file_level_problem_is_recorded_and_reported_and_the_file_kept(s3: Any) -> None:
    key = "incoming/invoices/broken.csv"
    version = ingest(s3, key, b"customer_id,amount\nC-1,5\n")
    recorded = IngestFiles().get(key, version)
    assert recorded is not None and recorded.status is FileStatus.REJECTED
    assert recorded.errors[0].startswith(
        "no invoices mapping fits the header: "
        "for the generic layout it lacks invoice_number, invoice_date, due_date"
    )
    results = json.loads(read(s3, "results/invoices/broken.csv.json"))
    assert (results["status"], results["errors"], results["rows_read"]) == (
        "rejected",
        list(recorded.errors),
        0,
    )
    assert read(s3, key) == b"customer_id,amount\nC-1,5\n"
    assert account_items() == []


def test_the_master_s_dunning_columns_are_read_and_do_not_contact_is_never_emailed(s3: Any) -> None:
    # Given a European customer master (';', a quoted id with a comma) carrying the dunning columns the
    # generic layout documents: do-not-contact, the ERP's dunning block, risk class, more AP addresses
    ingest(
        s3,
        "incoming/customers/2026-11-23.csv",
        (
            "customer_id;name;email;country;other_emails;risk_class;dunning_segment;dunning_hold;do_not_contact\n"
            '"Müller & Söhne, GmbH";Müller & Söhne GmbH;ap@mueller.example;DE;kasse@mueller.example;high;'
            "standard;no;yes\n"
            "Café Noir;Café Noir SARL;compta@cafe-noir.example;FR;;;;ja;non\n"
            "Acme GmbH;Acme GmbH;ap@acme.example;DE;;;;;\n"
        ).encode(),
    )
    results = json.loads(read(s3, "results/customers/2026-11-23.csv.json"))
    # Then no column of the master is ignored, and each flag lands on its customer
    assert results["ignored_columns"] == []
    mueller = Customers().get("Müller & Söhne, GmbH")
    assert mueller is not None
    assert (mueller.do_not_contact, mueller.dunning_hold, mueller.risk) == (True, False, "high")
    assert "kasse@mueller.example" in mueller.other_emails
    cafe = Customers().get("Café Noir")
    assert cafe is not None and (cafe.do_not_contact, cafe.dunning_hold) == (False, True)
    # And when all three have an invoice 50 days late, a dunning tick in the send window emails only the
    # customer that may be contacted: never the do-not-contact one, nor the ERP's dunning block
    ingest(
        s3,
        "incoming/invoices/2026-11-23.csv",
        (
            "customer_id,invoice_number,invoice_date,due_date,amount,currency\n"
            '"Müller & Söhne, GmbH",INV/2026/0042,2026-09-05,2026-10-05,"1234.56",EUR\n'
            '"Café Noir",INV/2026/0043,2026-09-05,2026-10-05,"99.00",EUR\n'
            "Acme GmbH,INV/2026/0044,2026-09-05,2026-10-05,10.00,EUR\n"
        ).encode(),
    )
    ingest(
        s3,
        "incoming/payments/2026-11-23.csv",
        b"customer_id,payment_id,payment_date,amount,currency,invoice_number\n",
    )
    for at in ("2026-11-24T08:00:00+00:00", "2026-11-24T09:00:00+00:00"):
        invoke("dunning", dict(load_event("scheduler_tick.json"), time=at))
    assert {email.customer_id for email in sent_emails()} == {"Acme GmbH"}


def test_an_amount_finer_than_its_currency_s_unit_is_refused_and_zeros_past_it_are_no_digits(s3: Any) -> None:
    # Given an invoice of 100.001 GBP (a tenth of a penny no one can pay) and one of 100.0000 GBP (SAP's
    # four decimals of zeros)
    ingest(
        s3,
        "incoming/invoices/2026-12-11.csv",
        b"customer_id,invoice_number,invoice_date,due_date,amount,currency\n"
        b"ACME  Corp 42,B/11,2026-11-01,2026-12-01,100.001,GBP\n"
        b"ACME  Corp 42,B/12,2026-11-01,2026-12-01,100.0000,GBP\n",
    )
    # Then the first is refused, saying why, and never becomes an invoice that 100.00 cannot close
    results = json.loads(read(s3, "results/invoices/2026-12-11.csv.json"))
    assert (results["accepted"], results["rejected"]) == (1, 1)
    rejected = list(
        csv.DictReader(io.StringIO(read(s3, "rejected/invoices/2026-12-11.csv.errors.csv").decode()))
    )
    assert [(r["row"], r["column"], r["value"], r["reason"]) for r in rejected] == [
        ("2", "amount", "100.001", "100.001 has more decimal places than GBP's 2 (its smallest unit is 0.01)")
    ]
    assert Invoices().get("ACME  Corp 42", "B/11") is None
    # And when the other is paid 100.00, it is closed: nothing is left open
    ingest(
        s3,
        "incoming/payments/2026-12-11.csv",
        b"customer_id,payment_id,payment_date,amount,currency,invoice_number\n"
        b"ACME  Corp 42,P-1,2026-12-10,100.00,GBP,B/12\n",
    )
    paid = Invoices().get("ACME  Corp 42", "B/12")
    assert paid is not None
    assert (paid.amount, paid.open_amount, paid.status) == (Decimal("100.00"), 0, "closed")
