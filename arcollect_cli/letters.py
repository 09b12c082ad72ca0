"""``arcollect letters fetch``: the dunning letters handed over, from the drop bucket into a folder.

What a print-and-mail service does with ``outgoing/letters/`` (docs/letters.md), for a person: each
manifest (``<day>/<letter id>.json``) names a handed-over letter; its PDF is copied beside it once its
SHA-256 matches the manifest's. A PDF without a manifest was never handed over and is left alone. Running
it again writes nothing that is already there byte for byte, so it is safe to run on a schedule.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import boto3

from arcollect.contract import DropPrefix, Output
from arcollect_cli.fetching import add_fetch_options, since_day
from arcollect_cli.target import CliError, Target

ROOT = Path.cwd()


@dataclass(frozen=True)
class Fetched:
    letter_id: str
    day: str
    customer_id: str
    pages: int
    pdf: str
    status: str  # written | unchanged

    def as_dict(self) -> dict[str, Any]:
        return {
            "letter_id": self.letter_id,
            "day": self.day,
            "customer_id": self.customer_id,
            "pages": self.pages,
            "pdf": self.pdf,
            "status": self.status,
        }


def _write(path: Path, body: bytes) -> bool:
    if path.is_file() and path.read_bytes() == body:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written aside and renamed: a print queue watching the folder never reads half a file.
    scratch = path.with_name(f".{path.name}.part")
    scratch.write_bytes(body)
    scratch.replace(path)
    return True


def fetch(s3: Any, bucket: str, destination: Path, since: date | None = None) -> list[Fetched]:
    """Copy every handed-over letter (its manifest and PDF) of the days from ``since`` on."""
    fetched: list[Fetched] = []
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=DropPrefix.LETTERS)
    manifests = sorted(
        str(obj["Key"])
        for page in pages
        for obj in page.get("Contents", [])
        if str(obj["Key"]).endswith(".json")
    )
    for key in manifests:
        day = key[len(DropPrefix.LETTERS) :].partition("/")[0]
        try:
            if since is not None and date.fromisoformat(day) < since:
                continue
        except ValueError:
            continue  # not a day's folder (something else someone put under outgoing/letters/)
        raw = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        try:
            manifest = json.loads(raw)
            pdf_key, digest = str(manifest["file"]), str(manifest["sha256"])
        except (ValueError, KeyError, TypeError) as error:
            raise CliError(f"s3://{bucket}/{key} is not a letter manifest: {error}") from error
        pdf = s3.get_object(Bucket=bucket, Key=pdf_key)["Body"].read()
        if hashlib.sha256(pdf).hexdigest() != digest:
            raise CliError(f"s3://{bucket}/{pdf_key} does not match the SHA-256 its manifest {key} names")
        folder = destination / day
        pdf_path = folder / Path(pdf_key).name
        # The PDF first: a manifest in the folder always names a complete PDF, as in the bucket.
        written = _write(pdf_path, pdf)
        written = _write(folder / Path(key).name, raw) or written
        fetched.append(
            Fetched(
                letter_id=str(manifest.get("letter_id", "")),
                day=day,
                customer_id=str(manifest.get("customer_id", "")),
                pages=int(manifest.get("pages", 0)),
                pdf=str(pdf_path),
                status="written" if written else "unchanged",
            )
        )
    return fetched


def cmd_fetch(args: argparse.Namespace) -> int:
    since = since_day(args)
    target = Target.resolve(args.stack, ROOT)
    bucket = target.output(Output.DROP_BUCKET)
    fetched = fetch(boto3.client("s3"), bucket, Path(args.to), since)
    if args.json:
        print(json.dumps([f.as_dict() for f in fetched], indent=2, ensure_ascii=False))
    elif not fetched:
        print(f"no letters under s3://{bucket}/{DropPrefix.LETTERS}" + (f" since {since}" if since else ""))
    else:
        for item in fetched:
            print(f"{item.status:9} {item.pdf}  {item.customer_id}, {item.pages} page(s)")
    return 0


def register(commands: Any) -> None:
    letters = commands.add_parser(
        "letters", help="dunning letters handed to the print-and-mail service"
    ).add_subparsers(dest="letters", required=True)
    fetch_parser = letters.add_parser(
        "fetch",
        help="download the letters and their manifests into a folder",
        description="Copies each letter whose manifest is in outgoing/letters/ of the drop bucket (a "
        "letter handed over) into DIR/<day>/: its PDF, checked against the manifest's SHA-256, then the "
        "manifest. A PDF without a manifest was never handed over and is not copied.",
    )
    add_fetch_options(fetch_parser)
    fetch_parser.set_defaults(func=cmd_fetch)
