"""`--stack NAME`: the CLI reads a deployed stack's outputs from CloudFormation (moto stands in)."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from arcollect.contract import Output
from arcollect_cli import main
from arcollect_cli.target import CliError, Target

TEMPLATE = {
    "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
    "Outputs": {
        Output.DROP_BUCKET: {"Value": "arcollect-prod-drop-1a2b"},
        Output.DUNNING_FUNCTION: {"Value": "arcollect-prod-DunningFunction-XYZ"},
    },
}


@mock_aws
def test_a_deployed_stack_is_found_by_name_through_its_outputs(tmp_path: Path) -> None:
    boto3.client("cloudformation").create_stack(StackName="arcollect-prod", TemplateBody=json.dumps(TEMPLATE))
    target = Target.resolve("arcollect-prod", tmp_path)
    assert target.local is False
    assert target.output(Output.DROP_BUCKET) == "arcollect-prod-drop-1a2b"
    with pytest.raises(CliError, match="no output 'ReportsBucketName'"):
        target.output(Output.REPORTS_BUCKET)


@mock_aws
def test_an_unknown_stack_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CliError, match="cannot read the outputs of stack 'nope'"):
        Target.resolve("nope", tmp_path)


def test_without_a_local_stack_the_error_says_how_to_start_one(tmp_path: Path) -> None:
    with pytest.raises(CliError, match="arcollect local up"):
        Target.resolve(None, tmp_path)


@mock_aws
def test_mail_dns_prints_the_records_a_sender_domain_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    records = [
        {"type": "CNAME", "name": "abc._domainkey.yourco.example", "value": "abc.dkim.amazonses.com"},
        {"type": "MX", "name": "bounce.yourco.example", "value": "10 feedback-smtp.eu-west-1.amazonses.com"},
    ]
    template = {**TEMPLATE, "Outputs": {Output.SENDER_DNS_RECORDS: {"Value": json.dumps(records)}}}
    boto3.client("cloudformation").create_stack(StackName="arcollect-prod", TemplateBody=json.dumps(template))
    boto3.client("cloudformation").create_stack(StackName="arcollect-dev", TemplateBody=json.dumps(TEMPLATE))
    monkeypatch.setattr(main, "ROOT", tmp_path)
    assert main.main(["mail", "dns", "--stack", "arcollect-prod", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == records
    # A stack without a sender domain says how to get one
    assert main.main(["mail", "dns", "--stack", "arcollect-dev"]) != 0
    assert "-c senderDomain=" in capsys.readouterr().err
