"""The KPI report files (JSON, XLSX with charts, CSV, HTML with SVG) and the weekly summary email."""

from __future__ import annotations

import csv
import email
import io
import json
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from html.parser import HTMLParser
from typing import Any

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]

from arcollect.reports.outputs import render_report, weekly_summary_email

CSV_FILES = (
    "summary.csv",
    "aging.csv",
    "customers-by-risk.csv",
    "forecast.csv",
    "activity.csv",
    "by-company-code.csv",
    "by-segment.csv",
)
SHEETS = ("Summary", "Aging", "Customers by risk", "Forecast", "Activity", "By company code", "By segment")
FORMULA_NAME = '=HYPERLINK("http://evil.example/","Click")'
SCRIPT_NAME = "<script>alert('x')</script> & Co"


def figures(total: str = "1500.00", *, nulls: bool = False) -> dict[str, Any]:
    return {
        "ar_total": total,
        "ar_current": "1000.00",
        "ar_past_due": "500.00",
        "aging": {
            "current": "1000.00",
            "d1_30": "300.00",
            "d31_60": "-100.00",
            "d61_90": "200.00",
            "d91_plus": "100.00",
        },
        "open_invoices": 7,
        "credit_sales": None if nulls else "3000.00",
        "ar_begin": "1200.00",
        "dso_days": None if nulls else "45.0",
        "best_possible_dso_days": None if nulls else "30.0",
        "average_days_delinquent": None if nulls else "15.0",
        "countback_dso_days": None if nulls else "41.7",
        "cei_percent": None if nulls else "82.5",
        "write_offs": "25.50",
        "paid_in_window": "2700.00",
        "average_days_to_pay": None if nulls else "33.2",
        "average_days_late": None if nulls else "3.2",
    }


def forecast(start: date, amount: int) -> list[dict[str, str]]:
    return [
        {
            "week_start": (start + timedelta(days=7 * week)).isoformat(),
            "week_end": (start + timedelta(days=7 * week + 6)).isoformat(),
            "expected": f"{amount * (week + 1)}.00",
        }
        for week in range(13)
    ]


def sample_document() -> dict[str, Any]:
    return {
        "as_of": "2026-03-31",
        "window_days": 90,
        "by_currency": {"EUR": figures("1234567.89"), "USD": figures(nulls=True)},
        "by_company_code": {"1000": {"EUR": figures()}, "(none)": {"USD": figures(nulls=True)}},
        "by_segment": {"standard": {"EUR": figures()}, "+cmd": {"USD": figures()}},
        "activity": {
            "promise_kept_rate": "0.75",
            "promises_kept": 3,
            "promises_broken": 1,
            "disputes_opened": 2,
            "disputes_resolved": 1,
            "dispute_average_age_days": "4.5",
            "touches_per_customer": "2.3",
            "touches_per_invoice": "1.1",
            "emails_delivered": 10,
            "emails_bounced": 1,
            "collector_productivity": {
                "alex": {"tasks_completed": 12, "tasks_per_day": "0.4", "accounts": 30}
            },
            "step_effectiveness": {"reminder": {"invoices": 10, "paid_within_7_days": 4, "share": "0.40"}},
        },
        "customers_by_risk": [
            {
                "customer_id": "C-1",
                "name": FORMULA_NAME,
                "currency": "EUR",
                "ar_total": "900.00",
                "ar_past_due": "800.00",
                "oldest_days_past_due": 120,
                "average_days_late": "30.5",
                "risk": "0.91",
            },
            {
                "customer_id": "@C-2",
                "name": SCRIPT_NAME,
                "currency": "USD",
                "ar_total": "100.00",
                "ar_past_due": "0.00",
                "oldest_days_past_due": 0,
                "average_days_late": None,
                "risk": "0.10",
            },
        ],
        "forecast": {"EUR": forecast(date(2026, 4, 1), 100), "USD": forecast(date(2026, 4, 1), 10)},
    }


def empty_document() -> dict[str, Any]:
    return {
        "as_of": "2026-03-31",
        "window_days": 90,
        "by_currency": {},
        "by_company_code": {},
        "by_segment": {},
        "activity": {
            "promise_kept_rate": None,
            "promises_kept": 0,
            "promises_broken": 0,
            "disputes_opened": 0,
            "disputes_resolved": 0,
            "dispute_average_age_days": None,
            "touches_per_customer": None,
            "touches_per_invoice": None,
            "emails_delivered": 0,
            "emails_bounced": 0,
            "collector_productivity": {},
            "step_effectiveness": {},
        },
        "customers_by_risk": [],
        "forecast": {},
    }


@pytest.fixture(scope="module")
def files() -> dict[str, tuple[bytes, str]]:
    return render_report(sample_document())


def csv_rows(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf")  # a BOM, so Excel reads UTF-8
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def workbook(content: bytes) -> Any:
    return load_workbook(io.BytesIO(content))


# -- every file ----------------------------------------------------------------------------------------


def test_a_report_renders_to_the_same_bytes_whenever_it_is_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """A retried or repeated run rewrites its files unchanged (tests/reliability/test_report_crashes.py):
    the workbook is dated with the report's as-of day, not the wall clock (openpyxl stamps its document
    properties with ``now``, zipfile each archive entry with the local time)."""
    import zipfile

    from openpyxl.packaging import core  # type: ignore[import-untyped]

    first = render_report(sample_document())

    class Later(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return datetime(2031, 5, 6, 7, 8, 9)

        @classmethod
        def utcnow(cls) -> Any:
            return datetime(2031, 5, 6, 7, 8, 9)

    monkeypatch.setattr(core.datetime, "datetime", Later)
    monkeypatch.setattr("time.localtime", lambda *_: (2031, 5, 6, 7, 8, 9, 1, 126, 0))
    again = render_report(sample_document())
    assert again == first
    archive = zipfile.ZipFile(io.BytesIO(first["kpi-report.xlsx"][0]))
    as_of = date.fromisoformat(sample_document()["as_of"])
    assert {entry.date_time[:3] for entry in archive.infolist()} == {(as_of.year, as_of.month, as_of.day)}
    properties = workbook(first["kpi-report.xlsx"][0]).properties
    assert properties.created.date() == properties.modified.date() == as_of


def test_every_file_is_rendered_with_its_content_type(files: dict[str, tuple[bytes, str]]) -> None:
    assert set(files) == {"kpis.json", "kpi-report.xlsx", "summary.html", *CSV_FILES}
    assert files["kpis.json"][1] == "application/json"
    assert files["kpi-report.xlsx"][1] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert files["summary.html"][1] == "text/html; charset=utf-8"
    for name in CSV_FILES:
        content, content_type = files[name]
        assert content_type == "text/csv; charset=utf-8"
        assert content


def test_json_is_the_document_with_stable_bytes(files: dict[str, tuple[bytes, str]]) -> None:
    document = sample_document()
    content = files["kpis.json"][0]
    assert json.loads(content) == document
    assert content.endswith(b"\n") and b'\n  "activity"' in content  # indented
    # The same document, keys in another order, gives the same bytes.
    shuffled = dict(reversed(list(document.items())))
    assert render_report(shuffled)["kpis.json"][0] == content


# -- XLSX ----------------------------------------------------------------------------------------------


def test_xlsx_has_the_sheets_with_bold_headers_frozen_panes_and_widths(
    files: dict[str, tuple[bytes, str]],
) -> None:
    book = workbook(files["kpi-report.xlsx"][0])
    assert tuple(book.sheetnames) == SHEETS
    for title in ("Summary", "Aging", "Customers by risk", "Forecast", "By company code", "By segment"):
        sheet = book[title]
        assert sheet["A1"].font.b, title
        assert sheet.freeze_panes is not None and sheet.freeze_panes.endswith("2"), title
        assert sheet.column_dimensions["A"].customWidth and sheet.column_dimensions["A"].width >= 8
    assert book["Customers by risk"].column_dimensions["C"].width >= len(FORMULA_NAME)  # the names
    assert book["Summary"]["A1"].value == "Currency"
    assert book["Summary"]["B1"].value == "AR total"


def test_xlsx_amounts_are_numeric_cells(files: dict[str, tuple[bytes, str]]) -> None:
    book = workbook(files["kpi-report.xlsx"][0])
    summary = book["Summary"]
    assert [summary["A2"].value, summary["A3"].value] == ["EUR", "USD"]
    total = summary["B2"]
    assert isinstance(total.value, float) and total.value == pytest.approx(1234567.89)
    assert total.number_format == "#,##0.00"
    assert summary["E2"].value == 7 and isinstance(summary["E2"].value, int)  # open invoices
    headers = [cell.value for cell in summary[1]]
    dso = headers.index("DSO (days)") + 1
    assert summary.cell(row=2, column=dso).value == pytest.approx(45.0)
    assert summary.cell(row=3, column=dso).value is None  # null -> empty cell
    aging = book["Aging"]
    assert [cell.value for cell in aging[1]] == [
        "Currency",
        "Current",
        "1-30",
        "31-60",
        "61-90",
        "91+",
        "Total",
    ]
    assert aging["D2"].value == pytest.approx(-100.0)
    forecast_sheet = book["Forecast"]
    assert isinstance(forecast_sheet["B2"].value, datetime)
    assert forecast_sheet["D2"].value == pytest.approx(100.0)
    assert forecast_sheet.max_row == 1 + 2 * 13


def test_xlsx_has_native_charts(files: dict[str, tuple[bytes, str]]) -> None:
    book = workbook(files["kpi-report.xlsx"][0])
    assert len(book["Aging"]._charts) == 2  # one per currency
    assert len(book["Forecast"]._charts) == 2
    assert all(chart.tagname == "barChart" for chart in book["Aging"]._charts)


def test_xlsx_neutralises_text_that_would_be_a_formula(files: dict[str, tuple[bytes, str]]) -> None:
    sheet = workbook(files["kpi-report.xlsx"][0])["Customers by risk"]
    assert sheet["C2"].value == "'" + FORMULA_NAME
    assert sheet["C2"].data_type == "s"
    assert sheet["B3"].value == "'@C-2"
    assert sheet["C3"].value == SCRIPT_NAME  # harmless in a spreadsheet: left as it is


# -- CSV -----------------------------------------------------------------------------------------------


def test_csv_neutralises_formula_cells(files: dict[str, tuple[bytes, str]]) -> None:
    rows = csv_rows(files["customers-by-risk.csv"][0])
    assert rows[0][:3] == ["Rank", "Customer number", "Name"]
    assert rows[1][2] == "'" + FORMULA_NAME
    assert rows[2][1] == "'@C-2"
    segments = csv_rows(files["by-segment.csv"][0])
    assert [row[0] for row in segments[1:]] == ["'+cmd", "standard"]
    for name in CSV_FILES:
        for row in csv_rows(files[name][0]):
            for cell in row:
                # Only our own numbers (such as a negative bucket) may start with a sign.
                if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
                    float(cell)


def test_csv_amounts_are_plain_decimals_and_nulls_empty(files: dict[str, tuple[bytes, str]]) -> None:
    rows = csv_rows(files["summary.csv"][0])
    header = rows[0]
    eur, usd = rows[1], rows[2]
    assert eur[header.index("AR total")] == "1234567.89"
    assert usd[header.index("DSO (days)")] == ""
    aging = csv_rows(files["aging.csv"][0])
    assert aging[1] == ["EUR", "1000.00", "300.00", "-100.00", "200.00", "100.00", "1234567.89"]
    forecast_rows = csv_rows(files["forecast.csv"][0])
    assert forecast_rows[1] == ["EUR", "2026-04-01", "2026-04-07", "100.00"]
    assert len(forecast_rows) == 1 + 26
    companies = csv_rows(files["by-company-code.csv"][0])
    assert [row[:2] for row in companies[1:]] == [["(none)", "USD"], ["1000", "EUR"]]


def test_activity_csv_has_measures_collectors_and_steps(files: dict[str, tuple[bytes, str]]) -> None:
    rows = csv_rows(files["activity.csv"][0])
    assert ["Promise-kept rate", "0.75"] in rows
    assert ["Emails bounced", "1"] in rows
    assert ["alex", "12", "0.4", "30"] in rows
    assert ["reminder", "10", "4", "0.40"] in rows


# -- HTML ----------------------------------------------------------------------------------------------


class _Scan(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += attrs

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def scan(page: str) -> _Scan:
    parser = _Scan()
    parser.feed(page)
    return parser


def test_html_is_self_contained_with_svg_charts(files: dict[str, tuple[bytes, str]]) -> None:
    page = files["summary.html"][0].decode("utf-8")
    parsed = scan(page)
    assert "script" not in parsed.tags
    assert not {"link", "img", "iframe", "object", "embed"} & set(parsed.tags)
    assert not any(name.startswith("on") or name == "src" for name, _ in parsed.attributes)
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "").replace("http://evil", "")
    assert "https://" not in page
    assert parsed.tags.count("svg") == 4  # aging and forecast, per currency
    assert parsed.tags.count("rect") == 2 * 5 + 2 * 13
    assert "default-src 'none'" in page
    text = "".join(parsed.text)
    assert "Accounts receivable KPIs as of 2026-03-31" in text
    assert "1,234,567.89" in text
    assert "82.5" in text


def test_html_escapes_every_value(files: dict[str, tuple[bytes, str]]) -> None:
    page = files["summary.html"][0].decode("utf-8")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Co" in page
    assert SCRIPT_NAME in "".join(scan(page).text)
    assert FORMULA_NAME.replace('"', "&#34;") in page  # shown as it is on the page, not neutralised


def test_html_shows_null_figures_as_not_available(files: dict[str, tuple[bytes, str]]) -> None:
    text = "".join(scan(files["summary.html"][0].decode("utf-8")).text)
    assert "n/a" in text


def test_html_escapes_svg_labels() -> None:
    document = sample_document()
    document["forecast"] = {"<b>X</b>": forecast(date(2026, 4, 1), 5)}
    page = render_report(document)["summary.html"][0].decode("utf-8")
    assert "<b>X</b>" not in page
    assert "13-week cash forecast, &lt;b&gt;X&lt;/b&gt;" in page


def test_html_lists_the_top_customers_only() -> None:
    document = sample_document()
    document["customers_by_risk"] = [
        {**document["customers_by_risk"][0], "customer_id": f"C{n:03d}", "name": f"Customer {n}"}
        for n in range(40)
    ]
    files = render_report(document)
    page = files["summary.html"][0].decode("utf-8")
    assert "Customer 24<" in page and "Customer 25<" not in page
    assert "The 25 highest of 40" in page
    assert len(csv_rows(files["customers-by-risk.csv"][0])) == 41
    assert workbook(files["kpi-report.xlsx"][0])["Customers by risk"].max_row == 41


# -- robustness ----------------------------------------------------------------------------------------


def test_an_empty_document_still_renders_every_file() -> None:
    files = render_report(empty_document())
    assert set(files) == {"kpis.json", "kpi-report.xlsx", "summary.html", *CSV_FILES}
    book = workbook(files["kpi-report.xlsx"][0])
    assert tuple(book.sheetnames) == SHEETS
    assert book["Summary"].max_row == 1
    assert not book["Aging"]._charts and not book["Forecast"]._charts
    assert csv_rows(files["aging.csv"][0]) == [
        ["Currency", "Current", "1-30", "31-60", "61-90", "91+", "Total"]
    ]
    page = files["summary.html"][0].decode("utf-8")
    assert "<svg" not in page
    assert "No receivables." in page and "No forecast." in page
    assert ["Promise-kept rate", ""] in csv_rows(files["activity.csv"][0])


def test_a_minimal_document_with_missing_sections_renders() -> None:
    files = render_report({"as_of": "2026-03-31", "window_days": 90, "by_currency": {"EUR": {}}})
    rows = csv_rows(files["summary.csv"][0])
    assert rows[1][0] == "EUR" and all(cell == "" for cell in rows[1][1:])
    assert "n/a" in files["summary.html"][0].decode("utf-8")


def test_an_all_zero_chart_draws() -> None:
    document = sample_document()
    document["forecast"] = {"EUR": [{**week, "expected": "0.00"} for week in forecast(date(2026, 4, 1), 1)]}
    page = render_report(document)["summary.html"][0].decode("utf-8")
    assert page.count('height="0.0"') == 13


def test_the_forecast_is_shown_with_each_currencys_decimals() -> None:
    # Weeks as kpis.json writes them (money.plain): 1488332 JPY, 3550.675 KWD, 1200.50 EUR, empty ones too
    def weeks(first: str, empty: str) -> list[dict[str, str]]:
        listed = forecast(date(2026, 4, 1), 1)
        return [{**week, "expected": first if index == 0 else empty} for index, week in enumerate(listed)]

    document = sample_document()
    document["forecast"] = {
        "EUR": weeks("1200.50", "0.00"),
        "JPY": weeks("1488332", "0"),
        "KWD": weeks("3550.675", "0.000"),
    }
    files = render_report(document)
    # forecast.csv: as kpis.json, exact
    rows = csv_rows(files["forecast.csv"][0])
    assert rows[1] == ["EUR", "2026-04-01", "2026-04-07", "1200.50"] and rows[2][3] == "0.00"
    assert rows[14] == ["JPY", "2026-04-01", "2026-04-07", "1488332"] and rows[15][3] == "0"
    assert rows[27] == ["KWD", "2026-04-01", "2026-04-07", "3550.675"] and rows[28][3] == "0.000"
    # The workbook: numbers with their row's currency's decimals (#,##0 JPY, #,##0.000 KWD)
    sheet = workbook(files["kpi-report.xlsx"][0])["Forecast"]
    shown = [(row[0].value, row[3].value, row[3].number_format) for row in sheet.iter_rows(min_row=2)]
    assert shown[0] == ("EUR", pytest.approx(1200.5), "#,##0.00") and shown[1] == ("EUR", 0, "#,##0.00")
    assert shown[13] == ("JPY", 1488332, "#,##0") and shown[14] == ("JPY", 0, "#,##0")
    assert shown[26] == ("KWD", pytest.approx(3550.675), "#,##0.000") and shown[27] == ("KWD", 0, "#,##0.000")
    # summary.html: each bar's value as the reminders write it, never 1,488,332.00 nor 3,550.68
    page = files["summary.html"][0].decode("utf-8")
    assert "<title>04-01: 1,200.50</title>" in page and "<title>04-08: 0.00</title>" in page
    assert "<title>04-01: 1,488,332</title>" in page and "<title>04-08: 0</title>" in page
    assert "<title>04-01: 3,550.675</title>" in page and "<title>04-08: 0.000</title>" in page
    assert "1,488,332.00" not in page and "3,550.68<" not in page


# -- the weekly email ----------------------------------------------------------------------------------

# When the reports run sends it (its "now").
SENT = datetime(2026, 4, 1, 7, 0, tzinfo=UTC)


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=default_policy)
    assert isinstance(message, EmailMessage)
    return message


def bodies(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


def test_weekly_email_has_the_headline_figures_and_where_to_download() -> None:
    raw = weekly_summary_email(
        sample_document(),
        sender="reports@example.com",
        to=["cfo@example.com", "lead@example.com"],
        download_url_hint="s3://reports-bucket/kpi/2026-03-31/ or https://console.example.com/staff/reports",
        now=SENT,
    )
    message = parse(raw)
    assert message["From"] == "reports@example.com"
    assert message["To"] == "cfo@example.com, lead@example.com"
    assert "2026-03-31" in message["Subject"]
    # Sent at the run's "now", as every email says it: Date and X-Arcollect-Sent-At
    assert message["Date"].datetime == SENT and message["X-Arcollect-Sent-At"] == "2026-04-01T07:00:00Z"
    text, html = bodies(message)
    for body in (text, html):
        assert "EUR" in body and "USD" in body
        assert "1,234,567.89" in body  # AR total
        assert "500.00" in body  # past due
        assert "45.0" in body  # DSO
        assert "82.5" in body  # CEI
        assert "75.0 %" in body  # promise-kept rate
        assert "n/a" in body  # USD has no DSO
        assert "kpi/2026-03-31/" in body
        assert "s3://reports-bucket/kpi/2026-03-31/ or https://console.example.com/staff/reports" in body
        assert "Reports page (/staff/reports)" in body
    assert '<a href="https://console.example.com/staff/reports">' in html


def test_weekly_email_escapes_and_survives_an_empty_document() -> None:
    document = empty_document()
    document["by_currency"] = {"<i>X</i>": figures()}
    message = parse(
        weekly_summary_email(
            document, sender="reports@example.com", to="cfo@example.com", download_url_hint=None, now=SENT
        )
    )
    text, html = bodies(message)
    assert "<i>X</i>" in text and "<i>X</i>" not in html and "&lt;i&gt;X&lt;/i&gt;" in html
    assert "Promise-kept rate: n/a" in text
    assert "/staff/reports" in text and "/staff/reports" in html
    assert "Download:" not in text and "<a " not in html
    empty_text, _ = bodies(
        parse(
            weekly_summary_email(
                empty_document(),
                sender="reports@example.com",
                to="cfo@example.com",
                download_url_hint=None,
                now=SENT,
            )
        )
    )
    assert "No open receivables." in empty_text
