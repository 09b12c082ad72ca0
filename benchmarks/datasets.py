"""Where the shared public AR datasets are: ``$ARCOLLECT_DATASETS``, else ``../shared/datasets`` beside
the repository (they are read in place, never copied into it)."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

from arcollect.entities import Invoice, Payment
from arcollect.ingest.mappings import BoundMapping, find_header, head, load_mapping
from arcollect.ingest.precedence import merge_invoice
from arcollect.ingest.sources import inspect, read_records

REPO = Path(__file__).resolve().parent.parent


def datasets() -> Path | None:
    configured = os.environ.get("ARCOLLECT_DATASETS")
    candidates = [Path(configured)] if configured else []
    candidates.append(REPO.parent / "shared" / "datasets")
    return next((path for path in candidates if (path / "PROVENANCE.md").is_file()), None)


def sap_extract_lines() -> list[str]:
    """The SAP FI-AR extract's CSV lines (header first), read from its zip."""
    folder = datasets()
    if folder is None:
        raise FileNotFoundError("the shared AR datasets are not here (set ARCOLLECT_DATASETS)")
    with zipfile.ZipFile(folder / "sap-ar-extract.zip") as archive:
        return archive.read("training_data.csv").decode().splitlines(keepends=True)


def sap_customer_master(lines: list[str]) -> str:
    """A generic customers file of the extract's customers: number and country (it has no names or
    emails, so every one of them loads with a data-quality issue)."""
    import csv
    import io

    customers = {row["KUNNR"]: row["KNA1_LAND1"] for row in csv.DictReader(io.StringIO("".join(lines)))}
    return "customer_id,name,email,country\n" + "".join(
        f"{number},Customer {number},,{country}\n" for number, country in sorted(customers.items())
    )


# The SAP extract mapping's key columns and its row types (tests/data/mappings/sap-ar-extract.yaml).
SAP_KEY = [
    "BUKRS",
    "KUNNR",
    "HKONT",
    "PRCTR",
    "ZTERM",
    "BLART",
    "TBSLT_LTEXT",
    "VALUE_EUR",
    "MWSTS",
    "DOCUMENT_DATE",
    "DUE_DATE",
    "PAYMENT_DATE",
    "CTLPC",
    "CURRENTRATING",
]
SAP_SKIPPED = frozenset(
    {"Payment difference", "Down payment request", "advances Third Party", "Incoming payment"}
)
SAP_CREDITS = frozenset({"Credit memo", "Reverse invoice"})


def sap_expected(lines: list[str]) -> dict[str, int]:
    """What ingesting the extract must report, computed plainly from its rows (not by the code under test)."""
    import csv
    import io
    from decimal import Decimal

    rows = list(csv.DictReader(io.StringIO("".join(lines))))
    kept = [row for row in rows if row["TBSLT_LTEXT"] not in SAP_SKIPPED]
    accepted = [row for row in kept if Decimal(row["VALUE_EUR"]) > 0]
    documents = {"/".join(row[c] for c in SAP_KEY): row for row in accepted}
    return {
        "rows_read": len(rows),
        "skipped": len(rows) - len(kept),
        "rejected": len(kept) - len(accepted),  # a zero amount is no receivable
        "accepted": len(accepted),
        "unchanged": len(accepted) - len(documents),  # the same document twice
        "documents": len(documents),
        "credit_notes": sum(1 for row in documents.values() if row["TBSLT_LTEXT"] in SAP_CREDITS),
        "payments_applied": sum(1 for row in documents.values() if row["TBSLT_LTEXT"] not in SAP_CREDITS),
        "customers": len({row["KUNNR"] for row in rows}),
        "payment_differences": sum(1 for row in rows if row["TBSLT_LTEXT"] == "Payment difference"),
    }


MAPPINGS = REPO / "tests" / "data" / "mappings"


def as_stored(raw: bytes, mapping_name: str) -> tuple[list[Invoice], list[Payment]]:
    """What ingest would store for ``raw`` under a mapping: the mapped documents (the last row of a
    document wins) and the payments their paid dates imply."""
    mapping = load_mapping((MAPPINGS / f"{mapping_name}.yaml").read_text(), source=mapping_name)

    def opener() -> Iterator[bytes]:
        return iter([raw])

    shape = inspect(opener)
    header = find_header(mapping, head(read_records(opener, shape)))
    assert not isinstance(header, list), header
    bound = BoundMapping(mapping, header)
    documents: dict[tuple[str, str], Invoice] = {}
    for record in read_records(opener, shape):
        if record.line <= header.line or record.blank:
            continue
        entity = bound.map(record).entity
        if isinstance(entity, Invoice):
            documents[(entity.customer_id, entity.invoice_number)] = entity
    merged = [merge_invoice(invoice, None) for invoice in documents.values()]
    return [m.invoice for m in merged], [m.payment for m in merged if m.payment is not None]
