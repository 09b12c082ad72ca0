"""The replies inbox in the stack: with an inbound domain, an SES receipt rule writes each message under
inbox/ in the drop bucket (SES allowed by the bucket's policy, for this account only); the bucket
notifies the ingest queue of inbox/ as of incoming/; both functions learn the domain. cdk-nag and
cfn-lint stay clean. Without the domain, no receipt rule and an empty INBOUND_DOMAIN."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match

from arcollect.contract import DropPrefix, EnvVar, Output
from infra.config import ConfigError
from tests.infra.conftest import Synthesized, synthesize


@pytest.fixture(scope="module")
def with_inbox(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(
        tmp_path_factory.mktemp("cdk.inbox"),
        inboundDomain="Replies.Example.com",
        senderDomain="example.com",
        senderEmail="collections@example.com",
    )


def _resources(synthesized: Synthesized, kind: str) -> dict[str, Any]:
    return dict(synthesized.template.find_resources(kind))


def test_a_receipt_rule_writes_the_domains_mail_under_inbox_in_the_drop_bucket(
    with_inbox: Synthesized,
) -> None:
    template = with_inbox.template
    template.resource_count_is("AWS::SES::ReceiptRuleSet", 1)
    [rule] = _resources(with_inbox, "AWS::SES::ReceiptRule").values()
    properties = rule["Properties"]["Rule"]
    assert properties["Recipients"] == ["replies.example.com"]
    assert properties["Enabled"] is True
    [action] = properties["Actions"]
    assert action["S3Action"]["ObjectKeyPrefix"] == DropPrefix.INBOX
    drop_bucket = next(
        name
        for name, r in _resources(with_inbox, "AWS::S3::Bucket").items()
        if name.startswith("DataDropBucket")
    )
    assert action["S3Action"]["BucketName"] == {"Ref": drop_bucket}


def test_ses_may_put_only_under_inbox_and_only_for_this_account(with_inbox: Synthesized) -> None:
    policies = _resources(with_inbox, "AWS::S3::BucketPolicy").values()
    statements = [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]
    [ses] = [s for s in statements if s.get("Principal", {}).get("Service") == "ses.amazonaws.com"]
    assert ses["Effect"] == "Allow"
    assert ses["Action"] == "s3:PutObject"
    assert DropPrefix.INBOX + "*" in json.dumps(ses["Resource"])
    assert "AWS::AccountId" in json.dumps(ses["Condition"])


def test_inbox_objects_reach_the_ingest_queue_like_incoming_files(with_inbox: Synthesized) -> None:
    [notifications] = _resources(with_inbox, "Custom::S3BucketNotifications").values()
    configs = notifications["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    prefixes = {c["Filter"]["Key"]["FilterRules"][0]["Value"]: json.dumps(c["QueueArn"]) for c in configs}
    assert set(prefixes) == {DropPrefix.INCOMING, DropPrefix.INBOX}
    assert prefixes[DropPrefix.INCOMING] == prefixes[DropPrefix.INBOX]  # one queue, one function


def test_the_functions_learn_the_domain_and_outputs_name_the_rule_set_and_records(
    with_inbox: Synthesized,
) -> None:
    functions = [
        f["Properties"]["Environment"]["Variables"]
        for f in _resources(with_inbox, "AWS::Lambda::Function").values()
        if EnvVar.INBOUND_DOMAIN in f["Properties"].get("Environment", {}).get("Variables", {})
    ]
    assert len(functions) == 2  # ingest threads by it, dunning writes it
    assert {f[EnvVar.INBOUND_DOMAIN] for f in functions} == {"replies.example.com"}
    outputs = with_inbox.template.to_json()["Outputs"]
    assert Output.INBOUND_RULE_SET in outputs
    assert "inbound-smtp." in json.dumps(outputs[Output.INBOUND_DNS_RECORDS])
    # Its own domain identity (the sender's is example.com): SES receives for verified domains only.
    with_inbox.template.has_resource_properties(
        "AWS::SES::EmailIdentity", {"EmailIdentity": "replies.example.com"}
    )


def test_cdk_nag_and_cfn_lint_are_clean_with_the_inbox(with_inbox: Synthesized) -> None:
    [report] = [
        r for r in with_inbox.validation_report()["pluginReports"] if r["pluginName"] == "AwsSolutions"
    ]
    assert report["violations"] == []
    assert with_inbox.cfn_lint_errors() == []


def test_without_an_inbound_domain_there_is_no_receipt_rule(synthesized: Synthesized) -> None:
    synthesized.template.resource_count_is("AWS::SES::ReceiptRuleSet", 0)
    synthesized.template.has_resource_properties(
        "AWS::Lambda::Function",
        {"Environment": {"Variables": Match.object_like({EnvVar.INBOUND_DOMAIN: ""})}},
    )


def test_an_inbound_domain_that_is_no_domain_fails_the_synth(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="inboundDomain"):
        synthesize(tmp_path, inboundDomain="not a domain")


def test_the_portal_reads_reply_attachments_for_the_360_and_writes_none(synthesized: Synthesized) -> None:
    function = synthesized.stack.portal.function
    role = synthesized.stack.get_logical_id(function.role.node.default_child)  # type: ignore[union-attr]
    statements = [
        s
        for p in _resources(synthesized, "AWS::IAM::Policy").values()
        if {"Ref": role} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    reads = [s for s in statements if any(str(a).startswith("s3:GetObject") for a in _actions(s))]
    writes = [s for s in statements if any(str(a).startswith("s3:PutObject") for a in _actions(s))]
    assert DropPrefix.REPLY_ATTACHMENTS + "*" in json.dumps(reads)
    assert DropPrefix.REPLY_ATTACHMENTS not in json.dumps(writes)
    assert DropPrefix.INBOX not in json.dumps(reads)  # the raw messages stay the ingest function's


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]
