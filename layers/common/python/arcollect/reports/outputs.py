"""The KPI report files of one run, rendered from the ``compute_kpis`` document, and the weekly email.

``render_report(document)`` returns every file of a run, name -> (content, content type):

- ``kpis.json``: the document itself, indented, keys sorted (the same document gives the same bytes);
- ``kpi-report.xlsx``: sheets Summary, Aging, Customers by risk, Forecast, Activity, By company code and
  By segment; amounts, days and counts are numeric cells (a decimal string becomes a float only at the
  cell), with native Excel column charts of the aging buckets and of the 13-week forecast per currency;
- one CSV per table (``summary.csv``, ``aging.csv``, ...), UTF-8 with a byte-order mark for Excel;
- ``summary.html``: one self-contained page (no scripts, no external assets, a Content-Security-Policy
  that forbids them) with the headline figures and SVG bar charts drawn here.

Text that came from the ERP or the customer (names, ids, company codes, segments, collectors) could start
a spreadsheet formula: in the CSV and XLSX files it goes through ``neutralise`` (a leading quote before
``= + - @``, tab or carriage return); in HTML Jinja2 escapes every value, SVG labels included. A figure
the document leaves null (no credit sales, no paid invoices) is an empty cell, and "n/a" on the page.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from email.message import EmailMessage
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arcollect.aging import AGING_BUCKETS
from arcollect.cells import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE, neutralise
from arcollect.contract import ReportPrefix
from arcollect.mailing import stamp_sent
from arcollect.money import grouped
from arcollect.reports.tables import (
    COUNT,
    DATE,
    DAYS,
    MONEY,
    NUMBER,
    PERCENT,
    SHARE,
    TEXT,
    Block,
    Cell,
    Column,
    Sheet,
)

if TYPE_CHECKING:
    from jinja2 import Environment

JSON_CONTENT_TYPE = "application/json"
HTML_CONTENT_TYPE = "text/html; charset=utf-8"

JSON_FILE = "kpis.json"
XLSX_FILE = "kpi-report.xlsx"
HTML_FILE = "summary.html"

TEMPLATES = Path(__file__).parent / "templates"

NOT_AVAILABLE = "n/a"

# How many customers the HTML page lists (the XLSX and CSV files list every one the document has).
HTML_TOP_CUSTOMERS = 25

AGING_LABELS = {
    "current": "Current",
    "d1_30": "1-30",
    "d31_60": "31-60",
    "d61_90": "61-90",
    "d91_plus": "91+",
}

# The per-currency figures, in report order: (key, label, kind). The aging buckets have their own table.
FIGURES: tuple[tuple[str, str, str], ...] = (
    ("ar_total", "AR total", MONEY),
    ("ar_current", "Current (not yet due)", MONEY),
    ("ar_past_due", "Past due", MONEY),
    ("open_invoices", "Open invoices", COUNT),
    ("credit_sales", "Credit sales (window)", MONEY),
    ("ar_begin", "AR at window start", MONEY),
    ("dso_days", "DSO (days)", DAYS),
    ("best_possible_dso_days", "Best possible DSO (days)", DAYS),
    ("average_days_delinquent", "Average days delinquent", DAYS),
    ("countback_dso_days", "Countback DSO (days)", DAYS),
    ("cei_percent", "CEI (%)", PERCENT),
    ("write_offs", "Write-offs", MONEY),
    ("paid_in_window", "Paid in window", MONEY),
    ("average_days_to_pay", "Average days to pay", DAYS),
    ("average_days_late", "Average days late", DAYS),
)

# The figures on the page and in the email, per currency.
HEADLINE = ("ar_total", "ar_past_due", "dso_days", "best_possible_dso_days", "cei_percent", "credit_sales")
EMAIL_HEADLINE = ("ar_total", "ar_past_due", "dso_days", "cei_percent")

ACTIVITY: tuple[tuple[str, str, str], ...] = (
    ("promise_kept_rate", "Promise-kept rate", SHARE),
    ("promises_kept", "Promises kept", COUNT),
    ("promises_broken", "Promises broken", COUNT),
    ("disputes_opened", "Disputes opened", COUNT),
    ("disputes_resolved", "Disputes resolved", COUNT),
    ("dispute_average_age_days", "Average dispute age (days)", DAYS),
    ("touches_per_customer", "Touches per customer", NUMBER),
    ("touches_per_invoice", "Touches per invoice", NUMBER),
    ("emails_delivered", "Emails delivered", COUNT),
    ("emails_bounced", "Emails bounced", COUNT),
)


# -- reading the document ------------------------------------------------------------------------------


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _sequence(value: object) -> Sequence[Any]:
    return value if isinstance(value, list | tuple) else ()


def _decimal(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _value(raw: object, kind: str) -> Cell:
    """A document value as a typed cell: numbers parsed, dates as dates, anything unexpected as text."""
    if raw is None or raw == "":
        return None
    if kind == TEXT:
        return str(raw)
    if kind == DATE:
        try:
            return date.fromisoformat(str(raw))
        except ValueError:
            return str(raw)
    number = _decimal(raw)
    if number is None:
        return str(raw)
    if kind == COUNT and number == number.to_integral_value():
        return int(number)
    return number


# -- tables --------------------------------------------------------------------------------------------


def _figure_cells(figures: Mapping[str, Any]) -> list[Cell]:
    return [_value(figures.get(key), kind) for key, _, kind in FIGURES]


def _aging_cells(figures: Mapping[str, Any]) -> list[Cell]:
    aging = _mapping(figures.get("aging"))
    return [_value(aging.get(bucket), MONEY) for bucket in AGING_BUCKETS]


_FIGURE_COLUMNS = tuple(Column(label, kind) for _, label, kind in FIGURES)
_AGING_COLUMNS = tuple(Column(AGING_LABELS[bucket], MONEY) for bucket in AGING_BUCKETS)


def _summary(document: Mapping[str, Any]) -> Sheet:
    block = Block((Column("Currency"), *_FIGURE_COLUMNS), currency_column=0)
    for currency, figures in sorted(_mapping(document.get("by_currency")).items()):
        block.rows.append([str(currency), *_figure_cells(_mapping(figures))])
    return Sheet("Summary", "summary.csv", [block])


def _aging(document: Mapping[str, Any]) -> Sheet:
    block = Block((Column("Currency"), *_AGING_COLUMNS, Column("Total", MONEY)), currency_column=0)
    for currency, figures in sorted(_mapping(document.get("by_currency")).items()):
        figures = _mapping(figures)
        block.rows.append([str(currency), *_aging_cells(figures), _value(figures.get("ar_total"), MONEY)])
    return Sheet("Aging", "aging.csv", [block])


def _grouped(document: Mapping[str, Any], key: str, label: str, title: str, csv_name: str) -> Sheet:
    block = Block((Column(label), Column("Currency"), *_FIGURE_COLUMNS, *_AGING_COLUMNS), currency_column=1)
    for group, currencies in sorted(_mapping(document.get(key)).items()):
        for currency, figures in sorted(_mapping(currencies).items()):
            figures = _mapping(figures)
            block.rows.append([str(group), str(currency), *_figure_cells(figures), *_aging_cells(figures)])
    return Sheet(title, csv_name, [block], frozen_columns=2)


_CUSTOMER_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("customer_id", "Customer number", TEXT),
    ("name", "Name", TEXT),
    ("currency", "Currency", TEXT),
    ("ar_total", "AR total", MONEY),
    ("ar_past_due", "Past due", MONEY),
    ("oldest_days_past_due", "Oldest days past due", COUNT),
    ("average_days_late", "Average days late", DAYS),
    ("risk", "Risk", NUMBER),
)


def _customers(document: Mapping[str, Any]) -> Sheet:
    block = Block(
        (Column("Rank", COUNT), *(Column(label, kind) for _, label, kind in _CUSTOMER_FIELDS)),
        currency_column=1 + [key for key, _, _ in _CUSTOMER_FIELDS].index("currency"),
    )
    for rank, customer in enumerate(_sequence(document.get("customers_by_risk")), start=1):
        customer = _mapping(customer)
        block.rows.append([rank, *(_value(customer.get(key), kind) for key, _, kind in _CUSTOMER_FIELDS)])
    return Sheet("Customers by risk", "customers-by-risk.csv", [block], frozen_columns=3)


def _forecast(document: Mapping[str, Any]) -> Sheet:
    """The weeks (with the 80% interval's low and high when the forecast stands on the predictions),
    then what it stands on."""
    forecast = _mapping(document.get("forecast"))
    interval = any("low" in _mapping(week) for weeks in forecast.values() for week in _sequence(weeks))
    columns = [
        Column("Currency"),
        Column("Week start", DATE),
        Column("Week end", DATE),
        Column("Expected", MONEY),
    ]
    if interval:
        columns += [Column("Low (80%)", MONEY), Column("High (80%)", MONEY)]
    # Each row's amounts with its currency's decimals (150,000 JPY, 3,550.675 KWD), as its weeks are written.
    block = Block(tuple(columns), title="Expected receipts per week", currency_column=0)
    for currency, weeks in sorted(forecast.items()):
        for week in _sequence(weeks):
            week = _mapping(week)
            row: list[Cell] = [
                str(currency),
                _value(week.get("week_start"), DATE),
                _value(week.get("week_end"), DATE),
                _value(week.get("expected"), MONEY),
            ]
            if interval:
                row += [_value(week.get("low"), MONEY), _value(week.get("high"), MONEY)]
            block.rows.append(row)
    basis = _mapping(document.get("forecast_basis"))
    blocks = [block]
    if basis:
        about = Block((Column("Basis"), Column("How")), title="What the forecast stands on")
        about.rows.append([str(basis.get("basis") or ""), str(basis.get("note") or "")])
        blocks.append(about)
    return Sheet("Forecast", "forecast.csv", blocks)


PREDICTIONS_SHEET = "Predictions"

_PREDICTION_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("customer_id", "Customer number", TEXT),
    ("invoice_number", "Invoice", TEXT),
    ("currency", "Currency", TEXT),
    ("open_amount", "Open amount", MONEY),
    ("due_date", "Due date", DATE),
    ("pay_date", "Predicted pay date", DATE),
    ("low", "Low (80%)", DATE),
    ("high", "High (80%)", DATE),
    ("days_late", "Days late", COUNT),
    ("probability_over_30_days_late", "P(> 30 days late)", SHARE),
    ("factors_text", "Top factors", TEXT),
)


def _predictions(section: Mapping[str, Any]) -> Sheet:
    """Every open invoice's predicted pay date, its interval, the chance it is paid over 30 days late
    and its top three factors; then what the predictions stand on."""
    block = Block(
        (*(Column(label, kind) for _, label, kind in _PREDICTION_FIELDS), Column("Too little history")),
        title="Predicted pay dates of the open invoices",
        currency_column=[key for key, _, _ in _PREDICTION_FIELDS].index("currency"),
    )
    for row in _sequence(section.get("invoices")):
        row = _mapping(row)
        block.rows.append(
            [
                *(_value(row.get(key), kind) for key, _, kind in _PREDICTION_FIELDS),
                "yes" if row.get("fallback") else "no",
            ]
        )
    model = _mapping(section.get("model"))
    about = Block((Column("Basis"), Column("How"), Column("Model file")), title="What they stand on")
    about.rows.append(
        [str(section.get("basis") or ""), str(section.get("note") or ""), str(model.get("key") or "")]
    )
    return Sheet(PREDICTIONS_SHEET, "predictions.csv", [block, about], frozen_columns=2)


def _activity(document: Mapping[str, Any]) -> Sheet:
    activity = _mapping(document.get("activity"))
    measures = Block(
        (Column("Measure"), Column("Value", NUMBER)),
        title="Promises, disputes, touches and emails",
        row_kinds=[kind for _, _, kind in ACTIVITY],
    )
    for key, label, kind in ACTIVITY:
        measures.rows.append([label, _value(activity.get(key), kind)])
    collectors = Block(
        (
            Column("Collector"),
            Column("Tasks completed", COUNT),
            Column("Tasks per day", NUMBER),
            Column("Accounts", COUNT),
        ),
        title="Collector productivity",
    )
    for name, figures in sorted(_mapping(activity.get("collector_productivity")).items()):
        figures = _mapping(figures)
        collectors.rows.append(
            [
                str(name),
                _value(figures.get("tasks_completed"), COUNT),
                _value(figures.get("tasks_per_day"), NUMBER),
                _value(figures.get("accounts"), COUNT),
            ]
        )
    steps = Block(
        (
            Column("Policy step"),
            Column("Invoices", COUNT),
            Column("Paid within 7 days", COUNT),
            Column("Share", SHARE),
        ),
        title="Step effectiveness",
    )
    for step, figures in sorted(_mapping(activity.get("step_effectiveness")).items()):
        figures = _mapping(figures)
        steps.rows.append(
            [
                str(step),
                _value(figures.get("invoices"), COUNT),
                _value(figures.get("paid_within_7_days"), COUNT),
                _value(figures.get("share"), SHARE),
            ]
        )
    return Sheet("Activity", "activity.csv", [measures, collectors, steps], frozen_columns=0)


def report_sheets(document: Mapping[str, Any]) -> list[Sheet]:
    """Every table of the report, in workbook order (each is also one CSV file)."""
    sheets = [
        _summary(document),
        _aging(document),
        _customers(document),
        _forecast(document),
        _activity(document),
        _grouped(document, "by_company_code", "Company code", "By company code", "by-company-code.csv"),
        _grouped(document, "by_segment", "Segment", "By segment", "by-segment.csv"),
    ]
    if document.get("predictions"):
        sheets.append(_predictions(_mapping(document["predictions"])))
    if document.get("experiment"):
        sheets.append(_experiment(_mapping(document["experiment"])))
    if document.get("deductions"):
        from arcollect.reports.deductions import deductions_sheet

        sheets.append(deductions_sheet(_mapping(document["deductions"])))
    if document.get("credit_control"):
        from arcollect.reports.credit_control import credit_control_sheet

        sheets.append(credit_control_sheet(_mapping(document["credit_control"])))
    if document.get("payment_plans"):
        from arcollect.reports.plans import plans_sheet

        sheets.append(plans_sheet(_mapping(document["payment_plans"])))
    return sheets


EXPERIMENT_SHEET = "Champion and challenger"


def _experiment(test: Mapping[str, Any]) -> Sheet:
    """The champion/challenger comparison (reports/experiment.py): one row per measure, both arms with
    their sample sizes and 95% intervals, the difference and the verdict."""
    block = Block(
        (
            Column("Measure"),
            Column("Currency"),
            Column("Champion", NUMBER),
            Column("95% interval"),
            Column("n", COUNT),
            Column("Challenger", NUMBER),
            Column("95% interval"),
            Column("n", COUNT),
            Column("Difference", NUMBER),
            Column("95% interval"),
            Column("Verdict"),
        ),
        title=str(test.get("summary") or ""),
    )

    def interval(part: Mapping[str, Any]) -> str:
        low, high = part.get("low"), part.get("high")
        return NOT_AVAILABLE if low is None or high is None else f"{low} to {high}"

    for figure in _sequence(test.get("figures")):
        figure = _mapping(figure)
        champion, challenger = _mapping(figure.get("champion")), _mapping(figure.get("challenger"))
        difference = _mapping(figure.get("difference"))
        block.rows.append(
            [
                str(figure.get("measure") or ""),
                str(figure.get("currency") or ""),
                _decimal(champion.get("value")),
                interval(champion),
                int(champion.get("n") or 0),
                _decimal(challenger.get("value")),
                interval(challenger),
                int(challenger.get("n") or 0),
                _decimal(difference.get("value")),
                interval(difference),
                str(figure.get("verdict") or ""),
            ]
        )
    return Sheet(EXPERIMENT_SHEET, "champion-challenger.csv", [block])


# -- CSV -----------------------------------------------------------------------------------------------


def _csv_text(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, str):
        return neutralise(cell)
    if isinstance(cell, date):
        return cell.isoformat()
    return str(cell)


def sheet_csv(sheet: Sheet) -> bytes:
    """The sheet's blocks, a blank line between them (a titled block starts with its title)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for index, block in enumerate(sheet.blocks):
        if index:
            writer.writerow([])
        if block.title and len(sheet.blocks) > 1:
            writer.writerow([neutralise(block.title)])
        writer.writerow([neutralise(column.label) for column in block.columns])
        for row in block.rows:
            writer.writerow([_csv_text(cell) for cell in row])
    return buffer.getvalue().encode("utf-8-sig")


# -- text for people -----------------------------------------------------------------------------------


def show(cell: Cell, kind: str = NUMBER, currency: str | None = None) -> str:
    """A cell as text on the page or in the email: grouped amounts (with ``currency``'s decimals, as the
    reminders write them: ``1,250.00`` EUR, ``150,000`` JPY, ``1.250`` KWD; two without one), one-decimal
    days, "n/a" for null."""
    if cell is None:
        return NOT_AVAILABLE
    if isinstance(cell, str):
        return cell
    if isinstance(cell, date):
        return cell.isoformat()
    if isinstance(cell, int):
        return f"{cell:,d}"
    if kind == MONEY:
        return grouped(cell, currency) if currency else f"{cell:,.2f}"
    if kind == SHARE:
        return f"{cell * 100:,.1f} %"
    if kind in (DAYS, PERCENT):
        return f"{cell:,.1f}"
    return f"{cell:,}"


def _short(amount: Decimal) -> str:
    """An axis label: 1.2k, 3.4M."""
    size = abs(amount)
    for limit, suffix in ((Decimal(10) ** 9, "G"), (Decimal(10) ** 6, "M"), (Decimal(10) ** 3, "k")):
        if size >= limit:
            return f"{amount / limit:,.1f}{suffix}"
    return f"{amount:,.0f}"


# -- SVG charts (geometry only: the template writes the elements, escaping every label) -----------------


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # under the bar
    value: str  # above the bar, and in the tooltip
    negative: bool


@dataclass(frozen=True)
class BarChartSvg:
    title: str
    width: int
    height: int
    baseline: float
    bars: list[Bar]
    value_labels: bool  # room to print each value above its bar
    ticks: list[tuple[float, str]]


def bar_chart(
    title: str,
    points: Sequence[tuple[str, Decimal | None]],
    *,
    width: int = 640,
    value_labels: bool = True,
    currency: str | None = None,
) -> BarChartSvg:
    """Bars for ``points`` (label, amount), zero as the baseline; a null amount draws no bar. The values
    with ``currency``'s decimals (``show``); without one, to the cent."""
    height, top, bottom, left, right = 240, 24, 36, 64, 8
    values = [value for _, value in points if value is not None]
    high = max([Decimal(0), *values])
    low = min([Decimal(0), *values])
    span = (high - low) or Decimal(1)
    plot = height - top - bottom

    def y_of(value: Decimal) -> float:
        return round(top + float((high - value) / span) * plot, 2)

    baseline = y_of(Decimal(0))
    slot = (width - left - right) / max(len(points), 1)
    bars = []
    for index, (label, value) in enumerate(points):
        amount = value if value is not None else Decimal(0)
        y = y_of(amount)
        bars.append(
            Bar(
                x=round(left + index * slot + slot * 0.15, 2),
                y=min(y, baseline),
                width=round(slot * 0.7, 2),
                height=round(abs(baseline - y), 2),
                label=label,
                value=show(value, MONEY, currency),
                negative=amount < 0,
            )
        )
    ticks: list[tuple[float, str]] = []
    for value in (Decimal(0), high, low):  # zero first: a tick too close to one already drawn is left out
        y = y_of(value)
        if all(abs(y - drawn) >= 12 for drawn, _ in ticks):
            ticks.append((y, _short(value)))
    return BarChartSvg(title, width, height, baseline, bars, value_labels, ticks)


# -- HTML ----------------------------------------------------------------------------------------------


@cache
def _environment() -> Environment:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _labels(keys: Iterable[str]) -> list[tuple[str, str]]:
    labels = {key: (label, kind) for key, label, kind in FIGURES}
    return [(key, labels[key][0]) for key in keys]


def _headline_rows(by_currency: Mapping[str, Any], keys: Sequence[str]) -> list[tuple[str, list[str]]]:
    kinds = {key: kind for key, _, kind in FIGURES}
    return [
        (
            str(currency),
            [show(_value(_mapping(figures).get(key), kinds[key]), kinds[key], str(currency)) for key in keys],
        )
        for currency, figures in sorted(by_currency.items())
    ]


def _display_block(block: Block) -> dict[str, Any]:
    return {
        "title": block.title,
        "columns": [column.label for column in block.columns],
        "numeric": [column.kind != TEXT for column in block.columns],
        "rows": [
            [
                show(cell, block.kind(index, col), block.currency(index))
                for col, cell in enumerate(row[: len(block.columns)])
            ]
            for index, row in enumerate(block.rows)
        ],
    }


def report_html(document: Mapping[str, Any], sheets: Sequence[Sheet] | None = None) -> bytes:
    sheets = list(sheets) if sheets is not None else report_sheets(document)
    by_name = {sheet.title: sheet for sheet in sheets}
    by_currency = _mapping(document.get("by_currency"))
    aging_charts = []
    for currency, figures in sorted(by_currency.items()):
        cells = _aging_cells(_mapping(figures))
        points = [
            (AGING_LABELS[bucket], cell if isinstance(cell, Decimal) else None)
            for bucket, cell in zip(AGING_BUCKETS, cells, strict=True)
        ]
        aging_charts.append(bar_chart(f"Aging, {currency}", points, width=420, currency=str(currency)))
    forecast_charts = []
    for currency, weeks in sorted(_mapping(document.get("forecast")).items()):
        points = []
        for week in _sequence(weeks):
            week = _mapping(week)
            amount = _decimal(week.get("expected"))
            points.append((str(week.get("week_start") or "")[5:], amount))
        title = f"13-week cash forecast, {currency}"
        forecast_charts.append(bar_chart(title, points, value_labels=False, currency=str(currency)))
    customers = by_name["Customers by risk"].blocks[0]
    top = replace(customers, rows=customers.rows[:HTML_TOP_CUSTOMERS])
    predictions = by_name.get(PREDICTIONS_SHEET)
    likely_late: Block | None = None
    if predictions is not None:
        # The invoices most likely to be paid over 30 days late first (the rule's rows have no chance).
        rows = predictions.blocks[0].rows
        chance = len(_PREDICTION_FIELDS) - 2

        def likelihood(row: list[Cell]) -> Decimal:
            cell = row[chance]
            return cell if isinstance(cell, Decimal) else Decimal(-1)

        ranked = sorted(rows, key=lambda row: -likelihood(row))
        likely_late = replace(predictions.blocks[0], rows=ranked[:HTML_TOP_CUSTOMERS], title=None)
    context = {
        "as_of": str(document.get("as_of") or ""),
        "window_days": str(document.get("window_days") or ""),
        "headline_labels": [label for _, label in _labels(HEADLINE)],
        "headline": _headline_rows(by_currency, HEADLINE),
        "summary": _display_block(by_name["Summary"].blocks[0]),
        "aging": _display_block(by_name["Aging"].blocks[0]),
        "aging_charts": aging_charts,
        "forecast_charts": forecast_charts,
        "customers": _display_block(top),
        "customers_total": len(customers.rows),
        "forecast_basis": str(_mapping(document.get("forecast_basis")).get("note") or ""),
        "predictions": _display_block(likely_late) if likely_late is not None else None,
        "predictions_total": len(predictions.blocks[0].rows) if predictions is not None else 0,
        "predictions_note": str(_mapping(document.get("predictions")).get("note") or ""),
        "activity": [_display_block(block) for block in by_name["Activity"].blocks],
        "by_company_code": _display_block(by_name["By company code"].blocks[0]),
        "by_segment": _display_block(by_name["By segment"].blocks[0]),
        "experiment": _display_block(by_name[EXPERIMENT_SHEET].blocks[0])
        if EXPERIMENT_SHEET in by_name
        else None,
        "experiment_summary": by_name[EXPERIMENT_SHEET].blocks[0].title
        if EXPERIMENT_SHEET in by_name
        else None,
        "xlsx_file": XLSX_FILE,
    }
    return _environment().get_template("summary.html").render(context).encode("utf-8")


# -- the run's files -----------------------------------------------------------------------------------


def report_json(document: Mapping[str, Any]) -> bytes:
    """The document as stored: indented, keys sorted, a trailing newline (stable bytes for a document)."""
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n").encode()


def _as_of(document: Mapping[str, Any]) -> date | None:
    try:
        return date.fromisoformat(str(document.get("as_of") or ""))
    except ValueError:
        return None


def render_report(document: Mapping[str, Any]) -> dict[str, tuple[bytes, str]]:
    """Every file of one run: name -> (content, content type)."""
    sheets = report_sheets(document)
    from arcollect.reports import workbook  # openpyxl: loaded when a workbook is written

    files: dict[str, tuple[bytes, str]] = {
        JSON_FILE: (report_json(document), JSON_CONTENT_TYPE),
        XLSX_FILE: (workbook.report_xlsx(sheets, as_of=_as_of(document)), XLSX_CONTENT_TYPE),
        HTML_FILE: (report_html(document, sheets), HTML_CONTENT_TYPE),
    }
    for sheet in sheets:
        files[sheet.csv_name] = (sheet_csv(sheet), CSV_CONTENT_TYPE)
    return files


# -- the weekly email ----------------------------------------------------------------------------------

_EMAIL_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ subject }}</title></head>
<body style="font-family: Arial, sans-serif; color: #1f2328;">
<p>Accounts receivable as of <strong>{{ as_of }}</strong> ({{ window_days }}-day window).</p>
{% if rows %}
<table style="border-collapse: collapse;" cellpadding="6">
<thead><tr><th style="text-align:left; border-bottom: 1px solid #999;">Currency</th>
{% for label in labels %}
<th style="text-align:right; border-bottom: 1px solid #999;">{{ label }}</th>
{% endfor %}
</tr></thead>
<tbody>
{% for currency, values in rows %}<tr><td>{{ currency }}</td>
{% for value in values %}<td style="text-align:right;">{{ value }}</td>{% endfor %}</tr>
{% endfor %}
</tbody></table>
{% else %}
<p>No open receivables.</p>
{% endif %}
<p>Promise-kept rate: <strong>{{ promise_kept_rate }}</strong></p>
<p>The full report (kpi-report.xlsx, CSV tables, summary.html with charts) is in the reports bucket under
<code>{{ folder }}</code> (the newest run also under <code>{{ latest }}</code>), and on the staff
console's Reports page (/staff/reports).</p>
{% if hint %}
<p>Download: {{ hint }}</p>
{% for link in links %}
<p><a href="{{ link }}">{{ link }}</a></p>
{% endfor %}
{% endif %}
</body></html>
"""


_LINKS = re.compile(r"https?://[^\s<>\"']+")


@cache
def _email_html() -> Any:
    from jinja2 import Environment, StrictUndefined

    return Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True).from_string(_EMAIL_HTML)


def weekly_summary_email(
    document: Mapping[str, Any],
    *,
    sender: str,
    to: str | Sequence[str],
    download_url_hint: str | None,
    now: datetime,
) -> bytes:
    """The managers' weekly summary: headline figures per currency and where the report files are; sent
    at ``now`` (the run's time: its ``Date`` and ``X-Arcollect-Sent-At``).

    ``download_url_hint`` says where to download, as the caller knows it (the bucket's ``s3://`` address,
    the console's ``<portal>/staff/reports`` page, or both in words); shown as text, its http(s)
    addresses also as links. None: only the folder and the console page are named.
    """
    as_of = str(document.get("as_of") or "")
    window_days = str(document.get("window_days") or "")
    by_currency = _mapping(document.get("by_currency"))
    labels = [label for _, label in _labels(EMAIL_HEADLINE)]
    rows = _headline_rows(by_currency, EMAIL_HEADLINE)
    rate = show(_value(_mapping(document.get("activity")).get("promise_kept_rate"), SHARE), SHARE)
    folder = f"{ReportPrefix.KPI}{as_of}/"
    hint = " ".join(download_url_hint.split()) if download_url_hint else ""
    links = _LINKS.findall(hint)
    subject = f"Accounts receivable KPIs as of {as_of}"

    lines = [f"Accounts receivable as of {as_of} ({window_days}-day window).", ""]
    if rows:
        for currency, values in rows:
            lines.append(f"{currency}:")
            lines += [f"  {label + ':':<12} {value}" for label, value in zip(labels, values, strict=True)]
            lines.append("")
    else:
        lines += ["No open receivables.", ""]
    lines += [
        f"Promise-kept rate: {rate}",
        "",
        "The full report (kpi-report.xlsx, CSV tables, summary.html with charts) is in the reports bucket",
        f"under {folder} (the newest run also under {ReportPrefix.LATEST}), and on the staff console's",
        "Reports page (/staff/reports).",
    ]
    if hint:
        lines += ["", f"Download: {hint}"]

    message = EmailMessage()
    message["From"] = sender
    message["To"] = to if isinstance(to, str) else ", ".join(to)
    message["Subject"] = subject
    stamp_sent(message, now)
    message.set_content("\n".join(lines) + "\n")
    html = _email_html().render(
        subject=subject,
        as_of=as_of,
        window_days=window_days,
        labels=labels,
        rows=rows,
        promise_kept_rate=rate,
        folder=folder,
        latest=ReportPrefix.LATEST,
        hint=hint,
        links=links,
    )
    message.add_alternative(html, subtype="html")
    return message.as_bytes()


__all__ = [
    "HTML_CONTENT_TYPE",
    "HTML_FILE",
    "JSON_CONTENT_TYPE",
    "JSON_FILE",
    "XLSX_FILE",
    "Sheet",
    "render_report",
    "report_sheets",
    "weekly_summary_email",
]
