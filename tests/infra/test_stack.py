"""The synthesized template: every resource of the design, secured and wired as the README says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match

from arcollect.changes import CHANGES_PREFIX, DAILY_PREFIX
from arcollect.contract import (
    FUNCTION_ENVIRONMENT,
    SCHEDULED_EVENT_SOURCE,
    DropPrefix,
    EnvVar,
    FunctionName,
    Output,
    ReportCadence,
    TableSchema,
)
from infra.config import DEFAULT_REPORTS_SCHEDULES, ConfigError
from infra.constructs.warehouse import EXPORT_SCHEDULE
from tests.infra.conftest import Synthesized, synthesize


def resources(synthesized: Synthesized, type_: str) -> dict[str, Any]:
    return dict(synthesized.template.find_resources(type_))


def test_the_table_is_on_demand_encrypted_recoverable_retained_with_ttl_and_the_indexes(
    synthesized: Synthesized,
) -> None:
    [(_, table)] = resources(synthesized, "AWS::DynamoDB::Table").items()
    props = table["Properties"]
    assert table["DeletionPolicy"] == "Retain"
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["TimeToLiveSpecification"] == {"AttributeName": TableSchema.TTL_ATTRIBUTE, "Enabled": True}
    assert props["DeletionProtectionEnabled"] is True
    assert {k["AttributeName"]: k["KeyType"] for k in props["KeySchema"]} == {"pk": "HASH", "sk": "RANGE"}
    indexes = {
        i["IndexName"]: {k["AttributeName"]: k["KeyType"] for k in i["KeySchema"]}
        for i in props["GlobalSecondaryIndexes"]
    }
    assert indexes == {
        index.name: {index.hash_key: "HASH", index.range_key: "RANGE"} for index in TableSchema.INDEXES
    }


def test_customer_data_buckets_are_versioned_encrypted_private_tls_only_logged_and_retained(
    synthesized: Synthesized,
) -> None:
    buckets = resources(synthesized, "AWS::S3::Bucket")
    assert len(buckets) == 4  # drop, reports, access logs, Athena's results (infra/constructs/warehouse.py)
    logs_bucket = synthesized.stack.get_logical_id(
        synthesized.stack.data.access_logs_bucket.node.default_child
    )
    for logical_id, bucket in buckets.items():
        props = bucket["Properties"]
        assert bucket["DeletionPolicy"] == "Retain"
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
            "ServerSideEncryptionByDefault"
        ]
        assert props["LifecycleConfiguration"]["Rules"]
        if logical_id != logs_bucket:
            assert props["VersioningConfiguration"] == {"Status": "Enabled"}
            assert props["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": logs_bucket}
    policies = resources(synthesized, "AWS::S3::BucketPolicy")
    tls_denials = [
        statement
        for policy in policies.values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Deny"
        and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert len(tls_denials) == 4


def test_drops_under_incoming_reach_the_ingest_function_through_a_queue_with_a_dlq(
    synthesized: Synthesized,
) -> None:
    template = synthesized.template
    stack = synthesized.stack
    queue_id = stack.get_logical_id(stack.ingest.queue.node.default_child)
    dlq_id = stack.get_logical_id(stack.ingest.dead_letter_queue.node.default_child)
    template.has_resource_properties(
        "Custom::S3BucketNotifications",
        {
            "NotificationConfiguration": {
                "QueueConfigurations": [
                    {
                        "Events": ["s3:ObjectCreated:*"],
                        "Filter": {
                            "Key": {"FilterRules": [{"Name": "prefix", "Value": DropPrefix.INCOMING}]}
                        },
                        "QueueArn": {"Fn::GetAtt": [queue_id, "Arn"]},
                    },
                    # The replies SES writes (docs/inbox.md) take the same queue to the same function.
                    {
                        "Events": ["s3:ObjectCreated:*"],
                        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": DropPrefix.INBOX}]}},
                        "QueueArn": {"Fn::GetAtt": [queue_id, "Arn"]},
                    },
                ]
            },
        },
    )
    template.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]}, "maxReceiveCount": 5},
            "SqsManagedSseEnabled": True,
            "VisibilityTimeout": 3600,
        },
    )
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "EventSourceArn": {"Fn::GetAtt": [queue_id, "Arn"]},
            "FunctionName": {"Ref": stack.get_logical_id(stack.ingest.function.node.default_child)},
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        },
    )


def _policy_statements(synthesized: Synthesized, function: Any) -> list[dict[str, Any]]:
    stack = synthesized.stack
    role_id = stack.get_logical_id(function.role.node.default_child)
    return [
        statement
        for policy in resources(synthesized, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_the_dunning_function_consumes_its_own_work_queue_with_a_dlq_sse_and_tls_only(
    synthesized: Synthesized,
) -> None:
    template = synthesized.template
    stack = synthesized.stack
    queue_id = stack.get_logical_id(stack.dunning.queue.node.default_child)
    dlq_id = stack.get_logical_id(stack.dunning.queue_dead_letter_queue.node.default_child)
    function_id = stack.get_logical_id(stack.dunning.function.node.default_child)
    queues = resources(synthesized, "AWS::SQS::Queue")
    function_timeout = resources(synthesized, "AWS::Lambda::Function")[function_id]["Properties"]["Timeout"]
    queue = queues[queue_id]["Properties"]
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
        "maxReceiveCount": 3,
    }
    assert queue["SqsManagedSseEnabled"] is True
    # AWS's guidance for an SQS event source: visibility at least six times the function timeout.
    assert queue["VisibilityTimeout"] >= 6 * function_timeout
    dlq = queues[dlq_id]["Properties"]
    assert dlq["SqsManagedSseEnabled"] is True
    assert dlq["MessageRetentionPeriod"] == 14 * 24 * 3600
    # Both queues deny anything that is not TLS.
    for logical_id in (queue_id, dlq_id):
        template.has_resource_properties(
            "AWS::SQS::QueuePolicy",
            {
                "Queues": [{"Ref": logical_id}],
                "PolicyDocument": {
                    "Statement": Match.array_with(
                        [
                            Match.object_like(
                                {
                                    "Effect": "Deny",
                                    "Action": "sqs:*",
                                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                                }
                            )
                        ]
                    )
                },
            },
        )
    # The async DLQ of scheduler and EventBridge invocations stays.
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "DeadLetterConfig": {
                "TargetArn": {
                    "Fn::GetAtt": [
                        stack.get_logical_id(stack.dunning.dead_letter_queue.node.default_child),
                        "Arn",
                    ]
                }
            },
            "Environment": Match.any_value(),
        },
    )
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "EventSourceArn": {"Fn::GetAtt": [queue_id, "Arn"]},
            "FunctionName": {"Ref": function_id},
            "BatchSize": 10,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "ScalingConfig": {"MaximumConcurrency": 5},
        },
    )
    variables = resources(synthesized, "AWS::Lambda::Function")[function_id]["Properties"]["Environment"][
        "Variables"
    ]
    assert variables[EnvVar.DUNNING_QUEUE_URL] == {"Ref": queue_id}
    assert variables[EnvVar.DROP_BUCKET] == {
        "Ref": stack.get_logical_id(stack.data.drop_bucket.node.default_child)
    }
    assert variables[EnvVar.SES_MAX_SEND_RATE] == "1"
    assert {v for v in variables if not v.startswith("POWERTOOLS_")} == set(
        FUNCTION_ENVIRONMENT[FunctionName.DUNNING]
    )
    outputs = template.find_outputs(Output.DUNNING_QUEUE_URL)
    assert outputs[Output.DUNNING_QUEUE_URL]["Value"] == {"Ref": queue_id}


def test_the_dunning_function_reads_only_the_policy_object_and_sends_to_its_queue(
    synthesized: Synthesized,
) -> None:
    stack = synthesized.stack
    drop_id = stack.get_logical_id(stack.data.drop_bucket.node.default_child)
    queue_id = stack.get_logical_id(stack.dunning.queue.node.default_child)
    change_objects = {"Fn::Join": ["", [{"Fn::GetAtt": [drop_id, "Arn"]}, f"/{CHANGES_PREFIX}*"]]}
    letters = {"Fn::Join": ["", [{"Fn::GetAtt": [drop_id, "Arn"]}, f"/{DropPrefix.LETTERS}*"]]}
    # Of the drop bucket it writes the change feed's objects and the letters only (checked apart below).
    statements = [
        s
        for s in _policy_statements(synthesized, stack.dunning.function)
        # (CDK merges the two prefixes' puts into one statement)
        if not all(r in (change_objects, letters) for r in _as_list(s["Resource"]))
    ]
    object_arn = {"Fn::Join": ["", [{"Fn::GetAtt": [drop_id, "Arn"]}, f"/{DropPrefix.DUNNING_POLICY}"]]}
    object_statements = [
        s for s in statements if any(a.startswith("s3:GetObject") for a in _as_list(s["Action"]))
    ]
    assert object_statements, "the function reads the uploaded policy"
    for statement in object_statements:
        for resource in _as_list(statement["Resource"]):
            # Object reads name the policy key (and the letters' manifests, read back by a retried
            # run); the bucket ARN itself holds no objects.
            assert resource in (object_arn, {"Fn::GetAtt": [drop_id, "Arn"]}, letters), resource
    drop_resources = [r for s in statements for r in _as_list(s["Resource"]) if drop_id in json.dumps(r)]
    assert object_arn in drop_resources
    assert all("/*" not in json.dumps(r) for r in drop_resources if r != letters), "never all the objects"
    assert not any(
        a.startswith(("s3:Put", "s3:Delete", "s3:Abort"))
        for s in statements
        if any(drop_id in json.dumps(r) for r in _as_list(s["Resource"]))
        for a in _as_list(s["Action"])
    )
    assert any(
        "sqs:SendMessage" in _as_list(s["Action"])
        and {"Fn::GetAtt": [queue_id, "Arn"]} in _as_list(s["Resource"])
        for s in statements
    )


def test_the_dunning_function_writes_and_reads_back_letters_only_under_outgoing_letters(
    synthesized: Synthesized,
) -> None:
    stack = synthesized.stack
    drop_id = stack.get_logical_id(stack.data.drop_bucket.node.default_child)
    letters = {"Fn::Join": ["", [{"Fn::GetAtt": [drop_id, "Arn"]}, f"/{DropPrefix.LETTERS}*"]]}
    actions = {
        action
        for s in _policy_statements(synthesized, stack.dunning.function)
        if letters in _as_list(s["Resource"])
        for action in _as_list(s["Action"])
    }
    # A letter's PDF and manifest are put; a retried run reads the manifest back (dunning/posting.py).
    assert "s3:PutObject" in actions and "s3:GetObject*" in actions
    assert not any(a.startswith("s3:Delete") for a in actions), "a letter handed over is never taken back"


def test_every_function_is_arm64_latest_python_traced_json_logged_with_both_layers(
    synthesized: Synthesized,
) -> None:
    functions = {
        logical_id: f
        for logical_id, f in resources(synthesized, "AWS::Lambda::Function").items()
        if f["Properties"].get("Handler") == "handler.lambda_handler"
    }
    assert len(functions) == 4
    for function in functions.values():
        props = function["Properties"]
        assert props["Architectures"] == ["arm64"]
        assert props["Runtime"] == "python3.14"
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert props["LoggingConfig"]["LogFormat"] == "JSON"
        # the dependencies and the shared package; the reports function also DuckDB's (test_warehouse.py)
        assert len(props["Layers"]) == (3 if "ReportsLayer" in json.dumps(props["Layers"]) else 2)
    assert len(resources(synthesized, "AWS::Lambda::LayerVersion")) == 3
    # Every function's log group has a retention (no never-expiring logs).
    for log_group in resources(synthesized, "AWS::Logs::LogGroup").values():
        assert log_group["Properties"]["RetentionInDays"] == 90


def test_function_environments_follow_the_contract(synthesized: Synthesized) -> None:
    stack = synthesized.stack
    built = {
        "ingest": stack.ingest.function,
        "dunning": stack.dunning.function,
        "portal": stack.portal.function,
        "reports": stack.reports.function,
    }
    functions = resources(synthesized, "AWS::Lambda::Function")
    for name, function in built.items():
        variables = functions[stack.get_logical_id(function.node.default_child)]["Properties"]["Environment"][
            "Variables"
        ]
        contract = set(FUNCTION_ENVIRONMENT[name])
        powertools = {v for v in variables if v.startswith("POWERTOOLS_")}
        assert set(variables) - powertools == contract, name
        # Traces never hold a response (the portal's Set-Cookie, CSRF tokens) or an error's text
        assert variables["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false", name
        assert variables["POWERTOOLS_TRACER_CAPTURE_ERROR"] == "false", name


def test_schedules_send_a_scheduled_event_with_retries_and_a_dlq(synthesized: Synthesized) -> None:
    schedules = resources(synthesized, "AWS::Scheduler::Schedule")
    expressions = sorted(s["Properties"]["ScheduleExpression"] for s in schedules.values())
    assert expressions == sorted(["rate(1 hour)", EXPORT_SCHEDULE, *DEFAULT_REPORTS_SCHEDULES.values()])
    for schedule in schedules.values():
        target = schedule["Properties"]["Target"]
        assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 3}
        assert "DeadLetterConfig" in target
        event = json.loads(target["Input"])
        assert event["source"] == SCHEDULED_EVENT_SOURCE
        assert event["time"] == "<aws.scheduler.scheduled-time>"
        assert event["id"] == "<aws.scheduler.execution-id>"


def test_the_reports_function_runs_daily_weekly_and_monthly_with_the_cadence_in_the_event(
    synthesized: Synthesized,
) -> None:
    stack = synthesized.stack
    function_id = stack.get_logical_id(stack.reports.function.node.default_child)
    dlq_arn = {
        "Fn::GetAtt": [stack.get_logical_id(stack.reports.dead_letter_queue.node.default_child), "Arn"]
    }
    by_cadence = {}
    for schedule in resources(synthesized, "AWS::Scheduler::Schedule").values():
        target = schedule["Properties"]["Target"]
        if target["Arn"] != {"Fn::GetAtt": [function_id, "Arn"]}:
            continue
        event = json.loads(target["Input"])
        assert target["DeadLetterConfig"] == {"Arn": dlq_arn}
        assert schedule["Properties"]["ScheduleExpressionTimezone"] == "UTC"
        if event["detail"] == {"action": "export"}:
            continue  # the table's daily export (tests/infra/test_warehouse.py)
        by_cadence[event["detail"]["cadence"]] = schedule["Properties"]["ScheduleExpression"]
    assert by_cadence == {
        ReportCadence.DAILY: "cron(0 5 * * ? *)",
        ReportCadence.WEEKLY: "cron(0 6 ? * MON *)",
        ReportCadence.MONTHLY: "cron(0 7 1 * ? *)",
    }
    # The dunning sweep's ticks carry no detail.
    dunning_id = stack.get_logical_id(stack.dunning.function.node.default_child)
    [dunning] = [
        s
        for s in resources(synthesized, "AWS::Scheduler::Schedule").values()
        if s["Properties"]["Target"]["Arn"] == {"Fn::GetAtt": [dunning_id, "Arn"]}
    ]
    assert json.loads(dunning["Properties"]["Target"]["Input"])["detail"] == {}


def test_the_reports_function_gets_the_drop_bucket_the_mail_settings_and_the_portal_url(
    synthesized: Synthesized,
) -> None:
    stack = synthesized.stack
    function_id = stack.get_logical_id(stack.reports.function.node.default_child)
    variables = resources(synthesized, "AWS::Lambda::Function")[function_id]["Properties"]["Environment"][
        "Variables"
    ]
    assert variables[EnvVar.DROP_BUCKET] == {
        "Ref": stack.get_logical_id(stack.data.drop_bucket.node.default_child)
    }
    assert variables[EnvVar.SENDER_EMAIL] == "collections@example.com"
    assert variables[EnvVar.SES_CONFIGURATION_SET] == {
        "Ref": stack.get_logical_id(stack.mail.configuration_set.node.default_child)
    }
    # The same URL the stack outputs (and the dunning function links to).
    assert (
        variables[EnvVar.PORTAL_BASE_URL]
        == synthesized.template.find_outputs(Output.PORTAL_URL)[Output.PORTAL_URL]["Value"]
    )


def test_the_reports_function_reads_the_policy_object_writes_reports_and_sends_email(
    synthesized: Synthesized,
) -> None:
    stack = synthesized.stack
    drop_id = stack.get_logical_id(stack.data.drop_bucket.node.default_child)
    reports_id = stack.get_logical_id(stack.data.reports_bucket.node.default_child)
    statements = _policy_statements(synthesized, stack.reports.function)

    def actions_on(bucket_id: str) -> set[str]:
        return {
            a
            for s in statements
            if any(bucket_id in json.dumps(r) for r in _as_list(s["Resource"]))
            for a in _as_list(s["Action"])
            if a.startswith("s3:")
        }

    policy_object = {"Fn::Join": ["", [{"Fn::GetAtt": [drop_id, "Arn"]}, f"/{DropPrefix.DUNNING_POLICY}"]]}
    daily_files = {"Fn::Join": ["", [{"Fn::GetAtt": [drop_id, "Arn"]}, f"/{DAILY_PREFIX}*"]]}
    drop_resources = [r for s in statements for r in _as_list(s["Resource"]) if drop_id in json.dumps(r)]
    assert policy_object in drop_resources
    assert all("/*" not in json.dumps(r) for r in drop_resources if r != daily_files), (
        "never the whole drop bucket's objects"
    )
    # Of the drop bucket it writes the change feed's daily files only, and never deletes.
    for statement in statements:
        writes = [a for a in _as_list(statement["Action"]) if a.startswith(("s3:Put", "s3:Abort"))]
        on_drop = [r for r in _as_list(statement["Resource"]) if drop_id in json.dumps(r)]
        assert not (writes and on_drop) or on_drop == [daily_files], statement
    assert not any(a.startswith("s3:Delete") for a in actions_on(drop_id))
    reports_actions = actions_on(reports_id)
    assert {"s3:GetObject*", "s3:PutObject"} <= reports_actions
    assert not any(a.startswith("s3:Delete") for a in reports_actions), "a rerun overwrites, never deletes"
    table_id = stack.get_logical_id(stack.data.table.node.default_child)
    table_writes = {
        a
        for s in statements
        if any(table_id in json.dumps(r) for r in _as_list(s["Resource"]))
        for a in _as_list(s["Action"])
        if a.startswith("dynamodb:")
        and not a.startswith(("dynamodb:Get", "dynamodb:Query", "dynamodb:Scan"))
        and not a.startswith(("dynamodb:BatchGet", "dynamodb:Describe", "dynamodb:ConditionCheck"))
    }
    # (an export reads the table's backup, not the table: it changes nothing)
    assert table_writes == {
        "dynamodb:PutItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:ExportTableToPointInTime",
    }, "the weekly summary's claim and the predictions' items, nothing else"
    sends = [s for s in statements if "ses:SendRawEmail" in _as_list(s["Action"])]
    assert sends, "the weekly summary goes out through SES"
    configuration_set = stack.get_logical_id(stack.mail.configuration_set.node.default_child)
    sender = stack.get_logical_id(stack.mail.sender_identity.node.default_child)
    send_resources = json.dumps([s["Resource"] for s in sends])
    assert configuration_set in send_resources and sender in send_resources
    assert "*" not in {r for s in sends for r in _as_list(s["Resource"]) if isinstance(r, str)}


def test_only_the_deciding_functions_write_change_feed_objects_and_only_there(
    synthesized: Synthesized,
) -> None:
    stack = synthesized.stack
    drop_id = stack.get_logical_id(stack.data.drop_bucket.node.default_child)
    change_objects = {"Fn::Join": ["", [{"Fn::GetAtt": [drop_id, "Arn"]}, f"/{CHANGES_PREFIX}*"]]}

    def puts_on_change_objects(function: Any) -> bool:
        return any(
            "s3:PutObject" in _as_list(s["Action"]) and change_objects in _as_list(s["Resource"])
            for s in _policy_statements(synthesized, function)
        )

    # The portal (customers' and collectors' decisions) and dunning (promises settled, bounces).
    assert puts_on_change_objects(stack.portal.function)
    assert puts_on_change_objects(stack.dunning.function)
    assert not puts_on_change_objects(stack.reports.function)
    assert not puts_on_change_objects(stack.ingest.function)


def test_ses_events_of_our_configuration_set_come_back_to_the_dunning_function(
    synthesized: Synthesized,
) -> None:
    template = synthesized.template
    stack = synthesized.stack
    template.resource_count_is("AWS::SES::EmailIdentity", 1)
    template.has_resource_properties("AWS::SES::EmailIdentity", {"EmailIdentity": "collections@example.com"})
    template.has_resource_properties(
        "AWS::SES::ConfigurationSetEventDestination",
        {
            "EventDestination": Match.object_like(
                {
                    "Enabled": True,
                    "MatchingEventTypes": Match.array_with(["bounce", "complaint", "delivery", "reject"]),
                    "EventBridgeDestination": Match.any_value(),
                }
            ),
        },
    )
    dunning_id = stack.get_logical_id(stack.dunning.function.node.default_child)
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": Match.object_like(
                {
                    "source": ["aws.ses"],
                    "detail-type": Match.array_with(
                        ["Email Bounced", "Email Complaint Received", "Email Delivered", "Email Rejected"]
                    ),
                }
            ),
            "Targets": [Match.object_like({"Arn": {"Fn::GetAtt": [dunning_id, "Arn"]}})],
        },
    )


def test_the_portal_api_is_logged_throttled_and_traced(synthesized: Synthesized) -> None:
    template = synthesized.template
    template.resource_count_is("AWS::ApiGateway::RestApi", 1)
    template.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "StageName": "live",
            "TracingEnabled": True,
            "AccessLogSetting": Match.object_like({"DestinationArn": Match.any_value()}),
            "MethodSettings": [
                Match.object_like(
                    {
                        "LoggingLevel": "ERROR",
                        "DataTraceEnabled": False,
                        "ThrottlingRateLimit": 50,
                        "ThrottlingBurstLimit": 100,
                    }
                )
            ],
        },
    )
    template.has_resource("AWS::SecretsManager::Secret", {"DeletionPolicy": "Retain"})


def test_a_deployment_that_asks_for_the_web_acl_gets_its_rate_limits_and_managed_rules(
    tmp_path: Path,
) -> None:
    # Given a deployment that puts the portal behind a web ACL (portalWaf=true; off by default)
    synthesized = synthesize(tmp_path, portalWaf="true")
    template = synthesized.template
    template.has_resource_properties(
        "AWS::WAFv2::WebACL",
        {
            "Scope": "REGIONAL",
            "Rules": Match.array_with(
                [
                    Match.object_like(
                        {
                            "Name": "RateLimitPerIp",
                            "Statement": {"RateBasedStatement": {"AggregateKeyType": "IP", "Limit": 1000}},
                        }
                    )
                ]
            ),
        },
    )
    # Staff sign-in posts have a limit of their own, far below the general one (cdk-nag COG8's reason)
    [acl] = resources(synthesized, "AWS::WAFv2::WebACL").values()
    [sign_in] = [r for r in acl["Properties"]["Rules"] if r["Name"] == "StaffSignInRateLimitPerIp"]
    rate = sign_in["Statement"]["RateBasedStatement"]
    assert rate["Limit"] == 100 and sign_in["Action"] == {"Block": {}}
    [path, method] = rate["ScopeDownStatement"]["AndStatement"]["Statements"]
    assert path["ByteMatchStatement"]["SearchString"] == "/staff/sign-in"
    assert method["ByteMatchStatement"]["SearchString"] == "POST"
    assert len({r["Priority"] for r in acl["Properties"]["Rules"]}) == len(acl["Properties"]["Rules"])
    template.resource_count_is("AWS::WAFv2::WebACLAssociation", 1)
    names = {r["Name"] for r in acl["Properties"]["Rules"]}
    assert {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"} <= names
    # And cdk-nag has nothing to acknowledge about the stage, and cfn-lint finds no error
    assert "APIG3" not in json.dumps(synthesized.validation_report())
    assert synthesized.cfn_lint_errors() == []


def test_monitoring_alarms_cover_errors_dead_letters_ses_reputation_and_refused_reminders(
    synthesized: Synthesized,
) -> None:
    alarms = resources(synthesized, "AWS::CloudWatch::Alarm").values()
    metrics = sorted(a["Properties"]["MetricName"] for a in alarms)
    assert metrics.count("Errors") == 4
    # The ingest queue's DLQ, the dunning work queue's DLQ, and the dunning and reports async DLQs.
    assert metrics.count("ApproximateNumberOfMessagesVisible") == 4
    assert "Reputation.BounceRate" in metrics and "Reputation.ComplaintRate" in metrics
    # A reminder SES refused for good pages ops: the dunning function's own metric, one is enough
    [refused] = [a["Properties"] for a in alarms if a["Properties"]["MetricName"] == "RemindersRefused"]
    assert refused["Namespace"] == "arcollect" and refused["Threshold"] == 1
    assert refused["Dimensions"] == [{"Name": "service", "Value": "arcollect-dunning"}]
    for alarm in alarms:
        assert alarm["Properties"]["AlarmActions"], "every alarm notifies the alarm topic"
    synthesized.template.resource_count_is("AWS::CloudWatch::Dashboard", 1)
    synthesized.template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})


def test_outputs_have_the_stable_names_the_cli_reads(synthesized: Synthesized) -> None:
    outputs = synthesized.template.find_outputs("*")
    expected = {value for name, value in vars(Output).items() if name.isupper()}
    # Only a stack with a sender domain has DNS records to publish (its own test checks the output)
    # and only one with an inbound domain a receipt rule set (tests/infra/test_inbox.py), only one with
    # an SMS origination identity a replies topic (tests/infra/test_sms.py)
    conditional = {
        Output.SENDER_DNS_RECORDS,
        Output.INBOUND_RULE_SET,
        Output.INBOUND_DNS_RECORDS,
        Output.SMS_REPLIES_TOPIC,
    }
    assert expected - conditional <= set(outputs)
    assert not conditional & set(outputs)


def test_no_physical_names_are_hard_coded(synthesized: Synthesized) -> None:
    named = {
        "AWS::DynamoDB::Table": "TableName",
        "AWS::S3::Bucket": "BucketName",
        "AWS::SQS::Queue": "QueueName",
        "AWS::Lambda::Function": "FunctionName",
    }
    for type_, name_property in named.items():
        for resource in resources(synthesized, type_).values():
            assert name_property not in resource["Properties"], type_


def test_by_default_there_is_no_web_acl_and_the_stage_is_acknowledged_for_a_true_reason(
    synthesized: Synthesized,
) -> None:
    # The default deployment has the smaller bill: no web ACL (its $8 a month is most of it)
    synthesized.template.resource_count_is("AWS::WAFv2::WebACL", 0)
    synthesized.template.resource_count_is("AWS::WAFv2::WebACLAssociation", 0)
    # cdk-nag passed with the stage's finding acknowledged, naming what limits requests instead
    [apig3] = [
        v
        for r in synthesized.validation_report()["pluginReports"]
        for v in r["suppressedViolations"]
        if v["ruleName"] == "AwsSolutions-APIG3"
    ]
    assert "staff sign-in posts per client IP" in apig3["reason"]


def test_a_malformed_waf_switch_is_refused_with_the_key_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="portalWaf='maybe'"):
        synthesize(tmp_path, portalWaf="maybe")


def _object_prefixes(statement: dict[str, Any]) -> set[str]:
    """The object key patterns a statement names (``<bucket arn>/<pattern>``), as written."""
    found = set()
    for resource in _as_list(statement["Resource"]):
        parts = resource.get("Fn::Join", [None, []])[1] if isinstance(resource, dict) else [resource]
        tail = parts[-1] if parts else ""
        if isinstance(tail, str) and tail.startswith("/"):
            found.add(tail[1:])
    return found


def test_the_ingest_function_reads_and_writes_only_its_own_prefixes_of_the_drop_bucket(
    synthesized: Synthesized,
) -> None:
    statements = _policy_statements(synthesized, synthesized.stack.ingest.function)
    writes = [s for s in statements if any(str(a).startswith("s3:PutObject") for a in _as_list(s["Action"]))]
    reads = [s for s in statements if any(str(a).startswith("s3:GetObject") for a in _as_list(s["Action"]))]
    written = set().union(*(_object_prefixes(s) for s in writes))
    read = set().union(*(_object_prefixes(s) for s in reads))
    # Never the dunning policy (config/dunning-policy.yaml), the change feed or any key at large
    # (and the replies SES received, with their attachments: docs/inbox.md)
    assert written == {"results/*", "rejected/*", "work/*", "attachments/replies/*"}
    assert read == {"incoming/*", "config/mappings/*", "work/*", "inbox/*"}


def test_records_of_collections_activity_are_kept_for_the_retention_and_no_longer(
    synthesized: Synthesized,
) -> None:
    kept = 7 * 366
    # Every function stamps its records' TTL with it
    for function in resources(synthesized, "AWS::Lambda::Function").values():
        variables = function["Properties"].get("Environment", {}).get("Variables", {})
        if "POWERTOOLS_SERVICE_NAME" in variables:
            assert variables["RETENTION_DAYS"] == str(kept)
    # And the buckets expire ERP files, the change feed, dispute attachments and dated reports with it
    rules = {
        rule["Id"]: rule
        for bucket in resources(synthesized, "AWS::S3::Bucket").values()
        for rule in bucket["Properties"].get("LifecycleConfiguration", {}).get("Rules", [])
    }
    for rule_id in (
        "archive-incoming",
        "expire-change-feed",
        "expire-dispute-attachments",
        "archive-dated-reports",
    ):
        assert rules[rule_id]["ExpirationInDays"] == kept, rule_id
    synthesized.template.has_resource_properties(
        "AWS::DynamoDB::Table", {"TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True}}
    )


def test_unchecked_dispute_uploads_expire_within_a_day(synthesized: Synthesized) -> None:
    rules = {
        rule["Id"]: rule
        for bucket in resources(synthesized, "AWS::S3::Bucket").values()
        for rule in bucket["Properties"].get("LifecycleConfiguration", {}).get("Rules", [])
    }
    pending = rules["expire-unchecked-uploads"]
    assert pending["Prefix"] == "attachments/pending/" and pending["Status"] == "Enabled"
    assert pending["ExpirationInDays"] == 1 and pending["NoncurrentVersionExpiration"]["NoncurrentDays"] == 1
    # Checked attachments (attachments/disputes/) follow the records' retention
    assert rules["expire-dispute-attachments"]["Prefix"] == "attachments/"


def test_the_portal_writes_and_deletes_dispute_uploads_only_where_they_belong(
    synthesized: Synthesized,
) -> None:
    statements = _policy_statements(synthesized, synthesized.stack.portal.function)

    def prefixes(action: str) -> set[str]:
        chosen = [s for s in statements if any(str(a).startswith(action) for a in _as_list(s["Action"]))]
        return set().union(*(_object_prefixes(s) for s in chosen))

    # Presigning the upload and moving a checked file (put); checking (read) and deleting uploads
    assert {"attachments/pending/*", "attachments/disputes/*"} <= prefixes("s3:PutObject")
    assert "attachments/*" not in prefixes("s3:PutObject")
    assert "attachments/pending/*" in prefixes("s3:GetObject")
    assert not {p for p in prefixes("s3:GetObject") if p.startswith("attachments/disputes")}
    assert prefixes("s3:DeleteObject") == {"attachments/pending/*"}


def test_a_retention_outside_1_to_30_years_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="retentionYears='0'"):
        synthesize(tmp_path, retentionYears="0")


def test_a_sender_domain_signs_with_dkim_sends_from_its_mail_from_domain_and_lists_its_dns(
    tmp_path: Path,
) -> None:
    synthesized = synthesize(tmp_path, senderEmail="ar@yourco.example", senderDomain="yourco.example")
    synthesized.template.has_resource_properties(
        "AWS::SES::EmailIdentity",
        {
            "EmailIdentity": "yourco.example",
            "MailFromAttributes": {
                "MailFromDomain": "bounce.yourco.example",
                "BehaviorOnMxFailure": "USE_DEFAULT_VALUE",
            },
        },
    )
    outputs = synthesized.template.find_outputs("SenderDnsRecords")
    assert outputs, "the DNS records to publish are a stack output"
    rendered = json.dumps(outputs)
    for expected in ("CNAME", "feedback-smtp", "v=spf1 include:amazonses.com ~all", "_dmarc.yourco.example"):
        assert expected in rendered


def test_a_sender_domain_must_be_the_sender_addresses(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not an address of it"):
        synthesize(tmp_path, senderEmail="ar@gmail.com", senderDomain="yourco.example")


def test_dispute_uploads_are_allowed_from_the_portals_origin_only(synthesized: Synthesized) -> None:
    cors = [
        rule
        for bucket in resources(synthesized, "AWS::S3::Bucket").values()
        for rule in bucket["Properties"].get("CorsConfiguration", {}).get("CorsRules", [])
    ]
    [rule] = cors
    assert rule["AllowedMethods"] == ["POST"]  # the presigned POST, bounded by its policy
    origins = json.dumps(rule["AllowedOrigins"])
    assert "*" not in origins and "execute-api" in origins


def test_a_custom_domain_is_an_upload_origin_too(tmp_path: Path) -> None:
    synthesized = synthesize(
        tmp_path,
        portalDomain="pay.yourco.example",
        portalCertificateArn="arn:aws:acm:us-east-1:123456789012:certificate/abc",
    )
    [rule] = [
        rule
        for bucket in resources(synthesized, "AWS::S3::Bucket").values()
        for rule in bucket["Properties"].get("CorsConfiguration", {}).get("CorsRules", [])
    ]
    assert "https://pay.yourco.example" in rule["AllowedOrigins"]


def test_only_the_portal_writes_agency_hand_offs_and_only_there(synthesized: Synthesized) -> None:
    from arcollect.credit_control import AGENCY_PREFIX

    stack = synthesized.stack
    drop_id = stack.get_logical_id(stack.data.drop_bucket.node.default_child)
    hand_offs = {"Fn::Join": ["", [{"Fn::GetAtt": [drop_id, "Arn"]}, f"/{AGENCY_PREFIX}*"]]}

    def puts_hand_offs(function: Any) -> bool:
        return any(
            "s3:PutObject" in _as_list(s["Action"]) and hand_offs in _as_list(s["Resource"])
            for s in _policy_statements(synthesized, function)
        )

    # The staff console (in the portal function) places invoices with an agency; nothing else does.
    assert puts_hand_offs(stack.portal.function)
    assert not any(
        puts_hand_offs(f) for f in (stack.dunning.function, stack.reports.function, stack.ingest.function)
    )
