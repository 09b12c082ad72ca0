"""The CLI read through a pipe that closes early (`arcollect show customer X | head`)."""

from __future__ import annotations

import subprocess
import sys

# A command that prints more than a pipe holds, run through main() as the `arcollect` script runs it.
SCRIPT = """
import argparse, arcollect_cli.main as cli

def endless(args):
    for n in range(10**6):
        print(f"line {n} " + "x" * 100)
    return 0

class Parser:
    def parse_args(self, argv):
        return argparse.Namespace(verbose=False, func=endless)

cli.build_parser = Parser
raise SystemExit(cli.main([]))
"""


def test_a_reader_that_stops_early_stops_the_command_quietly() -> None:
    with subprocess.Popen(
        [sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        assert process.stdout.readline().startswith(b"line 0 ")
        process.stdout.close()  # as `head -1` does once it has its line
        errors = process.stderr.read().decode()
        assert process.wait(timeout=60) == 141
    assert errors == ""  # no traceback, no "Exception ignored ... BrokenPipeError"
