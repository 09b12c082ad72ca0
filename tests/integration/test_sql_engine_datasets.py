"""The differential test of the SQL engine on real AR data: the IBM late-payment histories and the whole
266k-row SAP extract, read as ingest stores them (tests/integration/test_kpi_datasets.py), compacted to
Parquet and reported by the SQL on DuckDB at several as-of dates. The Python engine (reports/kpis.py) is
the reference: every figure of the document, per currency, company code and segment, the risk list, the
forecast and each open amount must be the same, to the cent."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from arcollect.entities import Customer, Invoice, Payment
from arcollect.reports.activity import activity_figures
from arcollect.reports.kpis import compute_kpis, open_amounts
from arcollect.reports.warehouse.compaction import write_report_parquet
from arcollect.reports.warehouse.engine import DuckDbReport
from arcollect.store.reports import ReportData
from benchmarks.datasets import as_stored, datasets, sap_extract_lines

DATASETS = datasets()
pytestmark = pytest.mark.skipif(
    DATASETS is None, reason="the shared AR datasets are not here (set ARCOLLECT_DATASETS)"
)


def first_difference(reference: Any, sql: Any, where: str = "") -> str | None:
    """Where two documents first differ (a readable failure instead of two 1 MB dicts)."""
    if isinstance(reference, dict) and isinstance(sql, dict):
        if set(reference) != set(sql):
            return f"{where}: keys {sorted(set(reference) ^ set(sql))[:5]}"
        for key in reference:
            found = first_difference(reference[key], sql[key], f"{where}/{key}")
            if found:
                return found
        return None
    if isinstance(reference, list) and isinstance(sql, list):
        if len(reference) != len(sql):
            return f"{where}: {len(reference)} rows, the SQL {len(sql)}"
        for index, (a, b) in enumerate(zip(reference, sql, strict=True)):
            found = first_difference(a, b, f"{where}[{index}]")
            if found:
                return found
        return None
    return None if reference == sql else f"{where}: {json.dumps(reference)} != {json.dumps(sql)}"


def assert_same_report(
    invoices: list[Invoice],
    payments: list[Payment],
    customers: dict[str, Customer],
    dates: list[date],
    root: Path,
) -> None:
    data = ReportData(invoices=invoices, payments=payments, customers=customers)
    write_report_parquet(data, root)
    with DuckDbReport(root) as report:
        for as_of in dates:
            reference = compute_kpis(as_of=as_of, invoices=invoices, payments=payments, customers=customers)
            sql = report.compute_kpis(as_of=as_of, customers=customers)
            assert first_difference(reference, sql) is None, (as_of, first_difference(reference, sql))
            # the figures are real: something was open and something was paid in the window
            assert any(f["open_invoices"] for f in sql["by_currency"].values()) or as_of == dates[-1]
            assert report.open_amounts(as_of) == open_amounts(invoices, payments, as_of), as_of
            assert report.activity_figures(as_of=as_of, window_days=90) == activity_figures(
                data, as_of=as_of, window_days=90
            )


IBM_AS_OF = [date(2012, 3, 31), date(2012, 9, 30), date(2013, 6, 30), date(2013, 12, 31), date(2014, 2, 1)]


def test_the_sql_engine_gives_the_reference_figures_on_the_ibm_histories(tmp_path: Path) -> None:
    assert DATASETS is not None
    raw = (DATASETS / "ibm-late-payment-histories.csv").read_bytes()
    invoices, payments = as_stored(raw, "ibm-late-payments")
    assert_same_report(invoices, payments, {}, IBM_AS_OF, tmp_path)


SAP_AS_OF = [date(2017, 6, 30), date(2018, 2, 28), date(2018, 11, 15), date(2019, 3, 31)]


def test_the_sql_engine_gives_the_reference_figures_on_the_whole_sap_extract(tmp_path: Path) -> None:
    lines = sap_extract_lines()
    invoices, payments = as_stored("".join(lines).encode(), "sap-ar-extract")
    # every customer in its country's segment, with a name (the risk list shows it)
    countries = {row["KUNNR"]: row["KNA1_LAND1"] for row in csv.DictReader(io.StringIO("".join(lines)))}
    customers = {
        number: Customer(number, f"Customer {number}", "", country=country, segment=country)
        for number, country in countries.items()
    }
    assert_same_report(invoices, payments, customers, SAP_AS_OF, tmp_path)
