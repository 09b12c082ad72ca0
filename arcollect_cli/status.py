"""``arcollect status``: each ERP feed's newest file and its age, whether dunning is holding and why, the
dead-letter queues' depths and the newest KPI report (the staff console's status page shows the same)."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from arcollect.clock import InvalidInstant, parse_instant
from arcollect.contract import Output, parse_dead_letter_queues
from arcollect_cli.target import CliError, Target

ROOT = Path.cwd()


def status_document(target: Target, at: datetime) -> Any:
    """The status of ``target``'s stack at ``at`` (see arcollect/workspace/status.py)."""
    from arcollect.calendar import Calendar
    from arcollect.policy import PolicyError, load_policies
    from arcollect.store.feeds import Feeds
    from arcollect.store.objects import ObjectStore
    from arcollect.store.operations import QueueDepths, ReportIndex
    from arcollect.workspace.status import system_status

    target.bind_table()
    try:
        # The policy in force says how old each feed may be, as the dunning function reads it.
        policies = load_policies(ObjectStore(), target.output(Output.DROP_BUCKET))
    except PolicyError as error:
        raise CliError(str(error)) from error
    return system_status(
        at=at,
        feeds=Feeds(),
        policies=policies,
        calendar=Calendar(),
        queues=QueueDepths(),
        # A stack deployed before the output existed has none: its queues are shown as not configured.
        dead_letter_queues=parse_dead_letter_queues(target.outputs.get(Output.DEAD_LETTER_QUEUES)),
        reports=ReportIndex(),
        reports_bucket=target.outputs.get(Output.REPORTS_BUCKET),
    )


def cmd_status(args: argparse.Namespace) -> int:
    try:
        at = parse_instant(args.at, what="--at") if args.at else datetime.now(UTC)
    except InvalidInstant as error:
        raise CliError(str(error)) from error
    status = status_document(Target.resolve(args.stack, ROOT), at)
    print(json.dumps(status.as_dict(), indent=2) if args.json else status.text())
    return 0


def register(commands: Any) -> None:
    status = commands.add_parser(
        "status",
        help="feeds, the freshness hold, dead-letter queues and the last report",
        description="Each ERP feed's newest file and its age in business days, whether dunning is "
        "holding (a feed older than the policy's freshness section allows) and why, how many messages "
        "each dead-letter queue holds, and the newest KPI report.",
    )
    status.add_argument("--stack", help="a deployed stack's name (default: the local stack)")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.add_argument("--at", help="as of this ISO-8601 instant (default: now), e.g. 2026-11-23T09:00:00Z")
    status.set_defaults(func=cmd_status)
