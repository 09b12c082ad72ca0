"""A customer's statement of account: every open item and the totals per currency, as CSV or XLSX.

Text that came from the ERP or the customer (numbers, PO numbers, descriptions, the name) could start a
spreadsheet formula: a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
leading single quote, so Excel and LibreOffice show it as text. Amounts and dates are written by us
(numbers and dates in XLSX, plain decimals and ISO dates in CSV) and are never altered; an amount has
its currency's decimals (ISO 4217's minor unit, ``arcollect/money.py``), the decimals the reminders
write it with: ``1200.00`` EUR, ``150000`` JPY, ``1.250`` KWD.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal

from arcollect.cells import neutralise
from arcollect.entities import Customer, Invoice
from arcollect.interest import Charges
from arcollect.money import plain
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

CHARGES_TITLE = "Statutory late-payment charges to date"
CHARGES_NOT_ADDED = "Not included in the open amounts above; payable only if we claim them."
CHARGES_ADDED = "Included in what we ask you to pay."
CHARGES_HEADER = ("Invoice number", "Currency", "Days late", "Interest", "Compensation", "Total")

Cell = str | Decimal | int | date | None


def _money(amount: Decimal, currency: str) -> Decimal:
    """With its currency's decimals, those the reminders write it with (``money.plain``): 845.2 EUR from
    one ERP and 845.20 from another are one amount, 845.20; 150000.00 JPY is 150000, 1.2 KWD 1.200.
    Never rounded (a digit past the unit, which ingest refuses, would be kept)."""
    return Decimal(plain(amount, currency))


def _rows(
    customer: Customer,
    invoices: Sequence[Invoice],
    today: date,
    late_charges: Mapping[str, Charges] | None = None,
    charges_added: bool = False,
) -> list[list[Cell]]:
    """The statement as rows of typed cells (text already neutralised); the overdue invoices'
    statutory late-payment charges, when the customer's policy computes them, in a section of their
    own after the totals (which never include them unless the policy adds them to the open amount:
    then a line per currency says so)."""
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
                _money(invoice.signed_amount, invoice.currency),
                _money(invoice.signed_open_amount, invoice.currency),
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
                _money(line.total_due, line.currency),
                _money(line.overdue, line.currency),
                *(
                    _money(line.aging[b], line.currency)
                    for b in ("current", "d1_30", "d31_60", "d61_90", "d91_plus")
                ),
            ]
        )
    charged = [(i, (late_charges or {}).get(i.invoice_number)) for i in items]
    shown = [(i, c) for i, c in charged if c is not None and c.any]
    if shown:
        rows += [[], [CHARGES_TITLE], [CHARGES_ADDED if charges_added else CHARGES_NOT_ADDED]]
        rows.append(list(CHARGES_HEADER))
        for invoice, found in shown:
            rows.append(
                [
                    neutralise(invoice.invoice_number),
                    invoice.currency,
                    found.days_late,
                    _money(found.interest, invoice.currency),
                    _money(found.compensation, invoice.currency),
                    _money(found.total, invoice.currency),
                ]
            )
    return rows


def _text(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, date):
        return cell.isoformat()
    return str(cell)


def statement_csv(
    customer: Customer,
    invoices: Sequence[Invoice],
    today: date,
    late_charges: Mapping[str, Charges] | None = None,
    charges_added: bool = False,
) -> bytes:
    """UTF-8 with a byte-order mark, so Excel opens it with the right encoding."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in _rows(customer, invoices, today, late_charges, charges_added):
        writer.writerow([_text(cell) for cell in row])
    return buffer.getvalue().encode("utf-8-sig")


def statement_xlsx(
    customer: Customer,
    invoices: Sequence[Invoice],
    today: date,
    late_charges: Mapping[str, Charges] | None = None,
    charges_added: bool = False,
) -> bytes:
    """One sheet, written in openpyxl's write-only (streaming) mode (imported here, when a statement is
    downloaded as XLSX, not with the portal)."""
    from openpyxl import Workbook  # type: ignore[import-untyped]

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Statement")
    for row in _rows(customer, invoices, today, late_charges, charges_added):
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
