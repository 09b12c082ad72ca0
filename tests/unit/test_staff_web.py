"""The staff console (/staff) against an in-memory Workspace, directory and sessions, driven with API
Gateway REST proxy events like the portal's own web tests."""

from __future__ import annotations

import copy
import html
import re
from dataclasses import replace
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from arcollect.console import StaffConsole
from arcollect.console.signin import decode_challenge, encode_challenge
from arcollect.portal.web import build_app
from arcollect.portal.web.common import PortalResolver
from arcollect.staff import (
    STAFF_SIGN_IN_PER_5MIN,
    MfaCodeRequired,
    MfaSetupRequired,
    NewPasswordRequired,
    sign_in_window,
)
from arcollect.workspace.model import TimelineEntry, WorkspaceInputError
from tests.unit.portal_client import EVENT, HOST, Context, Reply
from tests.unit.portal_fake import FakePortal
from tests.unit.workspace_fake import CORA, MAX, NOW, FakeDirectory, FakeSessions, FakeWorkspace


class StaffClient:
    """A browser of sorts: keeps the cookies the console sets (by name) and sends them back."""

    def __init__(self, app: PortalResolver, sessions: FakeSessions) -> None:
        self.app = app
        self.sessions = sessions
        self.jar: dict[str, str] = {}

    def request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None = None,
        form: dict[str, str | list[str]] | None = None,
        host: str = HOST,
        source_ip: str | None = None,
    ) -> Reply:
        event = copy.deepcopy(EVENT)
        if source_ip:
            event["requestContext"]["identity"]["sourceIp"] = source_ip
        event["httpMethod"] = method
        event["path"] = path
        event["requestContext"]["httpMethod"] = method
        event["requestContext"]["path"] = f"/live{path}"
        headers = {"Host": host, "Accept": "text/html", "User-Agent": "pytest"}
        if self.jar:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.jar.items())
        body = None
        if form is not None:
            body = urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        event["headers"] = headers
        event["multiValueHeaders"] = {k: [v] for k, v in headers.items()}
        event["queryStringParameters"] = query or None
        event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} if query else None
        event["body"] = body
        reply = Reply(self.app.resolve(event, Context()))  # type: ignore[arg-type]
        for cookie in reply.cookies:
            name, _, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            if "Max-Age=0" in cookie or not value:
                self.jar.pop(name, None)
            else:
                self.jar[name] = value
        return reply

    def get(self, path: str, **kw: Any) -> Reply:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Reply:
        return self.request("POST", path, **kw)

    def login_token(self) -> str:
        page = self.get("/staff/sign-in")
        match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert match, page.text
        return match.group(1)

    def sign_in(self, username: str = "cora", password: str = "pw", source_ip: str | None = None) -> Reply:  # noqa: S107
        token = self.login_token()
        return self.post(
            "/staff/sign-in",
            form={"username": username, "password": password, "csrf_token": token},
            source_ip=source_ip,
        )

    @property
    def csrf(self) -> str:
        return self.sessions.sessions[self.jar["arc_staff"]].csrf_token


@pytest.fixture
def workspace() -> FakeWorkspace:
    return FakeWorkspace()


@pytest.fixture
def sessions() -> FakeSessions:
    return FakeSessions()


@pytest.fixture
def directory() -> FakeDirectory:
    return FakeDirectory()


@pytest.fixture
def client(workspace: FakeWorkspace, directory: FakeDirectory, sessions: FakeSessions) -> StaffClient:
    console = StaffConsole(workspace=workspace, directory=directory, sessions=sessions)
    return StaffClient(build_app(FakePortal(), environment_name="test", staff=console), sessions)


@pytest.fixture
def collector(client: StaffClient) -> StaffClient:
    assert client.sign_in("cora").status == 303
    return client


@pytest.fixture
def manager(client: StaffClient) -> StaffClient:
    assert client.sign_in("max").status == 303
    return client


def cookie_attributes(cookie: str) -> dict[str, str]:
    return {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")}


def staff_cookie(reply: Reply, name: str = "arc_staff") -> str:
    found = [c for c in reply.cookies if c.startswith(f"{name}=")]
    assert found, reply.cookies
    return found[0]


def error_for(body: str, control_id: str) -> bool:
    """The control points at its message with aria-describedby, and the message is there."""
    control = re.search(rf'<(?:input|select|textarea|fieldset)[^>]*id="{control_id}"[^>]*>', body)
    return bool(control) and f"{control_id}-error" in control.group(0) and f'id="{control_id}-error"' in body  # type: ignore[union-attr]


def last_call(workspace: FakeWorkspace, name: str) -> dict[str, Any]:
    calls = [kwargs for called, kwargs in workspace.calls if called == name]
    assert calls, f"{name} was not called: {workspace.calls}"
    return calls[-1]


# --- signing in -------------------------------------------------------------------------------------


def test_staff_home_sends_a_stranger_to_sign_in_and_a_signed_in_user_to_the_worklist(
    client: StaffClient,
) -> None:
    assert client.get("/staff").header("Location") == "/staff/sign-in"
    client.sign_in()
    assert client.get("/staff").header("Location") == "/staff/worklist"


def test_sign_in_sets_a_console_only_session_cookie_and_redirects_to_the_worklist(
    client: StaffClient, sessions: FakeSessions
) -> None:
    reply = client.sign_in("cora")
    assert reply.status == 303
    assert reply.header("Location") == "/staff/worklist"
    cookie = staff_cookie(reply)
    attributes = cookie_attributes(cookie)
    assert {"httponly", "secure", "samesite", "max-age"} <= set(attributes)
    assert attributes["path"] == "Path=/staff"
    assert attributes["samesite"] == "SameSite=Lax"
    session_id = cookie.split(";")[0].split("=", 1)[1]
    assert sessions.sessions[session_id].user == CORA
    # The pre-sign-in token is spent.
    assert "Max-Age=0" in staff_cookie(reply, "arc_staff_login")


def test_on_the_execute_api_url_the_cookie_path_and_redirects_keep_the_stage(client: StaffClient) -> None:
    host = "abc123.execute-api.us-east-1.amazonaws.com"
    page = client.get("/staff/sign-in", host=host)
    assert 'action="/live/staff/sign-in"' in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    reply = client.post(
        "/staff/sign-in", form={"username": "cora", "password": "pw", "csrf_token": token}, host=host
    )
    assert reply.header("Location") == "/live/staff/worklist"
    assert cookie_attributes(staff_cookie(reply))["path"] == "Path=/live/staff"


def test_a_wrong_password_re_renders_the_form_with_the_message_and_no_session(
    client: StaffClient, sessions: FakeSessions
) -> None:
    reply = client.sign_in("cora", "wrong")
    assert reply.status == 400
    assert "The user name or password is not right." in reply.text
    assert error_for(reply.text, "password")
    assert 'value="cora"' in reply.text  # the user name typed is kept, the password is not
    assert "wrong" not in reply.text
    assert "arc_staff" not in client.jar
    assert not sessions.sessions


def test_empty_fields_are_named(client: StaffClient) -> None:
    token = client.login_token()
    reply = client.post("/staff/sign-in", form={"username": "", "password": "", "csrf_token": token})
    assert reply.status == 400
    assert error_for(reply.text, "username") and error_for(reply.text, "password")


def test_sign_in_without_the_login_token_is_refused(client: StaffClient, sessions: FakeSessions) -> None:
    client.login_token()
    reply = client.post("/staff/sign-in", form={"username": "cora", "password": "pw", "csrf_token": "forged"})
    assert reply.status == 403
    assert "expired" in reply.text
    assert not sessions.sessions


def test_one_machine_trying_passwords_across_the_staff_is_stopped_before_the_directory_is_asked(
    client: StaffClient, directory: FakeDirectory, sessions: FakeSessions
) -> None:
    # Given one client IP that has posted the sign-in form the most times a 5-minute window allows,
    # each time with another user name (Cognito's lockout is per user, so it would not stop this)
    asked: list[str] = []
    original = directory.sign_in

    def counting(username: str, password: str) -> Any:
        asked.append(username)
        return original(username, password)

    directory.sign_in = counting  # type: ignore[method-assign]
    for n in range(STAFF_SIGN_IN_PER_5MIN):
        assert client.sign_in(f"user{n}", "guess", source_ip="198.51.100.7").status == 400
    # When it posts once more, even with the right password
    reply = client.sign_in("cora", "pw", source_ip="198.51.100.7")
    # Then it is refused with 429 and a message saying when to try again; the directory was not asked
    assert reply.status == 429
    assert "Too many sign-in attempts from this network. Try again in 5 minutes." in reply.text
    assert error_for(reply.text, "password")
    assert len(asked) == STAFF_SIGN_IN_PER_5MIN and "cora" not in asked
    assert not sessions.sessions
    # And another machine (a colleague) signs in as usual; its empty form was not counted, since it
    # never reached the directory
    token = client.login_token()
    empty = {"username": "", "password": "", "csrf_token": token}
    assert client.post("/staff/sign-in", form=empty, source_ip="198.51.100.8").status == 400
    assert client.sign_in("cora", "pw", source_ip="198.51.100.8").status == 303
    assert sessions.sign_ins[("198.51.100.8", sign_in_window(NOW))] == 1


def test_first_sign_in_asks_for_a_new_password_and_keeps_the_challenge_in_an_httponly_cookie(
    client: StaffClient, directory: FakeDirectory, sessions: FakeSessions
) -> None:
    reply = client.sign_in("temp")
    assert reply.status == 200
    assert "Choose a new password" in reply.text
    assert 'action="/staff/new-password"' in reply.text
    assert "challenge-session-xyz" not in reply.text  # the bearer challenge is never in the page
    cookie = staff_cookie(reply, "arc_staff_challenge")
    attributes = cookie_attributes(cookie)
    assert {"httponly", "secure"} <= set(attributes)
    assert attributes["path"] == "Path=/staff"
    assert decode_challenge(client.jar["arc_staff_challenge"]) == NewPasswordRequired(
        "temp", "challenge-session-xyz"
    )
    token = re.search(r'name="csrf_token" value="([^"]+)"', reply.text).group(1)  # type: ignore[union-attr]

    mismatch = client.post(
        "/staff/new-password",
        form={"new_password": "longenough1", "confirm_password": "other", "csrf_token": token},
    )
    assert mismatch.status == 400 and error_for(mismatch.text, "confirm_password")

    weak = client.post(
        "/staff/new-password",
        form={"new_password": "short", "confirm_password": "short", "csrf_token": token},
    )
    assert weak.status == 400
    assert "Password not long enough" in weak.text
    assert error_for(weak.text, "new_password")

    done = client.post(
        "/staff/new-password",
        form={"new_password": "longenough1", "confirm_password": "longenough1", "csrf_token": token},
    )
    assert done.status == 303
    assert done.header("Location") == "/staff/worklist"
    assert directory.new_passwords[-1] == (
        NewPasswordRequired("temp", "challenge-session-xyz"),
        "longenough1",
    )
    assert "arc_staff_challenge" not in client.jar
    assert sessions.sessions[client.jar["arc_staff"]].user.username == "temp"


def test_new_password_without_a_challenge_goes_back_to_sign_in(client: StaffClient) -> None:
    token = client.login_token()
    reply = client.post(
        "/staff/new-password",
        form={"new_password": "x" * 10, "confirm_password": "x" * 10, "csrf_token": token},
    )
    assert reply.status == 303
    assert reply.header("Location") == "/staff/sign-in?reason=challenge"
    assert "took too long" in client.get("/staff/sign-in", query={"reason": "challenge"}).text


# --- the authenticator (MFA is required: MFA_SETUP at first, SOFTWARE_TOKEN_MFA afterwards) -----------


def csrf_in(page: Reply) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


def test_a_first_sign_in_sets_up_the_authenticator_and_the_next_asks_for_its_code(
    client: StaffClient, directory: FakeDirectory, sessions: FakeSessions
) -> None:
    # When a user without an authenticator signs in with the right password
    setup = client.sign_in("nina")
    # Then the setup page shows the key AssociateSoftwareToken gave, grouped, and as an otpauth:// link
    assert setup.status == 200 and "Set up your authenticator app" in setup.text
    assert "JBSW Y3DP EHPK 3PXP" in setup.text
    assert (
        'href="otpauth://totp/arcollect:nina?secret=JBSWY3DPEHPK3PXP&amp;issuer=arcollect&amp;algorithm=SHA1'
        '&amp;digits=6&amp;period=30"' in setup.text
    )
    assert 'action="/staff/mfa-setup"' in setup.text and 'autocomplete="one-time-code"' in setup.text
    # And the challenge sessions stay out of the page, in an HttpOnly, Strict cookie of the console
    assert "session-" not in setup.text and "arc_staff" not in client.jar
    attributes = cookie_attributes(staff_cookie(setup, "arc_staff_challenge"))
    assert {"httponly", "secure"} <= set(attributes)
    assert attributes["path"] == "Path=/staff" and attributes["samesite"] == "SameSite=Strict"
    assert decode_challenge(client.jar["arc_staff_challenge"]) == MfaSetupRequired(
        "nina", "associated-session-2", secret=FakeDirectory.SECRET
    )
    # When the code is wrong: the error is on the form, the key shown again, nobody signed in
    wrong = client.post("/staff/mfa-setup", form={"code": "654321", "csrf_token": csrf_in(setup)})
    assert wrong.status == 400 and error_for(wrong.text, "code") and "not right" in wrong.text
    assert "JBSW Y3DP EHPK 3PXP" in wrong.text
    assert not sessions.sessions and "arc_staff_challenge" in client.jar
    assert "JBSW Y3DP EHPK 3PXP" in client.get("/staff/mfa-setup").text
    # When the right code is typed (with the space some apps show): VerifySoftwareToken, signed in
    done = client.post("/staff/mfa-setup", form={"code": "123 456", "csrf_token": csrf_in(wrong)})
    assert done.status == 303 and done.header("Location") == "/staff/worklist"
    assert directory.codes[-1] == ("setup", "associated-session-2", "123456")
    assert sessions.sessions[client.jar["arc_staff"]].user.username == "nina"
    assert "arc_staff_challenge" not in client.jar

    # And the next sign-in (another browser) asks for the app's code, then goes where it was going
    other = StaffClient(client.app, sessions)
    page = other.get("/staff/sign-in", query={"next": "/staff/customers/C1"})
    code_page = other.post(
        "/staff/sign-in",
        form={
            "username": "nina",
            "password": "pw",
            "csrf_token": csrf_in(page),
            "next": "/staff/customers/C1",
        },
    )
    assert code_page.status == 200 and "Enter your authenticator code" in code_page.text
    assert 'action="/staff/mfa"' in code_page.text and "session-" not in code_page.text
    assert "arc_staff" not in other.jar
    wrong = other.post("/staff/mfa", form={"code": "000000", "csrf_token": csrf_in(code_page)})
    assert wrong.status == 400 and error_for(wrong.text, "code") and "arc_staff" not in other.jar
    signed = other.post("/staff/mfa", form={"code": "123456", "csrf_token": csrf_in(wrong)})
    assert signed.status == 303 and signed.header("Location") == "/staff/customers/C1"
    assert [c[0] for c in directory.codes[-2:]] == ["mfa", "mfa"]
    assert sessions.sessions[other.jar["arc_staff"]].user.username == "nina"


def test_a_new_password_is_followed_by_the_authenticator_setup(
    client: StaffClient, directory: FakeDirectory, sessions: FakeSessions
) -> None:
    directory.mfa.add("temp")
    page = client.sign_in("temp")
    reply = client.post(
        "/staff/new-password",
        form={"new_password": "longenough1", "confirm_password": "longenough1", "csrf_token": csrf_in(page)},
    )
    assert reply.status == 200 and "Set up your authenticator app" in reply.text
    assert isinstance(decode_challenge(client.jar["arc_staff_challenge"]), MfaSetupRequired)
    assert not sessions.sessions


@pytest.mark.parametrize(
    ("path", "challenge"),
    [
        ("/staff/mfa", MfaCodeRequired("nina", "expired-session")),
        ("/staff/mfa-setup", MfaSetupRequired("nina", "expired-session", secret=FakeDirectory.SECRET)),
    ],
)
def test_an_expired_challenge_goes_back_to_sign_in_with_a_message(
    client: StaffClient, sessions: FakeSessions, path: str, challenge: MfaCodeRequired | MfaSetupRequired
) -> None:
    token = client.login_token()
    client.jar["arc_staff_challenge"] = encode_challenge(challenge)
    reply = client.post(path, form={"code": "123456", "csrf_token": token})
    assert reply.status == 303 and reply.header("Location") == "/staff/sign-in?reason=mfa-expired"
    assert "arc_staff_challenge" not in client.jar and not sessions.sessions
    assert "took too long" in client.get("/staff/sign-in", query={"reason": "mfa-expired"}).text


def test_the_code_forms_need_the_login_token_and_a_challenge(
    client: StaffClient, directory: FakeDirectory
) -> None:
    # Without a challenge: back to sign-in
    assert client.get("/staff/mfa").header("Location") == "/staff/sign-in"
    assert client.get("/staff/mfa-setup").header("Location") == "/staff/sign-in"
    token = client.login_token()
    assert client.post("/staff/mfa", form={"code": "123456", "csrf_token": token}).status == 303
    # With a challenge but a forged CSRF token: refused, and the code never reaches Cognito
    directory.authenticators.add("nina")
    client.sign_in("nina")
    forged = client.post("/staff/mfa", form={"code": "123456", "csrf_token": "forged"})
    assert forged.status == 403 and "expired" in forged.text
    assert directory.codes == [] and "arc_staff" not in client.jar
    # An edited cookie is no challenge at all
    client.jar["arc_staff_challenge"] = "bm90LWpzb24"
    assert client.get("/staff/mfa").header("Location") == "/staff/sign-in"


def test_sign_out_ends_the_session_and_clears_the_cookie(
    collector: StaffClient, sessions: FakeSessions
) -> None:
    session_id = collector.jar["arc_staff"]
    refused = collector.post("/staff/sign-out", form={"csrf_token": "forged"})
    assert refused.status == 403
    assert session_id in sessions.sessions
    reply = collector.post("/staff/sign-out", form={"csrf_token": collector.csrf})
    assert reply.status == 303
    assert reply.header("Location") == "/staff/sign-in?reason=signed-out"
    assert "Max-Age=0" in staff_cookie(reply)
    assert sessions.ended == [session_id]
    assert collector.get("/staff/worklist").status == 303


def test_signed_out_visitors_are_sent_to_sign_in_and_come_back_afterwards(client: StaffClient) -> None:
    reply = client.get("/staff/customers/C1")
    assert reply.status == 303
    assert reply.header("Location") == "/staff/sign-in?next=%2Fstaff%2Fcustomers%2FC1"
    page = client.get("/staff/sign-in", query={"next": "/staff/customers/C1"})
    assert 'name="next" value="/staff/customers/C1"' in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    signed = client.post(
        "/staff/sign-in",
        form={"username": "cora", "password": "pw", "csrf_token": token, "next": "/staff/customers/C1"},
    )
    assert signed.header("Location") == "/staff/customers/C1"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/account", "/staff/../x//"])
def test_next_never_leaves_the_console(client: StaffClient, target: str) -> None:
    token = client.login_token()
    reply = client.post(
        "/staff/sign-in", form={"username": "cora", "password": "pw", "csrf_token": token, "next": target}
    )
    assert reply.header("Location") == "/staff/worklist"


def test_a_forged_or_unknown_session_cookie_is_not_a_session(client: StaffClient) -> None:
    client.jar["arc_staff"] = "made-up"
    reply = client.get("/staff/worklist")
    assert reply.status == 303
    assert reply.header("Location").startswith("/staff/sign-in")


def test_posts_without_a_session_never_reach_the_workspace(
    client: StaffClient, workspace: FakeWorkspace
) -> None:
    reply = client.post("/staff/customers/C1/notes", form={"text": "hi", "csrf_token": "x"})
    assert reply.status == 303
    assert reply.header("Location") == "/staff/sign-in"
    assert not [c for c in workspace.calls if c[0] == "add_note"]


# --- worklist, team, disputes, reports ------------------------------------------------------------


def test_the_worklist_shows_the_users_tasks_in_score_order_with_their_reasons(
    collector: StaffClient, workspace: FakeWorkspace
) -> None:
    reply = collector.get("/staff/worklist")
    assert reply.status == 200
    assert last_call(workspace, "worklist")["assignee"] == "cora"
    assert last_call(workspace, "worklist")["now"] == NOW
    text = reply.text
    positions = [text.index(f"Call about {task}") for task in ("T1", "T2", "T3")]
    assert positions == sorted(positions)
    assert "90 points for task T1" in text and "55 points for task T2" in text
    assert "1,200.50 EUR" in text
    assert 'href="tel:+49 30 1234567"' in text
    assert 'href="/staff/customers/C1?task=T1#outcome"' in text
    assert 'action="/staff/customers"' in text  # go to a customer
    assert 'id="assignee"' not in text  # collectors do not pick another worklist


def test_go_to_customer_redirects_to_the_360(collector: StaffClient) -> None:
    reply = collector.get("/staff/customers", query={"customer_id": " C 1/x "})
    assert reply.status == 303
    assert reply.header("Location") == "/staff/customers/C%201%2Fx"
    empty = collector.get("/staff/customers", query={"customer_id": ""})
    assert empty.status == 400 and error_for(empty.text, "customer_id")


def test_a_collector_cannot_see_another_worklist_but_a_manager_can(
    client: StaffClient, workspace: FakeWorkspace
) -> None:
    client.sign_in("cora")
    assert client.get("/staff/worklist", query={"assignee": "max"}).status == 403
    client.jar.clear()
    client.sign_in("max")
    reply = client.get("/staff/worklist", query={"assignee": "cora"})
    assert reply.status == 200
    assert "Worklist of cora" in reply.text
    assert last_call(workspace, "worklist")["assignee"] == "cora"


@pytest.mark.parametrize("path", ["/staff/team", "/staff/reports"])
def test_manager_pages_are_403_for_collectors(
    collector: StaffClient, workspace: FakeWorkspace, path: str
) -> None:
    reply = collector.get(path)
    assert reply.status == 403
    assert "Managers only" in reply.text
    assert not [c for c in workspace.calls if c[0] in ("team_workload", "reports")]
    assert 'href="/staff/team"' not in reply.text  # nor are they in a collector's navigation


def test_the_team_view_for_managers(manager: StaffClient, workspace: FakeWorkspace) -> None:
    reply = manager.get("/staff/team")
    assert reply.status == 200
    assert last_call(workspace, "team_workload")["by"] == MAX
    assert 'href="/staff/worklist?assignee=cora"' in reply.text
    assert "4,321.50" in reply.text and "call: 3" in reply.text


def test_reports_link_straight_to_the_presigned_s3_urls(
    manager: StaffClient, workspace: FakeWorkspace
) -> None:
    reply = manager.get("/staff/reports")
    assert reply.status == 200
    assert last_call(workspace, "reports")["by"] == MAX
    assert (
        '<a href="https://reports.s3.amazonaws.com/reports/2026-11-24/kpis.json?X-Amz-Signature=abc"'
        in reply.text
    )
    assert "2,048 bytes" in reply.text


def test_the_dispute_queue(collector: StaffClient, workspace: FakeWorkspace) -> None:
    reply = collector.get("/staff/disputes")
    assert reply.status == 200
    assert "12 of 10 days" in reply.text and "Past SLA" in reply.text
    assert "logistics" in reply.text and "Damaged or defective" in reply.text
    assert last_call(workspace, "disputes") == {"include_closed": False}
    collector.get("/staff/disputes", query={"closed": "1"})
    assert last_call(workspace, "disputes") == {"include_closed": True}


# --- the 360 --------------------------------------------------------------------------------------------


def test_the_360_page_has_every_section(collector: StaffClient) -> None:
    reply = collector.get("/staff/customers/C1")
    assert reply.status == 200
    text = reply.text
    for heading in (
        "Dunning state",
        "Profile and contacts",
        "Risk indicators",
        "Open items",
        "Tasks",
        "Record an outcome",
        "Promises to pay",
        "Disputes",
        "Payments",
        "Timeline",
        "Add a note",
        "Take a promise to pay",
        "Log a dispute",
        "Pause dunning",
        "Dunning hold",
    ):
        assert f">{heading}</h" in text, heading
    assert "Acme Retail GmbH" in text and "ap@acme.example" in text
    assert "Paused</span> until 2026-11-26" in text
    assert "Policy: standard-firmer (the challenger arm of the test firmer-2027)." in text
    assert "31 to 60 days late" in text and "1,200.50 EUR" in text
    assert "200.00 EUR" in text  # paid so far on the promise
    assert "12 of 10 days" in text and "logistics" in text
    assert "17.5" in text and "worsening" in text and "75% kept" in text and "risk--high" in text
    assert "PAY-77" in text
    # A credit note is a credit: negative, never late or overdue
    credit_row = text[text.index('<tr class="credit">') :]
    credit_row = credit_row[: credit_row.index("</tr>")]
    assert "CN/2026/0042" in credit_row and "-150.00 EUR" in credit_row and "Credit note" in credit_row
    assert "Overdue" not in credit_row and "days late" not in credit_row
    # The timeline, newest first.
    assert text.index("Newest note by Cora") < text.index("Older reminder sent")
    # A sweep's decisions, each with its invoice, outcome and reason, and the policy revision
    assert '<strong class="outcome">suppressed</strong>: <span class="reason">disputed: left out' in text
    assert '<span class="invoice">INV-2026/1</span>' in text and "revision 3f2a9c81d0be" in text
    # The dispute can move on to what its workflow allows from "open".
    assert 'action="/staff/customers/C1/disputes/D1/status"' in text
    assert 'value="in_review"' in text and 'value="closed"' not in text


def hold_state(page: str) -> str:
    """The Dunning state section's hold line, as the collector reads it."""
    found = re.search(r'<li id="dunning-hold">(.*?)</li>', page, re.S)
    assert found, page
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1)))


def checked_hold(page: str) -> str:
    return "on" if re.search(r'id="hold-on"[^>]* checked', page) else "off"


HELD_BY_CORA = TimelineEntry(
    at=NOW - timedelta(days=2),
    kind="dunning_hold",
    summary="Cora Collector put the customer on dunning hold: Legal review",
)


@pytest.mark.parametrize(
    ("erp", "collector_hold", "reason", "entries", "line", "default"),
    [
        (False, False, None, (), "Not on hold.", "on"),
        (
            True,
            False,
            None,
            (),
            "On dunning hold: the ERP's customer master sets it. No reminders, no dunning tasks until a "
            "customer master file ends it.",
            "on",  # releasing here would not end the ERP's hold: the form offers a collector's
        ),
        (
            False,
            True,
            "Legal review",
            # A pause after the hold, and an older hold since released: the newest hold is the one shown
            (
                TimelineEntry(
                    NOW - timedelta(days=1),
                    "dunning_hold",
                    "Cora Collector paused dunning until 2026-12-01: x",
                ),
                HELD_BY_CORA,
                TimelineEntry(
                    NOW - timedelta(days=9), "dunning_hold", "Max Manager released the dunning hold"
                ),
                TimelineEntry(
                    NOW - timedelta(days=20),
                    "dunning_hold",
                    "Max Manager put the customer on dunning hold: old",
                ),
            ),
            "On dunning hold: a collector's hold since 2026-11-21 (Cora Collector put the customer on "
            "dunning hold: Legal review). No reminders, no dunning tasks until it is released.",
            "off",
        ),
        (
            True,
            True,
            "Legal review",
            (HELD_BY_CORA,),
            "On dunning hold, twice: the ERP's customer master sets it, and a collector's hold since "
            "2026-11-21 (Cora Collector put the customer on dunning hold: Legal review). No reminders, no "
            "dunning tasks; releasing the collector's hold here leaves the ERP's, which a customer master "
            "file ends.",
            "off",
        ),
        (
            False,
            True,
            "handed to a collection agency",
            (),  # no timeline entry of it (written before the timeline kept one): the profile's reason
            "On dunning hold: a collector's hold (handed to a collection agency). No reminders, no dunning "
            "tasks until it is released.",
            "off",
        ),
    ],
)
def test_the_360_says_who_holds_dunning(
    collector: StaffClient,
    workspace: FakeWorkspace,
    erp: bool,
    collector_hold: bool,
    reason: str | None,
    entries: tuple[TimelineEntry, ...],
    line: str,
    default: str,
) -> None:
    account = workspace.accounts["C1"]
    customer = replace(account.customer, dunning_hold=erp, collector_hold=collector_hold, hold_reason=reason)
    workspace.accounts["C1"] = replace(account, customer=customer, timeline=(*account.timeline, *entries))
    page = collector.get("/staff/customers/C1").text
    assert hold_state(page) == line
    assert checked_hold(page) == default


def test_the_outcome_form_is_for_the_chosen_open_task(collector: StaffClient) -> None:
    without = collector.get("/staff/customers/C1")
    assert "/tasks/T1/outcome" not in without.text
    reply = collector.get("/staff/customers/C1", query={"task": "T1"})
    assert 'action="/staff/customers/C1/tasks/T1/outcome"' in reply.text
    for outcome in ("reached", "voicemail", "no_answer", "promise_taken", "dispute_logged", "wrong_contact"):
        assert f'value="{outcome}"' in reply.text
    assert "/tasks/T0/outcome" not in collector.get("/staff/customers/C1", query={"task": "T0"}).text


def test_an_unknown_customer_is_a_404_page(collector: StaffClient) -> None:
    reply = collector.get("/staff/customers/NOPE")
    assert reply.status == 404
    assert "no customer NOPE" in reply.text


def test_recording_a_promise_outcome_passes_everything_and_the_session_user(
    collector: StaffClient, workspace: FakeWorkspace
) -> None:
    reply = collector.post(
        "/staff/customers/C1/tasks/T1/outcome",
        form={
            "csrf_token": collector.csrf,
            "outcome": "promise_taken",
            "note": "Will pay Friday",
            "promised_until": "2026-11-27",
            "promise_amount": "1200.50",
            "invoice_numbers": ["INV-1", "INV-2"],
            "dispute_reason": "damaged_or_defective",
            "by": "max",  # a user named in the form is ignored
        },
    )
    assert reply.status == 303
    assert reply.header("Location") == "/staff/customers/C1?done=outcome"
    call = last_call(workspace, "record_outcome")
    assert call == {
        "customer_id": "C1",
        "task_id": "T1",
        "outcome": "promise_taken",
        "note": "Will pay Friday",
        "by": CORA,
        "now": NOW,
        "promised_until": "2026-11-27",
        "promise_amount": "1200.50",
        "invoice_numbers": ["INV-1", "INV-2"],
        "dispute_reason": None,
    }
    assert "The outcome was recorded." in collector.get("/staff/customers/C1", query={"done": "outcome"}).text


def test_recording_a_dispute_outcome(collector: StaffClient, workspace: FakeWorkspace) -> None:
    collector.post(
        "/staff/customers/C1/tasks/T1/outcome",
        form={
            "csrf_token": collector.csrf,
            "outcome": "dispute_logged",
            "note": "Says it is damaged",
            "invoice_numbers": ["INV-1"],
            "dispute_reason": "damaged_or_defective",
            "promised_until": "2026-11-27",
        },
    )
    call = last_call(workspace, "record_outcome")
    assert call["dispute_reason"] == "damaged_or_defective" and call["invoice_numbers"] == ["INV-1"]
    assert call["promised_until"] is None and call["promise_amount"] is None


@pytest.mark.parametrize(
    ("path", "form", "method", "expected", "done"),
    [
        ("notes", {"text": "Called, left details"}, "add_note", {"text": "Called, left details"}, "note"),
        (
            "promises",
            {"invoice_numbers": ["INV-1"], "amount": "500", "promised_until": "2026-12-01"},
            "take_promise",
            {"invoice_numbers": ["INV-1"], "amount": "500", "promised_until": "2026-12-01"},
            "promise",
        ),
        (
            "disputes",
            {"invoice_number": "INV-2", "reason": "wrong_amount_or_price", "comment": "Price was 10% off"},
            "log_dispute",
            {"invoice_number": "INV-2", "reason": "wrong_amount_or_price", "comment": "Price was 10% off"},
            "dispute",
        ),
        (
            "disputes/D1/status",
            {"status": "resolved_credit", "note": "Credit note CN-4", "credit_amount": "120.00"},
            "move_dispute",
            {
                "dispute_id": "D1",
                "status": "resolved_credit",
                "note": "Credit note CN-4",
                "credit_amount": "120.00",
            },
            "dispute-status",
        ),
        (
            "pause",
            {"until": "2026-12-10", "reason": "Awaiting budget approval"},
            "pause",
            {"until": "2026-12-10", "reason": "Awaiting budget approval"},
            "pause",
        ),
        (
            "hold",
            {"hold": "on", "reason": "Legal review"},
            "set_hold",
            {"hold": True, "reason": "Legal review"},
            "hold-on",
        ),
        (
            "hold",
            {"hold": "off", "reason": "Cleared"},
            "set_hold",
            {"hold": False, "reason": "Cleared"},
            "hold-off",
        ),
    ],
)
def test_each_form_calls_the_workspace_with_the_session_user_and_redirects(
    collector: StaffClient,
    workspace: FakeWorkspace,
    path: str,
    form: dict[str, Any],
    method: str,
    expected: dict[str, Any],
    done: str,
) -> None:
    reply = collector.post(
        f"/staff/customers/C1/{path}", form={**form, "csrf_token": collector.csrf, "by": "max"}
    )
    assert reply.status == 303, reply.text
    assert reply.header("Location") == f"/staff/customers/C1?done={done}"
    call = last_call(workspace, method)
    assert call["customer_id"] == "C1"
    assert call["by"] == CORA
    assert call["now"] == NOW
    for name, value in expected.items():
        assert call[name] == value, name
    page = collector.get("/staff/customers/C1", query={"done": done})
    assert 'role="status"' in page.text


def test_no_credit_amount_is_passed_as_none(collector: StaffClient, workspace: FakeWorkspace) -> None:
    collector.post(
        "/staff/customers/C1/disputes/D1/status",
        form={"status": "in_review", "note": "", "credit_amount": "", "csrf_token": collector.csrf},
    )
    assert last_call(workspace, "move_dispute")["credit_amount"] is None


@pytest.mark.parametrize(
    "path",
    [
        "notes",
        "promises",
        "disputes",
        "disputes/D1/status",
        "pause",
        "hold",
        "tasks/T1/outcome",
    ],
)
def test_every_post_checks_the_csrf_token(
    collector: StaffClient, workspace: FakeWorkspace, path: str
) -> None:
    before = len(workspace.calls)
    reply = collector.post(
        f"/staff/customers/C1/{path}", form={"text": "x", "hold": "on", "csrf_token": "forged"}
    )
    assert reply.status == 403
    assert "This form has expired" in reply.text
    missing = collector.post(f"/staff/customers/C1/{path}", form={"text": "x"})
    assert missing.status == 403
    assert len(workspace.calls) == before


@pytest.mark.parametrize(
    ("path", "method", "form", "error", "control", "kept"),
    [
        (
            "promises",
            "take_promise",
            {"invoice_numbers": ["INV-2"], "amount": "lots", "promised_until": "2026-12-01"},
            WorkspaceInputError("amount", "enter the amount as a number"),
            "promise-amount",
            ['value="lots"', 'value="2026-12-01"', 'value="INV-2" checked'],
        ),
        (
            "notes",
            "add_note",
            {"text": ""},
            None,  # the fake refuses an empty note itself
            "note-text",
            [],
        ),
        (
            "disputes",
            "log_dispute",
            {"invoice_number": "INV-1", "reason": "", "comment": "Broken on arrival"},
            WorkspaceInputError("reason", "choose a reason"),
            "dispute-reason",
            ["Broken on arrival", 'value="INV-1" selected'],
        ),
        (
            "pause",
            "pause",
            {"until": "2020-01-01", "reason": "too late"},
            WorkspaceInputError("until", "choose a date after today"),
            "pause-until",
            ['value="2020-01-01"', 'value="too late"'],
        ),
        (
            "disputes/D1/status",
            "move_dispute",
            {"status": "resolved_credit", "note": "CN", "credit_amount": "-5"},
            WorkspaceInputError("credit_amount", "a credit is more than zero"),
            "move-D1-credit_amount",
            ['value="-5"', ">CN</textarea>"],
        ),
        (
            "tasks/T1/outcome",
            "record_outcome",
            {"outcome": "promise_taken", "note": "Friday", "promised_until": "", "promise_amount": "10"},
            WorkspaceInputError("promised_until", "enter the date the customer will pay by"),
            "outcome-promised_until",
            [">Friday</textarea>", 'value="10"', 'value="promise_taken" selected'],
        ),
    ],
)
def test_input_errors_re_render_the_360_naming_the_field_and_keeping_what_was_typed(
    collector: StaffClient,
    workspace: FakeWorkspace,
    path: str,
    method: str,
    form: dict[str, Any],
    error: WorkspaceInputError | None,
    control: str,
    kept: list[str],
) -> None:
    if error is not None:
        workspace.fail[method] = error
    reply = collector.post(f"/staff/customers/C1/{path}", form={**form, "csrf_token": collector.csrf})
    assert reply.status == 400
    assert error_for(reply.text, control), control
    assert f'href="#{control}"' in reply.text  # the error summary links to it
    for fragment in kept:
        assert fragment in reply.text, fragment
    assert "There is a problem" in reply.text


def test_an_error_about_a_field_the_form_lacks_is_shown_at_the_form(
    collector: StaffClient, workspace: FakeWorkspace
) -> None:
    workspace.fail["add_note"] = WorkspaceInputError("customer", "this customer is archived")
    reply = collector.post("/staff/customers/C1/notes", form={"text": "hi", "csrf_token": collector.csrf})
    assert reply.status == 400
    assert 'href="#note"' in reply.text and "this customer is archived" in reply.text


def test_an_unknown_hold_choice_is_named(collector: StaffClient, workspace: FakeWorkspace) -> None:
    reply = collector.post(
        "/staff/customers/C1/hold", form={"hold": "maybe", "reason": "x", "csrf_token": collector.csrf}
    )
    assert reply.status == 400 and error_for(reply.text, "hold-hold")
    assert not [c for c in workspace.calls if c[0] == "set_hold"]


# --- headers, 404 and 503 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "signed"),
    [
        ("/staff/sign-in", False),
        ("/staff", False),
        ("/staff/worklist", True),
        ("/staff/customers/C1", True),
        ("/staff/customers/NOPE", True),
        ("/staff/nothing-here", True),
        ("/staff/team", True),
    ],
)
def test_staff_pages_are_never_cached_or_indexed_and_carry_the_security_headers(
    client: StaffClient, path: str, signed: bool
) -> None:
    if signed:
        client.sign_in("cora")
    reply = client.get(path)
    assert reply.header("Cache-Control") == "no-store"
    assert reply.header("X-Robots-Tag") == "noindex, nofollow"
    csp = reply.header("Content-Security-Policy")
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert reply.header("X-Content-Type-Options") == "nosniff"
    assert "<script>" not in reply.text


def test_an_unknown_staff_path_is_a_staff_404(collector: StaffClient) -> None:
    reply = collector.get("/staff/nothing-here")
    assert reply.status == 404
    assert "Staff console" in reply.text


def test_the_staff_stylesheet_is_served(client: StaffClient) -> None:
    page = client.get("/staff/sign-in")
    href = re.search(r'href="(/static/staff\.css\?v=[0-9a-f]+)"', page.text)
    assert href
    assert client.get("/static/staff.css").status == 200


def test_without_a_user_pool_the_console_says_it_is_not_configured() -> None:
    app = build_app(FakePortal(), environment_name="test")
    client = StaffClient(app, FakeSessions())
    for method, path in (("GET", "/staff"), ("GET", "/staff/worklist"), ("POST", "/staff/sign-in")):
        reply = client.request(method, path, form={} if method == "POST" else None)
        assert reply.status == 503, path
        assert "Staff console not configured" in reply.text
        assert reply.header("X-Robots-Tag") == "noindex, nofollow"
    assert client.get("/health").status == 200


def _checked_minutes_ago(sessions: FakeSessions, minutes: int) -> None:
    """Age every session as if the directory last confirmed its user ``minutes`` ago."""
    for sid, session in list(sessions.sessions.items()):
        earlier = session.created_at - timedelta(minutes=minutes)
        sessions.sessions[sid] = replace(session, created_at=earlier, checked_at=None)


def test_a_user_disabled_in_the_directory_loses_the_session_within_minutes(
    collector: StaffClient, sessions: FakeSessions, directory: FakeDirectory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(directory, "current_user", lambda username: None)
    # Checked 4 minutes ago: the session goes on (the directory is asked every STAFF_RECHECK_MINUTES)
    _checked_minutes_ago(sessions, 4)
    assert collector.get("/staff/worklist").status == 200
    # Checked 6 minutes ago: the directory says the user is gone, so is the session
    [sid] = list(sessions.sessions)
    _checked_minutes_ago(sessions, 6)
    reply = collector.get("/staff/worklist")
    assert reply.status == 303 and "/staff/sign-in" in reply.header("Location")
    assert sid in sessions.ended


def test_a_manager_removed_from_the_group_loses_the_manager_pages_within_minutes(
    manager: StaffClient, sessions: FakeSessions, directory: FakeDirectory, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert manager.get("/staff/team").status == 200
    demoted = replace(MAX, groups=frozenset({"collector"}))
    monkeypatch.setattr(directory, "current_user", lambda username: demoted)
    _checked_minutes_ago(sessions, 6)
    assert manager.get("/staff/team").status == 403
    assert manager.get("/staff/worklist").status == 200


# --- reassignment (managers) ------------------------------------------------------------------------------


def test_a_manager_reassigns_ticked_tasks_from_a_worklist(
    manager: StaffClient, workspace: FakeWorkspace
) -> None:
    page = manager.get("/staff/worklist", query={"assignee": "cora"})
    assert 'action="/staff/worklist/reassign"' in page.text
    assert 'form="reassign" id="pick-1" name="task" value="C1/T1"' in page.text
    reply = manager.post(
        "/staff/worklist/reassign",
        form={"task": ["C1/T1", "C2/T2"], "to": "max", "assignee": "cora", "csrf_token": manager.csrf},
    )
    assert reply.status == 303, reply.text
    assert reply.header("Location") == "/staff/worklist?assignee=cora&done=reassigned"
    call = last_call(workspace, "reassign_tasks")
    assert call["customer_tasks"] == [("C1", "T1"), ("C2", "T2")]
    assert call["to"] == "max" and call["by"] == MAX and call["now"] == NOW
    done = manager.get("/staff/worklist", query={"assignee": "cora", "done": "reassigned"})
    assert "The tasks were reassigned." in done.text


def test_a_refused_reassignment_re_renders_the_worklist_naming_the_field(
    manager: StaffClient, workspace: FakeWorkspace
) -> None:
    workspace.fail["reassign_tasks"] = WorkspaceInputError(
        "to", "'zed' is not a collector of the policy's team"
    )
    reply = manager.post(
        "/staff/worklist/reassign",
        form={"task": ["C1/T1"], "to": "zed", "assignee": "cora", "csrf_token": manager.csrf},
    )
    assert reply.status == 400
    assert error_for(reply.text, "reassign-to") and 'href="#reassign-to"' in reply.text
    assert 'value="zed"' in reply.text and 'value="C1/T1" checked' in reply.text


def test_reassignment_is_for_managers_and_checks_the_csrf_token(
    client: StaffClient, workspace: FakeWorkspace
) -> None:
    client.sign_in("cora")
    assert 'action="/staff/worklist/reassign"' not in client.get("/staff/worklist").text
    assert 'action="/staff/customers/C1/owner"' not in client.get("/staff/customers/C1").text
    form = {"task": ["C1/T1"], "to": "max", "csrf_token": client.csrf}
    assert client.post("/staff/worklist/reassign", form=form).status == 403
    client.jar.clear()
    client.sign_in("max")
    assert client.post("/staff/worklist/reassign", form={**form, "csrf_token": "forged"}).status == 403
    assert client.post("/staff/customers/C1/owner", form={"to": "max", "csrf_token": "forged"}).status == 403
    assert not [c for c in workspace.calls if c[0].startswith("reassign")]


def test_a_manager_gives_the_customer_to_a_cover_until_a_day(
    manager: StaffClient, workspace: FakeWorkspace
) -> None:
    page = manager.get("/staff/customers/C1")
    assert 'action="/staff/customers/C1/owner"' in page.text and 'id="owner-until"' in page.text
    reply = manager.post(
        "/staff/customers/C1/owner", form={"to": "max", "until": "2026-12-24", "csrf_token": manager.csrf}
    )
    assert reply.status == 303 and reply.header("Location") == "/staff/customers/C1?done=owner"
    call = last_call(workspace, "reassign_account")
    assert call == {"customer_id": "C1", "to": "max", "until": "2026-12-24", "by": MAX, "now": NOW}
    workspace.fail["reassign_account"] = WorkspaceInputError("until", "the cover must end today or later")
    refused = manager.post(
        "/staff/customers/C1/owner", form={"to": "max", "until": "2020-01-01", "csrf_token": manager.csrf}
    )
    assert refused.status == 400 and error_for(refused.text, "owner-until")
    assert 'value="2020-01-01"' in refused.text
