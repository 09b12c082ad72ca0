"""Drives the portal's web app in-process with API Gateway REST proxy events, against the fake Portal:
the request event, the reply, a client that keeps the session cookie, and the fixtures the portal's web
tests share (``portal``, ``client``, ``signed_in``). The staff console's tests reuse the event and reply."""

from __future__ import annotations

import base64
import copy
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from arcollect.portal.web import build_app
from arcollect.portal.web.common import PortalResolver
from tests.unit.portal_fake import FakePortal

EVENT = json.loads((Path(__file__).resolve().parent.parent / "events" / "apigw_get.json").read_text())
HOST = "portal.example.com"


class Context:
    function_name = "portal"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:portal"
    aws_request_id = "req-1"


class Reply:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.status = int(raw["statusCode"])
        headers: dict[str, list[str]] = {}
        for name, values in (raw.get("multiValueHeaders") or {}).items():
            headers.setdefault(name.lower(), []).extend(str(v) for v in values)
        for name, value in (raw.get("headers") or {}).items():
            headers.setdefault(name.lower(), [str(value)])
        self.headers = headers
        body = raw.get("body") or ""
        self.bytes = base64.b64decode(body) if raw.get("isBase64Encoded") else str(body).encode()
        self.text = self.bytes.decode(errors="replace")

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), [""])[0]

    def json(self) -> Any:
        return json.loads(self.text)

    @property
    def cookies(self) -> list[str]:
        return self.headers.get("set-cookie", [])


class Client:
    def __init__(self, portal: FakePortal, app: PortalResolver) -> None:
        self.portal = portal
        self.app = app
        self.cookie: str | None = None

    def request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None = None,
        form: dict[str, str | list[str]] | None = None,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        host: str = HOST,
    ) -> Reply:
        event = copy.deepcopy(EVENT)
        event["httpMethod"] = method
        event["path"] = path
        event["requestContext"]["httpMethod"] = method
        event["requestContext"]["path"] = f"/live{path}"
        all_headers = {"Host": host, "Accept": "text/html", "User-Agent": "pytest"}
        if self.cookie:
            all_headers["Cookie"] = f"arc_session={self.cookie}"
        body: str | None = None
        if form is not None:
            body = urlencode(form, doseq=True)
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        if json_body is not None:
            body = json.dumps(json_body)
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        event["headers"] = all_headers
        event["multiValueHeaders"] = {k: [v] for k, v in all_headers.items()}
        event["queryStringParameters"] = query or None
        event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} if query else None
        event["body"] = body
        return Reply(self.app.resolve(event, Context()))  # type: ignore[arg-type]

    def get(self, path: str, **kw: Any) -> Reply:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Reply:
        return self.request("POST", path, **kw)

    def open_link(self, token: str, **kw: Any) -> Reply:
        """The landing page's "Open my account" button: the token as a form POST to /l."""
        return self.post("/l", form={"token": token}, **kw)

    def sign_in(self, link: str = "good") -> Reply:
        assert self.get(f"/l/{link}").status == 200
        reply = self.open_link(link)
        assert reply.status == 303
        self.cookie = re.search(r"arc_session=([^;]+)", reply.cookies[0]).group(1)  # type: ignore[union-attr]
        return reply

    @property
    def csrf(self) -> str:
        assert self.cookie
        return self.portal.sessions[self.cookie].csrf_token


@pytest.fixture
def portal() -> FakePortal:
    return FakePortal()


@pytest.fixture
def client(portal: FakePortal) -> Client:
    return Client(portal, build_app(portal, environment_name="test"))


@pytest.fixture
def signed_in(client: Client) -> Client:
    client.sign_in()
    return client
