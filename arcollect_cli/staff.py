"""``arcollect staff``: the collections team's accounts in the staff user pool (local or deployed)."""

from __future__ import annotations

import argparse
import secrets
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from arcollect.contract import Output, StaffGroups
from arcollect_cli.output import emit
from arcollect_cli.target import CliError, Target


@dataclass(frozen=True)
class AddedUser:
    username: str
    group: str
    # How the user signs in the first time: "permanent" (the given password), "temporary" (a password
    # printed here, to change at first sign-in) or "invited" (Cognito emailed a temporary password).
    sign_in: str
    temporary_password: str | None = None


def add_staff_user(
    cognito: Any,
    user_pool_id: str,
    *,
    username: str,
    email: str,
    group: str,
    password: str | None = None,
    temporary_password: str | None = None,
) -> AddedUser:
    """Create a staff user in ``group``.

    With ``password`` the user signs in with it as is (no invitation email); with ``temporary_password``
    they must choose their own at first sign-in (no invitation email either); with neither Cognito
    generates a temporary password and emails the invitation.
    """
    if group not in StaffGroups.ALL:
        raise CliError(f"--group {group!r}: one of {', '.join(StaffGroups.ALL)}")
    request: dict[str, Any] = {
        "UserPoolId": user_pool_id,
        "Username": username,
        # The administrator vouches for the address: account recovery sends codes only to verified ones.
        "UserAttributes": [
            {"Name": "email", "Value": email},
            {"Name": "email_verified", "Value": "true"},
        ],
    }
    if password or temporary_password:
        request["MessageAction"] = "SUPPRESS"
    if temporary_password:
        request["TemporaryPassword"] = temporary_password
    if not (password or temporary_password):
        request["DesiredDeliveryMediums"] = ["EMAIL"]
    try:
        cognito.admin_create_user(**request)
    except cognito.exceptions.UsernameExistsException as error:
        raise CliError(f"a staff user {username!r} exists already") from error
    except cognito.exceptions.InvalidPasswordException as error:
        raise CliError(f"the temporary password does not meet the pool's password policy: {error}") from error
    try:
        if password:
            cognito.admin_set_user_password(
                UserPoolId=user_pool_id, Username=username, Password=password, Permanent=True
            )
        cognito.admin_add_user_to_group(UserPoolId=user_pool_id, Username=username, GroupName=group)
    except Exception as error:
        # Half a user (no password, or no group) could not sign in or would have no role: undo it.
        cognito.admin_delete_user(UserPoolId=user_pool_id, Username=username)
        if isinstance(error, cognito.exceptions.InvalidPasswordException):
            raise CliError(f"--password does not meet the pool's password policy: {error}") from error
        raise
    if password:
        return AddedUser(username, group, "permanent")
    if temporary_password:
        return AddedUser(username, group, "temporary", temporary_password)
    return AddedUser(username, group, "invited")


def temporary_password() -> str:
    """A random password that meets the staff pool's policy (12+ characters, all four kinds)."""
    alphabet = string.ascii_letters + string.digits
    body = "".join(secrets.choice(alphabet) for _ in range(16))
    return f"{body}-{secrets.choice(string.ascii_uppercase)}{secrets.choice(string.digits)}a"


def cmd_staff_add_user(args: argparse.Namespace, root: Any) -> int:
    target = Target.resolve(args.stack, root)
    user_pool_id = target.output(Output.STAFF_USER_POOL_ID)
    # The local stack sends no email: it prints a temporary password instead of Cognito's invitation.
    temporary = None if args.password or not target.local else temporary_password()
    added = add_staff_user(
        boto3.client("cognito-idp"),
        user_pool_id,
        username=args.username,
        email=args.email,
        group=args.group,
        password=args.password,
        temporary_password=temporary,
    )
    text = {
        "permanent": f"{added.username} ({added.group}) signs in with the given password",
        "temporary": f"{added.username} ({added.group}) signs in with the temporary password "
        f"{added.temporary_password} and then chooses their own",
        "invited": f"{added.username} ({added.group}): Cognito emailed {args.email} a temporary password "
        "to change at first sign-in",
    }[added.sign_in]
    emit(vars(added), args.json, text)
    return 0


def cmd_staff_revoke(args: argparse.Namespace, root: Any) -> int:
    """End every console session of a staff user at once (a lost laptop, someone leaving): each is
    refused at its next request. Disabling the user in the pool too keeps them from signing in again."""
    from datetime import UTC, datetime

    from arcollect.store.staff import StaffSessionStore

    target = Target.resolve(args.stack, root)
    target.bind_table()
    at = datetime.now(tz=UTC)
    StaffSessionStore().revoke_user(args.username, at=at)
    emit(
        {"username": args.username, "sessions_ended_before": at.isoformat()},
        args.json,
        f"every console session of {args.username} started before {at.isoformat()} is over",
    )
    return 0


def cmd_staff_totp(args: argparse.Namespace, root: Path) -> int:
    """The local stack only: the code a staff user's authenticator app would show now."""
    import json
    import time

    from arcollect_cli.local.cognito import TOTP_STEP_SECONDS, totp
    from arcollect_cli.local.spec import AUTHENTICATORS_FILE

    Target.resolve(None, root)  # a local stack is running (or says how to start one)
    path = root / ".local" / AUTHENTICATORS_FILE
    known = json.loads(path.read_text()) if path.exists() else {}
    secret = known.get(args.username.lower())
    if not secret:
        raise CliError(
            f"{args.username} has no authenticator on the local stack yet: they set one up at their first "
            "sign-in to the staff console"
        )
    now = time.time()
    code = totp(secret, now)
    seconds = int(TOTP_STEP_SECONDS - now % TOTP_STEP_SECONDS)
    emit(
        {"username": args.username, "code": code, "valid_for_seconds": seconds, "secret": secret},
        args.json,
        f"{code} (for {args.username}, valid {seconds} more seconds)",
    )
    return 0
