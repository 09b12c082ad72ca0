"""A collector signed in to the staff console as the deployed portal function serves it: its pages with a
console on a moto user pool, its workspace writing the change feed to the drop bucket. One place for the
tests that drive the console through its forms (payment plans, cash application, amounts per currency)."""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Any

from arcollect.console import StaffConsole
from arcollect.portal.web import build_app
from arcollect.store.changes import ChangeObjects
from arcollect.store.portal import PortalObjects
from arcollect.store.staff import StaffSessionStore
from arcollect.workspace.services import Workspace
from arcollect_cli.lambda_runtime import LambdaContext, load_handler
from tests.integration.real_world import STAFF_PASSWORD, Browser, Reply, hidden, staff_directory


def signed_in_staff(at: datetime, drop_bucket: str, username: str = "cora") -> Browser:
    """``username`` signed in at ``at``: the browser, its session cookie set."""
    handler = load_handler("portal")
    staff = StaffConsole(
        workspace=Workspace(
            policies=handler.app.policies,
            mailer=handler.app.mailer,
            sender=os.environ["SENDER_EMAIL"],
            reports=PortalObjects(),
            change_feed=ChangeObjects(drop_bucket),
        ),
        directory=staff_directory(),
        sessions=StaffSessionStore(),
    )
    app = build_app(handler.app.portal_at, environment_name="test", staff=staff)
    browser = Browser(at, send=lambda event: app.resolve(event, LambdaContext("portal")))
    form = browser.get("/staff/sign-in")
    signed_in = browser.post(
        "/staff/sign-in",
        {"username": username, "password": STAFF_PASSWORD, "csrf_token": hidden(form.text, "csrf_token")},
    )
    assert signed_in.status == 303, signed_in.text
    return browser


def post_json(browser: Browser, path: str, body: dict[str, Any], csrf_token: str) -> Reply:
    """``body`` POSTed as JSON to one of the console's JSON routes, the session's CSRF token in
    X-CSRF-Token, as a script or the console's own page script sends it."""
    send = browser.send

    def with_json(event: dict[str, Any]) -> dict[str, Any]:
        headers = {**event["headers"], "Content-Type": "application/json", "X-CSRF-Token": csrf_token}
        event["headers"] = headers
        event["multiValueHeaders"] = {name: [value] for name, value in headers.items()}
        return send(event)

    browser.send = with_json
    try:
        return browser.request("POST", path, json.dumps(body))
    finally:
        browser.send = send
