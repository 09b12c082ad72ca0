"""The local stack as a user runs it: `arcollect local up` in its own process, driven by `arcollect`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from arcollect.contract import EnvVar

REPO = Path(__file__).resolve().parents[2]


def recent_send_morning(now: datetime | None = None) -> str:
    """A tick time the emailed portal links are still valid for: 09:00 UTC (10:00 in Berlin and
    Paris, 09:00 in London: inside the default send window) on the latest working day in Germany and
    Great Britain at or before today. A fixed date would make the links (signed with the tick's time,
    checked by the portal against the request's real time) expire 30 days after it."""
    from arcollect.calendar import Calendar, SendWindow

    calendar, window = Calendar(), SendWindow()
    at = (now or datetime.now(UTC)).replace(hour=9, minute=0, second=0, microsecond=0)
    if at > (now or datetime.now(UTC)):
        at -= timedelta(days=1)
    while not all(calendar.is_send_day(at.date(), country, window) for country in ("DE", "GB")):
        at -= timedelta(days=1)
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class RunningStack:
    workdir: Path
    outputs: dict[str, Any]
    process: subprocess.Popen[str]

    def arcollect(
        self, *args: str, check: bool = True, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        """Run the `arcollect` command from another "terminal" (a separate process, same folder)."""
        result = subprocess.run(
            [sys.executable, "-m", "arcollect_cli.main", *args],
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=_clean_env(),
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"arcollect {' '.join(args)} exited {result.returncode}: {result.stderr}")
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.arcollect(*args, "--json").stdout)


# Every variable the contract names: the local stack sets them for its functions itself.
TEST_SETTINGS = frozenset(value for name, value in vars(EnvVar).items() if name.isupper())


def _clean_env() -> dict[str, str]:
    # The local stack and the CLI find each other through .local/outputs.json, not inherited variables.
    # Nor the test settings (tests/conftest.py): a user's shell has no POWERTOOLS_* variables, and the
    # local stack must set what the functions need before they are imported.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_ENDPOINT_URL", "POWERTOOLS_")) and k not in TEST_SETTINGS
    }
    env["PYTHONPATH"] = str(REPO)
    return env


def start_stack(workdir: Path, *options: str) -> RunningStack:
    """`arcollect local up OPTIONS` in ``workdir``, once it has written its outputs."""
    outputs_file = workdir / ".local" / "outputs.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "arcollect_cli.main", "local", "up", *options],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_clean_env(),
    )
    deadline = time.monotonic() + 60
    while not outputs_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(
                f"the local stack did not start: {process.stdout.read() if process.stdout else ''}"
            )
        time.sleep(0.1)
    return RunningStack(workdir=workdir, outputs=json.loads(outputs_file.read_text()), process=process)


def stop_stack(stack: RunningStack) -> int:
    stack.process.send_signal(signal.SIGTERM)
    return stack.process.wait(timeout=30)


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    stack = start_stack(tmp_path_factory.mktemp("local-stack"))
    yield stack
    assert stop_stack(stack) == 0
    assert not (stack.workdir / ".local" / "outputs.json").exists(), "outputs.json is removed on a clean stop"
