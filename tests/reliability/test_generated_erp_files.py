"""At least 10,000 generated ERP files (full scale) through the real ingest handler against moto: no file
crashes it, and every data row is accounted for.

Each hypothesis example is a batch of ten files (``erp_files.py``: invoices, payments and customers as CSV
with `,` `;` or tab, UTF-8 with or without a BOM, Windows-1252 and Latin-1, XLSX and JSON Lines,
sometimes gzip-compressed; ISO, day-first and month-first dates, `1.234,56` and `1,234.56` amounts; ids
with spaces, '&', commas and accents; credits, duplicate rows, bad rows, lines that are not rows, a NUL
byte or a quote never closed; a mapping in config/mappings when the layout needs one; files sent again).
The batch is dropped and its ten S3 notifications delivered in one SQS event, as the event source
mapping would; then whatever the function queued is delivered until the queue is empty.

- a **crash**: the handler raising, a record in ``batchItemFailures``, or no result summary written;
- **rows unaccounted**: a file's data rows (every non-blank record after the header) minus its
  ``accepted + rejected + skipped`` (README, "Results": every row ends in exactly one of them;
  ``unchanged`` and ``superseded`` are accepted rows). A file refused whole (``errors``, status
  ``rejected``) accounts for all its rows by its reason: nothing of it is loaded.

Hypothesis does not stop at the first failure: the body counts, keeps the first few failing files under
``.artifacts/reliability/generated-erp-files/`` and the figures are checked at the end.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import boto3
from hypothesis import HealthCheck, Phase, given, settings

from tests.integration.conftest import invoke, stack_resources
from tests.integration.ingest_flow import DROP, QUEUE
from tests.integration.test_ingest_handler import notification, sqs_event
from tests.reliability.erp_files import ErpFile, build, files
from tests.reliability.figures import Figures, scale

BATCH = 10  # files per SQS event: the event source mapping's batch size
ARTIFACTS = Path(__file__).resolve().parents[2] / ".artifacts" / "reliability" / "generated-erp-files"
KEEP = 20


@dataclass
class Tally:
    files: int = 0
    crashes: int = 0
    unaccounted: int = 0
    rows: int = 0
    refused_whole: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    kept: int = 0
    names: int = 0
    handler_seconds: float = 0.0
    counts: Counter[str] = field(default_factory=Counter)
    shapes: Counter[str] = field(default_factory=Counter)

    def keep(self, file: ErpFile, why: str, detail: Any) -> None:
        """Save a failing file, its spec and what went wrong, for diagnosis."""
        if self.kept >= KEEP:
            return
        self.kept += 1
        folder = ARTIFACTS / f"{self.kept:02d}-{why}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / Path(file.key).name).write_bytes(file.body)
        (folder / "spec.json").write_text(
            json.dumps(
                {"key": file.key, "data_rows": file.data_rows, "spec": asdict(file.spec), "detail": detail},
                indent=2,
                default=str,
            )
        )
        if file.mapping:
            (folder / f"{file.mapping[0]}.yaml").write_text(file.mapping[1])


def summary_of(s3: Any, key: str) -> dict[str, Any] | None:
    summary_key = "results/" + key.removeprefix("incoming/") + ".json"
    try:
        body = s3.get_object(Bucket=DROP, Key=summary_key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    return dict(json.loads(body))


def unaccounted(data_rows: int, summary: dict[str, Any]) -> int:
    """The data rows a result summary does not account for (see the module docstring)."""
    if summary.get("errors") and summary.get("status") == "rejected":
        return 0 if summary.get("accepted", 0) == 0 else data_rows  # refused whole: nothing loaded
    counted = int(summary["accepted"]) + int(summary["rejected"]) + int(summary["skipped"])
    return abs(data_rows - counted) + abs(int(summary["rows_read"]) - counted)


def deliver(bodies: list[str]) -> set[int]:
    """One SQS event of ``bodies`` to the handler; the indexes of the records that failed."""
    event = sqs_event(*bodies)
    try:
        response = invoke("ingest", event)
    except Exception:  # the batch failed whole (every record failed, or the handler itself)
        return set(range(len(bodies)))
    failed = {item["itemIdentifier"] for item in (response or {}).get("batchItemFailures", [])}
    return {i for i, record in enumerate(event["Records"]) if record["messageId"] in failed}


def drain(sqs: Any) -> int:
    """Deliver what the function queued (chunks of a large file); the number of records that failed."""
    failures = 0
    while messages := sqs.receive_message(QueueUrl=QUEUE, MaxNumberOfMessages=10).get("Messages", []):
        failures += len(deliver([m["Body"] for m in messages]))
        for message in messages:
            sqs.delete_message(QueueUrl=QUEUE, ReceiptHandle=message["ReceiptHandle"])
    return failures


def ingest_batch(batch: list[ErpFile], tally: Tally, mappings: set[str]) -> None:
    """Drop every file of ``batch``, deliver their notifications in one event, and account for each."""
    s3, sqs = boto3.client("s3"), boto3.client("sqs")
    for file in batch:
        if file.mapping and file.mapping[0] not in mappings:
            s3.put_object(
                Bucket=DROP, Key=f"config/mappings/{file.mapping[0]}.yaml", Body=file.mapping[1].encode()
            )
            mappings.add(file.mapping[0])
    bodies = []
    for file in batch:
        version = str(s3.put_object(Bucket=DROP, Key=file.key, Body=file.body)["VersionId"])
        # S3 URL-encodes the key in its notification (a space arrives as '+').
        bodies.append(notification(quote_plus(file.key, safe="/"), version, len(file.body)))
    started = time.perf_counter()
    failed = deliver(bodies)
    queued_failures = drain(sqs)
    tally.handler_seconds += time.perf_counter() - started
    for index, file in enumerate(batch):
        tally.files += 1
        tally.rows += file.data_rows
        summary = summary_of(s3, file.key)
        if index in failed or summary is None:
            tally.crashes += 1
            tally.keep(file, "crash", {"failed": index in failed, "summary": summary})
            continue
        if queued_failures:
            tally.crashes += queued_failures
            tally.keep(file, "chunk-crash", {"summary": summary})
            queued_failures = 0
        for name in (
            "accepted",
            "rejected",
            "skipped",
            "unchanged",
            "payments_applied",
            "placeholders_created",
        ):
            tally.counts[name] += int(summary.get(name, 0))
        source = summary.get("source") or {}
        tally.shapes[f"{source.get('format')}/{source.get('encoding')}/{source.get('compression')}"] += 1
        missing = unaccounted(file.data_rows, summary)
        tally.unaccounted += missing
        if summary.get("errors"):
            tally.refused_whole[_reason(summary["errors"][0], file)] += 1
            tally.outcomes["refused whole"] += 1
        else:
            tally.outcomes["ingested"] += 1
        if missing:
            tally.keep(file, "unaccounted", {"missing": missing, "summary": summary})


def _reason(error: str, file: ErpFile) -> str:
    """A refusal's reason, by kind (and whether the generator put a file-level defect in it)."""
    for marker, name in (
        ("NUL", "nul byte"),
        ("never closed", "unclosed quote"),
        ("expected after", "unclosed quote"),
        ("quote left unclosed", "unclosed quote"),
        ("exportLocale", "conventions left open"),
        ("day-first", "dates contradict"),
        ("no mapping", "no mapping fits"),
        ("empty", "empty"),
    ):
        if marker in error:
            return f"{name}{'' if file.defect else ' (no defect generated)'}"
    return f"other{'' if file.defect else ' (no defect generated)'}: {error[:80]}"


def run_generated(examples: int, tally: Tally) -> None:
    mappings: set[str] = set()

    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(files(BATCH))
    def one_batch(specs: list[Any]) -> None:
        tally.names += 1
        batch = [build(spec, f"{tally.names:05d}-{i} drop & co") for i, spec in enumerate(specs)]
        ingest_batch(batch, tally, mappings)
        resent = [file for file in batch if file.spec.resend]
        if resent:  # the same file sent again: a new version of the same key
            ingest_batch(resent, tally, mappings)

    with stack_resources():  # one account for every file: their keys differ, their customers meet
        one_batch()


def test_generated_erp_files_never_crash_ingest_and_every_row_is_accounted_for(figures: Figures) -> None:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    tally = Tally()
    started = time.perf_counter()
    run_generated(scale(15, 1010), tally)
    elapsed = time.perf_counter() - started
    sys.stdout.write(
        f"\n{tally.files} files, {tally.rows} data rows in {elapsed:.1f}s "
        f"(handler {tally.handler_seconds:.1f}s); outcomes {dict(tally.outcomes)}\n"
    )
    sys.stdout.write(f"  rows: {dict(tally.counts)}\n  shapes: {dict(tally.shapes.most_common())}\n")
    for reason, count in tally.refused_whole.most_common():
        sys.stdout.write(f"  refused whole: {count} x {reason}\n")
    figures.record("ingest_generated_files", tally.files, "files", f">={scale(150, 10000)}")
    figures.record("ingest_generated_rows", tally.rows, "rows", ">=0")
    figures.record("ingest_generated_files_refused_whole", sum(tally.refused_whole.values()), "files", ">=0")
    figures.check("ingest_generated_crashes", tally.crashes, "files", "0", f"see {ARTIFACTS}")
    figures.check("ingest_generated_rows_unaccounted", tally.unaccounted, "rows", "0", f"see {ARTIFACTS}")
    assert tally.files >= scale(150, 10000)


def test_the_measure_sees_a_miscounted_file_and_a_crash(monkeypatch: Any) -> None:
    """The figures are not blind: a file with one row more than its summary accounts for counts one row
    unaccounted, and a file the handler fails on counts as a crash."""
    from hypothesis import find

    from tests.reliability.erp_files import specs

    spec = find(specs(), lambda s: s.format == "csv" and s.defect is None and s.rows >= 3 and not s.bad)
    tally = Tally()
    with stack_resources():
        good = build(spec, "counted")
        ingest_batch([good], tally, set())
        assert (tally.crashes, tally.unaccounted) == (0, 0)
        miscounted = build(spec, "miscounted")
        miscounted.data_rows += 1
        ingest_batch([miscounted], tally, set())
        assert (tally.crashes, tally.unaccounted) == (0, 1)
        from arcollect.ingest import drops

        def broken(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("injected")

        monkeypatch.setattr(drops, "load_lines", broken)
        ingest_batch([build(spec, "crashing")], tally, set())
    assert (tally.crashes, tally.unaccounted) == (1, 1)
