"""The Athena runner (store/athena.py) against moto: a query started in the reports' workgroup, polled to
its end and its rows read (moto runs no SQL: the rows are the ones its API was told to return), and the
failures Athena reports and moto never produces (a failed query, the scan limit, a query still running)
through botocore's own Stubber."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import boto3
import pytest
import requests
from botocore.stub import Stubber

from arcollect.store.athena import AthenaQueries, QueryFailed, QueryTimedOut

WORKGROUP = "arcollect-dev-reports"


def moto_returns(rows: list[list[str | None]], columns: list[str], types: list[str] | None = None) -> None:
    """The rows moto's next query returns (its documented API: /moto-api/static/athena/query-results)."""
    response = requests.post(
        "http://motoapi.amazonaws.com/moto-api/static/athena/query-results",
        json={
            "results": [
                {
                    "rows": [{"Data": [{"VarCharValue": v} for v in row]} for row in [columns, *rows]],
                    "column_info": [
                        {"Name": c, "Type": kind}
                        for c, kind in zip(columns, types or ["varchar"] * len(columns), strict=True)
                    ],
                }
            ]
        },
        timeout=10,
    )
    assert response.status_code == 201


def test_a_query_is_started_in_the_workgroup_polled_and_its_rows_read(aws: None) -> None:
    athena = boto3.client("athena")
    athena.create_work_group(Name=WORKGROUP, Configuration={})
    moto_returns([["EUR", "740.49"], ["Müller & Söhne, GmbH", None]], ["currency", "ar_total"])
    naps: list[float] = []
    runner = AthenaQueries(workgroup=WORKGROUP, database="arcollect_dev_reports", sleep=naps.append)
    outcome = runner.run("SELECT currency, SUM(open_now) AS ar_total FROM lines GROUP BY currency")
    assert outcome.state == "SUCCEEDED"
    assert outcome.columns == ("currency", "ar_total")
    assert outcome.rows == [("EUR", "740.49"), ("Müller & Söhne, GmbH", None)]
    execution = athena.get_query_execution(QueryExecutionId=outcome.query_id)["QueryExecution"]
    assert execution["WorkGroup"] == WORKGROUP
    assert execution["QueryExecutionContext"]["Database"] == "arcollect_dev_reports"


def test_the_rows_come_back_typed_by_their_columns_money_as_decimals_never_floats(aws: None) -> None:
    athena = boto3.client("athena")
    athena.create_work_group(Name=WORKGROUP, Configuration={})
    moto_returns(
        [["INV/2026/0042", "0.100000", "3", "2026-11-30", "true", None]],
        ["invoice_number", "open_now", "days_late", "due_date", "is_sale", "paid_on"],
        ["varchar", "decimal", "bigint", "date", "boolean", "date"],
    )
    runner = AthenaQueries(workgroup=WORKGROUP, database="db", sleep=lambda _: None)
    (row,) = runner.run("SELECT * FROM lines").rows
    assert row == ("INV/2026/0042", Decimal("0.100000"), 3, date(2026, 11, 30), True, None)
    assert isinstance(row[1], Decimal)


def stubbed(states: list[dict[str, Any]]) -> tuple[AthenaQueries, Stubber]:
    client = boto3.client("athena", region_name="us-east-1")
    stub = Stubber(client)
    stub.add_response("start_query_execution", {"QueryExecutionId": "q-1"})
    for status in states:
        stub.add_response(
            "get_query_execution",
            {"QueryExecution": {"QueryExecutionId": "q-1", "Status": status}},
            {"QueryExecutionId": "q-1"},
        )
    return AthenaQueries(workgroup=WORKGROUP, database="db", client=client, sleep=lambda _: None), stub


def test_a_query_athena_failed_or_stopped_at_the_scan_limit_raises_with_athenas_reason(aws: None) -> None:
    runner, stub = stubbed(
        [
            {"State": "RUNNING"},
            {
                "State": "FAILED",
                "StateChangeReason": "Query exhausted resources: bytes scanned limit exceeded (1 GB)",
            },
        ]
    )
    with stub, pytest.raises(QueryFailed, match="bytes scanned limit exceeded"):
        runner.run("SELECT 1")


def test_a_query_still_running_at_the_timeout_is_cancelled(aws: None) -> None:
    runner, stub = stubbed([{"State": "RUNNING"}, {"State": "RUNNING"}, {"State": "RUNNING"}])
    stub.add_response("stop_query_execution", {}, {"QueryExecutionId": "q-1"})
    with stub, pytest.raises(QueryTimedOut, match="still running"):
        runner.run("SELECT 1", timeout=2)
    stub.assert_no_pending_responses()


def test_a_query_athena_refuses_to_start_says_so(aws: None) -> None:
    client = boto3.client("athena", region_name="us-east-1")
    stub = Stubber(client)
    stub.add_client_error("start_query_execution", "InvalidRequestException", "line 1:8: mismatched input")
    runner = AthenaQueries(workgroup=WORKGROUP, database="db", client=client)
    with stub, pytest.raises(QueryFailed, match="mismatched input"):
        runner.run("SELEC 1")
