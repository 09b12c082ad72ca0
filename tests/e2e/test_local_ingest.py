"""ERP files through the running local stack, as a finance team drops them: `arcollect ingest` from a
terminal, auto-detected presets, an XLSX workbook, a mapping file of their own, a mode override."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from tests.e2e.conftest import RunningStack

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "erp"
MAPPINGS = Path(__file__).resolve().parent.parent / "data" / "mappings"


@pytest.fixture(scope="module")
def files(local_stack: RunningStack) -> Path:
    for sample in SAMPLES.glob("*/*"):
        if sample.name != "expected.json" and sample.suffix != ".md":
            shutil.copy(sample, local_stack.workdir / sample.name)
    return local_stack.workdir


def test_mappings_lists_every_preset_with_its_columns(local_stack: RunningStack) -> None:
    listed = local_stack.json("mappings")
    names = {(m["kind"], m["name"]) for m in listed}
    assert {("invoices", n) for n in ("quickbooks-ar-aging", "xero-invoices", "sap-fbl5n")} <= names
    assert {("invoices", "generic"), ("payments", "generic"), ("customers", "generic")} <= names
    xero = next(m for m in listed if m["name"] == "xero-invoices")
    assert "InvoiceNumber" in xero["required_columns"]


@pytest.mark.parametrize(
    "sample",
    [
        "quickbooks-ar-aging/ar_aging_detail.csv",
        "xero-invoices/SalesInvoices.csv",
        "bc-ledger-entries/customer_ledger_entries.xlsx",
    ],
)
def test_an_erp_export_is_recognised_by_its_header_and_loaded(
    local_stack: RunningStack, files: Path, sample: str
) -> None:
    expected = json.loads((SAMPLES / sample).with_name("expected.json").read_text())
    result = local_stack.json("ingest", Path(sample).name, "--kind", "invoices")
    assert result["mapping"] == sample.split("/")[0]
    assert result["status"] == "ingested", result["errors"]
    assert result["rows_read"] == result["accepted"] + result["rejected"] + result["skipped"]
    assert result["accepted"] >= len(expected["invoices"]) > 0
    shown = local_stack.json("show", "customer", expected["invoices"][0]["customer_id"])
    numbers = {invoice["invoice_number"] for invoice in shown["invoices"]}
    assert expected["invoices"][0]["invoice_number"] in numbers


def test_a_custom_mapping_file_and_a_gzipped_file_with_a_mode_override(
    local_stack: RunningStack, files: Path
) -> None:
    history = files / "history.csv.gz"
    history.write_bytes(
        gzip.compress(
            b"countryCode,customerID,PaperlessDate,invoiceNumber,InvoiceDate,DueDate,InvoiceAmount,Disputed,"
            b"SettledDate,PaperlessBill,DaysToSettle,DaysLate\r\n"
            b"391,0379-NEVHP,4/6/2013,0000611365,1/2/2013,2/1/2013,55.94,No,1/15/2013,Paper,13,0\r\n"
        )
    )
    result = local_stack.json(
        "ingest",
        history.name,
        "--kind",
        "invoices",
        "--mapping",
        str(MAPPINGS / "ibm-late-payments.yaml"),
        "--mode",
        "snapshot",
        "--as-of",
        "2013-12-31",
    )
    assert (result["mapping"], result["mode"], result["as_of"]) == (
        "ibm-late-payments",
        "snapshot",
        "2013-12-31T23:59:59Z",
    )
    assert (result["source"]["compression"], result["accepted"], result["payments_applied"]) == ("gzip", 1, 1)


def test_a_broken_mapping_file_is_refused_before_anything_is_uploaded(
    local_stack: RunningStack, files: Path
) -> None:
    broken = files / "broken.yaml"
    broken.write_text("name: broken\nkind: invoices\nfields: {amount: Total, colour: Red}\n")
    failed = local_stack.arcollect(
        "ingest", "SalesInvoices.csv", "--kind", "invoices", "--mapping", str(broken), check=False
    )
    assert failed.returncode == 2
    assert failed.stderr.strip().startswith("arcollect: error: ")
    assert "fields.colour" in failed.stderr and len(failed.stderr.strip().splitlines()) == 1
