"""Reminder texts in the stack: with an SMS origination identity, the dunning function learns it (and
its configuration set and opt-out list), may send from it and put numbers on its list and nothing else
of the service, and is subscribed to an encrypted, TLS-only topic the service may publish replies to;
cdk-nag and cfn-lint stay clean. Without it, empty settings and no topic."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match

from arcollect.contract import EnvVar, Output
from infra.config import ConfigError
from tests.infra.conftest import Synthesized, synthesize

IDENTITY = "arn:aws:sms-voice:eu-central-1:123456789012:phone-number/phone-0a1b2c3d4e5f"


@pytest.fixture(scope="module")
def with_sms(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(
        tmp_path_factory.mktemp("cdk.sms"),
        smsOriginationIdentity=IDENTITY,
        smsConfigurationSet="arcollect-texts",
        smsOptOutList="arcollect-opt-outs",
    )


def _resources(synthesized: Synthesized, kind: str) -> dict[str, Any]:
    return dict(synthesized.template.find_resources(kind))


def _dunning_variables(synthesized: Synthesized) -> dict[str, Any]:
    stack = synthesized.stack
    function = _resources(synthesized, "AWS::Lambda::Function")[
        stack.get_logical_id(stack.dunning.function.node.default_child)
    ]
    return dict(function["Properties"]["Environment"]["Variables"])


def test_the_dunning_function_learns_the_identity_set_and_list(with_sms: Synthesized) -> None:
    variables = _dunning_variables(with_sms)
    assert variables[EnvVar.SMS_ORIGINATION_IDENTITY] == IDENTITY
    assert variables[EnvVar.SMS_CONFIGURATION_SET] == "arcollect-texts"
    assert variables[EnvVar.SMS_OPT_OUT_LIST] == "arcollect-opt-outs"


def test_the_function_may_send_from_the_identity_and_opt_out_on_its_list_only(with_sms: Synthesized) -> None:
    statements = [
        s
        for p in _resources(with_sms, "AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if "sms-voice" in json.dumps(s.get("Action"))
    ]
    by_action = {
        action: s
        for s in statements
        for action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert set(by_action) == {
        "sms-voice:SendTextMessage",
        "sms-voice:PutOptedOutNumber",
        "sms-voice:DeleteOptedOutNumber",  # a START reply takes the number off the list
    }
    sending = json.dumps(by_action["sms-voice:SendTextMessage"]["Resource"])
    assert IDENTITY in sending and "configuration-set/arcollect-texts" in sending and "*" not in sending
    for action in ("sms-voice:PutOptedOutNumber", "sms-voice:DeleteOptedOutNumber"):
        opting = json.dumps(by_action[action]["Resource"])
        assert "opt-out-list/arcollect-opt-outs" in opting and "*" not in opting


def test_replies_come_on_an_encrypted_topic_the_service_publishes_to_and_the_function_reads(
    with_sms: Synthesized,
) -> None:
    stack = with_sms.stack
    assert stack.dunning.texts is not None
    topic_id = stack.get_logical_id(stack.dunning.texts.replies_topic.node.default_child)
    assert "KmsMasterKeyId" in _resources(with_sms, "AWS::SNS::Topic")[topic_id]["Properties"]
    function_id = stack.get_logical_id(stack.dunning.function.node.default_child)
    with_sms.template.has_resource_properties(
        "AWS::SNS::Subscription",
        {
            "Protocol": "lambda",
            "TopicArn": {"Ref": topic_id},
            "Endpoint": {"Fn::GetAtt": [function_id, "Arn"]},
            "RedrivePolicy": Match.any_value(),
        },
    )
    policies = _resources(with_sms, "AWS::SNS::TopicPolicy").values()
    statements = [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]
    publishers = [
        s
        for s in statements
        if isinstance(s.get("Principal"), dict) and s["Principal"].get("Service") == "sms-voice.amazonaws.com"
    ]
    assert publishers and all(s["Action"] == "sns:Publish" and s["Effect"] == "Allow" for s in publishers)
    # TLS only (enforce_ssl): a statement denies any request without it
    assert any(s["Effect"] == "Deny" and "aws:SecureTransport" in json.dumps(s) for s in statements)
    assert Output.SMS_REPLIES_TOPIC in with_sms.template.to_json()["Outputs"]


def test_the_final_delivery_receipts_of_this_environments_texts_reach_the_function(
    with_sms: Synthesized,
) -> None:
    rules = [
        r["Properties"]
        for r in _resources(with_sms, "AWS::Events::Rule").values()
        if r["Properties"].get("EventPattern", {}).get("source") == ["aws.sms-voice"]
    ]
    (rule,) = rules
    pattern = rule["EventPattern"]
    assert pattern["detail-type"] == ["Text Message Delivery Status Updated"]
    assert pattern["detail"]["context"] == {"arcollect": ["dev"]}  # the Context each text carries
    kinds = set(pattern["detail"]["eventType"])
    assert {"TEXT_DELIVERED", "TEXT_INVALID", "TEXT_UNREACHABLE"} <= kinds
    assert not kinds & {"TEXT_QUEUED", "TEXT_PENDING"}  # not final: nothing to do yet
    stack = with_sms.stack
    function_id = stack.get_logical_id(stack.dunning.function.node.default_child)
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert target["DeadLetterConfig"] and target["RetryPolicy"]["MaximumRetryAttempts"] == 3


def test_cdk_nag_and_cfn_lint_are_clean_with_sms(with_sms: Synthesized) -> None:
    [report] = [r for r in with_sms.validation_report()["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    assert report["violations"] == []
    assert with_sms.cfn_lint_errors() == []


def test_without_an_identity_the_function_sends_no_text(synthesized: Synthesized) -> None:
    variables = _dunning_variables(synthesized)
    assert {variables[v] for v in (EnvVar.SMS_ORIGINATION_IDENTITY, EnvVar.SMS_OPT_OUT_LIST)} == {""}
    assert synthesized.stack.dunning.texts is None
    assert Output.SMS_REPLIES_TOPIC not in synthesized.template.to_json()["Outputs"]


@pytest.mark.parametrize(
    ("context", "key"),
    [
        ({"smsOriginationIdentity": "+15550100001"}, "smsOriginationIdentity"),  # a number, not an ARN
        (
            {"smsOriginationIdentity": "arn:aws:sms-voice:eu-central-1:123456789012:pool/*"},
            "smsOriginationIdentity",
        ),
        ({"smsConfigurationSet": "texts"}, "smsConfigurationSet needs smsOriginationIdentity"),
        ({"smsOriginationIdentity": IDENTITY, "smsOptOutList": "opt outs"}, "smsOptOutList"),
    ],
)
def test_sms_context_that_sendtextmessage_would_refuse_fails_the_synth(
    tmp_path: Path, context: dict[str, str], key: str
) -> None:
    with pytest.raises(ConfigError, match=key):
        synthesize(tmp_path, **context)
