"""The KPI engine on real AR data: the IBM late-payment histories and the full 266k-row SAP extract,
read through the project's own parsing and mapping (tests/data/mappings, as ingest reads them) and
turned into the invoices and paid-date payments ingest stores. For several as-of dates the engine's
figures are compared with a plain computation over the raw CSV rows written here (not kpis.py)."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from arcollect.aging import aging_bucket
from arcollect.entities import Customer, Invoice, Payment
from arcollect.reports.kpis import compute_kpis
from benchmarks.datasets import SAP_CREDITS, SAP_KEY, SAP_SKIPPED, as_stored, datasets, sap_extract_lines

DATASETS = datasets()
pytestmark = pytest.mark.skipif(
    DATASETS is None, reason="the shared AR datasets are not here (set ARCOLLECT_DATASETS)"
)


@dataclass
class Plain:
    """One currency's (or group's) figures by straight loops over the raw rows."""

    ar_total: Decimal = Decimal(0)
    ar_current: Decimal = Decimal(0)
    aging: dict[str, Decimal] | None = None
    open_invoices: int = 0
    credit_sales: Decimal = Decimal(0)
    ar_begin: Decimal = Decimal(0)
    paid: int = 0
    days_to_pay: int = 0
    days_late: int = 0


def plain_figures(
    rows: list[tuple[str, Decimal, date, date, date]], as_of: date, window_days: int = 90
) -> dict[str, Any]:
    """rows: (group, signed amount, document date, due date, settled date); open from its date until
    the day before it was settled."""
    start = as_of - timedelta(days=window_days)
    groups: dict[str, Plain] = defaultdict(Plain)
    for group, amount, dated, due, settled in rows:
        if dated > as_of:
            continue
        figures = groups[group]
        if figures.aging is None:
            figures.aging = {}
        if amount > 0 and dated > start:
            figures.credit_sales += amount
        if dated <= start < settled:
            figures.ar_begin += amount
        if as_of < settled:
            figures.ar_total += amount
            figures.open_invoices += 1
            overdue = (as_of - due).days
            if overdue <= 0:
                figures.ar_current += amount
            bucket = aging_bucket(overdue)
            figures.aging[bucket] = figures.aging.get(bucket, Decimal(0)) + amount
        if amount > 0 and start < settled <= as_of:
            figures.paid += 1
            figures.days_to_pay += (settled - dated).days
            figures.days_late += max((settled - due).days, 0)
    return {name: figures for name, figures in groups.items()}


def assert_matches(engine: dict[str, Any], plain: Plain) -> None:
    assert Decimal(engine["ar_total"]) == plain.ar_total
    assert Decimal(engine["ar_current"]) == plain.ar_current
    assert Decimal(engine["ar_past_due"]) == plain.ar_total - plain.ar_current
    assert {k: Decimal(v) for k, v in engine["aging"].items() if Decimal(v)} == {
        k: v for k, v in (plain.aging or {}).items() if v
    }
    assert engine["open_invoices"] == plain.open_invoices
    assert Decimal(engine["credit_sales"]) == plain.credit_sales
    assert Decimal(engine["ar_begin"]) == plain.ar_begin
    assert engine["paid_in_window"] == plain.paid
    if plain.credit_sales:
        dso = plain.ar_total / plain.credit_sales * 90
        assert abs(Decimal(engine["dso_days"]) - dso) <= Decimal("0.05")
    else:
        assert engine["dso_days"] is None
    if plain.paid:
        assert abs(
            Decimal(engine["average_days_to_pay"]) - Decimal(plain.days_to_pay) / plain.paid
        ) <= Decimal("0.05")
        assert abs(Decimal(engine["average_days_late"]) - Decimal(plain.days_late) / plain.paid) <= Decimal(
            "0.05"
        )


# -- IBM: 2,466 settled invoices of 100 customers, 2012-2013 ------------------------------------------

IBM_AS_OF = [date(2012, 3, 31), date(2012, 12, 31), date(2013, 6, 30), date(2013, 12, 31), date(2014, 2, 1)]


def test_ibm_histories_give_the_plain_figures_for_every_as_of_date() -> None:
    assert DATASETS is not None
    raw = (DATASETS / "ibm-late-payment-histories.csv").read_bytes()
    invoices, payments = as_stored(raw, "ibm-late-payments")
    rows = list(csv.DictReader(io.StringIO(raw.decode())))
    assert len(invoices) == len(payments) == len(rows)

    def day(text: str) -> date:
        return datetime.strptime(text, "%m/%d/%Y").replace(tzinfo=UTC).date()

    plain_rows = [
        ("USD", Decimal(r["InvoiceAmount"]), day(r["InvoiceDate"]), day(r["DueDate"]), day(r["SettledDate"]))
        for r in rows
    ]
    for as_of in IBM_AS_OF:
        document = compute_kpis(as_of=as_of, invoices=invoices, payments=payments, customers={})
        plain = plain_figures(plain_rows, as_of)
        assert set(document["by_currency"]) == set(plain) == {"USD"}, as_of
        assert_matches(document["by_currency"]["USD"], plain["USD"])
        # every customer's history and the portfolio's feed the forecast: all 13 weeks listed
        if Decimal(document["by_currency"]["USD"]["ar_total"]):
            assert len(document["forecast"]["USD"]) == 13
            in_view = sum(Decimal(week["expected"]) for week in document["forecast"]["USD"])
            assert 0 < in_view <= plain["USD"].ar_total
    # the last invoice was settled 2014-01-09: nothing is open after it
    assert plain_figures(plain_rows, date(2014, 2, 1))["USD"].ar_total == 0


# -- SAP: 266,093 line items, 6 company codes --------------------------------------------------------

SAP_AS_OF = [date(2017, 12, 31), date(2018, 6, 30), date(2018, 11, 15), date(2019, 3, 31)]


@pytest.fixture(scope="module")
def sap() -> tuple[list[Invoice], list[Payment], list[dict[str, str]]]:
    lines = sap_extract_lines()
    invoices, payments = as_stored("".join(lines).encode(), "sap-ar-extract")
    return invoices, payments, list(csv.DictReader(io.StringIO("".join(lines))))


def test_the_whole_sap_extract_gives_the_plain_figures_per_currency_company_code_and_segment(
    sap: tuple[list[Invoice], list[Payment], list[dict[str, str]]],
) -> None:
    invoices, payments, rows = sap
    # Given every customer in its country's segment
    countries = {row["KUNNR"]: row["KNA1_LAND1"] for row in rows}
    customers = {
        number: Customer(number, f"Customer {number}", "", country=country, segment=country)
        for number, country in countries.items()
    }
    # the plain view: the mapping's rules by hand (skipped kinds, zero amounts, one document per key;
    # credit memos and reverse invoices negative), each open until its payment date
    documents: dict[str, dict[str, str]] = {}
    for row in rows:
        if row["TBSLT_LTEXT"] not in SAP_SKIPPED and Decimal(row["VALUE_EUR"]) > 0:
            documents["/".join(row[c] for c in SAP_KEY)] = row
    assert len(documents) == len(invoices)

    def entry(row: dict[str, str], group: str) -> tuple[str, Decimal, date, date, date]:
        amount = Decimal(row["VALUE_EUR"])
        dated = datetime.fromtimestamp(float(row["DOCUMENT_DATE"]) / 1e6, tz=UTC).date()
        due = date.fromisoformat(row["DUE_DATE"])
        settled = datetime.strptime(row["PAYMENT_DATE"], "%Y%m%d").replace(tzinfo=UTC).date()
        return group, -amount if row["TBSLT_LTEXT"] in SAP_CREDITS else amount, dated, due, settled

    by_currency = [entry(row, "EUR") for row in documents.values()]
    by_company = [entry(row, row["BUKRS"]) for row in documents.values()]
    by_segment = [entry(row, row["KNA1_LAND1"]) for row in documents.values()]
    for as_of in SAP_AS_OF:
        # When the KPIs are computed over all of it
        document = compute_kpis(as_of=as_of, invoices=invoices, payments=payments, customers=customers)
        # Then each figure is the plain one, per currency, company code and segment
        assert_matches(document["by_currency"]["EUR"], plain_figures(by_currency, as_of)["EUR"])
        plain = plain_figures(by_company, as_of)
        assert set(document["by_company_code"]) == set(plain)
        for code, figures in plain.items():
            assert_matches(document["by_company_code"][code]["EUR"], figures)
        plain = plain_figures(by_segment, as_of)
        assert set(document["by_segment"]) == set(plain)
        for segment in ("DE", "NL", "FR"):
            if segment in plain:
                assert_matches(document["by_segment"][segment]["EUR"], plain[segment])
        risky = document["customers_by_risk"]
        assert len(risky) == 50
        assert [Decimal(r["ar_past_due"]) for r in risky] == sorted(
            (Decimal(r["ar_past_due"]) for r in risky), reverse=True
        )
