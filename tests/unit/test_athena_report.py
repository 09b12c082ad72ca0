"""The athena engine (reports/warehouse/athena.py): the report's SQL sent to Athena as Athena takes it,
its answers read back, and the same document as the Python reference. Athena's API is played by
tests/athena_on_duckdb.py (the SQL read in Trino's dialect and run by DuckDB over the same Parquet),
because moto's Athena runs no SQL; the runner's calls against moto are in
tests/integration/test_athena_runner.py."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from arcollect.entities import Customer
from arcollect.reports.activity import activity_figures
from arcollect.reports.engines import AthenaSource, report_figures
from arcollect.reports.kpis import compute_kpis
from arcollect.reports.warehouse.athena import SEGMENTS_PREFIX, AthenaReport
from arcollect.reports.warehouse.compaction import write_report_parquet
from arcollect.store.athena import AthenaQueries, QueryFailed, QueryTimedOut
from arcollect.store.reports import ReportData
from tests.athena_on_duckdb import AthenaOnDuckDb
from tests.unit.test_sql_engine import AS_OF_DATES, assert_same, made_up_portfolio


def athena_over(data: ReportData, root: Path) -> tuple[AthenaOnDuckDb, AthenaQueries, dict[str, bytes]]:
    write_report_parquet(data, root)
    objects: dict[str, bytes] = {}
    client = AthenaOnDuckDb(root, objects)
    queries = AthenaQueries(workgroup="wg", database="reports", client=client, sleep=lambda _: None)
    return client, queries, objects


def segment(customer: Customer | None) -> str:
    # a policy's rule of the customer: its own segment, "O'Brien"-style quotes included, else by name
    if customer is None:
        return "no profile"
    return customer.segment or f"{customer.customer_id[:3]}'s"


@pytest.mark.parametrize("seed", [0, 4])
def test_the_report_on_athena_is_the_reference_document(seed: int, tmp_path: Path) -> None:
    objects: dict[str, bytes] = {}
    opened: list[tuple[AthenaOnDuckDb, AthenaReport]] = []

    def on_athena(root: Path) -> AthenaReport:
        client = AthenaOnDuckDb(root, objects)
        queries = AthenaQueries(workgroup="wg", database="reports", client=client, sleep=lambda _: None)
        opened.append((client, AthenaReport(queries, objects.__setitem__, run_id="abc123")))
        return opened[-1][1]

    assert_same(made_up_portfolio(seed), tmp_path, AS_OF_DATES, open_report=on_athena)
    # The segments went as a file of the run; each date's lines were made once by a CTAS partitioned by
    # state, read by the other queries, and every lines table the run made was dropped.
    ((client, report),) = opened
    assert f"{SEGMENTS_PREFIX}run=abc123/segments.json" in objects
    made = [s for s in client.statements if s.startswith("CREATE TABLE")]
    assert len(made) == len(AS_OF_DATES)
    assert all("partitioned_by = ARRAY['state']" in s and "external_location" not in s for s in made)
    dropped = [s.split()[-1] for s in client.statements if s.startswith("DROP TABLE")]
    assert dropped == [s.split()[2] for s in made]
    assert not any("FROM invoices" in s for s in client.statements if not s.startswith("CREATE TABLE"))
    assert report.scanned > 0
    # each date's open items were read once, for the forecast and the predictions table alike
    assert sum("FROM report_lines_" in s and "ORDER BY seq" in s for s in client.statements) == len(
        AS_OF_DATES
    )


def test_a_run_on_athena_goes_through_the_engine_setting(tmp_path: Path) -> None:
    data = made_up_portfolio(2)
    _, queries, objects = athena_over(data, tmp_path)
    as_of = AS_OF_DATES[2]
    source = AthenaSource(queries=queries, put_object=objects.__setitem__)
    with report_figures("athena", data, source) as figures:
        assert figures.engine == "athena"
        found = figures.kpis(
            as_of=as_of, window_days=90, segment_of=segment, outlooks=None, forecast_note=None
        )
        activity = figures.activity(as_of=as_of, window_days=90)
    expected = compute_kpis(
        as_of=as_of,
        invoices=data.invoices,
        payments=data.payments,
        customers=data.customers,
        segment_of=segment,
    )
    assert found == expected
    assert activity == activity_figures(data, as_of=as_of, window_days=90)


def test_a_query_athena_fails_fails_the_run_with_athenas_reason_and_the_lines_are_still_dropped(
    tmp_path: Path,
) -> None:
    data = made_up_portfolio(1)
    client, queries, objects = athena_over(data, tmp_path)
    client.fail_when = "GROUPING SETS"  # the figures query
    failed = pytest.raises(QueryFailed, match="HIVE_BAD_DATA")
    with failed, AthenaReport(queries, objects.__setitem__) as report:
        report.compute_kpis(as_of=AS_OF_DATES[1], customers=data.customers)
    assert client.statements[-1].startswith("DROP TABLE IF EXISTS report_lines_")


def test_a_run_whose_queries_outlast_its_budget_cancels_them_and_still_drops_its_table(
    tmp_path: Path,
) -> None:
    data = made_up_portfolio(1)
    client, queries, objects = athena_over(data, tmp_path)
    client.stall_when = "GROUPING SETS"  # the figures query runs on and on
    now = [0.0]
    queries._sleep = lambda seconds: now.__setitem__(0, now[0] + seconds)  # the poll's sleep moves the clock
    timed_out = pytest.raises(QueryTimedOut)
    with (
        timed_out,
        AthenaReport(queries, objects.__setitem__, budget_seconds=30, clock=lambda: now[0]) as report,
    ):
        report.compute_kpis(as_of=AS_OF_DATES[1], customers=data.customers)
    assert client.stopped  # the query was cancelled, not left running and billed
    assert client.statements[-1].startswith("DROP TABLE IF EXISTS report_lines_")
    assert now[0] <= 31  # within the budget, not a query's own ten minutes


def test_an_empty_export_reports_nothing_rather_than_failing(tmp_path: Path) -> None:
    _, queries, objects = athena_over(ReportData(), tmp_path)
    with AthenaReport(queries, objects.__setitem__) as report:
        found = report.compute_kpis(as_of=date(2026, 1, 31), customers={})
    assert found == compute_kpis(as_of=date(2026, 1, 31), invoices=[], payments=[], customers={})


def test_a_run_id_that_is_not_a_table_name_is_refused() -> None:
    with pytest.raises(ValueError, match="lower-case letters and digits only"):
        AthenaReport(AthenaQueries(workgroup="wg", database="db", client=object()), print, run_id="x; DROP")


def test_a_run_never_reports_an_export_that_does_not_stand_for_the_table(tmp_path: Path) -> None:
    from arcollect.app.reports import export_staleness
    from arcollect.reports.engines import ReportEngineError

    now = datetime(2026, 12, 7, 5, tzinfo=UTC)
    assert export_staleness(None, now) == "no export of the table has completed yet"
    assert export_staleness(now - timedelta(hours=1), now) is None
    assert "has not run since" in (export_staleness(now - timedelta(days=3), now) or "")
    # Named, a stale export fails the run with the reason and what to do; auto never picks it
    data = made_up_portfolio(2)
    _, queries, objects = athena_over(data, tmp_path)
    asked: list[bool] = []

    def staleness() -> str:
        asked.append(True)
        return "no export of the table yet"

    stale = AthenaSource(queries=queries, put_object=objects.__setitem__, staleness=staleness)
    refused = pytest.raises(ReportEngineError, match=r"no export of the table yet; run the export")
    with refused, report_figures("athena", data, stale):
        pass
    assert asked == [True]
    with report_figures("auto", data, stale) as figures:
        assert figures.engine == "python"
    assert asked == [True]  # a small portfolio never asks: the export's records are not read


class _Records:
    """The export records an ExportStore holds (keys and reads only)."""

    def __init__(self, records: list[dict[str, object]]) -> None:
        self.records = {f"warehouse/_exports/{r['name']}.json": r for r in records}

    def keys(self, bucket: str, prefix: str) -> list[str]:
        return sorted(k for k in self.records if k.startswith(prefix))

    def read_record(self, bucket: str, key: str) -> dict[str, object] | None:
        return self.records.get(key)


def test_the_export_reaches_the_end_of_its_newest_compacted_window() -> None:
    from arcollect.reports.exports import exported_until

    def record(name: str, until: str, status: str, compacted: bool) -> dict[str, object]:
        return {"name": name, "until": until, "attempt": 1, "status": status, "compacted": compacted}

    assert exported_until(_Records([]), "b") is None  # type: ignore[arg-type]
    store = _Records(
        [
            record("full", "2026-12-05T04:00:00+00:00", "COMPLETED", True),
            record("inc-1", "2026-12-06T04:00:00+00:00", "COMPLETED", True),
            record("inc-2", "2026-12-07T04:00:00+00:00", "COMPLETED", False),  # not folded in yet
            record("inc-3", "2026-12-07T05:00:00+00:00", "IN_PROGRESS", False),
        ]
    )
    assert exported_until(store, "b") == datetime(2026, 12, 6, 4, tzinfo=UTC)  # type: ignore[arg-type]


def test_past_its_size_auto_goes_to_athena_on_a_current_export_and_stays_on_duckdb_on_a_stale_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arcollect.reports import engines

    monkeypatch.setattr(engines, "ATHENA_ABOVE_DOCUMENTS", 10)
    monkeypatch.setattr(engines, "DUCKDB_ABOVE_DOCUMENTS", 5)
    data = made_up_portfolio(2)
    _, queries, objects = athena_over(data, tmp_path)
    current = AthenaSource(queries=queries, put_object=objects.__setitem__)
    with report_figures("auto", data, current) as figures:
        assert figures.engine == "athena"
    stale = AthenaSource(queries=queries, put_object=objects.__setitem__, staleness=lambda: "none yet")
    with report_figures("auto", data, stale) as figures:
        assert figures.engine == "duckdb"
