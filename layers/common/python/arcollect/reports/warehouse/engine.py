"""The KPI report computed by SQL over the report's Parquet (``compaction.py``): on DuckDB here, on Athena
in ``athena.py``.

The SQL files (``sql/``) define every sum a figure is made of; ``SqlReport`` runs them for one as-of date
and shapes the same document ``reports/kpis.py`` and ``reports/activity.py`` make, with their own
formatting (``_Figures.document``, the risk class, the forecast's weeks), so every engine prints the
same ``kpis.json``. The ratios (DSO, CEI, averages) are taken of the SQL's exact sums in Python's
``Decimal``: DuckDB divides decimals as floats and Athena truncates their scale, and a report must agree
with the Python reference to the cent and the tenth of a day.

``lines.sql`` (every document's history as of the date) is materialized once per date, and the other
queries read it: DuckDB's temporary table ``lines``, Athena's table made by a CTAS. The customers'
segments (the policy's rule, in Python) go to the engine the same way: a temporary table, a file.
"""

from __future__ import annotations

import json
import re
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
from arcollect.reports.forecast import DelayHistory, OpenItem, cash_forecast
from arcollect.reports.kpis import (
    DEFAULT_WINDOW_DAYS,
    NO_SEGMENT,
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
    "activity",
    "productivity",
    "steps",
)


@cache
def query_text(name: str) -> str:
    """The SQL of one query, as written (placeholders in braces: ``{as_of}``, ``{window_start}``...)."""
    return resources.files("arcollect.reports.warehouse").joinpath("sql", f"{name}.sql").read_text("utf-8")


# Which grouping set a row of figures.sql or monthly_sales.sql belongs to (they group by currency, by
# company code and currency, by segment and currency): its dimension, and the group's name in it.
DIMENSION_AND_NAME = """CASE WHEN GROUPING(company_code) = 0 THEN 'company_code'
        WHEN GROUPING(segment) = 0 THEN 'segment' ELSE 'currency' END AS dimension,
    CASE WHEN GROUPING(company_code) = 0 THEN company_code
        WHEN GROUPING(segment) = 0 THEN segment ELSE '' END AS name"""


def bound(
    name: str,
    as_of: date,
    window_days: int = DEFAULT_WINDOW_DAYS,
    *,
    lines: str = "lines",
    segments: str = "segments",
    no_profile_segment: str = NO_SEGMENT,
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
        "{dimension_and_name}": DIMENSION_AND_NAME,
        "{lines}": lines,
        "{segments}": segments,
        # The segment of a customer with documents and no profile (the policy's rule for none).
        "{no_profile_segment}": sql_text(no_profile_segment),
        "{as_of_month}": f"'{as_of.isoformat()[:7]}'",
        "{paid_within_days}": str(PAID_WITHIN_DAYS),
    }
    # One pass: a value put in (a segment's name, say) is never read again for placeholders.
    return re.sub(r"\{[a-z_]+\}", lambda found: values.get(found.group(0), found.group(0)), query_text(name))


def sql_text(value: str) -> str:
    """A SQL string literal (quotes doubled: a segment named "O'Brien & Sons" stays one literal)."""
    return "'" + value.replace("'", "''") + "'"


def segments_of(
    customers: Mapping[str, Customer], segment_of: Callable[[Customer | None], str]
) -> tuple[dict[str, str], str]:
    """Each customer's segment by the policy's rule, and the segment of a customer without a profile."""
    return {cid: segment_of(customer) for cid, customer in customers.items()}, segment_of(None)


def segments_json_lines(segments: Mapping[str, str]) -> bytes:
    """The segments as JSON lines (``{"customer_id", "segment"}``), the file Athena's table reads."""
    return "".join(
        json.dumps({"customer_id": cid, "segment": name}, ensure_ascii=False) + "\n"
        for cid, name in sorted(segments.items())
    ).encode("utf-8")


def money(value: Decimal | int, scale: int) -> Decimal:
    """A sum as Python's ``Decimal`` prints it: with the most decimal places of its terms."""
    return Decimal(value).quantize(Decimal(1).scaleb(-int(scale)))


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


class SqlReport:
    """The report's queries for one as-of date, on an engine a subclass connects: ``_materialize`` makes
    the lines of a date, ``_rows`` runs one query, ``close`` lets the engine go."""

    _as_of: tuple[date, int] | None = None
    _open_items: list[OpenItem] | None = None

    def _materialize(
        self, as_of: date, window_days: int, segments: Mapping[str, str], no_profile_segment: str
    ) -> None:
        raise NotImplementedError

    def _rows(self, name: str, as_of: date, window_days: int) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def close(self) -> None:
        """Nothing to let go by default."""

    def __enter__(self) -> SqlReport:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _prepare(
        self,
        as_of: date,
        window_days: int,
        customers: Mapping[str, Customer],
        segment_of: Callable[[Customer | None], str],
    ) -> None:
        """The customers' segments (the policy's rule, in Python) and the documents' lines as of the day."""
        segments, no_profile = segments_of(customers, segment_of)
        self._materialize(as_of, window_days, segments, no_profile)
        self._as_of = (as_of, window_days)
        self._open_items = None

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
        # Read once per date: the forecast and the predictions table both need them (on Athena a
        # second read would be billed, and its pages fetched again).
        if self._open_items is None:
            self._open_items = [
                OpenItem(customer_id, currency, _day(due), money(amount, scale), number)
                for customer_id, number, currency, due, amount, scale in self._rows(
                    "open_items", as_of, window_days
                )
            ]
        return list(self._open_items)

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
        """The 13-week forecast from its inputs by the SQL (the open items, each customer's days late):
        the reference's own spreading over the weeks (reports/forecast.py), on the model's predicted pay
        dates or on the due date plus the customer's average delay. The open items are read anyway, for
        the predictions table, so the weeks cost no second pass over the lines."""
        return cash_forecast(
            as_of=as_of, open_items=self.open_items(as_of, window_days), history=history, outlooks=outlooks
        )

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


class DuckDbReport(SqlReport):
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
        # A long query would draw a progress bar on stdout: noise in a function's log, and in the output
        # a benchmark reads.
        self.connection.execute("SET enable_progress_bar = false")
        for table in TABLES:
            self.connection.execute(f"CREATE OR REPLACE VIEW {table} AS {parquet_source(root, table)}")

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> DuckDbReport:
        return self

    def _sql(self, name: str, as_of: date, window_days: int, **relations: str) -> str:
        text = bound(name, as_of, window_days, **relations)
        if self.read_as is None:
            return text
        import sqlglot

        return str(sqlglot.transpile(text, read=self.read_as, write="duckdb")[0])

    def _rows(self, name: str, as_of: date, window_days: int) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = self.connection.execute(self._sql(name, as_of, window_days)).fetchall()
        return rows

    def _materialize(
        self, as_of: date, window_days: int, segments: Mapping[str, str], no_profile_segment: str
    ) -> None:
        self.connection.execute(
            "CREATE OR REPLACE TEMP TABLE segments AS "
            "SELECT UNNEST(?::VARCHAR[]) AS customer_id, UNNEST(?::VARCHAR[]) AS segment",
            [list(segments), list(segments.values())],
        )
        lines = self._sql("lines", as_of, window_days, no_profile_segment=no_profile_segment)
        self.connection.execute(f"CREATE OR REPLACE TEMP TABLE lines AS {lines}")


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
