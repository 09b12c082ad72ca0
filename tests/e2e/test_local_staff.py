"""Staff sign-in on the local stack: the seeded team authenticates against the emulator's user pool, in
its group, with their authenticator's code (MFA is required); the CLI adds staff users the way an
administrator would on AWS, and a new user sets up an authenticator in the console over HTTP."""

from __future__ import annotations

import html
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import boto3
import pytest

from arcollect.contract import EnvVar, FunctionName, Output, StaffGroups
from arcollect.policy import shipped_policy
from arcollect_cli.local.cognito import totp
from arcollect_cli.local.spec import DEMO_COLLECTORS, DEMO_STAFF_PASSWORD, DEMO_STAFF_TOTP_SECRET
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


def answer_code(
    local_stack: RunningStack, cognito: Any, challenge: dict[str, Any], username: str, code: str
) -> Any:
    """SOFTWARE_TOKEN_MFA: what the portal function sends with the code of the user's app."""
    assert challenge["ChallengeName"] == "SOFTWARE_TOKEN_MFA", challenge
    return cognito.respond_to_auth_challenge(
        ClientId=local_stack.outputs[Output.STAFF_CLIENT_ID],
        ChallengeName="SOFTWARE_TOKEN_MFA",
        Session=challenge["Session"],
        ChallengeResponses={"USERNAME": username, "SOFTWARE_TOKEN_MFA_CODE": code},
    )


def set_up_authenticator(
    local_stack: RunningStack, cognito: Any, challenge: dict[str, Any], username: str
) -> Any:
    """MFA_SETUP: the key, a first code computed from it (as an authenticator app would), then sign-in."""
    assert challenge["ChallengeName"] == "MFA_SETUP", challenge
    associated = cognito.associate_software_token(Session=challenge["Session"])
    code = totp(associated["SecretCode"], time.time())
    verified = cognito.verify_software_token(Session=associated["Session"], UserCode=code)
    return cognito.respond_to_auth_challenge(
        ClientId=local_stack.outputs[Output.STAFF_CLIENT_ID],
        ChallengeName="MFA_SETUP",
        Session=verified["Session"],
        ChallengeResponses={"USERNAME": username},
    )


def groups_of(local_stack: RunningStack, cognito: Any, username: str) -> list[str]:
    groups = cognito.admin_list_groups_for_user(
        UserPoolId=local_stack.outputs[Output.STAFF_USER_POOL_ID], Username=username
    )["Groups"]
    return [g["GroupName"] for g in groups]


def test_a_seeded_collector_signs_in_and_is_a_collector(local_stack: RunningStack, cognito: Any) -> None:
    # Given the local stack's seeded team
    collector = DEMO_COLLECTORS[0]
    # When a collector signs in with the demo password, Cognito asks for the authenticator's code
    challenge = sign_in(local_stack, cognito, collector, DEMO_STAFF_PASSWORD)
    # And a code the demo key does not give is refused (moto alone takes any)
    code = totp(DEMO_STAFF_TOTP_SECRET, time.time())
    with pytest.raises(cognito.exceptions.CodeMismatchException):
        answer_code(local_stack, cognito, challenge, collector, f"{(int(code) + 500_000) % 1_000_000:06d}")
    # Then the demo key's code gets tokens, and the collector is in the collector group only
    response = answer_code(
        local_stack, cognito, challenge, collector, totp(DEMO_STAFF_TOTP_SECRET, time.time())
    )
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
    challenge = sign_in(local_stack, cognito, manager, DEMO_STAFF_PASSWORD)
    code = local_stack.json("staff", "totp", manager)["code"]  # what a developer types
    assert answer_code(local_stack, cognito, challenge, manager, code)["AuthenticationResult"]
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
    # Then the manager signs in with it, sets up an authenticator (MFA is required), in the manager group
    challenge = sign_in(local_stack, cognito, "dana", "Dana-password-1")
    assert set_up_authenticator(local_stack, cognito, challenge, "dana")["AuthenticationResult"]
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
    # And then sets up an authenticator, whose codes sign in from then on
    assert set_up_authenticator(local_stack, cognito, done, "lee@yourco.example")["AuthenticationResult"]
    again = sign_in(local_stack, cognito, "lee@yourco.example", "Lee-own-password-1")
    code = local_stack.json("staff", "totp", "lee@yourco.example")["code"]
    assert answer_code(local_stack, cognito, again, "lee@yourco.example", code)["AuthenticationResult"]
    assert groups_of(local_stack, cognito, "lee@yourco.example") == [StaffGroups.COLLECTOR]


# --- the console over HTTP: a first sign-in sets up an authenticator --------------------------------------


class Browser:
    """Just enough of a browser for the console's forms: keeps cookies by name (Secure ones too, as
    browsers do for 127.0.0.1) and never follows redirects."""

    def __init__(self, staff_url: str) -> None:
        self.staff_url = staff_url.rstrip("/")
        self.jar: dict[str, str] = {}

    def request(self, path: str, form: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: Any, **kwargs: Any) -> None:
                return None

        data = urllib.parse.urlencode(form).encode() if form is not None else None
        headers = {"Accept": "text/html"}
        if self.jar:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.jar.items())
        request = urllib.request.Request(self.staff_url + path, data=data, headers=headers)  # noqa: S310
        try:
            response = urllib.request.build_opener(NoRedirect).open(request, timeout=60)
        except urllib.error.HTTPError as error:
            response = error
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            if "Max-Age=0" in cookie or not value:
                self.jar.pop(name, None)
            else:
                self.jar[name] = value
        return response.status, dict(response.headers), response.read().decode()

    def token(self, page: str) -> str:
        match = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert match, page
        return match.group(1)


def test_a_new_user_sets_up_an_authenticator_in_the_console_and_signs_in_with_its_codes(
    local_stack: RunningStack,
) -> None:
    # Given a collector an administrator added with a password
    local_stack.arcollect(
        "staff", "add-user", "robin@yourco.example", "--email", "robin@yourco.example",
        "--group", "collector", "--password", "Robin-password-1",
    )  # fmt: skip
    browser = Browser(local_stack.outputs["Local"]["StaffConsole"])
    _, _, page = browser.request("/sign-in")
    form = {
        "username": "robin@yourco.example",
        "password": "Robin-password-1",
        "csrf_token": browser.token(page),
    }
    # When they sign in the first time, the console shows the key to add to an authenticator app
    status, _, setup = browser.request("/sign-in", form)
    assert status == 200 and "Set up your authenticator app" in setup, setup
    key = re.search(r'<code id="setup-key"[^>]*>([A-Z2-7 ]+)</code>', setup)
    assert key, setup
    secret = key.group(1).replace(" ", "")
    assert f"secret={secret}" in html.unescape(setup)  # and as an otpauth:// link
    assert "arc_staff" not in browser.jar and "arc_staff_challenge" in browser.jar
    # And a code the key does not give is refused on the form (the local pool checks it, as Cognito)
    code = totp(secret, time.time())
    wrong = f"{(int(code) + 500_000) % 1_000_000:06d}"
    status, _, refused = browser.request("/mfa-setup", {"code": wrong, "csrf_token": browser.token(setup)})
    assert status == 400 and "not right" in refused and "arc_staff" not in browser.jar
    # Then the app's code signs them in, to their worklist
    code = totp(secret, time.time())
    status, headers, _ = browser.request("/mfa-setup", {"code": code, "csrf_token": browser.token(refused)})
    assert status == 303 and headers["Location"].endswith("/staff/worklist"), headers
    assert "arc_staff" in browser.jar and "arc_staff_challenge" not in browser.jar
    status, _, worklist = browser.request("/worklist")
    assert status == 200 and "robin@yourco.example" in worklist

    # And the next sign-in asks for the code; `arcollect staff totp` gives it on the local stack
    later = Browser(local_stack.outputs["Local"]["StaffConsole"])
    _, _, page = later.request("/sign-in")
    status, _, asked = later.request("/sign-in", {**form, "csrf_token": later.token(page)})
    assert status == 200 and "Enter your authenticator code" in asked
    status, _, refused = later.request("/mfa", {"code": wrong, "csrf_token": later.token(asked)})
    assert status == 400 and "not right" in refused
    printed = local_stack.json("staff", "totp", "robin@yourco.example")
    assert printed["secret"] == secret
    status, headers, _ = later.request("/mfa", {"code": printed["code"], "csrf_token": later.token(refused)})
    assert status == 303 and headers["Location"].endswith("/staff/worklist")
    # (and for a user without an authenticator, the command says why there is no code)
    missing = local_stack.arcollect("staff", "totp", "nobody@yourco.example", check=False)
    assert missing.returncode == 2 and "no authenticator" in missing.stderr
