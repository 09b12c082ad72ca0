"""`--stack NAME`: the CLI reads a deployed stack's outputs from CloudFormation (moto stands in)."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from arcollect.contract import Output
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
