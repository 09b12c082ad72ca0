"""The KPI report's Excel workbook: one sheet per table, numeric cells, native column charts.

Its own module because openpyxl is the heaviest import of the reports: ``render_report`` imports this
when it writes a workbook, so the function's cold start does not pay for it (``make bench``).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.chart import BarChart, Reference  # type: ignore[import-untyped]
from openpyxl.styles import Font  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]
from openpyxl.xml.constants import ARC_CORE  # type: ignore[import-untyped]
from openpyxl.xml.functions import tostring  # type: ignore[import-untyped]

from arcollect.cells import neutralise
from arcollect.money import DEFAULT_MINOR_UNIT, minor_unit
from arcollect.reports.tables import EXCEL_FORMATS, MONEY, NUMBER, TEXT, Cell, Sheet, money_format

_BOLD = Font(bold=True)
_CHART_ROWS = 16  # rows between two charts stacked on a sheet


def _excel_value(cell: Cell) -> str | float | int | date | None:
    if isinstance(cell, str):
        return neutralise(cell)
    if isinstance(cell, Decimal):
        return float(cell)
    return cell


def _number_format(cell: Cell, kind: str, currency: str | None = None) -> str | None:
    """An amount with its currency's decimals (``#,##0`` JPY, ``#,##0.000`` KWD), when its row names it."""
    if cell is None or isinstance(cell, str):
        return None
    if kind in (NUMBER, TEXT):
        return "#,##0" if isinstance(cell, int) else "#,##0.00"
    if kind == MONEY and currency:
        return money_format(currency)
    return EXCEL_FORMATS.get(kind)


def _width(cell: Cell, places: int = DEFAULT_MINOR_UNIT) -> int:
    if cell is None:
        return 0
    if isinstance(cell, Decimal):
        return len(f"{cell:,.{places}f}")
    if isinstance(cell, date):
        return 10
    return len(str(cell))


def _write_sheet(ws: Any, sheet: Sheet) -> list[tuple[int, int]]:
    """The blocks on ``ws``; returns each block's (header row, last row), 1-based."""
    row_number = 0
    spans: list[tuple[int, int]] = []
    widths: dict[int, int] = {}
    for index, block in enumerate(sheet.blocks):
        if index:
            row_number += 1
        if block.title and len(sheet.blocks) > 1:
            row_number += 1
            ws.cell(row=row_number, column=1, value=block.title).font = _BOLD
        row_number += 1
        header = row_number
        for col, column in enumerate(block.columns, start=1):
            ws.cell(row=row_number, column=col, value=column.label).font = _BOLD
            widths[col] = max(widths.get(col, 0), len(column.label))
        for index_row, row in enumerate(block.rows):
            row_number += 1
            currency = block.currency(index_row)
            places = minor_unit(currency) if currency else DEFAULT_MINOR_UNIT
            for col, cell in enumerate(row[: len(block.columns)], start=1):
                target = ws.cell(row=row_number, column=col, value=_excel_value(cell))
                kind = block.kind(index_row, col - 1)
                number_format = _number_format(cell, kind, currency)
                if number_format:
                    target.number_format = number_format
                widths[col] = max(
                    widths.get(col, 0), _width(cell, places if kind == MONEY else DEFAULT_MINOR_UNIT)
                )
        spans.append((header, row_number))
    for col, width in widths.items():
        ws.column_dimensions[get_column_letter(col)].width = min(max(width + 2, 8), 60)
    first_header = spans[0][0] if spans else 1
    ws.freeze_panes = ws.cell(row=first_header + 1, column=sheet.frozen_columns + 1)
    return spans


def _column_chart(title: str, y_title: str) -> Any:
    chart = BarChart()
    chart.type = "col"
    chart.title = title
    chart.y_axis.title = y_title
    chart.y_axis.numFmt = "#,##0"
    chart.legend = None
    chart.height = 7.5
    chart.width = 16
    return chart


def _aging_charts(ws: Any, sheet: Sheet, spans: list[tuple[int, int]]) -> None:
    header, last = spans[0]
    anchor_col = get_column_letter(len(sheet.blocks[0].columns) + 2)
    for index, row in enumerate(range(header + 1, last + 1)):
        currency = ws.cell(row=row, column=1).value
        chart = _column_chart(f"Aging, {currency}", str(currency))
        chart.add_data(Reference(ws, min_col=2, max_col=6, min_row=row, max_row=row), from_rows=True)
        chart.set_categories(Reference(ws, min_col=2, max_col=6, min_row=header, max_row=header))
        ws.add_chart(chart, f"{anchor_col}{2 + index * _CHART_ROWS}")


def _forecast_charts(ws: Any, sheet: Sheet, spans: list[tuple[int, int]]) -> None:
    header = spans[0][0]
    anchor_col = get_column_letter(len(sheet.blocks[0].columns) + 2)
    rows = sheet.blocks[0].rows
    start = 0
    index = 0
    while start < len(rows):
        end = start
        while end + 1 < len(rows) and rows[end + 1][0] == rows[start][0]:
            end += 1
        currency = rows[start][0]
        first, final = header + 1 + start, header + 1 + end
        chart = _column_chart(f"13-week cash forecast, {currency}", str(currency))
        chart.add_data(Reference(ws, min_col=4, min_row=first, max_row=final))
        chart.set_categories(Reference(ws, min_col=2, min_row=first, max_row=final))
        ws.add_chart(chart, f"{anchor_col}{2 + index * _CHART_ROWS}")
        start = end + 1
        index += 1


_CHARTS: dict[str, Callable[[Any, Sheet, list[tuple[int, int]]], None]] = {
    "Aging": _aging_charts,
    "Forecast": _forecast_charts,
}


def report_xlsx(sheets: Sequence[Sheet], *, as_of: date | None = None) -> bytes:
    """The workbook's bytes. With ``as_of``, stamped with that day (00:00) instead of the wall clock,
    in its document properties and its archive's entries: the same report gives the same bytes, as
    every other file of a run, so a repeated or retried run rewrites it unchanged."""
    workbook = Workbook()
    # (naive: openpyxl writes document dates as UTC)
    stamp = datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC).replace(tzinfo=None) if as_of else None
    if stamp is not None:
        workbook.properties.created = workbook.properties.modified = stamp
    workbook.remove(workbook.active)
    for sheet in sheets:
        ws = workbook.create_sheet(sheet.title)
        spans = _write_sheet(ws, sheet)
        draw = _CHARTS.get(sheet.title)
        if draw is not None and sheet.blocks[0].rows:
            draw(ws, sheet, spans)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue() if stamp is None else _restamped(buffer.getvalue(), workbook, stamp)


def _restamped(archive: bytes, workbook: Any, stamp: datetime) -> bytes:
    """The archive with its document properties and every entry dated ``stamp`` (openpyxl's save sets
    ``modified`` to now, zipfile dates entries with the local wall clock)."""
    workbook.properties.modified = stamp
    core = tostring(workbook.properties.to_tree())
    source = zipfile.ZipFile(io.BytesIO(archive))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            dated = zipfile.ZipInfo(entry.filename, date_time=stamp.timetuple()[:6])
            dated.compress_type = zipfile.ZIP_DEFLATED
            dated.external_attr = entry.external_attr
            target.writestr(dated, core if entry.filename == ARC_CORE else source.read(entry.filename))
    return buffer.getvalue()
