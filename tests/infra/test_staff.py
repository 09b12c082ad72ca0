"""The staff user pool: who signs in to the staff console, in which group, and what the portal may do."""

from __future__ import annotations

import json
from typing import Any

from arcollect.contract import FUNCTION_ENVIRONMENT, EnvVar, FunctionName, Output, ReportPrefix, StaffGroups
from arcollect_cli.local.spec import (
    staff_client_settings,
    staff_user_pool_mfa_settings,
    staff_user_pool_settings,
)
from tests.infra.conftest import Synthesized


def _only(synthesized: Synthesized, type_: str) -> tuple[str, dict[str, Any]]:
    [(logical_id, resource)] = synthesized.template.find_resources(type_).items()
    return logical_id, resource


def _portal_statements(synthesized: Synthesized) -> list[dict[str, Any]]:
    stack = synthesized.stack
    role = stack.portal.function.role
    assert role is not None
    role_id = stack.get_logical_id(role.node.default_child)
    return [
        statement
        for policy in synthesized.template.find_resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_the_pool_admits_only_invited_staff_with_strong_passwords_and_is_retained(
    synthesized: Synthesized,
) -> None:
    _, pool = _only(synthesized, "AWS::Cognito::UserPool")
    props = pool["Properties"]
    assert pool["DeletionPolicy"] == "Retain"
    assert pool["UpdateReplacePolicy"] == "Retain"
    assert props["DeletionProtection"] == "ACTIVE"
    # No self sign-up: an administrator creates every account (`arcollect staff add-user`).
    assert props["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    # Username sign-in (the owner key), not an email alias: owner keys are often email addresses.
    assert "AliasAttributes" not in props and "UsernameAttributes" not in props
    assert props["UsernameConfiguration"] == {"CaseSensitive": False}
    assert {"Name": "email", "Mutable": True, "Required": True} in props["Schema"]
    password = props["Policies"]["PasswordPolicy"]
    assert password["MinimumLength"] >= 12
    assert all(password[k] is True for k in ("RequireLowercase", "RequireUppercase", "RequireNumbers"))
    assert password["RequireSymbols"] is True
    assert props["AccountRecoverySetting"] == {
        "RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]
    }
    # MFA is required, with an authenticator app only (no SMS: no SMS role, no text messages)
    assert props["MfaConfiguration"] == "ON"
    assert props["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert "SmsConfiguration" not in props


def test_the_groups_are_the_contracts(synthesized: Synthesized) -> None:
    stack = synthesized.stack
    pool_id = stack.get_logical_id(stack.staff.user_pool.node.default_child)
    groups = synthesized.template.find_resources("AWS::Cognito::UserPoolGroup").values()
    assert sorted(g["Properties"]["GroupName"] for g in groups) == sorted(StaffGroups.ALL)
    assert all(g["Properties"]["UserPoolId"] == {"Ref": pool_id} for g in groups)


def test_the_app_client_is_public_password_only_without_oauth_and_short_lived(
    synthesized: Synthesized,
) -> None:
    _, client = _only(synthesized, "AWS::Cognito::UserPoolClient")
    props = client["Properties"]
    assert sorted(props["ExplicitAuthFlows"]) == ["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_PASSWORD_AUTH"]
    assert props["GenerateSecret"] is False
    assert props["PreventUserExistenceErrors"] == "ENABLED"
    assert props["AllowedOAuthFlowsUserPoolClient"] is False
    assert "AllowedOAuthFlows" not in props and "CallbackURLs" not in props
    assert props["EnableTokenRevocation"] is True
    assert props["TokenValidityUnits"] == {
        "AccessToken": "minutes",
        "IdToken": "minutes",
        "RefreshToken": "minutes",
    }
    assert props["AccessTokenValidity"] <= 60 and props["IdTokenValidity"] <= 60
    assert props["RefreshTokenValidity"] <= 24 * 60


def test_the_portal_function_knows_the_pool_and_the_reports_bucket(synthesized: Synthesized) -> None:
    stack = synthesized.stack
    functions = synthesized.template.find_resources("AWS::Lambda::Function")
    variables = functions[stack.get_logical_id(stack.portal.function.node.default_child)]["Properties"][
        "Environment"
    ]["Variables"]
    assert variables[EnvVar.STAFF_USER_POOL_ID] == {
        "Ref": stack.get_logical_id(stack.staff.user_pool.node.default_child)
    }
    assert variables[EnvVar.STAFF_CLIENT_ID] == {
        "Ref": stack.get_logical_id(stack.staff.client.node.default_child)
    }
    assert variables[EnvVar.REPORTS_BUCKET] == {
        "Ref": stack.get_logical_id(stack.data.reports_bucket.node.default_child)
    }
    assert {v for v in variables if not v.startswith("POWERTOOLS_")} == set(
        FUNCTION_ENVIRONMENT[FunctionName.PORTAL]
    )


def test_the_portal_may_look_up_staff_in_the_pool_and_read_only_the_kpi_reports(
    synthesized: Synthesized,
) -> None:
    stack = synthesized.stack
    pool_arn = {"Fn::GetAtt": [stack.get_logical_id(stack.staff.user_pool.node.default_child), "Arn"]}
    statements = _portal_statements(synthesized)
    cognito = [s for s in statements if any(a.startswith("cognito-idp:") for a in _as_list(s["Action"]))]
    assert cognito == [
        {
            "Action": ["cognito-idp:AdminGetUser", "cognito-idp:AdminListGroupsForUser"],
            "Effect": "Allow",
            "Resource": pool_arn,
        }
    ]
    reports_id = stack.get_logical_id(stack.data.reports_bucket.node.default_child)
    reports = [s for s in statements if reports_id in json.dumps(s["Resource"])]
    assert reports, "the portal reads the reports bucket"
    kpi_objects = {"Fn::Join": ["", [{"Fn::GetAtt": [reports_id, "Arn"]}, f"/{ReportPrefix.KPI}*"]]}
    for statement in reports:
        assert all(a.startswith(("s3:GetObject", "s3:GetBucket", "s3:List")) for a in statement["Action"])
        # (CDK merges the statements of equal actions: the drop bucket's prefixes share them.)
        for resource in _as_list(statement["Resource"]):
            if reports_id in json.dumps(resource):
                assert resource in (kpi_objects, {"Fn::GetAtt": [reports_id, "Arn"]}), resource
    assert any(kpi_objects in _as_list(s["Resource"]) for s in reports)


def test_the_outputs_name_the_pool_and_the_client(synthesized: Synthesized) -> None:
    stack = synthesized.stack
    outputs = synthesized.template.find_outputs("*")
    assert outputs[Output.STAFF_USER_POOL_ID]["Value"] == {
        "Ref": stack.get_logical_id(stack.staff.user_pool.node.default_child)
    }
    assert outputs[Output.STAFF_CLIENT_ID]["Value"] == {
        "Ref": stack.get_logical_id(stack.staff.client.node.default_child)
    }


def test_the_local_stack_creates_the_pool_and_client_with_the_templates_settings(
    synthesized: Synthesized,
) -> None:
    # The local stack cannot import the CDK app (too slow to start), so it states the same settings.
    _, pool = _only(synthesized, "AWS::Cognito::UserPool")
    props = pool["Properties"]
    for key, local in staff_user_pool_settings().items():
        # The invitation's wording is the one thing the local stack leaves out (it sends no email).
        cdk = {k: props[key][k] for k in local} if key == "AdminCreateUserConfig" else props[key]
        assert cdk == local, key
    # SetUserPoolMfaConfig, as CloudFormation applies the template's MfaConfiguration and EnabledMfas
    mfa = staff_user_pool_mfa_settings()
    assert props["MfaConfiguration"] == mfa["MfaConfiguration"]
    assert mfa["SoftwareTokenMfaConfiguration"] == {"Enabled": True} and "SmsMfaConfiguration" not in mfa
    assert props["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    _, client = _only(synthesized, "AWS::Cognito::UserPoolClient")
    for key, local in staff_client_settings().items():
        assert client["Properties"][key] == local, key
