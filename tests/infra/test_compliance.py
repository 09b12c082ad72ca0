"""cdk-nag, cfn-lint, the pinned CDK CLI, and configuration errors that stop a synth early."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from aws_cdk.assertions import Match

from arcollect import policy
from arcollect.contract import EnvVar, ReportCadence
from infra.config import ConfigError
from infra.constructs.dunning import InvalidDunningPolicy
from tests.infra.conftest import Synthesized, synthesize

REPO = Path(__file__).resolve().parents[2]


def test_cdk_nag_has_no_unacknowledged_findings_and_every_acknowledgment_has_a_reason(
    synthesized: Synthesized,
) -> None:
    [report] = [
        r for r in synthesized.validation_report()["pluginReports"] if r["pluginName"] == "AwsSolutions"
    ]
    assert report["conclusion"] == "success"
    assert report["violations"] == []
    for acknowledged in report["suppressedViolations"]:
        assert len(acknowledged["reason"]) > 30, acknowledged["ruleName"]


def test_cfn_lint_reports_no_errors(synthesized: Synthesized) -> None:
    result = synthesized.cfn_lint()
    errors = [line for line in result.stdout.splitlines() if ":E" in line]
    assert errors == [], result.stdout
    # cfn-lint's exit code is a bit mask: 1 = it failed to run, 2 = errors (4 and 8: warnings, info).
    assert result.returncode & 0b11 == 0, result.stdout + result.stderr


@pytest.mark.skipif(shutil.which("npx") is None, reason="Node.js is needed for the CDK CLI")
def test_the_pinned_cdk_cli_synthesizes_the_app(tmp_path: Path) -> None:
    if not (REPO / "node_modules" / ".bin" / "cdk").exists():
        pytest.fail("node_modules/.bin/cdk is missing: run `make dev` (npm ci installs the pinned CDK CLI)")
    env = dict(os.environ, CDK_DISABLE_VERSION_CHECK="1")
    result = subprocess.run(
        ["npx", "--no-install", "cdk", "synth", "--quiet", "--no-notices", "--output", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert (tmp_path / "arcollect-dev.template.json").is_file()


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"senderEmail": "not-an-address"}, "senderEmail"),
        ({"portalDomain": "pay.example.com"}, "portalDomain and portalCertificateArn"),
        ({"dunningSchedule": "every hour"}, "dunningSchedule"),
        ({"reportsSchedule": "cron(0 5 * * *)"}, "reportsSchedule"),
        ({"reportsWeeklySchedule": "mondays"}, "reportsWeeklySchedule"),
        ({"reportsMonthlySchedule": "rate(1 month)"}, "reportsMonthlySchedule"),
        ({"environmentName": "Prod_1"}, "environmentName"),
        ({"logRetentionDays": 42}, "logRetentionDays"),
        ({"sesMaxSendRate": "0"}, "sesMaxSendRate"),
        ({"sesMaxSendRate": "-2"}, "sesMaxSendRate"),
        ({"sesMaxSendRate": "fast"}, "sesMaxSendRate"),
        ({"sesMaxSendRate": "inf"}, "sesMaxSendRate"),
        ({"portalLinkDays": "0"}, "portalLinkDays"),
        ({"portalLinkDays": "a month"}, "portalLinkDays"),
        ({"paymentUrlTemplate": "http://pay.example.com/{invoice_number}"}, "paymentUrlTemplate"),
    ],
)
def test_bad_context_fails_with_a_message_naming_the_key(
    tmp_path: Path, context: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        synthesize(tmp_path, **context)


def test_a_custom_ses_send_rate_reaches_the_dunning_function(tmp_path: Path) -> None:
    synthesized = synthesize(tmp_path, sesMaxSendRate="14.5")
    synthesized.template.has_resource_properties(
        "AWS::Lambda::Function",
        {"Environment": {"Variables": Match.object_like({EnvVar.SES_MAX_SEND_RATE: "14.5"})}},
    )


def test_custom_report_schedules_reach_their_cadences_ticks(tmp_path: Path) -> None:
    synthesized = synthesize(
        tmp_path,
        reportsSchedule="cron(30 4 * * ? *)",
        reportsWeeklySchedule="cron(0 8 ? * FRI *)",
        reportsMonthlySchedule="cron(0 3 L * ? *)",
        scheduleTimeZone="Europe/Berlin",
    )
    function_id = synthesized.stack.get_logical_id(synthesized.stack.reports.function.node.default_child)
    by_cadence = {
        json.loads(s["Properties"]["Target"]["Input"])["detail"]["cadence"]: (
            s["Properties"]["ScheduleExpression"],
            s["Properties"]["ScheduleExpressionTimezone"],
        )
        for s in synthesized.template.find_resources("AWS::Scheduler::Schedule").values()
        if s["Properties"]["Target"]["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
        and '"cadence"' in s["Properties"]["Target"]["Input"]  # not the table's daily export
    }
    assert by_cadence == {
        ReportCadence.DAILY: ("cron(30 4 * * ? *)", "Europe/Berlin"),
        ReportCadence.WEEKLY: ("cron(0 8 ? * FRI *)", "Europe/Berlin"),
        ReportCadence.MONTHLY: ("cron(0 3 L * ? *)", "Europe/Berlin"),
    }


def test_an_invalid_shipped_dunning_policy_fails_the_synth_with_its_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> None:
        raise policy.PolicyError("steps[2].after_days: must be greater than steps[1].after_days")

    monkeypatch.setattr(policy, "validate_shipped_policy", broken)
    with pytest.raises(InvalidDunningPolicy, match=r"steps\[2\]\.after_days: must be greater") as raised:
        synthesize(tmp_path)
    assert "shipped dunning policy" in str(raised.value)
    assert not (tmp_path / "arcollect-dev.template.json").exists()


def test_a_custom_portal_domain_becomes_the_portal_url(tmp_path: Path) -> None:
    synthesized = synthesize(
        tmp_path,
        portalDomain="pay.example.com",
        portalCertificateArn="arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555",
        environmentName="prod",
    )
    synthesized.template.has_resource_properties(
        "AWS::ApiGateway::DomainName", {"DomainName": "pay.example.com"}
    )
    assert synthesized.stack.stack_name == "arcollect-prod"
