"""`arcollect local up` in a folder whose stack still runs (on other ports): refused in one line naming
the running stack's pid and ports and how to stop it, with the CLI's refusal code, before it writes
over the running stack's `.local/` (its outputs.json would send every command to the wrong stack). A
stack that died (Ctrl-C, a crash, kill -9) leaves nothing that blocks the next one.
tests/e2e/test_local_ports.py does it with a started stack."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from arcollect_cli.local import stack as local_stack
from arcollect_cli.local.stack import LOCK_FILE, LocalStack, StackRunning, hold_folder, listen_on
from arcollect_cli.target import CliError
from tests.integration.test_cli_local_ports import HOST, REPO, local_up


def ports_of(stack: LocalStack) -> dict[str, int]:
    endpoints = (stack.endpoints.aws, stack.endpoints.portal, stack.endpoints.lambda_api)
    return {
        name: int(url.rsplit(":", 1)[1]) for name, url in zip(local_stack.PORT_NAMES, endpoints, strict=True)
    }


def free_port() -> int:
    with listen_on(HOST, 0) as sock:
        return int(sock.getsockname()[1])


@pytest.fixture
def running(tmp_path: Path) -> Iterator[LocalStack]:
    """The folder's stack, as made by `local up` in this process (its ports and its folder held), and
    the outputs.json its start wrote."""
    stack = LocalStack(tmp_path)
    (tmp_path / ".local").mkdir(exist_ok=True)
    (tmp_path / ".local" / "outputs.json").write_text(json.dumps({"Local": {"Pid": os.getpid()}}))
    yield stack
    stack.release_ports()
    stack.release_folder()


def test_a_second_stack_in_the_folder_is_refused_in_one_line_naming_the_first(
    tmp_path: Path, running: LocalStack
) -> None:
    outputs = (tmp_path / ".local" / "outputs.json").read_bytes()
    ports = ports_of(running)
    # When `local up` runs again in the folder, on ports of its own
    result, _ = local_up(tmp_path, "--aws-port", "0")
    # Then it is refused in one line: the running stack's pid, its ports, how to stop it
    assert result.returncode == 2, result
    [line] = result.stderr.splitlines()
    pid = os.getpid()
    assert line == (
        f"arcollect: error: a local stack already runs in {tmp_path} (pid {pid}, --aws-port {ports['aws']} "
        f"--portal-port {ports['portal']} --lambda-port {ports['lambda']}): stop it (Ctrl-C where it runs, "
        f"or kill {pid}), or start this one from another folder (.local/outputs.json names one stack per "
        "folder)"
    )
    # Nothing started, the running stack's outputs.json untouched
    assert "starting the AWS emulator" not in result.stdout + result.stderr
    assert (tmp_path / ".local" / "outputs.json").read_bytes() == outputs


def test_a_stack_made_in_the_folder_is_refused_and_holds_no_port(
    tmp_path: Path, running: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    with pytest.raises(StackRunning, match=r"^a local stack already runs in ") as refused:
        LocalStack(tmp_path, aws_port=port)
    assert isinstance(refused.value, CliError)  # main() prints it in one line and exits 2
    listen_on(HOST, port).close()
    # A stack that got past the first look (the first one started meanwhile) is refused by the lock
    # itself, and lets go of the ports it had taken
    monkeypatch.setattr(local_stack, "refuse_if_running", lambda state_dir: None)
    with pytest.raises(StackRunning, match=f"pid {os.getpid()}, --aws-port {ports_of(running)['aws']} "):
        LocalStack(tmp_path, aws_port=port)
    listen_on(HOST, port).close()


def test_a_stack_that_died_does_not_block_the_next(tmp_path: Path) -> None:
    # Given a stack's process that held the folder and died without stopping (kill -9), leaving its
    # lock file and outputs.json behind
    held = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, pathlib\n"
            "from arcollect_cli.local.stack import LocalStack\n"
            "stack = LocalStack(pathlib.Path(sys.argv[1]))\n"
            "print('held', flush=True)\n"
            "sys.stdin.read()\n",
            str(tmp_path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert held.stdout is not None
    assert held.stdout.readline() == "held\n"
    state = tmp_path / ".local"
    state.mkdir(exist_ok=True)
    (state / "outputs.json").write_text(json.dumps({"Local": {"Pid": held.pid}}))
    with pytest.raises(StackRunning, match=f"pid {held.pid}"):
        LocalStack(tmp_path)
    held.send_signal(signal.SIGKILL)
    held.wait(timeout=30)
    assert json.loads((state / LOCK_FILE).read_text())["pid"] == held.pid  # left behind
    # When a stack is made in the folder again
    stack = LocalStack(tmp_path)
    try:
        # Then it is not blocked, and the folder names it now
        assert json.loads((state / LOCK_FILE).read_text()) == {"pid": os.getpid(), "ports": ports_of(stack)}
    finally:
        stack.release_ports()
        stack.release_folder()
    # A stack that stopped names no one, and blocks no one
    assert (state / LOCK_FILE).read_text() == ""
    again = hold_folder(state, os.getpid(), {})
    again.close()
    for port in ports_of(stack).values():
        listen_on(HOST, port).close()
