"""``arcollect changes fetch``: the ERP change feed from the drop bucket into a folder.

A day the daily run has written (``outgoing/daily/<day>.*``) is copied as it is: ``<day>.csv``,
``<day>.jsonl`` and ``<day>/<kind>.csv``. A day it has not written yet (today, or yesterday before the
morning run) is built here from the day's per-change objects, with the same code and order, as
``<day>.partial.csv``, ``<day>.partial.jsonl`` and ``<day>.partial/<kind>.csv``: so the name says which
files are final. Once the day is written, its partial files are removed. Running it again writes
nothing that is already there byte for byte, so it is safe to run on a schedule.
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import boto3

from arcollect.changes import (
    CHANGES_PREFIX,
    DAILY_PREFIX,
    ChangeRecordError,
    Record,
    day_files,
    record_from_json,
)
from arcollect.contract import Output
from arcollect_cli.fetching import add_fetch_options, since_day
from arcollect_cli.target import CliError, Target

ROOT = Path.cwd()
PARTIAL = "partial"


@dataclass(frozen=True)
class Fetched:
    path: str
    day: str
    final: bool
    status: str  # written | unchanged | removed

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "day": self.day, "final": self.final, "status": self.status}


def _keys(s3: Any, bucket: str, prefix: str) -> Iterator[str]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            yield str(obj["Key"])


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None  # not a day's key (something else someone put under outgoing/)


def _write(path: Path, body: bytes, day: str, *, final: bool) -> Fetched:
    if path.is_file() and path.read_bytes() == body:
        return Fetched(str(path), day, final, "unchanged")
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written aside and renamed: an importer watching the folder never reads half a file.
    scratch = path.with_name(f".{path.name}.part")
    scratch.write_bytes(body)
    scratch.replace(path)
    return Fetched(str(path), day, final, "written")


def _remove_partial(destination: Path, day: str) -> list[Fetched]:
    removed = []
    for path in (destination / f"{day}.{PARTIAL}.csv", destination / f"{day}.{PARTIAL}.jsonl"):
        if path.is_file():
            path.unlink()
            removed.append(Fetched(str(path), day, False, "removed"))
    folder = destination / f"{day}.{PARTIAL}"
    if folder.is_dir():
        shutil.rmtree(folder)
        removed.append(Fetched(str(folder), day, False, "removed"))
    return removed


def fetch(s3: Any, bucket: str, destination: Path, since: date | None = None) -> list[Fetched]:
    """Copy the final days and build the partial ones since ``since`` (every day without it)."""
    daily: dict[str, list[str]] = {}
    for key in _keys(s3, bucket, DAILY_PREFIX):
        day = _day(key[len(DAILY_PREFIX) :])
        if day is not None and (since is None or day >= since):
            daily.setdefault(day.isoformat(), []).append(key)
    objects: dict[str, list[str]] = {}
    for key in _keys(s3, bucket, CHANGES_PREFIX):
        day = _day(key[len(CHANGES_PREFIX) :])
        if day is not None and (since is None or day >= since) and day.isoformat() not in daily:
            objects.setdefault(day.isoformat(), []).append(key)
    fetched: list[Fetched] = []
    for day, keys in sorted(daily.items()):
        for key in sorted(keys):
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            fetched.append(_write(destination / key[len(DAILY_PREFIX) :], body, day, final=True))
        fetched += _remove_partial(destination, day)
    for day, keys in sorted(objects.items()):
        records: list[Record] = []
        for key in keys:
            text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
            try:
                records.append(record_from_json(text))
            except ChangeRecordError as error:
                raise CliError(f"s3://{bucket}/{key} is not a change record: {error}") from error
        # Built with the daily run's own code: the same changes give the same rows in the same order.
        files = day_files(date.fromisoformat(day), records, name=f"{day}.{PARTIAL}")
        fetched += [_write(destination / name, body, day, final=False) for name, (body, _) in files.items()]
    return fetched


def cmd_fetch(args: argparse.Namespace) -> int:
    since = since_day(args)
    target = Target.resolve(args.stack, ROOT)
    bucket = target.output(Output.DROP_BUCKET)
    fetched = fetch(boto3.client("s3"), bucket, Path(args.to), since)
    if args.json:
        print(json.dumps([f.as_dict() for f in fetched], indent=2))
    elif not fetched:
        print(
            f"no changes under s3://{bucket}/{DAILY_PREFIX} or {CHANGES_PREFIX}"
            + (f" since {since}" if since else "")
        )
    else:
        for item in fetched:
            print(
                f"{item.status:9} {item.path}"
                + (
                    ""
                    if item.final or item.status == "removed"
                    else "  (partial: the day is not rolled up yet)"
                )
            )
    return 0


def register(commands: Any) -> None:
    changes = commands.add_parser(
        "changes", help="the change feed to the ERP (disputes, credits, promises, holds, contacts, bounces)"
    ).add_subparsers(dest="changes", required=True)
    fetch_parser = changes.add_parser(
        "fetch",
        help="download the change feed's files into a folder",
        description="Copies the daily files of the change feed (outgoing/daily/ in the drop bucket) into "
        "DIR, and builds DAY.partial.* files from the per-change objects of days not rolled up yet. "
        "Every change has a stable change_id, so importing a file twice books nothing twice.",
    )
    add_fetch_options(fetch_parser)
    fetch_parser.set_defaults(func=cmd_fetch)
