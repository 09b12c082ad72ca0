"""Customer ids and invoice numbers as real ERPs hold them (spaces, commas, ``&``, ``/``, ``#``, accents,
Japanese), written in each preset's own export layout, and a small browser for the portal handler.
Fixtures of test_presets_real_world.py."""

from __future__ import annotations

import base64
import csv
import html
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

import boto3

from arcollect.store.identity import CognitoDirectory
from tests.integration.conftest import invoke, load_event

PORTAL_HOST = "portal.example.com"


@dataclass(frozen=True)
class Account:
    """A customer: ``written`` is how the ERP's file spells the id (surrounding blanks and all)."""

    written: str
    name: str
    email: str
    country: str
    time_zone: str
    language: str

    @property
    def customer_id(self) -> str:
        """The id arcollect keeps: the cell without the blanks around it (the ones inside are part of
        the name)."""
        return self.written.strip()


@dataclass(frozen=True)
class Document:
    account: Account
    number: str
    invoice_date: date
    due_date: date
    amount: Decimal
    open_amount: Decimal
    currency: str
    po_number: str
    description: str


BRENNAN = Account(
    "Brennan & Sons, PC", "Brennan & Sons, PC", "ap@brennan-sons.example", "US", "America/New_York", "en"
)
MULLER = Account(
    "Müller/Søn GmbH", "Müller/Søn GmbH", "kreditoren@mueller-soen.example", "DE", "Europe/Berlin", "de"
)
SOCIETE = Account(
    "Société Générale d'Équipement",
    "Société Générale d'Équipement",
    "comptabilite@sge-equipement.example",
    "FR",
    "Europe/Paris",
    "fr",
)
YAMADA = Account(
    "株式会社 山田商事", "株式会社 山田商事", "keiri@yamada-shoji.example", "JP", "Asia/Tokyo", "en"
)
# The ERP pads the cell; the double blank inside is part of the id (the master's name has one).
OBRIEN = Account("  O'Brien  Ltd ", "O'Brien Ltd", "accounts@obrien.example", "IE", "Europe/Dublin", "en")
# A name that starts like a spreadsheet formula, quotes inside: exports must neutralise and quote it.
ATHOME = Account(
    "@Home Interiors, LLC",
    '@Home "Loft" Interiors, LLC',
    "payables@athome-interiors.example",
    "US",
    "America/Chicago",
    "en",
)
ACCOUNTS = (BRENNAN, MULLER, SOCIETE, YAMADA, OBRIEN, ATHOME)

# Tuesday 2026-11-24 (Monday the 23rd is a public holiday in Japan): each invoice is 20 days late, so the
# `reminder` step (14 days after the due date) is the latest one due, and the next (a call, at 21 days)
# is not. Ticks every hour of the day reach every customer's 09:00-11:00 send window, Tokyo to Chicago.
TICK_DAY = date(2026, 11, 24)
INVOICE_DATE = date(2026, 10, 5)
DUE_DATE = date(2026, 11, 4)


def _document(
    account: Account, number: str, currency: str, amount: str, open_amount: str, po: str, text: str
) -> Document:
    return Document(
        account, number, INVOICE_DATE, DUE_DATE, Decimal(amount), Decimal(open_amount), currency, po, text
    )


# One open invoice per customer, in its own currency (JPY has no decimals), one of them partly paid.
DOCUMENTS = (
    _document(BRENNAN, "INV/2026/00187", "USD", "2376.75", "2376.75", "PO 55-1/A", "Repairs, Unit 4 & 5"),
    _document(MULLER, "SO-2026/0042 A", "EUR", "4800.00", "4800.00", "BE-0815/26", "Wärmepumpe WP-12"),
    _document(SOCIETE, "FA/2026/É-0007", "EUR", "1150.00", "400.00", "BC n° 77/2026", "Matériel d'été"),
    _document(YAMADA, "請求-2026/0099", "JPY", "1250000", "1250000", "発注 8841", "保守契約 11月分"),
    _document(OBRIEN, "INV#1042/B", "EUR", "845.20", "845.20", "PO#3381", "Fit-out, phase 2"),
    _document(ATHOME, "AH-2026/0031 (rev. 2)", "USD", "12480.00", "12480.00", "=PO-77", "-Sofas, lot 7"),
)


def in_home_currency(documents: Sequence[Document], currency: str) -> tuple[Document, ...]:
    """For exports that carry no currency (QuickBooks' report): every document in the home currency."""
    return tuple(replace(d, currency=currency) for d in documents)


# --- files in each ERP's layout -----------------------------------------------------------------------


@dataclass(frozen=True)
class Export:
    preset: str
    filename: str
    body: bytes
    documents: tuple[Document, ...]
    rows: int  # rows the ingest reads (after the header): documents, line items, layout rows
    accepted: int
    skipped: int = 0
    # The optional texts the preset maps (QuickBooks' report has neither a PO nor a memo column here).
    texts: frozenset[str] = frozenset({"po_number", "description"})
    # A generic payments file dropped after the invoices (``documents`` then hold what remains open).
    payments: bytes | None = None
    payments_accepted: int = 0


def _header(columns: str, delimiter: str) -> tuple[str, ...]:
    return tuple(columns.split(delimiter))


def _csv(rows: Sequence[Sequence[str]], *, delimiter: str = ",", quoting: int = csv.QUOTE_MINIMAL) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, quoting=quoting, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def _places(currency: str) -> int:
    return 0 if currency == "JPY" else 2


def _grouped(amount: Decimal, currency: str) -> str:
    """``2,376.75``; ``1,250,000`` for a currency without decimals."""
    return f"{amount:,.{_places(currency)}f}"


def _plain(amount: Decimal, currency: str) -> str:
    return f"{amount:.{_places(currency)}f}"


def _german(amount: Decimal, currency: str) -> str:
    """SAP's German notation: ``2.376,75``, ``1.250.000``; a negative amount with a trailing minus."""
    text = _grouped(abs(amount), currency).replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text + ("-" if amount < 0 else "")


def quickbooks(documents: Sequence[Document]) -> Export:
    """A/R Aging Detail, current layout: title block, bucket headings and totals, the run time last."""
    title = ["Harbor Point Landscaping LLC", "A/R Aging Detail", '"As of November 24, 2026"', ""]
    rows: list[list[str]] = [
        ["", "Date", "Transaction type", "Num", "Customer full name", "Due date", "Amount", "Open balance"]
    ]
    rows.append(["1 - 30 days past due", "", "", "", "", "", "", ""])
    for d in documents:
        rows.append(
            [
                "",
                f"{d.invoice_date:%m/%d/%Y}",
                "Invoice",
                d.number,
                d.account.written,
                f"{d.due_date:%m/%d/%Y}",
                _grouped(d.amount, "USD"),
                _grouped(d.open_amount, "USD"),
            ]
        )
    total = sum((d.amount for d in documents), Decimal(0))
    total_open = sum((d.open_amount for d in documents), Decimal(0))
    sums = [_grouped(total, "USD"), _grouped(total_open, "USD")]
    rows.append(["Total for 1 - 30 days past due", "", "", "", "", "", *sums])
    rows.append(["TOTAL", "", "", "", "", "", *sums])
    text = "\n".join(title) + "\n" + _csv(rows).replace("\r\n", "\n")
    text += '\n\n"Tuesday, November 24, 2026 09:41 AM GMT-08:00"\n'
    # Read: the bucket heading, the documents, two total rows and the run time; the heading, totals and
    # run time are skipped.
    count = len(documents)
    return Export(
        "quickbooks-ar-aging",
        "ar_aging_detail.csv",
        text.encode(),
        tuple(documents),
        count + 4,
        count,
        4,
        texts=frozenset(),
    )


XERO_HEADER = _header(
    "ContactName,EmailAddress,POAddressLine1,POAddressLine2,POAddressLine3,POAddressLine4,POCity,PORegion,"
    "POPostalCode,POCountry,SAAddressLine1,SAAddressLine2,SAAddressLine3,SAAddressLine4,SACity,SARegion,"
    "SAPostalCode,SACountry,InvoiceNumber,Reference,InvoiceDate,DueDate,PlannedDate,Total,TaxTotal,"
    "InvoiceAmountPaid,InvoiceAmountDue,InventoryItemCode,Description,Quantity,UnitAmount,Discount,LineAmount,"
    "AccountCode,TaxType,TaxAmount,TrackingName1,TrackingOption1,TrackingName2,TrackingOption2,Currency,Type,"
    "Sent,Status",
    ",",
)


def xero(documents: Sequence[Document]) -> Export:
    """Sales invoices, one row per line item (two lines each here), UK dates."""
    rows: list[list[str]] = [list(XERO_HEADER)]
    for d in documents:
        first = (d.amount * Decimal("0.6")).quantize(Decimal(1).scaleb(-_places(d.currency)))
        for code, line in (("SVC", first), ("PRT", d.amount - first)):
            row = dict.fromkeys(XERO_HEADER, "")
            row.update(
                {
                    "ContactName": d.account.written,
                    "EmailAddress": d.account.email,
                    "POCountry": d.account.country,
                    "InvoiceNumber": d.number,
                    "Reference": d.po_number,
                    "InvoiceDate": f"{d.invoice_date:%d/%m/%Y}",
                    "DueDate": f"{d.due_date:%d/%m/%Y}",
                    "Total": _plain(d.amount, d.currency),
                    "TaxTotal": _plain(Decimal(0), d.currency),
                    "InvoiceAmountPaid": _plain(d.amount - d.open_amount, d.currency),
                    "InvoiceAmountDue": _plain(d.open_amount, d.currency),
                    "InventoryItemCode": code,
                    "Description": d.description,
                    "Quantity": "1",
                    "UnitAmount": _plain(line, d.currency),
                    "LineAmount": _plain(line, d.currency),
                    "AccountCode": "200",
                    "TaxType": "Zero Rated EC Services",
                    "TaxAmount": "0.00",
                    "Currency": d.currency,
                    "Type": "Sales invoice",
                    "Sent": "Sent",
                    "Status": "Awaiting Payment",
                }
            )
            rows.append([row[name] for name in XERO_HEADER])
    count = len(documents)
    return Export(
        "xero-invoices",
        "SalesInvoices.csv",
        _csv(rows).encode(),
        tuple(documents),
        2 * count,
        2 * count,
        texts=frozenset({"po_number"}),  # Description is the line's, not the invoice's
    )


SAP_HEADER = _header(
    "Company Code;Account;Assignment;Document Number;Document Type;Document Date;Posting Date;Net due date;"
    "Arrears after net due date;Amount in doc. curr.;Document currency;Amount in local currency;"
    "Local Currency;Clearing Document;Clearing date;Reference;Text;Terms of Payment",
    ";",
)


def sap(documents: Sequence[Document]) -> Export:
    """FBL5N saved as a local file from a Unicode system (code page 4110: UTF-8 with a byte order
    mark), German notation, semicolons, one total line per document currency at the end."""
    rows: list[list[str]] = [list(SAP_HEADER)]
    for d in documents:
        rows.append(
            [
                "1000",
                d.account.written,
                d.po_number,
                d.number,
                "RV",
                f"{d.invoice_date:%d.%m.%Y}",
                f"{d.invoice_date:%d.%m.%Y}",
                f"{d.due_date:%d.%m.%Y}",
                str((TICK_DAY - d.due_date).days),
                _german(d.open_amount, d.currency),
                d.currency,
                _german(d.open_amount, "EUR") if d.currency == "EUR" else "",
                "EUR",
                "",
                "",
                d.number,
                d.description,
                "ZB30",
            ]
        )
    currencies = sorted({d.currency for d in documents})
    for currency in currencies:
        total = sum((d.open_amount for d in documents if d.currency == currency), Decimal(0))
        rows.append(["", "", "", "", "", "", "", "", "", _german(total, currency), currency, *[""] * 7])
    body = b"\xef\xbb\xbf" + _csv(rows, delimiter=";").encode()
    count = len(documents)
    # FBL5N has no open-amount column: what is listed is open, so the amount is the open amount.
    shown = tuple(replace(d, amount=d.open_amount) for d in documents)
    return Export(
        "sap-fbl5n",
        "fbl5n_line_items.csv",
        body,
        shown,
        count + len(currencies),
        count,
        len(currencies),
        texts=frozenset({"description"}),
    )


BC_HEADER = (
    "Posting Date",
    "Document Type",
    "Document No.",
    "External Document No.",
    "Customer No.",
    "Customer Name",
    "Description",
    "Currency Code",
    "Original Amount",
    "Amount",
    "Remaining Amount",
    "Due Date",
    "Open",
    "Entry No.",
)


def business_central(documents: Sequence[Document], local_currency: str) -> Export:
    """Customer Ledger Entries opened in Excel: typed date, number and boolean cells, newest first, the
    Currency Code blank for the local currency."""
    from openpyxl import Workbook  # type: ignore[import-untyped]

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Customer Ledger Entries"
    sheet.append(list(BC_HEADER))
    for entry, d in reversed(list(enumerate(documents, start=2101))):
        sheet.append(
            [
                d.invoice_date,
                "Invoice",
                d.number,
                d.po_number,
                d.account.written,
                d.account.name,
                d.description,
                None if d.currency == local_currency else d.currency,
                float(d.amount),
                float(d.amount),
                float(d.open_amount),
                d.due_date,
                True,
                entry,
            ]
        )
        for column in ("A", "L"):
            sheet[f"{column}{sheet.max_row}"].number_format = "m/d/yyyy"
        for cell in sheet[sheet.max_row]:
            # Text that starts with "=" is a text cell in the page's export, not a formula.
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"
    buffer = io.BytesIO()
    workbook.save(buffer)
    count = len(documents)
    return Export(
        "bc-ledger-entries", "customer_ledger_entries.xlsx", buffer.getvalue(), tuple(documents), count, count
    )


ODOO_HEADER = _header(
    "id,name,partner_id,invoice_date,invoice_date_due,ref,invoice_origin,move_type,state,payment_state,"
    "currency_id,amount_total,amount_total_signed,amount_residual,invoice_payment_term_id",
    ",",
)


def _odoo_float(amount: Decimal) -> str:
    """Odoo writes monetary values as Python floats, and nothing at all for zero."""
    return "" if amount == 0 else repr(float(amount))


def odoo(documents: Sequence[Document]) -> Export:
    """account.move, import-compatible export: technical field names, every field quoted, ISO dates."""
    rows: list[list[str]] = [list(ODOO_HEADER)]
    for index, d in enumerate(documents):
        rows.append(
            [
                f"__export__.account_move_{3100 + index}_5f1c2a9e",
                d.number,
                d.account.written,
                d.invoice_date.isoformat(),
                d.due_date.isoformat(),
                d.po_number,
                f"S0{4500 + index}",
                "Customer Invoice",
                "Posted",
                "Partially Paid" if d.open_amount < d.amount else "Not Paid",
                d.currency,
                _odoo_float(d.amount),
                _odoo_float(d.amount),
                _odoo_float(d.open_amount),
                "30 Days",
            ]
        )
    count = len(documents)
    body = _csv(rows, quoting=csv.QUOTE_ALL).encode()
    return Export(
        "odoo-invoices",
        "account.move.csv",
        body,
        tuple(documents),
        count,
        count,
        texts=frozenset({"po_number"}),
    )


NETSUITE_HEADER = _header(
    "Internal ID,Type,Date,Document Number,Name,Due Date/Receive By,Terms,PO/Check Number,Memo,Subsidiary,"
    "Currency,Amount,Amount (Foreign Currency),Amount Remaining,Amount Remaining (Foreign Currency),Status",
    ",",
)


def _us_date(day: date) -> str:
    return f"{day.month}/{day.day}/{day.year}"


def netsuite(documents: Sequence[Document]) -> Export:
    """A transaction saved search exported as CSV: default labels, M/D/YYYY, base and foreign amounts."""
    rows: list[list[str]] = [list(NETSUITE_HEADER)]
    for index, d in enumerate(documents):
        rows.append(
            [
                str(18800 + index),
                "Invoice",
                _us_date(d.invoice_date),
                d.number,
                d.account.written,
                _us_date(d.due_date),
                "Net 30",
                d.po_number,
                d.description,
                "Northwind Holdings : Northwind US",
                d.currency,
                "",  # the base-currency amounts are not read
                _plain(d.amount, d.currency),
                "",
                _plain(d.open_amount, d.currency),
                "Open",
            ]
        )
    count = len(documents)
    return Export(
        "netsuite-invoices", "InvoiceSearchResults.csv", _csv(rows).encode(), tuple(documents), count, count
    )


INTACCT_HEADER = _header(
    "RECORDNO,RECORDTYPE,RECORDID,STATE,CUSTOMERID,CUSTOMERNAME,DOCNUMBER,DESCRIPTION,TERMNAME,WHENCREATED,"
    "WHENPOSTED,WHENDUE,WHENPAID,BASECURR,CURRENCY,TOTALENTERED,TOTALPAID,TOTALDUE,TRX_TOTALENTERED,"
    "TRX_TOTALPAID,TRX_TOTALDUE",
    ",",
)


def _api_number(amount: Decimal) -> str:
    """As Intacct's API writes amounts: 8500, 3150.5, 0."""
    return format(amount.normalize(), "f")


def intacct(documents: Sequence[Document]) -> Export:
    """ARINVOICE records with the object's field names, MM/DD/YYYY, amounts without trailing zeros."""
    rows: list[list[str]] = [list(INTACCT_HEADER)]
    for index, d in enumerate(documents):
        paid = d.amount - d.open_amount
        rows.append(
            [
                str(5100 + index),
                "ri",
                d.number,
                "Partially Paid" if paid else "Posted",
                d.account.written,
                d.account.name,
                d.po_number,
                d.description,
                "Net 30",
                f"{d.invoice_date:%m/%d/%Y}",
                f"{d.invoice_date:%m/%d/%Y}",
                f"{d.due_date:%m/%d/%Y}",
                "",
                "USD",
                d.currency,
                "",
                "",
                "",
                _api_number(d.amount),
                _api_number(paid),
                _api_number(d.open_amount),
            ]
        )
    count = len(documents)
    return Export("intacct-arinvoice", "arinvoice.csv", _csv(rows).encode(), tuple(documents), count, count)


PAY_BASE = "https://pay.example.com/invoices/"


def pay_url(number: str) -> str:
    return PAY_BASE + quote(number, safe="")


def generic(documents: Sequence[Document]) -> Export:
    """Our own layout, with a pay link per invoice (the number percent-encoded in it)."""
    header = [
        "customer_id",
        "invoice_number",
        "invoice_date",
        "due_date",
        "amount",
        "currency",
        "open_amount",
        "po_number",
        "description",
        "pay_url",
    ]
    rows: list[list[str]] = [header]
    for d in documents:
        rows.append(
            [
                d.account.written,
                d.number,
                d.invoice_date.isoformat(),
                d.due_date.isoformat(),
                _plain(d.amount, d.currency),
                d.currency,
                _plain(d.open_amount, d.currency),
                d.po_number,
                d.description,
                pay_url(d.number),
            ]
        )
    # Payments the bank received later, each applied to its invoice by number (the id padded as the
    # invoices file pads it): what they paid is no longer open.
    paid = {BRENNAN: Decimal("376.75"), OBRIEN: Decimal("45.20")}
    payments = [
        ["customer_id", "payment_id", "payment_date", "amount", "currency", "invoice_number", "reference"]
    ]
    remaining = []
    for d in documents:
        amount = paid.get(d.account)
        if amount is not None:
            payments.append(
                [
                    d.account.written,
                    f"PAY/2026/{len(payments):04d} #{d.account.country}",
                    "2026-11-20",
                    _plain(amount, d.currency),
                    d.currency,
                    d.number,
                    f"Remittance for {d.number}, thank you",
                ]
            )
        remaining.append(replace(d, open_amount=d.open_amount - (amount or 0)))
    count = len(documents)
    return Export(
        "generic",
        "open_items.csv",
        _csv(rows).encode(),
        tuple(remaining),
        count,
        count,
        payments=_csv(payments).encode(),
        payments_accepted=len(paid),
    )


def customers_file(accounts: Sequence[Account]) -> bytes:
    """The generic customer master, ids padded differently from the invoice files."""
    rows = [["customer_id", "name", "email", "country", "time_zone", "language"]]
    for account in accounts:
        written = account.customer_id + "  " if account.written != account.customer_id else account.written
        rows.append(
            [written, account.name, account.email, account.country, account.time_zone, account.language]
        )
    return _csv(rows).encode()


EXPORTS: dict[str, Callable[[str], Export]] = {
    "generic": lambda home: generic(DOCUMENTS),
    "bc-ledger-entries": lambda home: business_central(DOCUMENTS, home),
    "intacct-arinvoice": lambda home: intacct(DOCUMENTS),
    "netsuite-invoices": lambda home: netsuite(DOCUMENTS),
    "odoo-invoices": lambda home: odoo(DOCUMENTS),
    "quickbooks-ar-aging": lambda home: quickbooks(in_home_currency(DOCUMENTS, home)),
    "sap-fbl5n": lambda home: sap(DOCUMENTS),
    "xero-invoices": lambda home: xero(DOCUMENTS),
}


# --- the portal, as a browser sees it -----------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: dict[str, list[str]]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()

    def header(self, name: str) -> str:
        return self.headers[name][0]


Send = Callable[[dict[str, Any]], dict[str, Any]]


def portal_handler(event: dict[str, Any]) -> dict[str, Any]:
    return dict(invoke("portal", event))


@dataclass
class Browser:
    """Requests as API Gateway's REST proxy integration delivers them to ``send``: the path as the
    browser sent it (percent-encoded), the query string decoded, the cookies it was given sent back."""

    at: datetime
    send: Send = portal_handler
    cookies: dict[str, str] = field(default_factory=dict)

    def get(self, url: str) -> Reply:
        return self.request("GET", url)

    def post(self, url: str, form: dict[str, str]) -> Reply:
        return self.request("POST", url, urlencode(form))

    def follow_link(self, link: str) -> Reply:
        """Follow an emailed link as a person does: its landing page opens nothing (a prefetching mail
        scanner gets no session); the person presses its button, which posts the token."""
        landing = self.get(link)
        assert landing.status == 200 and not self.cookies, landing.status
        return self.post("/l", {"token": hidden(landing.text, "token")})

    def request(self, method: str, url: str, body: str | None = None) -> Reply:
        parts = urlsplit(url)
        if parts.scheme:
            assert (parts.scheme, parts.netloc) == ("https", PORTAL_HOST), url
        # What a browser sends: only characters allowed in a path, the rest percent-encoded.
        assert re.fullmatch(r"/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*", parts.path), f"not a URL path: {url!r}"
        query = parse_qs(parts.query, keep_blank_values=True)
        event = load_event("apigw_get.json")
        event["httpMethod"] = method
        event["path"] = parts.path
        event["pathParameters"] = {"proxy": unquote(parts.path.lstrip("/"))}
        event["queryStringParameters"] = {k: v[-1] for k, v in query.items()} or None
        event["multiValueQueryStringParameters"] = query or None
        event["requestContext"]["path"] = f"/live{parts.path}"
        event["requestContext"]["httpMethod"] = method
        event["requestContext"]["requestTimeEpoch"] = int(self.at.timestamp() * 1000)
        headers = {**event["headers"], "Host": PORTAL_HOST}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        event["headers"] = headers
        event["multiValueHeaders"] = {name: [value] for name, value in headers.items()}
        event["body"] = body
        response = self.send(event)
        multi = {name: list(values) for name, values in (response.get("multiValueHeaders") or {}).items()}
        for name, value in (response.get("headers") or {}).items():
            multi.setdefault(name, [value])
        for cookie in multi.get("Set-Cookie", []):
            name, _, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            if value and "Max-Age=0" not in cookie:
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)
        raw = str(response.get("body") or "")
        content = base64.b64decode(raw) if response.get("isBase64Encoded") else raw.encode()
        return Reply(int(response["statusCode"]), multi, content)


def hrefs(page: str) -> list[str]:
    """Every link target on a page, HTML entities undone (``&amp;`` in a query string)."""
    return [html.unescape(found) for found in re.findall(r'href="([^"]*)"', page)]


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no {name} on the page"
    return html.unescape(match.group(1))


def utc(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


# --- the staff console's user directory -------------------------------------------------------------

STAFF_PASSWORD = "Collect-1234!"  # the moto user pool's staff user


def staff_directory(username: str = "cora", email: str = "cora@seller.example") -> CognitoDirectory:
    """A moto user pool with one collector (``username``, ``STAFF_PASSWORD``), as the staff console's
    directory: the tests' portal function has none."""
    cognito = boto3.client("cognito-idp")
    pool = cognito.create_user_pool(PoolName="arcollect-staff")["UserPool"]["Id"]
    client = cognito.create_user_pool_client(
        UserPoolId=pool, ClientName="staff-console", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    cognito.create_group(GroupName="collector", UserPoolId=pool)
    cognito.admin_create_user(
        UserPoolId=pool,
        Username=username,
        MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": email}],
    )
    cognito.admin_set_user_password(
        UserPoolId=pool, Username=username, Password=STAFF_PASSWORD, Permanent=True
    )
    cognito.admin_add_user_to_group(UserPoolId=pool, Username=username, GroupName="collector")
    return CognitoDirectory(pool, client, client=cognito)
