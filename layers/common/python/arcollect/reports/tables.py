"""The tables a KPI report is made of, whatever writes them: typed cells, columns, blocks and sheets.

``outputs`` builds them from the KPI document and writes CSV and HTML; ``workbook`` writes them to XLSX.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

# Cell kinds: how a value is parsed from the document and shown (Excel number format, page text).
TEXT, MONEY, DAYS, PERCENT, SHARE, COUNT, NUMBER, DATE = (
    "text",
    "money",
    "days",
    "percent",
    "share",
    "count",
    "number",
    "date",
)
EXCEL_FORMATS = {
    MONEY: "#,##0.00",
    DAYS: "#,##0.0",
    PERCENT: "#,##0.0",
    SHARE: "0.0%",
    COUNT: "#,##0",
    DATE: "yyyy-mm-dd",
}

Cell = str | Decimal | int | date | None


@dataclass(frozen=True)
class Column:
    label: str
    kind: str = TEXT


@dataclass
class Block:
    """One table: a header row of columns, then rows of typed cells."""

    columns: tuple[Column, ...]
    rows: list[list[Cell]] = field(default_factory=list)
    title: str | None = None
    # The kind of each row's last cell, when it differs by row (a list of measures of different kinds).
    row_kinds: list[str] | None = None

    def kind(self, row: int, col: int) -> str:
        if self.row_kinds is not None and col == len(self.columns) - 1:
            return self.row_kinds[row]
        return self.columns[col].kind


@dataclass
class Sheet:
    """One sheet of the workbook and one CSV file: its blocks, one under the other."""

    title: str
    csv_name: str
    blocks: list[Block]
    frozen_columns: int = 1  # the columns that name a row, kept in view when scrolling right
