"""`arcollect tick reports --cadence` and `arcollect reports run`: the events they send, and the arguments
they refuse before anything is invoked."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from arcollect.contract import SCHEDULED_EVENT_SOURCE, Output, ReportCadence
from arcollect_cli import main as cli
from arcollect_cli.target import Target

REPORTS_FUNCTION = "arcollect-local-reports"
# Every test on both engines: the Python reference and the SQL on DuckDB (held to it figure by figure).
pytestmark = pytest.mark.usefixtures("reports_engine")


@pytest.fixture
def invoked(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """A stack whose reports function answers like the handler does; the events it got, in order."""
    calls: list[tuple[str, dict[str, Any]]] = []

    def resolve(cls: type[Target], stack: str | None, root: Path) -> Target:
        return Target(outputs={Output.REPORTS_FUNCTION: REPORTS_FUNCTION}, local=stack is None)

    def invoke(self: Target, function_output: str, event: dict[str, Any]) -> Any:
        calls.append((self.output(function_output), event))
        as_of = event.get("as_of", "2026-11-23")
        return {
            "as_of": as_of,
            "cadence": event.get("cadence", "daily"),
            "written": [f"kpi/{as_of}/kpis.json", "latest/kpis.json"],
            "emailed": ["manager@yourco.example"] if event.get("cadence") == ReportCadence.WEEKLY else [],
        }

    monkeypatch.setattr(Target, "resolve", classmethod(resolve))
    monkeypatch.setattr(Target, "invoke", invoke)
    return calls


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--as-of", "2026-13-01"], "--as-of '2026-13-01' is not a date: use YYYY-MM-DD"),
        (["--as-of", "2026-02-30"], "--as-of '2026-02-30' is not a date"),
        (["--as-of", "20261123"], "--as-of '20261123' is not a date"),
        (["--as-of", "2026-11-23T05:00:00Z"], "--as-of '2026-11-23T05:00:00Z' is not a date"),
        (["--as-of", "yesterday"], "--as-of 'yesterday' is not a date"),
        (["--from", "2026-11-01", "--to", "11/30/2026"], "--to '11/30/2026' is not a date"),
        (["--from", "2026-11-31", "--to", "2026-12-31"], "--from '2026-11-31' is not a date"),
        (["--from", "2026-12-01", "--to", "2026-11-01"], "--to 2026-11-01 is before --from 2026-12-01"),
        (["--as-of", "2026-11-23", "--from", "2026-11-01"], "either --as-of DATE or --from DATE"),
        (["--as-of", "2026-11-23", "--every", "week"], "either --as-of DATE or --from DATE"),
        (["--from", "2026-11-01"], "--as-of DATE"),
        ([], "--as-of DATE"),
    ],
)
def test_reports_run_refuses_bad_days_with_the_option_named_and_invokes_nothing(
    argv: list[str],
    message: str,
    invoked: list[tuple[str, dict[str, Any]]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["reports", "run", *argv]) == 2
    assert message in capsys.readouterr().err
    assert invoked == []


def test_an_unknown_cadence_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["reports", "run", "--as-of", "2026-11-23", "--cadence", "hourly"])
    assert exited.value.code == 2
    assert "--cadence" in capsys.readouterr().err


def test_reports_run_invokes_the_function_and_prints_the_keys_written(
    invoked: list[tuple[str, dict[str, Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["reports", "run", "--as-of", "2026-11-23"]) == 0
    assert invoked == [(REPORTS_FUNCTION, {"action": "run", "as_of": "2026-11-23", "cadence": "daily"})]
    assert capsys.readouterr().out.splitlines() == ["kpi/2026-11-23/kpis.json", "latest/kpis.json"]


def test_reports_run_as_the_weekly_run_says_whom_it_emailed(
    invoked: list[tuple[str, dict[str, Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["reports", "run", "--as-of", "2026-11-23", "--cadence", "weekly", "--json"]) == 0
    assert invoked[0][1]["cadence"] == "weekly"
    captured = capsys.readouterr()
    assert json.loads(captured.out)["emailed"] == ["manager@yourco.example"]
    assert "emailed manager@yourco.example" in captured.err


def test_a_backfill_runs_each_as_of_day_in_turn(
    invoked: list[tuple[str, dict[str, Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["reports", "run", "--from", "2026-11-02", "--to", "2026-11-23", "--every", "week", "--json"]
    assert cli.main(argv) == 0
    days = ["2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23"]
    assert [event["as_of"] for _, event in invoked] == days
    assert [run["as_of"] for run in json.loads(capsys.readouterr().out)] == days


@pytest.mark.parametrize(
    ("start", "end", "every", "expected"),
    [
        ("2026-11-29", "2026-12-02", None, ["2026-11-29", "2026-11-30", "2026-12-01", "2026-12-02"]),
        ("2026-11-23", "2026-11-23", "week", ["2026-11-23"]),
        ("2026-11-23", "2026-12-06", "week", ["2026-11-23", "2026-11-30"]),
        # From a month's end: each month's end, February included.
        ("2027-01-31", "2027-04-30", "month", ["2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30"]),
        ("2028-01-31", "2028-03-01", "month", ["2028-01-31", "2028-02-29"]),
        ("2026-11-15", "2027-01-15", "month", ["2026-11-15", "2026-12-15", "2027-01-15"]),
        ("2027-01-30", "2027-03-30", "month", ["2027-01-30", "2027-02-28", "2027-03-30"]),
    ],
)
def test_backfill_days(start: str, end: str, every: str | None, expected: list[str]) -> None:
    args = cli.build_parser().parse_args(
        ["reports", "run", "--from", start, "--to", end, *(["--every", every] if every else [])]
    )
    assert cli.report_days(args) == [date.fromisoformat(day) for day in expected]


@pytest.mark.parametrize(
    ("cadence", "expected"), [(None, "daily"), ("weekly", "weekly"), ("monthly", "monthly")]
)
def test_tick_reports_sends_the_scheduled_event_with_its_cadence(
    cadence: str | None, expected: str, invoked: list[tuple[str, dict[str, Any]]]
) -> None:
    argv = ["tick", "reports", "--at", "2026-12-01T07:00:00Z", *(["--cadence", cadence] if cadence else [])]
    assert cli.main(argv) == 0
    [(function, event)] = invoked
    assert function == REPORTS_FUNCTION
    assert event["source"] == SCHEDULED_EVENT_SOURCE
    assert event["time"] == "2026-12-01T07:00:00Z"
    assert event["detail"] == {"cadence": expected}


def test_the_dunning_tick_has_no_cadence(
    invoked: list[tuple[str, dict[str, Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["tick", "dunning", "--at", "2026-12-01T07:00:00Z", "--cadence", "weekly"]) == 2
    assert "--cadence is for `tick reports`" in capsys.readouterr().err
    assert invoked == []
