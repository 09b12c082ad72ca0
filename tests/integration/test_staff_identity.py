"""Staff sign-in against moto's Cognito (CognitoDirectory) and staff sessions on the moto table
(StaffSessionStore)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from arcollect.contract import Output
from arcollect.staff import (
    STAFF_IDLE_MINUTES,
    STAFF_SESSION_HOURS,
    STAFF_SIGN_IN_PER_5MIN,
    STAFF_SIGN_IN_WINDOW,
    NewPasswordRequired,
    SignInFailed,
    StaffUser,
    sign_in_window,
)
from arcollect.store.identity import NOT_STAFF, WRONG_CREDENTIALS, CognitoDirectory
from arcollect.store.keys import STAFF_SESSION_SK, staff_session_pk
from arcollect.store.models import RateCounterItem, StaffSessionItem
from arcollect.store.staff import StaffSessionStore
from arcollect_cli import main

PASSWORD = "Collect-1234!"
NOW = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)


@pytest.fixture
def pool() -> Iterator[tuple[CognitoDirectory, Any, str]]:
    with mock_aws():
        cognito = boto3.client("cognito-idp", region_name="us-east-1")
        pool_id = cognito.create_user_pool(
            PoolName="arcollect-staff",
            Policies={
                "PasswordPolicy": {
                    "MinimumLength": 12,
                    "RequireUppercase": True,
                    "RequireLowercase": True,
                    "RequireNumbers": True,
                    "RequireSymbols": True,
                }
            },
        )["UserPool"]["Id"]
        client_id = cognito.create_user_pool_client(
            UserPoolId=pool_id,
            ClientName="staff-console",
            GenerateSecret=False,
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        )["UserPoolClient"]["ClientId"]
        for group in ("collector", "manager"):
            cognito.create_group(GroupName=group, UserPoolId=pool_id)

        def user(
            username: str, groups: tuple[str, ...], *, permanent: bool = True, **attributes: str
        ) -> None:
            cognito.admin_create_user(
                UserPoolId=pool_id,
                Username=username,
                TemporaryPassword=PASSWORD,
                MessageAction="SUPPRESS",
                UserAttributes=[{"Name": k, "Value": v} for k, v in attributes.items()],
            )
            if permanent:
                cognito.admin_set_user_password(
                    UserPoolId=pool_id, Username=username, Password=PASSWORD, Permanent=True
                )
            for group in groups:
                cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName=group)

        user("cora", ("collector",), email="cora@example.com", name="Cora Collector")
        user("max", ("manager", "collector"), email="max@example.com", given_name="Max", family_name="Mann")
        user("outsider", (), email="out@example.com")
        user("newbie", ("collector",), permanent=False, email="newbie@example.com")
        yield CognitoDirectory(pool_id, client_id, client=cognito), cognito, pool_id


def test_a_collector_signs_in_with_groups_email_and_name(pool: tuple[CognitoDirectory, Any, str]) -> None:
    directory, _, _ = pool
    user = directory.sign_in("cora", PASSWORD)
    assert user == StaffUser(
        username="cora", email="cora@example.com", name="Cora Collector", groups=frozenset({"collector"})
    )
    assert not user.is_manager and user.is_collector


def test_a_manager_gets_both_groups_and_a_name_from_given_and_family(
    pool: tuple[CognitoDirectory, Any, str],
) -> None:
    directory, _, _ = pool
    user = directory.sign_in("max", PASSWORD)
    assert isinstance(user, StaffUser)
    assert user.groups == frozenset({"manager", "collector"})
    assert user.is_manager
    assert user.name == "Max Mann"


@pytest.mark.parametrize(("username", "password"), [("cora", "Wrong-password-1!"), ("nobody", PASSWORD)])
def test_wrong_password_and_unknown_user_fail_alike(
    pool: tuple[CognitoDirectory, Any, str], username: str, password: str
) -> None:
    directory, _, _ = pool
    with pytest.raises(SignInFailed) as failure:
        directory.sign_in(username, password)
    assert str(failure.value) == WRONG_CREDENTIALS


def test_a_disabled_user_cannot_sign_in(pool: tuple[CognitoDirectory, Any, str]) -> None:
    directory, cognito, pool_id = pool
    cognito.admin_disable_user(UserPoolId=pool_id, Username="cora")
    with pytest.raises(SignInFailed) as failure:
        directory.sign_in("cora", PASSWORD)
    assert str(failure.value) == WRONG_CREDENTIALS


def test_a_user_outside_the_staff_groups_is_told_so(pool: tuple[CognitoDirectory, Any, str]) -> None:
    directory, _, _ = pool
    with pytest.raises(SignInFailed) as failure:
        directory.sign_in("outsider", PASSWORD)
    assert str(failure.value) == NOT_STAFF
    assert "not a member of the staff groups" in NOT_STAFF


def test_first_sign_in_with_a_temporary_password_is_a_challenge(
    pool: tuple[CognitoDirectory, Any, str],
) -> None:
    directory, _, _ = pool
    challenge = directory.sign_in("newbie", PASSWORD)
    assert isinstance(challenge, NewPasswordRequired)
    assert challenge.username == "newbie"
    assert challenge.challenge_session

    with pytest.raises(ValueError, match=r"[Pp]assword"):
        directory.set_new_password(challenge, "short")

    user = directory.set_new_password(challenge, "A-much-better-Passw0rd!")
    assert user.username == "newbie" and user.groups == frozenset({"collector"})
    assert directory.sign_in("newbie", "A-much-better-Passw0rd!") == user


# --- sessions on the table -------------------------------------------------------------------------------

CORA = StaffUser(username="cora", email=None, name="Cora", groups=frozenset({"collector", "manager"}))


def test_a_session_is_stored_by_digest_and_resumes_with_its_user(aws: None) -> None:
    store = StaffSessionStore()
    session = store.create(CORA, now=NOW)
    assert len(session.session_id) >= 43 and session.csrf_token
    assert session.expires_at == NOW + timedelta(hours=STAFF_SESSION_HOURS)
    item = StaffSessionItem.get(staff_session_pk(session.session_id), STAFF_SESSION_SK)
    assert session.session_id not in item.pk
    assert item.expires_at == int(session.expires_at.timestamp())  # the table's TTL

    later = NOW + timedelta(minutes=30)
    resumed = store.resume(session.session_id, now=later)
    assert resumed is not None
    assert resumed.user == CORA
    assert resumed.csrf_token == session.csrf_token
    assert resumed.last_seen_at == later
    # Activity keeps it alive past the idle limit counted from sign-in.
    assert store.resume(session.session_id, now=later + timedelta(minutes=STAFF_IDLE_MINUTES - 1))


def test_an_idle_session_ends(aws: None) -> None:
    store = StaffSessionStore()
    session = store.create(CORA, now=NOW)
    assert store.resume(session.session_id, now=NOW + timedelta(minutes=STAFF_IDLE_MINUTES + 1)) is None
    assert store.resume(session.session_id, now=NOW + timedelta(minutes=1)) is None  # deleted, not just idle


def test_a_session_ends_after_its_absolute_limit_despite_activity(aws: None) -> None:
    store = StaffSessionStore()
    session = store.create(CORA, now=NOW)
    at = NOW
    while at < NOW + timedelta(hours=STAFF_SESSION_HOURS) - timedelta(minutes=30):
        at += timedelta(minutes=30)
        assert store.resume(session.session_id, now=at) is not None
    assert store.resume(session.session_id, now=NOW + timedelta(hours=STAFF_SESSION_HOURS)) is None


def test_sign_out_ends_the_session_and_unknown_ids_are_no_session(aws: None) -> None:
    store = StaffSessionStore()
    session = store.create(CORA, now=NOW)
    store.end(session.session_id)
    assert store.resume(session.session_id, now=NOW) is None
    store.end(session.session_id)  # twice is fine
    assert store.resume("made-up", now=NOW) is None
    assert store.resume("", now=NOW) is None
    assert store.resume("x" * 500, now=NOW) is None


def test_sign_in_posts_are_counted_per_client_in_five_minute_windows_that_expire(aws: None) -> None:
    store = StaffSessionStore()
    at = sign_in_window(NOW) + timedelta(minutes=1)
    # One client uses up its window; the next post in it is refused, another client is not affected
    assert all(store.sign_in_allowed("198.51.100.7", now=at) for _ in range(STAFF_SIGN_IN_PER_5MIN))
    assert not store.sign_in_allowed("198.51.100.7", now=at + timedelta(minutes=3))
    assert store.sign_in_allowed("198.51.100.8", now=at)
    # The next window starts from nothing
    assert store.sign_in_allowed("198.51.100.7", now=sign_in_window(NOW) + STAFF_SIGN_IN_WINDOW)
    # The counters hold no address (a digest) and the table's TTL removes them two windows on
    # (an ADD writes no model discriminator, so the items are read as the table holds them)
    table = boto3.client("dynamodb").scan(TableName=RateCounterItem.Meta.table_name)["Items"]
    counters = [item for item in table if item["pk"]["S"].startswith("RATE#staff_sign_in#")]
    assert len(counters) == 3
    assert not any("198.51.100" in item["pk"]["S"] for item in counters)
    first = max(counters, key=lambda item: int(item["hits"]["N"]))
    assert int(first["hits"]["N"]) == STAFF_SIGN_IN_PER_5MIN + 1
    assert int(first["expires_at"]["N"]) == int((sign_in_window(NOW) + 2 * STAFF_SIGN_IN_WINDOW).timestamp())


def test_the_directory_answers_who_a_user_is_now(pool: tuple[CognitoDirectory, Any, str]) -> None:
    directory, cognito, pool_id = pool
    assert directory.current_user("max").groups == frozenset({"manager", "collector"})  # type: ignore[union-attr]
    cognito.admin_remove_user_from_group(UserPoolId=pool_id, Username="max", GroupName="manager")
    assert directory.current_user("max").groups == frozenset({"collector"})  # type: ignore[union-attr]
    cognito.admin_disable_user(UserPoolId=pool_id, Username="max")
    assert directory.current_user("max") is None
    cognito.admin_remove_user_from_group(UserPoolId=pool_id, Username="cora", GroupName="collector")
    assert directory.current_user("cora") is None
    assert directory.current_user("nobody") is None


def test_revoking_a_user_ends_their_sessions_at_once_and_no_one_elses(aws: None) -> None:
    store = StaffSessionStore()
    first, second = store.create(CORA, now=NOW), store.create(CORA, now=NOW + timedelta(minutes=1))
    other = store.create(replace(CORA, username="max"), now=NOW)
    # When `arcollect staff revoke cora` runs
    store.revoke_user("cora", at=NOW + timedelta(minutes=2))
    # Then cora's sessions are over at their next request, max's goes on, and a new sign-in works
    assert store.resume(first.session_id, now=NOW + timedelta(minutes=3)) is None
    assert store.resume(second.session_id, now=NOW + timedelta(minutes=3)) is None
    assert store.resume(other.session_id, now=NOW + timedelta(minutes=3)) is not None
    fresh = store.create(CORA, now=NOW + timedelta(minutes=4))
    assert store.resume(fresh.session_id, now=NOW + timedelta(minutes=5)) is not None


def test_a_recheck_keeps_the_directorys_groups_with_the_session(aws: None) -> None:
    store = StaffSessionStore()
    session = store.create(CORA, now=NOW)
    demoted = replace(CORA, groups=frozenset({"collector"}))
    store.rechecked(session, demoted, now=NOW + timedelta(minutes=6))
    resumed = store.resume(session.session_id, now=NOW + timedelta(minutes=7))
    assert resumed is not None and resumed.user.groups == frozenset({"collector"})
    assert resumed.checked_at == NOW + timedelta(minutes=6)
    assert not resumed.due_for_recheck(NOW + timedelta(minutes=10))
    assert resumed.due_for_recheck(NOW + timedelta(minutes=11))


def test_arcollect_staff_revoke_ends_the_users_sessions(
    aws: None, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    template = {
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {Output.TABLE_NAME: {"Value": os.environ["TABLE_NAME"]}},
    }
    boto3.client("cloudformation").create_stack(StackName="arcollect-prod", TemplateBody=json.dumps(template))
    store = StaffSessionStore()
    session = store.create(CORA, now=datetime.now(tz=UTC) - timedelta(minutes=1))
    monkeypatch.setattr(main, "ROOT", tmp_path)
    assert main.main(["staff", "revoke", "cora", "--stack", "arcollect-prod", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["username"] == "cora"
    assert store.resume(session.session_id, now=datetime.now(tz=UTC)) is None
