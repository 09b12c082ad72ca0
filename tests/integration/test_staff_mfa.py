"""MFA is required for staff: the console's steps (CognitoDirectory) against moto's Cognito with the
local stack's rules (arcollect_cli.local.cognito), which check TOTP codes as Cognito does where plain
moto takes any code."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from arcollect.staff import (
    ChallengeExpired,
    MfaCodeRequired,
    MfaSetupRequired,
    NewPasswordRequired,
    StaffUser,
    WrongCode,
)
from arcollect.store.identity import WRONG_CODE, CognitoDirectory
from arcollect_cli.local import cognito as local_cognito
from arcollect_cli.local.cognito import CHALLENGE_SESSION_SECONDS, enforce_cognito_mfa, totp
from arcollect_cli.local.spec import (
    staff_client_settings,
    staff_user_pool_mfa_settings,
    staff_user_pool_settings,
)

PASSWORD = "Collect-1234!"


@dataclass
class Pool:
    cognito: Any
    pool_id: str
    client_id: str
    directory: CognitoDirectory
    recorded: dict[str, str]

    def user(self, username: str, *, permanent: bool = True) -> None:
        self.cognito.admin_create_user(
            UserPoolId=self.pool_id,
            Username=username,
            TemporaryPassword=PASSWORD,
            MessageAction="SUPPRESS",
            UserAttributes=[{"Name": "email", "Value": f"{username}@example.com"}],
        )
        if permanent:
            self.cognito.admin_set_user_password(
                UserPoolId=self.pool_id, Username=username, Password=PASSWORD, Permanent=True
            )
        self.cognito.admin_add_user_to_group(
            UserPoolId=self.pool_id, Username=username, GroupName="collector"
        )


def wrong(code: str) -> str:
    """A 6-digit code that is not ``code`` (a neighbouring step's code equals it one time in a million)."""
    return f"{(int(code) + 500_000) % 1_000_000:06d}"


@pytest.fixture
def mfa_pool() -> Iterator[Pool]:
    """The local stack's staff pool (MFA required, TOTP only) in moto; the local rules on."""
    recorded: dict[str, str] = {}
    with mock_aws():
        cognito = boto3.client("cognito-idp", region_name="us-east-1")
        pool_id = cognito.create_user_pool(PoolName="arcollect-staff", **staff_user_pool_settings())[
            "UserPool"
        ]["Id"]
        cognito.set_user_pool_mfa_config(UserPoolId=pool_id, **staff_user_pool_mfa_settings())
        client_id = cognito.create_user_pool_client(
            UserPoolId=pool_id, ClientName="staff-console", **staff_client_settings()
        )["UserPoolClient"]["ClientId"]
        cognito.create_group(GroupName="collector", UserPoolId=pool_id)
        undo = enforce_cognito_mfa(record=recorded.__setitem__)
        try:
            yield Pool(
                cognito, pool_id, client_id, CognitoDirectory(pool_id, client_id, client=cognito), recorded
            )
        finally:
            undo()


def test_the_first_sign_in_sets_up_an_authenticator_and_later_ones_ask_for_its_code(mfa_pool: Pool) -> None:
    mfa_pool.user("cora")
    mfa_pool.user("cleo")
    directory = mfa_pool.directory
    # The first sign-in: MFA_SETUP (moto alone would sign her straight in)
    setup = directory.sign_in("cora", PASSWORD)
    assert isinstance(setup, MfaSetupRequired) and setup.secret is None
    # AssociateSoftwareToken: a key of her own (moto alone hands everyone "asdfasdfasdf")
    associated = directory.start_mfa_setup(setup)
    assert associated.secret and len(associated.secret) == 52
    other = directory.start_mfa_setup(directory.sign_in("cleo", PASSWORD))  # type: ignore[arg-type]
    assert other.secret != associated.secret
    # A wrong first code is refused (EnableSoftwareTokenMFAException), the step can be tried again
    code = totp(associated.secret, time.time())
    with pytest.raises(WrongCode, match="not right"):
        directory.finish_mfa_setup(associated, wrong(code))
    with pytest.raises(WrongCode, match="6 digits"):
        directory.finish_mfa_setup(associated, "12345")
    # The code of her app: VerifySoftwareToken, then MFA_SETUP with its session, signs her in
    user = directory.finish_mfa_setup(associated, code)
    assert isinstance(user, StaffUser) and user.username == "cora"
    assert mfa_pool.recorded == {"cora": associated.secret}

    # The next sign-in: SOFTWARE_TOKEN_MFA; a wrong code is refused (CodeMismatchException), the app's not
    step = directory.sign_in("cora", PASSWORD)
    assert isinstance(step, MfaCodeRequired) and step.username == "cora"
    with pytest.raises(WrongCode) as refused:
        directory.answer_mfa(step, wrong(totp(associated.secret, time.time())))
    assert str(refused.value) == WRONG_CODE
    assert directory.answer_mfa(step, totp(associated.secret, time.time())).username == "cora"
    # The code of the step before is still taken (±30 s), another user's key is not
    again = directory.sign_in("cora", PASSWORD)
    assert isinstance(again, MfaCodeRequired)
    assert directory.answer_mfa(again, totp(associated.secret, time.time() - 30)).username == "cora"
    assert other.secret
    third = directory.sign_in("cora", PASSWORD)
    assert isinstance(third, MfaCodeRequired)
    code, cleos = totp(associated.secret, time.time()), totp(other.secret, time.time())
    if cleos != code:
        with pytest.raises(WrongCode):
            directory.answer_mfa(third, cleos)


def test_a_new_password_is_followed_by_the_authenticator_setup(mfa_pool: Pool) -> None:
    mfa_pool.user("newbie", permanent=False)
    challenge = mfa_pool.directory.sign_in("newbie", PASSWORD)
    assert isinstance(challenge, NewPasswordRequired)
    step = mfa_pool.directory.set_new_password(challenge, "Own-password-12")
    assert isinstance(step, MfaSetupRequired)
    associated = mfa_pool.directory.start_mfa_setup(step)
    assert associated.secret
    assert (
        mfa_pool.directory.finish_mfa_setup(associated, totp(associated.secret, time.time())).username
        == "newbie"
    )


def test_an_expired_challenge_session_is_refused(mfa_pool: Pool, monkeypatch: pytest.MonkeyPatch) -> None:
    mfa_pool.user("cora")
    directory = mfa_pool.directory
    associated = directory.start_mfa_setup(directory.sign_in("cora", PASSWORD))  # type: ignore[arg-type]
    assert associated.secret
    later = time.time() + CHALLENGE_SESSION_SECONDS + 1
    monkeypatch.setattr(local_cognito, "_now", lambda: later)
    # Cognito's sessions last 3 minutes: the console then sends the user back to the sign-in form
    with pytest.raises(ChallengeExpired):
        directory.finish_mfa_setup(associated, totp(associated.secret, later))
    monkeypatch.undo()
    associated = directory.start_mfa_setup(directory.sign_in("cora", PASSWORD))  # type: ignore[arg-type]
    assert associated.secret
    directory.finish_mfa_setup(associated, totp(associated.secret, time.time()))
    step = directory.sign_in("cora", PASSWORD)
    assert isinstance(step, MfaCodeRequired)
    monkeypatch.setattr(local_cognito, "_now", lambda: later)
    with pytest.raises(ChallengeExpired):
        directory.answer_mfa(step, totp(associated.secret, later))


def test_mfa_setup_needs_a_verified_authenticator_and_a_session_answers_for_its_own_user(
    mfa_pool: Pool,
) -> None:
    mfa_pool.user("cora")
    mfa_pool.user("cleo")
    cognito = mfa_pool.cognito
    setup = mfa_pool.directory.sign_in("cora", PASSWORD)
    assert isinstance(setup, MfaSetupRequired)
    # MFA_SETUP without VerifySoftwareToken: refused (moto alone signs in)
    with pytest.raises(cognito.exceptions.NotAuthorizedException):
        cognito.respond_to_auth_challenge(
            ClientId=mfa_pool.client_id,
            ChallengeName="MFA_SETUP",
            Session=setup.challenge_session,
            ChallengeResponses={"USERNAME": "cora"},
        )
    # Cora's session answered as Cleo: refused
    with pytest.raises(cognito.exceptions.NotAuthorizedException):
        cognito.respond_to_auth_challenge(
            ClientId=mfa_pool.client_id,
            ChallengeName="SOFTWARE_TOKEN_MFA",
            Session=setup.challenge_session,
            ChallengeResponses={"USERNAME": "cleo", "SOFTWARE_TOKEN_MFA_CODE": "123456"},
        )


def test_plain_moto_takes_any_code_and_the_local_stack_refuses_it(mfa_pool: Pool) -> None:
    cognito, client_id = mfa_pool.cognito, mfa_pool.client_id

    def first_steps(username: str) -> tuple[dict[str, Any], dict[str, Any]]:
        mfa_pool.user(username, permanent=False)
        challenge = cognito.initiate_auth(
            ClientId=client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD},
        )
        setup = cognito.respond_to_auth_challenge(
            ClientId=client_id,
            ChallengeName="NEW_PASSWORD_REQUIRED",
            Session=challenge["Session"],
            ChallengeResponses={"USERNAME": username, "NEW_PASSWORD": "Own-password-12"},
        )
        assert setup["ChallengeName"] == "MFA_SETUP"
        return setup, cognito.associate_software_token(Session=setup["Session"])

    # Plain moto (the rules off): a code no authenticator gave sets the authenticator up
    local_cognito._Rules.enforcing -= 1
    try:
        _, associated = first_steps("lenient")
        verified = cognito.verify_software_token(Session=associated["Session"], UserCode="000000")
        assert verified["Status"] == "SUCCESS"
        signed = cognito.respond_to_auth_challenge(
            ClientId=client_id,
            ChallengeName="SOFTWARE_TOKEN_MFA",
            Session=cognito.initiate_auth(
                ClientId=client_id,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": "lenient", "PASSWORD": "Own-password-12"},
            )["Session"],
            ChallengeResponses={"USERNAME": "lenient", "SOFTWARE_TOKEN_MFA_CODE": "000000"},
        )
        assert signed["AuthenticationResult"]["AccessToken"]
    finally:
        local_cognito._Rules.enforcing += 1

    # The local stack: the same code is refused as Cognito refuses it
    _, associated = first_steps("strict")
    secret = associated["SecretCode"]
    code = totp(secret, time.time())
    with pytest.raises(cognito.exceptions.EnableSoftwareTokenMFAException):
        cognito.verify_software_token(Session=associated["Session"], UserCode=wrong(code))
    verified = cognito.verify_software_token(Session=associated["Session"], UserCode=code)
    cognito.respond_to_auth_challenge(
        ClientId=client_id,
        ChallengeName="MFA_SETUP",
        Session=verified["Session"],
        ChallengeResponses={"USERNAME": "strict"},
    )
    challenge = cognito.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "strict", "PASSWORD": "Own-password-12"},
    )
    assert challenge["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    with pytest.raises(cognito.exceptions.CodeMismatchException):
        cognito.respond_to_auth_challenge(
            ClientId=client_id,
            ChallengeName="SOFTWARE_TOKEN_MFA",
            Session=challenge["Session"],
            ChallengeResponses={
                "USERNAME": "strict",
                "SOFTWARE_TOKEN_MFA_CODE": wrong(totp(secret, time.time())),
            },
        )
