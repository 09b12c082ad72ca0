"""A customer's statement of account: every open item and the totals per currency, as CSV or XLSX.

Text that came from the ERP or the customer (numbers, PO numbers, descriptions, the name) could start a
spreadsheet formula: a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
leading single quote, so Excel and LibreOffice show it as text. Amounts and dates are written by us
(numbers and dates in XLSX, plain decimals and ISO dates in CSV) and are never altered.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from arcollect.cells import neutralise
from arcollect.entities import Customer, Invoice
from arcollect.portal.account import currency_totals, days_overdue, invoice_status

FORMATS = ("csv", "xlsx")

HEADER = (
    "Invoice number",
    "Type",
    "Invoice date",
    "Due date",
    "Days overdue",
    "Status",
    "Currency",
    "Amount",
    "Open amount",
    "PO number",
    "Description",
)

Cell = str | Decimal | int | date | None


def _money(amount: Decimal) -> Decimal:
    """At least two decimals, as every ERP writes money (845.2 from one ERP and 845.20 from another are
    one amount); a currency with three (KWD, BHD) keeps its third."""
    exponent = amount.as_tuple().exponent
    return amount.quantize(Decimal("0.01")) if isinstance(exponent, int) and exponent > -2 else amount


def _rows(customer: Customer, invoices: Sequence[Invoice], today: date) -> list[list[Cell]]:
    """The statement as rows of typed cells (text already neutralised)."""
    items = sorted(
        (i for i in invoices if i.is_open), key=lambda i: (i.currency, i.due_date, i.invoice_number)
    )
    rows: list[list[Cell]] = [
        ["Statement of account"],
        ["Customer", neutralise(customer.name)],
        ["Customer number", neutralise(customer.customer_id)],
        ["As of", today],
        [],
        list(HEADER),
    ]
    for invoice in items:
        rows.append(
            [
                neutralise(invoice.invoice_number),
                invoice.document_type,
                invoice.invoice_date,
                invoice.due_date,
                days_overdue(invoice, today),
                invoice_status(invoice, today),
                invoice.currency,
                _money(invoice.signed_amount),
                _money(invoice.signed_open_amount),
                neutralise(invoice.po_number),
                neutralise(invoice.description),
            ]
        )
    rows.append([])
    rows.append(["Currency", "Total open", "Overdue", "Current", "1-30", "31-60", "61-90", "91+"])
    for line in currency_totals(items, today):
        rows.append(
            [
                line.currency,
                _money(line.total_due),
                _money(line.overdue),
                *(_money(line.aging[b]) for b in ("current", "d1_30", "d31_60", "d61_90", "d91_plus")),
            ]
        )
    return rows


def _text(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, date):
        return cell.isoformat()
    return str(cell)


def statement_csv(customer: Customer, invoices: Sequence[Invoice], today: date) -> bytes:
    """UTF-8 with a byte-order mark, so Excel opens it with the right encoding."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in _rows(customer, invoices, today):
        writer.writerow([_text(cell) for cell in row])
    return buffer.getvalue().encode("utf-8-sig")


def statement_xlsx(customer: Customer, invoices: Sequence[Invoice], today: date) -> bytes:
    """One sheet, written in openpyxl's write-only (streaming) mode (imported here, when a statement is
    downloaded as XLSX, not with the portal)."""
    from openpyxl import Workbook  # type: ignore[import-untyped]

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Statement")
    for row in _rows(customer, invoices, today):
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def statement_filename(customer_id: str, today: date, fmt: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", customer_id) or "customer"
    return f"statement-{safe}-{today.isoformat()}.{fmt}"


__all__ = [
    "FORMATS",
    "statement_csv",
    "statement_filename",
    "statement_xlsx",
]
