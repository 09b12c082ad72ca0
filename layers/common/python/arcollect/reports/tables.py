"""The tables a KPI report is made of, whatever writes them: typed cells, columns, blocks and sheets.

``outputs`` builds them from the KPI document and writes CSV and HTML; ``workbook`` writes them to XLSX.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from arcollect.money import DEFAULT_MINOR_UNIT, minor_unit

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


def money_format(currency: str | None) -> str:
    """The Excel number format of an amount in ``currency``, with its decimals (ISO 4217,
    arcollect/money.py): ``#,##0.00`` EUR, ``#,##0`` JPY, ``#,##0.000`` KWD; two without a currency."""
    places = minor_unit(currency) if currency else DEFAULT_MINOR_UNIT
    return "#,##0." + "0" * places if places else "#,##0"


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
    # The column naming each row's currency: the row's amounts (MONEY) are shown with its decimals (ISO
    # 4217: 1,250.00 EUR, 150,000 JPY, 1.250 KWD). None: two decimals.
    currency_column: int | None = None

    def kind(self, row: int, col: int) -> str:
        if self.row_kinds is not None and col == len(self.columns) - 1:
            return self.row_kinds[row]
        return self.columns[col].kind

    def currency(self, row: int) -> str | None:
        """The currency of row ``row``'s amounts, if the block names one."""
        if self.currency_column is None:
            return None
        cell = self.rows[row][self.currency_column]
        return cell if isinstance(cell, str) and cell else None


@dataclass
class Sheet:
    """One sheet of the workbook and one CSV file: its blocks, one under the other."""

    title: str
    csv_name: str
    blocks: list[Block]
    frozen_columns: int = 1  # the columns that name a row, kept in view when scrolling right
