"""The KPI report computed by SQL over the report's Parquet (``compaction.py``), on DuckDB.

The SQL files (``sql/``) define every sum a figure is made of; this module runs them for one as-of date
and shapes the same document ``reports/kpis.py`` and ``reports/activity.py`` make, with their own
formatting (``_Figures.document``, the risk class, the forecast's weeks), so the two engines print the
same ``kpis.json``. The ratios (DSO, CEI, averages) are taken of the SQL's exact sums in Python's
``Decimal``: DuckDB divides decimals as floats and Athena truncates their scale, and a report must agree
with the Python reference to the cent and the tenth of a day.

``lines.sql`` (every document's history as of the date) is materialized once per date as the temporary
table ``lines`` that the other queries read; on Athena the runner inlines it as a ``WITH`` clause.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from arcollect.aging import AGING_BUCKETS
from arcollect.entities import Customer
from arcollect.outlook import PayOutlook
from arcollect.reports.activity import PAID_WITHIN_DAYS
from arcollect.reports.forecast import FORECAST_WEEKS, DelayHistory, OpenItem, cash_forecast
from arcollect.reports.kpis import (
    DEFAULT_WINDOW_DAYS,
    _Figures,
    _one_decimal,
    default_segment,
    risk_class,
)
from arcollect.reports.warehouse.compaction import TABLES, parquet_source

QUERIES = (
    "lines",
    "figures",
    "monthly_sales",
    "exposures",
    "delay_history",
    "open_items",
    "forecast",
    "activity",
    "productivity",
    "steps",
)


@cache
def query_text(name: str) -> str:
    """The SQL of one query, as written (placeholders in braces: ``{as_of}``, ``{window_start}``...)."""
    return resources.files("arcollect.reports.warehouse").joinpath("sql", f"{name}.sql").read_text("utf-8")


def bound(
    name: str,
    as_of: date,
    window_days: int = DEFAULT_WINDOW_DAYS,
    *,
    lines: str = "lines",
    segments: str = "segments",
) -> str:
    """One query with the report's dates in it as SQL literals (the same text DuckDB and Athena run), and
    the relations it reads that a run makes: ``lines`` (the materialized ``lines.sql``) and ``segments``
    (each customer's segment, by the policy's rule in Python): DuckDB's temporary tables by default."""
    window_start = as_of - timedelta(days=window_days)
    values = {
        "{as_of}": f"DATE '{as_of.isoformat()}'",
        "{window_start}": f"DATE '{window_start.isoformat()}'",
        # The month partitions a window's query reads (YYYY-MM sorts as text).
        "{window_start_month}": f"'{window_start.isoformat()[:7]}'",
        "{lines}": lines,
        "{segments}": segments,
        "{first_day}": f"DATE '{(as_of + timedelta(days=1)).isoformat()}'",
        "{as_of_month}": f"'{as_of.isoformat()[:7]}'",
        "{weeks}": str(FORECAST_WEEKS),
        "{paid_within_days}": str(PAID_WITHIN_DAYS),
    }
    text = query_text(name)
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return text


def money(value: Decimal | int, scale: int) -> Decimal:
    """A sum as Python's ``Decimal`` prints it: with the most decimal places of its terms."""
    return Decimal(value).quantize(Decimal(1).scaleb(-int(scale)))


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


class DuckDbReport:
    """The report's queries on one DuckDB connection over the Parquet under ``root``."""

    def __init__(
        self,
        root: Path,
        *,
        threads: int | None = None,
        memory_limit: str | None = None,
        read_as: str | None = None,
    ) -> None:
        """``read_as``: a SQL dialect (``trino``, Athena's) the queries are read in and transpiled from by
        SQLGlot before DuckDB runs them: the test that Athena's reading of the SQL gives the same figures."""
        import duckdb

        self.read_as = read_as

        self.connection = duckdb.connect()
        if threads is not None:
            self.connection.execute(f"SET threads = {int(threads)}")
        if memory_limit is not None:
            self.connection.execute("SET memory_limit = ?", [memory_limit])
        self.connection.execute("SET preserve_insertion_order = false")
        for table in TABLES:
            self.connection.execute(f"CREATE OR REPLACE VIEW {table} AS {parquet_source(root, table)}")
        self._as_of: tuple[date, int] | None = None

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> DuckDbReport:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _sql(self, name: str, as_of: date, window_days: int) -> str:
        text = bound(name, as_of, window_days)
        if self.read_as is None:
            return text
        import sqlglot

        return str(sqlglot.transpile(text, read=self.read_as, write="duckdb")[0])

    def _rows(self, name: str, as_of: date, window_days: int) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = self.connection.execute(self._sql(name, as_of, window_days)).fetchall()
        return rows

    def _prepare(
        self,
        as_of: date,
        window_days: int,
        customers: Mapping[str, Customer],
        segment_of: Callable[[Customer | None], str],
    ) -> None:
        """The customers' segments (the policy's rule, in Python) and the documents' lines as of the day."""
        ids = [
            row[0]
            for row in self.connection.execute(
                "SELECT DISTINCT customer_id FROM invoices WHERE invoice_date <= ?", [as_of]
            ).fetchall()
        ]
        segments = [segment_of(customers.get(customer_id)) for customer_id in ids]
        self.connection.execute(
            "CREATE OR REPLACE TEMP TABLE segments AS "
            "SELECT UNNEST(?::VARCHAR[]) AS customer_id, UNNEST(?::VARCHAR[]) AS segment",
            [ids, segments],
        )
        self.connection.execute(
            f"CREATE OR REPLACE TEMP TABLE lines AS {self._sql('lines', as_of, window_days)}"
        )
        self._as_of = (as_of, window_days)

    def _lines_for(self, as_of: date, window_days: int) -> None:
        if self._as_of != (as_of, window_days):
            self._prepare(as_of, window_days, {}, default_segment)

    def compute_kpis(
        self,
        *,
        as_of: date,
        customers: Mapping[str, Customer],
        window_days: int = DEFAULT_WINDOW_DAYS,
        segment_of: Callable[[Customer | None], str] | None = None,
        outlooks: Mapping[tuple[str, str], PayOutlook] | None = None,
        forecast_note: str | None = None,
    ) -> dict[str, Any]:
        """The document ``reports.kpis.compute_kpis`` makes from the same items, by the SQL."""
        if window_days <= 0:
            raise ValueError("window_days must be positive")
        self._prepare(as_of, window_days, customers, segment_of or default_segment)
        groups = self._figures(as_of, window_days)
        history = self._history(as_of, window_days)
        by_company: dict[str, dict[str, Any]] = {}
        by_segment: dict[str, dict[str, Any]] = {}
        by_currency: dict[str, Any] = {}
        for (dimension, name, currency), figures in sorted(groups.items()):
            document = figures.document(as_of, window_days)
            if dimension == "currency":
                by_currency[currency] = document
            elif dimension == "company_code":
                by_company.setdefault(name, {})[currency] = document
            else:
                by_segment.setdefault(name, {})[currency] = document
        return {
            "as_of": as_of.isoformat(),
            "window_days": window_days,
            "by_currency": by_currency,
            "by_company_code": by_company,
            "by_segment": by_segment,
            "customers_by_risk": self._risk(as_of, window_days, customers, history),
            "forecast": self._forecast(as_of, window_days, history, outlooks),
            "forecast_basis": {
                "basis": "predictions" if outlooks is not None else "customer_average",
                "note": forecast_note
                or (
                    "each open invoice on its predicted pay date; low and high: the week's 80% interval"
                    if outlooks is not None
                    else "each open invoice on its due date plus its customer's average days late"
                ),
            },
        }

    def _figures(self, as_of: date, window_days: int) -> dict[tuple[str, str, str], _Figures]:
        groups: dict[tuple[str, str, str], _Figures] = {}
        for row in self._rows("figures", as_of, window_days):
            (dimension, name, currency, total, total_s, current, current_s, past_due, past_due_s) = row[:9]
            aging = row[9:19]
            (opened, sales, sales_s, write_offs, write_offs_s, begin, begin_s, collected, collected_s) = row[
                19:28
            ]
            paid, days_to_pay, days_late = row[28:31]
            figures = _Figures()
            figures.ar_total = money(total, total_s)
            figures.ar_current = money(current, current_s)
            figures.ar_past_due = money(past_due, past_due_s)
            figures.aging = {
                bucket: money(aging[2 * index], aging[2 * index + 1])
                for index, bucket in enumerate(AGING_BUCKETS)
            }
            figures.open_invoices = int(opened)
            figures.credit_sales = money(sales, sales_s)
            figures.write_offs = money(write_offs, write_offs_s)
            figures.ar_begin = money(begin, begin_s)
            figures.collected = money(collected, collected_s)
            figures.paid = int(paid)
            figures.days_to_pay = int(days_to_pay)
            figures.days_late = int(days_late)
            groups[(dimension, name, currency)] = figures
        for dimension, name, currency, month, sales in self._rows("monthly_sales", as_of, window_days):
            groups[(dimension, name, currency)].monthly_sales[_day(month)] = Decimal(sales)
        return groups

    def _history(self, as_of: date, window_days: int) -> DelayHistory:
        history = DelayHistory()
        total = count = 0
        for customer_id, days_late, paid in self._rows("delay_history", as_of, window_days):
            history._by_customer[customer_id] = [int(days_late), int(paid)]
            total += int(days_late)
            count += int(paid)
        history._total, history._count = total, count
        return history

    def _risk(
        self, as_of: date, window_days: int, customers: Mapping[str, Customer], history: DelayHistory
    ) -> list[dict[str, Any]]:
        rows = []
        for customer_id, currency, total, total_s, past_due, past_due_s, oldest in self._rows(
            "exposures", as_of, window_days
        ):
            customer = customers.get(customer_id)
            late = history.average(customer_id)
            rows.append(
                {
                    "customer_id": customer_id,
                    "name": customer.name if customer is not None else None,
                    "currency": currency,
                    "ar_total": str(money(total, total_s)),
                    "ar_past_due": str(money(past_due, past_due_s)),
                    "oldest_days_past_due": int(oldest),
                    "average_days_late": _one_decimal(late),
                    "risk": risk_class(int(oldest), late),
                }
            )
        return rows

    def open_items(self, as_of: date, window_days: int = DEFAULT_WINDOW_DAYS) -> list[OpenItem]:
        """What is open of each document at the as-of date, in the order the documents were read."""
        self._lines_for(as_of, window_days)
        return [
            OpenItem(customer_id, currency, _day(due), money(amount, scale), number)
            for customer_id, number, currency, due, amount, scale in self._rows(
                "open_items", as_of, window_days
            )
        ]

    def open_amounts(self, as_of: date) -> dict[tuple[str, str], tuple[str, Decimal]]:
        """``reports.kpis.open_amounts`` by the SQL: each open document's currency and open amount."""
        return {
            (item.customer_id, item.invoice_number): (item.currency, item.open_amount)
            for item in self.open_items(as_of, self._as_of[1] if self._as_of else DEFAULT_WINDOW_DAYS)
        }

    def _forecast(
        self,
        as_of: date,
        window_days: int,
        history: DelayHistory,
        outlooks: Mapping[tuple[str, str], PayOutlook] | None,
    ) -> dict[str, list[dict[str, Any]]]:
        if outlooks is not None:
            # The pay-date model's predictions are Python's (reports/predicted.py): the SQL gives the
            # forecast its open items, and the Python forecast spreads them over the predicted weeks.
            return cash_forecast(
                as_of=as_of,
                open_items=self.open_items(as_of, window_days),
                history=history,
                outlooks=outlooks,
            )
        weekly: dict[str, dict[int, Decimal]] = {}
        for currency, week, expected, scale in self._rows("forecast", as_of, window_days):
            weeks = weekly.setdefault(currency, {})
            if week >= 0:
                weeks[int(week)] = money(expected, scale)
        first_day = as_of + timedelta(days=1)
        return {
            currency: [
                {
                    "week_start": (first_day + timedelta(days=7 * week)).isoformat(),
                    "week_end": (first_day + timedelta(days=7 * week + 6)).isoformat(),
                    "expected": str(weeks.get(week, Decimal(0))),
                }
                for week in range(FORECAST_WEEKS)
            ]
            for currency, weeks in sorted(weekly.items())
        }

    def activity_figures(self, *, as_of: date, window_days: int) -> dict[str, Any]:
        """``reports.activity.activity_figures`` by the SQL."""
        self._lines_for(as_of, window_days)  # steps.sql reads the lines' paid dates
        (
            kept,
            broken,
            opened,
            resolved,
            age_ms,
            touches,
            customers_touched,
            invoices_touched,
            delivered,
            bounced,
        ) = self._rows("activity", as_of, window_days)[0]
        productivity = {
            who: {
                "tasks_completed": int(done),
                "tasks_per_day": _ratio(int(done), window_days),
                "accounts": int(accounts),
            }
            for who, done, accounts in sorted(self._rows("productivity", as_of, window_days))
        }
        steps = {
            step: {"invoices": int(n), "paid_within_7_days": int(won), "share": _ratio(int(won), int(n))}
            for step, n, won in sorted(self._rows("steps", as_of, window_days))
        }
        age_days = Decimal(int(age_ms or 0)) / Decimal(86_400_000)
        return {
            "promise_kept_rate": _ratio(kept, kept + broken),
            "promises_kept": int(kept),
            "promises_broken": int(broken),
            "disputes_opened": int(opened),
            "disputes_resolved": int(resolved),
            "dispute_average_age_days": _ratio(age_days, resolved, "0.1") if resolved else None,
            "touches": int(touches),
            "touches_per_customer": _ratio(touches, customers_touched),
            "touches_per_invoice": _ratio(touches, invoices_touched),
            "emails_delivered": int(delivered),
            "emails_bounced": int(bounced),
            "collector_productivity": productivity,
            "step_effectiveness": steps,
        }


def _ratio(numerator: Decimal | int, denominator: Decimal | int, places: str = "0.01") -> str | None:
    """``reports.activity._ratio``: a quotient to ``places`` (half even), or None over nothing."""
    if not denominator:
        return None
    return str((Decimal(numerator) / Decimal(denominator)).quantize(Decimal(places)))


def run_sql_report(
    root: Path,
    *,
    as_of: date,
    customers: Mapping[str, Customer],
    window_days: int = DEFAULT_WINDOW_DAYS,
    segment_of: Callable[[Customer | None], str] | None = None,
    outlooks: Mapping[tuple[str, str], PayOutlook] | None = None,
    forecast_note: str | None = None,
) -> tuple[dict[str, Any], dict[tuple[str, str], tuple[str, Decimal]], dict[str, Any]]:
    """The KPI document, the open amounts and the activity figures as of ``as_of``, one connection."""
    with DuckDbReport(root) as report:
        document = report.compute_kpis(
            as_of=as_of,
            customers=customers,
            window_days=window_days,
            segment_of=segment_of,
            outlooks=outlooks,
            forecast_note=forecast_note,
        )
        return (
            document,
            report.open_amounts(as_of),
            report.activity_figures(as_of=as_of, window_days=window_days),
        )
