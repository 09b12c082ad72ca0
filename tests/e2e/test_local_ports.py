"""`arcollect local up --aws-port A --portal-port P --lambda-port L`: the stack serves on exactly those
ports (each held from the check before the start, then handed to its server), and a second stack
asking for them, or started in its folder, is refused in one line while the first keeps running
(tests/integration/test_cli_local_ports.py and test_cli_local_folder.py have the refusals themselves)."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import boto3
import pytest

from arcollect.contract import Output
from arcollect_cli.local.stack import reserve_ports
from tests.e2e.conftest import _clean_env, start_stack, stop_stack

pytestmark = pytest.mark.e2e


def free_ports() -> dict[str, int]:
    """Three ports nothing listens on (let go again for the stack to take)."""
    taken = reserve_ports("127.0.0.1", {"aws": 0, "portal": 0, "lambda": 0})
    ports = {name: int(sock.getsockname()[1]) for name, sock in taken.items()}
    for sock in taken.values():
        sock.close()
    return ports


def test_the_stack_serves_on_the_ports_given_and_a_second_one_is_refused_them(tmp_path: Path) -> None:
    ports = free_ports()
    options = [arg for name, port in ports.items() for arg in (f"--{name}-port", str(port))]
    (tmp_path / "first").mkdir()
    stack = start_stack(tmp_path / "first", *options)
    try:
        local = stack.outputs["Local"]
        assert local["AwsEndpoint"] == f"http://127.0.0.1:{ports['aws']}"
        assert local["LambdaEndpoint"] == f"http://127.0.0.1:{ports['lambda']}"
        assert stack.outputs[Output.PORTAL_URL] == f"http://127.0.0.1:{ports['portal']}/"
        # Each answers on its port: the emulator, the portal (API Gateway), Lambda's API
        s3 = boto3.client(
            "s3",
            endpoint_url=local["AwsEndpoint"],
            region_name=local["Region"],
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        assert stack.outputs[Output.DROP_BUCKET] in {b["Name"] for b in s3.list_buckets()["Buckets"]}
        with urllib.request.urlopen(stack.outputs[Output.PORTAL_URL] + "staff/sign-in", timeout=30) as page:  # noqa: S310
            assert page.status == 200
        name = stack.outputs[Output.REPORTS_FUNCTION]
        url = f"{local['LambdaEndpoint']}/2015-03-31/functions/{name}/configuration"
        with urllib.request.urlopen(url, timeout=30) as reply:  # noqa: S310
            assert json.load(reply)["FunctionName"] == name

        # A second stack on the same ports, from another folder: refused at once, the first unharmed
        second = tmp_path / "second"
        second.mkdir()
        refused = subprocess.run(
            [sys.executable, "-m", "arcollect_cli.main", "local", "up", *options],
            cwd=second,
            capture_output=True,
            text=True,
            env=_clean_env(),
            timeout=60,
            check=False,
        )
        assert refused.returncode == 2
        assert refused.stderr.startswith(
            f"arcollect: error: --aws-port {ports['aws']} is in use (another local"
        )
        assert len(refused.stderr.splitlines()) == 1
        assert not (second / ".local").exists()
        assert stack.process.poll() is None
        assert stack.outputs[Output.DROP_BUCKET] in {b["Name"] for b in s3.list_buckets()["Buckets"]}

        # A second stack in the first one's folder, on other ports: refused at once, naming the first
        # (its pid and ports), its outputs.json untouched
        outputs = (tmp_path / "first" / ".local" / "outputs.json").read_bytes()
        refused = subprocess.run(
            [sys.executable, "-m", "arcollect_cli.main", "local", "up"],
            cwd=tmp_path / "first",
            capture_output=True,
            text=True,
            env=_clean_env(),
            timeout=60,
            check=False,
        )
        assert refused.returncode == 2
        [line] = refused.stderr.splitlines()
        given = " ".join(f"--{name}-port {port}" for name, port in ports.items())
        assert line.startswith(
            f"arcollect: error: a local stack already runs in {tmp_path / 'first'} "
            f"(pid {stack.process.pid}, {given}): stop it (Ctrl-C where it runs, or kill {stack.process.pid})"
        ), line
        assert (tmp_path / "first" / ".local" / "outputs.json").read_bytes() == outputs
        assert stack.process.poll() is None
    finally:
        assert stop_stack(stack) == 0
    assert not (tmp_path / "first" / ".local" / "outputs.json").exists()
