"""`arcollect local up --aws-port/--portal-port/--lambda-port`: a port some other program listens on is
refused before anything starts, in one line naming the option and the port, with the CLI's refusal
code; and a port lost on the way to the emulator's server is said the same way instead of hanging
(moto's ThreadedMotoServer.start() waits forever when its server cannot bind).
tests/e2e/test_local_ports.py starts a stack on ports given."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from arcollect_cli.local import stack as local_stack
from arcollect_cli.local.stack import LocalStack, PortUnavailable, listen_on, reserve_ports
from arcollect_cli.target import CliError

REPO = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"


@pytest.fixture
def busy() -> Iterator[int]:
    """A port another program (this test) listens on."""
    with socket.socket() as other:
        other.bind((HOST, 0))
        other.listen()
        yield int(other.getsockname()[1])


def local_up(workdir: Path, *options: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """`arcollect local up OPTIONS` in its own process, as a user runs it; with the time it took."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT_URL", "POWERTOOLS_"))}
    env["PYTHONPATH"] = str(REPO)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "arcollect_cli.main", "local", "up", *options],
        cwd=workdir,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,  # the hang it was: moto waiting forever for a server that exited
        check=False,
    )
    return result, time.monotonic() - started


@pytest.mark.parametrize("name", ["aws", "portal", "lambda"])
def test_a_port_in_use_is_refused_in_one_line_before_anything_starts(
    tmp_path: Path, busy: int, name: str
) -> None:
    result, took = local_up(tmp_path, f"--{name}-port", str(busy))
    assert result.returncode == 2, result
    assert took < 30
    [line] = result.stderr.splitlines()
    assert line.startswith(
        f"arcollect: error: --{name}-port {busy} is in use (another local stack?): "
        f"stop it (Ctrl-C where it runs), or pass a free port, e.g. --{name}-port "
    ), line
    assert line.endswith(f"(without --{name}-port: any free port)"), line
    # The port it suggests is one nothing listens on
    suggested = int(line.split(f"e.g. --{name}-port ")[1].split()[0])
    assert suggested != busy
    listen_on(HOST, suggested).close()
    # Nothing started, nothing written: no outputs.json for another terminal to find, no outbox
    assert "starting the AWS emulator" not in result.stdout + result.stderr
    assert not (tmp_path / ".local").exists()


def test_every_port_is_taken_or_none(busy: int) -> None:
    with pytest.raises(PortUnavailable, match=f"^--lambda-port {busy} is in use") as refused:
        reserve_ports(HOST, {"aws": 0, "portal": 0, "lambda": busy})
    assert isinstance(refused.value, CliError)  # main() prints it in one line and exits 2
    # The ports taken before the busy one are let go
    taken = reserve_ports(HOST, {"aws": 0, "portal": 0})
    ports = {name: int(sock.getsockname()[1]) for name, sock in taken.items()}
    for sock in taken.values():
        sock.close()
    again = reserve_ports(HOST, ports)
    assert {name: int(sock.getsockname()[1]) for name, sock in again.items()} == ports
    for sock in again.values():
        sock.close()


@pytest.mark.parametrize(
    ("wanted", "message"),
    [
        ({"aws": 4790, "portal": 4790}, "--portal-port 4790 is --aws-port too: each needs a port of its own"),
        (
            {"aws": 70000},
            "--aws-port 70000: a port is a number from 1 to 65535 (without --aws-port: any free port)",
        ),
        ({"lambda": -1}, "--lambda-port -1: a port is a number from 1 to 65535"),
    ],
)
def test_ports_that_cannot_be_listened_on_are_named(wanted: dict[str, int], message: str) -> None:
    with pytest.raises(PortUnavailable) as refused:
        reserve_ports(HOST, wanted)
    assert str(refused.value).startswith(message)


def test_a_port_lost_before_the_emulator_serves_is_said_not_waited_on(
    tmp_path: Path, busy: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race, had the port not been held from the check on: the emulator's server binds the port
    itself (as moto's own start does) and finds it taken (here: the fixture's busy one), werkzeug prints
    why and exits its thread; start() says so at once, naming the stack's --aws-port, and lets go of the
    other ports."""
    import werkzeug.serving

    make_server = werkzeug.serving.make_server

    def binding_the_busy_port(host: str, port: int, app: Any, **kw: Any) -> Any:
        kw.pop("fd")
        return make_server(host, busy, app, **kw)

    monkeypatch.setattr(werkzeug.serving, "make_server", binding_the_busy_port)
    stack = LocalStack(tmp_path)
    outcome: list[BaseException] = []

    def start() -> None:
        try:
            stack.start()
        except BaseException as error:
            outcome.append(error)

    starting = threading.Thread(target=start, daemon=True)
    starting.start()
    starting.join(timeout=local_stack.EMULATOR_START_SECONDS + 10)
    assert not starting.is_alive(), "local up hangs on a port it cannot listen on"
    [error] = outcome
    assert isinstance(error, PortUnavailable)
    aws_port = int(stack.endpoints.aws.rsplit(":", 1)[1])
    assert str(error).startswith(f"--aws-port {aws_port} is in use (another local stack?): stop it (Ctrl-C")
    assert not (tmp_path / ".local" / "outputs.json").exists()
    # The portal's and Lambda's ports, reserved for it, are free again
    for endpoint in (stack.endpoints.portal, stack.endpoints.lambda_api):
        listen_on(HOST, int(endpoint.rsplit(":", 1)[1])).close()
