"""A crash injected at every step boundary of an ingest chunk, then the message redelivered as SQS does
after its visibility timeout, until the file is done: nothing is applied twice and nothing is lost.

The files are fanned out (``FAN_OUT_LINES`` lowered so each has at least three chunks, ``CHUNK_ROWS``
lowered so a chunk writes several batches): invoices, then payments (partial, multi-invoice and
remittance-advice payments, and credits). Each boundary gets a fresh account that runs both files with one
crash armed for each; the table and the result summaries are then compared with a baseline run of the
same files in a fresh account without crashes.

What is masked in the comparison, and why:
- S3 version ids (in the register's and the chunk progress' keys, the timeline entry's id and detail,
  the summary's ``version``): each account's versions are random UUIDs;
- an apply-cash task's ``suggestions``: the likeliest invoices among those open when the payment was
  applied, which depends on the order the chunks ran in (a redelivered chunk runs after later ones, as
  SQS may run them in any order); the task, its amounts and what it names are compared;
- string sets are compared sorted;
- ``unchanged``, ``payments_applied``, ``invoices_closed`` and ``placeholders_created`` in the summary
  and the register: they count what *this* run wrote, and after a retry the rows the failed attempt
  had loaded are counted unchanged (README, "Idempotency and scale").
No wall-clock time is masked: the function's times come from the SQS message (its sent timestamp,
which a redelivery keeps).

- **duplicates**: table items the baseline does not have, plus items whose content differs (an amount
  applied twice leaves another open amount, a second task...);
- **lost**: baseline items missing, plus result summaries missing or with other row counts.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import boto3
import pytest

from arcollect.ingest import drops
from arcollect.store.feeds import Feeds
from arcollect.store.objects import ObjectStore
from arcollect.store.queues import WorkQueue
from arcollect.store.repositories import Accounts, Activities, IngestFiles
from tests.integration.conftest import invoke, stack_resources
from tests.integration.ingest_flow import DROP, QUEUE, result, upload
from tests.integration.test_ingest_handler import notification, sqs_event
from tests.reliability.figures import Figures

TABLE = os.environ["TABLE_NAME"]
INVOICES_KEY = "incoming/invoices/open items.csv"
PAYMENTS_KEY = "incoming/payments/bank statement.csv"
FAN_OUT_LINES = 7
CHUNK_ROWS = 3
CUSTOMERS = ("ACME Corp", "Müller & Söhne GmbH", "Smith, Jones and Partners")
MASKED_COUNTS = ("unchanged", "payments_applied", "invoices_closed", "placeholders_created")


class Crash(BaseException):
    """The process dies here (a timeout, an out-of-memory kill): no ``except Exception`` catches it."""


def invoices_file() -> bytes:
    lines = ["customer_id,invoice_number,invoice_date,due_date,amount,currency,document_type"]
    for n in range(1, 31):
        customer = CUSTOMERS[n % len(CUSTOMERS)]
        kind = "credit_note" if n % 15 == 0 else "invoice"
        lines.append(
            f'"{customer}",INV/2026/{n:05d},2026-03-{1 + n % 28:02d},2026-04-{1 + n % 28:02d},'
            f"{100 + n}.50,EUR,{kind}"
        )
    lines.append("ACME Corp,INV/BAD,not a date,2026-04-01,10.00,EUR,invoice")  # a rejected row
    return ("\n".join(lines) + "\n").encode()


def payments_file() -> bytes:
    """Full, partial, multi-invoice (a list, and a remittance advice of several lines) payments."""
    lines = ["customer_id,payment_id,payment_date,amount,currency,invoice_number,applied_amount,reference"]
    n = 1
    pay = 0
    while n < 29:
        customer = CUSTOMERS[n % len(CUSTOMERS)]
        pay += 1
        style = pay % 4
        if style == 0:  # in full
            lines.append(f'"{customer}",P{pay:04d},2026-04-10,{100 + n}.50,EUR,INV/2026/{n:05d},,')
            n += 1
        elif style == 1:  # partial
            lines.append(f'"{customer}",P{pay:04d},2026-04-11,50.00,EUR,INV/2026/{n:05d},,')
            n += 1
        elif style == 2:  # two invoices named in one cell
            total = Decimal(f"{100 + n}.50") + Decimal(f"{100 + n + 1}.50")
            lines.append(
                f'"{customer}",P{pay:04d},2026-04-12,{total},EUR,"INV/2026/{n:05d}; INV/2026/{n + 1:05d}",,'
            )
            n += 2
        else:  # a remittance advice: consecutive lines of one payment
            total = Decimal(f"{100 + n}.50") + Decimal("20.00")
            lines.append(f'"{customer}",P{pay:04d},2026-04-13,{total},EUR,INV/2026/{n:05d},{100 + n}.50,RA')
            lines.append(f'"{customer}",P{pay:04d},2026-04-13,{total},EUR,INV/2026/{n + 1:05d},20.00,RA')
            n += 2
    lines.append('"ACME Corp",P9999,2026-04-14,abc,EUR,INV/2026/00001,,')  # a rejected row
    return ("\n".join(lines) + "\n").encode()


FILES = ((INVOICES_KEY, invoices_file()), (PAYMENTS_KEY, payments_file()))


# -- the boundaries -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Boundary:
    name: str
    cls: type
    method: str
    when: str  # before | after
    applies: Callable[[tuple[Any, ...]], bool] = lambda args: True
    nth: int = 1  # the nth call that applies crashes
    scope: str = "chunk"  # chunk: only while a chunk message runs; drop: the S3 notification


def _key_under(prefix: str) -> Callable[[tuple[Any, ...]], bool]:
    return lambda args: len(args) > 2 and str(args[2]).startswith(prefix)  # (self, bucket, key, ...)


BOUNDARIES = (
    Boundary("before_fan_out", WorkQueue, "send", "before", scope="drop"),
    Boundary("after_fan_out", WorkQueue, "send", "after", scope="drop"),
    Boundary("before_part_check", ObjectStore, "read_json", "before", _key_under("work/")),
    Boundary("before_reading_the_range", ObjectStore, "iter_bytes", "before", _key_under("incoming/")),
    Boundary("after_reading_the_range", ObjectStore, "iter_bytes", "after", _key_under("incoming/"), nth=3),
    Boundary("after_parsing", Accounts, "customers", "before"),
    Boundary("between_invoice_batches", Accounts, "add_invoices", "after", nth=2),
    Boundary("between_payments", Accounts, "record_payment", "after", nth=3),
    Boundary("before_part_rejected_rows", ObjectStore, "put_file", "before", _key_under("work/")),
    Boundary("after_part_rejected_rows", ObjectStore, "put_file", "after", _key_under("work/")),
    Boundary("before_part_result", ObjectStore, "put_json", "before", _key_under("work/")),
    Boundary("after_part_result", ObjectStore, "put_json", "after", _key_under("work/")),
    Boundary("before_chunk_done", IngestFiles, "chunk_done", "before"),
    Boundary("after_chunk_done", IngestFiles, "chunk_done", "after"),
    Boundary("after_a_later_chunk_done", IngestFiles, "chunk_done", "after", nth=3),
    Boundary("before_feed", Feeds, "delivered", "before"),
    Boundary("after_feed", Feeds, "delivered", "after"),
    Boundary("before_register", IngestFiles, "record", "before"),
    Boundary("after_register", IngestFiles, "record", "after"),
    Boundary("before_rejected_rows", ObjectStore, "put_file", "before", _key_under("rejected/")),
    Boundary("after_rejected_rows", ObjectStore, "put_file", "after", _key_under("rejected/")),
    Boundary("before_summary", ObjectStore, "put_json", "before", _key_under("results/")),
    Boundary("after_summary", ObjectStore, "put_json", "after", _key_under("results/")),
    Boundary("before_timeline", Activities, "record_ingest", "before"),
    Boundary("after_timeline", Activities, "record_ingest", "after"),
)


@dataclass
class Fault:
    """One boundary armed to crash once per file."""

    boundary: Boundary | None
    scope: str = ""  # the kind of message running now
    seen: int = 0
    fired: bool = False
    crashes: int = 0

    def rearm(self) -> None:
        self.seen, self.fired = 0, False

    def hit(self, args: tuple[Any, ...]) -> None:
        boundary = self.boundary
        if boundary is None or self.fired or self.scope != boundary.scope or not boundary.applies(args):
            return
        self.seen += 1
        if self.seen == boundary.nth:
            self.fired = True
            self.crashes += 1
            raise Crash(boundary.name)


@contextmanager
def armed(fault: Fault) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(drops, "FAN_OUT_LINES", FAN_OUT_LINES)
        patch.setattr(drops, "CHUNK_ROWS", CHUNK_ROWS)
        boundary = fault.boundary
        if boundary is not None:
            original = getattr(boundary.cls, boundary.method)
            if boundary.method == "iter_bytes" and boundary.when == "after":

                def wrapper(*args: Any, **kwargs: Any) -> Any:
                    yield from original(*args, **kwargs)
                    fault.hit(args)  # the whole range read, before the reader goes on

            elif boundary.when == "before":

                def wrapper(*args: Any, **kwargs: Any) -> Any:
                    fault.hit(args)
                    return original(*args, **kwargs)

            else:

                def wrapper(*args: Any, **kwargs: Any) -> Any:
                    outcome = original(*args, **kwargs)
                    fault.hit(args)
                    return outcome

            patch.setattr(boundary.cls, boundary.method, wrapper)
        yield


def run_file(key: str, body: bytes, fault: Fault) -> None:
    """Drop the file and deliver its messages one at a time; a crashed delivery is delivered again (SQS,
    after the visibility timeout), and whatever the function queued is delivered in turn."""
    fault.rearm()
    version = upload(key, body)
    pending = [notification(key.replace(" ", "+"), version, len(body))]
    sqs = boto3.client("sqs")
    deliveries = 0
    while pending:
        deliveries += 1
        assert deliveries < 200, "the file never finished"
        message = pending.pop(0)
        fault.scope = "chunk" if "arcollect_chunk" in message else "drop"
        try:
            response = invoke("ingest", sqs_event(message))
        except Crash:
            pending.append(message)  # redelivered after the visibility timeout
        else:
            if response["batchItemFailures"]:
                pending.append(message)
        while queued := sqs.receive_message(QueueUrl=QUEUE, MaxNumberOfMessages=10).get("Messages", []):
            for m in queued:
                pending.append(m["Body"])
                sqs.delete_message(QueueUrl=QUEUE, ReceiptHandle=m["ReceiptHandle"])


# -- the outcome ------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    items: dict[str, str] = field(default_factory=dict)  # masked key -> masked content
    summaries: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    rejected: dict[str, list[str]] = field(default_factory=dict)

    def duplicates(self, baseline: Outcome) -> int:
        extra = self.items.keys() - baseline.items.keys()
        changed = [k for k in self.items.keys() & baseline.items.keys() if self.items[k] != baseline.items[k]]
        return len(extra) + len(changed)

    def lost(self, baseline: Outcome) -> int:
        missing = len(baseline.items.keys() - self.items.keys())
        for key, summary in baseline.summaries.items():
            assert summary is not None
            mine = self.summaries.get(key)
            if mine is None:
                missing += summary["rows_read"]  # no result: none of its rows is accounted for
                continue
            missing += sum(
                abs(int(summary[n]) - int(mine[n])) for n in ("rows_read", "accepted", "rejected", "skipped")
            )
            missing += int(self.rejected.get(key) != baseline.rejected.get(key))
        return missing


def _mask(text: str, versions: list[str]) -> str:
    for version in versions:
        text = text.replace(version, "<version>")
    return text


def outcome(versions: dict[str, str]) -> Outcome:
    found = Outcome()
    table = boto3.resource("dynamodb").Table(TABLE)
    scan: dict[str, Any] = {}
    items: list[dict[str, Any]] = []
    while True:
        page = table.scan(**scan)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            break
        scan = {"ExclusiveStartKey": page["LastEvaluatedKey"]}
    masks = list(versions.values())
    for item in items:
        content = {
            k: sorted(v) if isinstance(v, set) else v for k, v in item.items() if k not in MASKED_COUNTS
        }
        if item.get("kind") == "apply_cash" and isinstance(item.get("detail"), dict):
            content["detail"] = {k: v for k, v in item["detail"].items() if k != "suggestions"}
        key = _mask(f"{item['pk']}|{item['sk']}", masks)
        found.items[key] = _mask(json.dumps(content, sort_keys=True, default=str), masks)
    s3 = boto3.client("s3")
    for key in versions:
        try:
            summary = result(key)
        except s3.exceptions.NoSuchKey:
            found.summaries[key] = None
            continue
        found.summaries[key] = {k: v for k, v in summary.items() if k not in (*MASKED_COUNTS, "version")}
        rows_key = "rejected/" + key.removeprefix("incoming/") + ".errors.csv"
        try:
            text = s3.get_object(Bucket=DROP, Key=rows_key)["Body"].read().decode()
        except s3.exceptions.NoSuchKey:
            text = ""
        found.rejected[key] = sorted(text.splitlines())
    return found


def run_world(boundary: Boundary | None) -> tuple[Outcome, int]:
    fault = Fault(boundary)
    with stack_resources(), armed(fault):
        versions: dict[str, str] = {}
        for key, body in FILES:
            run_file(key, body, fault)
            versions[key] = boto3.client("s3").head_object(Bucket=DROP, Key=key)["VersionId"]
        return outcome(versions), fault.crashes


def test_a_crash_at_every_step_boundary_of_an_ingest_chunk_duplicates_nothing_and_loses_nothing(
    figures: Figures,
) -> None:
    baseline, _ = run_world(None)
    summary = baseline.summaries[INVOICES_KEY]
    assert summary is not None and summary["chunks"] >= 3, "the invoices file must fan out into 3+ chunks"
    payments = baseline.summaries[PAYMENTS_KEY]
    assert payments is not None and payments["chunks"] >= 3 and payments["rejected"] >= 1
    duplicates = lost = injected = 0
    missed: list[str] = []
    for boundary in BOUNDARIES:
        result_, crashes = run_world(boundary)
        injected += crashes
        if not crashes:
            missed.append(boundary.name)
        d, l_ = result_.duplicates(baseline), result_.lost(baseline)
        if d or l_:
            sys.stdout.write(f"\n{boundary.name}: duplicates {d}, lost {l_}")
        duplicates += d
        lost += l_
    figures.record("ingest_crashes_injected", injected, "crashes", f">={len(BOUNDARIES)}")
    figures.check("ingest_crash_duplicates", duplicates, "items", "0")
    figures.check("ingest_crash_lost_rows", lost, "rows", "0")
    assert not missed, f"boundaries never reached: {missed}"


def test_the_measure_sees_a_payment_applied_twice_and_a_lost_summary() -> None:
    baseline, _ = run_world(None)
    assert baseline.duplicates(baseline) == 0 and baseline.lost(baseline) == 0
    changed = Outcome(dict(baseline.items), dict(baseline.summaries), dict(baseline.rejected))
    some_invoice = next(k for k in changed.items if "INV/2026/00001" in k and k.startswith("CUST#"))
    changed.items[some_invoice] = changed.items[some_invoice].replace('"open_amount"', '"open_amount_twice"')
    changed.items["CUST#x|PAY#again"] = "{}"
    assert changed.duplicates(baseline) == 2
    del changed.summaries[PAYMENTS_KEY]
    assert changed.lost(baseline) == baseline.summaries[PAYMENTS_KEY]["rows_read"]  # type: ignore[index]
