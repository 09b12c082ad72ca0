"""Staff sign-in on the local stack: the seeded team authenticates against the emulator's user pool, in
its group, and the CLI adds staff users the way an administrator would on AWS."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from arcollect.contract import EnvVar, FunctionName, Output, StaffGroups
from arcollect.dunning.policy import shipped_policy
from arcollect_cli.local.spec import DEMO_COLLECTORS, DEMO_STAFF_PASSWORD
from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def cognito(local_stack: RunningStack) -> Any:
    local = local_stack.outputs["Local"]
    return boto3.client(
        "cognito-idp",
        endpoint_url=local["AwsEndpoint"],
        region_name=local["Region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def sign_in(local_stack: RunningStack, cognito: Any, username: str, password: str) -> dict[str, Any]:
    """What the portal function does: USER_PASSWORD_AUTH on the public app client."""
    response: dict[str, Any] = cognito.initiate_auth(
        ClientId=local_stack.outputs[Output.STAFF_CLIENT_ID],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password},
    )
    return response


def groups_of(local_stack: RunningStack, cognito: Any, username: str) -> list[str]:
    groups = cognito.admin_list_groups_for_user(
        UserPoolId=local_stack.outputs[Output.STAFF_USER_POOL_ID], Username=username
    )["Groups"]
    return [g["GroupName"] for g in groups]


def test_a_seeded_collector_signs_in_and_is_a_collector(local_stack: RunningStack, cognito: Any) -> None:
    # Given the local stack's seeded team
    collector = DEMO_COLLECTORS[0]
    # When a collector signs in with the demo password
    response = sign_in(local_stack, cognito, collector, DEMO_STAFF_PASSWORD)
    # Then Cognito returns tokens, and the collector is in the collector group only
    tokens = response["AuthenticationResult"]
    assert tokens["IdToken"] and tokens["AccessToken"] and tokens["RefreshToken"]
    assert groups_of(local_stack, cognito, collector) == [StaffGroups.COLLECTOR]
    user = cognito.admin_get_user(
        UserPoolId=local_stack.outputs[Output.STAFF_USER_POOL_ID], Username=collector
    )
    attributes = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
    assert attributes["email"] == collector and attributes["email_verified"] == "true"


def test_the_dunning_policys_manager_is_a_manager_and_a_wrong_password_is_refused(
    local_stack: RunningStack, cognito: Any
) -> None:
    manager = shipped_policy().settings.manager
    assert sign_in(local_stack, cognito, manager, DEMO_STAFF_PASSWORD)["AuthenticationResult"]
    assert groups_of(local_stack, cognito, manager) == [StaffGroups.MANAGER]
    with pytest.raises(cognito.exceptions.NotAuthorizedException):
        sign_in(local_stack, cognito, manager, DEMO_STAFF_PASSWORD + "x")


def test_every_owner_of_the_generated_customers_is_a_seeded_collector() -> None:
    # The worklist GSI is keyed by owner: a collector sees their tasks only if the username is the key.
    from arcollect_cli.generate import _COUNTRIES

    assert sorted({owner for country in _COUNTRIES for owner in country.owners}) == sorted(DEMO_COLLECTORS)


def test_the_portal_function_gets_the_pool_and_client(local_stack: RunningStack) -> None:
    portal = local_stack.outputs["Local"]["FunctionEnvironment"][FunctionName.PORTAL]
    assert portal[EnvVar.STAFF_USER_POOL_ID] == local_stack.outputs[Output.STAFF_USER_POOL_ID]
    assert portal[EnvVar.STAFF_CLIENT_ID] == local_stack.outputs[Output.STAFF_CLIENT_ID]
    assert portal[EnvVar.REPORTS_BUCKET] == local_stack.outputs[Output.REPORTS_BUCKET]


def test_staff_add_user_with_a_password_signs_in_at_once(local_stack: RunningStack, cognito: Any) -> None:
    # When an administrator adds a manager with a permanent password
    local_stack.arcollect(
        "staff", "add-user", "dana", "--email", "dana@yourco.example", "--group", "manager",
        "--password", "Dana-password-1",
    )  # fmt: skip
    # Then the manager signs in with it, in the manager group
    assert sign_in(local_stack, cognito, "dana", "Dana-password-1")["AuthenticationResult"]
    assert groups_of(local_stack, cognito, "dana") == [StaffGroups.MANAGER]
    # And a second user of the same name is refused with a clear message
    again = local_stack.arcollect(
        "staff", "add-user", "dana", "--email", "d@yourco.example", "--group", "collector", check=False
    )
    assert again.returncode == 2 and "exists already" in again.stderr


def test_staff_add_user_without_a_password_must_choose_one_at_first_sign_in(
    local_stack: RunningStack, cognito: Any
) -> None:
    # When an administrator adds a collector without a password (locally: a printed temporary one)
    added = local_stack.json(
        "staff", "add-user", "lee@yourco.example", "--email", "lee@yourco.example", "--group", "collector"
    )
    assert added["sign_in"] == "temporary"
    # Then the first sign-in asks for a new password, and the new password signs in
    challenge = sign_in(local_stack, cognito, "lee@yourco.example", added["temporary_password"])
    assert challenge["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    done = cognito.respond_to_auth_challenge(
        ClientId=local_stack.outputs[Output.STAFF_CLIENT_ID],
        ChallengeName="NEW_PASSWORD_REQUIRED",
        Session=challenge["Session"],
        ChallengeResponses={"USERNAME": "lee@yourco.example", "NEW_PASSWORD": "Lee-own-password-1"},
    )
    assert done["AuthenticationResult"]["AccessToken"]
    assert sign_in(local_stack, cognito, "lee@yourco.example", "Lee-own-password-1")["AuthenticationResult"]
    assert groups_of(local_stack, cognito, "lee@yourco.example") == [StaffGroups.COLLECTOR]
