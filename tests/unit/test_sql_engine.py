"""The SQL engine (reports/warehouse) against the Python reference on made-up portfolios of every shape
the reference handles: customer ids with spaces, ``&``, commas, quotes and accents, invoice numbers with
``/``, credit notes and write-offs, partial, multi-invoice and over-payments, payments that name their
invoice without an applied amount, documents closed without payments (by closed_on, paid_date or a
file's date), amounts given with 0 to 3 decimals, company codes and segments missing, and the
collections records the activity figures count. Each portfolio is compacted to Parquet and reported at
several as-of dates; the document, the open amounts and the activity figures must be the reference's."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlglot

from arcollect.entities import Activity, Allocation, Customer, Dispute, Invoice, Payment, Promise, Task
from arcollect.outlook import PayOutlook
from arcollect.reports.activity import activity_figures
from arcollect.reports.kpis import compute_kpis, open_amounts
from arcollect.reports.warehouse.compaction import CompactionError, write_report_parquet
from arcollect.reports.warehouse.engine import QUERIES, DuckDbReport, SqlReport, bound
from arcollect.store.reports import ReportData, Touch
from tests.unit.test_report_activity import AS_OF as ACTIVITY_AS_OF
from tests.unit.test_report_activity import portfolio as activity_portfolio

CUSTOMERS = ["Müller & Söhne, GmbH", 'O\'Brien "Ltd"', "ACME Corp", "北京 Trading", "C-5", "no master"]
START = date(2025, 1, 1)


def _amount(rng: random.Random) -> Decimal:
    places = rng.choice([0, 1, 2, 2, 2, 3])
    return Decimal(rng.randint(1, 500_000)).scaleb(-places)


def _day(rng: random.Random, span: int = 540) -> date:
    return START + timedelta(days=rng.randint(0, span))


def _instant(rng: random.Random) -> datetime:
    return datetime.combine(_day(rng), datetime.min.time(), UTC) + timedelta(minutes=rng.randint(0, 1439))


def made_up_portfolio(seed: int) -> ReportData:
    rng = random.Random(seed)  # noqa: S311 (made-up data, reproducible by its seed)
    invoices: list[Invoice] = []
    for index in range(rng.randint(60, 140)):
        customer = rng.choice(CUSTOMERS)
        dated = _day(rng)
        amount = _amount(rng)
        kind = rng.choices(["invoice", "credit_note", "write_off"], [8, 2, 1])[0]
        status = rng.choice(["open", "open", "closed"])
        open_amount = amount if status == "open" and rng.random() < 0.7 else _amount(rng).min(amount)
        invoices.append(
            Invoice(
                customer_id=customer,
                invoice_number=f"INV/{dated.year}/{index:04d}",
                currency=rng.choice(["EUR", "EUR", "USD", "JPY"]),
                amount=amount,
                open_amount=Decimal(0) if status == "closed" and rng.random() < 0.5 else open_amount,
                invoice_date=dated,
                due_date=dated + timedelta(days=rng.choice([0, 14, 30, 60])),
                status=status,
                document_type=kind,
                company_code=rng.choice([None, "", "1000", "2000 & Co"]),
                paid_date=dated + timedelta(days=rng.randint(0, 120)) if rng.random() < 0.4 else None,
                closed_on=dated + timedelta(days=rng.randint(0, 200)) if rng.random() < 0.3 else None,
                source_as_of=_instant(rng) if rng.random() < 0.5 else None,
            )
        )
    payments: list[Payment] = []
    for index in range(rng.randint(40, 120)):
        paid = rng.sample(invoices, k=rng.choice([1, 1, 2, 3]))
        customer = paid[0].customer_id
        day = _day(rng, 600)
        shape = rng.choice(["allocations", "applied", "named"])
        parts = tuple(
            Allocation(i.invoice_number, rng.choice([i.amount, _amount(rng).min(i.amount)])) for i in paid
        )
        total = sum((a.amount for a in parts), Decimal(0))
        payments.append(
            Payment(
                customer_id=customer,
                payment_id=f"PAY, {index}",
                payment_date=day,
                amount=total,
                currency="EUR",
                applied_amount=total if shape == "applied" else Decimal(0),
                applied_to=parts[0].invoice_number if shape != "allocations" else None,
                allocations=parts if shape == "allocations" else (),
            )
        )
    customers = {
        name: Customer(
            name, f"{name} (billing)", "ap@example.com", segment=rng.choice([None, "retail", "B2B"])
        )
        for name in CUSTOMERS[:-1]
    }
    assignees = [None, "", "ali", "Zoë"]
    return ReportData(
        invoices=invoices,
        payments=payments,
        customers=customers,
        promises=[
            Promise(
                rng.choice(CUSTOMERS),
                f"P{n}",
                ("A",),
                _day(rng),
                _instant(rng),
                status=rng.choice(["open", "kept", "broken"]),
                settled_at=_instant(rng) if rng.random() < 0.8 else None,
            )
            for n in range(20)
        ],
        disputes=[
            Dispute(
                rng.choice(CUSTOMERS),
                f"D{n}",
                invoices[n].invoice_number,
                "other",
                "",
                created,
                status="resolved_valid",
                resolved_at=created + timedelta(hours=rng.randint(1, 900)) if rng.random() < 0.6 else None,
            )
            for n, created in enumerate(_instant(rng) for _ in range(15))
        ],
        tasks=[
            Task(
                rng.choice(CUSTOMERS),
                f"t{n}",
                "call",
                "Call",
                _instant(rng),
                status=rng.choice(["open", "done", "skipped"]),
                assignee=rng.choice(assignees),
                closed_at=_instant(rng) if rng.random() < 0.7 else None,
            )
            for n in range(30)
        ],
        activities=[
            Activity(
                rng.choice(CUSTOMERS),
                _instant(rng),
                f"a{n}",
                rng.choice(["email_delivery", "email_bounce"]),
                "",
            )
            for n in range(30)
        ],
        touches=[
            Touch(
                i.customer_id, i.invoice_number, rng.choice(["reminder", "firm#2", "agency"]), _instant(rng)
            )
            for i in rng.sample(invoices, k=40)
        ],
    )


AS_OF_DATES = [date(2025, 3, 31), date(2025, 9, 30), date(2026, 2, 14), date(2026, 12, 31)]


def assert_same(
    data: ReportData,
    root: Path,
    dates: list[date],
    window_days: int = 90,
    open_report: Callable[[Path], SqlReport] = DuckDbReport,
) -> None:
    """Every figure of the SQL engine ``open_report`` opens over ``data``'s Parquet, at each date, is the
    Python reference's."""
    write_report_parquet(data, root)
    with open_report(root) as report:
        for as_of in dates:
            # segments by a rule of the customer (as a policy's segment_for), some with no customer
            def segment(customer: Customer | None) -> str:
                return customer.segment or "(none)" if customer else "unknown"

            expected = compute_kpis(
                as_of=as_of,
                invoices=data.invoices,
                payments=data.payments,
                customers=data.customers,
                window_days=window_days,
                segment_of=segment,
            )
            found = report.compute_kpis(
                as_of=as_of, customers=data.customers, window_days=window_days, segment_of=segment
            )
            for key in expected:
                assert found[key] == expected[key], (as_of, key)
            assert found == expected
            assert report.open_amounts(as_of) == open_amounts(data.invoices, data.payments, as_of)
            assert report.activity_figures(as_of=as_of, window_days=window_days) == activity_figures(
                data, as_of=as_of, window_days=window_days
            )


@pytest.mark.parametrize("seed", range(6))
def test_the_sql_engine_gives_the_reference_document_for_made_up_portfolios(
    seed: int, tmp_path: Path
) -> None:
    assert_same(made_up_portfolio(seed), tmp_path, AS_OF_DATES)


def test_the_sql_engine_gives_the_reference_activity_figures(tmp_path: Path) -> None:
    # As of the window's end and a few days past it: payments after the as-of date do not count.
    dates = [ACTIVITY_AS_OF - timedelta(days=20), ACTIVITY_AS_OF, ACTIVITY_AS_OF + timedelta(days=5)]
    assert_same(activity_portfolio(), tmp_path, dates, window_days=30)


def test_the_forecast_on_predictions_takes_its_open_items_from_the_sql(tmp_path: Path) -> None:
    data = made_up_portfolio(7)
    as_of = date(2025, 9, 30)
    open_now = open_amounts(data.invoices, data.payments, as_of)
    outlooks = {
        key: PayOutlook(
            customer_id=key[0],
            invoice_number=key[1],
            as_of=as_of,
            due_date=as_of,
            pay_date=as_of + timedelta(days=n % 40),
            low=as_of + timedelta(days=n % 7),
            high=as_of + timedelta(days=40 + n % 30),
            probability_over_30_days_late=None,
            factors=(),
        )
        for n, key in enumerate(sorted(open_now))
        if n % 3
    }
    write_report_parquet(data, tmp_path)
    with DuckDbReport(tmp_path) as report:
        found = report.compute_kpis(as_of=as_of, customers=data.customers, outlooks=outlooks)
    expected = compute_kpis(
        as_of=as_of,
        invoices=data.invoices,
        payments=data.payments,
        customers=data.customers,
        outlooks=outlooks,
    )
    assert found["forecast"] == expected["forecast"] and found == expected


def test_an_empty_table_reports_nothing_rather_than_failing(tmp_path: Path) -> None:
    assert_same(ReportData(), tmp_path, [date(2026, 1, 31)])


def test_an_amount_parquet_cannot_hold_exactly_is_refused_with_where_it_is(tmp_path: Path) -> None:
    data = made_up_portfolio(1)
    bad = data.invoices[0]
    data.invoices[0] = Invoice(
        bad.customer_id,
        bad.invoice_number,
        "EUR",
        Decimal("1.0000001"),
        Decimal(1),
        bad.invoice_date,
        bad.due_date,
    )
    with pytest.raises(CompactionError, match=r"more than 6 decimal places"):
        write_report_parquet(data, tmp_path)


@pytest.mark.parametrize("function", ["ingest", "dunning", "portal", "reports"])
def test_no_cold_start_loads_the_sql_engine(function: str) -> None:
    # DuckDB and the warehouse load with the first report that runs on them, never with a handler.
    from tests.unit.test_cold_start_imports import _loaded_after, _roots

    loaded = _loaded_after(function)
    assert "handler" in loaded
    assert _roots(loaded, ("duckdb", "sqlglot", "arcollect.reports.warehouse")) == []


# -- the SQL in Athena's dialect ----------------------------------------------------------------------


@pytest.mark.parametrize("name", QUERIES)
def test_every_query_parses_in_athenas_dialect(name: str) -> None:
    # Athena's engine is Trino: SQLGlot's trino dialect reads each query, dates bound, without an error
    sql = bound(name, date(2026, 11, 23))
    tree = sqlglot.parse_one(sql, read="trino", error_level=sqlglot.ErrorLevel.RAISE)
    assert tree.find(sqlglot.exp.Select) is not None
    assert "{" not in sql  # every placeholder bound


def test_the_sql_read_as_athena_reads_it_gives_the_reference_document(tmp_path: Path) -> None:
    # Given the queries read in Trino's dialect and transpiled to DuckDB's by SQLGlot (integer division,
    # intervals and dates as Athena takes them)
    data = made_up_portfolio(3)
    write_report_parquet(data, tmp_path)
    with DuckDbReport(tmp_path, read_as="trino") as report:
        for as_of in AS_OF_DATES:
            found = report.compute_kpis(as_of=as_of, customers=data.customers)
            expected = compute_kpis(
                as_of=as_of, invoices=data.invoices, payments=data.payments, customers=data.customers
            )
            assert found == expected, as_of
            assert report.activity_figures(as_of=as_of, window_days=90) == activity_figures(
                data, as_of=as_of, window_days=90
            )


def test_the_engine_is_the_one_named_or_by_size_and_a_bad_name_says_which_are_allowed() -> None:
    from arcollect.reports.engines import (
        ATHENA_ABOVE_DOCUMENTS,
        DUCKDB_ABOVE_DOCUMENTS,
        ReportEngineError,
        choose_engine,
    )

    assert choose_engine(None, DUCKDB_ABOVE_DOCUMENTS) == "python"
    assert choose_engine("auto", DUCKDB_ABOVE_DOCUMENTS + 1) == "duckdb"
    assert choose_engine(" DuckDB ", 10) == "duckdb"
    assert choose_engine("python", 10**9) == "python"
    # past two million documents auto goes to Athena, where the stack gave the run its workgroup
    assert choose_engine("auto", ATHENA_ABOVE_DOCUMENTS + 1, athena=True) == "athena"
    assert choose_engine("auto", ATHENA_ABOVE_DOCUMENTS, athena=True) == "duckdb"
    assert choose_engine("auto", 10**9, athena=False) == "duckdb"
    assert choose_engine("duckdb", 10**9, athena=True) == "duckdb"
    with pytest.raises(ReportEngineError, match="'spark' is not one of auto, python, duckdb, athena"):
        choose_engine("spark", 10)


def test_a_run_on_athena_without_its_workgroup_is_refused_naming_what_is_missing() -> None:
    from arcollect.reports.engines import ReportEngineError, report_figures

    refused = pytest.raises(ReportEngineError, match="REPORTS_WORKGROUP, REPORTS_DATABASE")
    with refused, report_figures("athena", ReportData()):
        pass


def test_a_segment_name_goes_into_the_sql_as_one_literal_whatever_it_holds() -> None:
    # a quote, and text that looks like a placeholder: quoted and never bound again
    sql = bound("lines", date(2026, 11, 23), no_profile_segment="O'Brien {as_of}")
    assert "'O''Brien {as_of}'" in sql
    sqlglot.parse_one(sql, read="trino", error_level=sqlglot.ErrorLevel.RAISE)
