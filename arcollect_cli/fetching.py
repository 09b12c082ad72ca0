"""What the commands that copy the stack's outgoing files into a folder share (``arcollect changes
fetch``, ``arcollect letters fetch``): their options and the ``--since`` day."""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from arcollect_cli.target import CliError


def add_fetch_options(parser: Any) -> None:
    """``--to DIR`` (required), ``--since DATE``, ``--stack NAME`` and ``--json``."""
    parser.add_argument("--to", required=True, metavar="DIR", help="the folder to write into")
    parser.add_argument("--since", metavar="DATE", help="only days from this one on (YYYY-MM-DD)")
    parser.add_argument("--stack", help="a deployed stack's name (default: the local stack)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def since_day(args: argparse.Namespace) -> date | None:
    """The ``--since`` day, or None for every day; a value that is not a day says what to write."""
    if args.since is None:
        return None
    try:
        return date.fromisoformat(args.since)
    except ValueError:
        raise CliError(f"--since {args.since!r} is not a date: use YYYY-MM-DD, e.g. 2026-11-23") from None
