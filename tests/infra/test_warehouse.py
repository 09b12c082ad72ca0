"""The reports past one machine in the stack (infra/constructs/warehouse.py): the Glue database and
tables over the compacted Parquet with partition projection, the Athena workgroup with its encrypted
results bucket and scan limit, the daily export's schedule and its permissions, and the alarm on a
failed export. cdk-nag and cfn-lint cover them with the rest (test_compliance.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match

from arcollect.contract import EXPORTS_FAILED_METRIC
from arcollect.reports.warehouse.athena import LINES_TABLE_PREFIX, SEGMENTS_PREFIX, SEGMENTS_TABLE
from arcollect.reports.warehouse.compaction import TABLES
from infra.constructs.warehouse import BYTES_SCANNED_CUTOFF
from tests.infra.conftest import Synthesized, synthesize


def resources(synthesized: Synthesized, kind: str) -> dict[str, Any]:
    return dict(synthesized.template.find_resources(kind))


def test_every_report_table_is_a_glue_table_over_its_parquet_with_month_projection(
    synthesized: Synthesized,
) -> None:
    tables = {
        r["Properties"]["TableInput"]["Name"]: r["Properties"]
        for r in resources(synthesized, "AWS::Glue::Table").values()
    }
    assert set(tables) == {*TABLES, SEGMENTS_TABLE}
    invoices = tables["invoices"]["TableInput"]
    assert invoices["PartitionKeys"] == [{"Name": "invoice_month", "Type": "string"}]
    assert invoices["Parameters"]["projection.enabled"] == "true"
    assert invoices["Parameters"]["projection.invoice_month.format"] == "yyyy-MM"
    assert "invoice_month" not in {c["Name"] for c in invoices["StorageDescriptor"]["Columns"]}
    assert {"Name": "amount", "Type": "decimal(38,6)"} in invoices["StorageDescriptor"]["Columns"]
    assert "ParquetHiveSerDe" in invoices["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"]
    assert tables["customers"]["TableInput"]["PartitionKeys"] == []
    (database,) = resources(synthesized, "AWS::Glue::Database").values()
    assert database["Properties"]["DatabaseInput"]["Name"] == "arcollect_dev_reports"


def test_a_runs_segments_are_a_json_table_whose_run_partition_the_query_injects(
    synthesized: Synthesized,
) -> None:
    (segments,) = [
        r["Properties"]["TableInput"]
        for r in resources(synthesized, "AWS::Glue::Table").values()
        if r["Properties"]["TableInput"]["Name"] == SEGMENTS_TABLE
    ]
    assert segments["PartitionKeys"] == [{"Name": "run", "Type": "string"}]
    assert segments["Parameters"]["projection.run.type"] == "injected"
    assert f"{SEGMENTS_PREFIX}run=${{run}}/" in str(segments["Parameters"]["storage.location.template"])
    assert "JsonSerDe" in segments["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"]


def test_the_reports_function_finds_its_workgroup_and_may_make_and_drop_only_its_lines_tables(
    synthesized: Synthesized,
) -> None:
    synthesized.template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Environment": {
                "Variables": Match.object_like(
                    {
                        "REPORTS_WORKGROUP": "arcollect-dev-reports",
                        "REPORTS_DATABASE": "arcollect_dev_reports",
                    }
                )
            }
        },
    )
    statements = [
        statement
        for policy in resources(synthesized, "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "glue:CreateTable" in statement["Action"]
    ]
    (ctas,) = statements
    assert {"glue:CreateTable", "glue:DeleteTable", "glue:BatchCreatePartition"} <= set(ctas["Action"])
    assert all(action.startswith("glue:") for action in ctas["Action"])
    assert f"arcollect_dev_reports/{LINES_TABLE_PREFIX}*" in str(ctas["Resource"])
    assert "arcollect_dev_reports/*" not in str(ctas["Resource"])


def test_the_workgroup_enforces_its_encrypted_results_and_a_scan_limit(synthesized: Synthesized) -> None:
    synthesized.template.has_resource_properties(
        "AWS::Athena::WorkGroup",
        {
            "WorkGroupConfiguration": {
                "EnforceWorkGroupConfiguration": True,
                "BytesScannedCutoffPerQuery": BYTES_SCANNED_CUTOFF,
                "ResultConfiguration": {
                    "EncryptionConfiguration": {"EncryptionOption": "SSE_S3"},
                    "OutputLocation": Match.any_value(),
                },
            }
        },
    )


def test_the_reports_function_may_export_the_table_and_query_its_workgroup_only(
    synthesized: Synthesized,
) -> None:
    statements = [
        statement
        for policy in resources(synthesized, "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    actions = {
        a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert {
        "dynamodb:ExportTableToPointInTime",
        "dynamodb:DescribeExport",
        "athena:StartQueryExecution",
    } <= actions
    athena = [s for s in statements if "athena:StartQueryExecution" in s["Action"]]
    assert len(athena) == 1 and "workgroup/arcollect-dev-reports" in str(athena[0]["Resource"])


def test_a_daily_schedule_sends_the_export_action_and_a_failed_export_alarms(
    synthesized: Synthesized,
) -> None:
    inputs = [
        r["Properties"]["Target"]["Input"]
        for r in resources(synthesized, "AWS::Scheduler::Schedule").values()
    ]
    assert any('"action":"export"' in str(text).replace(" ", "") for text in inputs)
    synthesized.template.has_resource_properties(
        "AWS::CloudWatch::Alarm", {"MetricName": EXPORTS_FAILED_METRIC, "Threshold": 1}
    )


def test_only_the_reports_function_carries_the_duckdb_layer(synthesized: Synthesized) -> None:
    stack = synthesized.stack
    reports_layer = stack.get_logical_id(stack.runtime.reports_layer.node.default_child)
    functions = resources(synthesized, "AWS::Lambda::Function")
    carrying = [
        logical_id
        for logical_id, function in functions.items()
        if {"Ref": reports_layer} in function["Properties"].get("Layers", [])
    ]
    assert carrying == [stack.get_logical_id(stack.reports.function.node.default_child)]


def test_the_reports_engine_context_reaches_the_reports_function_and_a_bad_one_is_refused(
    tmp_path: Path,
) -> None:
    from infra.config import ConfigError, StackConfig

    synthesized = synthesize(tmp_path, reportsEngine="duckdb")
    synthesized.template.has_resource_properties(
        "AWS::Lambda::Function",
        {"Environment": {"Variables": Match.object_like({"REPORTS_ENGINE": "duckdb"})}},
    )
    with pytest.raises(ConfigError, match="reportsEngine='spark': use one of auto, python, duckdb, athena"):
        StackConfig.from_mapping({"senderEmail": "ar@yourco.example", "reportsEngine": "spark"})


def test_the_reports_function_has_room_in_tmp_for_the_duckdb_engine(synthesized: Synthesized) -> None:
    stack = synthesized.stack
    reports = resources(synthesized, "AWS::Lambda::Function")[
        stack.get_logical_id(stack.reports.function.node.default_child)
    ]
    assert reports["Properties"]["EphemeralStorage"] == {"Size": 4096}
