"""Which engine computes a report's figures (the ``reportsEngine`` setting, ``REPORTS_ENGINE``).

- ``python``: the reference (reports/kpis.py, reports/activity.py), over the items in memory: about 2 KB a
  document, so a 3 GB function tops out near a million documents;
- ``duckdb``: the same figures by the SQL in reports/warehouse/sql over the report's Parquet, on one
  machine (the Lambda function's own /tmp), a fraction of the memory;
- ``athena``: the same SQL over the exported Parquet in S3 (reports/warehouse/athena.py, the Glue
  tables): the figures as of the table's last export (daily at 04:00 UTC, an hour before the daily
  report), for portfolios past one function;
- ``auto`` (the default): ``python`` up to ``DUCKDB_ABOVE_DOCUMENTS`` documents and payments, ``duckdb``
  above (where DuckDB is installed), ``athena`` above ``ATHENA_ABOVE_DOCUMENTS`` where the stack gave the
  function its workgroup and the table's export is current (the local stack has no Athena, and a stale
  export is never reported: DuckDB goes on).

Every engine gives the same document: the differential tests hold the SQL to the Python reference on
the IBM histories and the SAP extract, to the cent (tests/integration/test_sql_engine_datasets.py).
"""

from __future__ import annotations

import importlib.util
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, TypeVar

from arcollect.contract import REPORTS_ENGINES
from arcollect.entities import Customer
from arcollect.outlook import PayOutlook
from arcollect.reports.activity import activity_figures
from arcollect.reports.kpis import compute_kpis, open_amounts
from arcollect.store.reports import ReportData

PYTHON, DUCKDB, ATHENA, AUTO = "python", "duckdb", "athena", "auto"
ENGINES = REPORTS_ENGINES  # auto, python, duckdb, athena: the reportsEngine context's values
# Measured: the Python engine holds about 2 KB a document (the 266k-document SAP extract: 559 MB, 4 s);
# above half a million documents DuckDB keeps a 3 GB function clear of its limit.
DUCKDB_ABOVE_DOCUMENTS = 500_000
# Measured: DuckDB's report holds about 0.9 GB a million documents (make bench), beside the run's own
# items; above two million the figures go to Athena, which bills the bytes it scans (935 MB at 10M).
ATHENA_ABOVE_DOCUMENTS = 2_000_000


_Found = TypeVar("_Found")


class ReportEngineError(ValueError):
    """A ``reportsEngine`` setting that names no engine, or one this run cannot use."""


def choose_engine(setting: str | None, documents: int, *, athena: bool = False) -> str:
    """The engine a run uses: the one named, or (``auto``, unset) by the portfolio's size; ``athena``:
    whether this run could query Athena (the deployed stack's workgroup)."""
    name = (setting or AUTO).strip().lower()
    if name not in ENGINES:
        raise ReportEngineError(f"reportsEngine {setting!r} is not one of {', '.join(ENGINES)}")
    if name == AUTO and athena and documents > ATHENA_ABOVE_DOCUMENTS:
        return ATHENA
    if name == AUTO:
        # Only where DuckDB is installed (the reports layer): without it a large portfolio stays on the
        # reference engine rather than failing the run.
        return DUCKDB if documents > DUCKDB_ABOVE_DOCUMENTS and _duckdb_installed() else PYTHON
    return name


def _duckdb_installed() -> bool:
    return importlib.util.find_spec("duckdb") is not None


class ReportFigures(Protocol):
    """What a report run asks of an engine: the KPI document, the open amounts, the activity figures."""

    engine: str

    def kpis(
        self,
        *,
        as_of: date,
        window_days: int,
        segment_of: Callable[[Customer | None], str],
        outlooks: Mapping[tuple[str, str], PayOutlook] | None,
        forecast_note: str | None,
    ) -> dict[str, Any]: ...

    def open_amounts(self, as_of: date) -> dict[tuple[str, str], tuple[str, Decimal]]: ...

    def activity(self, *, as_of: date, window_days: int) -> dict[str, Any]: ...


class PythonFigures:
    """The reference engine: the figures from the items in memory."""

    engine = PYTHON

    def __init__(self, data: ReportData) -> None:
        self.data = data

    def kpis(
        self,
        *,
        as_of: date,
        window_days: int,
        segment_of: Callable[[Customer | None], str],
        outlooks: Mapping[tuple[str, str], PayOutlook] | None,
        forecast_note: str | None,
    ) -> dict[str, Any]:
        return compute_kpis(
            as_of=as_of,
            invoices=self.data.invoices,
            payments=self.data.payments,
            customers=self.data.customers,
            window_days=window_days,
            segment_of=segment_of,
            outlooks=outlooks,
            forecast_note=forecast_note,
        )

    def open_amounts(self, as_of: date) -> dict[tuple[str, str], tuple[str, Decimal]]:
        return open_amounts(self.data.invoices, self.data.payments, as_of)

    def activity(self, *, as_of: date, window_days: int) -> dict[str, Any]:
        return activity_figures(self.data, as_of=as_of, window_days=window_days)


@dataclass(frozen=True)
class AthenaSource:
    """What a run on Athena needs: the runner in the reports' workgroup and database
    (``store/athena.py``), and a writer of one object to the reports bucket (the run's segments).
    ``staleness()``: why the export Athena would read cannot stand for the table now (none yet, or the
    daily export stopped), None when it can; asked only when a run would go to Athena (it reads the
    export's records)."""

    queries: Any  # store.athena.AthenaQueries
    put_object: Callable[[str, bytes], None]
    staleness: Callable[[], str | None] = lambda: None


class SqlFigures:
    """The figures by the SQL (``report``: DuckDB over local Parquet, or Athena over the export). With
    ``cross_check`` every figure is also computed by the reference and a difference is an error (the
    test suites run the existing report tests this way)."""

    def __init__(self, report: Any, data: ReportData, *, engine: str, cross_check: bool = False) -> None:
        self.report = report
        self.engine = engine
        self.data = data
        self.reference = PythonFigures(data) if cross_check else None

    def close(self) -> None:
        self.report.close()

    def _checked(self, name: str, figures: _Found, reference: Callable[[], object]) -> _Found:
        if self.reference is not None:
            expected = reference()
            if figures != expected:
                raise AssertionError(f"the SQL engine's {name} differ from the Python reference's")
        return figures

    def kpis(
        self,
        *,
        as_of: date,
        window_days: int,
        segment_of: Callable[[Customer | None], str],
        outlooks: Mapping[tuple[str, str], PayOutlook] | None,
        forecast_note: str | None,
    ) -> dict[str, Any]:
        arguments: dict[str, Any] = {
            "as_of": as_of,
            "window_days": window_days,
            "segment_of": segment_of,
            "outlooks": outlooks,
            "forecast_note": forecast_note,
        }
        document = self.report.compute_kpis(customers=self.data.customers, **arguments)
        return self._checked(
            "KPIs",
            document,
            lambda: self.reference.kpis(**arguments) if self.reference else None,
        )

    def open_amounts(self, as_of: date) -> dict[tuple[str, str], tuple[str, Decimal]]:
        found = self.report.open_amounts(as_of)
        return self._checked(
            "open amounts", found, lambda: self.reference.open_amounts(as_of) if self.reference else None
        )

    def activity(self, *, as_of: date, window_days: int) -> dict[str, Any]:
        figures = self.report.activity_figures(as_of=as_of, window_days=window_days)
        return self._checked(
            "activity figures",
            figures,
            lambda: self.reference.activity(as_of=as_of, window_days=window_days) if self.reference else None,
        )


# Set by the test suites (tests/conftest.py's ``reports_engine`` fixture): the SQL engine's figures
# are held to the reference's in every report test run on it.
CROSS_CHECK = False


@contextmanager
def report_figures(
    setting: str | None, data: ReportData, athena: AthenaSource | None = None
) -> Iterator[ReportFigures]:
    """The engine ``setting`` names (``auto``: by size) for ``data``. DuckDB compacts ``data`` to
    Parquet in a scratch folder (/tmp in Lambda) for the run and removes it after; Athena queries the
    exported Parquet (``athena``: its runner, which a run on Athena cannot go without)."""
    documents = len(data.invoices) + len(data.payments)
    engine = choose_engine(setting, documents, athena=athena is not None)
    stale = athena.staleness() if engine == ATHENA and athena is not None else None
    if stale and choose_engine(setting, documents) != ATHENA:
        engine = choose_engine(setting, documents)  # auto: never a stale export; DuckDB goes on
    if engine == PYTHON:
        yield PythonFigures(data)
        return
    if engine == ATHENA:
        if athena is None:
            raise ReportEngineError(
                "reportsEngine athena needs the reports' Athena workgroup and Glue database "
                "(REPORTS_WORKGROUP, REPORTS_DATABASE: set by the deployed stack; the local stack has "
                "no Athena, choose auto, python or duckdb there)"
            )
        if stale:
            # Never a report of an export that is not the table: it would show old or no figures.
            raise ReportEngineError(
                f"reportsEngine athena: {stale}; run the export "
                '({"action": "export", "full": true}) or choose duckdb'
            )
        from arcollect.reports.warehouse.athena import AthenaReport

        figures = SqlFigures(
            AthenaReport(athena.queries, athena.put_object), data, engine=ATHENA, cross_check=CROSS_CHECK
        )
        try:
            yield figures
        finally:
            figures.close()
        return
    from arcollect.reports.warehouse.compaction import write_report_parquet
    from arcollect.reports.warehouse.engine import DuckDbReport

    with tempfile.TemporaryDirectory(prefix="arcollect-report-") as scratch:
        root = Path(scratch)
        write_report_parquet(data, root)
        figures = SqlFigures(DuckDbReport(root), data, engine=DUCKDB, cross_check=CROSS_CHECK)
        try:
            yield figures
        finally:
            figures.close()
