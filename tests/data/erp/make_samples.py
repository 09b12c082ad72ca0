# ruff: noqa: E501  (the document tables below are easier to read one document per line)
"""Regenerate the ERP export samples under tests/data/erp/ and their expected.json files.

Run from the repository root:  .venv/bin/python tests/data/erp/make_samples.py

The samples are the committed artefacts; this script only keeps them and their expectations
consistent (one table of documents per preset drives both the export file and expected.json).
See README.md in this folder for where each layout comes from and what is uncertain.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Literal

HERE = Path(__file__).resolve().parent
AS_OF = dt.date(2026, 11, 2)
CENT = Decimal("0.01")


def D(value: Decimal | str | int | float) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def money(value: Decimal) -> str:
    """Our canonical form in expected.json: positive, two decimals."""
    return str(abs(value).quantize(CENT))


def expect(
    customer_id: str,
    number: str,
    doc_type: str,
    invoice_date: dt.date,
    due_date: dt.date,
    currency: str,
    amount: Decimal,
    open_amount: Decimal,
) -> dict[str, str]:
    return {
        "customer_id": customer_id,
        "invoice_number": number,
        "document_type": doc_type,
        "invoice_date": invoice_date.isoformat(),
        "due_date": due_date.isoformat(),
        "currency": currency,
        "amount": money(amount),
        "open_amount": money(open_amount),
    }


def write_expected(
    folder: Path,
    file: str,
    *,
    rows_read: int,
    skipped: int,
    accepted: int,
    as_of: dt.date | None,
    invoices: list[dict[str, str]],
    skipped_reasons: list[str],
) -> None:
    assert rows_read == skipped + accepted, (folder.name, rows_read, skipped, accepted)
    doc = {
        "file": file,
        "kind": "invoices",
        "rows_read": rows_read,
        "skipped": skipped,
        "rejected": 0,
        "accepted": accepted,
        "as_of": as_of.isoformat() if as_of else None,
        "invoices": invoices,
        "skipped_reasons": skipped_reasons,
    }
    (folder / "expected.json").write_text(
        json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def csv_text(
    rows: list[list[str]],
    *,
    lineterminator: str,
    quoting: Literal[0, 1, 2, 3] = csv.QUOTE_MINIMAL,
    delimiter: str = ",",
) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=lineterminator, quoting=quoting, delimiter=delimiter)
    writer.writerows(rows)
    return buffer.getvalue()


def folder(name: str) -> Path:
    path = HERE / name
    path.mkdir(parents=True, exist_ok=True)
    return path


# --------------------------------------------------------------------------------------------
# 1. QuickBooks Online: A/R Aging Detail report, CSV export
# --------------------------------------------------------------------------------------------

QBO_BUCKETS = [
    "CURRENT",
    "1 - 30 days past due",
    "31 - 60 days past due",
    "61 - 90 days past due",
    "91 or more days past due",
]


def qbo_bucket(due: dt.date | None, txn_date: dt.date) -> str:
    days = (AS_OF - (due or txn_date)).days
    if days <= 0:
        return QBO_BUCKETS[0]
    if days <= 30:
        return QBO_BUCKETS[1]
    if days <= 60:
        return QBO_BUCKETS[2]
    if days <= 90:
        return QBO_BUCKETS[3]
    return QBO_BUCKETS[4]


def qbo_date(value: dt.date | None) -> str:
    return value.strftime("%m/%d/%Y") if value else ""


def qbo_money(value: Decimal) -> str:
    return f"{value:,.2f}"


def quickbooks() -> None:
    out = folder("quickbooks-ar-aging")
    # (type, date, num, customer, due, amount, open balance); credit memos and payments carry no due date
    # fmt: off
    txns = [
        ("Invoice", "2026-10-20", "1089", "Riverside Dental, PC", "2026-11-19", "3400.50", "1900.50"),
        ("Invoice", "2026-10-28", "1092", "Northside Clinic", "2026-11-27", "1250.00", "1250.00"),
        ("Credit Memo", "2026-10-29", "1093", "Northside Clinic", None, "-250.00", "-250.00"),
        ("Payment", "2026-10-30", "", "Oakridge HOA", None, "-500.00", "-500.00"),
        ("Invoice", "2026-09-25", "1078", "Oakridge HOA", "2026-10-25", "2150.00", "2150.00"),
        ("Invoice", "2026-10-01", "1081", "Freeman Sporting Goods:55 Twin Lane", "2026-10-16", "845.20", "845.20"),
        ("Invoice", "2026-10-02", "1084", "Summit Property Group", "2026-11-01", "12480.00", "12480.00"),
        ("Invoice", "2026-08-28", "1066", "Riverside Dental, PC", "2026-09-27", "1075.00", "1075.00"),
        ("Invoice", "2026-09-04", "1070", "Sunset Vista Apartments", "2026-09-19", "630.00", "315.00"),
        ("Invoice", "2026-08-01", "1052", "Summit Property Group", "2026-08-31", "4310.75", "4310.75"),
        ("Invoice", "2026-06-15", "1031", "Sunset Vista Apartments", "2026-07-15", "2200.00", "2200.00"),
        ("Invoice", "2026-07-02", "1040", "Oakridge HOA", "2026-08-01", "980.00", "980.00"),
    ]
    # fmt: on
    parsed = [(t, day(d), n, c, day(due) if due else None, D(a), D(o)) for t, d, n, c, due, a, o in txns]
    by_bucket: dict[str, list[Any]] = {b: [] for b in QBO_BUCKETS}
    for txn in parsed:
        by_bucket[qbo_bucket(txn[4], txn[1])].append(txn)

    rows: list[list[str]] = [
        ["Harbor Point Landscaping LLC"],
        ["A/R Aging Detail"],
        [f"As of {AS_OF.strftime('%B')} {AS_OF.day}, {AS_OF.year}"],
        [],
        ["", "Date", "Transaction type", "Num", "Customer full name", "Due date", "Amount", "Open balance"],
    ]
    invoices, reasons = [], []
    accepted = skipped = 0
    grand_amount = grand_open = Decimal(0)
    for bucket in QBO_BUCKETS:
        txns_in = sorted(by_bucket[bucket], key=lambda t: (t[4] or t[1], t[2]))
        if not txns_in:
            continue
        rows.append([bucket, "", "", "", "", "", "", ""])
        skipped += 1
        reasons.append("section row")
        amount_sum = open_sum = Decimal(0)
        for ttype, tdate, num, cust, due, amount, open_bal in txns_in:
            rows.append(
                ["", qbo_date(tdate), ttype, num, cust, qbo_date(due), qbo_money(amount), qbo_money(open_bal)]
            )
            amount_sum += amount
            open_sum += open_bal
            if ttype == "Payment":
                skipped += 1
                reasons.append("payment row")
                continue
            accepted += 1
            doc_type = "credit_note" if ttype == "Credit Memo" else "invoice"
            # A credit memo has no due date in QuickBooks: the mapping falls back to the transaction date.
            invoices.append(expect(cust, num, doc_type, tdate, due or tdate, "USD", amount, open_bal))
        rows.append([f"Total for {bucket}", "", "", "", "", "", qbo_money(amount_sum), qbo_money(open_sum)])
        skipped += 1
        reasons.append("total row")
        grand_amount += amount_sum
        grand_open += open_sum
    rows.append(["TOTAL", "", "", "", "", "", qbo_money(grand_amount), qbo_money(grand_open)])
    skipped += 1
    reasons.append("total row")
    rows.append([])
    rows.append([])
    rows.append(["Monday, November 2, 2026 09:41 AM GMT-08:00"])
    skipped += 1
    reasons.append("report timestamp row")

    name = "ar_aging_detail.csv"
    (out / name).write_text(csv_text(rows, lineterminator="\n"), encoding="utf-8", newline="")
    write_expected(
        out,
        name,
        rows_read=accepted + skipped,
        skipped=skipped,
        accepted=accepted,
        as_of=AS_OF,
        invoices=invoices,
        skipped_reasons=sorted(set(reasons)),
    )


# --------------------------------------------------------------------------------------------
# 2. Xero: Business > Invoices > Export (one row per line item)
# --------------------------------------------------------------------------------------------

# fmt: off
XERO_HEADER = [
    "ContactName", "EmailAddress", "POAddressLine1", "POAddressLine2", "POAddressLine3", "POAddressLine4", "POCity", "PORegion",
    "POPostalCode", "POCountry", "SAAddressLine1", "SAAddressLine2", "SAAddressLine3", "SAAddressLine4", "SACity", "SARegion",
    "SAPostalCode", "SACountry", "InvoiceNumber", "Reference", "InvoiceDate", "DueDate", "PlannedDate", "Total",
    "TaxTotal", "InvoiceAmountPaid", "InvoiceAmountDue", "InventoryItemCode", "Description", "Quantity", "UnitAmount", "Discount",
    "LineAmount", "AccountCode", "TaxType", "TaxAmount", "TrackingName1", "TrackingOption1", "TrackingName2", "TrackingOption2",
    "Currency", "Type", "Sent", "Status",
]
# fmt: on

# fmt: off
XERO_CONTACTS = {
    "Brightwater Cafe Ltd": ("accounts@brightwatercafe.co.uk", "14 Quay Street", "Bristol", "BS1 4DJ", "United Kingdom"),
    "Kestrel Logistik GmbH": ("buchhaltung@kestrel-logistik.de", "Hafenstraße 22", "Hamburg", "20457", "Germany"),
    "Hollins & Pike LLP": ("payables@hollinspike.co.uk", "3 Cathedral Yard", "Manchester", "M3 1SQ", "United Kingdom"),
    "Marlow Studio": ("hello@marlowstudio.co.uk", "Unit 5, Riverside Works", "Leeds", "LS10 1AB", "United Kingdom"),
}
# fmt: on

VAT20 = "20% (VAT on Income)"
ZERO_EC = "Zero Rated EC Services"


def xero_date(value: dt.date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def xero() -> None:
    out = folder("xero-invoices")
    # number, type, contact, reference, date, due, currency, paid, sent, status, lines
    # line: (item code, description, qty, unit, discount%, account, tax type, tracking option)
    # fmt: off
    docs = [
        ("INV-0412", "Sales invoice", "Brightwater Cafe Ltd", "PO 3381", "2026-09-03", "2026-10-03", "GBP", "0", "Sent", "Awaiting Payment", [
            ("ESP-01", "Espresso machine service visit", "1", "180.00", "", "200", VAT20, "North"),
            ("PRT-GSK", "Group head gasket set", "4", "12.50", "", "200", VAT20, "North"),
        ]),
        ("INV-0415", "Sales invoice", "Kestrel Logistik GmbH", "Rahmenvertrag 2026", "2026-09-15", "2026-10-15", "EUR", "1500.00", "Sent", "Awaiting Payment", [
            ("CONS-D", "Route optimisation consulting (days)", "3", "950.00", "", "210", ZERO_EC, ""),
            ("TRAV", "Travel and subsistence", "1", "420.00", "", "210", ZERO_EC, ""),
            ("LIC-Y", "Planner licence, annual", "1", "1200.00", "10", "210", ZERO_EC, ""),
        ]),
        ("INV-0420", "Sales invoice", "Hollins & Pike LLP", "Matter 2231", "2026-08-01", "2026-08-31", "GBP", "", "Sent", "Paid", [
            ("", "Document review, August", "6", "95.00", "", "200", VAT20, "South"),
        ]),
        ("INV-0423", "Sales invoice", "Brightwater Cafe Ltd", "", "2026-09-20", "2026-10-20", "GBP", "0", "Unsent", "Voided", [
            ("ESP-01", "Espresso machine service visit (duplicate)", "1", "180.00", "", "200", VAT20, "North"),
        ]),
        ("INV-0427", "Sales invoice", "Marlow Studio", "", "2026-10-28", "2026-11-27", "GBP", "0", "Unsent", "Draft", [
            ("", "Brand workshop", "1", "650.00", "", "200", VAT20, ""),
            ("", "Illustration, per hour", "5", "70.00", "", "200", VAT20, ""),
        ]),
        ("CN-0031", "Sales credit note", "Brightwater Cafe Ltd", "INV-0412", "2026-09-12", None, "GBP", "0", "Sent", "Awaiting Payment", [
            ("PRT-GSK", "Gasket set returned unused", "2", "12.50", "", "200", VAT20, "North"),
        ]),
        ("INV-0430", "Sales invoice", "Kestrel Logistik GmbH", "Rahmenvertrag 2026", "2026-09-30", "2026-10-30", "EUR", "0", "Sent", "Awaiting Payment", [
            ("CONS-D", "Route optimisation consulting (days)", "2", "950.00", "", "210", ZERO_EC, ""),
        ]),
        ("INV-0431", "Sales invoice", "Hollins & Pike LLP", "Matter 2240", "2026-10-12", "2026-11-11", "GBP", "0", "Sent", "Awaiting Payment", [
            ("", "Contract drafting", "10.5", "110.00", "", "200", VAT20, "South"),
            ("", "Courier", "1", "18.40", "", "200", VAT20, "South"),
        ]),
    ]
    # fmt: on
    rows = [XERO_HEADER]
    invoices, reasons = [], []
    accepted = skipped = 0
    for number, dtype, contact, ref, date_s, due_s, currency, paid_s, sent, status, lines in docs:
        line_amounts, taxes = [], []
        for _code, _desc, qty, unit, disc, _acct, tax_type, _opt in lines:
            gross = Decimal(qty) * Decimal(unit)
            if disc:
                gross = gross * (Decimal(100) - Decimal(disc)) / Decimal(100)
            line_amount = D(gross)
            rate = Decimal("0.20") if tax_type == VAT20 else Decimal(0)
            line_amounts.append(line_amount)
            taxes.append(D(line_amount * rate))
        tax_total = sum(taxes, Decimal(0))
        total = sum(line_amounts, Decimal(0)) + tax_total
        paid = total if status == "Paid" else D(paid_s or "0")
        due_amount = Decimal(0) if status in ("Paid", "Voided") else total - paid
        email, street, city, postcode, country = XERO_CONTACTS[contact]
        for (code, desc, qty, unit, disc, acct, tax_type, opt), line_amount, tax in zip(
            lines, line_amounts, taxes, strict=True
        ):
            values = {
                "ContactName": contact,
                "EmailAddress": email,
                "POAddressLine1": street,
                "POCity": city,
                "POPostalCode": postcode,
                "POCountry": country,
                "InvoiceNumber": number,
                "Reference": ref,
                "InvoiceDate": xero_date(day(date_s)),
                "DueDate": xero_date(day(due_s) if due_s else None),
                "Total": f"{total:.2f}",
                "TaxTotal": f"{tax_total:.2f}",
                "InvoiceAmountPaid": f"{paid:.2f}",
                "InvoiceAmountDue": f"{due_amount:.2f}",
                "InventoryItemCode": code,
                "Description": desc,
                "Quantity": qty,
                "UnitAmount": unit,
                "Discount": f"{Decimal(disc):.2f}" if disc else "",
                "LineAmount": f"{line_amount:.2f}",
                "AccountCode": acct,
                "TaxType": tax_type,
                "TaxAmount": f"{tax:.2f}",
                "TrackingName1": "Region" if opt else "",
                "TrackingOption1": opt,
                "Currency": currency,
                "Type": dtype,
                "Sent": sent,
                "Status": status,
            }
            rows.append([values.get(column, "") for column in XERO_HEADER])
            if status in ("Draft", "Voided"):
                skipped += 1
                reasons.append(f"{status.lower()} document")
            else:
                accepted += 1
        if status not in ("Draft", "Voided"):
            doc_type = "credit_note" if dtype == "Sales credit note" else "invoice"
            invoice_date = day(date_s)
            # A credit note has no due date in Xero: the mapping falls back to the credit note date.
            invoices.append(
                expect(
                    contact,
                    number,
                    doc_type,
                    invoice_date,
                    day(due_s) if due_s else invoice_date,
                    currency,
                    total,
                    due_amount,
                )
            )
    name = "SalesInvoices.csv"
    (out / name).write_text(csv_text(rows, lineterminator="\r\n"), encoding="utf-8", newline="")
    write_expected(
        out,
        name,
        rows_read=accepted + skipped,
        skipped=skipped,
        accepted=accepted,
        as_of=None,
        invoices=invoices,
        skipped_reasons=sorted(set(reasons)),
    )


# --------------------------------------------------------------------------------------------
# 3. SAP FBL5N: customer line items, ALV list saved as a local file
# --------------------------------------------------------------------------------------------

SAP_HEADER = [
    "Company Code",
    "Account",
    "Assignment",
    "Document Number",
    "Document Type",
    "Document Date",
    "Posting Date",
    "Net due date",
    "Arrears after net due date",
    "Amount in doc. curr.",
    "Document currency",
    "Amount in local currency",
    "Local Currency",
    "Clearing Document",
    "Clearing date",
    "Reference",
    "Text",
    "Terms of Payment",
]

SAP_RATES_TO_EUR = {"EUR": Decimal("1"), "USD": Decimal("0.8615"), "CHF": Decimal("1.0502")}


def sap_number(value: Decimal) -> str:
    """SAP's German-style figure with the sign after it: 1.234,56 / 1.234,56-"""
    text = f"{abs(value):,.2f}".replace(",", "#").replace(".", ",").replace("#", ".")
    return text + ("-" if value < 0 else "")


def sap_int(value: int) -> str:
    return f"{abs(value)}" + ("-" if value < 0 else "")


def sap_date(value: dt.date | None) -> str:
    return value.strftime("%d.%m.%Y") if value else ""


def sap() -> None:
    out = folder("sap-fbl5n")
    # account, assignment, doc no, type, doc date, posting date, net due, doc amount, currency,
    # clearing doc, clearing date, reference, text, terms
    # fmt: off
    items = [
        ("100045", "0080004711", "90012345", "RV", "2026-09-04", "2026-09-04", "2026-10-04", "11900.00", "EUR", "", "", "90012345", "Wärmepumpe WP-12, Lieferung Sept.", "ZB30"),
        ("100045", "0080004730", "90012388", "RV", "2026-09-22", "2026-09-22", "2026-10-22", "2380.00", "EUR", "", "", "90012388", "Montage Heizkreisverteiler", "ZB30"),
        ("100045", "90012345", "1600000087", "DG", "2026-09-28", "2026-09-28", "2026-09-28", "-476.00", "EUR", "", "", "GS-2026-087", "Gutschrift Rückgabe Ventile", ""),
        ("100045", "0080004802", "90012455", "RV", "2026-10-26", "2026-10-26", "2026-11-25", "1071.00", "EUR", "", "", "90012455", "Ersatzteile Kältemittelpumpe", "ZB30"),
        ("100112", "PO 7781-B", "1800000456", "DR", "2026-08-18", "2026-08-18", "2026-09-17", "15250.00", "USD", "", "", "BGC-7781", "Frais d'ingénierie \u2013 Béton Générale", "ZB30"),
        ("100112", "", "1400000789", "DZ", "2026-10-30", "2026-10-30", "2026-10-30", "-5000.00", "USD", "", "", "SWIFT 30-10", "Zahlung a conto, Société Béton Générale", ""),
        ("100230", "0080004755", "90012401", "RV", "2026-10-01", "2026-10-01", "2026-10-31", "8450.00", "CHF", "", "", "90012401", "Ersatzteile Zürich Depot", "ZB30"),
        ("100230", "0080004590", "90012290", "RV", "2026-08-10", "2026-08-10", "2026-09-09", "3200.00", "CHF", "1400000701", "2026-09-08", "90012290", "Service Zürich August", "ZB30"),
        ("100230", "", "1400000701", "DZ", "2026-09-08", "2026-09-08", "2026-09-08", "-3200.00", "CHF", "1400000701", "2026-09-08", "ZKB 08-09", "Zahlungseingang", ""),
        ("100301", "WV-2026-07", "1800000470", "DR", "2026-07-15", "2026-07-15", "2026-08-14", "642.60", "EUR", "", "", "WV-2026-07", "Wartungsvertrag Juli \u2013 Bäckerei Schröder", "ZB30"),
    ]
    # fmt: on
    rows = [SAP_HEADER]
    invoices, reasons = [], []
    accepted = skipped = 0
    totals: dict[str, tuple[Decimal, Decimal]] = {}
    for (
        account,
        assignment,
        docno,
        dtype,
        docdate,
        postdate,
        netdue,
        amount_s,
        currency,
        clr_doc,
        clr_date,
        reference,
        text,
        terms,
    ) in items:
        amount = D(amount_s)
        local = D(amount * SAP_RATES_TO_EUR[currency])
        net_due = day(netdue)
        cleared_on = day(clr_date) if clr_date else None
        arrears = ((cleared_on or AS_OF) - net_due).days
        rows.append(
            [
                "1000",
                account,
                assignment,
                docno,
                dtype,
                sap_date(day(docdate)),
                sap_date(day(postdate)),
                sap_date(net_due),
                sap_int(arrears),
                sap_number(amount),
                currency,
                sap_number(local),
                "EUR",
                clr_doc,
                sap_date(cleared_on),
                reference,
                text,
                terms,
            ]
        )
        doc_total, local_total = totals.get(currency, (Decimal(0), Decimal(0)))
        totals[currency] = (doc_total + amount, local_total + local)
        if dtype == "DZ":
            skipped += 1
            reasons.append("payment row")
            continue
        accepted += 1
        doc_type = "credit_note" if dtype == "DG" else "invoice"
        invoices.append(
            expect(
                account,
                docno,
                doc_type,
                day(docdate),
                net_due,
                currency,
                amount,
                Decimal(0) if clr_doc else amount,
            )
        )
    # The ALV list carries its currency totals into the file: one line per document currency.
    for currency in sorted(totals):
        doc_total, local_total = totals[currency]
        row = [""] * len(SAP_HEADER)
        row[SAP_HEADER.index("Amount in doc. curr.")] = sap_number(doc_total)
        row[SAP_HEADER.index("Document currency")] = currency
        row[SAP_HEADER.index("Amount in local currency")] = sap_number(local_total)
        row[SAP_HEADER.index("Local Currency")] = "EUR"
        rows.append(row)
        skipped += 1
        reasons.append("total row")
    name = "fbl5n_line_items.csv"
    (out / name).write_bytes(csv_text(rows, lineterminator="\r\n", delimiter=";").encode("cp1252"))
    write_expected(
        out,
        name,
        rows_read=accepted + skipped,
        skipped=skipped,
        accepted=accepted,
        as_of=None,
        invoices=invoices,
        skipped_reasons=sorted(set(reasons)),
    )


def _freeze_zip(path: Path, when: dt.datetime) -> None:
    """openpyxl stamps the save time into the zip entries and docProps/core.xml; pin both so that
    regenerating the workbook gives the same bytes."""
    import re
    import zipfile

    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(path) as source:
        entries = [(info.filename, source.read(info.filename)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for filename, data in entries:
            if filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", lambda m: m.group(1) + stamp.encode(), data)
            target.writestr(
                zipfile.ZipInfo(filename, date_time=when.timetuple()[:6]),
                data,
                compress_type=zipfile.ZIP_DEFLATED,
            )


# --------------------------------------------------------------------------------------------
# 4. Dynamics 365 Business Central: Customer Ledger Entries (page 25) opened in Excel
# --------------------------------------------------------------------------------------------

BC_HEADER = [
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
]


def business_central() -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.worksheet.table import Table, TableStyleInfo

    out = folder("bc-ledger-entries")
    lcy = "USD"  # the company's local currency: BC leaves Currency Code blank for it
    # entry no, posting date, type, doc no, ext doc no, customer no, name, description, currency,
    # original amount, remaining amount, due date, open
    # fmt: off
    entries = [
        (1841, "2026-08-12", "Invoice", "103021", "PO-88410", "C00110", "Lakeside Dental Group", "Order 101877", "", "4250.00", "0.00", "2026-09-11", False),
        (1856, "2026-08-28", "Invoice", "103026", "GPB-2026-144", "C00140", "Granite Peak Builders", "Order 101889", "", "12300.00", "12300.00", "2026-09-27", True),
        (1872, "2026-09-05", "Payment", "PMT-2609051", "", "C00110", "Lakeside Dental Group", "Payment 103021", "", "-4250.00", "0.00", "2026-09-05", False),
        (1890, "2026-09-18", "Invoice", "103034", "BST-5521", "C00120", "Brückner Sport & Freizeit", "Order 101895", "EUR", "7800.00", "7800.00", "2026-10-18", True),
        (1911, "2026-10-02", "Invoice", "103040", "PO-88502", "C00110", "Lakeside Dental Group", "Order 101901", "", "1980.50", "980.50", "2026-11-01", True),
        (1923, "2026-10-08", "Payment", "PMT-2610081", "", "C00110", "Lakeside Dental Group", "Payment 103040", "", "-1000.00", "0.00", "2026-10-08", False),
        (1934, "2026-10-15", "Credit Memo", "104007", "RMA-3310", "C00130", "Bluebird Catering Co.", "Return of order 101902", "", "-320.00", "-320.00", "2026-10-15", True),
        (1940, "2026-10-20", "Invoice", "103052", "", "C00130", "Bluebird Catering Co.", "Order 101915", "", "2640.00", "2640.00", "2026-11-19", True),
        (1951, "2026-10-26", "Payment", "PMT-2610261", "", "C00140", "Granite Peak Builders", "Payment on account", "", "-1500.00", "-1500.00", "2026-10-26", True),
        (1963, "2026-10-29", "Invoice", "103058", "BST-5570", "C00120", "Brückner Sport & Freizeit", "Order 101922", "EUR", "560.25", "560.25", "2026-11-28", True),
    ]
    # fmt: on
    wb = Workbook()
    ws = wb.active
    ws.title = "Customer Ledger Entries"
    ws.append(BC_HEADER)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    invoices, reasons = [], []
    accepted = skipped = 0
    # The page lists the newest entries first.
    for (
        entry_no,
        posting,
        dtype,
        docno,
        extdoc,
        custno,
        custname,
        desc,
        currency,
        original,
        remaining,
        due,
        is_open,
    ) in sorted(entries, key=lambda e: -e[0]):
        original_d, remaining_d = D(original), D(remaining)
        ws.append(
            [
                day(posting),
                dtype,
                docno,
                extdoc or None,
                custno,
                custname,
                desc,
                currency or None,
                float(original_d),
                float(original_d),
                float(remaining_d),
                day(due),
                is_open,
                entry_no,
            ]
        )
        row = ws.max_row
        for column in ("A", "L"):
            ws[f"{column}{row}"].number_format = "m/d/yyyy"
        for column in ("I", "J", "K"):
            ws[f"{column}{row}"].number_format = "#,##0.00"
        if dtype == "Payment":
            skipped += 1
            reasons.append("payment row")
            continue
        accepted += 1
        doc_type = "credit_note" if dtype == "Credit Memo" else "invoice"
        invoices.append(
            expect(custno, docno, doc_type, day(posting), day(due), currency or lcy, original_d, remaining_d)
        )
    invoices.sort(key=lambda i: (i["invoice_date"], i["invoice_number"]))
    table = Table(displayName="CustomerLedgerEntries", ref=f"A1:N{ws.max_row}")
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    ws.add_table(table)
    for column, width in zip(
        "ABCDEFGHIJKLMN", (12, 14, 14, 18, 12, 28, 26, 10, 14, 14, 16, 12, 8, 10), strict=True
    ):
        ws.column_dimensions[column].width = width
    fixed = dt.datetime(2026, 11, 2, 9, 41, 0)
    wb.properties.created = fixed
    wb.properties.modified = fixed
    wb.properties.creator = "Microsoft Dynamics 365 Business Central"
    name = "customer_ledger_entries.xlsx"
    wb.save(out / name)
    _freeze_zip(out / name, fixed)
    write_expected(
        out,
        name,
        rows_read=accepted + skipped,
        skipped=skipped,
        accepted=accepted,
        as_of=None,
        invoices=invoices,
        skipped_reasons=sorted(set(reasons)),
    )


# --------------------------------------------------------------------------------------------
# 5. Odoo: account.move list, Export, "I want to update data (import-compatible export)", CSV
# --------------------------------------------------------------------------------------------

ODOO_HEADER = [
    "id",
    "name",
    "partner_id",
    "invoice_date",
    "invoice_date_due",
    "ref",
    "invoice_origin",
    "move_type",
    "state",
    "payment_state",
    "currency_id",
    "amount_total",
    "amount_total_signed",
    "amount_residual",
    "invoice_payment_term_id",
]
ODOO_MOVE_TYPES = {"out_invoice": "Customer Invoice", "out_refund": "Customer Credit Note"}
ODOO_STATES = {"draft": "Draft", "posted": "Posted", "cancel": "Cancelled"}
ODOO_PAYMENT_STATES = {"not_paid": "Not Paid", "partial": "Partially Paid", "paid": "Paid"}
ODOO_EUR_USD = Decimal("1.09")


def odoo_float(value: Decimal) -> str:
    """How Odoo's CSV export writes a float/monetary value: Python's repr, and nothing at all for zero."""
    if value == 0:
        return ""
    return repr(float(value))


def odoo() -> None:
    out = folder("odoo-invoices")
    # db id, name, partner, invoice date, due, ref, origin, move_type, state, payment_state, currency,
    # total, residual, payment term
    # fmt: off
    moves = [
        (2041, "INV/2026/00187", "Acme Fabrication Inc.", "2026-08-14", "2026-09-13", "PO-5521", "S00412", "out_invoice", "posted", "not_paid", "USD", "2376.75", "2376.75", "30 Days"),
        (2057, "INV/2026/00193", "Brennan & Sons Hardware", "2026-08-27", "2026-09-26", "", "S00420", "out_invoice", "posted", "partial", "USD", "1150.00", "400.00", "30 Days"),
        (2069, "INV/2026/00198", "Lindqvist Design AB", "2026-09-02", "2026-10-02", "", "S00424", "out_invoice", "cancel", "not_paid", "EUR", "1200.00", "0", "30 Days"),
        (2074, "INV/2026/00201", "Lindqvist Design AB", "2026-09-09", "2026-10-09", "LD-PO-0193", "S00427", "out_invoice", "posted", "not_paid", "EUR", "4800.00", "4800.00", "30 Days"),
        (2080, "INV/2026/00205", "Acme Fabrication Inc.", "2026-09-15", "2026-09-30", "", "S00431", "out_invoice", "posted", "paid", "USD", "640.00", "0", "15 Days"),
        (2088, "RINV/2026/00012", "Acme Fabrication Inc.", "2026-09-22", "2026-09-22", "Damaged goods on INV/2026/00187", "", "out_refund", "posted", "not_paid", "USD", "310.50", "310.50", ""),
        (2101, "INV/2026/00212", "Brennan & Sons Hardware", "2026-10-05", "2026-11-04", "", "S00440", "out_invoice", "posted", "not_paid", "USD", "2025.40", "2025.40", "30 Days"),
        (2113, "RINV/2026/00015", "Lindqvist Design AB", "2026-10-12", "2026-10-12", "Price adjustment INV/2026/00201", "", "out_refund", "posted", "partial", "EUR", "450.00", "150.00", ""),
        (2120, "INV/2026/00220", "Oakline Interiors", "2026-10-21", "2026-11-20", "OI-2026-88", "S00452", "out_invoice", "posted", "not_paid", "USD", "3120.00", "3120.00", "30 Days"),
        (2126, "/", "Oakline Interiors", "", "2026-11-30", "", "S00458", "out_invoice", "draft", "not_paid", "USD", "980.00", "980.00", "30 Days"),
    ]
    # fmt: on
    rows = [ODOO_HEADER]
    invoices, reasons = [], []
    accepted = skipped = 0
    for (
        db_id,
        name,
        partner,
        inv_date,
        due,
        ref,
        origin,
        move_type,
        state,
        pay_state,
        currency,
        total_s,
        residual_s,
        term,
    ) in moves:
        total, residual = D(total_s), D(residual_s)
        sign = Decimal(-1) if move_type == "out_refund" else Decimal(1)
        signed = D(total * (ODOO_EUR_USD if currency == "EUR" else 1)) * sign
        rows.append(
            [
                f"__export__.account_move_{db_id}_{(db_id * 2654435761) % 16**8:08x}",
                name,
                partner,
                inv_date,
                due,
                ref,
                origin,
                ODOO_MOVE_TYPES[move_type],
                ODOO_STATES[state],
                ODOO_PAYMENT_STATES[pay_state],
                currency,
                odoo_float(total),
                odoo_float(signed),
                odoo_float(residual),
                term,
            ]
        )
        if state != "posted":
            skipped += 1
            reasons.append(f"{ODOO_STATES[state].lower()} document")
            continue
        accepted += 1
        doc_type = "credit_note" if move_type == "out_refund" else "invoice"
        invoices.append(expect(partner, name, doc_type, day(inv_date), day(due), currency, total, residual))
    name = "account.move.csv"
    (out / name).write_text(
        csv_text(rows, lineterminator="\r\n", quoting=csv.QUOTE_ALL), encoding="utf-8", newline=""
    )
    write_expected(
        out,
        name,
        rows_read=accepted + skipped,
        skipped=skipped,
        accepted=accepted,
        as_of=None,
        invoices=invoices,
        skipped_reasons=sorted(set(reasons)),
    )


# --------------------------------------------------------------------------------------------
# 6. NetSuite: transaction saved search (invoices and credit memos), results exported as CSV
# --------------------------------------------------------------------------------------------

NS_HEADER = [
    "Internal ID",
    "Type",
    "Date",
    "Document Number",
    "Name",
    "Due Date/Receive By",
    "Terms",
    "PO/Check Number",
    "Memo",
    "Subsidiary",
    "Currency",
    "Amount",
    "Amount (Foreign Currency)",
    "Amount Remaining",
    "Amount Remaining (Foreign Currency)",
    "Status",
]
NS_EUR_USD = Decimal("1.12")


def ns_date(value: dt.date | None) -> str:
    return f"{value.month}/{value.day}/{value.year}" if value else ""


def netsuite() -> None:
    out = folder("netsuite-invoices")
    subsidiary = "Northwind Holdings : Northwind US"
    # internal id, type, date, number, name, due, terms, po, memo, currency, fx amount, fx remaining, status
    # fmt: off
    txns = [
        (18231, "Invoice", "2026-08-14", "INV10452", "Cascade Medical Supply", "2026-09-13", "Net 30", "PO-77120", "Q3 replenishment", "USD", "4250.00", "4250.00", "Open"),
        (18302, "Invoice", "2026-08-29", "INV10467", "Harborview Logistics", "2026-09-28", "Net 30", "HL-2026-311", "", "USD", "1875.40", "875.40", "Open"),
        (18355, "Invoice", "2026-09-03", "INV10471", "Cascade Medical Supply", "2026-10-03", "Net 30", "PO-77188", "", "USD", "960.00", "0.00", "Paid In Full"),
        (18420, "Invoice", "2026-09-17", "INV10488", "Nordlicht Instruments GmbH", "2026-11-01", "Net 45", "4500012873", "Sensor calibration, lot 7", "EUR", "9800.00", "9800.00", "Open"),
        (18466, "Credit Memo", "2026-09-25", "CM1033", "Harborview Logistics", None, "", "", "Damaged pallets credit", "USD", "-250.00", "-250.00", "Open"),
        (18512, "Invoice", "2026-10-06", "INV10502", "Summit Ridge Clinics", "2026-11-05", "Net 30", "SRC-9912", "", "USD", "3320.00", "3320.00", "Open"),
        (18540, "Invoice", "2026-10-09", "INV10505", "Summit Ridge Clinics", "2026-11-08", "Net 30", "SRC-9915", "VOID", "USD", "0.00", "0.00", "Voided"),
        (18577, "Invoice", "2026-10-19", "INV10511", "Nordlicht Instruments GmbH", "2026-12-03", "Net 45", "4500012990", "", "EUR", "2100.00", "2100.00", "Open"),
        (18603, "Invoice", "2026-10-27", "INV10516", "Cascade Medical Supply", "2026-11-26", "Net 30", "PO-77302", "Capital equipment", "USD", "12045.75", "12045.75", "Open"),
    ]
    # fmt: on
    rows = [NS_HEADER]
    invoices, reasons = [], []
    accepted = skipped = 0
    for (
        iid,
        ttype,
        date_s,
        number,
        name,
        due_s,
        terms,
        po,
        memo,
        currency,
        fx_amount_s,
        fx_remaining_s,
        status,
    ) in txns:
        fx_amount, fx_remaining = D(fx_amount_s), D(fx_remaining_s)
        rate = NS_EUR_USD if currency == "EUR" else Decimal(1)
        rows.append(
            [
                str(iid),
                ttype,
                ns_date(day(date_s)),
                number,
                name,
                ns_date(day(due_s) if due_s else None),
                terms,
                po,
                memo,
                subsidiary,
                currency,
                f"{D(fx_amount * rate):.2f}",
                f"{fx_amount:.2f}",
                f"{D(fx_remaining * rate):.2f}",
                f"{fx_remaining:.2f}",
                status,
            ]
        )
        if status == "Voided":
            skipped += 1
            reasons.append("voided document")
            continue
        accepted += 1
        doc_type = "credit_note" if ttype == "Credit Memo" else "invoice"
        invoice_date = day(date_s)
        # A credit memo has no due date in NetSuite: the mapping falls back to the transaction date.
        invoices.append(
            expect(
                name,
                number,
                doc_type,
                invoice_date,
                day(due_s) if due_s else invoice_date,
                currency,
                fx_amount,
                fx_remaining,
            )
        )
    file_name = "InvoiceSearchResults.csv"
    (out / file_name).write_text(csv_text(rows, lineterminator="\r\n"), encoding="utf-8", newline="")
    write_expected(
        out,
        file_name,
        rows_read=accepted + skipped,
        skipped=skipped,
        accepted=accepted,
        as_of=None,
        invoices=invoices,
        skipped_reasons=sorted(set(reasons)),
    )


# --------------------------------------------------------------------------------------------
# 7. Sage Intacct: ARINVOICE object records written out with their field names
# --------------------------------------------------------------------------------------------

INTACCT_HEADER = [
    "RECORDNO",
    "RECORDTYPE",
    "RECORDID",
    "STATE",
    "CUSTOMERID",
    "CUSTOMERNAME",
    "DOCNUMBER",
    "DESCRIPTION",
    "TERMNAME",
    "WHENCREATED",
    "WHENPOSTED",
    "WHENDUE",
    "WHENPAID",
    "BASECURR",
    "CURRENCY",
    "TOTALENTERED",
    "TOTALPAID",
    "TOTALDUE",
    "TRX_TOTALENTERED",
    "TRX_TOTALPAID",
    "TRX_TOTALDUE",
]
INTACCT_EUR_USD = Decimal("1.12")


def intacct_number(value: Decimal) -> str:
    """Intacct returns amounts without trailing zeros: 1912, 3150.5, 0."""
    text = format(value.normalize(), "f")
    return text


def intacct_date(value: dt.date | None) -> str:
    return value.strftime("%m/%d/%Y") if value else ""


def intacct() -> None:
    out = folder("intacct-arinvoice")
    # recordno, recordid, state, customer id, name, docnumber, description, term, created, due, paid on,
    # currency, trx total, trx paid
    # fmt: off
    records = [
        (4812, "INV-001207", "Posted", "CUST-00105", "Meridian Health Partners", "PO-44120", "Implementation services, phase 2", "Net 30", "2026-08-20", "2026-09-19", None, "USD", "8500.00", "0"),
        (4820, "INV-001213", "Partially Paid", "CUST-00118", "Blue Harbor Foods", "BHF-2231", "Monthly support, September", "Net 30", "2026-09-01", "2026-10-01", None, "USD", "3150.50", "1000.00"),
        (4833, "INV-001219", "Paid", "CUST-00105", "Meridian Health Partners", "PO-44187", "Training workshop", "Net 30", "2026-09-10", "2026-10-10", "2026-10-08", "USD", "1200.00", "1200.00"),
        (4841, "INV-001224", "Posted", "CUST-00131", "Vantage Robotik GmbH", "4700019921", "Integration services, Q3", "Net 45", "2026-09-28", "2026-11-12", None, "EUR", "6300.00", "0"),
        (4856, "INV-001230", "Draft", "CUST-00118", "Blue Harbor Foods", "", "Monthly support, October", "Net 30", "2026-10-15", "2026-11-14", None, "USD", "3150.50", "0"),
        (4862, "INV-001233", "Posted", "CUST-00142", "Cobalt Creek Veterinary", "", "Hardware, per quote Q-3391", "Net 30", "2026-10-19", "2026-11-18", None, "USD", "645.75", "0"),
        (4870, "INV-001236", "Posted", "CUST-00105", "Meridian Health Partners", "PO-44260", "Implementation services, phase 3", "Net 30", "2026-10-26", "2026-11-25", None, "USD", "12400.00", "0"),
    ]
    # fmt: on
    rows = [INTACCT_HEADER]
    invoices, reasons = [], []
    accepted = skipped = 0
    for (
        recno,
        recid,
        state,
        custid,
        custname,
        docnumber,
        desc,
        term,
        created,
        due,
        paid_on,
        currency,
        trx_total_s,
        trx_paid_s,
    ) in records:
        trx_total, trx_paid = D(trx_total_s), D(trx_paid_s)
        trx_due = trx_total - trx_paid
        rate = INTACCT_EUR_USD if currency == "EUR" else Decimal(1)
        base_total, base_paid = D(trx_total * rate), D(trx_paid * rate)
        rows.append(
            [
                str(recno),
                "ri",
                recid,
                state,
                custid,
                custname,
                docnumber,
                desc,
                term,
                intacct_date(day(created)),
                intacct_date(day(created)) if state != "Draft" else "",
                intacct_date(day(due)),
                intacct_date(day(paid_on) if paid_on else None),
                "USD",
                currency,
                intacct_number(base_total),
                intacct_number(base_paid),
                intacct_number(base_total - base_paid),
                intacct_number(trx_total),
                intacct_number(trx_paid),
                intacct_number(trx_due),
            ]
        )
        if state == "Draft":
            skipped += 1
            reasons.append("draft document")
            continue
        accepted += 1
        invoices.append(
            expect(custid, recid, "invoice", day(created), day(due), currency, trx_total, trx_due)
        )
    name = "arinvoice.csv"
    (out / name).write_text(csv_text(rows, lineterminator="\r\n"), encoding="utf-8", newline="")
    write_expected(
        out,
        name,
        rows_read=accepted + skipped,
        skipped=skipped,
        accepted=accepted,
        as_of=None,
        invoices=invoices,
        skipped_reasons=sorted(set(reasons)),
    )


# --------------------------------------------------------------------------------------------
# 8. The generic layout as JSON Lines
# --------------------------------------------------------------------------------------------


def generic() -> None:
    out = folder("generic")
    # fmt: off
    records: list[dict[str, Any]] = [
        {"customer_id": "C-1001", "invoice_number": "GEN-2026-0101", "invoice_date": "2026-08-15",
         "due_date": "2026-09-14", "amount": 1250, "currency": "EUR", "open_amount": 1250,
         "document_type": "invoice", "disputed": "no", "pay_url": "https://pay.example.com/i/GEN-2026-0101",
         "po_number": "4500017723", "description": "Maintenance contract Q3", "company_code": "1000"},
        {"customer_id": "C-1002", "invoice_number": "GEN-2026-0107", "invoice_date": "2026-09-01",
         "due_date": "2026-10-01", "amount": "3480.90", "currency": "EUR", "open_amount": "1480.90",
         "po_number": "PO-2231", "description": "Spare parts, partial payment received", "company_code": "1000"},
        {"customer_id": "C-1001", "invoice_number": "GEN-2026-0112", "invoice_date": "2026-09-10",
         "due_date": "2026-10-10", "amount": 560.4, "currency": "EUR", "open_amount": 0,
         "paid_date": "2026-10-03", "document_type": "invoice", "disputed": "no"},
        {"customer_id": "C-1003", "invoice_number": "GEN-CN-2026-0009", "invoice_date": "2026-09-22",
         "due_date": "2026-09-22", "amount": "215.00", "currency": "USD", "open_amount": "215.00",
         "document_type": "credit_note", "description": "Credit for late delivery", "company_code": "2000"},
        {"customer_id": "C-1003", "invoice_number": "GEN-2026-0120", "invoice_date": "2026-10-05",
         "due_date": "2026-11-04", "amount": 9800.0, "currency": "USD", "document_type": "invoice",
         "disputed": "yes", "description": "Installation, customer disputes hours", "company_code": "2000"},
        {"customer_id": "C-1004", "invoice_number": "GEN-WO-2026-0003", "invoice_date": "2026-10-20",
         "due_date": "2026-10-20", "amount": "75.50", "currency": "GBP", "open_amount": "0.00",
         "document_type": "write_off", "disputed": "no", "description": "Small balance written off"},
    ]
    # fmt: on
    name = "invoices.jsonl"
    (out / name).write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
    )
    invoices = []
    for r in records:
        amount = D(r["amount"])
        open_amount = D(r["open_amount"]) if "open_amount" in r else amount
        invoices.append(
            expect(
                r["customer_id"],
                r["invoice_number"],
                r.get("document_type", "invoice"),
                day(r["invoice_date"]),
                day(r["due_date"]),
                r["currency"],
                amount,
                open_amount,
            )
        )
    write_expected(
        out,
        name,
        rows_read=len(records),
        skipped=0,
        accepted=len(records),
        as_of=None,
        invoices=invoices,
        skipped_reasons=[],
    )


if __name__ == "__main__":
    quickbooks()
    xero()
    sap()
    business_central()
    odoo()
    netsuite()
    intacct()
    generic()
