"""The local stack's own AWS calls go to the emulator's WSGI application in-process, not over a socket.

The functions, the queue pollers and the demo all run in the process that hosts the emulator. Their
calls used to cross loopback HTTP to moto's server in the same process: a connection, a request line,
headers parsed twice and a server thread per request, about 2 ms of a 4 ms request. Botocore's
``before-send`` event lets a handler answer a request itself (moto's own ``mock_aws`` works this way),
so the request that botocore has serialized and signed is handed to the very application the server
runs, and its response goes back through botocore's parser. What crosses the boundary is unchanged: the
same bytes, the same routing, the same responses. Clients in other processes (a second terminal's
``arcollect``, the browser) still use the socket.

``ARCOLLECT_LOCAL_TRANSPORT=http`` turns this off, so a run can be compared with the socket path.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator
from io import BytesIO
from typing import Any
from urllib.parse import unquote, urlsplit

from botocore.awsrequest import AWSPreparedRequest, AWSResponse

from arcollect_cli.local import metering

TRANSPORT_VARIABLE = "ARCOLLECT_LOCAL_TRANSPORT"

WsgiApp = Callable[..., Any]

_apps: dict[str, WsgiApp] = {}
_lock = threading.Lock()
_installed = False


class _RawBody(BytesIO):
    """What botocore reads a response body from (``read`` for parsed bodies, ``stream`` for chunks)."""

    def stream(self, amt: int = 65536, **_: Any) -> Iterator[bytes]:
        while chunk := self.read(amt):
            yield chunk


def serve_in_process(endpoint: str, app: WsgiApp) -> Callable[[], None]:
    """Answer requests to ``endpoint`` (``http://host:port``) with ``app``; returns the undo.

    The handler is registered for every botocore session created from now on (boto3's default session,
    pynamodb's sessions) and for boto3's default session if it already exists.
    """
    if os.environ.get(TRANSPORT_VARIABLE, "").lower() == "http":
        return lambda: None
    key = _origin(endpoint)
    with _lock:
        _apps[key] = app
        _install()

    def undo() -> None:
        _apps.pop(key, None)

    return undo


def _install() -> None:
    global _installed
    if _installed:
        return
    import boto3
    import botocore.handlers

    botocore.handlers.BUILTIN_HANDLERS.append(("before-send", answer_in_process))
    if boto3.DEFAULT_SESSION is not None:
        boto3.DEFAULT_SESSION._session.register("before-send", answer_in_process)
    _installed = True


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _latin1(text: str) -> str:
    """WSGI carries text as bytes decoded as latin-1 (PEP 3333), as werkzeug's server does."""
    return text.encode().decode("latin-1")


def wsgi_environ(method: str, url: str, headers: Any, body: bytes) -> dict[str, Any]:
    """The environ werkzeug's server (``werkzeug.serving``) builds for this request off the socket."""
    parts = urlsplit(url)
    target = parts.path or "/"
    raw_target = f"{target}?{parts.query}" if parts.query else target
    environ: dict[str, Any] = {
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": parts.scheme,
        "wsgi.input": BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": _latin1(unquote(target)),
        "QUERY_STRING": _latin1(parts.query),
        "REQUEST_URI": _latin1(raw_target),
        "RAW_URI": _latin1(raw_target),
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": 0,
        "SERVER_NAME": parts.hostname or "",
        "SERVER_PORT": str(parts.port or (443 if parts.scheme == "https" else 80)),
        "SERVER_PROTOCOL": "HTTP/1.1",
        # What urllib3 would send: the Host header and, for a body, its length.
        "HTTP_HOST": parts.netloc,
    }
    if body:
        environ["CONTENT_LENGTH"] = str(len(body))
    for name, value in headers:
        if name.lower() == "transfer-encoding":
            continue  # urllib3 would frame the body in chunks; here it arrives whole, with its length
        text = value.decode() if isinstance(value, bytes) else str(value)
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = f"HTTP_{key}"
        environ[key] = text.replace("\r\n", "")
    return environ


def answer_in_process(request: AWSPreparedRequest, event_name: str = "", **_: Any) -> AWSResponse | None:
    """Botocore's ``before-send`` hook: a response for the emulator's requests, None for any other.
    When the local stack meters its functions (``metering``), each request is counted too."""
    app = _apps.get(_origin(request.url))
    if app is None:
        return None
    from werkzeug.test import run_wsgi_app

    body = request.body
    if hasattr(body, "read"):
        body = body.read()
    if isinstance(body, str):
        body = body.encode()
    environ = wsgi_environ(request.method, request.url, request.headers.items(), body or b"")
    app_iter, status, response_headers = run_wsgi_app(app, environ)
    try:
        content = b"".join(app_iter)
    finally:
        close = getattr(app_iter, "close", None)
        if close is not None:
            close()
    code = int(status.split(" ", 1)[0])
    if metering.METER is not None:
        _, service, operation = [*event_name.split("."), "", ""][:3]
        metering.METER.request(service.replace("-", ""), operation, body or b"", code, content, request.url)
    return AWSResponse(request.url, code, dict(response_headers.items()), _RawBody(content))
