"""The local stack cannot drift from the CDK stack: what it created is checked against the template."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from arcollect.contract import FunctionName, Output
from arcollect_cli.lambda_runtime import FUNCTIONS_DIR
from arcollect_cli.local.spec import LocalSpec
from tests.e2e.conftest import RunningStack
from tests.infra.conftest import Synthesized, synthesize


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("drift-cdk.out"))


@pytest.fixture(scope="module")
def local_aws(local_stack: RunningStack) -> Iterator[dict[str, Any]]:
    """boto3 clients pointed at the running local stack's emulator."""
    saved = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL",)}
    os.environ["AWS_ENDPOINT_URL"] = local_stack.outputs["Local"]["AwsEndpoint"]
    yield {name: boto3.client(name) for name in ("dynamodb", "s3", "sqs", "sesv2")}
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def resources(template: Synthesized, type_: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in template.template.find_resources(type_).values()]


def test_the_table_has_the_templates_keys_indexes_and_ttl(
    template: Synthesized, local_stack: RunningStack, local_aws: dict[str, Any]
) -> None:
    [cdk_table] = resources(template, "AWS::DynamoDB::Table")
    local = local_aws["dynamodb"].describe_table(TableName=local_stack.outputs[Output.TABLE_NAME])["Table"]
    assert local["KeySchema"] == cdk_table["KeySchema"]

    def indexes(defs: list[dict[str, Any]]) -> dict[str, Any]:
        return {i["IndexName"]: (i["KeySchema"], i["Projection"]["ProjectionType"]) for i in defs}

    assert indexes(local["GlobalSecondaryIndexes"]) == indexes(cdk_table["GlobalSecondaryIndexes"])
    attribute_types = {a["AttributeName"]: a["AttributeType"] for a in local["AttributeDefinitions"]}
    assert attribute_types == {
        a["AttributeName"]: a["AttributeType"] for a in cdk_table["AttributeDefinitions"]
    }
    ttl = local_aws["dynamodb"].describe_time_to_live(TableName=local["TableName"])["TimeToLiveDescription"]
    assert ttl["AttributeName"] == cdk_table["TimeToLiveSpecification"]["AttributeName"]
    assert local["BillingModeSummary"]["BillingMode"] == cdk_table["BillingMode"]


def test_buckets_versioning_and_the_notification_prefix_match(
    template: Synthesized, local_stack: RunningStack, local_aws: dict[str, Any]
) -> None:
    s3 = local_aws["s3"]
    cdk_buckets = resources(template, "AWS::S3::Bucket")
    local_buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert len(local_buckets) == len(cdk_buckets)
    versioned_in_cdk = sum(
        1 for b in cdk_buckets if b.get("VersioningConfiguration", {}).get("Status") == "Enabled"
    )
    versioned_locally = sum(
        1 for b in local_buckets if s3.get_bucket_versioning(Bucket=b).get("Status") == "Enabled"
    )
    assert versioned_locally == versioned_in_cdk
    [cdk_notifications] = resources(template, "Custom::S3BucketNotifications")
    cdk_queue_configs = cdk_notifications["NotificationConfiguration"]["QueueConfigurations"]
    local_queue_configs = s3.get_bucket_notification_configuration(
        Bucket=local_stack.outputs[Output.DROP_BUCKET]
    )["QueueConfigurations"]

    # ERP files under incoming/ and the replies SES writes under inbox/: same events, same prefixes
    def shape(config: dict[str, Any]) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
        rules = config["Filter"]["Key"]["FilterRules"]
        return tuple(config["Events"]), tuple((r["Name"].lower(), r["Value"]) for r in rules)

    assert sorted(map(shape, local_queue_configs)) == sorted(map(shape, cdk_queue_configs))
    assert len(cdk_queue_configs) == 2
    # and all into the one ingest queue
    for local_queue_config in local_queue_configs:
        assert local_queue_config["QueueArn"].endswith(
            local_stack.outputs[Output.INGEST_QUEUE_URL].rsplit("/", 1)[1]
        )


@pytest.mark.parametrize(
    ("function", "output"),
    [(FunctionName.INGEST, Output.INGEST_QUEUE_URL), (FunctionName.DUNNING, Output.DUNNING_QUEUE_URL)],
)
def test_each_work_queue_has_the_same_redrive_policy_and_feeds_the_same_function(
    template: Synthesized, local_stack: RunningStack, local_aws: dict[str, Any], function: str, output: str
) -> None:
    stack = template.stack
    construct = {FunctionName.INGEST: stack.ingest, FunctionName.DUNNING: stack.dunning}[function]
    queue_id = stack.get_logical_id(construct.queue.node.default_child)
    cdk_queues = template.template.find_resources("AWS::SQS::Queue")
    cdk_redrive = cdk_queues[queue_id]["Properties"]["RedrivePolicy"]
    [cdk_dlq_id, _] = cdk_redrive["deadLetterTargetArn"]["Fn::GetAtt"]
    # AWS: the queue is the event source of exactly this function, with partial batch failures.
    [mapping] = [
        m
        for m in resources(template, "AWS::Lambda::EventSourceMapping")
        if m["EventSourceArn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    ]
    assert mapping["FunctionName"] == {"Ref": stack.get_logical_id(construct.function.node.default_child)}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # Locally: the queue behind the output, its redrive to its own dead-letter queue, same receive count.
    sqs = local_aws["sqs"]
    queue_url = local_stack.outputs[output]
    spec = LocalSpec().event_source_queues[function]
    assert queue_url.rsplit("/", 1)[1] == spec.name
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    local_redrive = json.loads(attributes["RedrivePolicy"])
    assert local_redrive["maxReceiveCount"] == cdk_redrive["maxReceiveCount"]
    assert local_redrive["deadLetterTargetArn"].rsplit(":", 1)[1] == spec.dlq_name
    # The DLQ is not a queue that itself redrives (as on AWS).
    assert "RedrivePolicy" not in cdk_queues[cdk_dlq_id]["Properties"]
    dlq_url = sqs.get_queue_url(QueueName=spec.dlq_name)["QueueUrl"]
    assert (
        "RedrivePolicy"
        not in sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["All"])["Attributes"]
    )


def test_every_queue_of_the_stack_exists_locally(template: Synthesized, local_aws: dict[str, Any]) -> None:
    # The ingest and dunning work queues, their dead-letter queues, and the async DLQs of dunning and
    # reports (scheduled and EventBridge invocations).
    cdk_queues = resources(template, "AWS::SQS::Queue")
    local_queues = local_aws["sqs"].list_queues()["QueueUrls"]
    assert len(local_queues) == len(cdk_queues)
    work_queues = [q for q in cdk_queues if "RedrivePolicy" in q]
    assert len(work_queues) == len(LocalSpec().event_source_queues)
    async_dlqs = [
        f["Properties"]["DeadLetterConfig"]
        for f in template.template.find_resources("AWS::Lambda::Function").values()
        if "DeadLetterConfig" in f["Properties"]
    ]
    assert len(async_dlqs) == len(LocalSpec().dead_letter_queues)


def test_handlers_and_their_environment_variable_names_match(template: Synthesized) -> None:
    stack = template.stack
    built = {
        FunctionName.INGEST: stack.ingest.function,
        FunctionName.DUNNING: stack.dunning.function,
        FunctionName.PORTAL: stack.portal.function,
        FunctionName.REPORTS: stack.reports.function,
    }
    functions = template.template.find_resources("AWS::Lambda::Function")
    local_env = LocalSpec().environment(
        table="t", portal_url="u", link_secret_arn="a", ingest_queue_url="q", dunning_queue_url="d"
    )
    for name, function in built.items():
        props = functions[stack.get_logical_id(function.node.default_child)]["Properties"]
        module, _, attribute = props["Handler"].partition(".")
        handler_file = FUNCTIONS_DIR / name / f"{module}.py"
        assert handler_file.is_file()
        assert f"def {attribute}(" in handler_file.read_text()
        cdk_names = {v for v in props["Environment"]["Variables"] if not v.startswith("POWERTOOLS_")}
        assert set(local_env[name]) == cdk_names, name


def test_schedules_target_the_same_functions_with_the_same_expressions(template: Synthesized) -> None:
    stack = template.stack
    by_function_id = {
        stack.get_logical_id(stack.dunning.function.node.default_child): FunctionName.DUNNING,
        stack.get_logical_id(stack.reports.function.node.default_child): FunctionName.REPORTS,
    }
    # Every schedule, compared whole: the reports function has three (daily, weekly, monthly).
    cdk = sorted(
        (
            by_function_id[s["Target"]["Arn"]["Fn::GetAtt"][0]],
            s["ScheduleExpression"],
            json.loads(s["Target"]["Input"])["detail"].get("cadence") or "",
        )
        for s in resources(template, "AWS::Scheduler::Schedule")
    )
    assert cdk == sorted((s.function, s.expression, s.cadence or "") for s in LocalSpec().schedules)


def test_api_routes_match(template: Synthesized) -> None:
    methods = resources(template, "AWS::ApiGateway::Method")
    proxy_resources = {r["PathPart"] for r in resources(template, "AWS::ApiGateway::Resource")}
    cdk_routes = set()
    for method in methods:
        resource = method["ResourceId"]
        path = "/" if "Fn::GetAtt" in resource else "/" + next(iter(proxy_resources))
        cdk_routes.add((path, method["HttpMethod"]))
    assert cdk_routes == set(LocalSpec().api_routes)


def test_ses_sender_and_configuration_set_exist(local_stack: RunningStack, local_aws: dict[str, Any]) -> None:
    sesv2 = local_aws["sesv2"]
    assert sesv2.get_configuration_set(ConfigurationSetName=local_stack.outputs[Output.SES_CONFIGURATION_SET])
    identities = {i["IdentityName"] for i in sesv2.list_email_identities()["EmailIdentities"]}
    assert LocalSpec().sender_email in identities


def test_outputs_use_the_stacks_output_names(template: Synthesized, local_stack: RunningStack) -> None:
    cdk_outputs = set(template.template.find_outputs("*"))
    assert cdk_outputs <= set(local_stack.outputs)
