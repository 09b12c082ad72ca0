"""The table's report items as date-partitioned Parquet: invoices, payment applications, promises,
disputes, touches, tasks and the counted timeline events, one folder each (``<root>/<table>/``),
partitioned Hive-style by the month of the date a report filters on (``invoice_month=2026-09``), so an
as-of report reads no month after its day and Athena's partition projection prunes the rest.

Money is ``DECIMAL(38, 6)`` (exact; a stored amount with more than 6 decimals is refused, never rounded)
with its scale beside it (``amount_scale``): Python's ``Decimal`` keeps the places it was given
(``"100.10" + "5"`` prints ``105.10``, nothing added prints ``0``), and the report prints what Python
prints, so the SQL carries the places through every sum (``engine.py``).

The rows are written as newline-delimited JSON first and turned into Parquet by DuckDB: no Arrow in the
Lambda layer, and strings of any shape (``Müller & Söhne, GmbH``, ``INV/2026/0042``) pass untouched.
"""

# The SQL built here names only our own tables, columns and scratch paths: what users wrote reaches
# DuckDB as data (JSON files, query parameters), never as SQL text.
# ruff: noqa: S608

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from arcollect.entities import Customer
from arcollect.store.exports import ItemChange
from arcollect.store.reports import ReportData

MONEY_SCALE = 6
MONEY = f"DECIMAL(38, {MONEY_SCALE})"

# Each table: its columns and DuckDB types, and the partition column (a month, ``YYYY-MM``).
TABLES: Mapping[str, tuple[Mapping[str, str], str | None]] = {
    "invoices": (
        {
            "item_key": "VARCHAR",
            "seq": "BIGINT",
            "customer_id": "VARCHAR",
            "invoice_number": "VARCHAR",
            "currency": "VARCHAR",
            "document_type": "VARCHAR",
            "status": "VARCHAR",
            "company_code": "VARCHAR",
            "amount": MONEY,
            "amount_scale": "INTEGER",
            "open_amount": MONEY,
            "open_amount_scale": "INTEGER",
            "invoice_date": "DATE",
            "due_date": "DATE",
            "paid_date": "DATE",
            "closed_on": "DATE",
            "source_as_of_day": "DATE",
            "invoice_month": "VARCHAR",
        },
        "invoice_month",
    ),
    "payments": (
        {
            "item_key": "VARCHAR",
            "seq": "BIGINT",
            "customer_id": "VARCHAR",
            "payment_id": "VARCHAR",
            "payment_date": "DATE",
            "invoice_number": "VARCHAR",
            "amount": MONEY,
            "amount_scale": "INTEGER",
            # True: an allocation (or the one invoice of ``applied_to`` with its applied amount); False:
            # a payment that names its invoice without an applied amount (counted in full by the KPIs,
            # not by the activity figures' paid dates: the Python reference's two rules).
            "allocated": "BOOLEAN",
            "payment_month": "VARCHAR",
        },
        "payment_month",
    ),
    "promises": (
        {
            "item_key": "VARCHAR",
            "customer_id": "VARCHAR",
            "promise_id": "VARCHAR",
            "status": "VARCHAR",
            "settled_day": "DATE",
            "settled_month": "VARCHAR",
        },
        "settled_month",
    ),
    "disputes": (
        {
            "item_key": "VARCHAR",
            "customer_id": "VARCHAR",
            "dispute_id": "VARCHAR",
            "created_at": "TIMESTAMP",
            "created_day": "DATE",
            "resolved_at": "TIMESTAMP",
            "resolved_day": "DATE",
            "created_month": "VARCHAR",
        },
        "created_month",
    ),
    "touches": (
        {
            "item_key": "VARCHAR",
            "customer_id": "VARCHAR",
            "invoice_number": "VARCHAR",
            "step": "VARCHAR",
            "day": "DATE",
            "touch_month": "VARCHAR",
        },
        "touch_month",
    ),
    "tasks": (
        {
            "item_key": "VARCHAR",
            "customer_id": "VARCHAR",
            "task_id": "VARCHAR",
            "assignee": "VARCHAR",
            "status": "VARCHAR",
            "closed_day": "DATE",
            "closed_month": "VARCHAR",
        },
        "closed_month",
    ),
    "events": (
        {
            "item_key": "VARCHAR",
            "customer_id": "VARCHAR",
            "kind": "VARCHAR",
            "day": "DATE",
            "event_month": "VARCHAR",
        },
        "event_month",
    ),
    # The customers' profiles as stored (DynamoDB JSON): the report's segments and names come from the
    # policy's rules over the whole profile, in Python; a few thousand rows, one file.
    "customers": ({"item_key": "VARCHAR", "customer_id": "VARCHAR", "item": "VARCHAR"}, None),
}
# Between a key's partition and sort key in ``item_key`` (a character no key of ours holds).
KEY_SEPARATOR = "\x1f"


class CompactionError(ValueError):
    """A stored value the Parquet files cannot hold exactly (what, and which document)."""


def scale_of(amount: Decimal, where: str) -> int:
    """The decimal places ``amount`` was given with (``Decimal("100.10")``: 2); refused above 6."""
    exponent = amount.as_tuple().exponent
    if not isinstance(exponent, int):
        raise CompactionError(f"{where}: amount {amount} is not a finite number")
    scale = max(-exponent, 0)
    if scale > MONEY_SCALE:
        raise CompactionError(f"{where}: amount {amount} has more than {MONEY_SCALE} decimal places")
    return scale


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _month(value: date | None) -> str | None:
    return None if value is None else value.isoformat()[:7]


def _instant(value: datetime | None) -> str | None:
    """A stored instant as a naive UTC timestamp (differences are all the SQL takes of it)."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat()


def _date_of(value: datetime | date | None) -> date | None:
    """The day of an instant as the Python reference takes it (``at.date()``, in the instant's zone)."""
    if value is None:
        return None
    return value.date() if isinstance(value, datetime) else value


def report_rows(data: ReportData) -> dict[str, Iterator[dict[str, Any]]]:
    """The rows of each table, from what the report function read (store/reports.py)."""
    return {
        "invoices": _invoices(data),
        "payments": _payments(data),
        "promises": _promises(data),
        "disputes": _disputes(data),
        "touches": _touches(data),
        "tasks": _tasks(data),
        "events": _events(data),
    }


def _invoices(data: ReportData) -> Iterator[dict[str, Any]]:
    for seq, invoice in enumerate(data.invoices):
        where = f"invoice {invoice.invoice_number!r} of customer {invoice.customer_id!r}"
        source_day = invoice.source_as_of.date() if invoice.source_as_of is not None else None
        yield {
            "seq": seq,
            "customer_id": invoice.customer_id,
            "invoice_number": invoice.invoice_number,
            "currency": invoice.currency,
            "document_type": str(invoice.document_type),
            "status": str(invoice.status),
            "company_code": invoice.company_code,
            "amount": str(invoice.amount),
            "amount_scale": scale_of(invoice.amount, where),
            "open_amount": str(invoice.open_amount),
            "open_amount_scale": scale_of(invoice.open_amount, where),
            "invoice_date": _day(invoice.invoice_date),
            "due_date": _day(invoice.due_date),
            "paid_date": _day(invoice.paid_date),
            "closed_on": _day(invoice.closed_on),
            "source_as_of_day": _day(source_day),
            "invoice_month": _month(invoice.invoice_date),
        }


def _payments(data: ReportData) -> Iterator[dict[str, Any]]:
    seq = 0
    for payment in data.payments:
        where = f"payment {payment.payment_id!r} of customer {payment.customer_id!r}"
        applications = [(a.invoice_number, a.amount, True) for a in payment.applications]
        if not applications and payment.applied_to is not None:
            applications = [(payment.applied_to, payment.amount, False)]
        for invoice_number, amount, allocated in applications:
            yield {
                "seq": seq,
                "customer_id": payment.customer_id,
                "payment_id": payment.payment_id,
                "payment_date": _day(payment.payment_date),
                "invoice_number": invoice_number,
                "amount": str(amount),
                "amount_scale": scale_of(amount, where),
                "allocated": allocated,
                "payment_month": _month(payment.payment_date),
            }
            seq += 1


def _promises(data: ReportData) -> Iterator[dict[str, Any]]:
    for promise in data.promises:
        day = _date_of(promise.settled_at)
        yield {
            "customer_id": promise.customer_id,
            "promise_id": promise.promise_id,
            "status": promise.status,
            "settled_day": _day(day),
            "settled_month": _month(day),
        }


def _disputes(data: ReportData) -> Iterator[dict[str, Any]]:
    for dispute in data.disputes:
        created = _date_of(dispute.created_at)
        yield {
            "customer_id": dispute.customer_id,
            "dispute_id": dispute.dispute_id,
            "created_at": _instant(dispute.created_at),
            "created_day": _day(created),
            "resolved_at": _instant(dispute.resolved_at),
            "resolved_day": _day(_date_of(dispute.resolved_at)),
            "created_month": _month(created),
        }


def _touches(data: ReportData) -> Iterator[dict[str, Any]]:
    for touch in data.touches:
        day = _date_of(touch.at)
        yield {
            "customer_id": touch.customer_id,
            "invoice_number": touch.invoice_number,
            "step": touch.step,
            "day": _day(day),
            "touch_month": _month(day),
        }


def _tasks(data: ReportData) -> Iterator[dict[str, Any]]:
    for task in data.tasks:
        day = _date_of(task.closed_at)
        yield {
            "customer_id": task.customer_id,
            "task_id": task.task_id,
            "assignee": task.assignee,
            "status": str(task.status),
            "closed_day": _day(day),
            "closed_month": _month(day),
        }


def _events(data: ReportData) -> Iterator[dict[str, Any]]:
    for activity in data.activities:
        day = _date_of(activity.at)
        yield {
            "customer_id": activity.customer_id,
            "kind": activity.kind,
            "day": _day(day),
            "event_month": _month(day),
        }


def write_table(name: str, rows: Iterable[dict[str, Any]], root: Path, connection: Any = None) -> Path:
    """One table's rows as Parquet under ``root/<name>/`` (partitioned by its month), replacing what an
    earlier compaction left there: the same rows give the same files, so a repeated run is harmless."""
    import duckdb

    columns, _ = TABLES[name]
    con = connection if connection is not None else duckdb.connect()
    with tempfile.TemporaryDirectory(prefix=f"arcollect-{name}-") as scratch:
        staged = Path(scratch) / f"{name}.ndjson"
        count = _stage(rows, staged)
        return replace_table(con, name, _json_source(staged, columns) if count else None, root)


def _stage(rows: Iterable[dict[str, Any]], path: Path) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False))
            out.write("\n")
            count += 1
    return count


def replace_table(con: Any, name: str, source: str | None, root: Path) -> Path:
    """``root/<name>/`` made to hold exactly the rows of ``source`` (None: no rows, an empty folder)."""
    _, partition = TABLES[name]
    target = root / name
    building = root / f".{name}.next"
    if building.exists():
        shutil.rmtree(building)
    if source is not None:
        # The partition column stays in the files too, so a reader needs no path parsing.
        options = f"PARTITION_BY ({partition}), WRITE_PARTITION_COLUMNS true" if partition else ""
        destination = building if partition else building / "data_0.parquet"
        building.mkdir(parents=True, exist_ok=True)
        con.execute(
            f"COPY ({source}) TO '{_quoted(destination)}' (FORMAT PARQUET{', ' if options else ''}{options})"
        )
    building.mkdir(parents=True, exist_ok=True)
    if target.exists():
        shutil.rmtree(target)
    building.rename(target)
    return target


def parquet_source(root: Path, name: str) -> str:
    """A query of the rows of one table under ``root`` (none yet: no rows, its columns typed)."""
    folder = root / name
    if folder.is_dir() and any(folder.rglob("*.parquet")):
        glob = _quoted(folder / "**" / "*.parquet")
        return f"SELECT * FROM read_parquet('{glob}', hive_partitioning = false)"
    return empty_source(TABLES[name][0])


def write_report_parquet(data: ReportData, root: Path) -> dict[str, Path]:
    """Every report table of ``data`` as Parquet under ``root`` (one folder per table)."""
    import duckdb

    root.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        return {name: write_table(name, rows, root, con) for name, rows in report_rows(data).items()}
    finally:
        con.close()


def blank_missing(root: Path, paths: Iterable[str]) -> list[str]:
    """An empty Parquet file (the table's columns, no rows) at each of ``paths`` (``<table>/...``
    relative to ``root``) that a compaction no longer has: the bucket's copy is overwritten with no rows
    instead of deleted (the reports function never deletes; the bucket's versions keep what was)."""
    import duckdb

    blanked = []
    with duckdb.connect() as con:
        for relative in paths:
            table = relative.split("/", 1)[0]
            target = root / relative
            if table not in TABLES or target.exists() or not relative.endswith(".parquet"):
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            con.execute(f"COPY ({empty_source(TABLES[table][0])}) TO '{_quoted(target)}' (FORMAT PARQUET)")
            blanked.append(relative)
    return blanked


def merge_changes(root: Path, changes: Iterable[ItemChange], *, full: bool = False) -> dict[str, int]:
    """Fold a DynamoDB export's items into the Parquet under ``root``: every row of an item the export
    names is replaced by its new image's rows (none when it was deleted); ``full``: the export is the
    whole table, so nothing earlier is kept. The same export folded again gives the same files, so a
    compaction that died before it was recorded is simply run again. How many rows each table holds."""
    import duckdb

    root.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        with tempfile.TemporaryDirectory(prefix="arcollect-merge-") as scratch:
            folder = Path(scratch)
            counts = _stage_changes(con, root, changes, folder, full=full)
            for name, (columns, _) in TABLES.items():
                kept = (
                    f"SELECT * FROM ({parquet_source(root, name)}) AS kept WHERE item_key IS NULL "
                    "OR NOT EXISTS (SELECT 1 FROM changed WHERE changed.item_key = kept.item_key)"
                )
                new = _json_source(folder / f"{name}.ndjson", columns) if counts[name] else None
                merged = f"{kept} UNION ALL BY NAME {new}" if new else kept
                source = new if full else merged
                replace_table(con, name, source, root)
            return {name: _count(con, root, name) for name in TABLES}
    finally:
        con.close()


def _count(con: Any, root: Path, name: str) -> int:
    row = con.execute(f"SELECT COUNT(*) FROM ({parquet_source(root, name)})").fetchone()
    return int(row[0]) if row else 0


def _stage_changes(
    con: Any, root: Path, changes: Iterable[ItemChange], folder: Path, *, full: bool
) -> dict[str, int]:
    """The export's rows per table as newline-delimited JSON in ``folder``, and its item keys as the
    temporary table ``changed``; how many rows each table got."""
    from arcollect.store.models import CustomerItem
    from arcollect.store.reports import ReportData, add_item

    next_seq = {"invoices": 0, "payments": 0}
    if not full:
        for name in next_seq:
            found = con.execute(f"SELECT MAX(seq) FROM ({parquet_source(root, name)})").fetchone()[0]
            next_seq[name] = 0 if found is None else int(found) + 1
    outs = {name: (folder / f"{name}.ndjson").open("w", encoding="utf-8") for name in TABLES}
    counts = dict.fromkeys(TABLES, 0)
    try:
        with (folder / "changed.ndjson").open("w", encoding="utf-8") as changed:
            for change in changes:
                key = f"{change.pk}{KEY_SEPARATOR}{change.sk}"
                changed.write(json.dumps({"item_key": key}, ensure_ascii=False) + "\n")
                if change.item is None:
                    continue
                rows: Mapping[str, Iterable[dict[str, Any]]]
                if isinstance(change.item, CustomerItem):
                    raw = json.dumps(change.item.serialize(), ensure_ascii=False)
                    rows = {"customers": [{"customer_id": change.item.customer_id, "item": raw}]}
                else:
                    data = ReportData()
                    add_item(data, change.item)
                    rows = report_rows(data)
                for name, table_rows in rows.items():
                    for row in table_rows:
                        row["item_key"] = key
                        if name in next_seq:
                            row["seq"] = next_seq[name]
                            next_seq[name] += 1
                        outs[name].write(json.dumps(row, ensure_ascii=False) + "\n")
                        counts[name] += 1
    finally:
        for out in outs.values():
            out.close()
    con.execute(
        "CREATE OR REPLACE TEMP TABLE changed AS SELECT DISTINCT item_key FROM "
        f"read_json('{_quoted(folder / 'changed.ndjson')}', format='newline_delimited', "
        "columns={'item_key': 'VARCHAR'})"
    )
    return counts


def warehouse_customers(root: Path) -> dict[str, Customer]:
    """The customers' profiles kept beside the Parquet (the report's names and segments)."""
    import duckdb

    from arcollect.store.customers import customer_from_item
    from arcollect.store.models import CustomerItem, TableItem

    found: dict[str, Customer] = {}
    with duckdb.connect() as con:
        for (raw,) in con.execute(f"SELECT item FROM ({parquet_source(root, 'customers')})").fetchall():
            item = TableItem.from_raw_data(json.loads(raw))
            if isinstance(item, CustomerItem):
                found[item.customer_id] = customer_from_item(item)
    return found


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def _json_source(path: Path, columns: Mapping[str, str]) -> str:
    spec = ", ".join(f"'{column}': '{kind}'" for column, kind in columns.items())
    # Our own scratch path and column names, never a user's text.
    return f"SELECT * FROM read_json('{_quoted(path)}', format='newline_delimited', columns={{{spec}}})"


def empty_source(columns: Mapping[str, str]) -> str:
    """A query of no rows with the table's columns (a table nothing was written to)."""
    values = ", ".join(f"CAST(NULL AS {kind}) AS {column}" for column, kind in columns.items())
    return f"SELECT {values} WHERE false"
