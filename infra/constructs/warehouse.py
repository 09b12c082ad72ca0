"""The reports past one machine (docs/reports.md, "Engines"): the table's daily export to the reports
bucket and its compaction into Parquet (the reports function, ``{"action": "export"}``), the Glue tables
over that Parquet with partition projection, and the Athena workgroup that queries them with its own
encrypted results bucket and a per-query scan limit.

Partition projection: Athena computes a query's month partitions from the table's properties instead of
listing them in the Glue catalog, so a new month needs no crawler and no ``MSCK REPAIR``; the range starts
in 2000 and ends at ``NOW``. The scan limit (``BYTES_SCANNED_CUTOFF``) cancels a query that would read more
than 1 GB: a report's queries read about 0.3 GB per million documents (``make bench``).
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnResource, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_athena as athena
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from arcollect.reports.exports import EXPORT_SCHEDULE, EXPORTS_PREFIX, TABLES_PREFIX
from arcollect.reports.warehouse.athena import LINES_TABLE_PREFIX, SEGMENTS_PREFIX, SEGMENTS_TABLE
from arcollect.reports.warehouse.compaction import TABLES
from infra.constructs.data import DataStore
from infra.constructs.schedule import ScheduledTick

# Athena's per-query data usage control: at least 10 MB (the Athena user guide, "Workgroup data usage
# controls"); 1 GB is the issue's budget for a whole report.
BYTES_SCANNED_CUTOFF = 1_000_000_000
# DuckDB's column types as Glue (Hive) names them.
GLUE_TYPES = {
    "VARCHAR": "string",
    "BIGINT": "bigint",
    "INTEGER": "int",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "DECIMAL(38, 6)": "decimal(38,6)",
}

# The tables' file formats: input format, output format, serde.
PARQUET = (
    "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
)
JSON_LINES = (
    "org.apache.hadoop.mapred.TextInputFormat",
    "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
    "org.openx.data.jsonserde.JsonSerDe",
)


def glue_name(environment_name: str) -> str:
    """The Glue database of an environment (Glue names: lower case, digits and underscores)."""
    return f"arcollect_{environment_name.replace('-', '_')}_reports"


def workgroup_name(environment_name: str) -> str:
    """The reports' Athena workgroup of an environment."""
    return f"arcollect-{environment_name}-reports"


class Warehouse(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        data: DataStore,
        function: lambda_.IFunction,
        environment_name: str,
        dead_letter_queue: sqs.IQueue,
        schedule_time_zone: str,
    ) -> None:
        super().__init__(scope, id)
        stack = Stack.of(self)
        bucket = data.reports_bucket
        self.database_name = glue_name(environment_name)
        self.database = glue.CfnDatabase(
            self,
            "Database",
            catalog_id=stack.account,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=self.database_name,
                description="arcollect's reports as Parquet (the table's exports, compacted)",
            ),
        )
        self.tables: dict[str, glue.CfnTable] = {}
        for name, (columns, partition) in TABLES.items():
            location = f"s3://{bucket.bucket_name}/{TABLES_PREFIX}{name}/"
            parameters = {"classification": "parquet", "EXTERNAL": "TRUE"}
            if partition:
                parameters.update(
                    {
                        "projection.enabled": "true",
                        f"projection.{partition}.type": "date",
                        f"projection.{partition}.format": "yyyy-MM",
                        f"projection.{partition}.range": "2000-01,NOW",
                        f"projection.{partition}.interval": "1",
                        f"projection.{partition}.interval.unit": "MONTHS",
                        "storage.location.template": f"{location}{partition}=${{{partition}}}/",
                    }
                )
            self.tables[name] = self._table(
                stack,
                f"{name.title()}Table",
                name=name,
                location=location,
                parameters=parameters,
                partition=partition,
                columns={column: GLUE_TYPES[kind] for column, kind in columns.items() if column != partition},
                formats=PARQUET,
            )
        self.tables[SEGMENTS_TABLE] = self._segments_table(stack, bucket.bucket_name)
        # Athena's results: encrypted, private, TLS only, logged, versioned like every bucket of the
        # stack, kept a month (a report reads them once).
        self.results_bucket = s3.Bucket(
            self,
            "ResultsBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            server_access_logs_bucket=data.access_logs_bucket,
            server_access_logs_prefix="athena-results/",
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-query-results",
                    expiration=Duration.days(30),
                    noncurrent_version_expiration=Duration.days(1),
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.workgroup_name = workgroup_name(environment_name)
        self.workgroup = athena.CfnWorkGroup(
            self,
            "WorkGroup",
            name=self.workgroup_name,
            description="arcollect's KPI reports over the exported Parquet",
            state="ENABLED",
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                # Queries cannot choose another result location or turn encryption off.
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=BYTES_SCANNED_CUTOFF,
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=f"s3://{self.results_bucket.bucket_name}/results/",
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_S3"
                    ),
                ),
            ),
        )
        self._grant_queries(function, stack)
        self._grant_exports(function, data)
        self._acknowledge(function, data)
        self.export_tick = ScheduledTick(
            self,
            "ExportTick",
            function=function,
            expression=EXPORT_SCHEDULE,
            time_zone=schedule_time_zone,
            description="arcollect table export to the reports' Parquet (daily, incremental)",
            dead_letter_queue=dead_letter_queue,
            detail={"action": "export"},
        )

    def _segments_table(self, stack: Stack, bucket_name: str) -> glue.CfnTable:
        """Each report run's customer segments (JSON lines, written by the run), one folder per run:
        the ``run`` partition is injected by the query (``WHERE run = '<id>'``), so no partition is ever
        added or listed."""
        location = f"s3://{bucket_name}/{SEGMENTS_PREFIX}"
        return self._table(
            stack,
            "SegmentsTable",
            name=SEGMENTS_TABLE,
            location=location,
            parameters={
                "classification": "json",
                "EXTERNAL": "TRUE",
                "projection.enabled": "true",
                "projection.run.type": "injected",
                "storage.location.template": f"{location}run=${{run}}/",
            },
            partition="run",
            columns={"customer_id": "string", "segment": "string"},
            formats=JSON_LINES,
        )

    def _table(
        self,
        stack: Stack,
        id: str,
        *,
        name: str,
        location: str,
        parameters: dict[str, str],
        partition: str | None,
        columns: dict[str, str],
        formats: tuple[str, str, str],
    ) -> glue.CfnTable:
        """One external table of the database: its files' formats (input, output, serde), columns in
        Glue's types, and its partition column (a string), if any."""
        input_format, output_format, serde = formats
        table = glue.CfnTable(
            self,
            id,
            catalog_id=stack.account,
            database_name=self.database_name,
            table_input=glue.CfnTable.TableInputProperty(
                name=name,
                table_type="EXTERNAL_TABLE",
                parameters=parameters,
                partition_keys=[glue.CfnTable.ColumnProperty(name=partition, type="string")]
                if partition
                else [],
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    location=location,
                    input_format=input_format,
                    output_format=output_format,
                    serde_info=glue.CfnTable.SerdeInfoProperty(serialization_library=serde),
                    columns=[glue.CfnTable.ColumnProperty(name=c, type=kind) for c, kind in columns.items()],
                ),
            ),
        )
        table.add_dependency(self.database)
        return table

    def _grant_queries(self, function: lambda_.IFunction, stack: Stack) -> None:
        """The reports function runs queries in its workgroup over its database's tables, nothing else."""
        workgroup_arn = stack.format_arn(
            service="athena", resource="workgroup", resource_name=self.workgroup_name
        )
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=[
                    "athena:StartQueryExecution",
                    "athena:GetQueryExecution",
                    "athena:GetQueryResults",
                    "athena:StopQueryExecution",
                ],
                resources=[workgroup_arn],
            )
        )
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartitions"],
                resources=[
                    stack.format_arn(service="glue", resource="catalog"),
                    stack.format_arn(service="glue", resource="database", resource_name=self.database_name),
                    stack.format_arn(
                        service="glue", resource="table", resource_name=f"{self.database_name}/*"
                    ),
                ],
            )
        )
        # A run's lines table (a CTAS) is made and dropped by the run: those names only. It is partitioned
        # (by state), so the CTAS registers its partitions and the drop removes them with the table's
        # catalog entry; its files expire with the results.
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=[
                    "glue:CreateTable",
                    "glue:DeleteTable",
                    "glue:BatchCreatePartition",
                    "glue:CreatePartition",
                    "glue:BatchDeletePartition",
                    "glue:DeletePartition",
                ],
                resources=[
                    stack.format_arn(service="glue", resource="catalog"),
                    stack.format_arn(service="glue", resource="database", resource_name=self.database_name),
                    stack.format_arn(
                        service="glue",
                        resource="table",
                        resource_name=f"{self.database_name}/{LINES_TABLE_PREFIX}*",
                    ),
                ],
            )
        )
        # Athena writes the results with the caller's permissions; the runner reads them. Never deletes:
        # the results expire by the bucket's lifecycle.
        self.results_bucket.grant_read(function)
        self.results_bucket.grant_put(function)

    @staticmethod
    def _grant_exports(function: lambda_.IFunction, data: DataStore) -> None:
        """The reports function exports the table (DynamoDB writes the files with the caller's S3
        permissions: the DynamoDB developer guide, "Requesting a table export"); its compaction
        overwrites the Parquet (grant_put on the reports bucket, in reports.py), never deletes."""
        table_arn = data.table.table_arn
        function.add_to_role_policy(
            iam.PolicyStatement(actions=["dynamodb:ExportTableToPointInTime"], resources=[table_arn])
        )
        function.add_to_role_policy(
            iam.PolicyStatement(actions=["dynamodb:DescribeExport"], resources=[f"{table_arn}/export/*"])
        )
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:AbortMultipartUpload", "s3:PutObject", "s3:PutObjectAcl"],
                resources=[data.reports_bucket.arn_for_objects(f"{EXPORTS_PREFIX}*")],
            )
        )

    def _acknowledge(self, function: lambda_.IFunction, data: DataStore) -> None:
        """cdk-nag's findings on these grants, each acknowledged with its reason (infra/nag.py's way)."""
        role = function.role
        assert isinstance(role, iam.Role)
        policy = role.node.find_child("DefaultPolicy")

        def arn(construct: Construct) -> str:
            child = construct.node.default_child
            assert isinstance(child, CfnResource)
            return f"<{Stack.of(construct).get_logical_id(child)}.Arn>"

        def ack(rule: str, reason: str) -> None:
            Validations.of(policy).acknowledge(
                Acknowledgment(id=f"AwsSolutions::AwsSolutions-{rule}", reason=reason)
            )

        glue_tables = f"arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:table/{self.database_name}/*"
        ack(f"IAM5[Resource::{glue_tables}]", "Athena reads the tables of the reports' own Glue database")
        ack(
            f"IAM5[Resource::{glue_tables[:-1]}{LINES_TABLE_PREFIX}*]",
            "Each report run on Athena makes and drops its own lines table, named by the run's id",
        )
        ack(
            f"IAM5[Resource::{arn(self.results_bucket)}/*]",
            "Athena writes each query's results under a key it names at run time; the runner reads them",
        )
        ack(f"IAM5[Resource::{arn(data.table)}/export/*]", "Each export of the table has its own ARN")
        ack(
            f"IAM5[Resource::{arn(data.reports_bucket)}/{EXPORTS_PREFIX}*]",
            "DynamoDB writes each export's files under exports/<export name>/ with the caller's permissions",
        )
