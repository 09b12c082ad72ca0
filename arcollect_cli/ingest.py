"""Load one ERP file through a stack's drop bucket, as the ERP would, and wait for its ingest result
(``arcollect ingest``, and the demo's daily files)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import boto3

from arcollect.contract import DropPrefix, ObjectMetadata, Output
from arcollect.ingest.mappings import MappingError, load_mapping
from arcollect.ingest.results import file_notes, results_key
from arcollect_cli.output import progress
from arcollect_cli.target import CliError, Target


def ingest_file(
    target: Target,
    path: Path,
    kind: str,
    mapping: str | None,
    timeout: float,
    show_progress: bool = True,
    *,
    mode: str | None = None,
    as_of: str | None = None,
) -> dict[str, Any]:
    """Upload a file to the drop bucket and wait for the ingest result of exactly that version.

    ``mapping`` is a preset's name or a YAML file (checked here, then uploaded to config/mappings/);
    ``mode`` and ``as_of`` travel as the object's metadata, which is where the function reads them."""
    if not path.is_file():
        raise CliError(f"{path}: no such file")
    bucket = target.output(Output.DROP_BUCKET)
    s3 = boto3.client("s3")
    if mapping and Path(mapping).suffix in {".yaml", ".yml"}:
        mapping_file = Path(mapping)
        if not mapping_file.is_file():
            raise CliError(f"--mapping {mapping}: no such file")
        try:
            checked = load_mapping(mapping_file.read_bytes(), source=str(mapping_file))
        except MappingError as error:
            raise CliError(str(error)) from error
        if checked.kind.value != kind:
            raise CliError(f"--mapping {mapping} is a {checked.kind.value} mapping, and --kind is {kind}")
        s3.put_object(
            Bucket=bucket,
            Key=f"{DropPrefix.CONFIG}mappings/{checked.name}.yaml",
            Body=mapping_file.read_bytes(),
        )
        mapping = checked.name
    metadata = {}
    if mode:
        metadata[ObjectMetadata.MODE] = mode
    if as_of:
        metadata[ObjectMetadata.AS_OF] = as_of
    key = f"{DropPrefix.INCOMING}{kind}/" + (f"{mapping}/" if mapping else "") + path.name
    with path.open("rb") as body:
        version = s3.put_object(Bucket=bucket, Key=key, Body=body, Metadata=metadata).get("VersionId")
    if show_progress:
        progress(f"uploaded s3://{bucket}/{key}; waiting for ingest")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result: dict[str, Any] = json.loads(
                s3.get_object(Bucket=bucket, Key=results_key(key))["Body"].read()
            )
        except s3.exceptions.NoSuchKey:
            result = {}
        # The results key is per object key: wait for the result of the version we just uploaded.
        if result and (version is None or result.get("version") == version):
            return result
        time.sleep(0.2)
    raise CliError(
        f"no ingest result for s3://{bucket}/{key} after {timeout:.0f} s (see the ingest DLQ and logs)"
    )


def outcome_line(name: str, result: dict[str, Any]) -> str:
    """A file's ingest result in one line: its counts, what became of the file as a whole (nothing
    loaded from a file with a header and no rows; a snapshot that closed nothing), its errors."""
    counts = ", ".join(
        f"{k} {result.get(k, 0)}" for k in ("rows_read", "accepted", "rejected", "unchanged", "skipped")
    )
    notes = "".join(f"; note: {note}" for note in file_notes(result.get("notes") or []))
    errors = "; ".join(result.get("errors") or [])
    return f"{name}: {counts}{notes}" + (f"; errors: {errors}" if errors else "")
