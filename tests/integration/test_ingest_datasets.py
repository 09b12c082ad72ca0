"""Real AR data end to end: the IBM late-payment histories and the 266k-row SAP extract, each ingested
through the function against moto with a custom mapping, counts checked against a plain computation
written here (not the code under test). The SAP test takes the extract's first 12,000 rows (in-process
moto writes about a thousand items a second) and splits them into chunks that run through the queue;
`make bench` loads all 266,093 rows through the local stack and checks the same counts."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from arcollect.ingest import drops
from arcollect.store.models import InvoiceItem, PaymentItem
from arcollect.store.repositories import Tasks
from benchmarks.datasets import datasets, sap_customer_master, sap_expected, sap_extract_lines
from tests.integration.ingest_flow import ingest, upload_mapping

MAPPINGS = Path(__file__).resolve().parent.parent / "data" / "mappings"


DATASETS = datasets()
pytestmark = pytest.mark.skipif(
    DATASETS is None, reason="the shared AR datasets are not here (set ARCOLLECT_DATASETS)"
)


def test_the_ibm_late_payment_histories_land_with_every_settlement_recorded(s3: object) -> None:
    assert DATASETS is not None
    raw = (DATASETS / "ibm-late-payment-histories.csv").read_bytes()
    rows = list(csv.DictReader(io.StringIO(raw.decode())))
    upload_mapping("ibm-late-payments", (MAPPINGS / "ibm-late-payments.yaml").read_text())
    # When the history is dropped under its mapping's folder
    summary = ingest("incoming/invoices/ibm-late-payments/history.csv", raw)
    # Then every row is an invoice, each settled on its SettledDate, with a placeholder per customer
    customers = {row["customerID"] for row in rows}
    assert (summary["rows_read"], summary["accepted"], summary["rejected"], summary["skipped"]) == (
        len(rows),
        len(rows),
        0,
        0,
    )
    assert summary["payments_applied"] == len(rows)
    assert summary["placeholders_created"] == len(customers) == 100
    assert summary["source"]["encoding"] == "utf-8"
    invoices = {item.invoice_number: item for item in InvoiceItem.scan()}
    assert len(invoices) == len(rows)
    sample = rows[0]
    item = invoices[sample["invoiceNumber"]]  # leading zeros kept: an invoice number is text
    assert item.invoice_number.startswith("0")
    settled = datetime.strptime(sample["SettledDate"], "%m/%d/%Y").date()
    assert (item.status, item.paid_date, item.amount) == (
        "closed",
        settled.isoformat(),
        Decimal(sample["InvoiceAmount"]),
    )
    assert item.disputed is (sample["Disputed"] == "Yes")
    payments = list(PaymentItem.scan())
    assert len(payments) == len(rows)
    assert sum(p.amount for p in payments) == sum(Decimal(row["InvoiceAmount"]) for row in rows)
    # And each placeholder customer comes with its "complete master data" task
    assert [t.kind for t in Tasks().for_customer(sample["customerID"])] == ["complete_master_data"]


SAP_ROWS = 12_000


def test_the_sap_extract_is_loaded_in_parallel_chunks_with_every_row_accounted_for(
    s3: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert DATASETS is not None
    lines = sap_extract_lines()[: SAP_ROWS + 1]
    raw = "".join(lines).encode()
    expected = sap_expected(lines)
    # Given the customer master (number and country; the extract has no names or emails)
    master = sap_customer_master(lines)
    monkeypatch.setattr(drops, "FAN_OUT_LINES", 5_000)
    customer_summary = ingest("incoming/customers/master.csv", master.encode())
    assert (customer_summary["accepted"], customer_summary["chunks"]) == (expected["customers"], 1)
    # When the extract is dropped under its mapping
    upload_mapping("sap-ar-extract", (MAPPINGS / "sap-ar-extract.yaml").read_text())
    summary = ingest("incoming/invoices/sap-ar-extract/training_data.csv", raw)
    # Then it ran as chunks, and every row is accepted, rejected with its reason, or skipped with why
    assert summary["chunks"] == 3
    assert summary["rows_read"] == expected["rows_read"] == SAP_ROWS
    assert summary["rows_read"] == summary["accepted"] + summary["rejected"] + summary["skipped"]
    for name in ("skipped", "rejected", "accepted", "payments_applied"):
        assert summary[name] == expected[name], name
    reason = "a payment difference is what remained of a payment, not a receivable"
    assert summary["skip_reasons"][reason] == expected["payment_differences"]
    # Rows equal in every key column are one document delivered twice: unchanged the second time.
    assert summary["unchanged"] == expected["unchanged"]
    assert summary["placeholders_created"] == 0
    stored = Counter(item.document_type for item in InvoiceItem.scan())
    assert sum(stored.values()) == expected["documents"]
    assert stored["credit_note"] == expected["credit_notes"]
