"""Data: the single DynamoDB table, the drop and reports buckets, and the bucket for their access logs."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from constructs import Construct

from arcollect.contract import DropPrefix, ReportPrefix, TableSchema


def _string(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


class DataStore(Construct):
    """Stateful resources: encrypted, versioned, retained when the stack is deleted."""

    def __init__(self, scope: Construct, id: str, *, retention_days: int) -> None:
        super().__init__(scope, id)
        # Records of collections activity (ERP files, the change feed, reports, dispute attachments)
        # expire after the stack's retention, as the table's activity items do by TTL.
        kept = Duration.days(retention_days)
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=_string(TableSchema.PARTITION_KEY),
            sort_key=_string(TableSchema.SORT_KEY),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=TableSchema.TTL_ATTRIBUTE,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        for index in TableSchema.INDEXES:
            self.table.add_global_secondary_index(
                index_name=index.name,
                partition_key=_string(index.hash_key),
                sort_key=_string(index.range_key),
                projection_type=dynamodb.ProjectionType.ALL,
            )

        self.access_logs_bucket = s3.Bucket(
            self,
            "AccessLogsBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[s3.LifecycleRule(id="expire-access-logs", expiration=Duration.days(365))],
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.drop_bucket = self._customer_data_bucket(
            "DropBucket",
            log_prefix="drop/",
            lifecycle_rules=[
                # Processed ERP files stay readable for audits; older ones move to cheaper storage.
                s3.LifecycleRule(
                    id="archive-incoming",
                    prefix=DropPrefix.INCOMING,
                    expiration=kept,
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                            transition_after=Duration.days(90),
                        ),
                        s3.Transition(
                            storage_class=s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
                            transition_after=Duration.days(365),
                        ),
                    ],
                ),
                s3.LifecycleRule(
                    id="expire-ingest-results", prefix=DropPrefix.RESULTS, expiration=Duration.days(400)
                ),
                s3.LifecycleRule(
                    id="expire-rejected-rows", prefix=DropPrefix.REJECTED, expiration=Duration.days(400)
                ),
                s3.LifecycleRule(id="expire-change-feed", prefix=DropPrefix.OUTGOING, expiration=kept),
                s3.LifecycleRule(
                    id="expire-dispute-attachments", prefix=DropPrefix.ATTACHMENTS, expiration=kept
                ),
                # An upload never confirmed (unchecked, perhaps not what it claims) is gone within a day;
                # where two rules overlap S3 applies the shorter expiration.
                s3.LifecycleRule(
                    id="expire-unchecked-uploads",
                    prefix=DropPrefix.PENDING_ATTACHMENTS,
                    expiration=Duration.days(1),
                    noncurrent_version_expiration=Duration.days(1),
                ),
                # The part results of a large file's chunks are merged within minutes; a week is ample.
                s3.LifecycleRule(
                    id="expire-ingest-work", prefix=DropPrefix.WORK, expiration=Duration.days(7)
                ),
                s3.LifecycleRule(
                    id="expire-old-versions",
                    noncurrent_version_expiration=Duration.days(90),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                ),
            ],
        )
        self.reports_bucket = self._customer_data_bucket(
            "ReportsBucket",
            log_prefix="reports/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="archive-dated-reports",
                    prefix=ReportPrefix.KPI,
                    expiration=kept,
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                            transition_after=Duration.days(90),
                        ),
                    ],
                ),
                s3.LifecycleRule(
                    id="expire-old-versions",
                    noncurrent_version_expiration=Duration.days(30),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                ),
            ],
        )

    def allow_uploads_from(self, origins: list[str]) -> None:
        """A customer's browser uploads a dispute attachment straight to a presigned POST (its policy,
        scoped to one key under attachments/pending/, one type and the declared size, minutes long, is
        the authorisation); the browser may do so from the portal's own origins only."""
        self.drop_bucket.add_cors_rule(
            allowed_methods=[s3.HttpMethods.POST],
            allowed_origins=origins,
            allowed_headers=["content-type"],
            max_age=600,
        )

    def _customer_data_bucket(
        self, id: str, *, log_prefix: str, lifecycle_rules: list[s3.LifecycleRule]
    ) -> s3.Bucket:
        return s3.Bucket(
            self,
            id,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            versioned=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            server_access_logs_bucket=self.access_logs_bucket,
            server_access_logs_prefix=log_prefix,
            lifecycle_rules=lifecycle_rules,
            removal_policy=RemovalPolicy.RETAIN,
        )
