"""ERP history files read on this machine through ingest's own mappings and checks, without any AWS:
the policy lab's backtest (``arcollect dunning backtest --invoices``) and the evaluation of predicted pay
dates (``arcollect predict evaluate --history``) read their files here."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from arcollect.company import CompanySettings, SettingsError
from arcollect.contract import EnvVar
from arcollect.entities import DropKind
from arcollect.ingest.conventions import inferred
from arcollect.ingest.mappings import MappingError, load_mapping
from arcollect.ingest.sources import FileProblem
from arcollect_cli.target import CliError

CHUNK = 1024 * 1024
# How many rejected rows a file's note quotes (all are counted).
QUOTED_REJECTIONS = 5
LOCALE_HELP = (
    "how the files write dates and amounts when they could be read two ways, as a deployment's "
    "exportLocale says it (e.g. en-US, en-GB, de-DE); default: the EXPORT_LOCALE environment variable"
)


def settings_for(locale: str | None) -> CompanySettings | None:
    """The company settings ``--locale`` stands for (None: the environment's, as the functions read
    them): offline, the option takes the place of the deployment's exportLocale."""
    if locale is None:
        return None
    try:
        return CompanySettings.of(os.environ.get(EnvVar.HOME_CURRENCY), locale)
    except SettingsError as error:
        raise CliError(f"--locale {locale}: {error}") from None


class _LocalFiles:
    """What ingest's readers need of a bucket, over local files: the file itself, no metadata, and the
    ``--mapping`` files by the name a drop key would give them."""

    def __init__(self, paths: dict[str, Path], mappings: dict[str, str]) -> None:
        self.paths = paths
        self.mappings = mappings

    def iter_bytes(self, bucket: str, key: str, version_id: str | None = None) -> Iterator[bytes]:
        with self.paths[key].open("rb") as source:
            while chunk := source.read(CHUNK):
                yield chunk

    def metadata(self, bucket: str, key: str, version_id: str | None = None) -> dict[str, str]:
        return {}

    def read_text(self, bucket: str, key: str) -> str | None:
        return self.mappings.get(key)


def read_mappings(values: list[str]) -> tuple[dict[DropKind, str], dict[str, str]]:
    """``--mapping`` values: a YAML file (its kind says which file it reads) or a preset's name
    (``invoices:NAME``, or NAME for the invoices file)."""
    names: dict[DropKind, str] = {}
    texts: dict[str, str] = {}
    for value in values:
        path = Path(value)
        if path.suffix in {".yaml", ".yml"}:
            if not path.is_file():
                raise CliError(f"--mapping {value}: no such file")
            text = path.read_text(encoding="utf-8")
            try:
                mapping = load_mapping(text, source=str(path))
            except MappingError as error:
                raise CliError(str(error)) from error
            names[mapping.kind] = mapping.name
            texts[f"config/mappings/{mapping.name}.yaml"] = text
            continue
        kind_name, _, preset = value.rpartition(":")
        try:
            kind = DropKind(kind_name) if kind_name else DropKind.INVOICES
        except ValueError:
            raise CliError(f"--mapping {value}: say invoices:NAME, payments:NAME or customers:NAME") from None
        names[kind] = preset
    return names, texts


def read_entities(
    path: Path,
    kind: DropKind,
    mapping: str | None,
    texts: dict[str, str],
    notes: list[str],
    option: str | None = None,
    settings: CompanySettings | None = None,
) -> list[Any]:
    """Every row of a file mapped as ingest maps it; rejected and skipped rows are counted in ``notes``
    (with the first reasons), never dropped without a word."""
    if path.is_dir():
        raise CliError(f"{option or '--' + kind.value} {path}: a folder, not a file")
    if not path.is_file():
        raise CliError(f"{option or '--' + kind.value} {path}: no such file")
    key = f"incoming/{kind.value}/" + (f"{mapping}/" if mapping else "") + path.name
    files = _LocalFiles({key: path}, texts)
    # Imported here, not with the module: ingest's pipeline imports the functions' observability, whose
    # metrics read their namespace once, at import; the CLI imports every command at startup, and the
    # local stack sets the functions' environment only when it starts (`arcollect demo` would then run
    # every function without a metrics namespace).
    from arcollect.ingest.drops import Drop, mapped_blocks, plan_file

    drop = Drop("local", key, "local", path.stat().st_size, "local", datetime.now(UTC))
    try:
        plan = plan_file(drop, kind, files, settings=settings)
        # What ingest would note in the file's result about its conventions (dates read day-first).
        notes.extend(
            f"{path.name}: line {n.line}, {n.column} {n.value!r}: {n.reason}"
            for n in inferred(plan.conventions)
        )
        entities: list[Any] = []
        rejected: list[str] = []
        skipped = 0
        for records, rows in mapped_blocks(plan, files, drop, plan.bound.header.line + 1):
            for record, row in zip(records, rows, strict=True):
                if row.skipped is not None:
                    skipped += 1
                elif row.entity is None:
                    reasons = "; ".join(f"{e.column} {e.value!r} {e.reason}".strip() for e in row.errors)
                    rejected.append(f"line {record.line}: {reasons}")
                else:
                    entities.append(row.entity)
    except FileProblem as error:
        # Ingest's message names the deployment's setting; here, on this machine, it is an option.
        hint = " (here: --locale, e.g. --locale de-DE)" if "exportLocale" in str(error) else ""
        raise CliError(f"{path}: {error}{hint}") from error
    if rejected:
        notes.append(
            f"{path.name}: {len(rejected)} row(s) rejected as ingest would reject them, left out: "
            + " | ".join(rejected[:QUOTED_REJECTIONS])
            + (" | ..." if len(rejected) > QUOTED_REJECTIONS else "")
        )
    if skipped:
        notes.append(f"{path.name}: {skipped} row(s) skipped by the {plan.mapping.name} mapping's rules")
    if not (entities or rejected or skipped):
        # As ingest says it of such a file: an export that failed upstream looks like this.
        from arcollect.ingest.results import EMPTY_FILE_NOTE

        notes.append(f"{path.name}: {EMPTY_FILE_NOTE}")
    return entities
