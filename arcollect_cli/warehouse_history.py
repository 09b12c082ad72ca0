"""A large receivables history written directly as the reports' Parquet (``arcollect generate
--invoices N --out DIR``): the tables reports/warehouse/compaction.py writes, under ``DIR/<table>/``, made
by DuckDB from a seed without passing through DynamoDB or Python objects, so 10 million documents take a
minute or two. The scale benchmark (benchmarks/reports_warehouse.py) reports on it.

The portfolio: N documents over the three years before the as-of date, one customer per 100 documents
(names with ``&``, commas and accents), 4% credit notes and 1% write-offs, three currencies and company
codes; 93% of the invoices due by the as-of date are paid in full on a day around their due date, 3% in
part, the rest are open; a fifth are reminded once, and a few promises, disputes, tasks and emails
exist for the activity figures. The same seed and size give the same rows.
"""

# The SQL is built from numbers and dates of our own arguments, never from a user's text.
# ruff: noqa: S608

from __future__ import annotations

from datetime import date
from pathlib import Path

DEFAULT_HISTORY_AS_OF = date(2026, 11, 2)
DAYS_OF_HISTORY = 1095


def _h(salt: int, seed: int) -> str:
    # A deterministic pseudo-random number per document and purpose: hash(i, salt, seed).
    return f"hash(i, {salt}, {seed})"


def history_sql(documents: int, seed: int, as_of: date) -> dict[str, str]:
    """The SELECT of each table's rows (columns as in compaction.TABLES)."""
    customers = max(10, documents // 100)
    day = f"DATE '{as_of.isoformat()}'"
    base = f"""
        SELECT
            i,
            printf('Kunde %d & Söhne, GmbH', {_h(1, seed)} % {customers}) AS customer_id,
            CAST({day} - CAST({_h(2, seed)} % {DAYS_OF_HISTORY} AS INTEGER) AS DATE) AS invoice_date,
            CASE WHEN {_h(3, seed)} % 100 < 4 THEN 'credit_note'
                 WHEN {_h(3, seed)} % 100 < 5 THEN 'write_off' ELSE 'invoice' END AS document_type,
            CAST((({_h(4, seed)} % 500000) + 100) AS DECIMAL(38, 6)) / 100 AS amount,
            CASE WHEN {_h(5, seed)} % 2 = 0 THEN 30 ELSE 60 END AS terms,
            CASE WHEN {_h(6, seed)} % 100 < 80 THEN 'EUR' WHEN {_h(6, seed)} % 100 < 95 THEN 'USD'
                 ELSE 'GBP' END AS currency,
            printf('%d000', 1 + {_h(7, seed)} % 3) AS company_code,
            CAST({_h(8, seed)} % 60 AS INTEGER) - 15 AS delay,
            {_h(9, seed)} % 100 AS fate
        FROM range({documents}) AS t(i)
    """
    documents_sql = f"""
        WITH base AS ({base}),
        dated AS (
            SELECT *, CAST(invoice_date + terms AS DATE) AS due_date,
                CAST(invoice_date + terms + delay AS DATE) AS settle_on
            FROM base
        ),
        fated AS (
            SELECT *,
                settle_on <= {day} AND fate < 93 AS settled,
                settle_on <= {day} AND fate >= 93 AND fate < 96 AS partly
            FROM dated
        )
    """
    invoices = f"""
        {documents_sql}
        SELECT
            CAST(NULL AS VARCHAR) AS item_key,
            i AS seq,
            customer_id,
            printf('INV/%d/%08d', year(invoice_date), i) AS invoice_number,
            currency,
            document_type,
            CASE WHEN settled THEN 'closed' ELSE 'open' END AS status,
            company_code,
            amount,
            2 AS amount_scale,
            CASE WHEN settled THEN CAST(0 AS DECIMAL(38, 6))
                 WHEN partly THEN amount - CAST(ROUND(amount / 2, 2) AS DECIMAL(38, 6))
                 ELSE amount END AS open_amount,
            CASE WHEN settled THEN 0 ELSE 2 END AS open_amount_scale,
            invoice_date,
            due_date,
            CASE WHEN settled THEN settle_on END AS paid_date,
            CASE WHEN settled AND document_type <> 'invoice' THEN settle_on END AS closed_on,
            CAST(NULL AS DATE) AS source_as_of_day,
            strftime(invoice_date, '%Y-%m') AS invoice_month
        FROM fated
    """
    payments = f"""
        {documents_sql}
        SELECT
            CAST(NULL AS VARCHAR) AS item_key,
            i AS seq,
            customer_id,
            printf('PAY-%08d', i) AS payment_id,
            CASE WHEN settled THEN settle_on ELSE CAST(invoice_date + 20 AS DATE) END AS payment_date,
            printf('INV/%d/%08d', year(invoice_date), i) AS invoice_number,
            CASE WHEN settled THEN amount ELSE CAST(ROUND(amount / 2, 2) AS DECIMAL(38, 6)) END AS amount,
            2 AS amount_scale,
            TRUE AS allocated,
            strftime(CASE WHEN settled THEN settle_on ELSE CAST(invoice_date + 20 AS DATE) END, '%Y-%m')
                AS payment_month
        FROM fated
        WHERE document_type = 'invoice' AND (settled OR partly)
    """
    touches = f"""
        {documents_sql}
        SELECT CAST(NULL AS VARCHAR) AS item_key, customer_id,
            printf('INV/%d/%08d', year(invoice_date), i) AS invoice_number,
            CASE WHEN fate % 3 = 0 THEN 'due_reminder' ELSE 'first_reminder#1' END AS step,
            CAST(due_date + 3 AS DATE) AS day, strftime(CAST(due_date + 3 AS DATE), '%Y-%m') AS touch_month
        FROM fated
        WHERE document_type = 'invoice' AND fate % 5 = 0 AND due_date + 3 <= {day}
    """
    small = max(1, documents // 1000)
    promises = f"""
        SELECT CAST(NULL AS VARCHAR) AS item_key,
            printf('Kunde %d & Söhne, GmbH', {_h(1, seed)} % {customers}) AS customer_id,
            printf('PTP-%d', i) AS promise_id,
            CASE WHEN i % 3 = 0 THEN 'broken' WHEN i % 3 = 1 THEN 'kept' ELSE 'open' END AS status,
            CAST({day} - CAST({_h(2, seed)} % 365 AS INTEGER) AS DATE) AS settled_day,
            strftime(CAST({day} - CAST({_h(2, seed)} % 365 AS INTEGER) AS DATE), '%Y-%m') AS settled_month
        FROM range({small}) AS t(i)
    """
    disputes = f"""
        SELECT CAST(NULL AS VARCHAR) AS item_key,
            printf('Kunde %d & Söhne, GmbH', {_h(1, seed)} % {customers}) AS customer_id,
            printf('DSP-%d', i) AS dispute_id,
            CAST({day} - CAST({_h(2, seed)} % 365 AS INTEGER) AS TIMESTAMP) AS created_at,
            CAST({day} - CAST({_h(2, seed)} % 365 AS INTEGER) AS DATE) AS created_day,
            CASE WHEN i % 2 = 0 THEN CAST({day} - CAST({_h(2, seed)} % 365 AS INTEGER) AS TIMESTAMP)
                + to_hours(CAST(1 + {_h(3, seed)} % 400 AS INTEGER)) END AS resolved_at,
            CASE WHEN i % 2 = 0 THEN CAST(CAST({day} - CAST({_h(2, seed)} % 365 AS INTEGER) AS TIMESTAMP)
                + to_hours(CAST(1 + {_h(3, seed)} % 400 AS INTEGER)) AS DATE) END AS resolved_day,
            strftime(CAST({day} - CAST({_h(2, seed)} % 365 AS INTEGER) AS DATE), '%Y-%m') AS created_month
        FROM range({small}) AS t(i)
    """
    closed = f"CAST({day} - CAST({_h(2, seed)} % 365 AS INTEGER) AS DATE)"
    tasks = f"""
        SELECT CAST(NULL AS VARCHAR) AS item_key,
            printf('Kunde %d & Söhne, GmbH', {_h(1, seed)} % {customers}) AS customer_id,
            printf('T-%d', i) AS task_id,
            printf('collector-%d', i % 7) AS assignee,
            CASE WHEN i % 4 = 0 THEN 'open' ELSE 'done' END AS status,
            CASE WHEN i % 4 <> 0 THEN {closed} END AS closed_day,
            CASE WHEN i % 4 <> 0 THEN strftime({closed}, '%Y-%m') END AS closed_month
        FROM range({small * 5}) AS t(i)
    """
    events = f"""
        SELECT CAST(NULL AS VARCHAR) AS item_key,
            printf('Kunde %d & Söhne, GmbH', {_h(1, seed)} % {customers}) AS customer_id,
            CASE WHEN i % 20 = 0 THEN 'email_bounce' ELSE 'email_delivery' END AS kind,
            CAST({day} - CAST({_h(2, seed)} % 365 AS INTEGER) AS DATE) AS day,
            strftime(CAST({day} - CAST({_h(2, seed)} % 365 AS INTEGER) AS DATE), '%Y-%m') AS event_month
        FROM range({small * 20}) AS t(i)
    """
    return {
        "invoices": invoices,
        "payments": payments,
        "touches": touches,
        "promises": promises,
        "disputes": disputes,
        "tasks": tasks,
        "events": events,
    }


def write_history(
    out: Path, documents: int, *, seed: int = 7, as_of: date = DEFAULT_HISTORY_AS_OF
) -> dict[str, int]:
    """The history's tables as Parquet under ``out`` (replacing them); the rows of each."""
    import duckdb

    from arcollect.reports.warehouse.compaction import TABLES, replace_table

    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    with duckdb.connect() as con:
        con.execute("SET preserve_insertion_order = false")
        for name, sql in history_sql(documents, seed, as_of).items():
            columns = ", ".join(TABLES[name][0])
            replace_table(con, name, f"SELECT {columns} FROM ({sql})", out)
            row = con.execute(
                f"SELECT COUNT(*) FROM read_parquet('{out / name}/**/*.parquet', hive_partitioning = false)"
            ).fetchone()
            counts[name] = int(row[0]) if row else 0
        replace_table(con, "customers", None, out)
    return counts
