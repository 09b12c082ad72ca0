"""The KPI report as SQL over Parquet: the table's items compacted into date-partitioned Parquet
(``compaction``), the KPI definitions written once as SQL (``sql/``), run by DuckDB on one machine
(``engine``) and, past one machine, by Athena over the same files.

Only the reports function imports this package, and only when the report runs on the SQL engine: DuckDB
is loaded on first use, so no other function's cold start pays for it (tests/unit/test_cold_start_imports.py).
"""
